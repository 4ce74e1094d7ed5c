"""Numbered schema migrations: the only way the schema changes.

``Migrations.apply`` runs each migration and its record in one transaction
(``db.atomic()``), and ``db.executescript`` inside an open transaction runs the
statements one by one without sqlite3's implicit COMMIT: a failing migration
leaves nothing behind (tests/test_transactions.py).

Conventions (DESIGN.md, Storage): instants are UTC ISO-8601 text ending in
``+00:00``; diary days are the patient's local date ``YYYY-MM-DD``; doses are
integer micrograms; ids sent by the phone are client-generated UUID text.
"""

from sqlite_utils import Migrations

migrations = Migrations("diary")


@migrations(name="0001_foundation")
def m0001_foundation(db):
    db.executescript(
        """
        CREATE TABLE clinics (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL,
            created_at TEXT NOT NULL
        );
        CREATE TABLE clinicians (
            id INTEGER PRIMARY KEY,
            clinic_id INTEGER NOT NULL REFERENCES clinics(id),
            email TEXT NOT NULL UNIQUE COLLATE NOCASE,
            name TEXT NOT NULL,
            password_hash TEXT NOT NULL,
            created_at TEXT NOT NULL
        );
        CREATE TABLE patients (
            id TEXT PRIMARY KEY,
            clinic_id INTEGER NOT NULL REFERENCES clinics(id),
            display_name TEXT NOT NULL,
            timezone TEXT NOT NULL,
            external_ref TEXT,
            reminder_detail INTEGER NOT NULL DEFAULT 0,
            created_at TEXT NOT NULL
        );
        CREATE INDEX patients_clinic ON patients(clinic_id);
        -- One live enrollment code per patient: a fresh code replaces the row.
        CREATE TABLE enrollment_codes (
            patient_id TEXT PRIMARY KEY REFERENCES patients(id) ON DELETE CASCADE,
            code_hash TEXT NOT NULL UNIQUE,
            expires_at TEXT NOT NULL,
            used_at TEXT
        );
        CREATE TABLE tokens (
            id INTEGER PRIMARY KEY,
            token_hash TEXT NOT NULL UNIQUE,
            kind TEXT NOT NULL CHECK (kind IN ('clinician', 'patient')),
            clinician_id INTEGER REFERENCES clinicians(id) ON DELETE CASCADE,
            patient_id TEXT REFERENCES patients(id) ON DELETE CASCADE,
            device_name TEXT,
            created_at TEXT NOT NULL,
            expires_at TEXT,
            last_used_at TEXT,
            revoked_at TEXT
        );
        CREATE TABLE regimens (
            patient_id TEXT PRIMARY KEY REFERENCES patients(id) ON DELETE CASCADE,
            medication TEXT NOT NULL,
            dose_time TEXT NOT NULL,
            other_medications TEXT NOT NULL DEFAULT '[]',
            updated_at TEXT NOT NULL
        );
        CREATE TABLE regimen_steps (
            patient_id TEXT NOT NULL REFERENCES patients(id) ON DELETE CASCADE,
            start_date TEXT NOT NULL,
            dose_ug INTEGER NOT NULL CHECK (dose_ug > 0),
            PRIMARY KEY (patient_id, start_date)
        );
        -- A deleted entry stays as a tombstone (deleted = 1) so the changes
        -- feed can tell other devices; seq orders every change for /me/changes.
        CREATE TABLE entries (
            patient_id TEXT NOT NULL REFERENCES patients(id) ON DELETE CASCADE,
            date TEXT NOT NULL,
            pain INTEGER, pain_worst INTEGER, fatigue INTEGER,
            mood INTEGER, sleep_quality INTEGER, function INTEGER,
            sleep_hours REAL,
            side_effects TEXT NOT NULL DEFAULT '[]',
            notes TEXT,
            recorded_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            deleted INTEGER NOT NULL DEFAULT 0,
            seq INTEGER NOT NULL,
            PRIMARY KEY (patient_id, date)
        ) WITHOUT ROWID;
        CREATE INDEX entries_seq ON entries(patient_id, seq);
        CREATE TABLE doses (
            patient_id TEXT NOT NULL REFERENCES patients(id) ON DELETE CASCADE,
            id TEXT NOT NULL,
            medication TEXT NOT NULL,
            amount_ug INTEGER NOT NULL CHECK (amount_ug > 0),
            taken_at TEXT NOT NULL,
            utc_offset_minutes INTEGER NOT NULL,
            local_date TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('taken', 'skipped')),
            note TEXT,
            recorded_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            deleted INTEGER NOT NULL DEFAULT 0,
            seq INTEGER NOT NULL,
            PRIMARY KEY (patient_id, id)
        ) WITHOUT ROWID;
        CREATE INDEX doses_day ON doses(patient_id, local_date);
        CREATE INDEX doses_seq ON doses(patient_id, seq);
        -- A single counter row: each write transaction takes the next value,
        -- so seq order is commit order (writers are serialised).
        CREATE TABLE change_counter (id INTEGER PRIMARY KEY CHECK (id = 1), value INTEGER NOT NULL);
        INSERT INTO change_counter (id, value) VALUES (1, 0);
        """,
    )


