"""Render a report as a FHIR R4 Bundle (type ``collection``).

Contents: one ``Patient``; one ``Observation`` per measure per logged day
(status ``final``, category ``survey``, effective on the local diary day);
one ``MedicationAdministration`` per taken dose (status ``completed``, the
medication as text, the dose as a UCUM ``mg`` quantity).

Codes: LOINC 72514-3 "Pain severity - 0-10 verbal numeric rating [Score] -
Reported" for average pain, LOINC 93832-4 "Sleep duration" in UCUM hours.
The other measures have no LOINC code for a single 0-10 self-rating, so they
use this service's local code system ``LOCAL_MEASURE_SYSTEM`` (a fixed
``urn:uuid`` so it needs no domain of ours), whose codes are the API field
names: ``pain_worst`` (worst pain today, 0 none - 10 worst), ``fatigue``
(0 none - 10 exhausted), ``mood`` (0 very low - 10 very good),
``sleep_quality`` (0 very poor - 10 very good), ``function`` (daily function,
0 unable - 10 fully able). Scores carry the UCUM annotation unit ``{score}``.
References between entries use ``urn:uuid`` full URLs derived from stable ids,
so the same data always gives the same bundle.
"""

import uuid

from diary.units import ug_to_mg

FHIR_MIMETYPE = "application/fhir+json"
CATEGORY_SYSTEM = "http://terminology.hl7.org/CodeSystem/observation-category"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
LOCAL_MEASURE_SYSTEM = "urn:uuid:5b0f2f8e-7c2a-4d7e-9a51-3f0c1d2e9b64"
# Identifier system of this service's patient ids (Patient.identifier).
PATIENT_ID_SYSTEM = "urn:uuid:ecbe440a-2b86-4cb5-942a-83c318c493d2"
# Namespace for deterministic resource ids (uuid5 of patient id, day, measure).
ID_NAMESPACE = uuid.UUID("0d9b6a3c-41f7-4e7b-8f0e-6a2f4c8d1e20")

MEASURE_CODES = {
    "pain": (LOINC, "72514-3", "Pain severity - 0-10 verbal numeric rating [Score] - Reported"),
    "sleep_hours": (LOINC, "93832-4", "Sleep duration"),
    "pain_worst": (LOCAL_MEASURE_SYSTEM, "pain_worst", "Worst pain today (0-10)"),
    "fatigue": (LOCAL_MEASURE_SYSTEM, "fatigue", "Fatigue (0-10)"),
    "mood": (LOCAL_MEASURE_SYSTEM, "mood", "Mood (0-10)"),
    "sleep_quality": (LOCAL_MEASURE_SYSTEM, "sleep_quality", "Sleep quality (0-10)"),
    "function": (LOCAL_MEASURE_SYSTEM, "function", "Daily function (0-10)"),
}
SURVEY = {"coding": [{"system": CATEGORY_SYSTEM, "code": "survey", "display": "Survey"}]}


def _id(*parts):
    return str(uuid.uuid5(ID_NAMESPACE, "|".join(str(p) for p in parts)))


def _quantity(measure, value):
    if measure == "sleep_hours":
        return {"value": value, "unit": "h", "system": UCUM, "code": "h"}
    return {"value": value, "unit": "{score}", "system": UCUM, "code": "{score}"}


def render_bundle(report, doses, generated_at_text=None):
    """Return the FHIR R4 collection Bundle (plain dicts) of a report and the period's doses."""
    patient = report["patient"]
    patient_id = _id("patient", patient["id"])
    subject = {"reference": "urn:uuid:" + patient_id}
    entries = [
        {
            "fullUrl": "urn:uuid:" + patient_id,
            "resource": {
                "resourceType": "Patient",
                "id": patient_id,
                "identifier": [{"system": PATIENT_ID_SYSTEM, "value": patient["id"]}],
                "name": [{"text": patient["display_name"]}],
            },
        }
    ]
    for measure, (system, code, display) in MEASURE_CODES.items():
        concept = {"coding": [{"system": system, "code": code, "display": display}], "text": display}
        for point in report["measures"][measure]["daily"]:
            rid = _id(patient["id"], measure, point["date"])
            entries.append(
                {
                    "fullUrl": "urn:uuid:" + rid,
                    "resource": {
                        "resourceType": "Observation",
                        "id": rid,
                        "status": "final",
                        "category": [SURVEY],
                        "code": concept,
                        "subject": subject,
                        "effectiveDateTime": point["date"],
                        "valueQuantity": _quantity(measure, point["value"]),
                    },
                }
            )
    for dose in doses:
        if dose["status"] != "taken":
            continue
        rid = _id(patient["id"], "dose", dose["id"])
        mg = ug_to_mg(dose["amount_ug"])
        entries.append(
            {
                "fullUrl": "urn:uuid:" + rid,
                "resource": {
                    "resourceType": "MedicationAdministration",
                    "id": rid,
                    "status": "completed",
                    "medicationCodeableConcept": {"text": dose["medication"]},
                    "subject": subject,
                    "effectiveDateTime": dose["taken_at"],
                    "dosage": {"dose": {"value": mg, "unit": "mg", "system": UCUM, "code": "mg"}},
                },
            }
        )
    bundle = {
        "resourceType": "Bundle",
        "id": _id("bundle", patient["id"], report["period"]["from"], report["period"]["to"]),
        "type": "collection",
        "entry": entries,
    }
    if generated_at_text:
        bundle["timestamp"] = generated_at_text
    return bundle
