"""Walk lists and call lists, built by a CLP admin and given to volunteers.

A walk list is a run of addresses in walking order (polling district, then street, odd and even sides,
blocks of flats kept whole), cut into lists of a chosen size in households or electors. A call list is a
set of electors with phone numbers (filtered by area, past intention or how long since anyone spoke to
them) or of members (welcome calls). Phones fetch a list when it changes because a list's pulled version
is its content (sync.views); ending or unassigning a list removes it from phones at their next pull, and
what they recorded stays.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone

from sqlalchemy import and_, func, or_, select

from server.auth.policy import Principal, scope_clause
from server.errors import NotFound, ValidationFailed
from server.extensions import db
from server.models import (
    Assignment,
    AssignmentItem,
    AssignmentKind,
    AssignmentUser,
    Campaign,
    Elector,
    ElectorState,
    ElectorStatus,
    Member,
    MemberStatus,
    PollingDistrict,
    Property,
    Role,
    Suppression,
    SuppressionChannel,
    SuppressionKind,
    User,
)
from server.orm import utcnow
from server.services import audit, reminders

# Who may be given a list: the roles that canvass and phone bank (a CLP admin may take one too).
LIST_HOLDERS = (Role.CANVASSER, Role.PHONE_BANKER, Role.CLP_ADMIN)
MAX_LIST_SIZE = 5000
MEETING_PLACE_MAX = 200  # Assignment.meeting_place
UNCHANGED = object()  # update_list: a session field left out of the request


@dataclass
class Stop:
    """One place to knock: a house, or a block of flats kept whole."""

    property_ids: list[int]
    electors: int
    street: str


@dataclass
class PlannedList:
    name: str
    property_ids: list[int] = field(default_factory=list)
    elector_ids: list[int] = field(default_factory=list)
    member_ids: list[int] = field(default_factory=list)
    reasons: dict[int, str] = field(default_factory=dict)
    households: int = 0
    electors: int = 0
    streets: list[str] = field(default_factory=list)


# ----------------------------------------------------------------------------------------- scoping

def _campaign(principal: Principal, campaign_id: int) -> Campaign:
    campaign = db.session.scalar(select(Campaign).where(Campaign.id == campaign_id,
                                                        scope_clause(principal, Campaign)))
    if campaign is None:
        raise ValidationFailed(details={"campaign_id": ["No such campaign in your scope."]})
    return campaign


def _districts(principal: Principal, polling_district_ids, ward_id) -> list[PollingDistrict]:
    stmt = select(PollingDistrict).where(scope_clause(principal, PollingDistrict))
    if ward_id is not None:
        stmt = stmt.where(PollingDistrict.ward_id == ward_id)
    if polling_district_ids:
        stmt = stmt.where(PollingDistrict.id.in_(polling_district_ids))
    districts = list(db.session.scalars(stmt.order_by(PollingDistrict.code)))
    asked = set(polling_district_ids or ())
    if asked - {d.id for d in districts} or (ward_id is not None and not districts):
        raise ValidationFailed(details={"polling_district_ids" if asked else "ward_id":
                                        ["Not a polling district or ward in your scope."]})
    return districts


def _one_constituency(principal: Principal, constituency_ids: set[int], constituency_id: int | None) -> int:
    """The CLP a list belongs to: a list never spans two CLPs."""
    if constituency_id is not None:
        constituency_ids = constituency_ids | {constituency_id}
    if len(constituency_ids) != 1:
        raise ValidationFailed(details={"constituency_id": [
            "A list belongs to one CLP: choose places in one constituency (national admins: give constituency_id)."]})
    (only,) = constituency_ids
    if not principal.covers_constituency(only):
        raise ValidationFailed(details={"constituency_id": ["Not a constituency in your scope."]})
    return only


def _holders(constituency_id: int, user_ids) -> list[int]:
    if not user_ids:
        return []
    found = set(db.session.scalars(select(User.id).where(
        User.id.in_(user_ids), User.constituency_id == constituency_id, User.role.in_(LIST_HOLDERS),
        User.active.is_(True))))
    missing = sorted(set(user_ids) - found)
    if missing:
        raise ValidationFailed(details={"assignee_ids": [
            f"Not an active canvasser, phone banker or CLP admin of this CLP: {', '.join(map(str, missing))}."]})
    return sorted(found)


def _objected(channel: SuppressionChannel):
    """Electors who objected to contact on ``channel`` (or to all contact, or asked to be erased)."""
    return select(Suppression.elector_id).where(
        Suppression.elector_id.is_not(None), Suppression.lifted_at.is_(None),
        or_(Suppression.kind == SuppressionKind.ERASURE,
            Suppression.channel.in_((SuppressionChannel.ALL, channel))))


# --------------------------------------------------------------------------------------- walk lists

def _stops(principal: Principal, districts: list[PollingDistrict], streets) -> list[Stop]:
    """The addresses with someone to canvass, in walking order, blocks of flats kept whole."""
    wanted_streets = {(s["polling_district_id"], s["street"].strip().lower()) for s in streets or ()}
    district_ids = [d.id for d in districts] or sorted({s[0] for s in wanted_streets})
    counts = (select(Elector.property_id, func.count().label("n"))
              .where(Elector.status == ElectorStatus.CURRENT, Elector.id.not_in(_objected(SuppressionChannel.DOOR)))
              .group_by(Elector.property_id).subquery())
    rows = db.session.execute(
        select(Property.id, Property.polling_district_id, Property.street, Property.house_number, Property.building,
               Property.sort_key, counts.c.n)
        .join(counts, counts.c.property_id == Property.id)
        .join(PollingDistrict, PollingDistrict.id == Property.polling_district_id)
        .where(Property.polling_district_id.in_(district_ids), scope_clause(principal, Property))
        .order_by(PollingDistrict.code, Property.sort_key, Property.id)).all()
    stops: list[Stop] = []
    block_of: dict[tuple, Stop] = {}
    for r in rows:
        street = r.street or "Other addresses"
        if wanted_streets and (r.polling_district_id, street.lower()) not in wanted_streets:
            continue
        if r.building:
            key = (r.polling_district_id, street, r.house_number, r.building)
            if key in block_of:
                block_of[key].property_ids.append(r.id)
                block_of[key].electors += r.n
                continue
            block_of[key] = Stop([r.id], r.n, street)
            stops.append(block_of[key])
        else:
            stops.append(Stop([r.id], r.n, street))
    return stops


def _walk_selection(principal: Principal, args: dict) -> tuple[Campaign, list[Stop], int]:
    campaign = _campaign(principal, args["campaign_id"])
    streets = args.get("streets") or []
    district_ids = list(args.get("polling_district_ids") or []) + [s["polling_district_id"] for s in streets]
    if not district_ids and args.get("ward_id") is None:
        raise ValidationFailed(details={"polling_district_ids": ["Choose polling districts, streets or a ward."]})
    districts = _districts(principal, sorted(set(district_ids)), args.get("ward_id"))
    constituency_id = _one_constituency(principal, {d.constituency_id for d in districts}, None)
    if campaign.constituency_id not in (None, constituency_id):
        raise ValidationFailed(details={"campaign_id": ["That campaign is another CLP's local drive."]})
    stops = _stops(principal, districts, streets)
    if not stops:
        raise ValidationFailed(details={"polling_district_ids": ["Nobody to canvass there."]})
    return campaign, stops, constituency_id


def _cut(stops: list[Stop], size: int, unit: str, name: str) -> list[PlannedList]:
    """Cut the run of stops into as few lists as keep each near ``size`` households or electors, with the
    cuts placed so the lists come out even (no list of one house at the end), never splitting a stop."""
    weights = [len(s.property_ids) if unit == "households" else s.electors for s in stops]
    total = sum(weights)
    count = max(1, min(len(stops), -(-total // size)))
    running, boundaries = 0, []  # boundaries[i]: the weight walked after stop i
    for w in weights:
        running += w
        boundaries.append(running)
    cuts, last = [], -1
    for k in range(1, count):
        target = k * total / count
        candidates = range(last + 1, len(stops) - (count - k))
        best = min(candidates, key=lambda i: (abs(boundaries[i] - target), i))
        cuts.append(best)
        last = best
    lists: list[PlannedList] = []
    start = 0
    for end in cuts + [len(stops) - 1]:
        planned = PlannedList(name)
        for stop in stops[start:end + 1]:
            planned.property_ids += stop.property_ids
            planned.households += len(stop.property_ids)
            planned.electors += stop.electors
            if stop.street not in planned.streets:
                planned.streets.append(stop.street)
        lists.append(planned)
        start = end + 1
    for number, planned in enumerate(lists, 1):
        where = ", ".join(planned.streets[:3]) + (" and more" if len(planned.streets) > 3 else "")
        planned.name = (f"{name}: " if name else "") + where
        if len(lists) > 1:
            planned.name += f" ({number} of {len(lists)})"
        planned.name = planned.name[:160]
    return lists


def plan_walk_lists(principal: Principal, args: dict) -> list[PlannedList]:
    """What the walk lists would be, without making them: the admin's preview."""
    _, stops, _ = _walk_selection(principal, args)
    return _cut(stops, args["size"], args["split_by"], args.get("name") or "")


