"""Single-line text fields refuse control characters and bidirectional overrides (422 naming the
field, nothing written); notes keep newlines and tabs only; CSV cells never start a formula."""

import csv
import io
import uuid

import pytest

from diary.reports import csv_export
from tests.conftest import count_rows, recorded, today_in

# Each breaks a single line: terminal escapes, NUL, newlines of every kind, C1 controls, and
# the bidi overrides and isolates that make "3 mg" read as "gm 3" on a clinician's screen.
HOSTILE = {
    "NUL": "Pat\x00",
    "escape": "Pat\x1b[31m",
    "newline": "Pat\nSmith",
    "carriage return": "Pat\rSmith",
    "tab": "Pat\tSmith",
    "DEL": "Pat\x7f",
    "C1 NEL": "Pat\x85Smith",
    "C1 CSI": "Pat\x9b31m",
    "right-to-left override": "Pat\u202eoD",
    "left-to-right embedding": "\u202aPat",
    "first-strong isolate": "Pat\u2068x\u2069",
    "line separator": "Pat\u2028Smith",
    "paragraph separator": "Pat\u2029Smith",
}


def _single_line_cases(patient, clinic):
    """(method, url, headers, body builder taking the hostile text, field name) of every single-line field."""
    day = today_in(patient["timezone"]).isoformat()
    dose = {"amount_mg": 1.5, "taken_at": "2026-03-01T22:00:00+00:00", "status": "taken"}
    regimen = {"dose_time": "22:00", "steps": [{"start_date": "2026-03-01", "dose_mg": 1.5}]}
    me, pat = patient["headers"], clinic["headers"]
    pid = patient["id"]
    return [
        ("POST", "/api/v1/patients", pat, lambda t: {"display_name": t, "timezone": "UTC"}, "display_name"),
        (
            "POST",
            "/api/v1/patients",
            pat,
            lambda t: {"display_name": "Pat", "timezone": "UTC", "external_ref": t},
            "external_ref",
        ),
        ("PATCH", "/api/v1/me", me, lambda t: {"display_name": t}, "display_name"),
        ("POST", "/api/v1/enroll", {}, lambda t: {"code": "AAAA-BBBB-CCCC", "device_name": t}, "device_name"),
        ("POST", "/api/v1/auth/login", {}, lambda t: {"email": t + "@x.example", "password": "p"}, "email"),
        ("PUT", f"/api/v1/me/doses/{uuid.uuid4()}", me, lambda t: {**dose, "medication": t}, "medication"),
        ("PUT", f"/api/v1/patients/{pid}/regimen", pat, lambda t: {**regimen, "medication": t}, "medication"),
        (
            "PUT",
            f"/api/v1/patients/{pid}/regimen",
            pat,
            lambda t: {**regimen, "medication": "naltrexone", "other_medications": [t]},
            "other_medications",
        ),
        (
            "PUT",
            f"/api/v1/me/entries/{day}",
            me,
            lambda t: {
                "side_effects": [{"name": "other", "severity": "mild", "note": t}],
                "recorded_at": recorded(),
            },
            "note",
        ),
        ("PUT", "/api/v1/me/push", me, lambda t: {"platform": "ios", "token": t}, "token"),
    ]


TABLES = ("patients", "entries", "doses", "regimens", "tokens", "push_tokens")


def _counts(conn):
    return {t: count_rows(conn, t) for t in TABLES}


@pytest.mark.parametrize("text", list(HOSTILE.values()), ids=list(HOSTILE))
def test_single_line_fields_refuse_controls_and_bidi_overrides(client, conn, patient, clinic, text):
    before = _counts(conn)
    for method, url, headers, body, field in _single_line_cases(patient, clinic):
        r = client.open(url, method=method, json=body(text), headers=headers)
        assert r.status_code == 422, (url, field, r.status_code, r.json)
        assert field in str(r.json["errors"]), (url, field, r.json)
    assert _counts(conn) == before


def test_single_line_fields_keep_ordinary_text_of_every_script(client, patient, clinic):
    for name in (
        "José Núñez-O'Brien",
        "محمد علي",
        "Zoë 李",
        "Ana\u200fMaria",
    ):  # RLM is a mark, not an override
        r = client.post(
            "/api/v1/patients", json={"display_name": name, "timezone": "UTC"}, headers=clinic["headers"]
        )
        assert r.status_code == 201, r.json
        assert r.json["display_name"] == name


