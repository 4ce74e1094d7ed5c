"""Schemas of reports, appointments, snapshots and the audit trail.

The report is typed in full for the document, but sent straight from the plain
dicts the analysis builds: dumping a 730-day report per data point through
nested schemas cost 39-57x the SQL fetch (docs/ARCHITECTURE.md, Reports).
"""

import copy

import marshmallow as ma
from marshmallow import fields, validate

from diary.measures import DIRECTED, MEASURES, WORSENING_FLAGS
from diary.reports.effect import METHOD as EFFECT_METHOD
from diary.reports.questionnaire_summary import PGIC_OPTIONS
from diary.schemas.common import (
    OPTIONAL,
    AsIs,
    DateText,
    Instant,
    InstantText,
    LocalDate,
    Note,
    Out,
    Strict,
    StrictInteger,
)

# Ten years of days: longer than any diary, short enough to bound the work.
MAX_PERIOD_DAYS = 3660


class ReportArgs(Strict):
    """``from``/``to`` of a report (inclusive local diary days); defaults follow the appointment rule."""

    from_ = LocalDate(
        data_key="from",
        load_default=None,
        metadata={
            "description": "First day; default: the last appointment before today, else 14 days before the first "
            "dose step (at most 180 days back), else 90 days back."
        },
    )
    to = LocalDate(
        load_default=None, metadata={"description": "Last day; default: today in the patient's zone."}
    )

    @ma.validates_schema
    def _ordered(self, data, **kwargs):
        start, end = data.get("from_"), data.get("to")
        if start and end and start > end:
            raise ma.ValidationError("Must not be before 'from'.", "to")
        if start and end and (end - start).days + 1 > MAX_PERIOD_DAYS:
            raise ma.ValidationError(f"A report covers at most {MAX_PERIOD_DAYS} days.", "from")


class SnapshotIn(ReportArgs):
    """Period of a new snapshot, optionally tied to an appointment."""

    appointment_id = StrictInteger(minimum=1, load_default=None, allow_none=True)


# -- the report: documentation only --------------------------------------------------------
# The views send the report dicts the analysis built (service.to_json) and never dump
# them through these schemas; they type the document for generated clients.
# Every key is sent by every report made now (tests/reports/test_report_document.py holds
# real reports to this document). Keys marked NEWER were added by a later analysis (issue
# 8): a snapshot is kept exactly as it was made, so one stored before them lacks them
# (StoredReportOut).

NEWER = {"newer": True}

CLASSIFICATIONS = (
    "substantial_improvement",
    "moderate_improvement",
    "minimal_improvement",
    "no_meaningful_change",
    "worsening",
    "insufficient_data",
)
DIRECTIONS = ("lower_is_better", "higher_is_better")
SEVERITY_NAMES = ("mild", "moderate", "severe")
EFFECT_STATUSES = ("active", "resolved")
FLAG_CODES = (
    "opioid_co_medication",
    *WORSENING_FLAGS,
    "low_adherence",
    "severe_side_effect",
    "sparse_diary",
)
_MG = {"description": "Milligrams (a number)."}


def _mg(**kwargs):
    return fields.Float(metadata=_MG, **kwargs)


def _per_measure(name, schema_of):
    """A schema with one key per diary measure, each holding the schema ``schema_of(measure)``."""
    return Out.from_dict({m: fields.Nested(schema_of(m)) for m in MEASURES}, name=name)


class ReportPatientOut(Out):
    id = fields.String()
    display_name = fields.String()
    timezone = fields.String()


class PeriodOut(Out):
    from_ = DateText(data_key="from")
    to = DateText()
    days = fields.Integer()


class ReportStepOut(Out):
    start_date = DateText()
    dose_mg = _mg()


class ReportRegimenOut(Out):
    medication = fields.String(metadata={"description": "As the clinic wrote it."})
    substances = fields.List(
        fields.String(),
        metadata={
            **NEWER,
            "description": "What the medication resolves to in the vocabulary (diary/data/medications.json); "
            "empty when it matches nothing.",
        },
    )
    steps = fields.List(fields.Nested(ReportStepOut))


class ReportMedicationsOut(Out):
    unrecognised = fields.List(
        fields.String(),
        metadata={
            "description": "Names as written (the regimen, other medications, doses) that match nothing "
            "in the medication vocabulary, so no check could be made on them."
        },
    )


class CompletenessOut(Out):
    days_logged = fields.Integer()
    days_in_period = fields.Integer()
    fraction = fields.Float()
    longest_gap_days = fields.Integer()


