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
