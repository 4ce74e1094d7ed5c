"""Weekly questionnaires (PEG, PGIC): what is due and the patient's answers; the clinician's read."""

from diary import auth, questionnaires, questionnaires_due, records
from diary.access import clinic_patient
from diary.api.blueprint import Blueprint
from diary.api.me import check_not_future, conflict
from diary.clock import local_date, utcnow
from diary.db import next_seq, write
from diary.errors import abort
from diary.schemas.common import DateRangeArgs
from diary.schemas.questionnaires import (
    QuestionnaireListOut,
    QuestionnairePath,
    ResponseConflictOut,
    ResponseIn,
    ResponseListOut,
    ResponseOut,
    item_out,
    wrong_items,
)

blp = Blueprint("questionnaires", __name__, description="Weekly validated questionnaires (PEG, PGIC)")


def due_list(conn, patient, now):
    """Return ``QuestionnaireListOut``: every instrument with its items and whether it is due today."""
    today = local_date(now, patient["timezone"])
    due, last = questionnaires_due.due_today(conn, patient["id"], patient["timezone"], today)
    out = []
    for ident in questionnaires.IDS:
        instrument = questionnaires.INSTRUMENTS[ident]
        out.append(
            {
                "instrument": ident,
                "title": instrument["title"],
                "due": due[ident],
                "last_date": last[ident],
                "items": [item_out(i) for i in instrument["items"]],
                "citation": instrument["citation"],
                "licence": instrument["licence"],
            }
        )
    return {"date": today.isoformat(), "questionnaires": out}


@blp.get("/me/questionnaires")
@blp.response(200, QuestionnaireListOut)
@blp.doc(operationId="listMyQuestionnaires")
def list_mine():
    """The questionnaires with their exact items, and which are due today."""
    patient = auth.require_patient()
    return due_list(auth.app_conn(), patient, utcnow())


@blp.put("/me/questionnaires/<instrument>/<date>")
@blp.arguments(QuestionnairePath(), location="path", as_kwargs=True)
@blp.arguments(ResponseIn())
@blp.response(200, ResponseOut)
@blp.alt_response(201, schema=ResponseOut, description="Created")
@blp.alt_response(409, schema=ResponseConflictOut, description="A newer version is stored; it was kept")
@blp.doc(operationId="putMyQuestionnaire")
def put_mine(body, instrument, date):
    """Answer a questionnaire for one local day; the later ``recorded_at`` wins."""
    patient = auth.require_patient()
    now = utcnow()
    check_not_future(date, patient, now, ("path", "date"))
    wrong = wrong_items(instrument, body["answers"])
    if wrong:
        abort(422, "Those items are not in this questionnaire.", errors={"json": {"answers": wrong}})
    conn = auth.app_conn()
    with write(conn):
        status, row = records.upsert_response(
            conn, patient["id"], instrument, date.isoformat(), body, now, next_seq(conn)
        )
    if status == "stale":
        conflict(ResponseOut(), records.response_out(row))
    return records.response_out(row), 201 if status == "created" else 200


@blp.get("/patients/<patient_id>/questionnaires")
@blp.arguments(DateRangeArgs(), location="query")
@blp.response(200, ResponseListOut)
@blp.doc(operationId="listPatientQuestionnaires")
@clinic_patient("list_questionnaires")
def list_patient(args, patient):
    """List the patient's answered questionnaires between two days, with their scores."""
    return {
        "questionnaires": records.list_responses(auth.app_conn(), patient["id"], args["from_"], args["to"])
    }
