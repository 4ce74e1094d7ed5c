"""FHIR and CSV renderings of the demo patient's report."""

import csv
import io
from datetime import date

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

    # One Observation per measure per logged day, one administration per taken dose.
    report = client.get(f"/api/v1/patients/{creds['patient_id']}/report", headers=headers).json
    assert len(loinc["72514-3"]) == report["measures"]["pain"]["n"]
    assert len(observations) == sum(m["n"] for m in report["measures"].values())
    assert administrations and {a["status"] for a in administrations} == {"completed"}
    assert len(administrations) == report["doses"]["adherence"]["taken_days"]
    dose = administrations[0]["dosage"]["dose"]
    assert (dose["unit"], dose["code"], dose["system"]) == ("mg", "mg", "http://unitsofmeasure.org")
    assert dose["value"] in (1.5, 3, 4.5)
    assert administrations[0]["medicationCodeableConcept"]["text"] == "naltrexone"
    # Every reference resolves inside the bundle.
    full_urls = {e["fullUrl"] for e in data["entry"]}
    assert {res["subject"]["reference"] for res in resources if "subject" in res} <= full_urls


def test_fhir_renderer_skips_skipped_doses_and_is_deterministic():
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
            "medication": "naltrexone",
            "amount_ug": 4500,
            "local_date": "2026-01-01",
            "status": "skipped",
            "taken_at": "2026-01-01T22:00:00.000000+00:00",
        },
    ]
    one, two = fhir.render_bundle(report, doses), fhir.render_bundle(report, doses)
    assert one == two
    kinds = [e["resource"]["resourceType"] for e in one["entry"]]
    assert kinds == ["Patient", "Observation", "MedicationAdministration"]
    assert one["entry"][2]["resource"]["dosage"]["dose"]["value"] == 4.5


def test_csv_of_demo_patient_has_one_row_per_day(demo_client):
    client, creds, headers = demo_client
    url = f"/api/v1/patients/{creds['patient_id']}/export.csv"
    r = client.get(url + "?from=2026-09-01&to=2026-09-30", headers=headers)
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
            "planned_dose_mg",
            "side_effects",
            "notes",
        ]
    )
    assert [row["date"] for row in rows] == [date(2026, 9, d).isoformat() for d in range(1, 31)]
    report = client.get(
        f"/api/v1/patients/{creds['patient_id']}/report?from=2026-09-01&to=2026-09-30", headers=headers
    ).json
    logged = {p["date"]: p["value"] for p in report["measures"]["pain"]["daily"]}
    for row in rows:
        assert row["pain"] == (str(logged[row["date"]]) if row["date"] in logged else "")
        assert row["planned_dose_mg"] in ("", "1.5", "3", "4.5")


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
        "dose_taken_mg": 4.5,
        "planned_dose_mg": 4.5,
        "side_effects": [
            {"name": "headache", "severity": "mild"},
            {"name": "vivid_dreams", "severity": "moderate"},
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
        "4.5",
        "4.5",
        "headache:mild;vivid_dreams:moderate",
        '\'=HYPERLINK("x"), and a comma',
    ]
