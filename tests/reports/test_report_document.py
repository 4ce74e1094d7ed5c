"""Real report answers hold to the OpenAPI document, key for key: every required key is sent
and nothing is sent that the document does not name; a snapshot stored before the newer
keys still holds to its own (looser) documented shape."""

import copy
import uuid
from datetime import date, timedelta

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from diary import db as dbmod
from diary.clock import local_date, utcnow
from tests.reports.earlier import earlier_report, store_snapshot_row

API = "/api/v1"


def _closed(spec):
    """The document's component schemas with ``additionalProperties: false`` on every object.

    The document leaves answers open (a later release may add a key); closed, an
    answer that carries a key the document does not describe fails.
    """
    schemas = copy.deepcopy(spec["components"]["schemas"])
    for name, schema in schemas.items():
        if name != "FhirResourceOut" and "properties" in schema and "additionalProperties" not in schema:
            schema["additionalProperties"] = False
    return {"components": {"schemas": schemas}}


@pytest.fixture
def validate(demo_client):
    client, _, _ = demo_client
    document = _closed(client.get(f"{API}/openapi.json").json)
    registry = Registry().with_resource("urn:doc", DRAFT202012.create_resource(document))

    def check(answer, schema_name):
        validator = Draft202012Validator(
            {"$ref": f"urn:doc#/components/schemas/{schema_name}"}, registry=registry
        )
        errors = sorted(validator.iter_errors(answer), key=lambda e: list(e.absolute_path))
        return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors]

    return check


def _patient_headers(client, creds, headers):
    r = client.post(f"{API}/patients/{creds['patient_id']}/enrollment-code", headers=headers)
    assert r.status_code in (200, 201), r.json
    r = client.post(f"{API}/enroll", json={"code": r.json["enrollment_code"], "device_name": "phone"})
    assert r.status_code == 201, r.json
    return {"Authorization": "Bearer " + r.json["token"]}


def test_the_demo_report_is_exactly_what_the_document_says(demo_client, validate):
    client, creds, headers = demo_client
    url = f"{API}/patients/{creds['patient_id']}"
    today = local_date(utcnow(), "Europe/London")
    patient = _patient_headers(client, creds, headers)
    # An opioid logged yesterday evening: the report then carries a flag too.
    taken = (utcnow() - timedelta(days=1)).replace(hour=19, minute=0, second=0, microsecond=0)
    r = client.put(
        f"{API}/me/doses/{uuid.uuid4()}",
        json={
            "medication": "Tramadol 50 mg",
            "amount_mg": 50,
            "taken_at": taken.isoformat(),
            "status": "taken",
            "recorded_at": utcnow().isoformat(),
        },
        headers=patient,
    )
    assert r.status_code in (200, 201), r.json
    report = client.get(url + f"/report?from={(today - timedelta(days=400)).isoformat()}", headers=headers)
    assert report.status_code == 200
    body = report.json
    # The demo diary reaches the report's every part, so the check below means something.
    assert body["regimen"]["substances"] == ["naltrexone"]
    assert len(body["doses"]["levels"]) > 1 and body["side_effects"]
    assert any(effect["episodes"] for effect in body["side_effects"].values())
    assert body["baseline_comparison"]["comparable"] is True
    assert validate(body, "ReportOut") == []

    assert "opioid_co_medication" in [flag["code"] for flag in body["flags"]]
    mine = client.get(f"{API}/me/report", headers=patient)
    assert mine.status_code == 200
    assert validate(mine.json, "PatientReportOut") == []


def test_a_wrong_answer_fails_the_check(demo_client, validate):
    """The check is not vacuous: a missing key, an extra key and a wrong type are each caught."""
    client, creds, headers = demo_client
    body = client.get(f"{API}/patients/{creds['patient_id']}/report", headers=headers).json
    missing = copy.deepcopy(body)
    del missing["doses"]["adherence"]["unrecorded_days"]
    extra = copy.deepcopy(body)
    extra["baseline_comparison"]["measures"]["sleep_hours"]["classification"] = "worsening"
    wrong = copy.deepcopy(body)
    wrong["period"]["days"] = "90"
    for answer, where in ((missing, "doses/adherence"), (extra, "sleep_hours"), (wrong, "period/days")):
        problems = validate(answer, "ReportOut")
        assert problems and any(where in p for p in problems), (where, problems)


def test_a_snapshot_keeps_the_shape_it_was_made_with(demo_client, demo_db, validate):
    client, creds, headers = demo_client
    url = f"{API}/patients/{creds['patient_id']}"
    made = client.post(url + "/reports", json={}, headers=headers)
    assert made.status_code == 201, made.json
    fresh = client.get(url + f"/reports/{made.json['id']}", headers=headers).json
    assert validate(fresh, "SnapshotOut") == [] and validate(fresh["report"], "ReportOut") == []

    # One stored by the analysis before issue 8 lacks its keys; it is sent as stored.
    old = earlier_report(fresh["report"])
    conn = dbmod.connect(demo_db[0])
    try:
        store_snapshot_row(conn, "before-issue-8", creds["patient_id"], old, [])
    finally:
        conn.close()
    stored = client.get(url + "/reports/before-issue-8", headers=headers)
    assert stored.status_code == 200
    assert stored.json["report"] == old
    assert validate(stored.json, "SnapshotOut") == []
    assert validate(stored.json["report"], "ReportOut") != []  # the live shape requires the newer keys
    assert date.fromisoformat(stored.json["period_from"]) <= date.fromisoformat(stored.json["period_to"])
