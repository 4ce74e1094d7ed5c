"""The medication vocabulary: real-world spellings resolve to substances; the opioid screen."""

import json

import pytest

from diary import medications

# Spellings patients and clinicians really type, each of which holds an opioid.
MUST_FLAG = [
    ("Tramadol 50mg", "tramadol"),
    ("tramadol50mg", "tramadol"),
    ("TRAMADOL HCL 50 MG CAPS", "tramadol"),
    ("Ultram", "tramadol"),
    ("Zydol SR 100", "tramadol"),
    ("Tramacet", "tramadol"),
    ("Tramal retard", "tramadol"),
    ("трамадол 50 мг", "tramadol"),
    ("Codéine", "codeine"),
    ("codeine phosphate 30mg", "codeine"),
    ("Kodein", "codeine"),
    ("codeína", "codeine"),
    ("co-codamol 30/500", "codeine"),
    ("Co codamol 8/500 effervescent", "codeine"),
    ("cocodamol", "codeine"),
    ("Tylenol #3", "codeine"),
    ("Tylenol No. 3", "codeine"),
    ("Tylenol with codeine", "codeine"),
    ("Nurofen Plus", "codeine"),
    ("Solpadeine Max", "codeine"),
    ("Dafalgan codéine", "codeine"),
    ("Codoliprane", "codeine"),
    ("Migraleve pink", "codeine"),
    ("Robitussin AC", "codeine"),
    ("promethazine with codeine syrup", "codeine"),
    ("codeine linctus", "codeine"),
    ("sugar-free codeine linctus", "codeine"),
    ("Paracetamol 500mg, codeine 30mg", "codeine"),
    ("oxycodone/APAP 5/325", "oxycodone"),
    ("Oxycodone 5mg", "oxycodone"),
    ("OxyContin 10mg", "oxycodone"),
    ("Oxynorm liquid", "oxycodone"),
    ("Percocet", "oxycodone"),
    ("Targin 10/5", "oxycodone"),
    ("oxicodona", "oxycodone"),
    ("Vicodin", "hydrocodone"),
    ("Norco 10/325", "hydrocodone"),
    ("hydrocodone bitartrate", "hydrocodone"),
    ("Tussionex", "hydrocodone"),
    ("Morphine sulfate 10mg", "morphine"),
    ("MST Continus 15mg", "morphine"),
    ("Oramorph 10mg/5ml", "morphine"),
    ("morfina", "morphine"),
    ("Fentanyl 25mcg/hr patch", "fentanyl"),
    ("Durogesic", "fentanyl"),
    ("Hydromorphone 2 mg", "hydromorphone"),
    ("Dilaudid", "hydromorphone"),
    ("Buprenorphine patch 5mcg", "buprenorphine"),
    ("Butrans 10", "buprenorphine"),
    ("Suboxone 8/2 film", "buprenorphine"),
    ("Subutex", "buprenorphine"),
    ("Belbuca", "buprenorphine"),
    ("Sublocade injection", "buprenorphine"),
    ("buprenorfina", "buprenorphine"),
    ("Methadone 10mg", "methadone"),
    ("Physeptone", "methadone"),
    ("metadona", "methadone"),
    ("Tapentadol 50mg", "tapentadol"),
    ("Palexia SR", "tapentadol"),
    ("Nucynta", "tapentadol"),
    ("Kratom", "kratom"),
    ("kratom capsules (red vein)", "kratom"),
    ("DHC Continus 60mg", "dihydrocodeine"),
    ("co-dydramol 10/500", "dihydrocodeine"),
    ("Pethidine", "pethidine"),
    ("Demerol", "pethidine"),
    ("Tilidin", "tilidine"),
    ("Pholcodine linctus", "pholcodine"),
    ("Lomotil", "diphenoxylate"),
    ("opioid painkillers", "opioid (unspecified)"),
    ("Levorphanol", "levorphanol"),
]

