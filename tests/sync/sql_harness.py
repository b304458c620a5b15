"""The contract harness on the server's SQLAlchemy store, over whichever database the run uses."""
from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import timedelta

from sqlalchemy import func, select

from server.extensions import db
from server.models import (
    Assignment,
    AssignmentItem,
    AssignmentKind,
    AssignmentUser,
    Campaign,
    CampaignCode,
    CampaignKind,
    CodeSet,
    Constituency,
    ContactRecord,
    Device,
    Elector,
    Member,
    OutcomeMeaning,
    PollingDistrict,
    Property,
    QuestionKind,
    Region,
    ReviewItem,
    Role,
    SurveyQuestion,
    Suppression,
    SuppressionChannel,
    SuppressionKind,
    User,
    Ward,
)
from server.services.sync_store import SqlStore
from sync.store import DeviceContext
from tests.sync.harness import INTENTIONS, OUTCOMES, QUESTIONS, START, STRENGTHS, Harness


class SqlHarness(Harness):
    def __init__(self, limits=None):
        super().__init__(limits)
        self.store = SqlStore(db.session, clock=self.clock)
        self.region = Region(code=f"R{uuid.uuid4().hex[:6]}", name="Region")
        db.session.add(self.region)
        db.session.commit()
        self._districts: dict[int, int] = {}

    def clp(self):
        n = next(self._ids)
        constituency = Constituency(code=f"E{n:08d}", name=f"Seat {n}", region_id=self.region.id)
        db.session.add(constituency)
        db.session.flush()
        ward = Ward(constituency_id=constituency.id, code="W1", name="Ward")
        db.session.add(ward)
        db.session.flush()
        district = PollingDistrict(ward_id=ward.id, constituency_id=constituency.id, code="AA1", name="AA1")
        db.session.add(district)
        db.session.commit()
        self._districts[constituency.id] = district.id
        return constituency.id

    def user(self, clp):
        n = next(self._ids)
        user = User(email=f"user{n}@example.test", name=f"User {n}", password_hash="x", role=Role.CANVASSER,
                    constituency_id=clp)
        db.session.add(user)
        db.session.commit()
        return user.id

    def device(self, user):
        device = Device(id=uuid.uuid4(), user_id=user, name="phone", token_hash=uuid.uuid4().hex * 2,
                        token_expires_at=START + timedelta(days=365))
        db.session.add(device)
        db.session.commit()
        clp = db.session.get(User, user).constituency_id
        return DeviceContext(device.id, user, frozenset({clp}), lists_only=True)

    def campaign(self, clp=None, starts=None):
        starts = (starts or START - timedelta(days=30)).date()
        campaign = Campaign(name="Test campaign", kind=CampaignKind.GENERAL_ELECTION, starts_on=starts,
                            ends_on=starts + timedelta(days=120), constituency_id=clp)
        campaign.codes = (
            [CampaignCode(code_set=CodeSet.OUTCOME, code=code, label=code, meaning=OutcomeMeaning(meaning),
                          channels=list(channels)) for code, (meaning, channels) in OUTCOMES.items()]
            + [CampaignCode(code_set=CodeSet.INTENTION, code=c, label=c) for c in INTENTIONS]
            + [CampaignCode(code_set=CodeSet.STRENGTH, code=c, label=c) for c in STRENGTHS])
        campaign.questions = [SurveyQuestion(key=k, text=k, kind=QuestionKind(v["kind"])) for k, v in QUESTIONS.items()]
        db.session.add(campaign)
        db.session.commit()
        return campaign.id

    def property(self, clp, number, street="High Street"):
        prop = Property(constituency_id=clp, polling_district_id=self._districts[clp],
                        address_lines=[str(number), street], postcode="EF1 1AA", street=street, house_number=number,
                        sort_key=f"{street}|{number:05d}", address_key=f"{number} {street}|{uuid.uuid4().hex}")
        db.session.add(prop)
        db.session.commit()
        return prop.id

    def elector(self, prop, surname, forenames, phone=None):
        p = db.session.get(Property, prop)
        elector = Elector(constituency_id=p.constituency_id, polling_district_id=p.polling_district_id,
                          property_id=prop, prefix="AA1", number=next(self._ids), surname=surname,
                          forenames=forenames, phone=phone)
        db.session.add(elector)
        db.session.commit()
        return elector.id

    def assign(self, campaign, kind, users, properties=(), electors=(), starts=None, ends=None, members=None):
        members = members or {}
        clp = (db.session.get(Property, properties[0]).constituency_id if properties else
               db.session.get(Elector, electors[0]).constituency_id if electors else
               db.session.get(Member, next(iter(members))).constituency_id)
        assignment = Assignment(campaign_id=campaign, constituency_id=clp, kind=AssignmentKind(kind),
                                name=f"{kind} list", starts_at=starts or self.clock() - timedelta(days=1),
                                ends_at=ends or self.clock() + timedelta(days=14))
        assignment.items = ([AssignmentItem(property_id=p, position=i) for i, p in enumerate(properties)]
                            + [AssignmentItem(elector_id=e, position=i) for i, e in enumerate(electors)]
                            + [AssignmentItem(member_id=m, reason=why, position=i)
                               for i, (m, why) in enumerate(members.items())])
        assignment.assignees = [AssignmentUser(user_id=u) for u in users]
        db.session.add(assignment)
        db.session.commit()
        return assignment.id

    def member(self, clp, first_name, last_name, phone=None):
        n = next(self._ids)
        member = Member(membership_number=f"M{n:07d}", constituency_id=clp, joined_on=START.date(),
                        first_name=first_name, last_name=last_name, phone=phone)
        db.session.add(member)
        db.session.commit()
        return member.id

    def suppress(self, elector, kind="do_not_contact"):
        e = db.session.get(Elector, elector)
        db.session.add(Suppression(constituency_id=e.constituency_id, elector_id=elector, kind=SuppressionKind(kind),
                                   reason="Asked by letter", source="elector_request"))
        db.session.commit()

    def suppress_channel(self, elector, channel):
        e = db.session.get(Elector, elector)
        db.session.add(Suppression(constituency_id=e.constituency_id, elector_id=elector,
                                   kind=SuppressionKind.DO_NOT_CONTACT, channel=SuppressionChannel(channel),
                                   reason="No phone calls, please", source="elector_request"))
        db.session.commit()

    def rename(self, elector, surname):
        e = db.session.get(Elector, elector)
        e.surname = surname
        e.version += 1
        db.session.commit()

    def end_assignment(self, assignment):
        db.session.get(Assignment, assignment).ends_at = self.clock()
        db.session.commit()

    def revoke(self, device):
        row = db.session.get(Device, device.device_id)
        row.revoked_at, row.revoked_reason = self.clock(), "access_withdrawn"
        db.session.commit()
        return replace(device, access_ended_at=row.revoked_at)

    def contacts(self):
        db.session.expire_all()
        return [(r.id, r.elector_id, r.kind.value) for r in db.session.scalars(select(ContactRecord))]

    def state(self, elector):
        return self.store.state(elector)

    def reviews(self):
        return [(r.kind, r.elector_id) for r in db.session.scalars(select(ReviewItem).where(ReviewItem.status == "open"))]

    def phone_of(self, elector):
        db.session.expire_all()
        return db.session.get(Elector, elector).phone

    def suppression_count(self, elector):
        return db.session.scalar(select(func.count()).select_from(Suppression).where(
            Suppression.elector_id == elector, Suppression.lifted_at.is_(None)))
