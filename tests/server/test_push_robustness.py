"""One bad record never blocks a phone: whatever a push carries, the good records land and the answer is 200.

A phone whose push answers 5xx resends the same batch for ever, so a value the server cannot store must be
refused on its own mutation (``rejected``, with the field named), never by failing the batch.
"""
from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from server.extensions import db
from server.models import ContactRecord, ReviewItem, Role
from tests.factories import bearer, login, make_world
from tests.server.phone import HttpPhone

BAD_IDS = [2**31, 2**63, 2**64, -1, 0, 1.5, True, "7"]  # ids of server entities are 32-bit
BAD_SEQS = [2**63, 2**64, -1, 0, 1.5, True, "7"]  # seq is 64-bit
BAD_TEXT = ["a\x00b", "\ud800", "ok\udfffok"]
BAD_TIMES = ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", "2026-11-21T10:00:00", "yesterday", 5]


@pytest.fixture
def world(app):
    return make_world()


def _contact(phone, world, elector, **data) -> dict:
    mutation = phone.contact(world, elector, "SPOKE", "LAB")
    mutation["data"].update(data)
    return mutation


def _spoiled(phone, world, kind: str, value) -> tuple[dict, str]:
    """A mutation with one bad value of the given kind, and the field its rejection must name."""
    ava = world.home.electors[0]
    if kind == "notes":
        return _contact(phone, world, ava, notes=value), "data.notes"
    if kind == "answer_key":
        return _contact(phone, world, ava, survey_answers={value: "yes"}), "data.survey_answers"
    if kind == "answer_value":
        return _contact(phone, world, ava, survey_answers={"postal": [value]}), "data.survey_answers"
    if kind == "surname":
        return phone._mutation("elector_new", {"property_id": world.home.properties[0].id, "surname": value,
                                               "forenames": "Jo"}), "data.surname"
    if kind == "reason":
        return phone._mutation("contact_retraction", {"supersedes": str(uuid.uuid4()), "campaign_id": world.campaign.id,
                                                      "elector_id": ava.id, "channel": "door",
                                                      "reason": value}), "data.reason"
    if kind == "phone":
        return phone.update(ava, {"phone": value}, base_version=1), "data.changes.phone"
    if kind in ("elector_id", "campaign_id"):
        return _contact(phone, world, ava, **{kind: value}), f"data.{kind}"
    if kind == "property_id":
        return phone._mutation("elector_new", {"property_id": value, "surname": "New", "forenames": "Jo"}), \
            "data.property_id"
    if kind in ("seq", "base_version", "occurred_at"):
        mutation = phone.update(ava, {"phone": "07700900111"}, base_version=1)
        mutation[kind] = value
        return mutation, kind
    raise AssertionError(kind)


_BAD = st.one_of(
    st.tuples(st.sampled_from(["notes", "answer_key", "answer_value", "surname", "reason", "phone"]),
              st.sampled_from(BAD_TEXT)),
    st.tuples(st.sampled_from(["elector_id", "campaign_id", "property_id", "base_version"]), st.sampled_from(BAD_IDS)),
    st.tuples(st.just("seq"), st.sampled_from(BAD_SEQS)),
    st.tuples(st.just("occurred_at"), st.sampled_from(BAD_TIMES)),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(plan=st.lists(st.one_of(st.none(), _BAD), min_size=1, max_size=12))
def test_a_batch_mixing_good_records_with_unstorable_values_lands_every_good_record(client, world, plan):
    """``None`` in the plan is a good record; anything else is one bad value of that kind."""
    phone = HttpPhone(client, Role.CANVASSER)
    batch, expected = [], []
    for step in plan:
        if step is None:
            batch.append(_contact(phone, world, world.home.electors[step is None and len(batch) % 2], notes="fine"))
            expected.append(None)
        else:
            mutation, field = _spoiled(phone, world, *step)
            batch.append(mutation)
            expected.append(field)
    stored = db.session.scalar(select(func.count()).select_from(ContactRecord))
    response = phone.push(batch)
    assert response.status_code == 200, response.get_data(as_text=True)
    results = response.get_json()["results"]
    for result, field in zip(results, expected):
        if field is None:
            assert result["status"] in ("applied", "conflict"), result
        else:
            assert result["status"] in ("rejected", "forbidden"), result
            if result["status"] == "rejected":
                assert field in result["details"], (field, result)
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(ContactRecord)) == stored + expected.count(None)