# Names that must not be flagged: antagonists, loperamide and known look-alikes.
MUST_NOT_FLAG = [
    "LDN 4.5mg",
    "Low dose naltrexone",
    "Naltrexone 4,5 mg",
    "Naloxone",
    "Narcan nasal spray",
    "Loperamide 2mg",
    "Imodium",
    "codeine-free cough syrup",
    "non-codeine cough linctus",
    "Tylenol, 3 times daily",
    "Tylenol 3 times daily",
    "Solpadeine Headache",
    "Panadol Extra",
    "paracetamol/caffeine 500/65",
    "Anadin Extra",
    "Robitussin DM",
    "Dextromethorphan",
    "Noscapine",
    "Papaverine",
    "Oxymetazoline nasal spray",
    "Methylnaltrexone (Relistor)",
    "Amitriptyline 10mg",
    "Gabapentin 300mg",
    "Ibuprofen 400mg",
    "codeinex",
]


def test_there_are_enough_real_world_spellings():
    assert len(MUST_FLAG) >= 60
    assert len(MUST_NOT_FLAG) >= 15


@pytest.mark.parametrize("text, substance", MUST_FLAG)
def test_opioid_spellings_resolve_and_are_flagged(text, substance):
    resolved = medications.resolve(text)
    assert substance in resolved.substances
    assert medications.is_opioid(text)


@pytest.mark.parametrize("text", MUST_NOT_FLAG)
def test_non_opioids_and_look_alikes_are_not_flagged(text):
    assert not medications.is_opioid(text)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("LDN", {"naltrexone"}),
        ("4.5 mg LDN", {"naltrexone"}),
        ("Naltrexone 4.5mg", {"naltrexone"}),
        ("Revia", {"naltrexone"}),
        ("Contrave", {"naltrexone", "bupropion"}),
        ("oxycodone/APAP", {"oxycodone", "paracetamol"}),
        ("co-codamol 30/500", {"codeine", "paracetamol"}),
        ("Solpadeine Headache", {"paracetamol", "caffeine"}),
        ("Suboxone", {"buprenorphine", "naloxone"}),
        ("Tylenol, 3 times daily", {"paracetamol"}),
        ("Mystery pill", set()),
    ],
)
def test_resolution_to_substances(text, expected):
    assert medications.resolve(text).substances == frozenset(expected)


def test_same_medication_compares_substances_and_falls_back_to_words():
    assert medications.same_medication("Naltrexone", "LDN 4.5mg")
    assert medications.same_medication("low-dose naltrexone", "NALTREXONE")
    assert not medications.same_medication("naltrexone", "Contrave")
    assert medications.same_medication("Compound X", "compound  x")  # unrecognised: its own words
    assert not medications.same_medication("Compound X", "Compound Y")


def test_rxnorm_codes_where_known():
    assert medications.rxnorm_codings(medications.resolve("LDN")) == [
        {"system": medications.RXNORM_SYSTEM, "code": "7243", "display": "naltrexone"}
    ]
    assert medications.rxnorm_codings(medications.resolve("Mystery pill")) == []


def test_the_data_file_documents_its_sources_and_the_two_exceptions():
    data = json.loads(medications.DATA_FILE.read_text(encoding="utf-8"))
    assert data["sources"] and data["reviewed"]
    assert set(data["not_flagged"]) == {"loperamide", "naloxone"}
    by_name = {s["name"]: s for s in data["substances"]}
    assert by_name["loperamide"]["opioid"] is False and by_name["naloxone"]["opioid"] is False
    assert by_name["naltrexone"]["rxnorm"] == "7243"


def test_a_vocabulary_with_a_name_listed_twice_differently_is_refused():
    data = {
        "matching": {"negations_before": [], "negations_after": [], "count_words": []},
        "substances": [
            {"name": "a", "opioid": False, "kind": "x", "rxnorm": None, "atc": None, "names": ["same"]},
            {"name": "b", "opioid": True, "kind": "x", "rxnorm": None, "atc": None, "names": ["Same"]},
        ],
        "products": [],
    }
    with pytest.raises(ValueError):
        medications.build_vocabulary(data)
