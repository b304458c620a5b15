"""Which column holds which field: the headings people type are recognised, the admin confirms or corrects
them, and the CLP's mapping is offered again next time."""
from __future__ import annotations

import pytest

from server.services.imports import map_columns
from tests.imports.sheets import CAMPAIGN


def fields(mapping) -> dict[str, str]:
    """field -> the heading of the column chosen for it."""
    return {name: mapping.headings[column] for name, column in mapping.columns.items()}


@pytest.mark.parametrize("heading, field", [
    ("Elector No", "elector_number"), ("Elector Number", "elector_number"), ("PD/No", "elector_number"),
    ("Poll no.", "elector_number"), ("Roll number", "elector_number"), ("ENO", "elector_number"),
    ("PD", "polling_district"), ("Suffix", "suffix"),
    ("Name", "name"), ("Full name", "name"),
    ("Surname", "surname"), ("Last name", "surname"), ("Elector Surname", "surname"),
    ("First name", "forenames"), ("Forename(s)", "forenames"), ("Christian name", "forenames"),
    ("Address", "address"), ("Address line 2", "address2"),
    ("House No.", "house_number"), ("No", "house_number"), ("Flat", "flat"),
    ("Street", "street"), ("Road", "street"), ("Post Code", "postcode"), ("PC", "postcode"),
    ("Date", "date"), ("Date canvassed", "date"), ("Canvasser", "canvasser"), ("Volunteer", "canvasser"),
    ("Outcome", "outcome"), ("Result", "outcome"), ("Contact", "outcome"),
    ("VI", "intention"), ("Voting intention", "intention"), ("Party", "intention"),
    ("Strength", "strength"), ("Str", "strength"), ("Notes", "notes"), ("Comments", "notes"),
])
def test_the_headings_people_type_are_recognised(heading, field):
    mapping = map_columns([heading])
    assert fields(mapping) == {field: heading}
    assert mapping.choices[field].source == "heading" and mapping.choices[field].confidence >= 0.9


def test_a_typical_typed_up_sheet_maps_itself_and_can_be_read():
    headings = ["PD/No", "Name", "Address", "Postcode", "Date", "Canvasser", "Result", "VI", "Str", "Notes"]
    mapping = map_columns(headings, questions=CAMPAIGN.questions)
    assert fields(mapping) == {
        "elector_number": "PD/No", "name": "Name", "address": "Address", "postcode": "Postcode", "date": "Date",
        "canvasser": "Canvasser", "outcome": "Result", "intention": "VI", "strength": "Str", "notes": "Notes"}
    assert mapping.ok and not mapping.unmapped and not mapping.guesses()


def test_survey_answers_are_found_by_the_questions_key_or_by_words_of_the_question():
    headings = ["Elector No", "Result", "Postal vote?", "poster", "Likely to vote", "Most important issue"]
    mapping = map_columns(headings, questions=CAMPAIGN.questions)
    assert mapping.survey_columns == {"postal_vote": 2, "poster": 3, "likelihood": 4, "top_issue": 5}
    assert mapping.choices["survey:likelihood"].source == "survey"
    # found by words of the question, so the admin is asked to check them
    assert {c.field for c in mapping.guesses()} == {"survey:likelihood", "survey:top_issue"}


def test_a_misspelt_heading_is_proposed_as_a_guess_for_the_admin_to_check():
    mapping = map_columns(["Elector No", "Postcde", "Adress", "Outcome"])
    assert fields(mapping)["postcode"] == "Postcde" and fields(mapping)["address"] == "Adress"
    assert {c.field for c in mapping.guesses()} == {"postcode", "address"}
    assert all(c.source == "similar" and c.confidence < 0.9 for c in mapping.guesses())


def test_headings_nobody_recognises_are_listed_for_the_admin():
    mapping = map_columns(["Elector No", "Result", "Dog?", "", "Weather"])
    assert mapping.unmapped == [2, 4]


def test_two_columns_that_both_look_like_one_field_take_the_first_and_say_so():
    mapping = map_columns(["Elector No", "Voter ID", "Result"])
    assert mapping.columns["elector_number"] == 0
    assert mapping.unmapped == [1]
    assert any("'Voter ID'" in note and "Check which is right" in note for note in mapping.notes)


def test_the_admin_corrects_a_column_by_heading_or_by_position_and_can_say_a_field_is_absent():
    headings = ["Elector No", "Who", "Result", "Comments", "Notes"]
    proposed = map_columns(headings)
    assert fields(proposed)["canvasser"] == "Who" and fields(proposed)["notes"] == "Comments"
    corrected = map_columns(headings, corrections={"notes": "notes", "canvasser": None, "intention": 2,
                                                   "outcome": None})
    assert fields(corrected) == {"elector_number": "Elector No", "intention": "Result", "notes": "Notes"}
    assert corrected.choices["notes"].source == corrected.choices["intention"].source == "admin"
    assert corrected.ok


def test_a_correction_that_does_not_fit_the_sheet_is_a_problem_not_a_silent_change():
    mapping = map_columns(["Elector No", "Result"], corrections={"notes": "Remarks", "date": 1, "outcome": 1,
                                                                 "shoe_size": "Result"})
    assert mapping.problems == [
        "Notes is set to column 'Remarks', which this sheet does not have",
        "column B ('Result') is chosen for both Date and Outcome",
        "'shoe_size' is not a field that can be imported",
    ]
    assert not mapping.ok


def test_the_clps_saved_mapping_is_offered_again_and_the_admins_corrections_come_first():
    first = map_columns(["Elector No", "Box A", "Box B", "Remarks"],
                        corrections={"outcome": "Box A", "intention": "Box B"})
    saved = first.to_saved()
    assert saved == {"outcome": "Box A", "intention": "Box B", "elector_number": "Elector No", "notes": "Remarks"}

    # Next month's sheet from the same CLP: the same odd headings, in another order.
    again = map_columns(["Remarks", "box b", "Elector No", "Box A"], saved=saved)
    assert fields(again) == {"notes": "Remarks", "intention": "box b", "elector_number": "Elector No",
                             "outcome": "Box A"}
    assert again.choices["outcome"].source == again.choices["intention"].source == "saved"

    overridden = map_columns(["Remarks", "box b", "Elector No", "Box A"], saved=saved,
                             corrections={"outcome": "box b", "intention": "Box A"})
    assert fields(overridden)["outcome"] == "box b" and fields(overridden)["intention"] == "Box A"


def test_a_saved_choice_whose_heading_is_gone_is_passed_over_with_a_note():
    mapping = map_columns(["Elector No", "Result"], saved={"outcome": "Result", "notes": "Box C"})
    assert fields(mapping) == {"elector_number": "Elector No", "outcome": "Result"}
    assert mapping.notes == ["The saved mapping reads Notes from a column headed 'Box C', which this sheet does not "
                             "have."]


@pytest.mark.parametrize("headings, missing", [
    (["Surname", "Postcode", "Address", "VI"], []),
    (["Elector No", "Outcome"], []),
    (["Surname", "Postcode", "Outcome"], ["elector"]),
    (["Name", "House number", "Street", "Outcome"], ["elector"]),
    (["Elector No", "Notes"], ["result"]),
])
def test_a_sheet_must_say_who_each_row_is_about_and_what_happened(headings, missing):
    assert [m.code for m in map_columns(headings).missing] == missing