def create_walk_lists(principal: Principal, args: dict) -> list[Assignment]:
    """Make the walk lists of a selection, dated and given to the volunteers named."""
    campaign, stops, constituency_id = _walk_selection(principal, args)
    planned = _cut(stops, args["size"], args["split_by"], args.get("name") or "")
    return _save(principal, campaign, constituency_id, AssignmentKind.WALK, planned, args)


# --------------------------------------------------------------------------------------- call lists

def plan_call_list(principal: Principal, args: dict) -> tuple[Campaign, int, list[PlannedList]]:
    """The people a call list would hold: electors with a number, or new members who agreed to calls."""
    campaign = _campaign(principal, args["campaign_id"])
    name = args.get("name") or ("Welcome calls" if args["source"] == "members" else "Phone bank")
    if args["source"] == "members":
        constituency_id = _one_constituency(principal, set(), args.get("constituency_id") or principal.constituency_id)
        stmt = (select(Member.id, Member.joined_on).where(
            Member.constituency_id == constituency_id, Member.phone.is_not(None), Member.consent_phone.is_(True),
            Member.status.in_((MemberStatus.NEW, MemberStatus.ACTIVE)), Member.erased_at.is_(None))
            .order_by(Member.joined_on.desc(), Member.id))
        if args.get("joined_since"):
            stmt = stmt.where(Member.joined_on >= args["joined_since"])
        objected = select(Suppression.member_id).where(Suppression.member_id.is_not(None),
                                                       Suppression.lifted_at.is_(None))
        rows = db.session.execute(stmt.where(Member.id.not_in(objected))).all()
        people = [(r.id, f"Welcome call: joined {r.joined_on.day} {r.joined_on:%b %Y}") for r in rows]
    else:
        districts = _districts(principal, args.get("polling_district_ids") or [], args.get("ward_id"))
        area = args.get("polling_district_ids") or args.get("ward_id") is not None
        constituency_id = _one_constituency(
            principal, {d.constituency_id for d in districts} if area else set(),
            args.get("constituency_id") or (None if area else principal.constituency_id))
        stmt = (select(Elector.id).outerjoin(ElectorState, ElectorState.elector_id == Elector.id)
                .join(Property, Property.id == Elector.property_id)
                .where(Elector.constituency_id == constituency_id, Elector.status == ElectorStatus.CURRENT,
                       Elector.phone.is_not(None), Elector.id.not_in(_objected(SuppressionChannel.PHONE)))
                .order_by(Elector.polling_district_id, Property.sort_key, Elector.id))
        if area:
            stmt = stmt.where(Elector.polling_district_id.in_([d.id for d in districts]))
        if args.get("intentions"):
            stmt = stmt.where(ElectorState.intention.in_(args["intentions"]))
        if args.get("not_contacted_since"):
            since = datetime.combine(args["not_contacted_since"], datetime.min.time()).astimezone()
            stmt = stmt.where(or_(ElectorState.last_contact_at.is_(None), ElectorState.last_contact_at < since))
        people = [(eid, None) for eid in db.session.scalars(stmt)]
    if campaign.constituency_id not in (None, constituency_id):
        raise ValidationFailed(details={"campaign_id": ["That campaign is another CLP's local drive."]})
    if not people:
        raise ValidationFailed(details={"source": ["Nobody matches: nobody to call."]})
    size = args.get("size") or MAX_LIST_SIZE
    lists = []
    for start in range(0, len(people), size):
        chunk = people[start:start + size]
        total = -(-len(people) // size)
        planned = PlannedList(name if total == 1 else f"{name} ({start // size + 1} of {total})")
        if args["source"] == "members":
            planned.member_ids = [pid for pid, _ in chunk]
            planned.reasons = {pid: why for pid, why in chunk}
        else:
            planned.elector_ids = [pid for pid, _ in chunk]
        planned.electors = len(chunk)
        lists.append(planned)
    return campaign, constituency_id, lists


def create_call_lists(principal: Principal, args: dict) -> list[Assignment]:
    campaign, constituency_id, planned = plan_call_list(principal, args)
    return _save(principal, campaign, constituency_id, AssignmentKind.CALL, planned, args)


# --------------------------------------------------------------------------------------- saving

def _dates(starts_at: datetime | None, ends_at: datetime | None) -> tuple[datetime, datetime]:
    starts_at = starts_at or utcnow()
    if ends_at is None or ends_at <= starts_at:
        raise ValidationFailed(details={"ends_at": ["A list must end after it starts."]})
    return starts_at, ends_at


def _session_at(session_at: datetime | None, starts_at: datetime, ends_at: datetime, *,
                changed: bool) -> datetime | None:
    """A session time in UTC, if it may be one: with its zone, within the list's dates, and (when it is being
    set) not already past. Refused with details naming ``session_at``."""
    if session_at is None:
        return None
    if session_at.tzinfo is None:
        raise ValidationFailed(details={"session_at": [
            "Give the time with its offset, e.g. 2026-12-03T18:30:00+00:00."]})
    session_at = session_at.astimezone(timezone.utc)
    if session_at <= utcnow():
        if not changed:
            return session_at  # a session held already is history: the list's dates may move past it
        raise ValidationFailed(details={"session_at": ["That time has passed: a session must be in the future."]})
    if not starts_at <= session_at < ends_at:
        raise ValidationFailed(details={"session_at": [
            "The session must fall within the list's dates (from when it starts to before it ends)."]})
    return session_at


def _meeting_place(text: str | None) -> str | None:
    """Where a session meets, on one line; empty is none."""
    text = " ".join((text or "").split())
    if len(text) > MEETING_PLACE_MAX:
        raise ValidationFailed(details={"meeting_place": [f"At most {MEETING_PLACE_MAX} characters."]})
    return text or None


def _save(principal, campaign, constituency_id, kind, planned: list[PlannedList], args) -> list[Assignment]:
    starts_at, ends_at = _dates(args.get("starts_at"), args.get("ends_at"))
    session_at = _session_at(args.get("session_at"), starts_at, ends_at, changed=True)
    meeting_place = _meeting_place(args.get("meeting_place"))
    holders = _holders(constituency_id, args.get("assignee_ids") or [])
    made = []
    for plan in planned:
        assignment = Assignment(campaign_id=campaign.id, constituency_id=constituency_id, kind=kind, name=plan.name,
                                starts_at=starts_at, ends_at=ends_at, created_by_id=principal.user_id,
                                session_at=session_at, meeting_place=meeting_place)
        targets = ([{"property_id": p} for p in plan.property_ids] + [{"elector_id": e} for e in plan.elector_ids]
                   + [{"member_id": m, "reason": plan.reasons.get(m)} for m in plan.member_ids])
        assignment.items = [AssignmentItem(position=i, **t) for i, t in enumerate(targets, 1)]
        assignment.assignees = [AssignmentUser(user_id=u) for u in holders]
        db.session.add(assignment)
        made.append(assignment)
    db.session.flush()
    audit.record_for(principal, "lists.create", target_type="assignment", target_id=",".join(str(a.id) for a in made),
                     constituency_id=constituency_id,
                     details={"kind": kind.value, "campaign_id": campaign.id, "lists": len(made),
                              "items": sum(len(a.items) for a in made), "assignee_ids": holders})
    reminders.lists_given(made, holders)
    db.session.commit()
    return made


def _owned(principal: Principal, assignment_id: int) -> Assignment:
    assignment = db.session.scalar(select(Assignment).where(
        Assignment.id == assignment_id, scope_clause(principal, Assignment)))
    if assignment is None:
        raise NotFound("No such list in your scope.")
    return assignment


def update_list(principal: Principal, assignment_id: int, *, name: str | None = None,
                starts_at: datetime | None = None, ends_at: datetime | None = None,
                session_at=UNCHANGED, meeting_place=UNCHANGED) -> Assignment:
    """Rename or re-date a list, or set, move or clear its session (None clears); phones holding it receive
    the change at their next pull, and its volunteers a notice."""
    assignment = _owned(principal, assignment_id)
    changes = {}
    if name is not None and name.strip() != assignment.name:
        changes["name"] = [assignment.name, name.strip()]
        assignment.name = name.strip()
    new_start, new_end = starts_at or assignment.starts_at, ends_at or assignment.ends_at
    if new_end <= new_start:
        raise ValidationFailed(details={"ends_at": ["A list must end after it starts."]})
    old_session = assignment.session_at
    new_session = old_session if session_at is UNCHANGED else session_at
    if new_session is not None and new_session.tzinfo is not None:
        new_session = new_session.astimezone(timezone.utc)
    moved = new_session != old_session
    if moved or (new_session is not None and (new_start, new_end) != (assignment.starts_at, assignment.ends_at)):
        new_session = _session_at(new_session, new_start, new_end, changed=moved)
    new_place = assignment.meeting_place if meeting_place is UNCHANGED else _meeting_place(meeting_place)
    for key, value in (("starts_at", new_start), ("ends_at", new_end), ("session_at", new_session)):
        if getattr(assignment, key) != value:
            old = getattr(assignment, key)
            changes[key] = [old.isoformat() if old else None, value.isoformat() if value else None]
            setattr(assignment, key, value)
    if new_place != assignment.meeting_place:
        changes["meeting_place"] = [assignment.meeting_place, new_place]
        assignment.meeting_place = new_place
    if changes:
        assignment.version += 1
        audit.record_for(principal, "lists.update", target_type="assignment", target_id=assignment.id,
                         constituency_id=assignment.constituency_id, details=changes)
        reminders.assignment_changed(assignment, changed=True)
    db.session.commit()
    return assignment


def end_list(principal: Principal, assignment_id: int) -> Assignment:
    """End a list now: it leaves every phone at their next pull, and what was recorded stays."""
    assignment = _owned(principal, assignment_id)
    now = utcnow()
    if assignment.ends_at > now:
        assignment.ends_at = max(now, assignment.starts_at)
        audit.record_for(principal, "lists.end", target_type="assignment", target_id=assignment.id,
                         constituency_id=assignment.constituency_id)
        reminders.list_ended(assignment)
        db.session.commit()
    return assignment


def set_assignees(principal: Principal, assignment_id: int, user_ids: list[int]) -> Assignment:
    """Give the list to exactly these volunteers; anyone removed loses it at their next pull."""
    assignment = _owned(principal, assignment_id)
    wanted = set(_holders(assignment.constituency_id, user_ids))
    current = {a.user_id for a in assignment.assignees}
    assignment.assignees = [a for a in assignment.assignees if a.user_id in wanted]
    assignment.assignees += [AssignmentUser(user_id=u) for u in sorted(wanted - current)]
    if wanted != current:
        audit.record_for(principal, "lists.assign", target_type="assignment", target_id=assignment.id,
                         constituency_id=assignment.constituency_id,
                         details={"added": sorted(wanted - current), "removed": sorted(current - wanted)})
        reminders.assignment_changed(assignment, added_user_ids=wanted - current,
                                     removed_user_ids=current - wanted)
    db.session.commit()
    return assignment


# --------------------------------------------------------------------------------------- reading

@dataclass
class ListProgress:
    assignment: Assignment
    households: int  # addresses (walk) or people (call)
    electors: int
    reached: int  # doors knocked (walk) or people called (call) since the list began
    spoke: int  # electors spoken to since the list began
    assignees: list[dict]

    @property
    def contact_rate(self) -> float | None:
        return round(self.spoke / self.electors, 3) if self.electors else None


def list_lists(principal: Principal, *, campaign_id: int | None = None, include_ended: bool = False) -> list[ListProgress]:
    stmt = select(Assignment).where(scope_clause(principal, Assignment))
    if campaign_id is not None:
        stmt = stmt.where(Assignment.campaign_id == campaign_id)
    if not include_ended:
        stmt = stmt.where(Assignment.ends_at > utcnow())
    assignments = list(db.session.scalars(stmt.order_by(Assignment.starts_at.desc(), Assignment.id)))
    return [progress_of(a) for a in assignments]


def get_list(principal: Principal, assignment_id: int) -> ListProgress:
    return progress_of(_owned(principal, assignment_id))


def progress_of(a: Assignment) -> ListProgress:
    """How far a list has got: doors knocked or people called, and electors spoken to, since it began."""
    items = select(AssignmentItem).where(AssignmentItem.assignment_id == a.id).subquery()
    people = (select(Elector.id, Elector.property_id).where(Elector.status == ElectorStatus.CURRENT, or_(
        Elector.property_id.in_(select(items.c.property_id)), Elector.id.in_(select(items.c.elector_id)))).subquery())
    state = (select(people.c.id, people.c.property_id, ElectorState.last_door_at, ElectorState.last_door_outcome,
                    ElectorState.last_call_at, ElectorState.last_call_outcome)
             .outerjoin(ElectorState, ElectorState.elector_id == people.c.id).subquery())
    if a.kind == AssignmentKind.WALK:
        at, outcome = state.c.last_door_at, state.c.last_door_outcome
        reached = func.count(func.distinct(state.c.property_id)).filter(at >= a.starts_at)
    else:
        at, outcome = state.c.last_call_at, state.c.last_call_outcome
        reached = func.count().filter(at >= a.starts_at)
    row = db.session.execute(select(func.count(), reached, func.count().filter(and_(at >= a.starts_at,
                                                                                      outcome == "spoke")))
                             .select_from(state)).one()
    households = db.session.scalar(select(func.count()).select_from(items))
    members = db.session.scalar(select(func.count()).select_from(items).where(items.c.member_id.is_not(None)))
    assignees = [{"id": u.id, "name": u.name, "role": u.role.value} for u in db.session.scalars(
        select(User).join(AssignmentUser, AssignmentUser.user_id == User.id)
        .where(AssignmentUser.assignment_id == a.id).order_by(User.name))]
    return ListProgress(a, households, row[0] + members, row[1], row[2], assignees)


def streets_of(principal: Principal, *, polling_district_id: int | None = None, ward_id: int | None = None) -> list[dict]:
    """The streets of a polling district or ward with how many addresses and electors each has, to choose from."""
    if polling_district_id is None and ward_id is None:
        raise ValidationFailed(details={"polling_district_id": ["Give a polling district or a ward."]})
    districts = _districts(principal, [polling_district_id] if polling_district_id else [], ward_id)
    rows = db.session.execute(
        select(Property.polling_district_id, func.coalesce(Property.street, "Other addresses").label("street"),
               func.count(func.distinct(Property.id)), func.count(Elector.id))
        .join(Elector, and_(Elector.property_id == Property.id, Elector.status == ElectorStatus.CURRENT))
        .where(Property.polling_district_id.in_([d.id for d in districts]))
        .group_by(Property.polling_district_id, "street")
        .order_by(Property.polling_district_id, "street")).all()
    return [{"polling_district_id": r[0], "street": r[1], "addresses": r[2], "electors": r[3]} for r in rows]


def volunteers_for_lists(principal: Principal, constituency_id: int | None = None) -> list[User]:
    """Who a list may be given to, in the admin's scope."""
    stmt = select(User).where(User.role.in_(LIST_HOLDERS), User.active.is_(True),
                              User.constituency_id.in_(principal.constituency_ids or [constituency_id])
                              if principal.constituency_ids is not None else User.constituency_id.is_not(None))
    if constituency_id is not None:
        stmt = stmt.where(User.constituency_id == constituency_id)
    return list(db.session.scalars(stmt.order_by(User.name)))
