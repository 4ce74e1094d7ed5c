"""The OpenAPI document covers every route with request and response schemas; the README lists every path."""

import re
from pathlib import Path

import pytest

API = "/api/v1"
SKIP_METHODS = {"HEAD", "OPTIONS"}
BODY_LOCATIONS = {"json", "body"}
README = Path(__file__).resolve().parents[2] / "README.md"


@pytest.fixture
def spec(client):
    r = client.get(f"{API}/openapi.json")
    assert r.status_code == 200 and r.is_json
    return r.json


def flask_routes(app):
    """(method, OpenAPI-style path, endpoint) of every Flask route under /api/v1, the document itself excepted."""
    routes = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(API + "/") or rule.endpoint.startswith("api-docs."):
            continue
        path = re.sub(r"<(?:[^:<>]+:)?([A-Za-z_]\w*)>", r"{\1}", rule.rule)
        for method in sorted(rule.methods - SKIP_METHODS):
            routes.append((method, path, rule.endpoint))
    return routes


def operations(spec):
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if method in ("get", "put", "post", "patch", "delete"):
                yield path, method, op


def test_document_is_valid_openapi_3(spec):
    assert spec["openapi"].startswith("3.")
    assert spec["info"]["title"] and spec["info"]["version"]
    try:
        from openapi_spec_validator import validate
    except ImportError:  # pragma: no cover - the test extra installs it
        validate = None
    if validate is not None:
        validate(spec)
    # Structural checks that hold with or without the validator.
    schemes = spec["components"]["securitySchemes"]
    assert schemes["bearer"] == {"type": "http", "scheme": "bearer"}
    for path, method, op in operations(spec):
        assert path.startswith(API + "/"), path
        assert op.get("responses"), (method, path)
        for name in re.findall(r"{(\w+)}", path):
            params = [
                p
                for p in op.get("parameters", []) + spec["paths"][path].get("parameters", [])
                if p["in"] == "path"
            ]
            assert name in {p["name"] for p in params}, (method, path, name)


def test_every_route_is_documented_with_its_methods(app, spec):
    documented = {(method.upper(), path) for path, method, _ in operations(spec)}
    missing = [(m, p) for m, p, _ in flask_routes(app) if (m, p) not in documented]
    assert missing == []
    # ... and nothing documented is missing from the app.
    served = {(m, p) for m, p, _ in flask_routes(app)}
    assert sorted(documented - served) == []


def _resolve(spec, schema):
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        schema = spec["components"]["schemas"][name]
    return schema


def _body_locations(view):
    apidoc = getattr(view, "_apidoc", {})
    return {p["in"] for p in apidoc.get("arguments", {}).get("parameters", [])}


def test_every_json_body_has_a_request_schema(app, spec):
    checked = 0
    for method, path, endpoint in flask_routes(app):
        op = spec["paths"][path][method.lower()]
        takes_body = bool(_body_locations(app.view_functions[endpoint]) & BODY_LOCATIONS)
        if method in ("PUT", "PATCH"):
            assert takes_body, f"{method} {path} takes no JSON body; document one with @blp.arguments"
        if not takes_body:
            assert "requestBody" not in op, (method, path)
            continue
        content = op.get("requestBody", {}).get("content", {})
        assert "application/json" in content, (method, path)
        schema = _resolve(spec, content["application/json"]["schema"])
        assert schema.get("properties"), (method, path, schema)
        checked += 1
    assert checked >= 8


def test_every_success_status_has_a_response_schema(app, spec):
    problems = []
    for method, path, _ in flask_routes(app):
        op = spec["paths"][path][method.lower()]
        success = [code for code in op["responses"] if str(code).startswith("2")]
        if not success:
            problems.append(f"{method} {path}: no 2xx response")
        for code in success:
            if str(code) == "204":
                continue
            content = op["responses"][code].get("content") or {}
            schemas = [c.get("schema") for c in content.values()]
            if not schemas or not all(schemas):
                problems.append(f"{method} {path}: {code} has no response schema")
    assert problems == []


def test_error_responses_use_the_one_shape(spec):
    # Validation errors are documented; at least one points at the error schema with code/status/message/errors.
    shapes = set()
    for _path, _method, op in operations(spec):
        for code, response in op["responses"].items():
            if str(code).startswith(("4", "5")) or code == "default":
                content = (response.get("content") or {}).get("application/json") or {}
                if "schema" in content:
                    shapes.add(frozenset(_resolve(spec, content["schema"]).get("properties", {})))
    assert shapes, "no error response is documented"
    assert all({"code", "status", "message", "errors"} <= shape for shape in shapes), shapes


# -- the README -------------------------------------------------------------------------


def normalise(path):
    """A path template with every parameter name blanked: /me/entries/<day> == /me/entries/{date}."""
    path = path[len(API) :] if path.startswith(API) else path
    return re.sub(r"(?:{[^{}]*}|<[^<>]*>)", "{}", path)


