"""FHIR and CSV renderings of the demo patient's report."""

import csv
import io

import pytest

from diary.reports import csv_export, fhir

LOINC = "http://loinc.org"


def test_fhir_bundle_of_demo_patient_validates_as_r4b(demo_client):
    bundle_models = pytest.importorskip("fhir.resources.R4B.bundle", reason="fhir.resources not installed")
    client, creds, headers = demo_client
    r = client.get(f"/api/v1/patients/{creds['patient_id']}/fhir", headers=headers)
    assert r.status_code == 200
    assert r.mimetype == "application/fhir+json"
    data = r.get_json(force=True)
    bundle = bundle_models.Bundle.model_validate(data)
    assert bundle.type == "collection"

    resources = [e["resource"] for e in data["entry"]]
    kinds = [res["resourceType"] for res in resources]
    assert kinds.count("Patient") == 1
    observations = [res for res in resources if res["resourceType"] == "Observation"]
    administrations = [res for res in resources if res["resourceType"] == "MedicationAdministration"]
    assert {o["status"] for o in observations} == {"final"}
    assert {c["code"] for o in observations for cat in o["category"] for c in cat["coding"]} == {"survey"}
    assert {c["system"] for o in observations for cat in o["category"] for c in cat["coding"]} == {
        "http://terminology.hl7.org/CodeSystem/observation-category"
    }
    loinc = {}
    for o in observations:
        for coding in o["code"]["coding"]:
            if coding["system"] == LOINC:
                loinc.setdefault(coding["code"], []).append(o)
    assert set(loinc) == {"72514-3", "93832-4"}
    assert {o["valueQuantity"]["code"] for o in loinc["93832-4"]} == {"h"}
    assert all(0 <= o["valueQuantity"]["value"] <= 10 for o in loinc["72514-3"])

    # One Observation per measure per logged day and per side effect per day reported;
    # one administration per dose counted in the period.
    report = client.get(f"/api/v1/patients/{creds['patient_id']}/report", headers=headers).json
    assert len(loinc["72514-3"]) == report["measures"]["pain"]["n"]
    scores = [o for o in observations if "valueQuantity" in o]
    effects = [o for o in observations if "valueCodeableConcept" in o]
    assert len(scores) == sum(m["n"] for m in report["measures"].values())
    assert len(effects) == sum(s["days_reported"] for s in report["side_effects"].values())
    assert {o["code"]["text"] for o in effects} == set(report["side_effects"])
    assert {o["valueCodeableConcept"]["text"] for o in effects} <= {"mild", "moderate", "severe"}
    patient = next(res for res in resources if res["resourceType"] == "Patient")
    assert {"system": fhir.EXTERNAL_REF_SYSTEM, "value": "DEMO-001"}.items() <= patient["identifier"][
        1
    ].items()
    patient_ref = "urn:uuid:" + patient["id"]
    for o in observations:
        assert o["performer"] == [{"reference": patient_ref}]
        assert o["issued"].endswith("+00:00")
        period = o["effectivePeriod"]
        # The whole local diary day in London, with its offset at each end.
        assert period["start"][11:19] == "00:00:00" and period["end"][11:19] == "23:59:59"
        assert period["start"][:10] == period["end"][:10]
        assert period["start"][19:] in ("+00:00", "+01:00")
    completed = [a for a in administrations if a["status"] == "completed"]
    not_done = [a for a in administrations if a["status"] == "not-done"]
    adherence = report["doses"]["adherence"]
    assert len(completed) == adherence["taken_days"] + adherence["extra_dose_days"]
    assert len(not_done) == adherence["skipped_days"]
    assert all(a["statusReason"][0]["text"] and "dosage" not in a for a in not_done)
    dose = completed[0]["dosage"]["dose"]
    assert (dose["unit"], dose["code"], dose["system"]) == ("mg", "mg", "http://unitsofmeasure.org")
    assert {a["dosage"]["dose"]["value"] for a in completed} <= {1.5, 3, 4.5}
    # The medication as written, coded with RxNorm's naltrexone ingredient.
    assert {a["medicationCodeableConcept"]["text"] for a in administrations} <= {"LDN", "Naltrexone 4.5mg"}
    assert {c["code"] for a in administrations for c in a["medicationCodeableConcept"]["coding"]} == {"7243"}
    # Every reference resolves inside the bundle.
    full_urls = {e["fullUrl"] for e in data["entry"]}
    assert {res["subject"]["reference"] for res in resources if "subject" in res} <= full_urls


