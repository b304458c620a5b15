"""Which elector a typed-up row is about: the elector number first, even for electors who have since left;
otherwise a score on name and address whose breakdown the admin can read, matched, chosen by the admin, or
left unmatched."""
from __future__ import annotations

import pytest

from server.services.imports import (CHOOSE, MATCHED, UNMATCHED, ElectorIndex, ElectorNumber, MatchSettings,
                                     RowIdentity, blocking_keys, match_rows, parse_elector_number, score_pair,
                                     summarise)
from tests.imports.sheets import elector, find, register


@pytest.fixture(scope="module")
def index() -> ElectorIndex:
    return ElectorIndex(register())


def row(surname=None, forenames=None, house=None, street=None, postcode=None, *, number=None, flat=None, line=2):
    return RowIdentity(line, parse_elector_number(number) if number else None, surname, forenames, house, flat,
                       street, postcode)


def match_one(identity: RowIdentity, supply) -> object:
    return match_rows([identity], supply)[0]


def assert_no_personal_data(result, *electors):
    for person in electors:
        for word in (person.surname, *person.forenames.split(), person.street or "", person.postcode or ""):
            assert word not in result.reason, word


# ---------------------------------------------------------------------------------------------------
# By elector number


def test_an_exact_elector_number_decides_by_itself(index):
    kowalski = find("AA1-1")
    result = match_one(row(number="AA1-1"), index)
    assert (result.verdict, result.elector_id, result.method) == (MATCHED, kowalski.id, "elector_number")
    assert result.reason == "Matched by elector number AA1-1."
    assert_no_personal_data(result, kowalski)


def test_an_elector_who_has_since_left_the_register_is_still_matched_by_number(index):
    leaver = find("AA1-22")  # on December's register, not January's
    assert leaver.removed
    result = match_one(row("Lewis", "Grace", number="AA1-22"), index)
    assert (result.verdict, result.elector_id) == (MATCHED, leaver.id)
    assert result.reason == "Matched by elector number AA1-22, who has since left the register."


def test_an_elector_number_with_a_suffix_matches_that_elector_and_not_the_one_without():
    people = [elector(1, "AA1-12", "Bell", "Ava", "2", "High Street", "EF1 1AA"),
              elector(2, "AA1-12/1", "Bell", "Noah", "2", "High Street", "EF1 1AA")]
    assert match_one(row(number="AA1-12/1"), ElectorIndex(people)).elector_id == 2
    assert match_one(row(number="AA1 12"), ElectorIndex(people)).elector_id == 1


def test_a_number_whose_elector_has_another_surname_is_the_admins_to_choose(index):
    # AA1-33 was Scarlett Adams on December's register and is Scarlett Ellis on January's.
    result = match_one(row("Adams", "Scarlett", "16", "High Street", "EF1 1AA", number="AA1-33"), index)
    assert result.verdict == CHOOSE
    assert find("AA1-33").id in [c.elector.id for c in result.candidates]
    assert result.reason.startswith("Elector number AA1-33 has another surname on the register than on the sheet")
    assert "Adams" not in result.reason and "Ellis" not in result.reason


def test_a_number_not_on_the_register_falls_back_to_name_and_address(index):
    kowalski = find("AA1-1")
    result = match_one(row("Kowalski", "Margaret", "1", "High Street", "EF1 1AA", number="AA1-9999"), index)
    assert (result.verdict, result.elector_id, result.method) == (MATCHED, kowalski.id, "score")
    assert result.reason.startswith("Elector number AA1-9999 is not on the register. Matched by name and address")


@pytest.mark.parametrize("written, expected", [
    ("AA1-23", ElectorNumber("AA1", 23)), ("aa1 23/1", ElectorNumber("AA1", 23, 1)),
    ("AB123", ElectorNumber("AB", 123)), ("AA1-0023", ElectorNumber("AA1", 23)),
    ("AA1.23.2", ElectorNumber("AA1", 23, 2)),
])
def test_elector_numbers_are_read_as_sheets_write_them(written, expected):
    assert parse_elector_number(written) == expected


def test_a_number_without_its_letters_takes_the_sheets_polling_district_or_says_what_is_missing():
    assert parse_elector_number("23", prefix="AA1") == ElectorNumber("AA1", 23)
    assert parse_elector_number("23/1", default_prefix="AB2") == ElectorNumber("AB2", 23, 1)
    with pytest.raises(ValueError, match="has no polling district letters"):
        parse_elector_number("23")
    with pytest.raises(ValueError, match="does not match the polling district AB1"):
        parse_elector_number("AA1-23", prefix="AB1")


