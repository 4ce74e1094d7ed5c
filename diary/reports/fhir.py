"""Render a report as a FHIR R4 Bundle (type ``collection``).

Contents:
- one ``Patient``, identified by this service's id and, when the clinic set
  one, its ``external_ref`` (type MR, medical record number);
- one ``Observation`` per measure per logged day and one per side effect per
  day it was reported: status ``final``, category ``survey``, ``performer``
  the Patient (patient-reported), ``issued`` when the server stored that
  version of the day, and ``effectivePeriod`` the whole local diary day with
  the patient's UTC offset at its start and end;
- one ``MedicationAdministration`` per dose counted in the period: a taken
  dose is ``completed`` with the dose as a UCUM ``mg`` quantity, a skipped one
  ``not-done`` with a status reason. The medication keeps the text as written
  and, when it resolves to a single substance with an RxNorm ingredient code
  (``diary/data/medications.json``), that coding (naltrexone: 7243).

- one ``Questionnaire`` per instrument answered in the period, at its canonical URL
  (``diary/data/questionnaires``), and one ``QuestionnaireResponse`` per answered
  questionnaire (``in-progress`` when an item the score needs is unanswered).

Codes: LOINC 72514-3 "Pain severity - 0-10 verbal numeric rating [Score] -
Reported" for average pain, LOINC 93832-4 "Sleep duration" in UCUM hours.
The other measures have no LOINC code for a single 0-10 self-rating, so they
use this service's local code system ``LOCAL_MEASURE_SYSTEM`` (a fixed
``urn:uuid`` so it needs no domain of ours), whose codes are the API field
names (scales in ``diary/measures.py``). Scores carry the UCUM annotation unit
``{score}``. Side effects use the local code system ``LOCAL_SIDE_EFFECT_SYSTEM``
whose codes are the API's side-effect names (an ``other`` one carries its note
as the text); the severity is the value, coded with SNOMED CT's severity
qualifiers. References between entries use ``urn:uuid`` full URLs derived
from stable ids, so the same data always gives the same bundle.
"""

import uuid
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from diary import measures, medications, questionnaires
from diary.units import ug_to_mg

FHIR_MIMETYPE = "application/fhir+json"
CATEGORY_SYSTEM = "http://terminology.hl7.org/CodeSystem/observation-category"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
SNOMED = "http://snomed.info/sct"
V2_IDENTIFIER_TYPE = "http://terminology.hl7.org/CodeSystem/v2-0203"
LOCAL_MEASURE_SYSTEM = "urn:uuid:5b0f2f8e-7c2a-4d7e-9a51-3f0c1d2e9b64"
LOCAL_SIDE_EFFECT_SYSTEM = "urn:uuid:054dfe07-3f0c-4b70-ab55-33a579055b30"
# Identifier system of this service's patient ids (Patient.identifier).
PATIENT_ID_SYSTEM = "urn:uuid:ecbe440a-2b86-4cb5-942a-83c318c493d2"
# Identifier system of the clinic's own reference for a patient (external_ref).
EXTERNAL_REF_SYSTEM = "urn:uuid:30a68544-d6a5-4dfb-aaaa-c29fedbae8b1"
# Namespace for deterministic resource ids (uuid5 of patient id, day, measure).
ID_NAMESPACE = uuid.UUID("0d9b6a3c-41f7-4e7b-8f0e-6a2f4c8d1e20")

MEASURE_CODES = {
    "pain": (LOINC, "72514-3", "Pain severity - 0-10 verbal numeric rating [Score] - Reported"),
    "sleep_hours": (LOINC, "93832-4", "Sleep duration"),
    **{
        m.name: (LOCAL_MEASURE_SYSTEM, m.name, f"{m.label} ({m.minimum}-{m.maximum})")
        for m in measures.ALL
        if m.name not in ("pain", "sleep_hours")
    },
}
# SNOMED CT severity qualifiers (the FHIR condition-severity value set).
SEVERITY_CODES = {"mild": "255604002", "moderate": "6736007", "severe": "24484000"}
SURVEY = {"coding": [{"system": CATEGORY_SYSTEM, "code": "survey", "display": "Survey"}]}
SKIPPED_REASON = {"text": "Skipped by the patient (logged as skipped in the diary)"}


