"""GET /me/regimen: the patient's own regimen for the app's "Took <dose> mg" button."""

from tests.conftest import make_patient


def test_my_regimen_is_mine_only(client, clinic, patient):
    r = client.get("/api/v1/me/regimen", headers=patient["headers"])
    assert r.status_code == 404 and set(r.json) == {"code", "status", "message", "errors"}
    body = {
        "medication": "naltrexone",
        "dose_time": "22:00",
        "steps": [{"start_date": "2026-01-01", "dose_mg": 1.5}, {"start_date": "2026-01-15", "dose_mg": 4.5}],
        "other_medications": ["paracetamol"],
    }
    assert (
        client.put(
            f"/api/v1/patients/{patient['id']}/regimen", json=body, headers=clinic["headers"]
        ).status_code
        == 200
    )
    r = client.get("/api/v1/me/regimen", headers=patient["headers"])
    assert r.status_code == 200 and r.headers["Cache-Control"] == "no-store"
    assert r.json["medication"] == "naltrexone" and r.json["dose_time"] == "22:00"
    assert r.json["steps"] == body["steps"] and r.json["other_medications"] == ["paracetamol"]
    # Another patient of the same clinic has none; a clinician token or none at all is 401.
    other = make_patient(client, clinic, name="Other", device="phone-2")
    assert client.get("/api/v1/me/regimen", headers=other["headers"]).status_code == 404
    assert client.get("/api/v1/me/regimen", headers=clinic["headers"]).status_code == 401
    assert client.get("/api/v1/me/regimen").status_code == 401


def test_operation_ids_of_the_app_routes(client):
    spec = client.get("/api/v1/openapi.json").json
    assert spec["paths"]["/api/v1/me/regimen"]["get"]["operationId"] == "getMyRegimen"
    assert spec["paths"]["/api/v1/me/push/vapid-public-key"]["get"]["operationId"] == "getVapidPublicKey"
    assert "404" in spec["paths"]["/api/v1/me/regimen"]["get"]["responses"]
    schemas = spec["components"]["schemas"]
    assert schemas["VapidKeyOut"]["required"] == ["public_key"]
    push = schemas["PushIn"]["properties"]
    assert push["platform"]["enum"] == ["ios", "android", "web"]
    assert push["subscription"]["$ref"] == "#/components/schemas/WebPushSubscriptionIn"
    subscription = schemas["WebPushSubscriptionIn"]["properties"]
    assert subscription["endpoint"]["format"] == "uri"
    assert subscription["expirationTime"]["type"] == ["number", "null"]
