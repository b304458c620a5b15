"""A sheet's own codes mapped onto the campaign's: the usual spellings are recognised, the CLP's choices are
remembered, and a code nothing explains is listed for the admin, never guessed."""
from __future__ import annotations

import pytest

from server.services.imports import BLANK, SKIP_ROW, CampaignCodes, CodeTarget, code_key, propose_codes
from tests.imports.sheets import CAMPAIGN


def column(*cells: str) -> list[tuple[int, str]]:
    """(line, cell) of a column whose rows start at spreadsheet row 2."""
    return list(enumerate(cells, 2))


def meaning(mapping, raw: str) -> dict | str | None:
    decision = mapping.decide(raw)
    return decision.as_dict() if isinstance(decision, CodeTarget) else decision


def test_a_sheet_typed_up_with_lab_l_and_labour_maps_all_three_onto_lab():
    mapping = propose_codes("intention", column("Lab", "L", "Labour", "lab", "L"), CAMPAIGN)
    assert mapping.ok
    assert {key: choice.decision for key, choice in mapping.choices.items()} == {
        "lab": CodeTarget(intention="LAB"), "l": CodeTarget(intention="LAB"), "labour": CodeTarget(intention="LAB")}
    assert mapping.choices["lab"].count == 2 and mapping.choices["l"].lines == (3, 6)
    assert mapping.choices["labour"].source == "campaign"  # the campaign's own label
    assert mapping.choices["l"].source == "synonym"  # a built-in spelling


@pytest.mark.parametrize("written", ["Con", "C", "Tory", "Conservative", "CONS"])
def test_the_usual_ways_of_writing_conservative_map_onto_con(written):
    assert meaning(propose_codes("intention", column(written), CAMPAIGN), written) == {"intention": "CON"}


@pytest.mark.parametrize("written", ["A", "Against", "✗", "x", "Against us"])
def test_against_written_as_a_letter_a_word_or_a_cross_maps_onto_against(written):
    assert meaning(propose_codes("intention", column(written), CAMPAIGN), written) == {"intention": "AGAINST"}


@pytest.mark.parametrize("written", ["NI", "Not in", "N/H", "not home", "Nobody in"])
def test_not_in_on_a_door_sheet_maps_onto_not_home(written):
    mapping = propose_codes("outcome", column(written), CAMPAIGN, channel="door")
    assert meaning(mapping, written) == {"outcome": "NOT_HOME"}


def test_no_answer_means_not_home_at_a_door_and_no_answer_on_a_phone():
    door = propose_codes("outcome", column("No answer"), CAMPAIGN, channel="door")
    phone = propose_codes("outcome", column("No answer"), CAMPAIGN, channel="phone")
    assert meaning(door, "No answer") == {"outcome": "NOT_HOME"}
    assert meaning(phone, "No answer") == {"outcome": "NO_ANSWER"}


def test_the_same_letters_mean_different_things_in_different_columns():
    assert meaning(propose_codes("intention", column("Ref"), CAMPAIGN), "Ref") == {"intention": "REF"}
    assert meaning(propose_codes("outcome", column("Ref"), CAMPAIGN), "Ref") == {"outcome": "REFUSED"}
    assert meaning(propose_codes("strength", column("L"), CAMPAIGN), "L") == {"strength": "LEANING"}
    assert meaning(propose_codes("intention", column("L"), CAMPAIGN), "L") == {"intention": "LAB"}


def test_one_result_box_holding_both_kinds_of_code_is_read_as_spoke_with_the_intention_or_the_outcome():
    mapping = propose_codes("outcome", column("L", "NI", "Con", "S"), CAMPAIGN, channel="door")
    assert meaning(mapping, "L") == {"outcome": "SPOKE", "intention": "LAB"}
    assert meaning(mapping, "Con") == {"outcome": "SPOKE", "intention": "CON"}
    assert meaning(mapping, "NI") == {"outcome": "NOT_HOME"}
    assert meaning(mapping, "S") == {"outcome": "SPOKE"}
    votes = propose_codes("intention", column("L", "NI", "Moved"), CAMPAIGN, channel="door")
    assert meaning(votes, "NI") == {"outcome": "NOT_HOME"}
    assert meaning(votes, "Moved") == {"outcome": "MOVED"}


def test_strengths_are_read_from_words_and_letters():
    mapping = propose_codes("strength", column("S", "Strong", "Leaning", "Soft", "W"), CAMPAIGN)
    assert [meaning(mapping, raw) for raw in ("S", "Strong", "Leaning", "Soft", "W")] == [
        {"strength": "STRONG"}, {"strength": "STRONG"}, {"strength": "LEANING"}, {"strength": "SOFT"},
        {"strength": "SOFT"}]


