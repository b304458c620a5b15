"""Seats like this one (docs/peers.md): peers worked out by hand, the fair comparison, the import, and scope."""
from __future__ import annotations

import io
import math

import pytest
from sqlalchemy import select

from server.extensions import db
from server.models import AuditEvent, Constituency, ConstituencyProfile, Role
from server.services import peers as P
from tests.factories import bearer, login, make_world

# Six seats, two features. a has mean 20 and (population) sd 4: values 20, 22, 16, 22, 26, 14 are
# deviations 0, +2, -4, +2, +6, -6, squares 0+4+16+4+36+36 = 96, 96/6 = 16, sd 4; so z = 0, .5, -1, .5, 1.5, -1.5.
# b has mean 50 and sd 10: values 50, 60, 50, 50, 30, 60 are deviations 0, +10, 0, 0, -20, +10, squares
# 0+100+0+0+400+100 = 600, 600/6 = 100, sd 10; so z = 0, 1, 0, 0, -2, 1.
# Seat 7 has neither a nor b (only c): it takes no part in either standardisation and is left out.
SEATS = {
    1: {"a": 20, "b": 50},
    2: {"a": 22, "b": 60},
    3: {"a": 16, "b": 50},
    4: {"a": 22, "b": 50},
    5: {"a": 26, "b": 30},
    6: {"a": 14, "b": 60},
    7: {"c": 1},
}
Z = {1: (0, 0), 2: (0.5, 1), 3: (-1, 0), 4: (0.5, 0), 5: (1.5, -2), 6: (-1.5, 1)}


def test_z_scores_and_distances_match_the_hand_arithmetic():
    result = P.find_peers(SEATS, 1, ["a", "b"], {"a": 1, "b": 1}, k=5)
    # Seat 1 is at z (0, 0), so each distance is sqrt(za^2 + zb^2):
    # seat 4: sqrt(.25 + 0) = .5; seat 3: sqrt(1 + 0) = 1; seat 2: sqrt(.25 + 1) = 1.118;
    # seat 6: sqrt(2.25 + 1) = 1.803; seat 5: sqrt(2.25 + 4) = 2.5.
    assert [p.seat_id for p in result.peers] == [4, 3, 2, 6, 5]
    expected = {4: 0.5, 3: 1.0, 2: math.sqrt(1.25), 6: math.sqrt(3.25), 5: 2.5}
    for peer in result.peers:
        assert peer.distance == pytest.approx(expected[peer.seat_id])
        assert (result.z[peer.seat_id]["a"], result.z[peer.seat_id]["b"]) == pytest.approx(Z[peer.seat_id])
    assert result.z[1] == pytest.approx({"a": 0, "b": 0})
    assert [(o.seat_id, o.reason, o.features) for o in result.left_out] == [(7, "missing_features", ("a", "b"))]
    assert result.compared == 6  # seats 2-7


def test_the_two_nearest_and_what_they_are_similar_in():
    # k=2: seats 4 (.5) and 3 (1). Seat 4's gaps are a .5, b 0: both within half an sd, closest first.
    # Seat 3's are a 1, b 0: only b.
    assert P.peers(SEATS, 1, ["a", "b"], {}, 2) == [(4, 0.5, ("b", "a")), (3, 1.0, ("b",))]


def test_weights_change_the_order():
    # a counted four times: seat 4 sqrt(4*.25 + 0) = 1; seat 2 sqrt(4*.25 + 1) = 1.414; seat 3 sqrt(4*1) = 2.
    nearest = P.peers(SEATS, 1, ["a", "b"], {"a": 4, "b": 1}, 2)
    assert [(s, round(d, 3)) for s, d, _ in nearest] == [(4, 1.0), (2, 1.414)]


def test_ties_are_broken_by_the_lower_id():
    # On b alone seats 3 and 4 are both at z 0, like seat 1: distance 0 each.
    assert [s for s, _, _ in P.peers(SEATS, 1, ["b"], {}, 2)] == [3, 4]
    assert [s for s, _, _ in P.peers(SEATS, 1, ["b"], {}, 1)] == [3]


