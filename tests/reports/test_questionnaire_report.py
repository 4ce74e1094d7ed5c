"""The report's questionnaires section, its CSV columns and its FHIR Questionnaire(Response)s."""

import csv
import io
from datetime import timedelta

import pytest

from diary.reports import questionnaire_summary
from tests.conftest import recorded, today_in

API = "/api/v1"


def test_an_empty_section_says_nothing_was_answered():
    out = questionnaire_summary.summarise([], "2026-01-01", "2026-01-31", "2026-01-10")
    assert out["peg"] == {
        "series": [],
        "baseline_score": None,
        "baseline_date": None,
        "current_score": None,
        "current_date": None,
        "change": None,
        "percent_change": None,
        "meaningful": None,
    }
    assert out["pgic"]["latest"] is None and out["pgic"]["responder"] is None
    assert set(out["pgic"]["counts"].values()) == {0} and len(out["pgic"]["counts"]) == 7


def response(instrument, day, score, **answers):
    return {"instrument": instrument, "date": day, "score": score, "answers": answers}


def test_peg_baseline_is_the_last_before_the_first_step_else_the_first_of_the_period():
    rows = [
        response("peg", "2025-12-01", 9),  # more than 28 days before the first step: not the baseline
        response("peg", "2025-12-20", 8),
        response("peg", "2026-01-05", 6),
        response("peg", "2026-01-12", None),  # incomplete: not in the series
        response("peg", "2026-01-19", 6.5),
    ]
    out = questionnaire_summary.summarise(rows, "2026-01-01", "2026-01-31", "2026-01-02")["peg"]
    assert out["series"] == [{"date": "2026-01-05", "score": 6}, {"date": "2026-01-19", "score": 6.5}]
    assert (out["baseline_score"], out["baseline_date"], out["current_score"]) == (8, "2025-12-20", 6.5)
    assert (out["change"], out["percent_change"], out["meaningful"]) == (-1.5, -18.8, False)  # -1.5 / 8
    # No treatment: the period's first PEG is the baseline; a 30% fall is meaningful.
    out = questionnaire_summary.summarise(rows, "2026-01-01", "2026-01-31", None)["peg"]
    assert (out["baseline_score"], out["change"], out["percent_change"]) == (6, 0.5, 8.3)
    falling = [response("peg", "2026-01-05", 6), response("peg", "2026-01-19", 4.2)]
    out = questionnaire_summary.summarise(falling, "2026-01-01", "2026-01-31", None)["peg"]
    assert (out["change"], out["percent_change"], out["meaningful"]) == (-1.8, -30.0, True)  # exactly 30%


def test_pgic_latest_counts_and_responder():
    rows = [
        response("pgic", "2026-01-05", 3),
        response("pgic", "2026-01-12", 2),
        response("pgic", "2025-12-01", 1),
    ]
    out = questionnaire_summary.summarise(rows, "2026-01-01", "2026-01-31", "2026-01-02")["pgic"]
    assert (out["latest"], out["latest_text"], out["latest_date"]) == (2, "much_improved", "2026-01-12")
    assert out["responder"] is True  # "much improved" or better (IMMPACT)
    assert out["counts"]["much_improved"] == 1 and out["counts"]["minimally_improved"] == 1
    assert out["counts"]["very_much_improved"] == 0  # before the period
    worse = questionnaire_summary.summarise(
        [response("pgic", "2026-01-05", 3)], "2026-01-01", "2026-01-31", None
    )
    assert worse["pgic"]["responder"] is False


