"""A week of the diary through the Python client generated from the OpenAPI document, and nothing else.

A clinician creates a patient and sets a regimen, the patient's phone enrolls and
logs a week of entries and doses, syncs an offline batch that carries a conflict,
a second device catches up through /me/changes, and the clinician reads the report
with typed access to ``baseline_comparison``.

    python example_week.py BASE_URL CLINICIAN_EMAIL   (the password on stdin)

``mypy --strict`` checks this file against the generated package ``diary_client``
(tests/client/test_generated_clients.py generates it, type-checks and runs this).
Prints one JSON summary line; exits non-zero on the first answer that is not the one expected.
"""

import json
import sys
import uuid
from datetime import UTC, date, datetime, time, timedelta
from typing import TypeVar
from zoneinfo import ZoneInfo

from diary_client import AuthenticatedClient, Client
from diary_client.api.auth import enroll_device, login
from diary_client.api.me import get_my_changes, put_my_dose, put_my_entry, sync_my_diary
from diary_client.api.patients import create_patient, new_enrollment_code, patch_patient, put_patient_regimen
from diary_client.api.reports import get_patient_report
from diary_client.models import (
    ChangesOut,
    DeletedEntryIn,
    DoseIn,
    DoseInStatus,
    DoseOut,
    EnrollIn,
    EnrollmentCodeOut,
    EnrollOut,
    EntryConflictOut,
    EntryIn,
    EntryOut,
    LoginIn,
    LoginOut,
    PatientCreatedOut,
    PatientIn,
    PatientOut,
    PatientPatchIn,
    RegimenIn,
    RegimenOut,
    ReportOut,
    Step,
    SyncDoseIn,
    SyncDoseInStatus,
    SyncDoseResultStatus,
    SyncEntryIn,
    SyncEntryResultStatus,
    SyncIn,
    SyncOut,
)

ZONE = "Europe/London"
T = TypeVar("T")


def expect(value: object, kind: type[T], what: str) -> T:
    """Return ``value`` as ``kind``, or stop: the server answered something else."""
    if not isinstance(value, kind):
        raise SystemExit(f"{what}: expected {kind.__name__}, got {value!r}")
    return value


def check(condition: bool, what: str) -> None:
    """Stop with ``what`` unless ``condition`` holds."""
    if not condition:
        raise SystemExit(f"check failed: {what}")


def bedtime(day: date) -> datetime:
    """22:00 on ``day`` in the patient's zone."""
    return datetime.combine(day, time(22, 0), tzinfo=ZoneInfo(ZONE))


