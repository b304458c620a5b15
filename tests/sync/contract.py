"""The contract every Store must meet, as stories about canvassers, phones and CLP admins.

Bound to each implementation by test_contract_*.py; every story runs on memory, SQLite and PostgreSQL.
"""
from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from sync.errors import BatchTooLarge, InvalidEnvelope, UnsupportedProtocol, WrongDevice
from tests.sync.phone import Phone


def phone_for(harness, user, **kwargs) -> Phone:
    return Phone(harness, harness.device(user), **kwargs)


class ContractStories:
    @pytest.fixture
    def street(self, harness):
        """One CLP, a campaign, a street of four houses with two electors each, a canvasser on it."""
        h = harness
        clp = h.clp()
        campaign = h.campaign()
        props = [h.property(clp, n) for n in (1, 3, 5, 7)]
        electors = [h.elector(p, surname, forenames) for p in props
                    for surname, forenames in (("Bell", "Ava"), ("Bell", "Sam"))]
        canvasser = h.user(clp)
        walk = h.assign(campaign, "walk", [canvasser], properties=props)
        return dict(clp=clp, campaign=campaign, props=props, electors=electors, canvasser=canvasser, walk=walk)

    # -------------------------------------------------------------------------------- exactly once
    def test_a_canvassers_batch_lands_once_and_a_retry_after_a_lost_ack_is_all_duplicates(self, harness, street):
        phone = phone_for(harness, street["canvasser"])
        batch = [phone.contact(e, street["campaign"], "NH") for e in street["electors"]]
        assert phone.push(batch) == ["applied"] * 8
        # The response never reached the phone; it sends the very same batch again.
        assert phone.push(batch) == ["duplicate"] * 8
        assert len(harness.contacts()) == 8

    def test_the_same_id_with_different_content_keeps_the_first_version(self, harness, street):
        phone = phone_for(harness, street["canvasser"])
        first = phone.contact(street["electors"][0], street["campaign"], "SPOKE", "LAB")
        phone.push([first])
        changed = {**first, "data": {**first["data"], "intention": "CON"}}
        assert phone.push([changed]) == ["id_reused"]
        assert harness.state(street["electors"][0]).intention == "LAB"

    def test_one_bad_record_never_blocks_the_rest_of_the_batch_or_later_batches(self, harness, street):
        phone = phone_for(harness, street["canvasser"])
        good = phone.contact(street["electors"][0], street["campaign"], "NH")
        bad_code = phone.contact(street["electors"][1], street["campaign"], "NOT_A_CODE")
        bad_shape = {"id": "not-a-uuid", "seq": "x", "type": "contact"}
        also_good = phone.contact(street["electors"][2], street["campaign"], "SPOKE", "UND")
        response = harness.engine.push(phone.device, phone.body([good, bad_code, bad_shape, also_good]))
        statuses = [r["status"] for r in response["results"]]
        assert statuses == ["applied", "rejected", "rejected", "applied"]
        assert "data.outcome" in response["results"][1]["details"]
        assert {"id", "seq"} <= set(response["results"][2]["details"])
        assert phone.push([phone.contact(street["electors"][3], street["campaign"], "NH")]) == ["applied"]
        # The rejected record, sent again, is rejected again for the same reason.
        assert phone.push([bad_code]) == ["rejected"]

    def test_a_repeated_id_inside_one_batch_is_stored_once(self, harness, street):
        phone = phone_for(harness, street["canvasser"])
        record = phone.contact(street["electors"][0], street["campaign"], "NH")
        assert phone.push([record, record]) == ["applied", "duplicate"]
        assert len(harness.contacts()) == 1

    # ---------------------------------------------------------------------------------- scope & access
    def test_a_record_about_another_clps_elector_is_forbidden(self, harness, street):
        other_clp = harness.clp()
        stranger = harness.elector(harness.property(other_clp, 2), "Far", "Away")
        phone = phone_for(harness, street["canvasser"])
        assert phone.push([phone.contact(stranger, street["campaign"], "NH")]) == ["forbidden"]
        assert harness.contacts() == []

    def test_a_device_whose_access_was_withdrawn_delivers_everything_held_for_review_and_is_told_to_wipe(
            self, harness, street):
        phone = phone_for(harness, street["canvasser"])
        phone.sync_down()
        before = phone.contact(street["electors"][0], street["campaign"], "SPOKE", "LAB")
        harness.clock.advance(timedelta(minutes=5))
        phone.device = harness.revoke(phone.device)
        harness.clock.advance(timedelta(minutes=5))
        # Backdated: the device's own clock never decides what counts as made before access ended.
        backdated = phone.contact(street["electors"][1], street["campaign"], "NH",
                                  at=harness.clock() - timedelta(days=3))
        objection = phone.mutation("elector_update", {"elector_id": street["electors"][2],
                                                      "changes": {"do_not_contact": True}})
        response = harness.engine.push(phone.device, phone.body([before, backdated, objection]))
        assert [r["status"] for r in response["results"]] == ["held", "held", "held"]
        assert response["results"][0]["details"] == {"reason": "access_ended"}
        assert harness.contacts() == [] and harness.state(street["electors"][2]) is None, "nothing applied"
        assert harness.reviews() == [("held_delivery", None)], "one review item for the batch"
        assert phone.push([before]) == ["held"], "a resend is answered the same"
        assert phone.pull()["wipe"] is True

    def test_held_records_accepted_by_an_admin_land_once_credited_to_the_volunteer(self, harness, street):
        phone = phone_for(harness, street["canvasser"])
        held = [phone.contact(street["electors"][0], street["campaign"], "SPOKE", "LAB"),
                phone.contact(street["electors"][1], street["campaign"], "NOT_A_CODE")]
        phone.device = harness.revoke(phone.device)
        assert phone.push(held) == ["held", "held"]
        harness.clock.advance(timedelta(days=2))
        with harness.store.transaction():
            results = harness.engine.settle_held(phone.device, held, delivered_at=harness.clock() - timedelta(days=2),
                                                 clock_offset_seconds=0.0)
        assert [r.status.value for r in results] == ["applied", "rejected"]
        assert [(elector, kind) for _, elector, kind in harness.contacts()] == [(street["electors"][0], "record")]
        assert harness.state(street["electors"][0]).intention == "LAB"
        with harness.store.transaction():
            again = harness.engine.settle_held(phone.device, held[:1], delivered_at=harness.clock(),
                                               clock_offset_seconds=0.0)
        assert [r.status.value for r in again] == ["duplicate"], "accepting twice applies once"
        assert len(harness.contacts()) == 1

    def test_a_canvasser_writes_only_about_their_lists_and_the_answer_reveals_nothing_else(self, harness, street):
        phone = phone_for(harness, street["canvasser"])
        other_street = harness.property(street["clp"], 99, street="Far Lane")
        stranger = harness.elector(other_street, "Quiet", "Quinn")
        objector = harness.elector(other_street, "Private", "Pat")
        harness.suppress(objector)
        answers = harness.engine.push(phone.device, phone.body([
            phone.contact(stranger, street["campaign"], "NH"),  # same CLP, not on the list
            phone.contact(objector, street["campaign"], "NH"),  # not on the list, and has objected
            phone.contact(2**31 - 2, street["campaign"], "NH"),  # exists nowhere
            phone.mutation("elector_new", {"property_id": other_street, "surname": "New", "forenames": "Nia"}),
            phone.mutation("elector_new", {"property_id": street["props"][0], "surname": "Lodger", "forenames": "Lee"}),
        ]))["results"]
        assert [(r["status"], r.get("details")) for r in answers[:4]] == [
            ("forbidden", {"reason": "not_on_your_lists"})] * 4, "the same answer whatever the elector's state"
        assert answers[4]["status"] == "applied", "someone new at a listed address goes to review"
        assert harness.contacts() == []

    def test_records_delivered_late_count_within_the_grace_period_after_a_list_ends(self, harness, street):
        phone = phone_for(harness, street["canvasser"])
        made = phone.contact(street["electors"][0], street["campaign"], "SPOKE", "LAB")
        harness.end_assignment(street["walk"])
        harness.clock.advance(harness.limits.assignment_grace - timedelta(hours=1))
        assert phone.push([made]) == ["applied"], "an outbox delivered a few days late still lands"
        harness.clock.advance(timedelta(hours=2))
        late = phone.contact(street["electors"][1], street["campaign"], "NH", at=harness.clock() - timedelta(days=8))
        assert phone.push([late]) == ["forbidden"], "after the grace period the list is no longer theirs"

    # ----------------------------------------------------------------------------------- suppression
    def test_a_suppression_made_while_a_device_is_offline_removes_the_elector_and_refuses_its_records(
            self, harness, street):
        phone = phone_for(harness, street["canvasser"])
        phone.sync_down()
        target = street["electors"][2]
        assert target in phone.electors()
        pending = phone.contact(target, street["campaign"], "SPOKE", "LAB", notes="Lives with her mum")
        harness.suppress(target)  # the elector objected while the phone was offline
        assert phone.push([pending]) == ["suppressed"]
        assert all(elector != target for _, elector, _ in harness.contacts()), "nothing personal is stored"
        response = phone.pull()
        deletes = [c for c in response["changes"] if c["op"] == "delete"]
        assert deletes == [{"entity": "elector", "id": target, "op": "delete", "reason": "suppressed"}]
        assert target not in phone.electors()

    def test_do_not_contact_recorded_on_one_phone_reaches_every_other_phone(self, harness, street):
        first = phone_for(harness, street["canvasser"])
        colleague = harness.user(street["clp"])
        harness.assign(street["campaign"], "walk", [colleague], properties=street["props"])
        second = phone_for(harness, colleague)
        second.sync_down()
        target = street["electors"][0]
        update = first.mutation("elector_update", {"elector_id": target, "changes": {"do_not_contact": True}})
        assert first.push([update]) == ["applied"]
        second.pull()
        assert target not in second.electors()
        assert harness.state(target).do_not_contact is True
        assert second.push([second.contact(target, street["campaign"], "NH")]) == ["suppressed"]

    # ---------------------------------------------------------------------------------- reconciliation
    def test_a_correction_that_arrives_before_the_record_it_corrects(self, harness, street):
        phone = phone_for(harness, street["canvasser"])
        target = street["electors"][0]
        original = phone.contact(target, street["campaign"], "SPOKE", "CON")
        correction = phone.mutation("contact_correction", {**original["data"], "intention": "LAB",
                                                           "supersedes": original["id"]})
        assert phone.push([correction]) == ["applied"]
        assert harness.state(target).intention == "LAB"
        assert phone.push([original]) == ["applied"]
        assert harness.state(target).intention == "LAB", "the late original does not undo its correction"
        assert harness.state(target).contacts == {"door": 1}, "a corrected contact is still one contact"

    def test_undo_of_the_last_record_is_a_retraction_event(self, harness, street):
        phone = phone_for(harness, street["canvasser"])
        target = street["electors"][0]
        record = phone.contact(target, street["campaign"], "SPOKE", "LAB")
        phone.push([record])
        undo = phone.mutation("contact_retraction", {"supersedes": record["id"], "campaign_id": street["campaign"],
                                                     "elector_id": target, "channel": "door",
                                                     "reason": "wrong house"})
        assert phone.push([undo]) == ["applied"]
        state = harness.state(target)
        assert state.intention is None and state.contacts == {}
        assert sorted(kind for _, _, kind in harness.contacts()) == ["record", "retraction"]

    def test_two_canvassers_recording_different_intentions_go_to_review(self, harness, street):
        colleague = harness.user(street["clp"])
        harness.assign(street["campaign"], "walk", [colleague], properties=street["props"])
        target = street["electors"][0]
        a, b = phone_for(harness, street["canvasser"]), phone_for(harness, colleague)
        assert a.push([a.contact(target, street["campaign"], "SPOKE", "LAB")]) == ["applied"]
        harness.clock.advance(timedelta(hours=2))
        assert b.push([b.contact(target, street["campaign"], "SPOKE", "CON")]) == ["conflict"]
        assert harness.reviews() == [("intention_conflict", target)]
        assert harness.state(target).intention == "CON", "applied: the later contact stands until reviewed"

    def test_two_devices_editing_the_same_elector_field_from_the_same_version(self, harness, street):
        colleague = harness.user(street["clp"])
        harness.assign(street["campaign"], "walk", [colleague], properties=street["props"])
        target = street["electors"][0]
        a, b = phone_for(harness, street["canvasser"]), phone_for(harness, colleague)
        a.sync_down()
        b.sync_down()
        seen = a.local[("elector", target)]
        base = seen["version"]  # the elector version the phone saw, as it will send it
        assert "phone" not in seen  # walk lists carry no phone numbers
        first = a.mutation("elector_update", {"elector_id": target, "changes": {"phone": "07700900001"}},
                           base_version=base)
        second = b.mutation("elector_update", {"elector_id": target, "changes": {"phone": "07700900002"}},
                            base_version=base)
        assert a.push([first]) == ["applied"]
        assert b.push([second]) == ["conflict"]
        assert harness.reviews() == [("field_conflict", target)]
        assert harness.phone_of(target) == "07700900002"

    def test_a_device_whose_clock_is_a_day_fast_has_its_times_corrected(self, harness, street):
        phone = phone_for(harness, street["canvasser"], clock_error=timedelta(days=1))
        target = street["electors"][0]
        response = harness.engine.push(phone.device, phone.body([phone.contact(target, street["campaign"], "NH")]))
        assert response["clock"]["skewed"] is True
        assert response["results"][0]["status"] == "applied"
        assert response["results"][0]["details"] == {"clock_flags": ["clock_skew"]}
        assert abs(harness.state(target).last_contact_at - harness.clock()) < timedelta(minutes=1)

    def test_a_device_a_year_slow_cannot_make_an_old_record_beat_a_newer_one(self, harness, street):
        target = street["electors"][0]
        colleague = harness.user(street["clp"])
        right = phone_for(harness, colleague)
        slow = phone_for(harness, street["canvasser"], clock_error=-timedelta(days=365))
        right.push([right.contact(target, street["campaign"], "SPOKE", "LAB")])
        harness.clock.advance(timedelta(days=3))  # beyond the conflict window
        statuses = slow.push([slow.contact(target, street["campaign"], "SPOKE", "CON")])
        assert statuses == ["applied"]
        # Taken at face value the slow phone's record is a year old and would lose; corrected, it is newer.
        assert harness.state(target).intention == "CON"

    def test_a_record_without_a_clock_reading_that_claims_the_future_is_pinned_and_flagged(self, harness, street):
        phone = phone_for(harness, street["canvasser"])
        body = phone.body([phone.contact(street["electors"][0], street["campaign"], "NH",
                                         at=harness.clock() + timedelta(days=30))])
        body["device_time"] = None
        response = harness.engine.push(phone.device, body)
        assert response["results"][0]["details"] == {"clock_flags": ["future"]}
        assert harness.state(street["electors"][0]).last_contact_at == harness.clock()

    def test_rebuilding_every_elector_gives_the_same_state_as_incremental_reconciliation(self, harness, street):
        phone = phone_for(harness, street["canvasser"])
        outcomes = ["SPOKE", "NH", "MOVED", "SPOKE", "REF", "DEC", "SPOKE", "NH"]
        for i, elector in enumerate(street["electors"]):
            harness.clock.advance(timedelta(minutes=7))
            phone.push([phone.contact(elector, street["campaign"], outcomes[i],
                                      "LAB" if outcomes[i] == "SPOKE" else None)])
        incremental = {e: harness.state(e) for e in street["electors"]}
        with harness.engine.store.transaction():
            harness.engine.reconcile(set(street["electors"]))
        assert {e: harness.state(e) for e in street["electors"]} == incremental

    # -------------------------------------------------------------------------------------------- pull
    def test_a_first_download_comes_in_bounded_pages_and_then_there_is_nothing_new(self, harness, street):
        phone = phone_for(harness, street["canvasser"])
        pages = phone.sync_down(limit=3)
        # 1 campaign + 1 assignment + 4 properties + 8 electors = 14 entities in pages of 3.
        assert pages == 5
        assert len(phone.local) == 14
        assert phone.electors() == set(street["electors"])
        assert phone.pull()["changes"] == []

    def test_a_lost_pull_response_is_sent_again_on_retry(self, harness, street):
        phone = phone_for(harness, street["canvasser"])
        first = harness.engine.pull(phone.device, storage_id=phone.storage_id, cursor=None, limit=5)
        # The page never arrived: the phone asks again from where it was (no cursor yet).
        again = harness.engine.pull(phone.device, storage_id=phone.storage_id, cursor=None, limit=5)
        assert [c["id"] for c in again["changes"]] == [c["id"] for c in first["changes"]]
        phone.sync_down(limit=5)
        assert phone.electors() == set(street["electors"])

    def test_a_page_stored_and_confirmed_is_not_sent_twice(self, harness, street):
        phone = phone_for(harness, street["canvasser"])
        seen = []
        while True:
            response = phone.pull(limit=4)
            seen += [(c["entity"], c["id"]) for c in response["changes"]]
            if not response["has_more"]:
                break
        assert len(seen) == len(set(seen)) == 14

    def test_a_register_change_and_a_new_assignment_reach_the_phone(self, harness, street):
        phone = phone_for(harness, street["canvasser"])
        phone.sync_down()
        harness.rename(street["electors"][0], "Okafor")
        extra_prop = harness.property(street["clp"], 9)
        extra = harness.elector(extra_prop, "Hill", "Jo")
        harness.assign(street["campaign"], "walk", [street["canvasser"]], properties=[extra_prop])
        response = phone.pull()
        changed = {(c["entity"], c["id"]) for c in response["changes"]}
        assert ("elector", street["electors"][0]) in changed and ("elector", extra) in changed
        assert phone.local[("elector", street["electors"][0])]["surname"] == "Okafor"

    def test_an_ended_walk_list_is_deleted_from_the_phone(self, harness, street):
        phone = phone_for(harness, street["canvasser"])
        phone.sync_down()
        harness.end_assignment(street["walk"])
        harness.clock.advance(timedelta(seconds=1))
        response = phone.pull()
        assert {c["reason"] for c in response["changes"]} == {"out_of_scope"}
        assert phone.local == {}

    def test_a_call_list_carries_phone_numbers_and_a_walk_list_does_not(self, harness, street):
        prop = harness.property(street["clp"], 11)
        callee = harness.elector(prop, "Rao", "Nina", phone="07700900123")
        banker = harness.user(street["clp"])
        harness.assign(street["campaign"], "call", [banker], electors=[callee])
        caller = phone_for(harness, banker)
        caller.sync_down()
        assert caller.local[("elector", callee)]["phone"] == "07700900123"
        walker = phone_for(harness, street["canvasser"])
        walker.sync_down()
        assert all("phone" not in data for (entity, _), data in walker.local.items() if entity == "elector")

    def test_a_wiped_device_with_an_old_cursor_must_reset_and_resyncs_with_its_outbox_intact(self, harness, street):
        phone = phone_for(harness, street["canvasser"])
        phone.sync_down()
        outbox = [phone.contact(e, street["campaign"], "NH") for e in street["electors"][:3]]
        # Storage was wiped but the app kept its cursor elsewhere: a new storage id with an old cursor.
        phone.storage_id = uuid.uuid4()
        phone.local = {}
        response = phone.pull()
        assert response["reset_required"] is True and response["reason"] == "unknown_storage"
        phone.cursor = None
        phone.sync_down()
        assert phone.electors() == set(street["electors"])
        assert phone.push(outbox) == ["applied"] * 3

    def test_a_cursor_older_than_the_retention_must_reset(self, harness, street):
        phone = phone_for(harness, street["canvasser"])
        phone.sync_down()
        harness.clock.advance(harness.limits.tombstone_retention + timedelta(days=1))
        response = phone.pull()
        assert response["reset_required"] is True and response["reason"] == "cursor_expired"

    def test_a_phone_never_gets_its_own_records_back_as_new_data(self, harness, street):
        phone = phone_for(harness, street["canvasser"])
        phone.sync_down()
        phone.push([phone.contact(e, street["campaign"], "SPOKE", "LAB", notes="Keen on buses")
                    for e in street["electors"]])
        changes = phone.pull()["changes"]
        # Only what the team shares comes back (who was knocked, when, what kind of outcome), never a record.
        assert {c["entity"] for c in changes} == {"activity"}
        assert all(set(c["data"]) == {"elector_id", "door", "phone"} for c in changes)
        assert all(c["data"]["door"]["outcome"] == "spoke" and c["data"]["phone"] is None for c in changes)
        assert "LAB" not in str(changes) and "buses" not in str(changes)
        assert phone.pull()["changes"] == []

    # ------------------------------------------------------------------------------------ team work
    def test_every_phone_on_a_list_learns_which_doors_anyone_knocked_and_how_it_went(self, harness, street):
        colleague = harness.user(street["clp"])
        harness.assign(street["campaign"], "walk", [colleague], properties=street["props"])
        first, second = phone_for(harness, street["canvasser"]), phone_for(harness, colleague)
        first.sync_down()
        second.sync_down()
        ava, sam, cara = street["electors"][0], street["electors"][1], street["electors"][2]
        first.push([first.contact(ava, street["campaign"], "NH"), first.contact(sam, street["campaign"], "REF"),
                    first.contact(cara, street["campaign"], "SPOKE", "LAB")])
        second.pull()
        seen = {eid: data["door"]["outcome"] for (entity, eid), data in second.local.items() if entity == "activity"}
        assert seen == {ava: "not_home", sam: "refused", cara: "spoke"}

    def test_an_undone_knock_leaves_the_team_view_and_a_call_back_time_is_shared(self, harness, street):
        colleague = harness.user(street["clp"])
        caller = harness.user(street["clp"])
        target = street["electors"][0]
        harness.assign(street["campaign"], "call", [street["canvasser"], caller], electors=[target])
        first, second = phone_for(harness, street["canvasser"]), phone_for(harness, caller)
        at = harness.clock() + timedelta(days=1)
        call = first.contact(target, street["campaign"], "CB", channel="phone")
        call["data"]["call_back_at"] = at.isoformat()
        assert first.push([call]) == ["applied"]
        second.sync_down()
        shown = second.local[("activity", target)]["phone"]
        assert shown["outcome"] == "call_back" and shown["call_back_at"] == at.isoformat()
        undo = first.mutation("contact_retraction", {"supersedes": call["id"], "campaign_id": street["campaign"],
                                                     "elector_id": target, "channel": "phone"})
        assert first.push([undo]) == ["applied"]
        second.pull()
        assert ("activity", target) not in second.local
        assert colleague  # a colleague without the call list is shown nothing of it

    def test_one_do_not_contact_tap_stores_one_suppression(self, harness, street):
        phone = phone_for(harness, street["canvasser"])
        target = street["electors"][0]
        contact = phone.contact(target, street["campaign"], "DNC")
        flag = phone.mutation("elector_update", {"elector_id": target, "changes": {"do_not_contact": True}})
        assert phone.push([contact, flag]) == ["applied", "applied"]
        assert harness.suppression_count(target) == 1
        assert phone.push([phone.mutation("elector_update", {"elector_id": target,
                                                             "changes": {"do_not_contact": True}})]) == ["suppressed"]
        assert harness.suppression_count(target) == 1

    def test_a_welcome_call_list_of_members_carries_only_name_phone_and_why(self, harness, street):
        caller, colleague = harness.user(street["clp"]), harness.user(street["clp"])
        priya = harness.member(street["clp"], "Priya", "Shah", phone="07700900456")
        tom = harness.member(street["clp"], "Tom", "Reed", phone="07700900789")
        stranger = harness.member(harness.clp(), "Far", "Away", phone="07700900000")
        reasons = {priya: "Welcome call: joined 3 Nov", tom: "Welcome call: joined 5 Nov"}
        harness.assign(street["campaign"], "call", [caller, colleague], members=reasons)
        phone, other = phone_for(harness, caller), phone_for(harness, colleague)
        phone.sync_down()
        assert phone.local[("member", priya)] == {"id": priya, "first_name": "Priya", "last_name": "Shah",
                                                  "phone": "07700900456", "reason": "Welcome call: joined 3 Nov",
                                                  "called": None}
        call = phone.mutation("contact", {"campaign_id": street["campaign"], "member_id": priya, "channel": "phone",
                                          "outcome": "SPOKE"})
        objection = phone.mutation("contact", {"campaign_id": street["campaign"], "member_id": tom,
                                               "channel": "phone", "outcome": "DNC"})
        elsewhere = phone.mutation("contact", {"campaign_id": street["campaign"], "member_id": stranger,
                                               "channel": "phone", "outcome": "SPOKE"})
        assert phone.push([call, objection, elsewhere]) == ["applied", "applied", "forbidden"]
        other.sync_down()
        assert other.local[("member", priya)]["called"]["outcome"] == "spoke", "the team sees who was called"
        assert ("member", tom) not in other.local, "someone who objected leaves every phone"
        assert [i.get("member_id") for i in other.local[("assignment", next(
            i for e, i in other.local if e == "assignment"))]["items"]] == [priya]
        again = phone.mutation("contact", {"campaign_id": street["campaign"], "member_id": tom, "channel": "phone",
                                           "outcome": "SPOKE"})
        assert phone.push([again]) == ["suppressed"]

    def test_moved_and_deceased_reports_wait_for_a_clp_admin_once_each(self, harness, street):
        phone = phone_for(harness, street["canvasser"])
        ava, sam = street["electors"][0], street["electors"][1]
        phone.push([phone.contact(ava, street["campaign"], "MOVED"),
                    phone.mutation("elector_update", {"elector_id": ava, "changes": {"moved": True}}),
                    phone.mutation("elector_update", {"elector_id": sam, "changes": {"deceased": True}})])
        assert sorted(harness.reviews()) == [("presence_report", ava), ("presence_report", sam)]
        assert harness.state(sam).presence == "deceased" and harness.state(ava).presence == "moved"

    def test_a_do_not_contact_outcome_on_the_doorstep_suppresses_the_elector_everywhere(self, harness, street):
        colleague = harness.user(street["clp"])
        harness.assign(street["campaign"], "walk", [colleague], properties=street["props"])
        first, second = phone_for(harness, street["canvasser"]), phone_for(harness, colleague)
        second.sync_down()
        target = street["electors"][1]
        assert first.push([first.contact(target, street["campaign"], "DNC")]) == ["applied"]
        second.pull()
        assert target not in second.electors()
        assert second.push([second.contact(target, street["campaign"], "SPOKE", "LAB")]) == ["suppressed"]

    def test_a_phone_only_objection_keeps_the_door_but_not_the_call_list(self, harness, street):
        target = street["electors"][0]
        banker = harness.user(street["clp"])
        harness.assign(street["campaign"], "call", [banker], electors=[target])
        caller, walker = phone_for(harness, banker), phone_for(harness, street["canvasser"])
        harness.suppress_channel(target, "phone")
        caller.sync_down()
        walker.sync_down()
        assert target not in caller.electors() and target in walker.electors()
        assert caller.push([caller.contact(target, street["campaign"], "NA", channel="phone")]) == ["suppressed"]
        assert walker.push([walker.contact(target, street["campaign"], "NH")]) == ["applied"]

    def test_a_repeated_id_in_one_batch_gets_the_same_answer_as_its_first_copy(self, harness, street):
        phone = phone_for(harness, street["canvasser"])
        bad = phone.contact(street["electors"][0], street["campaign"], "NOT_A_CODE")
        assert phone.push([bad, bad]) == ["rejected", "rejected"]

    def test_survey_answers_must_fit_their_question(self, harness, street):
        phone = phone_for(harness, street["canvasser"])
        wrong = phone.contact(street["electors"][0], street["campaign"], "SPOKE", "LAB",
                              survey_answers={"postal_vote": "maybe"})
        right = phone.contact(street["electors"][1], street["campaign"], "SPOKE", "LAB",
                              survey_answers={"postal_vote": True})
        response = harness.engine.push(phone.device, phone.body([wrong, right]))
        assert [r["status"] for r in response["results"]] == ["rejected", "applied"]
        assert response["results"][0]["details"] == {"data.survey_answers": ["postal_vote: answer true or false."]}

    def test_a_second_tab_cannot_confirm_a_page_it_never_received(self, harness, street):
        phone = phone_for(harness, street["canvasser"])
        first_tab = harness.engine.pull(phone.device, storage_id=phone.storage_id, cursor=None, limit=5)
        second_tab = harness.engine.pull(phone.device, storage_id=phone.storage_id, cursor=None, limit=5)
        assert first_tab["cursor"] != second_tab["cursor"]
        stale = harness.engine.pull(phone.device, storage_id=phone.storage_id, cursor=first_tab["cursor"])
        assert stale["reset_required"] is True and stale["reason"] == "stale_cursor"

    # ------------------------------------------------------------------------------------- envelope
    def test_requests_the_engine_cannot_accept_are_refused_whole(self, harness, street):
        phone = phone_for(harness, street["canvasser"])
        with pytest.raises(UnsupportedProtocol):
            harness.engine.push(phone.device, {**phone.body([]), "protocol_version": 99})
        with pytest.raises(InvalidEnvelope) as bad:
            harness.engine.push(phone.device, {**phone.body([]), "storage_id": "x", "extra": 1})
        assert set(bad.value.details) == {"storage_id", "extra"}
        with pytest.raises(WrongDevice):
            harness.engine.push(phone.device, {**phone.body([]), "device_id": str(uuid.uuid4())})
        too_many = [phone.contact(street["electors"][0], street["campaign"], "NH")
                    for _ in range(harness.limits.max_mutations + 1)]
        with pytest.raises(BatchTooLarge):
            harness.engine.push(phone.device, phone.body(too_many))
        assert harness.contacts() == []