def test_notes_keep_newlines_and_tabs_and_nothing_else(client, conn, patient):
    day = today_in(patient["timezone"]).isoformat()
    url = f"/api/v1/me/entries/{day}"
    note = "Slept badly.\n\tWoke at 3.\nBetter by noon."
    r = client.put(url, json={"notes": note, "recorded_at": recorded(1)}, headers=patient["headers"])
    assert r.status_code == 201, r.json
    assert client.get(url, headers=patient["headers"]).json["notes"] == note
    # A phone that sends Windows line ends gets plain newlines back, nothing lost.
    r = client.put(url, json={"notes": "one\r\ntwo", "recorded_at": recorded()}, headers=patient["headers"])
    assert r.status_code == 200, r.json
    assert client.get(url, headers=patient["headers"]).json["notes"] == "one\ntwo"
    before = _counts(conn)
    for bad in ("bell\x07", "esc\x1b[2J", "lone\rreturn", "nul\x00", "c1\x85", "flip\u202e", "iso\u2066x"):
        r = client.put(url, json={"notes": bad, "recorded_at": recorded()}, headers=patient["headers"])
        assert r.status_code == 422, (bad, r.json)
        assert "notes" in r.json["errors"]["json"]
        dose = {
            "medication": "naltrexone",
            "amount_mg": 1,
            "taken_at": recorded(),
            "status": "taken",
            "note": bad,
        }
        r = client.put(f"/api/v1/me/doses/{uuid.uuid4()}", json=dose, headers=patient["headers"])
        assert r.status_code == 422 and "note" in r.json["errors"]["json"], (bad, r.json)
    assert _counts(conn) == before


def test_a_bad_text_in_a_sync_batch_is_rejected_alone(client, patient):
    day = today_in(patient["timezone"]).isoformat()
    r = client.post(
        "/api/v1/me/sync",
        json={
            "doses": [
                {
                    "id": str(uuid.uuid4()),
                    "medication": "nal\u202etrexone",
                    "amount_mg": 1,
                    "taken_at": recorded(),
                    "status": "taken",
                },
                {
                    "id": str(uuid.uuid4()),
                    "medication": "naltrexone",
                    "amount_mg": 1,
                    "taken_at": recorded(),
                    "status": "taken",
                },
            ],
            "entries": [{"date": day, "notes": "fine\tnote", "recorded_at": recorded()}],
        },
        headers=patient["headers"],
    )
    assert r.status_code == 200, r.json
    assert [d["status"] for d in r.json["doses"]] == ["rejected", "created"]
    assert "medication" in r.json["doses"][0]["errors"]
    assert r.json["entries"][0]["status"] == "created"


@pytest.mark.parametrize(
    "note",
    [" =1+1", "\n=cmd|' /C calc'!A0", "\t@SUM(A1)", "  -2+3", "\r\n+1", "=plain", "@x", "+1", "-1"],
)
def test_csv_cells_that_would_start_a_formula_are_neutralised(note):
    day = {m: None for m in csv_export.COLUMNS}
    day.update(date="2026-01-01", side_effects=[], notes=note)
    rows = list(csv.reader(io.StringIO(csv_export.render_csv([day]))))
    assert rows[1][-1] == "'" + note


@pytest.mark.parametrize("note", ["slept badly", "2 - 3 hours", "a=b", " plain start", "\nsecond line"])
def test_csv_leaves_ordinary_notes_alone(note):
    day = {m: None for m in csv_export.COLUMNS}
    day.update(date="2026-01-01", side_effects=[], notes=note)
    rows = list(csv.reader(io.StringIO(csv_export.render_csv([day]))))
    assert rows[1][-1] == note


def test_the_cli_refuses_control_characters_in_names(tmp_path):
    from click.testing import CliRunner

    from diary import db as dbmod
    from diary.cli import main

    path = str(tmp_path / "cli.sqlite3")
    runner = CliRunner(env={"DIARY_DATABASE": path})
    result = runner.invoke(main, ["create-clinic", "North\x1b[2J Clinic"])
    assert result.exit_code == 2 and "control characters" in result.output
    result = runner.invoke(main, ["create-clinic", "North Clinic"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(
        main,
        ["create-clinician", "--clinic-id", "1", "--email", "a@b.example", "--name", "Dr\u202eX"],
        input="long-enough-password\n",
    )
    assert result.exit_code == 2
    conn = dbmod.connect(path)
    try:
        assert [r[0] for r in conn.execute("SELECT name FROM clinics")] == ["North Clinic"]
        assert count_rows(conn, "clinicians") == 0
    finally:
        conn.close()