def test_fhir_renderer_marks_skipped_doses_not_done_and_is_deterministic():
    report = {
        "patient": {"id": "p", "display_name": "P", "timezone": "UTC"},
        "period": {"from": "2026-01-01", "to": "2026-01-01", "days": 1},
        "measures": {m: {"daily": []} for m in fhir.MEASURE_CODES},
    }
    report["measures"]["pain"]["daily"] = [{"date": "2026-01-01", "value": 4}]
    doses = [
        {
            "id": "a",
            "medication": "naltrexone",
            "amount_ug": 4500,
            "local_date": "2026-01-01",
            "status": "taken",
            "taken_at": "2026-01-01T22:00:00.000000+00:00",
        },
        {
            "id": "b",
            "medication": "Mystery pill",
            "amount_ug": 4500,
            "local_date": "2026-01-01",
            "status": "skipped",
            "taken_at": "2026-01-01T22:00:00.000000+00:00",
        },
    ]
    days = [{"date": "2026-01-01", "side_effects": [{"name": "other: Itching", "severity": "severe"}]}]
    one = fhir.render_bundle(report, doses, days, "2026-01-02T08:00:00+00:00")
    assert one == fhir.render_bundle(report, doses, days, "2026-01-02T08:00:00+00:00")
    kinds = [e["resource"]["resourceType"] for e in one["entry"]]
    assert kinds == [
        "Patient",
        "Observation",
        "Observation",
        "MedicationAdministration",
        "MedicationAdministration",
    ]
    effect = one["entry"][2]["resource"]
    assert effect["code"]["coding"][0]["code"] == "other" and effect["code"]["text"] == "other: Itching"
    assert effect["valueCodeableConcept"]["coding"] == [
        {"system": fhir.SNOMED, "code": "24484000", "display": "Severe"}
    ]
    assert effect["issued"] == "2026-01-02T08:00:00+00:00"
    taken, skipped = one["entry"][3]["resource"], one["entry"][4]["resource"]
    assert taken["dosage"]["dose"]["value"] == 4.5
    assert taken["medicationCodeableConcept"]["coding"][0]["code"] == "7243"
    assert (skipped["status"], "dosage" in skipped) == ("not-done", False)
    assert skipped["medicationCodeableConcept"] == {"text": "Mystery pill"}  # unrecognised: text only
    bundle_models = pytest.importorskip("fhir.resources.R4B.bundle", reason="fhir.resources not installed")
    bundle_models.Bundle.model_validate(one)


def test_csv_of_demo_patient_has_one_row_per_day(demo_client):
    client, creds, headers = demo_client
    url = f"/api/v1/patients/{creds['patient_id']}/export.csv"
    r = client.get(url, headers=headers)
    assert r.status_code == 200
    assert r.mimetype == "text/csv"
    assert "attachment" in r.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(r.get_data(as_text=True))))
    assert (
        list(rows[0])
        == list(csv_export.COLUMNS)
        == [
            "date",
            "pain",
            "pain_worst",
            "fatigue",
            "mood",
            "sleep_quality",
            "function",
            "sleep_hours",
            "dose_taken_mg",
            "doses_taken",
            "planned_dose_mg",
            "dose_status",
            "window",
            "comparable",
            "side_effects",
            "side_effect_episodes",
            "peg_score",
            "pgic",
            "notes",
        ]
    )
    report = client.get(f"/api/v1/patients/{creds['patient_id']}/report", headers=headers).json
    period = report["period"]
    assert len(rows) == period["days"] and (rows[0]["date"], rows[-1]["date"]) == (
        period["from"],
        period["to"],
    )
    logged = {p["date"]: p["value"] for p in report["measures"]["pain"]["daily"]}
    for row in rows:
        assert row["pain"] == (str(logged[row["date"]]) if row["date"] in logged else "")
        assert row["planned_dose_mg"] in ("", "1.5", "3", "4.5")
    # The per-day statuses add up to the report's adherence figures.
    adherence = report["doses"]["adherence"]
    statuses = [row["dose_status"] for row in rows]
    assert statuses.count("on_plan") == adherence["on_plan_days"]
    assert statuses.count("off_plan") == adherence["off_plan_days"] == 1  # the demo's one wrong night
    assert statuses.count("unrecorded") == adherence["unrecorded_days"]
    assert statuses.count("skipped") == adherence["skipped_days"]
    off = next(row for row in rows if row["dose_status"] == "off_plan")
    assert (off["dose_taken_mg"], off["planned_dose_mg"]) == ("1.5", "4.5")
    # The comparison windows and their comparability, as the report has them.
    current = [row["date"] for row in rows if row["window"] == "current"]
    comparison = report["baseline_comparison"]
    assert (current[0], current[-1]) == (comparison["current"]["from"], comparison["current"]["to"])
    assert {row["comparable"] for row in rows if row["window"]} == {
        "true" if comparison["comparable"] else "false"
    }
    # An "other" side effect is named by its note, first spelling kept, with its episode.
    other = [row for row in rows if "other: dry mouth" in row["side_effects"]]
    assert other and all("other: dry mouth:1" in row["side_effect_episodes"] for row in other)
    assert "other: dry mouth" in report["side_effects"]
    assert not any("Dry mouth" in row["side_effects"] for row in rows)


def test_csv_renders_side_effects_missing_days_and_formula_like_notes():
    day = {
        "date": "2026-01-01",
        "pain": None,
        "pain_worst": None,
        "fatigue": None,
        "mood": None,
        "sleep_quality": None,
        "function": None,
        "sleep_hours": 6.5,
        "dose_taken_mg": 9,
        "doses_taken": 2,
        "planned_dose_mg": 4.5,
        "dose_status": "off_plan",
        "window": "current",
        "comparable": False,
        "side_effects": [
            {"name": "headache", "severity": "mild", "episode": 2},
            {"name": "other: ringing; buzzing", "severity": "moderate", "episode": 1},
        ],
        "notes": '=HYPERLINK("x"), and a comma',
    }
    rows = list(csv.reader(io.StringIO(csv_export.render_csv([day]))))
    assert len(rows) == 2
    assert rows[1] == [
        "2026-01-01",
        "",
        "",
        "",
        "",
        "",
        "",
        "6.5",
        "9",
        "2",
        "4.5",
        "off_plan",
        "current",
        "false",
        "headache:mild;other: ringing, buzzing:moderate",
        "headache:2;other: ringing, buzzing:1",
        "",  # no PEG or PGIC that day (a day row from before the questionnaires has no such keys)
        "",
        '\'=HYPERLINK("x"), and a comma',
    ]
