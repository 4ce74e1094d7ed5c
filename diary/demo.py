"""Believable demo data: one clinic, one clinician, one LDN patient with 120 days of diary.

The diary is messy the way real ones are, so the report's rules show: the
regimen is named "LDN" and doses are logged as "LDN" or "Naltrexone 4.5mg";
some bedtime doses are taken after midnight (00:15-01:00, counted for the
evening before); one night at the wrong amount; a headache already present
before treatment; vivid dreams that stop and come back on a later step; and an
"other" side effect written two ways.
"""

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
MEDICATION = "LDN"
MISSED_FRACTION = 0.08
# Nights whose dose is taken after midnight (minutes past 00:00 of the next day).
LATE_FRACTION = 0.12
# The one night a different amount was taken (days after the diary starts).
WRONG_AMOUNT_DAY, WRONG_AMOUNT_UG = 70, 1500


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
    """Plan the demo diary as plain data: (day, entry or None, dose or None) per day.

    A dose is ``{ug, status, minutes_late, medication}``: ``minutes_late`` past
    the 22:00 dose time (90-180 is 00:00-01:00 the next day).
    """
    rng = random.Random(seed)
    start = today - timedelta(days=DAYS - 1)
    plan = []
    for i in range(DAYS):
        day = start + timedelta(days=i)
        step = (i - BASELINE_DAYS) // 14 if i >= BASELINE_DAYS else None
        dose_ug = STEPS_UG[min(step, len(STEPS_UG) - 1)] if step is not None else None
        if rng.random() < MISSED_FRACTION and i != WRONG_AMOUNT_DAY:
            plan.append((day, None, None))
            continue
        # Pain eases from about 7 toward 4 over the treatment weeks.
        progress = max(0.0, min(1.0, (i - BASELINE_DAYS) / (DAYS - BASELINE_DAYS - 20)))
        pain = round(7 - 3 * progress + rng.gauss(0, 0.7))
        pain = max(0, min(10, pain))
        side_effects = []
        # Vivid dreams on the first step, gone, then back when the dose goes up to 4.5 mg.
        first_step = BASELINE_DAYS <= i < BASELINE_DAYS + 10
        last_step_start = BASELINE_DAYS + 28 <= i < BASELINE_DAYS + 35
        if (first_step or last_step_start) and rng.random() < 0.7:
            side_effects.append(
                {"name": "vivid_dreams", "severity": rng.choice(["mild", "moderate"]), "note": None}
            )
        # A headache the patient already had before treatment.
        if (i < BASELINE_DAYS and rng.random() < 0.5) or rng.random() < 0.06:
            side_effects.append({"name": "headache", "severity": "mild", "note": None})
        if 60 <= i < 68 and rng.random() < 0.8:
            note = "dry mouth" if i < 64 else "Dry mouth "
            side_effects.append({"name": "other", "severity": "mild", "note": note})
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
        dose = None
        if dose_ug is not None:
            late = rng.random() < LATE_FRACTION
            dose = {
                "ug": WRONG_AMOUNT_UG if i == WRONG_AMOUNT_DAY else dose_ug,
                "status": "taken" if rng.random() < 0.96 or i == WRONG_AMOUNT_DAY else "skipped",
                "minutes_late": rng.randint(135, 180) if late else rng.randint(-20, 20),
                "medication": "Naltrexone 4.5mg" if rng.random() < 0.2 else MEDICATION,
            }
        plan.append((day, entry, dose))
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
        people.create_clinician(conn, clinic["id"], DEMO_EMAIL, "Dr Demo", DEMO_PASSWORD, now, admin=True)
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
                "medication": MEDICATION,
                "dose_time": DOSE_TIME,
                "steps": steps,
                "other_medications": ["Amitriptyline 10mg at night"],
            },
            now,
        )
        schedule.ensure_default_reminders(conn, patient["id"], now)
        seq = next_seq(conn)
        hour, minute = map(int, DOSE_TIME.split(":"))
        for day, entry, dose in plan:
            evening = datetime.combine(day, time(21, 30), tzinfo=zone)
            if entry is not None:
                records.upsert_entry(
                    conn, patient["id"], day.isoformat(), dict(entry, recorded_at=evening), now, seq
                )
            if dose is None:
                continue
            planned = datetime.combine(day, time(hour, minute), tzinfo=zone)
            taken_at = planned + timedelta(minutes=dose["minutes_late"])
            if taken_at <= now:  # tonight's dose is not logged before it is taken
                records.upsert_dose(
                    conn,
                    patient["id"],
                    str(uuid.UUID(int=random.Random(str(day)).getrandbits(128))),
                    {
                        "medication": dose["medication"],
                        "amount_mg": dose["ug"],
                        "taken_at": taken_at,
                        "status": dose["status"],
                        "note": None,
                        "recorded_at": taken_at,
                    },
                    now,
                    seq,
                )
        records.upsert_responses(conn, patient["id"], weekly_questionnaires(plan, zone), now, seq)
    return demo_credentials(conn), True


def weekly_questionnaires(plan, zone, seed=12):
    """The demo's weekly PEG (from the first day) and PGIC (from the first step), Sunday evenings."""
    rng = random.Random(seed)
    out = []
    for i in range(6, len(plan), 7):
        day, entry, _ = plan[i]
        if entry is None:
            continue
        at = datetime.combine(day, time(21, 40), tzinfo=zone)
        pain = entry["pain"]
        answers = {
            "peg_pain": pain,
            "peg_enjoyment": max(0, min(10, pain + rng.choice([-1, 0, 1]))),
            "peg_activity": max(0, min(10, pain + rng.choice([0, 1, 1]))),
        }
        out.append(("peg", day.isoformat(), {"answers": answers, "recorded_at": at}))
        if i >= BASELINE_DAYS + 7:
            weeks = (i - BASELINE_DAYS) // 7
            out.append(
                ("pgic", day.isoformat(), {"answers": {"pgic": max(2, 4 - weeks // 3)}, "recorded_at": at})
            )
    return out