class PointOut(Out):
    date = DateText()
    value = fields.Float()


class WeekOut(Out):
    week_start = DateText(metadata={"description": "The Monday of the ISO week."})
    n = fields.Integer()
    mean = fields.Float(allow_none=True)
    min = fields.Float(allow_none=True)
    max = fields.Float(allow_none=True)


class MeasureSummaryOut(Out):
    direction = fields.String(
        allow_none=True,
        validate=validate.OneOf(DIRECTIONS),
        metadata={"description": "Which way is better; null for a measure with no good direction."},
    )
    n = fields.Integer()
    mean = fields.Float(allow_none=True)
    median = fields.Float(allow_none=True)
    min = fields.Float(allow_none=True)
    max = fields.Float(allow_none=True)
    weekly = fields.List(fields.Nested(WeekOut))


class MeasureOut(MeasureSummaryOut):
    daily = fields.List(fields.Nested(PointOut))
    rolling_7d = fields.List(fields.Nested(PointOut), metadata={"description": "Trailing 7-day means."})


MeasuresOut = _per_measure("MeasuresOut", lambda m: MeasureOut)
MeasureSummariesOut = _per_measure("MeasureSummariesOut", lambda m: MeasureSummaryOut)


class BaselineWindowOut(Out):
    from_ = DateText(data_key="from", allow_none=True)
    to = DateText(allow_none=True)
    source = fields.String(validate=validate.OneOf(("pre_treatment", "first_days")))


class CurrentWindowOut(Out):
    from_ = DateText(data_key="from")
    to = DateText()
    mixed_steps = fields.List(
        fields.Float(),
        metadata={
            **OPTIONAL,
            "description": "Sent only when more than one dose was in force in the window: each dose_mg "
            "in order (0 for days before the first step).",
        },
    )


class EffectOut(Out):
    """Treatment mean - baseline mean of a measure with its 95% interval (README: Treatment effect).

    With fewer than 7 logged days on either side ``insufficient_data`` is true and
    every figure but the day counts is null.
    """

    insufficient_data = fields.Boolean()
    estimate = fields.Float(allow_none=True, metadata={"description": "In the measure's units."})
    ci_low = fields.Float(allow_none=True)
    ci_high = fields.Float(allow_none=True)
    method = fields.String(allow_none=True, validate=validate.OneOf((EFFECT_METHOD,)))
    n_baseline_days = fields.Integer()
    n_treatment_days = fields.Integer()
    autocorrelation = fields.Float(
        allow_none=True, metadata={"description": "The lag-1 autocorrelation the interval used."}
    )
    meaningful = fields.Boolean(
        allow_none=True,
        metadata={
            "description": "The whole interval lies beyond the meaningful change (30% of the baseline, "
            "or 2 points for pain) in the good direction; null without a direction or an estimate."
        },
    )


_EFFECT = {**NEWER, "description": "Baseline -> treatment estimate with its 95% interval."}


class ChangeOut(Out):
    """The change of a measure with no good direction (sleep hours): never classified."""

    baseline_mean = fields.Float(allow_none=True)
    current_mean = fields.Float(allow_none=True)
    change = fields.Float(allow_none=True)
    percent_change = fields.Float(allow_none=True)
    effect = fields.Nested(EffectOut, metadata=_EFFECT)


class DirectedChangeOut(ChangeOut):
    """The change of a measure with a good direction, classified in that direction."""

    classification = fields.String(validate=validate.OneOf(CLASSIFICATIONS), metadata=NEWER)
    two_point_change = fields.Boolean(
        allow_none=True,
        metadata={
            **NEWER,
            "description": "At least 2 points better (Farrar 2001); null when not classified.",
        },
    )


ChangesByMeasureOut = _per_measure(
    "ChangesByMeasureOut", lambda m: DirectedChangeOut if m in DIRECTED else ChangeOut
)


class BaselineComparisonOut(Out):
    baseline = fields.Nested(BaselineWindowOut)
    current = fields.Nested(CurrentWindowOut)
    measures = fields.Nested(ChangesByMeasureOut)
    comparable = fields.Boolean(metadata=NEWER)
    reason = fields.String(
        allow_none=True,
        validate=validate.OneOf(("windows_overlap", "too_few_days")),
        metadata={**NEWER, "description": "Why the windows cannot be compared; null when they can."},
    )