def test_excluded_seats_take_no_part_and_are_said_to_be_left_out():
    result = P.find_peers(SEATS, 1, ["a", "b"], {}, 2, exclude={4})
    # Without seat 4, a over 20, 22, 16, 26, 14 has mean 19.6 and sd sqrt(91.2/5) = 4.271; b over 50, 60, 50,
    # 30, 60 has mean 50 and sd sqrt(600/5) = 10.954. Seat 1 is at (.094, 0); seat 3 at (-.843, 0), distance
    # .937; seat 2 at (.562, .913), distance sqrt(.219 + .833) = 1.026.
    assert [(s, round(d, 3)) for s, d, _ in result.peers] == [(3, 0.937), (2, 1.026)]
    assert (4, "excluded") in [(o.seat_id, o.reason) for o in result.left_out]


def test_outliers_can_be_left_out_automatically_and_are_not_by_default():
    assert not [o for o in P.find_peers(SEATS, 1, ["a", "b"], {}, 5).left_out if o.reason == "outlier"]
    # Seat 5's b is 2 sds below the mean: beyond a threshold of 1.8 (six seats can never reach the usual 3).
    result = P.find_peers(SEATS, 1, ["a", "b"], {}, 5, outlier_z=1.8)
    assert [(o.seat_id, o.features) for o in result.left_out if o.reason == "outlier"] == [(5, ("b",))]
    assert 5 not in [p.seat_id for p in result.peers]


def test_a_seat_without_a_chosen_feature_cannot_be_compared_on_it():
    with pytest.raises(P.PeerError, match="no figure for a"):
        P.find_peers(SEATS, 7, ["a"], {}, 2)
    with pytest.raises(P.PeerError, match="no profile"):
        P.find_peers(SEATS, 99, ["a"], {}, 2)
    with pytest.raises(P.PeerError, match="not chosen"):
        P.find_peers(SEATS, 1, ["a"], {"b": 2}, 2)


def test_features_are_named_in_words():
    assert P.similar_in_words(("age_65_plus", "social_rented", "majority_pct")) == \
        "similar in: share over 65, social renting, previous majority"
    assert P.label("dog_owners") == "dog owners"
    assert P.similar_in_words(()) == ""


def test_broxtowe_an_ordinary_seat_beats_a_region_dragged_down_by_safe_seats_but_sits_at_its_peers_median():
    # Contact rates in percent. Its seven peers, sorted: 22 26 28 30 32 34 38. Median the 4th, 30.
    # Quartiles (linear, as PERCENTILE.INC): Q1 at position .25*6 = 1.5, between 26 and 28: 27; Q3 at 4.5,
    # between 32 and 34: 33; IQR 6. Percentile: 3 peers lower, 1 level (half): (3 + .5) / 7 = 50%.
    # The region: the seat itself (30), two like it (31, 29) and four safe seats (12, 10, 14, 11):
    # 137 / 7 = 19.57.
    result = P.compare(30, [34, 22, 30, 38, 26, 32, 28], [30, 12, 10, 14, 31, 11, 29])
    assert (result.peer_median, result.peer_q1, result.peer_q3, result.peer_iqr) == pytest.approx((30, 27, 33, 6))
    assert result.percentile == pytest.approx(50)
    assert result.regional_average == pytest.approx(137 / 7)
    assert (result.against_region, result.against_peers) == ("above", "within")
    assert "above it" in result.note and "50th percentile" in result.note
    assert "safe seats" in result.note and "similar seats is the fair one" in result.note
    assert P.compare(30, [30], []).percentile == 50 and P.compare(30, [30], []).regional_average is None
    with pytest.raises(P.PeerError):
        P.compare(30, [], [20])


# -- the import ------------------------------------------------------------------------------------------------

@pytest.fixture
def world(app):
    world = make_world()
    south = world.south
    db.session.add_all([Constituency(code=f"E1400001{i}", name=f"Southby {i}", region_id=south.id) for i in range(4)])
    db.session.commit()
    return world


def _upload(client, token, text: str, filename: str = "profiles.csv"):
    return client.post("/api/v1/constituency-profiles", headers=bearer(token), content_type="multipart/form-data",
                       data={"file": (io.BytesIO(text.encode()), filename)})