@migrations(name="0002_reminders")
def m0002_reminders(db):
    db.executescript(
        """
        CREATE TABLE reminders (
            id INTEGER PRIMARY KEY,
            patient_id TEXT NOT NULL REFERENCES patients(id) ON DELETE CASCADE,
            kind TEXT NOT NULL CHECK (kind IN ('dose', 'diary')),
            time TEXT NOT NULL,
            days TEXT NOT NULL DEFAULT 'mon,tue,wed,thu,fri,sat,sun',
            enabled INTEGER NOT NULL DEFAULT 1,
            -- true while the dose reminder follows the regimen's dose_time
            follows_regimen INTEGER NOT NULL DEFAULT 0,
            next_due_utc TEXT,
            next_local_date TEXT,
            updated_at TEXT NOT NULL,
            UNIQUE (patient_id, kind)
        );
        CREATE INDEX reminders_due ON reminders(next_due_utc) WHERE next_due_utc IS NOT NULL;
        CREATE TABLE deliveries (
            id TEXT PRIMARY KEY,
            reminder_id INTEGER NOT NULL REFERENCES reminders(id) ON DELETE CASCADE,
            patient_id TEXT NOT NULL REFERENCES patients(id) ON DELETE CASCADE,
            kind TEXT NOT NULL,
            local_date TEXT NOT NULL,
            due_at TEXT NOT NULL,
            claimed_at TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN
                ('pending', 'sent', 'failed', 'expired', 'skipped_done')),
            title TEXT NOT NULL,
            body TEXT NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at TEXT,
            sent_at TEXT,
            last_error TEXT,
            acked_at TEXT,
            UNIQUE (reminder_id, local_date)
        );
        CREATE INDEX deliveries_patient ON deliveries(patient_id, due_at);
        CREATE INDEX deliveries_retry ON deliveries(next_attempt_at) WHERE status = 'pending';
        CREATE TABLE delivery_attempts (
            id INTEGER PRIMARY KEY,
            delivery_id TEXT NOT NULL REFERENCES deliveries(id) ON DELETE CASCADE,
            attempted_at TEXT NOT NULL,
            channel TEXT NOT NULL,
            outcome TEXT NOT NULL,
            http_status INTEGER,
            error TEXT
        );
        CREATE INDEX delivery_attempts_delivery ON delivery_attempts(delivery_id);
        CREATE TABLE push_tokens (
            patient_id TEXT PRIMARY KEY REFERENCES patients(id) ON DELETE CASCADE,
            platform TEXT NOT NULL CHECK (platform IN ('ios', 'android')),
            token TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        """,
    )