# ---------------------------------------------------------------------------------------------------
# By name and address


def test_a_row_with_a_one_letter_typo_in_the_surname_at_the_right_house_and_postcode_is_matched(index):
    kowalski = find("AA1-1")
    result = match_one(row("Kowalsky", "Margaret", "1", "High Street", "EF1 1AA"), index)
    assert (result.verdict, result.elector_id, result.method) == (MATCHED, kowalski.id, "score")
    assert result.reason == ("Matched by name and address: surname 0.95, forenames exact, house number exact, "
                             "street exact, postcode exact.")
    surname = result.candidates[0].fields[0]
    assert (surname.field, surname.status, round(surname.similarity, 2)) == ("surname", "similar", 0.95)


def test_the_breakdown_names_each_fields_part_and_the_parts_add_up_to_the_score():
    candidate = score_pair(row("Kowalski", "M", "1", None, "EF1 1AB"),
                           elector(1, "AA1-1", "Kowalski", "Margaret", "1", "High Street", "EF1 1AA"))
    assert candidate.explain() == ("surname exact, forenames initial, house number exact, street missing, "
                                   "postcode one character off")
    assert candidate.score == pytest.approx(sum(f.weight for f in candidate.fields), abs=0.01)


def test_a_row_with_an_initial_and_no_street_is_matched_when_nobody_else_at_the_house_fits(index):
    kowalski = find("AA1-1")  # Margaret; Ama Margaret Kowalski lives at 1 High Street too
    result = match_one(row("Kowalski", "M", "1", None, "EF1 1AA"), index)
    assert (result.verdict, result.elector_id) == (MATCHED, kowalski.id)


def test_ambiguous_j_smith_at_an_address_of_john_and_jane_smith_is_the_admins_to_choose():
    people = [elector(1, "AA1-40", "Smith", "John", "12", "Mill Lane", "EF3 6LH"),
              elector(2, "AA1-41", "Smith", "Jane", "12", "Mill Lane", "EF3 6LH"),
              elector(3, "AA1-42", "Okafor", "Chidi", "14", "Mill Lane", "EF3 6LH")]
    result = match_one(row("Smith", "J", "12", "Mill Lane", "EF3 6LH"), ElectorIndex(people))
    assert result.verdict == CHOOSE and result.elector_id is None
    assert sorted(c.elector.id for c in result.candidates) == [1, 2]
    assert result.reason == "Choose: 2 electors fit about as well."
    # With the forename written out, John is matched.
    assert match_one(row("Smith", "John", "12", "Mill Lane", "EF3 6LH"), ElectorIndex(people)).elector_id == 1


def test_two_harris_sisters_both_j_at_one_address_on_the_register_are_the_admins_to_choose(index):
    # 7 High Street, EF1 1AA: Jennifer and Jessica Harris.
    result = match_one(row("Harris", "J", "7", "High Street", "EF1 1AA"), index)
    assert result.verdict == CHOOSE
    assert sorted(c.elector.forenames for c in result.candidates[:2]) == ["Jennifer", "Jessica"]


def test_a_namesake_at_the_same_house_number_in_another_town_is_not_matched(index):
    # Elizabeth Harris lives at 1 Park Avenue, EF5 2EM; the sheet's row is 1 Park Avenue in EF2 8KE.
    harris = find("AA1-481")
    result = match_one(row("Harris", "Elizabeth", "1", "Park Avenue", "EF2 8KE"), index)
    assert result.verdict == UNMATCHED and result.elector_id is None
    assert result.reason.startswith("No elector fits well enough (the nearest: ")
    assert any(c.elector.id == harris.id and "postcode in another district" in c.explain()
               for c in result.candidates)
    assert_no_personal_data(result, harris)


def test_someone_not_on_the_register_at_an_electors_home_is_unmatched(index):
    result = match_one(row("Nowakowska", "Agnieszka", "1", "High Street", "EF1 1AA"), index)
    assert result.verdict == UNMATCHED


def test_a_married_name_at_the_right_address_is_the_admins_to_choose(index):
    # Scarlett Elizabeth Adams is Scarlett Elizabeth Ellis on January's register.
    result = match_one(row("Adams", "Scarlett", "16", "High Street", "EF1 1AA"), index)
    assert result.verdict == CHOOSE
    assert result.candidates[0].elector.id == find("AA1-33").id
    assert "surname disagrees" in result.candidates[0].explain()