def _profiles() -> dict[str, dict]:
    rows = db.session.execute(select(Constituency.code, ConstituencyProfile.features)
                              .join(ConstituencyProfile, ConstituencyProfile.constituency_id == Constituency.id))
    return {code: features for code, features in rows}


GOOD = """constituency,age_65_plus,social_rented,majority_pct,previous_winner
E14000001,21.5,18,4.2,Labour
Bramley,24,12%,30.1,Conservative
E14000003,19,22,3.9,Labour
E14000010,22,16,5,Labour
E14000011,30,8,40,Conservative
E14000012,20,20,,Labour
"""


def test_a_national_admin_imports_profiles_and_a_reimport_replaces_them(client, world):
    token = login(client, Role.NATIONAL_ADMIN)
    response = _upload(client, token, GOOD)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert (body["rows"], body["seats_added"], body["seats_updated"]) == (6, 6, 0)
    assert body["features"] == ["age_65_plus", "social_rented", "majority_pct"]
    assert (body["values_read"], body["empty_cells"]) == (17, 1)
    assert _profiles()["E14000002"] == {"age_65_plus": 24, "social_rented": 12, "majority_pct": 30.1}
    assert _profiles()["E14000012"] == {"age_65_plus": 20, "social_rented": 20}  # an empty cell: no figure
    assert db.session.scalar(select(AuditEvent.action).where(AuditEvent.action == "geography.import_profiles"))

    response = _upload(client, token, "constituency,degree\nE14000001,40\n")
    assert response.status_code == 201 and response.get_json()["seats_updated"] == 1
    assert _profiles()["E14000001"] == {"degree": 40}  # replaced whole
    assert _profiles()["E14000002"]["majority_pct"] == 30.1  # seats not in the file are left as they were


def test_bad_rows_are_listed_by_line_and_nothing_is_written(client, world):
    token = login(client, Role.NATIONAL_ADMIN)
    assert _upload(client, token, GOOD).status_code == 201
    bad = ("constituency,age_65_plus,majority_pct\n"
           "E14000001,99,1\n"  # fine on its own, but the file is refused as a whole
           "E14999999,20,5\n"  # line 3: unknown
           "Coleford,twenty,5\n"  # line 4: not a number
           "e14000001,20,5\n")  # line 5: the same seat again (codes are matched regardless of case)
    response = _upload(client, token, bad)
    assert response.status_code == 422
    details = response.get_json()["error"]["details"]
    lines = [(p["line"], p["field"]) for p in details["rows"]]
    assert lines == [(3, "constituency"), (4, "age_65_plus"), (5, "constituency")]
    assert "line 4" in details["rows"][1]["message"] and "twenty" in details["rows"][1]["message"]
    assert "already on line 2" in details["rows"][2]["message"]
    assert details["errors"] == 3
    assert _profiles()["E14000001"]["age_65_plus"] == 21.5  # unchanged

    response = _upload(client, token, "seat_name_here,age_65_plus\nE14000001,20\n")
    assert response.status_code == 422
    assert response.get_json()["error"]["details"]["reason"] == "missing_columns"
    assert "Line 1" in response.get_json()["error"]["message"]


def test_the_command_line_import(runner, world, tmp_path):
    path = tmp_path / "profiles.csv"
    path.write_text(GOOD)
    result = runner.invoke(args=["geography", "import-profiles", str(path)])
    assert result.exit_code == 0, result.output
    assert "6 seats added" in result.output
    path.write_text("constituency,age_65_plus\nNowhere,20\n")
    result = runner.invoke(args=["geography", "import-profiles", str(path)])
    assert result.exit_code != 0 and "line 2" in result.output


@pytest.mark.parametrize("role", [r for r in Role if r != Role.NATIONAL_ADMIN], ids=lambda r: r.value)
def test_only_national_admins_import_profiles(client, world, role):
    response = _upload(client, login(client, role), GOOD)
    assert response.status_code == 403
    assert not _profiles()


# -- the peers API ---------------------------------------------------------------------------------------------

