"""Every role x every read route x in-scope and out-of-scope data: each role sees only its own scope.

The expectations are written out per role, independently of the policy code, so a change to the
policy that widens anyone's view makes this matrix fail.
"""
from __future__ import annotations

import re

import pytest

from server.models import Role
from tests.factories import bearer, login, make_world

# Which object a role may see, by resource; "all" means every object of that kind in the world.
# Keys name objects in the world built by make_world(); see visible_objects().
EXPECTED = {
    Role.CANVASSER: {
        "regions": {"north"}, "constituencies": {"home"}, "wards": {"home"}, "polling-districts": {"home"},
        # Only the electors at the property on the canvasser's walk list.
        "electors": {"home.0", "home.1"},
        "campaigns": {"national", "home_drive"},
        "audit-events": None,
    },
    Role.PHONE_BANKER: {
        "regions": {"north"}, "constituencies": {"home"}, "wards": {"home"}, "polling-districts": {"home"},
        "electors": {"home.2"},  # the one elector on the call list
        "campaigns": {"national", "home_drive"},
        "audit-events": None,
    },
    Role.CLP_ADMIN: {
        "regions": {"north"}, "constituencies": {"home"}, "wards": {"home"}, "polling-districts": {"home"},
        "electors": {"home.0", "home.1", "home.2"},
        "campaigns": {"national", "home_drive"},
        "audit-events": "clp",
    },
    Role.MEMBERSHIP_SECRETARY: {
        "regions": {"north"}, "constituencies": {"home"}, "wards": {"home"}, "polling-districts": {"home"},
        "electors": None,  # no canvass data for the membership secretary
        "campaigns": {"national", "home_drive"},
        "audit-events": None,
    },
    Role.REGIONAL_STAFF: {
        "regions": {"north"}, "constituencies": {"home", "neighbour"}, "wards": {"home", "neighbour"},
        "polling-districts": {"home", "neighbour"},
        "electors": None,  # regional staff monitor activity, not individual electors
        "campaigns": {"national", "home_drive"},
        "audit-events": "region",
    },
    Role.NATIONAL_ADMIN: {
        "regions": {"north", "south"}, "constituencies": {"home", "neighbour", "away"},
        "wards": {"home", "neighbour", "away"}, "polling-districts": {"home", "neighbour", "away"},
        "electors": {f"{clp}.{i}" for clp in ("home", "neighbour", "away") for i in range(3)},
        "campaigns": {"national", "home_drive", "away_drive"},
        "audit-events": "all",
    },
}

RESOURCES = ["regions", "constituencies", "wards", "polling-districts", "electors", "campaigns"]


def visible_objects(world) -> dict[str, dict[str, int]]:
    """Name -> id for every object in the world, per resource."""
    clps = {"home": world.home, "neighbour": world.neighbour, "away": world.away}
    return {
        "regions": {"north": world.north.id, "south": world.south.id},
        "constituencies": {name: clp.constituency.id for name, clp in clps.items()},
        "wards": {name: clp.ward.id for name, clp in clps.items()},
        "polling-districts": {name: clp.district.id for name, clp in clps.items()},
        "electors": {f"{name}.{i}": e.id for name, clp in clps.items() for i, e in enumerate(clp.electors)},
        "campaigns": {"national": world.campaign.id, "home_drive": world.local_drive.id,
                      "away_drive": world.away_drive.id},
    }


@pytest.fixture
def world(app):
    return make_world()


def _ids(body) -> set[int]:
    items = body["items"] if isinstance(body, dict) else body
    return {item["id"] for item in items}


@pytest.mark.parametrize("role", list(Role), ids=lambda r: r.value)
@pytest.mark.parametrize("resource", RESOURCES)
def test_each_role_lists_and_reads_only_its_own_scope(client, world, role, resource):
    token = login(client, role)
    objects = visible_objects(world)[resource]
    allowed = EXPECTED[role][resource]

    listing = client.get(f"/api/v1/{resource}?per_page=500", headers=bearer(token))
    if allowed is None:
        assert listing.status_code == 403
        assert listing.get_json()["error"]["code"] == "forbidden"
    else:
        assert listing.status_code == 200, listing.get_json()
        assert _ids(listing.get_json()) == {objects[name] for name in allowed}

    for name, object_id in objects.items():
        response = client.get(f"/api/v1/{resource}/{object_id}", headers=bearer(token))
        if allowed is None:
            expected = 403
        else:
            expected = 200 if name in allowed else 404
        assert response.status_code == expected, f"{role.value} reading {resource} {name}: {response.get_json()}"
        if expected == 200:
            assert response.get_json()["id"] == object_id