def test_a_row_naming_a_flat_is_matched_to_the_flat_not_to_the_neighbour_upstairs():
    people = [elector(1, "AB1-1", "Nowak", "Jakub", "14", "Victoria Road", "EF4 4DJ", flat="Flat 1"),
              elector(2, "AB1-2", "Nowak", "Julia", "14", "Victoria Road", "EF4 4DJ", flat="Flat 2")]
    result = match_one(row("Nowak", "J", "14", "Victoria Road", "EF4 4DJ", flat="Flat 2"), ElectorIndex(people))
    assert (result.verdict, result.elector_id) == (MATCHED, 2)


def test_a_street_written_with_its_abbreviation_and_a_postcode_without_its_space_still_agree():
    people = [elector(1, "AA2-5", "Okoye", "Adaeze", "3", "Canal Rise", "EF1 1AE"),
              elector(2, "AA2-9", "Shaw", "Barbara", "5", "St Mary's Road", "EF1 1AF")]
    assert match_one(row("Okoye", "Adaeze", "3", "canal rise", "ef11ae"), ElectorIndex(people)).elector_id == 1
    result = match_one(row("Shaw", "Barbara", "5", "St Marys Rd", "EF1 1AF"), ElectorIndex(people))
    assert result.elector_id == 2 and "street exact" in result.reason


def test_a_postcode_one_character_off_still_finds_the_elector_by_street_and_house(index):
    kowalski = find("AA1-1")
    result = match_one(row("Kowalski", "Margaret", "1", "High Street", "EF1 1AB"), index)
    assert (result.verdict, result.elector_id) == (MATCHED, kowalski.id)
    assert "postcode one character off" in result.reason


def test_the_thresholds_are_settings():
    people = [elector(1, "AA1-1", "Kowalski", "Margaret", "1", "High Street", "EF1 1AA")]
    identity = row("Kowalski", None, "1", None, "EF1 1AA")  # surname, house and postcode: about 13
    assert match_one(identity, ElectorIndex(people)).verdict == MATCHED
    strict = match_rows([identity], ElectorIndex(people), MatchSettings(upper=15.0))[0]
    assert strict.verdict == CHOOSE


# ---------------------------------------------------------------------------------------------------
# Many rows, and a database layer's supply


def test_a_whole_sheet_typed_from_the_register_matches_every_row_to_the_right_elector(index):
    people = [e for e in register() if not e.removed and e.prefix == "AA1"][:120]
    rows = []
    for line, person in enumerate(people, 2):
        if line % 3 == 0:
            rows.append(row(number=f"{person.prefix}-{person.number}" + (f"/{person.suffix}" if person.suffix else ""),
                            line=line))
        else:
            rows.append(row(person.surname, person.forenames.split()[0], person.house_number, person.street,
                            person.postcode, line=line))
    results = match_rows(rows, index)
    assert [r.line for r in results] == [r.line for r in rows]
    matched = {r.line: r.elector_id for r in results if r.verdict == MATCHED}
    assert all(matched[line] == person.id for line, person in enumerate(people, 2) if line in matched)
    counts = summarise(results)
    assert counts["matched_by_number"] == 40
    assert counts["matched_by_score"] >= 75  # a few namesakes in one household are left to the admin
    assert counts[UNMATCHED] == 0


def test_a_database_layer_supplies_only_the_electors_the_rows_blocking_keys_name():
    people = [elector(1, "AA1-1", "Kowalski", "Margaret", "1", "High Street", "EF1 1AA"),
              elector(2, "AB1-7", "Bell", "Ava", "2", "Church Lane", "EF3 6CG", removed=True),
              elector(3, "AB2-1", "Shaw", "Barbara", "9", "Elm Grove", "EF5 2FP")]
    asked = []

    class Supply:
        def candidates(self, keys):
            asked.append(keys)
            return [p for p in people if p.elector_number in keys.numbers or p.postcode[:3] in keys.outwards
                    or p.street.lower() in keys.streets]

    rows = [row("Kowalski", "Margaret", "1", None, "EF1 1AA"), row(number="AB1-7", line=3)]
    results = match_rows(rows, Supply())
    assert [(r.verdict, r.elector_id) for r in results] == [(MATCHED, 1), (MATCHED, 2)]
    assert asked == [blocking_keys(rows)]
    assert asked[0].outwards == {"EF1"} and asked[0].numbers == {ElectorNumber("AB1", 7)}