@migrations(name="0003_reports_and_audit")
def m0003_reports_and_audit(db):
    db.executescript(
        """
        CREATE TABLE appointments (
            id INTEGER PRIMARY KEY,
            patient_id TEXT NOT NULL REFERENCES patients(id) ON DELETE CASCADE,
            starts_at TEXT NOT NULL,
            note TEXT,
            created_by INTEGER REFERENCES clinicians(id),
            created_at TEXT NOT NULL,
            snapshot_id TEXT
        );
        CREATE INDEX appointments_patient ON appointments(patient_id, starts_at);
        CREATE INDEX appointments_start ON appointments(starts_at);
        CREATE TABLE report_snapshots (
            id TEXT PRIMARY KEY,
            patient_id TEXT NOT NULL REFERENCES patients(id) ON DELETE CASCADE,
            created_at TEXT NOT NULL,
            created_by INTEGER REFERENCES clinicians(id),
            appointment_id INTEGER REFERENCES appointments(id),
            period_from TEXT NOT NULL,
            period_to TEXT NOT NULL,
            report TEXT NOT NULL
        );
        CREATE INDEX report_snapshots_patient ON report_snapshots(patient_id, created_at);
        CREATE TRIGGER report_snapshots_immutable BEFORE UPDATE ON report_snapshots
        BEGIN SELECT RAISE(ABORT, 'report snapshots are immutable'); END;
        -- Append-only: no patient foreign key, so erasing a patient keeps the trail.
        CREATE TABLE audit_log (
            id INTEGER PRIMARY KEY,
            at TEXT NOT NULL,
            actor_kind TEXT NOT NULL,
            actor_id TEXT NOT NULL,
            action TEXT NOT NULL,
            patient_id TEXT,
            remote_addr TEXT
        );
        CREATE INDEX audit_patient ON audit_log(patient_id, id);
        CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit_log
        BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
        CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit_log
        BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
        """,
    )


@migrations(name="0004_rate_limits")
def m0004_rate_limits(db):
    db.executescript(
        """
        -- One row per counted login or enrollment attempt, shared by every
        -- worker. An attempt is counted before the password is checked (so two
        -- workers cannot both let the sixth guess through) and uncounted when it
        -- succeeds. key is a hash of the email or the client address.
        CREATE TABLE rate_limit_events (
            id INTEGER PRIMARY KEY,
            scope TEXT NOT NULL,
            key TEXT NOT NULL,
            at TEXT NOT NULL
        );
        CREATE INDEX rate_limit_events_key ON rate_limit_events(scope, key, at);
        CREATE INDEX rate_limit_events_at ON rate_limit_events(at);
        """,
    )


@migrations(name="0005_reliability")
def m0005_reliability(db):
    db.executescript(
        """
        -- A reminder whose claim raised is set aside, so the rest of its batch goes on:
        -- how often it failed, the last error (exception type and place, never its
        -- message) and when the next tick may try it again (growing backoff).
        ALTER TABLE reminders ADD COLUMN claim_failures INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE reminders ADD COLUMN claim_error TEXT;
        ALTER TABLE reminders ADD COLUMN claim_retry_at TEXT;
        CREATE INDEX reminders_set_aside ON reminders(claim_retry_at) WHERE claim_retry_at IS NOT NULL;
        -- Appointments can be deleted: a snapshot made for one stays as it was, and only
        -- its link to the deleted visit may be cleared. Nothing else in it may change.
        DROP TRIGGER report_snapshots_immutable;
        CREATE TRIGGER report_snapshots_immutable BEFORE UPDATE ON report_snapshots
        WHEN NOT (
            NEW.appointment_id IS NULL
            AND NEW.id IS OLD.id AND NEW.patient_id IS OLD.patient_id
            AND NEW.created_at IS OLD.created_at AND NEW.created_by IS OLD.created_by
            AND NEW.period_from IS OLD.period_from AND NEW.period_to IS OLD.period_to
            AND NEW.report IS OLD.report
        )
        BEGIN SELECT RAISE(ABORT, 'report snapshots are immutable'); END;
        """
    )