def _id(*parts):
    return str(uuid.uuid5(ID_NAMESPACE, "|".join(str(p) for p in parts)))


def _quantity(measure, value):
    if measure == "sleep_hours":
        return {"value": value, "unit": "h", "system": UCUM, "code": "h"}
    return {"value": value, "unit": "{score}", "system": UCUM, "code": "{score}"}


def _day_period(day_text, zone):
    day = date.fromisoformat(day_text)
    return {
        "start": datetime.combine(day, time(0, 0), tzinfo=zone).isoformat(),
        "end": datetime.combine(day, time(23, 59, 59), tzinfo=zone).isoformat(),
    }


def _medication(text):
    resolved = medications.resolve(text)
    concept = {"text": text}
    codings = medications.rxnorm_codings(resolved)
    # A coding stands for the whole medication, so only a single-substance one is coded.
    if len(resolved.substances) == 1 and codings:
        concept["coding"] = codings
    return concept


def _patient(patient, patient_id, external_ref):
    identifiers = [{"system": PATIENT_ID_SYSTEM, "value": patient["id"]}]
    if external_ref:
        identifiers.append(
            {
                "use": "usual",
                "type": {
                    "coding": [
                        {"system": V2_IDENTIFIER_TYPE, "code": "MR", "display": "Medical record number"}
                    ]
                },
                "system": EXTERNAL_REF_SYSTEM,
                "value": external_ref,
            }
        )
    return {
        "fullUrl": "urn:uuid:" + patient_id,
        "resource": {
            "resourceType": "Patient",
            "id": patient_id,
            "identifier": identifiers,
            "name": [{"text": patient["display_name"]}],
        },
    }


def questionnaire(ident):
    """Return the FHIR ``Questionnaire`` of an instrument, at its canonical URL (diary/data/questionnaires)."""
    instrument = questionnaires.INSTRUMENTS[ident]
    system = instrument["local_code_system"]
    items = []
    for item in instrument["items"]:
        out = {
            "linkId": item["id"],
            "code": [{"system": system, "code": item["id"]}],
            "text": item["text"],
            "type": item["type"],
            "required": True,
        }
        if item["type"] == "choice":
            out["answerOption"] = [
                {
                    "valueCoding": {
                        "system": system,
                        "code": f"{item['id']}-{o['value']}",
                        "display": o["text"],
                    }
                }
                for o in item["options"]
            ]
        items.append(out)
    if instrument["scoring"]["method"] == "mean":
        score = {"linkId": f"{ident}_score", "text": "Score", "type": "decimal", "readOnly": True}
        if instrument.get("code"):
            code = instrument["code"]
            score["code"] = [{"system": code["system"], "code": code["code"], "display": code["display"]}]
        items.append(score)
    resource = {
        "resourceType": "Questionnaire",
        "id": _id("questionnaire", ident),
        "url": instrument["url"],
        "version": instrument["version"],
        "name": ident.upper(),
        "title": instrument["title"],
        "status": "active",
        "subjectType": ["Patient"],
        "copyright": instrument["licence"],
        "description": instrument["citation"],
        "item": items,
    }
    if instrument.get("code"):
        code = instrument["code"]
        resource["code"] = [{"system": code["system"], "code": code["code"], "display": code["display"]}]
    return resource


def _questionnaire_response(response, patient_id, subject):
    ident = response["instrument"]
    instrument = questionnaires.INSTRUMENTS[ident]
    system = instrument["local_code_system"]
    items = []
    for item in instrument["items"]:
        value = response["answers"].get(item["id"])
        if value is None:
            continue
        if item["type"] == "choice":
            text = next(o["text"] for o in item["options"] if o["value"] == value)
            answer = {"valueCoding": {"system": system, "code": f"{item['id']}-{value}", "display": text}}
        else:
            answer = {"valueInteger": value}
        items.append({"linkId": item["id"], "text": item["text"], "answer": [answer]})
    if instrument["scoring"]["method"] == "mean" and response["score"] is not None:
        items.append({"linkId": f"{ident}_score", "answer": [{"valueDecimal": response["score"]}]})
    rid = _id(patient_id, "questionnaire_response", ident, response["date"])
    resource = {
        "resourceType": "QuestionnaireResponse",
        "id": rid,
        "questionnaire": instrument["url"],
        # Incomplete (an item the score needs is unanswered): in-progress, as FHIR defines it.
        "status": "completed" if response["score"] is not None else "in-progress",
        "subject": subject,
        "authored": response["recorded_at"],
        "author": subject,
        "source": subject,
        "item": items,
    }
    return {"fullUrl": "urn:uuid:" + rid, "resource": resource}