class AdherenceOut(Out):
    planned_days = fields.Integer()
    taken_days = fields.Integer()
    fraction = fields.Float(allow_none=True)
    longest_missed_streak = fields.Integer()
    on_plan_days = fields.Integer(metadata=NEWER)
    off_plan_days = fields.Integer(metadata=NEWER)
    extra_dose_days = fields.Integer(metadata=NEWER)
    skipped_days = fields.Integer(metadata=NEWER)
    unrecorded_days = fields.Integer(metadata=NEWER)
    recorded_fraction = fields.Float(allow_none=True, metadata=NEWER)


EffectsByMeasureOut = _per_measure("EffectsByMeasureOut", lambda m: EffectOut)


class LevelOut(Out):
    dose_mg = _mg()
    from_ = DateText(data_key="from")
    to = DateText()
    days = fields.Integer()
    days_excluded = fields.Integer()
    pain_mean = fields.Float(allow_none=True)
    pain_median = fields.Float(allow_none=True)
    sleep_quality_mean = fields.Float(allow_none=True)
    fatigue_mean = fields.Float(allow_none=True)
    n_days = fields.Integer(metadata=NEWER)
    insufficient_data = fields.Boolean(metadata=NEWER)
    effect = fields.Nested(
        EffectsByMeasureOut,
        metadata={**NEWER, "description": "Pre-treatment baseline -> this level, by measure."},
    )


class ReportDosesOut(Out):
    adherence = fields.Nested(AdherenceOut)
    levels = fields.List(fields.Nested(LevelOut))


class EpisodeOut(Out):
    start = DateText()
    end = DateText()
    days_reported = fields.Integer()
    max_severity = fields.String(allow_none=True, validate=validate.OneOf(SEVERITY_NAMES))
    dose_mg_at_onset = _mg(allow_none=True)
    onset_days_after_step = fields.Integer(allow_none=True)
    status = fields.String(validate=validate.OneOf(EFFECT_STATUSES))


class SideEffectSummaryOut(Out):
    days_reported = fields.Integer()
    first_date = DateText()
    last_date = DateText()
    max_severity = fields.String(allow_none=True, validate=validate.OneOf(SEVERITY_NAMES))
    onset_days_after_dose_change = fields.Integer(allow_none=True)
    status = fields.String(validate=validate.OneOf(EFFECT_STATUSES))
    episodes = fields.List(fields.Nested(EpisodeOut), metadata=NEWER)
    present_at_baseline = fields.Boolean(
        allow_none=True,
        metadata={
            **NEWER,
            "description": "Reported before the first step; null when nothing was logged then.",
        },
    )


class PegPointOut(Out):
    date = DateText()
    score = fields.Float()


class PegSummaryOut(Out):
    """PEG (Krebs et al. 2009): complete scores of the period and the change from baseline."""

    series = fields.List(fields.Nested(PegPointOut))
    baseline_score = fields.Float(
        allow_none=True,
        metadata={
            "description": "The last PEG in the 28 days before the first step, else the period's first."
        },
    )
    baseline_date = DateText(allow_none=True)
    current_score = fields.Float(allow_none=True, metadata={"description": "The period's last PEG."})
    current_date = DateText(allow_none=True)
    change = fields.Float(allow_none=True)
    percent_change = fields.Float(allow_none=True)
    meaningful = fields.Boolean(
        allow_none=True,
        metadata={
            "description": "A fall of at least 30% (IMMPACT, Dworkin et al. 2008); null without a change."
        },
    )


PgicCountsOut = Out.from_dict({name: fields.Integer() for _, name in PGIC_OPTIONS}, name="PgicCountsOut")


class PgicSummaryOut(Out):
    latest = fields.Integer(
        allow_none=True, metadata={"description": "1 very much improved ... 7 very much worse."}
    )
    latest_text = fields.String(allow_none=True, validate=validate.OneOf([n for _, n in PGIC_OPTIONS]))
    latest_date = DateText(allow_none=True)
    counts = fields.Nested(PgicCountsOut, metadata={"description": "Answers of the period by option."})
    responder = fields.Boolean(
        allow_none=True,
        metadata={"description": "The latest answer is much improved or better (IMMPACT); null when none."},
    )


class QuestionnairesSummaryOut(Out):
    peg = fields.Nested(PegSummaryOut)
    pgic = fields.Nested(PgicSummaryOut)


class FlagOut(Out):
    code = fields.String(
        metadata={
            "description": "A stable code; new codes may be added, so treat an unknown one as a "
            "flag to show. Known: " + ", ".join(FLAG_CODES) + "."
        }
    )
    message = fields.String(metadata={"description": "For the clinician to read."})


_SIDE_EFFECTS = {"description": "By side-effect name (an `other` one by its note)."}