@migrations(name="0007_web_push")
def m0007_web_push(db):
    db.executescript(
        """
        -- Browsers register a Web Push subscription ({endpoint, keys}) as platform 'web',
        -- stored as JSON in token. SQLite cannot change a CHECK in place: rebuild the table.
        CREATE TABLE push_tokens_0007 (
            patient_id TEXT PRIMARY KEY REFERENCES patients(id) ON DELETE CASCADE,
            platform TEXT NOT NULL CHECK (platform IN ('ios', 'android', 'web')),
            token TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        INSERT INTO push_tokens_0007 (patient_id, platform, token, updated_at)
            SELECT patient_id, platform, token, updated_at FROM push_tokens;
        DROP TABLE push_tokens;
        ALTER TABLE push_tokens_0007 RENAME TO push_tokens;
        -- The server's one VAPID key pair (RFC 8292), created on first need and kept:
        -- every browser subscription is bound to its public key.
        CREATE TABLE vapid_keys (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            private_key TEXT NOT NULL,
            public_key TEXT NOT NULL,
            created_at TEXT NOT NULL
        );
        """
    )


# Tables whose rows move a patient's figures on the /patients page: a change marks the
# stored summary stale (a counter, so a refresh racing a change never clears it).
_SUMMARY_SOURCES = ("entries", "doses", "appointments", "regimen_steps", "regimens", "enrollment_codes")


def _summary_triggers():
    mark = "UPDATE patient_summaries SET stale = stale + 1 WHERE patient_id = {row}.patient_id;"
    parts = []
    for table in _SUMMARY_SOURCES:
        for event, row in (("INSERT", "NEW"), ("UPDATE", "NEW"), ("DELETE", "OLD")):
            parts.append(
                f"CREATE TRIGGER {table}_summary_{event.lower()} AFTER {event} ON {table} "
                f"BEGIN {mark.format(row=row)} END;"
            )
    # Devices: enrolled or revoked (not the frequent last_used_at touch).
    parts.append(
        "CREATE TRIGGER tokens_summary_insert AFTER INSERT ON tokens WHEN NEW.patient_id IS NOT NULL "
        f"BEGIN {mark.format(row='NEW')} END;"
    )
    parts.append(
        "CREATE TRIGGER tokens_summary_revoke AFTER UPDATE OF revoked_at ON tokens "
        f"WHEN NEW.patient_id IS NOT NULL BEGIN {mark.format(row='NEW')} END;"
    )
    parts.append(
        "CREATE TRIGGER patients_summary_zone AFTER UPDATE OF timezone ON patients "
        "BEGIN UPDATE patient_summaries SET stale = stale + 1 WHERE patient_id = NEW.id; END;"
    )
    return "\n".join(parts)


