"""Hostile bodies on every operation that takes one: 400 or 422 in the one error shape, never a 500.

The operations come from the OpenAPI document, so a route added later is covered too.
"""

import uuid

import pytest

from tests.api.test_validation import assert_refused, snapshot
from tests.conftest import count_rows, today_in

SQLITE_MAX = 2**63 - 1


def _body_operations(client, patient, clinic):
    spec = client.get("/api/v1/openapi.json").json
    values = {
        "patient_id": patient["id"],
        "day": today_in(patient["timezone"]).isoformat(),
        "dose_id": str(uuid.uuid4()),
        "kind": "diary",
        "instrument": "peg",
        "date": today_in(patient["timezone"]).isoformat(),
    }
    found = []
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if not isinstance(operation, dict) or "requestBody" not in operation:
                continue
            url = path.format(**values)
            if path.startswith("/api/v1/me"):
                headers = patient["headers"]
            elif path.startswith("/api/v1/patients"):
                headers = clinic["headers"]
            else:
                headers = {}  # /auth/login and /enroll: no token at all
            found.append((method.upper(), url, headers))
    assert len(found) >= 14
    return found


def _nested(depth):
    return b'{"x": ' + b"[" * depth + b"]" * depth + b"}"


HOSTILE_BODIES = [
    ("nested 1000 deep", _nested(1000)),
    ("nested 100000 deep", b"[" * 100_000 + b"]" * 100_000),
    ("objects nested 1000 deep", b'{"a": ' * 1000 + b"1" + b"}" * 1000),
    ("nested 40 deep", _nested(40)),
    ("NaN literal", b'{"pain": NaN}'),
    ("Infinity literal", b'{"pain": -Infinity}'),
]


@pytest.mark.parametrize("data", [b[1] for b in HOSTILE_BODIES], ids=[b[0] for b in HOSTILE_BODIES])
def test_hostile_json_is_400_on_every_operation_with_a_body(client, conn, patient, clinic, data):
    before = snapshot(conn)
    for method, url, headers in _body_operations(client, patient, clinic):
        r = client.open(url, method=method, data=data, content_type="application/json", headers=headers)
        assert r.status_code == 400, (method, url, r.status_code, r.get_data(as_text=True)[:300])
        assert_refused(r, "json", 400)
    assert snapshot(conn) == before
    assert count_rows(conn, "patients") == 1  # neither DELETE /me nor DELETE /patients/{id} erased


def test_json_nested_within_the_limit_still_reaches_validation(client, patient):
    r = client.open(
        "/api/v1/me/sync",
        method="POST",
        data=b'{"entries": [' + b"[" * 20 + b"]" * 20 + b"]}",
        content_type="application/json",
        headers=patient["headers"],
    )
    assert r.status_code == 200
    assert r.json["entries"][0]["status"] == "rejected"


@pytest.mark.parametrize("value", [SQLITE_MAX + 1, -(SQLITE_MAX + 2), 10**30])
def test_an_integer_beyond_sqlites_range_is_422_naming_the_field(client, conn, patient, clinic, value):
    r = client.post(
        f"/api/v1/patients/{patient['id']}/reports", json={"appointment_id": value}, headers=clinic["headers"]
    )
    assert_refused(r, "appointment_id", 422)
    assert count_rows(conn, "report_snapshots") == 0
    day = today_in(patient["timezone"]).isoformat()
    r = client.put(
        f"/api/v1/me/entries/{day}",
        json={"pain": value, "recorded_at": "2026-03-01T22:00:00+00:00"},
        headers=patient["headers"],
    )
    assert_refused(r, "pain", 422)


def test_integer_fields_document_their_bounds(client):
    spec = client.get("/api/v1/openapi.json").json
    schemas = spec["components"]["schemas"]
    unbounded = []
    for name, schema in schemas.items():
        if not name.endswith("In") and name not in ("SnapshotIn", "ReportArgs"):
            continue
        for field, prop in schema.get("properties", {}).items():
            if prop.get("type") == "integer" and ("minimum" not in prop or "maximum" not in prop):
                unbounded.append(f"{name}.{field}")
            if prop.get("type") == "integer":
                assert -(2**63) <= prop["minimum"] <= prop["maximum"] <= SQLITE_MAX
    assert unbounded == []


@pytest.mark.parametrize("device_id", [str(SQLITE_MAX + 1), "1" + "0" * 40])
def test_a_path_integer_beyond_sqlites_range_is_404(client, patient, clinic, device_id):
    r = client.delete(f"/api/v1/me/devices/{device_id}", headers=patient["headers"])
    assert r.status_code == 404 and r.json["code"] == 404
    r = client.delete(f"/api/v1/patients/{patient['id']}/devices/{device_id}", headers=clinic["headers"])
    assert r.status_code == 404 and r.json["code"] == 404