def readme_paths(text):
    """Every documented path template in the README, normalised."""
    found = set()
    for match in re.finditer(r"(?:/api/v1)?(/(?:me|patients|auth|enroll)[A-Za-z0-9_./{}<>:,()\- ]*)", text):
        candidate = match.group(1).split(" ")[0].rstrip(".,)")
        found.add(normalise(candidate))
    return found


def expected_readme_paths(app):
    return sorted({normalise(p) for _, p, _ in flask_routes(app)})


def test_readme_lists_every_route_path(app):
    assert README.exists(), "README.md is missing"
    documented = readme_paths(README.read_text(encoding="utf-8"))
    missing = [p for p in expected_readme_paths(app) if p not in documented]
    assert missing == [], f"README.md does not mention these API paths: {missing}"


def test_readme_path_matching_normalises_parameter_names():
    text = "| `PUT /me/entries/{date}` | ... `GET /api/v1/patients/{id}/entries?from=&to=` and /me."
    assert readme_paths(text) >= {"/me/entries/{}", "/patients/{}/entries", "/me"}
    assert "/me/entries" not in readme_paths("`PUT /me/entries/{date}`")


# -- a contract generated clients can use (tests/client runs the generators themselves) -----


def _walk(node, trail=()):
    """Every (trail, schema object) below a node of the document."""
    if isinstance(node, dict):
        yield trail, node
        for key, value in node.items():
            yield from _walk(value, (*trail, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _walk(value, (*trail, i))


def test_every_operation_has_a_unique_camel_case_operation_id(spec):
    ids = [op.get("operationId") for _, _, op in operations(spec)]
    assert None not in ids
    assert all(re.fullmatch(r"[a-z]+(?:[A-Z0-9][a-z0-9]*)*", i) for i in ids), ids
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    named = {(path, method): op["operationId"] for path, method, op in operations(spec)}
    assert named[(API + "/me/entries/{day}", "put")] == "putMyEntry"
    assert named[(API + "/me/sync", "post")] == "syncMyDiary"


def test_every_answer_lists_its_keys_as_required(spec):
    schemas = spec["components"]["schemas"]
    answers = [name for name in schemas if name.endswith("Out")]
    assert len(answers) > 40
    for name in answers:
        schema = schemas[name]
        assert set(schema.get("required", [])) <= set(schema["properties"]), name
        assert schema.get("required"), f"{name} lists no required key"


def test_no_property_is_untyped_and_no_default_is_a_schema_default(spec):
    for trail, node in _walk(spec["components"]["schemas"]):
        if len(trail) >= 3 and trail[-2] == "properties":
            typed = {"type", "$ref", "oneOf", "anyOf", "allOf"} & set(node)
            assert typed, f"{'.'.join(map(str, trail))} has no type: {node}"
        # openapi-typescript reads a default as "always present" and makes a request key required.
        assert not (trail and trail[-1] != "properties" and "default" in node and "type" in node), trail


def test_formats_patterns_and_enums_are_documented(spec):
    schemas = spec["components"]["schemas"]
    assert schemas["EntryOut"]["properties"]["date"]["format"] == "date"
    assert schemas["DoseOut"]["properties"]["taken_at"]["format"] == "date-time"
    assert schemas["DoseOut"]["properties"]["id"]["format"] == "uuid"
    assert schemas["DoseOut"]["properties"]["status"]["enum"] == ["taken", "skipped"]
    assert set(schemas["SyncEntryResult"]["properties"]["status"]["enum"]) >= {"created", "stale", "rejected"}
    assert schemas["ReminderOut"]["properties"]["kind"]["enum"] == ["dose", "diary", "questionnaire"]
    for name, prop in (("RegimenIn", "dose_time"), ("ReminderIn", "time"), ("ReminderOut", "time")):
        assert re.fullmatch(schemas[name]["properties"][prop]["pattern"], "22:00"), name
        assert not re.fullmatch(schemas[name]["properties"][prop]["pattern"], "24:00"), name
    for name in ("DoseIn", "DoseOut"):
        amount = schemas[name]["properties"]["amount_mg"]
        assert amount["type"] == "number" and "3 decimals" in amount["description"], amount
        assert "normalised" in amount["description"]
    assert schemas["StepOut"]["properties"]["dose_mg"]["type"] == "number"


def test_sync_items_deletions_and_conflicts_are_typed(spec):
    schemas = spec["components"]["schemas"]
    sync = schemas["SyncIn"]["properties"]
    assert sync["entries"]["items"] == {"$ref": "#/components/schemas/SyncEntryIn"}
    assert sync["doses"]["items"] == {"$ref": "#/components/schemas/SyncDoseIn"}
    assert "date" in schemas["SyncEntryIn"]["required"] and "id" in schemas["SyncDoseIn"]["required"]
    assert sync["deleted_entries"]["items"]["oneOf"] == [
        {"type": "string", "format": "date"},
        {"$ref": "#/components/schemas/DeletedEntryIn"},
    ]
    assert sync["deleted_doses"]["items"]["oneOf"][0] == {"type": "string", "format": "uuid"}
    put_entry = spec["paths"][API + "/me/entries/{day}"]["put"]["responses"]["409"]
    conflict = _resolve(spec, put_entry["content"]["application/json"]["schema"])
    stored = _resolve(spec, _resolve(spec, conflict["properties"]["errors"])["properties"]["stored"])
    assert stored == schemas["EntryOut"]


def test_report_sections_are_typed_to_their_leaves(spec):
    report = spec["components"]["schemas"]["ReportOut"]
    for section in ("period", "completeness", "measures", "baseline_comparison", "doses"):
        assert "$ref" in report["properties"][section], section
    comparison = _resolve(spec, report["properties"]["baseline_comparison"])
    pain = _resolve(spec, _resolve(spec, comparison["properties"]["measures"])["properties"]["pain"])
    assert "insufficient_data" in pain["properties"]["classification"]["enum"]
    # Every report made now sends the newer analysis's keys; a snapshot stored before them may lack them.
    assert {"comparable", "reason"} <= set(comparison["required"])
    assert "classification" in pain["required"]
    sleep = _resolve(spec, _resolve(spec, comparison["properties"]["measures"])["properties"]["sleep_hours"])
    assert "classification" not in sleep["properties"]
    stored = _resolve(spec, spec["components"]["schemas"]["SnapshotOut"]["properties"]["report"])
    stored_comparison = _resolve(spec, stored["properties"]["baseline_comparison"])
    assert {"comparable", "reason"} <= set(stored_comparison["properties"]) - set(
        stored_comparison["required"]
    )
    assert "medications" in report["required"] and "medications" not in stored["required"]
    flags = report["properties"]["flags"]["items"]
    assert set(_resolve(spec, flags)["required"]) == {"code", "message"}
    bundle = spec["paths"][API + "/patients/{patient_id}/fhir"]["get"]["responses"]["200"]["content"]
    assert _resolve(spec, bundle["application/fhir+json"]["schema"])["properties"]["resourceType"][
        "enum"
    ] == ["Bundle"]


def test_statuses_are_where_they_can_happen(spec):
    for path, method, op in operations(spec):
        responses = {str(code) for code in op["responses"]}
        assert ("415" in responses) == ("requestBody" in op), (method, path)
    for path in (API + "/me/reminders/{kind}", API + "/patients/{patient_id}/reminders/{kind}"):
        assert "409" in spec["paths"][path]["put"]["responses"], path
    assert spec["security"] == [{"bearer": []}]
    assert spec["paths"][API + "/auth/login"]["post"]["security"] == []
    assert "401" not in spec["paths"][API + "/enroll"]["post"]["responses"]
    assert spec["servers"] and spec["servers"][0]["url"]


def test_path_parameters_are_typed_by_their_schemas(spec):
    for path, name, fmt in (
        (API + "/me/entries/{day}", "day", "date"),
        (API + "/me/doses/{dose_id}", "dose_id", "uuid"),
    ):
        for method in ("get", "put", "delete"):
            (param,) = [p for p in spec["paths"][path][method]["parameters"] if p["in"] == "path"]
            assert param["name"] == name and param["schema"]["format"] == fmt, (method, path)


def test_text_fields_document_what_they_refuse(spec):
    """SingleLine and Note say in the document which characters they refuse, exactly as the server does."""
    from marshmallow import ValidationError

    from diary.schemas.common import Note, SingleLine

    schemas = spec["components"]["schemas"]
    one_line = schemas["PatientIn"]["properties"]["display_name"]["pattern"]
    note = schemas["EntryIn"]["properties"]["notes"]["pattern"]
    assert schemas["DoseIn"]["properties"]["medication"]["pattern"] == one_line
    assert schemas["RegimenIn"]["properties"]["other_medications"]["items"]["pattern"] == one_line
    assert schemas["AppointmentIn"]["properties"]["note"]["pattern"] == note
    samples = ["Ann", "Zoë 4,5 mg", "\u05d0\u05d1 RTL", "a\nb", "a\r\nb", "a\tb", "a\rb", "a\x00", "\x1b[31m"]
    samples += ["3 \u202emg", "x\u2066y", "line\u2028sep", "del\x7f", "c1\x85"]
    for field, pattern in ((SingleLine(), one_line), (Note(), note)):
        for text in samples:
            try:
                field.deserialize(text)
                accepted = True
            except ValidationError:
                accepted = False
            assert bool(re.fullmatch(pattern, text)) is accepted, (type(field).__name__, text)
    appointment = schemas["SnapshotIn"]["properties"]["appointment_id"]
    assert appointment["minimum"] == 1 and appointment["maximum"] == 2**63 - 1