@migrations(name="0008_clinic_pages")
def m0008_clinic_pages(db):
    db.executescript(
        """
        -- Clinic admins add and deactivate clinicians; a deactivated clinician's tokens
        -- are revoked and their password no longer logs in.
        ALTER TABLE clinicians ADD COLUMN is_admin INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE clinicians ADD COLUMN deactivated_at TEXT;
        -- One-time links to set a password (72 h), stored as the SHA-256 of the token.
        CREATE TABLE password_links (
            token_hash TEXT PRIMARY KEY,
            clinician_id INTEGER NOT NULL REFERENCES clinicians(id) ON DELETE CASCADE,
            created_by INTEGER REFERENCES clinicians(id),
            created_at TEXT NOT NULL,
            expires_at TEXT NOT NULL,
            used_at TEXT
        );
        CREATE INDEX password_links_clinician ON password_links(clinician_id);
        -- Every saved regimen, as saved (JSON, doses in micrograms): the report reads the
        -- current steps; this keeps what they were before a later edit.
        CREATE TABLE regimen_history (
            id INTEGER PRIMARY KEY,
            patient_id TEXT NOT NULL REFERENCES patients(id) ON DELETE CASCADE,
            saved_at TEXT NOT NULL,
            saved_by INTEGER REFERENCES clinicians(id),
            past_steps_changed INTEGER NOT NULL DEFAULT 0,
            regimen TEXT NOT NULL
        );
        CREATE INDEX regimen_history_patient ON regimen_history(patient_id, id);
        -- The /patients page's per-patient figures, refreshed by the scheduler (and on
        -- demand) instead of analysing every patient on each view. stale counts changes
        -- since the last refresh; flag_rank is the most severe flag's rank (99: none).
        CREATE TABLE patient_summaries (
            patient_id TEXT PRIMARY KEY REFERENCES patients(id) ON DELETE CASCADE,
            clinic_id INTEGER NOT NULL REFERENCES clinics(id),
            last_entry TEXT,
            next_appointment TEXT,
            devices INTEGER NOT NULL DEFAULT 0,
            code_expires_at TEXT,
            flags TEXT NOT NULL DEFAULT '[]',
            flag_rank INTEGER NOT NULL DEFAULT 99,
            computed_at TEXT,
            stale INTEGER NOT NULL DEFAULT 1
        );
        CREATE INDEX patient_summaries_stale ON patient_summaries(stale) WHERE stale > 0;
        CREATE INDEX patient_summaries_due ON patient_summaries(computed_at);
        CREATE INDEX patient_summaries_clinic ON patient_summaries(clinic_id, flag_rank);
        CREATE INDEX patients_clinic_name ON patients(clinic_id, display_name);
        INSERT INTO patient_summaries (patient_id, clinic_id) SELECT id, clinic_id FROM patients;
        CREATE TRIGGER patients_summary_new AFTER INSERT ON patients
        BEGIN INSERT INTO patient_summaries (patient_id, clinic_id) VALUES (NEW.id, NEW.clinic_id); END;
        """
        + _summary_triggers()
    )


@migrations(name="0009_questionnaires")
def m0009_questionnaires(db):
    db.executescript(
        """
        -- One answered questionnaire (PEG, PGIC: diary/data/questionnaires) per patient,
        -- instrument and local diary day. answers is JSON {item_id: value}; score is null
        -- while an item the scoring rule needs is unanswered. Synced like entries: the later
        -- recorded_at wins, seq orders the changes feed, deleted rows are tombstones.
        CREATE TABLE questionnaire_responses (
            patient_id TEXT NOT NULL REFERENCES patients(id) ON DELETE CASCADE,
            instrument TEXT NOT NULL,
            date TEXT NOT NULL,
            answers TEXT NOT NULL DEFAULT '{}',
            score REAL,
            recorded_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            deleted INTEGER NOT NULL DEFAULT 0,
            seq INTEGER NOT NULL,
            PRIMARY KEY (patient_id, instrument, date)
        ) WITHOUT ROWID;
        CREATE INDEX questionnaire_responses_seq ON questionnaire_responses(patient_id, seq);
        CREATE INDEX questionnaire_responses_day ON questionnaire_responses(patient_id, date);
        """
    )
    # The weekly 'questionnaire' reminder kind. Rebuilding reminders would cascade-delete
    # every delivery (deliveries.reminder_id ON DELETE CASCADE, and foreign_keys cannot be
    # turned off inside the migration's transaction), so the CHECK is widened in place as
    # SQLite documents for constraint changes that leave stored rows valid
    # (https://www.sqlite.org/lang_altertable.html#otheralter): writable_schema, then a
    # schema_version bump so every connection reloads the schema.
    version = db.execute("PRAGMA schema_version").fetchone()[0]
    db.execute("PRAGMA writable_schema = ON")
    db.execute(
        "UPDATE sqlite_master SET sql = replace(sql, ?, ?) WHERE type = 'table' AND name = 'reminders'",
        ["CHECK (kind IN ('dose', 'diary'))", "CHECK (kind IN ('dose', 'diary', 'questionnaire'))"],
    )
    db.execute(f"PRAGMA schema_version = {int(version) + 1}")
    db.execute("PRAGMA writable_schema = OFF")
    if (
        "'questionnaire'"
        not in db.execute("SELECT sql FROM sqlite_master WHERE name = 'reminders'").fetchone()[0]
    ):
        raise RuntimeError("reminders.kind CHECK not widened")