def test_an_unstorable_value_the_validation_missed_costs_only_its_own_record(client, world, monkeypatch):
    """Defence in depth: if a value the database refuses ever gets past validation, the push still answers
    200, the good records land, and only that one is rejected (and is judged afresh if sent again)."""
    import sync.protocol

    monkeypatch.setattr(sync.protocol, "unstorable", lambda text: False)  # validation blind to bad text
    phone = HttpPhone(client, Role.CANVASSER)
    ava, ben = world.home.electors[:2]
    unstorable = "\ud800"  # no database driver can encode an unpaired surrogate
    batch = [_contact(phone, world, ava, notes="first"), _contact(phone, world, ben, notes=f"pasted {unstorable}"),
             _contact(phone, world, ben, notes="third")]
    response = phone.push(batch)
    assert response.status_code == 200, response.get_data(as_text=True)
    statuses = [r["status"] for r in response.get_json()["results"]]
    assert statuses[0] in ("applied", "conflict") and statuses[2] in ("applied", "conflict")
    assert statuses[1] == "rejected"
    assert "mutation" in response.get_json()["results"][1]["details"]
    assert db.session.scalar(select(func.count()).select_from(ContactRecord)) == 2
    again = phone.push(batch).get_json()["results"]
    assert [r["status"] for r in again] == ["duplicate", "rejected", "duplicate"]


def test_protocol_version_must_be_the_integer_itself(client, world):
    phone = HttpPhone(client, Role.CANVASSER)
    for version in ({"v": 1}, [1], True, 1.0, "1", None):
        response = phone.push([], protocol_version=version)
        assert response.status_code == 400, (version, response.get_data(as_text=True))
        assert response.get_json()["error"]["code"] == "unsupported_version"
    assert phone.push([], protocol_version=1).status_code == 200


def test_envelope_values_the_database_cannot_hold_are_refused_with_field_details(client, world):
    phone = HttpPhone(client, Role.CANVASSER)
    for field, value in (("device_time", "0001-01-01T00:00:00+01:00"), ("device_time", "9999-12-31T23:59:59-01:00"),
                         ("schema_version", 2**63), ("schema_version", True), ("storage_id", "a\x00b")):
        response = phone.push([], **{field: value})
        assert response.status_code == 422, (field, value, response.get_data(as_text=True))
        assert field in response.get_json()["error"]["details"]


def test_survey_answers_nested_a_thousand_deep_are_refused_whole_with_400(client, world):
    phone = HttpPhone(client, Role.CANVASSER)
    deep = "[" * 1000 + "]" * 1000
    good = _contact(phone, world, world.home.electors[0], survey_answers={"q": "DEEP"})
    text = json.dumps(phone.body([good])).replace('"DEEP"', deep)
    response = client.post("/api/v1/sync/push", data=text, content_type="application/json", headers=bearer(phone.token))
    assert response.status_code == 400
    assert response.get_json()["error"]["details"] == {"max_depth": 32}
    assert db.session.scalar(select(func.count()).select_from(ContactRecord)) == 0


def test_held_and_refused_pushes_store_nothing_the_database_cannot_hold(client, world):
    """Even the review item that holds a late delivery never carries an unstorable value."""
    phone = HttpPhone(client, Role.CANVASSER)
    admin = login(client, Role.CLP_ADMIN)
    assert client.post(f"/api/v1/devices/{phone.device_id}/revoke", headers=bearer(admin)).status_code == 200
    batch = [_contact(phone, world, world.home.electors[0]), _contact(phone, world, world.home.electors[1],
                                                                        notes="a\x00b")]
    response = phone.push(batch)
    assert response.status_code == 200
    assert [r["status"] for r in response.get_json()["results"]] == ["held", "rejected"]
    item = db.session.scalar(select(ReviewItem))
    assert [m["id"] for m in item.data["mutations"]] == [batch[0]["id"]]
    assert datetime.fromisoformat(item.data["delivered_at"]) <= datetime.now(timezone.utc)


def test_rows_written_as_one_document_keep_every_value_exactly():
    """The push's rows go to PostgreSQL as one JSON document: ids, times and numbers past 64 bits (which the
    fast encoder refuses) come back exactly as they were."""
    from server.services.sync_store import _json_document

    when = datetime(2026, 11, 30, 2, 15, 7, 250000, tzinfo=timezone.utc)
    ident = uuid.uuid4()
    row = {"id": ident, "occurred_at": when, "answers": {"q": "Naïve café ☃"}, "at": None, "n": 2**63 - 1}
    written = {"id": str(ident), "occurred_at": "2026-11-30T02:15:07.250000+00:00", "answers": {"q": "Naïve café ☃"},
               "at": None, "n": 2**63 - 1}
    assert json.loads(_json_document([row, row])) == [written, written]
    assert json.loads(_json_document([row, {**row, "n": 2**70}])) == [written, {**written, "n": 2**70}]


def test_a_phone_zone_with_seconds_in_its_offset_is_stored_at_the_exact_instant(client, world):
    """ISO 8601 allows an offset with seconds (+05:30:15); the record's time is that instant exactly, on both
    databases, whatever the route to the database."""
    phone = HttpPhone(client, Role.CANVASSER)
    mutation = _contact(phone, world, world.home.electors[0])
    mutation["occurred_at"] = "2026-11-30T07:30:20+05:30:15"
    response = phone.push([mutation])
    assert response.get_json()["results"][0]["status"] == "applied", response.get_data(as_text=True)
    record = db.session.scalar(select(ContactRecord))
    assert record.device_occurred_at == datetime(2026, 11, 30, 2, 0, 5, tzinfo=timezone.utc)