def _seed_profiles(client):
    assert _upload(client, login(client, Role.NATIONAL_ADMIN), GOOD).status_code == 201


def _peers(client, token, seat_id: int, query: str = ""):
    return client.get(f"/api/v1/constituencies/{seat_id}/peers{query}", headers=bearer(token))


def test_a_clp_admin_sees_their_seats_peers_anywhere_by_name_and_code(client, world):
    _seed_profiles(client)
    token = login(client, Role.CLP_ADMIN)
    home = world.home.constituency
    response = _peers(client, token, home.id, "?k=2&features=age_65_plus,social_rented,majority_pct"
                                              "&weights=majority_pct:2")
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["seat"]["code"] == "E14000001"
    assert [(f["name"], f["weight"]) for f in body["features"]] == \
        [("age_65_plus", 1), ("social_rented", 1), ("majority_pct", 2)]
    # Both nearest are in another region: Southby 0 (22, 16, 5: within .5, 2 and .8 of home's 21.5, 18, 4.2),
    # then Coleford (19, 22, 3.9: further in age and social renting, though nearer in majority). Bramley, the
    # home seat's safe neighbour (majority 30.1), is not among them.
    assert [p["code"] for p in body["peers"]] == ["E14000010", "E14000003"]
    assert set(body["peers"][0]) == {"id", "code", "name", "distance", "similar_in", "similar_in_words"}
    assert body["peers"][0]["similar_in_words"].startswith("similar in: ")
    # Southby 2 has no majority figure; the two seats without any profile are not candidates at all.
    assert [(o["code"], o["reason"], o["features"]) for o in body["left_out"]] == \
        [("E14000012", "missing_features", ["majority_pct"])]
    assert "previous majority" in body["left_out"][0]["message"]

    assert _peers(client, token, world.neighbour.constituency.id).status_code == 404
    assert _peers(client, token, world.away.constituency.id).status_code == 404


def test_regional_staff_see_their_regions_seats_only(client, world):
    _seed_profiles(client)
    token = login(client, Role.REGIONAL_STAFF)
    assert _peers(client, token, world.neighbour.constituency.id, "?features=age_65_plus").status_code == 200
    assert _peers(client, token, world.away.constituency.id, "?features=age_65_plus").status_code == 404


def test_a_canvasser_reads_only_their_own_seat(client, world):
    _seed_profiles(client)
    token = login(client, Role.CANVASSER)  # geography:read, as every role has
    assert _peers(client, token, world.home.constituency.id, "?features=age_65_plus").status_code == 200
    assert _peers(client, token, world.neighbour.constituency.id, "?features=age_65_plus").status_code == 404


def test_a_seat_without_a_profile_or_a_bad_query_is_a_422(client, world):
    token = login(client, Role.NATIONAL_ADMIN)
    assert _peers(client, token, world.home.constituency.id).status_code == 422  # nothing imported yet
    _seed_profiles(client)
    response = _peers(client, token, world.home.constituency.id, "?features=degree")
    assert response.status_code == 422 and "degree" in response.get_json()["error"]["message"]
    assert _peers(client, token, world.home.constituency.id, "?features=age_65_plus&weights=degree:2").status_code \
        == 422
    assert _peers(client, token, world.home.constituency.id, "?weights=majority_pct:x").status_code == 422
    assert _peers(client, token, world.home.constituency.id, "?k=0").status_code == 422


def test_the_demo_seats_have_profiles_and_peers_out_of_the_box(runner, client):
    result = runner.invoke(args=["demo", "--electors", "800"])
    assert result.exit_code == 0, result.output
    seats = db.session.scalars(select(Constituency.id)).all()
    assert len(seats) == 24 and len(_profiles()) == 24
    token = login(client, "clp_admin@demo.groundwork.test", password="groundwork-demo")
    own = db.session.scalar(select(Constituency.id).where(Constituency.code == "E14099001"))
    response = _peers(client, token, own)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert len(body["peers"]) == P.DEFAULT_K and not body["left_out"]
    assert [f["name"] for f in body["features"]] == list(P.DEFAULT_FEATURES)