def main(base_url: str, email: str, password: str) -> dict[str, object]:
    """Run the week; return what a person would want to see of it."""
    public = Client(base_url=base_url)
    session = expect(
        login.sync(client=public, body=LoginIn(email=email, password=password)), LoginOut, "login"
    )
    clinic = AuthenticatedClient(base_url=base_url, token=session.token)

    created = expect(
        create_patient.sync(client=clinic, body=PatientIn(display_name="Week Example", timezone=ZONE)),
        PatientCreatedOut,
        "create patient",
    )
    renamed = expect(
        patch_patient.sync(created.id, client=clinic, body=PatientPatchIn(external_ref="MRN-1")),
        PatientOut,
        "patch patient",
    )
    check(renamed.external_ref == "MRN-1" and renamed.display_name == "Week Example", "profile patched")
    today = datetime.now(ZoneInfo(ZONE)).date()
    week = [today - timedelta(days=n) for n in range(7, 0, -1)]
    regimen = expect(
        put_patient_regimen.sync(
            created.id,
            client=clinic,
            body=RegimenIn(
                medication="naltrexone",
                dose_time="22:00",
                steps=[Step(start_date=week[0], dose_mg=1.5), Step(start_date=week[4], dose_mg=3.0)],
            ),
        ),
        RegimenOut,
        "put regimen",
    )
    check([s.dose_mg for s in regimen.steps] == [1.5, 3], "steps come back in mg, normalised")

    phone_token = expect(
        enroll_device.sync(client=public, body=EnrollIn(code=created.enrollment_code, device_name="phone")),
        EnrollOut,
        "enroll phone",
    )
    phone = AuthenticatedClient(base_url=base_url, token=phone_token.token)

    # A week online: one entry and one bedtime dose a day.
    recorded = datetime.now(UTC) - timedelta(hours=1)
    for n, day in enumerate(week):
        answer = put_my_entry.sync_detailed(
            day,
            client=phone,
            body=EntryIn(recorded_at=recorded, pain=7 - n // 2, mood=4 + n // 2, sleep_hours=6.5),
        )
        check(answer.status_code == 201, f"entry {day} created")
        entry = expect(answer.parsed, EntryOut, f"entry {day}")
        check(entry.date == day and entry.pain == 7 - n // 2, f"entry {day} as sent")
        dose = expect(
            put_my_dose.sync(
                uuid.uuid4(),
                client=phone,
                body=DoseIn(
                    medication="naltrexone",
                    amount_mg=1.5 if day < week[4] else 3.0,
                    taken_at=bedtime(day),
                    status=DoseInStatus.TAKEN,
                ),
            ),
            DoseOut,
            f"dose {day}",
        )
        check(dose.local_date == day, f"dose {day} on its diary day")

    # An edit made earlier on another device loses to the stored version: 409 with it, typed.
    stale = put_my_entry.sync(
        week[-1], client=phone, body=EntryIn(recorded_at=recorded - timedelta(hours=5), pain=10)
    )
    conflict = expect(stale, EntryConflictOut, "stale PUT")
    check(conflict.errors.stored.pain == entry.pain, "the 409 carries the kept version")

    # Offline since yesterday: today's entry and dose, a late edit that lost, a deletion.
    batch = expect(
        sync_my_diary.sync(
            client=phone,
            body=SyncIn(
                entries=[
                    SyncEntryIn(date=today, recorded_at=datetime.now(UTC), pain=3, mood=7),
                    SyncEntryIn(date=week[-1], recorded_at=recorded - timedelta(hours=2), pain=9),
                ],
                doses=[
                    SyncDoseIn(
                        id=uuid.uuid4(),
                        medication="naltrexone",
                        amount_mg=3,
                        taken_at=bedtime(today) - timedelta(hours=14),
                        status=SyncDoseInStatus.SKIPPED,
                    )
                ],
                deleted_entries=[DeletedEntryIn(date=week[0], recorded_at=datetime.now(UTC))],
            ),
        ),
        SyncOut,
        "sync",
    )
    statuses = [str(r.status) for r in batch.entries + batch.deleted_entries]
    statuses += [str(r.status) for r in batch.doses]
    check(
        statuses
        == [
            SyncEntryResultStatus.CREATED,
            SyncEntryResultStatus.STALE,
            SyncEntryResultStatus.DELETED,
            SyncDoseResultStatus.CREATED,
        ],
        f"one result per item in order, the old edit stale: {statuses}",
    )

    # A second device restores everything, then sees nothing new.
    code = expect(new_enrollment_code.sync(created.id, client=clinic), EnrollmentCodeOut, "new code")
    tablet_token = expect(
        enroll_device.sync(client=public, body=EnrollIn(code=code.enrollment_code, device_name="tablet")),
        EnrollOut,
        "enroll tablet",
    )
    tablet = AuthenticatedClient(base_url=base_url, token=tablet_token.token)
    restored = expect(get_my_changes.sync(client=tablet), ChangesOut, "changes")
    check(len(restored.entries) == 7 and len(restored.doses) == 8, "the tablet gets every live record")
    check(week[0] not in {e.date for e in restored.entries}, "the deleted day stays deleted")
    again = expect(get_my_changes.sync(client=tablet, since=restored.cursor), ChangesOut, "changes since")
    check(again.entries == [] and again.doses == [], "nothing new after the cursor")

    report = expect(
        get_patient_report.sync(created.id, client=clinic, from_=week[0], to=today), ReportOut, "report"
    )
    comparison = report.baseline_comparison
    pain = comparison.measures.pain
    check(report.period.days == 8, "the period asked for")
    check(report.doses.adherence.taken_days == 7, "seven doses taken")
    return {
        "patient_id": created.id,
        "baseline": [
            str(comparison.baseline.from_),
            str(comparison.baseline.to),
            str(comparison.baseline.source),
        ],
        "pain_baseline_mean": pain.baseline_mean,
        "pain_current_mean": pain.current_mean,
        "pain_classification": str(pain.classification),
        "taken_days": report.doses.adherence.taken_days,
        "flags": [flag.code for flag in report.flags],
    }


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], sys.argv[2], sys.stdin.readline().rstrip("\n"))))