@pytest.mark.parametrize("role", list(Role), ids=lambda r: r.value)
def test_each_role_reads_only_the_audit_trail_of_its_own_scope(client, world, role):
    token = login(client, role)
    response = client.get("/api/v1/audit-events?per_page=500", headers=bearer(token))
    kind = EXPECTED[role]["audit-events"]
    if kind is None:
        assert response.status_code == 403
        return
    assert response.status_code == 200
    events = response.get_json()["items"]
    home, region_clps = world.home.constituency.id, {world.home.constituency.id, world.neighbour.constituency.id}
    allowed = {
        "clp": lambda e: e["constituency_id"] == home,
        "region": lambda e: e["constituency_id"] in region_clps or e["region_id"] == world.north.id,
        "all": lambda e: True,
    }[kind]
    assert events, "every world has audit events in every scope (accounts were created there)"
    assert all(allowed(e) for e in events), events


def test_a_canvasser_cannot_read_another_clps_electors_even_by_guessing_ids(client, world):
    token = login(client, Role.CANVASSER)
    for elector in world.away.electors + world.neighbour.electors:
        response = client.get(f"/api/v1/electors/{elector.id}", headers=bearer(token))
        assert response.status_code == 404
        assert "Coleford" not in response.get_data(as_text=True)
    listing = client.get(f"/api/v1/electors?polling_district_id={world.away.district.id}", headers=bearer(token))
    assert listing.get_json()["items"] == []


def test_a_canvasser_loses_sight_of_electors_when_their_walk_list_ends(client, world):
    from datetime import timedelta

    from server.extensions import db
    from server.models import Assignment
    from tests.factories import NOW

    token = login(client, Role.CANVASSER)
    assert client.get("/api/v1/electors", headers=bearer(token)).get_json()["total"] == 2
    for assignment in db.session.query(Assignment):
        assignment.ends_at = NOW - timedelta(minutes=1)
    db.session.commit()
    assert client.get("/api/v1/electors", headers=bearer(token)).get_json()["total"] == 0


@pytest.mark.parametrize("role", list(Role), ids=lambda r: r.value)
def test_each_role_sees_its_own_devices_and_admins_see_their_scope(client, world, role):
    tokens = {r: login(client, r, device_name=f"{r.value} phone") for r in Role}
    response = client.get("/api/v1/devices", headers=bearer(tokens[role]))
    assert response.status_code == 200
    owners = {d["user_id"] for d in response.get_json()}
    users = world.users
    clp_users = {users[r].id for r in (Role.CANVASSER, Role.PHONE_BANKER, Role.CLP_ADMIN, Role.MEMBERSHIP_SECRETARY)}
    expected = {
        Role.CLP_ADMIN: clp_users,
        Role.REGIONAL_STAFF: clp_users | {users[Role.REGIONAL_STAFF].id},
        Role.NATIONAL_ADMIN: {u.id for u in users.values()},
    }.get(role, {users[role].id})
    assert owners == expected


def test_every_api_route_requires_a_token_except_the_public_ones(app, client):
    public = {"/api/v1/health", "/api/v1/openapi.json", "/api/v1/auth/login", "/api/v1/sync/hello"}
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/") or rule.rule in public:
            continue
        # Any id will do: the token is checked before anything is looked up.
        url = re.sub(r"<uuid:[^>]+>", "00000000-0000-0000-0000-000000000000", rule.rule)
        url = re.sub(r"<(?:int:)?[^>]+>", "1", url)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            response = client.open(url, method=method)
            assert response.status_code == 401, f"{method} {url} answered {response.status_code}"
            assert response.get_json()["error"]["code"] == "not_authenticated"