def render_bundle(
    report, doses, days=(), generated_at_text=None, external_ref=None, issued=None, responses=()
):
    """Return the FHIR R4 collection Bundle (plain dicts) of a report, its doses and its per-day rows.

    ``issued`` maps a diary day to when its stored version was written;
    ``generated_at_text`` stands in for days it does not name. ``responses``: the
    period's answered questionnaires (one ``QuestionnaireResponse`` each, with the
    ``Questionnaire`` of each instrument answered).
    """
    patient = report["patient"]
    zone = ZoneInfo(patient["timezone"])
    issued = issued or {}
    patient_id = _id("patient", patient["id"])
    subject = {"reference": "urn:uuid:" + patient_id}
    entries = [_patient(patient, patient_id, external_ref)]

    def observation(rid, concept, day, value):
        resource = {
            "resourceType": "Observation",
            "id": rid,
            "status": "final",
            "category": [SURVEY],
            "code": concept,
            "subject": subject,
            "effectivePeriod": _day_period(day, zone),
            "performer": [subject],
        }
        when = issued.get(day) or generated_at_text
        if when:
            resource["issued"] = when
        resource.update(value)
        return {"fullUrl": "urn:uuid:" + rid, "resource": resource}

    for measure, (system, code, display) in MEASURE_CODES.items():
        concept = {"coding": [{"system": system, "code": code, "display": display}], "text": display}
        for point in report["measures"][measure]["daily"]:
            rid = _id(patient["id"], measure, point["date"])
            entries.append(
                observation(
                    rid, concept, point["date"], {"valueQuantity": _quantity(measure, point["value"])}
                )
            )
    for day in days:
        for effect in day["side_effects"]:
            name = effect["name"]
            code = "other" if name.startswith("other") else name
            concept = {
                "coding": [
                    {"system": LOCAL_SIDE_EFFECT_SYSTEM, "code": code, "display": code.replace("_", " ")}
                ],
                "text": name,
            }
            severity = effect.get("severity")
            value = {"text": severity}
            if severity in SEVERITY_CODES:
                value["coding"] = [
                    {"system": SNOMED, "code": SEVERITY_CODES[severity], "display": severity.capitalize()}
                ]
            rid = _id(patient["id"], "side_effect", name, day["date"])
            entries.append(observation(rid, concept, day["date"], {"valueCodeableConcept": value}))
    for dose in doses:
        rid = _id(patient["id"], "dose", dose["id"])
        resource = {
            "resourceType": "MedicationAdministration",
            "id": rid,
            "status": "completed" if dose["status"] == "taken" else "not-done",
            "medicationCodeableConcept": _medication(dose["medication"]),
            "subject": subject,
            "effectiveDateTime": dose["taken_at"],
        }
        if dose["status"] == "taken":
            mg = ug_to_mg(dose["amount_ug"])
            resource["dosage"] = {"dose": {"value": mg, "unit": "mg", "system": UCUM, "code": "mg"}}
        else:
            resource["statusReason"] = [SKIPPED_REASON]
        entries.append({"fullUrl": "urn:uuid:" + rid, "resource": resource})
    answered = [r for r in responses if r["answers"]]
    for ident in questionnaires.IDS:
        if any(r["instrument"] == ident for r in answered):
            resource = questionnaire(ident)
            entries.append({"fullUrl": resource["url"], "resource": resource})
    entries.extend(_questionnaire_response(r, patient["id"], subject) for r in answered)
    bundle = {
        "resourceType": "Bundle",
        "id": _id("bundle", patient["id"], report["period"]["from"], report["period"]["to"]),
        "type": "collection",
        "entry": entries,
    }
    if generated_at_text:
        bundle["timestamp"] = generated_at_text
    return bundle
