"""Believable demo data: one clinic, one clinician, one LDN patient with 120 days of diary."""

import random
import uuid
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from diary import people, records
from diary.clock import local_date
from diary.db import next_seq, write
from diary.reminders import schedule

DEMO_CLINIC = "Demo Pain Clinic"
DEMO_EMAIL = "demo.clinician@example.org"
DEMO_PASSWORD = "demo-password-2026"
DEMO_REF = "DEMO-001"
DEMO_ZONE = "Europe/London"
DAYS = 120
BASELINE_DAYS = 14
# Naltrexone titration: 1.5 mg, 3 mg, 4.5 mg, two weeks apart, at bedtime.
STEPS_UG = (1500, 3000, 4500)
DOSE_TIME = "22:00"
MISSED_FRACTION = 0.08


def demo_credentials(conn):
    """The demo clinician's login and the demo patient's id, or None when not loaded."""
    row = conn.execute(
        "SELECT p.id FROM patients p JOIN clinics c ON c.id = p.clinic_id "
        "WHERE c.name = ? AND p.external_ref = ?",
        (DEMO_CLINIC, DEMO_REF),
    ).fetchone()
    if row is None:
        return None
    return {"email": DEMO_EMAIL, "password": DEMO_PASSWORD, "patient_id": row["id"]}


def diary_days(today, seed=2026):
    """Plan the demo diary as plain data: (day, entry or None, dose_ug or None) per day."""
    rng = random.Random(seed)
    start = today - timedelta(days=DAYS - 1)
    plan = []
    for i in range(DAYS):
        day = start + timedelta(days=i)
        step = (i - BASELINE_DAYS) // 14 if i >= BASELINE_DAYS else None
        dose_ug = STEPS_UG[min(step, len(STEPS_UG) - 1)] if step is not None else None
        if rng.random() < MISSED_FRACTION:
            plan.append((day, None, dose_ug, False))
            continue
        # Pain eases from about 7 toward 4 over the treatment weeks.
        progress = max(0.0, min(1.0, (i - BASELINE_DAYS) / (DAYS - BASELINE_DAYS - 20)))
        pain = round(7 - 3 * progress + rng.gauss(0, 0.7))
        pain = max(0, min(10, pain))
        side_effects = []
        if BASELINE_DAYS <= i < BASELINE_DAYS + 10 and rng.random() < 0.7:
            side_effects.append(
                {"name": "vivid_dreams", "severity": rng.choice(["mild", "moderate"]), "note": None}
            )
        if rng.random() < 0.06:
            side_effects.append({"name": "headache", "severity": "mild", "note": None})
        entry = {
            "pain": pain,
            "pain_worst": max(pain, min(10, pain + rng.choice([1, 1, 2, 2, 3]))),
            "fatigue": max(0, min(10, round(6.5 - 2 * progress + rng.gauss(0, 0.8)))),
            "mood": max(0, min(10, round(4 + 2.5 * progress + rng.gauss(0, 0.8)))),
            "sleep_quality": max(0, min(10, round(4 + 2 * progress + rng.gauss(0, 1)))),
            "function": max(0, min(10, round(4 + 2.5 * progress + rng.gauss(0, 0.8)))),
            "sleep_hours": round(max(3.0, min(10.0, 6.0 + 1.2 * progress + rng.gauss(0, 0.6))) * 4) / 4,
            "side_effects": side_effects,
            "notes": None,
        }
        plan.append((day, entry, dose_ug, rng.random() < 0.96))
    return plan


def load_demo(conn, now, code_days=7):
    """Load the demo data once; return the demo credentials and whether anything was created."""
    existing = demo_credentials(conn)
    if existing is not None:
        return existing, False
    zone = ZoneInfo(DEMO_ZONE)
    today = local_date(now, DEMO_ZONE)
    plan = diary_days(today)
    with write(conn):
        clinic = people.create_clinic(conn, DEMO_CLINIC, now)
        people.create_clinician(conn, clinic["id"], DEMO_EMAIL, "Dr Demo", DEMO_PASSWORD, now)
        patient = people.create_patient(
            conn,
            clinic["id"],
            {"display_name": "Alex Demo", "timezone": DEMO_ZONE, "external_ref": DEMO_REF},
            now,
            code_days,
        )
        steps = [
            {"start_date": today - timedelta(days=DAYS - 1 - BASELINE_DAYS - 14 * k), "dose_mg": ug}
            for k, ug in enumerate(STEPS_UG)
        ]
        people.put_regimen(
            conn,
            patient["id"],
            {
                "medication": "naltrexone",
                "dose_time": DOSE_TIME,
                "steps": steps,
                "other_medications": ["amitriptyline"],
            },
            now,
        )
        schedule.ensure_default_reminders(conn, patient["id"], now)
        seq = next_seq(conn)
        hour, minute = map(int, DOSE_TIME.split(":"))
        for day, entry, dose_ug, took_dose in plan:
            evening = datetime.combine(day, time(21, 30), tzinfo=zone)
            if entry is not None:
                records.upsert_entry(
                    conn, patient["id"], day.isoformat(), dict(entry, recorded_at=evening), now, seq
                )
            if dose_ug is not None and entry is not None:
                taken_at = datetime.combine(day, time(hour, minute), tzinfo=zone)
                records.upsert_dose(
                    conn,
                    patient["id"],
                    str(uuid.UUID(int=random.Random(str(day)).getrandbits(128))),
                    {
                        "medication": "naltrexone",
                        "amount_mg": dose_ug,
                        "taken_at": taken_at,
                        "status": "taken" if took_dose else "skipped",
                        "note": None,
                        "recorded_at": taken_at,
                    },
                    now,
                    seq,
                )
    return demo_credentials(conn), True