def test_an_unknown_code_is_listed_with_its_count_and_rows_and_never_guessed():
    mapping = propose_codes("outcome", column("S", "Z", "NI", "Z", "Poss", "z"), CAMPAIGN, channel="door")
    assert not mapping.ok
    assert [(u.token, u.key, u.count, u.lines) for u in mapping.unknown] == [("Z", "z", 3, (3, 5, 7)),
                                                                             ("Poss", "poss", 1, (6,))]
    assert mapping.decide("Z") is None
    assert "z" not in mapping.choices


def test_the_admin_maps_or_skips_an_unknown_code_and_blank_looking_cells_are_empty():
    corrections = {"Z": {"outcome": "SPOKE", "intention": "UNDECIDED"}, "Poss": SKIP_ROW, "?": BLANK}
    mapping = propose_codes("outcome", column("S", "Z", "Poss", "?", "-", ""), CAMPAIGN, channel="door",
                            corrections=corrections)
    assert mapping.ok
    assert meaning(mapping, "z") == {"outcome": "SPOKE", "intention": "UNDECIDED"}
    assert mapping.decide("Poss") == SKIP_ROW
    assert mapping.decide("?") == BLANK and mapping.decide("-") == BLANK and mapping.decide("") == BLANK
    assert mapping.choices["z"].source == "admin"


def test_a_correction_that_names_no_code_of_the_campaign_is_a_problem():
    mapping = propose_codes("outcome", column("Z", "Q", "W"), CAMPAIGN, channel="door",
                            corrections={"Z": "LAB", "Q": {"outcome": "NOT_HOME", "intention": "LAB"}, "W": 7})
    assert mapping.problems == [
        "'Z': 'LAB' is not an outcome code of this campaign",
        "'Q': an intention is recorded only with an outcome that means spoke, not 'NOT_HOME'",
        "'W': 7 is not a code, \"skip_row\" or \"blank\"",
    ]
    assert not mapping.ok


def test_the_clps_code_choices_are_remembered_and_offered_again():
    first = propose_codes("intention", column("L", "Lab", "Mebbe", "Scrub"), CAMPAIGN,
                          corrections={"Mebbe": "UNDECIDED", "Scrub": SKIP_ROW})
    saved = first.to_saved()
    assert saved == {"l": {"intention": "LAB"}, "lab": {"intention": "LAB"}, "mebbe": {"intention": "UNDECIDED"},
                     "scrub": "skip_row"}

    later = propose_codes("intention", column("MEBBE", "scrub", "Lab"), CAMPAIGN, saved=saved)
    assert later.ok
    assert later.choices["mebbe"].source == "saved" and meaning(later, "Mebbe") == {"intention": "UNDECIDED"}
    assert later.decide("Scrub") == SKIP_ROW
    # A correction this time wins over what was saved.
    again = propose_codes("intention", column("Mebbe"), CAMPAIGN, saved=saved, corrections={"mebbe": "WONT_SAY"})
    assert meaning(again, "Mebbe") == {"intention": "WONT_SAY"}


def test_a_saved_choice_for_a_code_the_campaign_no_longer_has_is_noted_and_the_code_asked_about_again():
    campaign = CampaignCodes.from_data({"outcomes": [{"code": "SPOKE", "label": "Spoke", "meaning": "spoke"}],
                                        "intentions": [{"code": "LAB", "label": "Labour"}]})
    mapping = propose_codes("intention", column("Mebbe"), campaign, saved={"mebbe": {"intention": "UNDECIDED"}})
    assert mapping.notes == ["The saved mapping of 'mebbe' no longer fits this campaign ('UNDECIDED' is not an "
                             "intention code of this campaign)."]
    assert [u.token for u in mapping.unknown] == ["Mebbe"]


def test_a_synonym_that_fits_two_codes_of_a_campaign_is_not_guessed():
    campaign = CampaignCodes.from_data({"intentions": [{"code": "LAB", "label": "Labour"},
                                                       {"code": "LABCOOP", "label": "Labour Co-op"}]})
    mapping = propose_codes("intention", column("L"), campaign)
    assert [u.token for u in mapping.unknown] == ["L"]


@pytest.mark.parametrize("raw, key", [("N/H", "nh"), ("Won't vote", "wontvote"), ("  Lab. ", "lab"), ("✗", "✗"),
                                      ("?", "?")])
def test_codes_are_compared_without_case_spaces_or_punctuation(raw, key):
    assert code_key(raw) == key