@pytest.fixture
def answered(client, clinic, patient):
    """A patient on treatment for 20 days with PEG and PGIC answers; returns (today, report url base)."""
    today = today_in(patient["timezone"])
    pid = patient["id"]
    r = client.put(
        f"{API}/patients/{pid}/regimen",
        json={
            "medication": "naltrexone",
            "dose_time": "21:00",
            "steps": [{"start_date": (today - timedelta(days=20)).isoformat(), "dose_mg": 1.5}],
        },
        headers=clinic["headers"],
    )
    assert r.status_code == 200, r.json
    # The record begins with a diary entry 30 days back (answers alone do not start it).
    first = (today - timedelta(days=30)).isoformat()
    r = client.put(
        f"{API}/me/entries/{first}", json={"pain": 7, "recorded_at": recorded()}, headers=patient["headers"]
    )
    assert r.status_code == 201, r.json
    for days_ago, instrument, answers in (
        (25, "peg", {"peg_pain": 8, "peg_enjoyment": 8, "peg_activity": 8}),
        (10, "peg", {"peg_pain": 6, "peg_enjoyment": 6, "peg_activity": 6}),
        (3, "peg", {"peg_pain": 5, "peg_enjoyment": 5, "peg_activity": 6}),
        (1, "peg", {"peg_pain": 4}),
        (10, "pgic", {"pgic": 3}),
        (3, "pgic", {"pgic": 2}),
    ):
        day = (today - timedelta(days=days_ago)).isoformat()
        r = client.put(
            f"{API}/me/questionnaires/{instrument}/{day}",
            json={"answers": answers, "recorded_at": recorded()},
            headers=patient["headers"],
        )
        assert r.status_code == 201, r.json
    query = f"?from={today - timedelta(days=30)}&to={today}"
    return today, f"{API}/patients/{pid}", query


def test_the_report_csv_and_fhir_carry_the_answers(client, clinic, answered):
    today, base, query = answered
    rep = client.get(base + "/report" + query, headers=clinic["headers"]).json
    peg, pgic = rep["questionnaires"]["peg"], rep["questionnaires"]["pgic"]
    assert [p["score"] for p in peg["series"]] == [8, 6, 5.33]
    assert (peg["baseline_score"], peg["current_score"], peg["change"]) == (8, 5.33, -2.67)
    assert peg["percent_change"] == pytest.approx(-33.4, abs=0.05) and peg["meaningful"] is True
    assert (pgic["latest"], pgic["responder"]) == (2, True)

    text = client.get(base + "/export.csv" + query, headers=clinic["headers"]).get_data(as_text=True)
    rows = {r["date"]: r for r in csv.DictReader(io.StringIO(text))}
    assert rows[(today - timedelta(days=3)).isoformat()]["peg_score"] == "5.33"
    assert rows[(today - timedelta(days=3)).isoformat()]["pgic"] == "2"
    assert rows[(today - timedelta(days=1)).isoformat()]["peg_score"] == ""  # incomplete
    assert rows[(today - timedelta(days=2)).isoformat()]["pgic"] == ""

    bundle_models = pytest.importorskip("fhir.resources.R4B.bundle", reason="fhir.resources not installed")
    data = client.get(base + "/fhir" + query, headers=clinic["headers"]).get_json(force=True)
    bundle_models.Bundle.model_validate(data)
    resources = [e["resource"] for e in data["entry"]]
    forms = {r["url"]: r for r in resources if r["resourceType"] == "Questionnaire"}
    assert set(forms) == {
        "https://symptom-diary.example.org/fhir/Questionnaire/peg",
        "https://symptom-diary.example.org/fhir/Questionnaire/pgic",
    }
    answers = [r for r in resources if r["resourceType"] == "QuestionnaireResponse"]
    assert len(answers) == 6  # one per answered questionnaire
    assert {a["questionnaire"] for a in answers} == set(forms)
    assert sorted(a["status"] for a in answers).count("in-progress") == 1  # the partial PEG
    scored = [a for a in answers if any(i["linkId"] == "peg_score" for i in a["item"])]
    assert sorted(
        i["answer"][0]["valueDecimal"] for a in scored for i in a["item"] if i["linkId"] == "peg_score"
    ) == [
        5.33,
        6,
        8,
    ]
    peg_form = forms["https://symptom-diary.example.org/fhir/Questionnaire/peg"]
    assert peg_form["code"][0]["code"] == "91147-9"
    assert [i["linkId"] for i in peg_form["item"]] == [
        "peg_pain",
        "peg_enjoyment",
        "peg_activity",
        "peg_score",
    ]