class PatientReportOut(Out):
    """The patient's own summary: the report without daily series and without clinician flags."""

    period = fields.Nested(PeriodOut)
    regimen = fields.Nested(ReportRegimenOut, allow_none=True)
    completeness = fields.Nested(CompletenessOut)
    measures = fields.Nested(MeasureSummariesOut)
    baseline_comparison = fields.Nested(BaselineComparisonOut)
    doses = fields.Nested(ReportDosesOut)
    side_effects = fields.Dict(
        keys=fields.String(), values=fields.Nested(SideEffectSummaryOut), metadata=_SIDE_EFFECTS
    )


class ReportOut(PatientReportOut):
    """The trend report of one patient over a period (README: Reports)."""

    patient = fields.Nested(ReportPatientOut)
    medications = fields.Nested(ReportMedicationsOut, metadata=NEWER)
    measures = fields.Nested(MeasuresOut)
    questionnaires = fields.Nested(QuestionnairesSummaryOut, metadata=NEWER)
    flags = fields.List(fields.Nested(FlagOut))


def _as_stored(schema, made=None):
    """Return ``schema`` with its NEWER keys optional, nested schemas too; itself when it has none."""
    made = {} if made is None else made
    if schema not in made:
        declared, changed = {}, False
        for name, field in schema._declared_fields.items():
            clone = _field_as_stored(field, made)
            changed = changed or clone is not field
            declared[name] = clone
        made[schema] = Out.from_dict(declared, name="Stored" + schema.__name__) if changed else schema
    return made[schema]


def _field_as_stored(field, made):
    inner = {"nested": fields.Nested, "inner": fields.List, "value_field": fields.Dict}
    clone = field
    for attr, kind in inner.items():
        if isinstance(field, kind) and getattr(field, attr) is not None:
            part = getattr(field, attr)
            new = _as_stored(part, made) if attr == "nested" else _field_as_stored(part, made)
            if new is not part:
                clone = copy.copy(field)
                setattr(clone, attr, new)
    if field.metadata.get("newer"):
        clone = copy.copy(clone)
        clone.metadata = {**field.metadata, **OPTIONAL}
    return clone


# A snapshot's report, as the release that made it built it: the NEWER keys may be missing.
StoredReportOut = _as_stored(ReportOut)


class FhirResourceOut(Out):
    """A FHIR R4 resource (Patient, Observation, MedicationAdministration); validate with a FHIR library."""

    class Meta:
        unknown = ma.INCLUDE

    resourceType = fields.String()
    id = fields.String()


class FhirEntryOut(Out):
    fullUrl = fields.String()
    resource = fields.Nested(FhirResourceOut)


class FhirBundleOut(Out):
    """A FHIR R4 Bundle of type collection: the patient, their daily observations and doses."""

    resourceType = fields.String(validate=validate.OneOf(("Bundle",)))
    id = fields.String()
    type = fields.String(validate=validate.OneOf(("collection",)))
    timestamp = InstantText()
    entry = fields.List(fields.Nested(FhirEntryOut))


class AppointmentIn(Strict):
    starts_at = Instant(required=True, metadata={"description": "Aware start time of the visit."})
    note = Note(load_default=None, allow_none=True, validate=validate.Length(max=500))


class AppointmentOut(Out):
    id = fields.Integer()
    starts_at = InstantText()
    note = fields.String(allow_none=True)
    created_by = fields.Integer(allow_none=True)
    created_at = InstantText()
    snapshot_id = fields.String(allow_none=True)


class AppointmentListOut(Out):
    appointments = fields.List(fields.Nested(AppointmentOut))


class SnapshotSummaryOut(Out):
    id = fields.String()
    patient_id = fields.String()
    created_at = InstantText()
    created_by = fields.Integer(allow_none=True)
    appointment_id = fields.Integer(allow_none=True)
    period_from = DateText()
    period_to = DateText()


class SnapshotOut(SnapshotSummaryOut):
    report = AsIs(
        StoredReportOut,
        metadata={"description": "The report exactly as stored at creation (by the release of that day)."},
    )


class SnapshotListOut(Out):
    snapshots = fields.List(fields.Nested(SnapshotSummaryOut))


class AuditRowOut(Out):
    id = fields.Integer()
    at = InstantText()
    actor_kind = fields.String(validate=validate.OneOf(("clinician", "patient")))
    actor_id = fields.String()
    action = fields.String()
    patient_id = fields.String(allow_none=True)
    remote_addr = fields.String(allow_none=True)


class AuditListOut(Out):
    audit = fields.List(fields.Nested(AuditRowOut))
