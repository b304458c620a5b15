"""Recognition (docs/recognition.md): a volunteer's counts, the milestones they reach, and opt-in leaderboards.

Counts are read from the monitoring rollups (server/services/rollups.py), which fold corrections, retractions
and undone imports, so what a volunteer sees agrees with what their CLP's dashboard counts. A milestone is a
row unique per volunteer, campaign, measure and threshold: inserted once, whatever arrives twice, out of order,
from two phones or by import, and never again after an undo and a redo. Leaderboards rank teams first, and
people only if they said yes; nobody is shown a bottom, and nobody who did not opt in is ever ranked.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta, timezone

from sqlalchemy import func, or_, select

from server.auth.policy import Principal, ScopeKind, scope_clause
from server.errors import NotFound, ValidationFailed
from server.extensions import db
from server.jobs.runs import last_success
from server.models import (
    ActivityRollup,
    ActivitySeat,
    Assignment,
    AssignmentItem,
    AssignmentKind,
    AssignmentUser,
    Campaign,
    Channel,
    Constituency,
    ContactRecord,
    Elector,
    JobRun,
    Milestone,
    Region,
    Role,
    User,
)
from server.orm import dialect_insert, utcnow
from server.services import audit, notices, reads, rollups

MEASURES = ("calls", "doors")
DEFAULT_MILESTONES = {"calls": [250, 500, 1000, 1500, 2000, 3000, 4000],
                      "doors": [100, 250, 500, 1000, 1500, 2000, 3000]}
MAX_THRESHOLD, MAX_STEPS = 1_000_000, 20
JOB = "milestones"
# The job reads again what arrived this long before its last run: records the rollups had not counted yet then.
OVERLAP = timedelta(minutes=10)
FIRST_LOOK = timedelta(days=1)  # how far back the first run ever looks
RECENT = timedelta(days=7)  # a campaign that ended this long ago still celebrates late-arriving records
NEVER = datetime(1970, 1, 1, tzinfo=timezone.utc)
TOP = 10  # a board shows at most this many, always from the top
WORDS = {"calls": ("call", "calls made"), "doors": ("door", "doors knocked")}


# ------------------------------------------------------------------------------------------ configuration

def parse_milestones(value) -> dict | None:
    """A campaign's milestones as given in a request, checked: None (the defaults), or for each measure given,
    ascending unique whole numbers from 1 to 1,000,000, at most 20. A measure left out keeps its defaults."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ValidationFailed(details={"milestones": ['Give {"calls": [...], "doors": [...]}, or null for the '
                                                       "defaults."]})
    problems: dict[str, list[str]] = {}
    out: dict[str, list[int]] = {}
    for measure, steps in value.items():
        if measure not in MEASURES:
            problems[str(measure)] = [f"Unknown measure: choose from {', '.join(MEASURES)}."]
            continue
        if not isinstance(steps, list) or not all(isinstance(s, int) and not isinstance(s, bool) for s in steps):
            problems[measure] = ["Give a list of whole numbers."]
        elif len(steps) > MAX_STEPS:
            problems[measure] = [f"At most {MAX_STEPS} milestones."]
        elif any(s < 1 or s > MAX_THRESHOLD for s in steps):
            problems[measure] = [f"Each milestone is from 1 to {MAX_THRESHOLD:,}."]
        elif any(a >= b for a, b in zip(steps, steps[1:])):
            problems[measure] = ["Give each milestone once, smallest first."]
        else:
            out[measure] = list(steps)
    if problems:
        raise ValidationFailed(details={"milestones": problems})
    return out


def thresholds(campaign: Campaign | None) -> dict[str, list[int]]:
    """The milestones a campaign celebrates: its own where it set them, the defaults for the rest."""
    own = (campaign.milestones if campaign is not None else None) or {}
    return {m: list(own[m]) if m in own else list(DEFAULT_MILESTONES[m]) for m in MEASURES}


# ------------------------------------------------------------------------------------------ counts

_ZERO = {"calls": 0, "doors": 0, "conversations": 0}


def _rollup_sums(user_id: int, *where) -> dict:
    row = db.session.execute(select(*(func.coalesce(func.sum(ActivityRollup.__table__.c[c]), 0) for c in _ZERO))
                             .where(ActivityRollup.user_key == user_id, *where)).one()
    return {c: int(v) for c, v in zip(_ZERO, row)}


def session_counts(user_id: int, since: datetime) -> dict:
    """What this volunteer did from ``since`` (every campaign), counted as the rollups count it but from the
    contact records themselves, so a session is right before the rollups job has run: corrections replace, and
    retractions remove, what they name (reusing the rollups' fold)."""
    tally = rollups.Tally()
    mine = select(ContactRecord.campaign_id, ContactRecord.elector_id).where(
        ContactRecord.user_id == user_id, ContactRecord.occurred_at >= since)
    touched: dict[int, set] = defaultdict(set)
    for campaign_id, elector_id in db.session.execute(mine.distinct()):
        touched[campaign_id].add(elector_id)
    for campaign_id, electors in touched.items():
        meanings = rollups.outcome_meanings(campaign_id)
        ids = sorted(e for e in electors if e is not None)
        if ids:
            by_elector, links = rollups.record_chains(campaign_id, ContactRecord.elector_id.in_(ids), None)
            for elector_id, records in by_elector.items():
                events = rollups.effective_events(records, meanings, links.get(elector_id))
                tally.add([e for e in events if e.user_id == user_id and e.occurred_at >= since],
                          records[0].polling_district_id, records[0].property_id)
        if None in electors:  # calls to members and unmatched imported rows: their own chains, among this user's
            rows = db.session.execute(select(*rollups.RECORD_COLUMNS).where(
                ContactRecord.campaign_id == campaign_id, ContactRecord.user_id == user_id,
                ContactRecord.elector_id.is_(None), ContactRecord.occurred_at >= since)).all()
            tally.add([e for e in rollups.effective_events(rows, meanings) if e.occurred_at >= since], 0, None)
    sums = [sum(cell[i] for cell in tally.cells.values()) for i in (1, 2, 3)]
    return {"doors": sums[0], "calls": sums[1], "conversations": sums[2]}


def unrolled(user_id: int, through: datetime | None) -> dict[tuple[int, date], list[int]]:
    """What this volunteer's records received after ``through`` (the rollups' as_of) add to their counts, by
    (campaign, week): [doors, calls, conversations]. Worked out as the rollups job will, by difference: each
    touched property's records with and without the new ones, so a door already counted today, a correction or
    an undo comes out as the job will count it. Lets a volunteer see the calls they have just sent."""
    through = through or NEVER  # the rollups have never run: everything is still to count
    touched = db.session.execute(select(ContactRecord.campaign_id, ContactRecord.elector_id).where(
        ContactRecord.user_id == user_id, ContactRecord.received_at > through).distinct()).all()
    out: dict[tuple[int, date], list[int]] = defaultdict(lambda: [0, 0, 0])
    for campaign_id in sorted({c for c, _ in touched}):
        meanings = rollups.outcome_meanings(campaign_id)
        electors = sorted(e for c, e in touched if c == campaign_id and e is not None)
        after, before = rollups.Tally(), rollups.Tally()
        if electors:
            homes = select(Elector.property_id).where(Elector.id.in_(electors)).scalar_subquery()
            for tally, upper in ((after, None), (before, through)):
                chains, links = rollups.record_chains(campaign_id, Elector.property_id.in_(homes), upper)
                for elector_id, records in chains.items():
                    tally.add(rollups.effective_events(records, meanings, links.get(elector_id)),
                              records[0].polling_district_id, records[0].property_id)
        if any(c == campaign_id and e is None for c, e in touched):  # calls to members: this user's own chains
            mine = select(*rollups.RECORD_COLUMNS).where(ContactRecord.campaign_id == campaign_id,
                                                         ContactRecord.user_id == user_id,
                                                         ContactRecord.elector_id.is_(None))
            for tally, upper in ((after, None), (before, through)):
                rows = db.session.execute(mine if upper is None else mine.where(ContactRecord.received_at <= upper))
                tally.add(rollups.effective_events(rows.all(), meanings), 0, None)
        for (_district, week, user), change in after.minus(before).items():
            if user == user_id:
                cell = out[(campaign_id, week)]
                for i, column in enumerate((1, 2, 3)):
                    cell[i] += change[column]
    return dict(out)


def counts(user_id: int, campaign: Campaign | None, since: datetime | None = None,
           now: datetime | None = None) -> dict:
    """Calls, doors and conversations: this session (from ``since``), this week (Monday UTC, every campaign),
    this campaign and in total (every campaign), from every device the volunteer has used: the rollups, plus
    what the volunteer sent since the rollups job last ran."""
    now = now or utcnow()
    found = {
        "session": session_counts(user_id, since) if since is not None else None,
        "week": _rollup_sums(user_id, ActivityRollup.week == rollups.week_of(now)),
        "campaign": _rollup_sums(user_id, ActivityRollup.campaign_id == campaign.id) if campaign else dict(_ZERO),
        "total": _rollup_sums(user_id),
    }
    for (campaign_id, week), change in unrolled(user_id, rollups.as_of()).items():
        periods = ["total"] + (["week"] if week == rollups.week_of(now) else []) + (
            ["campaign"] if campaign is not None and campaign_id == campaign.id else [])
        for period in periods:
            for measure, delta in zip(("doors", "calls", "conversations"), change):
                found[period][measure] += delta
    return found


# ------------------------------------------------------------------------------------------ milestones

def _celebrating(today) -> dict[int, Campaign]:
    """Campaigns whose milestones still fire: running, or ended in the last week."""
    return {c.id: c for c in db.session.scalars(select(Campaign).where(
        Campaign.starts_on <= today, Campaign.ends_on >= today - RECENT))}


def _window_start(now: datetime) -> datetime:
    """Records received after this may have moved someone past a milestone since the last successful run: that
    run's start, or (if the rollups lagged) the time the rollups had then counted up to, less the overlap."""
    last = last_success(JOB)
    if last is None:
        return now - FIRST_LOOK
    start = last
    result = db.session.scalar(select(JobRun.result).where(JobRun.job == JOB, JobRun.status == "ok")
                               .order_by(JobRun.started_at.desc()).limit(1))
    through = (result or {}).get("through")
    if through:
        try:
            start = min(start, datetime.fromisoformat(through))
        except (TypeError, ValueError):
            pass
    return start - OVERLAP


def _first_name(name: str) -> str:
    return (name or "").split()[0] if (name or "").split() else "friend"


def _announce(milestone: Milestone, user: User, admins: set[int], clp_name: str | None) -> int:
    """The volunteer's celebration and their CLP admins' prompt to thank them; neither names anyone else."""
    n, measure = milestone.threshold, milestone.measure
    what = f"{n:,} {'calls' if measure == 'calls' else 'doors knocked'}"
    data = {"milestone_id": milestone.id, "campaign_id": milestone.campaign_id, "measure": measure, "threshold": n}
    which = f"{milestone.campaign_id}:{measure}:{n}"
    written = int(notices.add(user.id, kind="milestone", key=f"milestone:{which}", link="#/thanks", data=data,
                              text=f"{what} this campaign. Thank you, {_first_name(user.name)}!",
                              push=f"{what} this campaign. Thank you!"))
    done = f"made {n:,} calls" if measure == "calls" else f"knocked on {n:,} doors"
    for admin_id in sorted(admins - {user.id}):
        written += notices.add(admin_id, kind="milestone_admin", key=f"milestone:{user.id}:{which}",
                               link="#/admin/recognition", data=data,
                               text=f"A volunteer in {clp_name or 'your CLP'} has {done} this campaign: open "
                                    "Groundwork to see who and thank them")
    return written


def check_milestones(user_ids=None) -> dict:
    """The scheduler's ``milestones`` job: insert each milestone volunteers have passed in a campaign running or
    ended in the last week, once (INSERT .. ON CONFLICT DO NOTHING on the unique row), and tell the volunteer and
    their CLP's admins. Looks at the volunteers with records received since the last successful run (less an
    overlap), or at ``user_ids``. Counts are the rollups', so a record counts once it is in them."""
    now = utcnow()
    through = rollups.as_of()
    campaigns = _celebrating(now.date())
    result = {"volunteers": 0, "milestones": 0, "notices": 0, "through": through.isoformat() if through else None}
    if not campaigns:
        return result
    if user_ids is None:
        user_ids = set(db.session.scalars(select(ContactRecord.user_id).where(
            ContactRecord.received_at > _window_start(now), ContactRecord.user_id.is_not(None),
            ContactRecord.campaign_id.in_(sorted(campaigns))).distinct()))
    users = {u.id: u for u in db.session.scalars(select(User).where(
        User.id.in_(sorted(set(user_ids))), User.active.is_(True)))} if user_ids else {}
    result["volunteers"] = len(users)
    if not users:
        return result
    sums = db.session.execute(
        select(ActivityRollup.user_key, ActivityRollup.campaign_id, func.sum(ActivityRollup.calls),
               func.sum(ActivityRollup.doors))
        .where(ActivityRollup.user_key.in_(sorted(users)), ActivityRollup.campaign_id.in_(sorted(campaigns)))
        .group_by(ActivityRollup.user_key, ActivityRollup.campaign_id)).all()
    have = {(m.user_id, m.campaign_id, m.measure, m.threshold) for m in db.session.scalars(
        select(Milestone).where(Milestone.user_id.in_(sorted(users)),
                                Milestone.campaign_id.in_(sorted(campaigns))))}
    admins = None
    clp_names: dict[int, str] = {}
    for user_id, campaign_id, calls, doors in sums:
        user, campaign = users[user_id], campaigns[campaign_id]
        reached = {"calls": int(calls or 0), "doors": int(doors or 0)}
        for measure, steps in thresholds(campaign).items():
            for threshold in steps:
                if threshold > reached[measure] or (user_id, campaign_id, measure, threshold) in have:
                    continue
                stmt = (dialect_insert(db.session, Milestone).values(
                    user_id=user_id, campaign_id=campaign_id, constituency_id=user.constituency_id, measure=measure,
                    threshold=threshold, count=reached[measure], reached_at=now)
                    .on_conflict_do_nothing(index_elements=["user_id", "campaign_id", "measure", "threshold"])
                    .returning(Milestone.id))
                new_id = db.session.execute(stmt).scalar()
                if new_id is None:  # another run (or this volunteer's phone) got there first
                    continue
                result["milestones"] += 1
                if admins is None:
                    admins = notices.holders_by_clp(Role.CLP_ADMIN, now)
                clp = user.constituency_id
                if clp is not None and clp not in clp_names:
                    clp_names[clp] = db.session.scalar(select(Constituency.name).where(Constituency.id == clp))
                result["notices"] += _announce(db.session.get(Milestone, new_id), user,
                                               admins.get(clp, set()) if clp is not None else set(),
                                               clp_names.get(clp))
    db.session.commit()
    return result


# ------------------------------------------------------------------------------------------ the volunteer's view

def _brief(campaign: Campaign | None) -> dict | None:
    if campaign is None:
        return None
    return {"id": campaign.id, "name": campaign.name, "starts_on": campaign.starts_on, "ends_on": campaign.ends_on}


def _campaign(principal: Principal, campaign_id: int | None) -> Campaign | None:
    """The campaign asked for (in scope), else the one running today that this person has done most in (a national
    one before a local drive when level), else the latest to end; None if there is none."""
    if campaign_id is not None:
        return reads.get_campaign(principal, campaign_id)
    campaigns = list(db.session.scalars(select(Campaign).where(scope_clause(principal, Campaign))))
    if not campaigns:
        return None
    today = utcnow().date()
    running = [c for c in campaigns if c.starts_on <= today <= c.ends_on]
    if not running:
        return max(campaigns, key=lambda c: (c.ends_on, c.id))
    done = dict(db.session.execute(
        select(ActivityRollup.campaign_id, func.sum(ActivityRollup.calls + ActivityRollup.doors))
        .where(ActivityRollup.user_key == principal.user_id,
               ActivityRollup.campaign_id.in_([c.id for c in running]))
        .group_by(ActivityRollup.campaign_id)).all())
    return max(running, key=lambda c: (int(done.get(c.id) or 0), c.constituency_id is None, c.starts_on, c.id))


def my_recognition(principal: Principal, *, since: datetime | None = None, campaign_id: int | None = None) -> dict:
    """A volunteer's counts, their campaign's milestones and the next ones, and the milestones they have reached.

    Runs the milestone check for this person first, so a phone sees a milestone as soon as the rollups hold the
    record that reached it. ``reached`` lists this campaign's milestones and any not yet celebrated elsewhere.
    A ``since`` in the future is a session with nothing in it yet, not an error (phones' clocks drift)."""
    now = utcnow()
    campaign = _campaign(principal, campaign_id)
    check_milestones([principal.user_id])
    found = counts(principal.user_id, campaign, since, now)
    steps = thresholds(campaign)
    stmt = select(Milestone).where(Milestone.user_id == principal.user_id)
    if campaign is not None:
        stmt = stmt.where(or_(Milestone.campaign_id == campaign.id, Milestone.celebrated_at.is_(None)))
    else:
        stmt = stmt.where(Milestone.celebrated_at.is_(None))
    reached = list(db.session.scalars(stmt.order_by(Milestone.reached_at, Milestone.id)))
    # A milestone once reached is not offered again, even when an undo has taken the count below it.
    done = {(m.measure, m.threshold) for m in reached if campaign is not None and m.campaign_id == campaign.id}
    user = db.session.get(User, principal.user_id)
    return {
        "as_of": now,  # the rollups, and what arrived since they were last kept
        "campaign": _brief(campaign),
        "counts": found,
        "milestones": steps,
        "next": {m: next((s for s in steps[m] if s > found["campaign"][m] and (m, s) not in done), None)
                 for m in MEASURES},
        "reached": reached,
        "leaderboard_opt_in": bool(user.leaderboard_opt_in),
    }


def celebrated(principal: Principal, milestone_ids: list[int], *, since: datetime | None = None,
               campaign_id: int | None = None) -> dict:
    """Note that the phone has shown these milestones (each once: the first time stands). Only one's own."""
    ids = sorted(set(milestone_ids))
    found = {m.id: m for m in db.session.scalars(select(Milestone).where(
        Milestone.id.in_(ids), Milestone.user_id == principal.user_id))} if ids else {}
    missing = [i for i in ids if i not in found]
    if missing:
        raise NotFound("No such milestone of yours.", {"milestone_ids": missing})
    now = utcnow()
    for milestone in found.values():
        if milestone.celebrated_at is None:
            milestone.celebrated_at = now
    db.session.commit()
    return my_recognition(principal, since=since, campaign_id=campaign_id)


def set_opt_in(principal: Principal, opt_in: bool) -> bool:
    """Say yes or no to being shown on your CLP's leaderboard; no takes effect at once."""
    user = db.session.get(User, principal.user_id)
    if bool(user.leaderboard_opt_in) != opt_in:
        user.leaderboard_opt_in = opt_in
        audit.record_for(principal, "leaderboard.opt_in" if opt_in else "leaderboard.opt_out",
                         target_type="user", target_id=user.id)
        db.session.commit()
    return bool(user.leaderboard_opt_in)


# ------------------------------------------------------------------------------------------ the admin's view

def _milestone_rows(stmt) -> list[dict]:
    milestones = list(db.session.scalars(stmt))
    people = {u.id: u.name for u in db.session.scalars(select(User).where(User.id.in_(sorted(
        {m.user_id for m in milestones} | {m.thanked_by_id for m in milestones if m.thanked_by_id}))))}
    names = dict(db.session.execute(select(Campaign.id, Campaign.name).where(
        Campaign.id.in_(sorted({m.campaign_id for m in milestones})))).all())
    return [{"id": m.id, "user_id": m.user_id, "volunteer_name": people.get(m.user_id),
             "constituency_id": m.constituency_id, "campaign_id": m.campaign_id,
             "campaign_name": names.get(m.campaign_id), "measure": m.measure, "threshold": m.threshold,
             "count": m.count, "reached_at": m.reached_at, "thanked_at": m.thanked_at,
             "thanked_by_name": people.get(m.thanked_by_id)} for m in milestones]


def list_milestones(principal: Principal, campaign_id: int | None = None, limit: int = 500) -> list[dict]:
    """The milestones your volunteers have reached, newest first, with their names, so you can thank them."""
    stmt = select(Milestone).where(scope_clause(principal, Milestone))
    if campaign_id is not None:
        stmt = stmt.where(Milestone.campaign_id == reads.get_campaign(principal, campaign_id).id)
    return _milestone_rows(stmt.order_by(Milestone.reached_at.desc(), Milestone.id.desc()).limit(limit))


def thank(principal: Principal, milestone_id: int, message: str | None = None) -> dict:
    """Thank a volunteer for a milestone: a notice to them, audited.

    Thanking again is allowed (another admin may add their own word): each admin's thanks reaches the volunteer
    once (the notice's key names the milestone and the admin), and ``thanked_at``/``thanked_by`` keep the first."""
    milestone = db.session.scalar(select(Milestone).where(Milestone.id == milestone_id,
                                                          scope_clause(principal, Milestone)))
    if milestone is None:
        raise NotFound("No such milestone in your scope.", {"milestone_id": [milestone_id]})
    me = db.session.get(User, principal.user_id)
    campaign = db.session.get(Campaign, milestone.campaign_id)
    message = (message or "").strip() or None
    if milestone.thanked_at is None:
        milestone.thanked_at, milestone.thanked_by_id = utcnow(), me.id
    what = f"{milestone.threshold:,} {'calls' if milestone.measure == 'calls' else 'doors knocked'}"
    text = f"{_first_name(me.name)} says thank you for your {what} in {campaign.name}"
    notices.add(milestone.user_id, kind="thanks", key=f"thanks:{milestone.id}:{me.id}", link="#/thanks",
                text=f"{text}: “{message}”" if message else f"{text}!",
                push=f"A thank-you for your {what} this campaign. Open Groundwork to read it.",
                data={"milestone_id": milestone.id, "campaign_id": milestone.campaign_id})
    audit.record_for(principal, "milestone.thank", target_type="milestone", target_id=milestone.id,
                     constituency_id=milestone.constituency_id,
                     details={"user_id": milestone.user_id, "measure": milestone.measure,
                              "threshold": milestone.threshold, "message": message is not None})
    db.session.commit()
    return _milestone_rows(select(Milestone).where(Milestone.id == milestone.id))[0]


# ------------------------------------------------------------------------------------------ leaderboards

def _ranked(scores: list[tuple], top: int = TOP) -> list[tuple[int, tuple]]:
    """(rank, item) for items with a score above nothing, highest first, ties sharing a rank (1, 2, 2, 4); only
    the top ``top``. Each item is (key, name, calls, doors)."""
    ordered = sorted((s for s in scores if s[2] + s[3] > 0), key=lambda s: (-(s[2] + s[3]), s[1], s[0]))
    out, rank, last = [], 0, None
    for i, item in enumerate(ordered):
        if item[2] + item[3] != last:
            rank, last = i + 1, item[2] + item[3]
        out.append((rank, item))
    return out[:top] if top else out


def _display_name(name: str) -> str:
    """First name and surname initial: "Sam Okafor" is "Sam O."."""
    parts = (name or "").split()
    if not parts:
        return "A volunteer"
    return parts[0] if len(parts) == 1 else f"{parts[0]} {parts[-1][0].upper()}."


def _board_clps(principal: Principal) -> list[int]:
    """The CLPs a viewer's boards cover: their own CLP, their region's, or (national roles) every one."""
    if principal.scope_kind == ScopeKind.CONSTITUENCY:
        return [principal.constituency_id]
    return sorted(db.session.scalars(select(Constituency.id).where(scope_clause(principal, Constituency))))


def _constituency_board(principal: Principal, campaign: Campaign) -> dict:
    """CLPs ranked by calls and doors this campaign: the viewer's region's (national roles: every CLP)."""
    stmt = select(Constituency.id, Constituency.name, ActivitySeat.calls, ActivitySeat.doors).join(
        ActivitySeat, ActivitySeat.constituency_id == Constituency.id).where(ActivitySeat.campaign_id == campaign.id)
    title = "Constituencies"
    if principal.scope_kind != ScopeKind.NATION and principal.region_id is not None:
        stmt = stmt.where(Constituency.region_id == principal.region_id)
        region = db.session.get(Region, principal.region_id)
        title = f"Constituencies in {region.name}" if region else title
    scores = [(i, n, int(c or 0), int(d or 0)) for i, n, c, d in db.session.execute(stmt)]
    return {"kind": "constituencies", "title": title, "entries": [
        {"rank": rank, "name": name, "calls": calls, "doors": doors,
         "is_mine": clp == principal.constituency_id} for rank, (clp, name, calls, doors) in _ranked(scores)]}


def phone_bank_calls(campaign_id: int, clps: list[int]) -> tuple[dict[int, int], dict[int, dict[int, int]]]:
    """Calls made for each call list (a phone bank) of these CLPs in a campaign, and by each of its volunteers.

    A call counts for a list when it stands (corrections replace, retractions remove, as the rollups fold them),
    was made by one of the list's volunteers, to an elector or member on the list, at a time within the list's
    window (from its start to its end). A call may count for two lists that share a volunteer, a person and a
    time; it is still one call on the volunteer's own counts."""
    lists = list(db.session.scalars(select(Assignment).where(
        Assignment.campaign_id == campaign_id, Assignment.kind == AssignmentKind.CALL,
        Assignment.constituency_id.in_(clps))))
    if not lists:
        return {}, {}
    ids = [a.id for a in lists]
    electors, members, callers = defaultdict(set), defaultdict(set), defaultdict(set)
    for list_id, elector_id, member_id in db.session.execute(select(
            AssignmentItem.assignment_id, AssignmentItem.elector_id, AssignmentItem.member_id)
            .where(AssignmentItem.assignment_id.in_(ids))):
        if elector_id is not None:
            electors[list_id].add(elector_id)
        if member_id is not None:
            members[list_id].add(member_id)
    for list_id, user_id in db.session.execute(select(AssignmentUser.assignment_id, AssignmentUser.user_id)
                                               .where(AssignmentUser.assignment_id.in_(ids))):
        callers[list_id].add(user_id)
    on_lists = AssignmentItem.assignment_id.in_(ids)
    rows = db.session.execute(select(*rollups.RECORD_COLUMNS, ContactRecord.member_id).where(
        ContactRecord.campaign_id == campaign_id, ContactRecord.constituency_id.in_(clps),
        ContactRecord.channel == Channel.PHONE,
        ContactRecord.user_id.in_(select(AssignmentUser.user_id).where(AssignmentUser.assignment_id.in_(ids))),
        or_(ContactRecord.elector_id.in_(select(AssignmentItem.elector_id).where(on_lists)),
            ContactRecord.member_id.in_(select(AssignmentItem.member_id).where(on_lists))))).all()
    chains: dict[tuple, list] = defaultdict(list)
    for r in rows:
        chains[("e", r.elector_id) if r.elector_id is not None else ("m", r.member_id)].append(r)
    links = rollups.elector_links(sorted(k[1] for k, rs in chains.items()
                                  if k[0] == "e" and any(r.kind.value != "record" for r in rs)))
    made: dict[int, int] = defaultdict(int)
    by_caller: dict[int, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for (kind, target), records in chains.items():
        for event in rollups.effective_events(records, {}, links.get(target) if kind == "e" else None):
            for a in lists:
                listed = electors[a.id] if kind == "e" else members[a.id]
                if (event.user_id in callers[a.id] and target in listed
                        and a.starts_at <= event.occurred_at <= a.ends_at):
                    made[a.id] += 1
                    by_caller[a.id][event.user_id] += 1
    return dict(made), {list_id: dict(counts) for list_id, counts in by_caller.items()}


def _phone_bank_boards(principal: Principal, campaign: Campaign, clps: list[int]) -> tuple[dict, list[dict]]:
    """The phone banks' team board, and for each phone bank the viewer is on, its opt-in board of volunteers
    (people boards only for a CLP's people, as ``_people_board``)."""
    made, by_caller = phone_bank_calls(campaign.id, clps)
    lists = {a.id: a.name for a in db.session.scalars(select(Assignment).where(Assignment.id.in_(sorted(made))))}
    mine = set(db.session.scalars(select(AssignmentUser.assignment_id).where(
        AssignmentUser.user_id == principal.user_id, AssignmentUser.assignment_id.in_(sorted(made)))))
    scores = [(i, lists[i], n, 0) for i, n in made.items()]
    title = "Phone banks"
    if len(clps) == 1:
        name = db.session.scalar(select(Constituency.name).where(Constituency.id == clps[0]))
        title = f"Phone banks in {name}" if name else title
    team = {"kind": "phone_banks", "title": title, "entries": [
        {"rank": rank, "name": name, "calls": calls, "doors": doors, "is_mine": list_id in mine}
        for rank, (list_id, name, calls, doors) in _ranked(scores)]}
    people = []
    if principal.scope_kind == ScopeKind.CONSTITUENCY:
        for list_id in sorted(mine, key=lambda i: (lists[i], i)):
            counts = by_caller.get(list_id, {})
            on_it = User.id.in_(select(AssignmentUser.user_id).where(AssignmentUser.assignment_id == list_id))
            board = _people_ranking(principal, f"Volunteers on {lists[list_id]}", on_it,
                                    lambda ids, counts=counts: {uid: (counts.get(uid, 0), 0) for uid in ids})
            people.append({"list_id": list_id, **board})
    return team, people


def _people_board(principal: Principal, campaign: Campaign) -> dict:
    """The viewer's CLP's volunteers who opted in, ranked among themselves (see ``_people_ranking``)."""
    clp = principal.constituency_id

    def sums(ids: list[int]) -> dict[int, tuple[int, int]]:
        return {uid: (int(c or 0), int(d or 0)) for uid, c, d in db.session.execute(
            select(ActivityRollup.user_key, func.sum(ActivityRollup.calls), func.sum(ActivityRollup.doors))
            .where(ActivityRollup.campaign_id == campaign.id, ActivityRollup.user_key.in_(ids))
            .group_by(ActivityRollup.user_key))} if ids else {}

    name = db.session.scalar(select(Constituency.name).where(Constituency.id == clp))
    return _people_ranking(principal, f"Volunteers in {name}" if name else "Volunteers",
                           User.constituency_id == clp, sums)


def _people_ranking(principal: Principal, title: str, who, counts) -> dict:
    """The users ``who`` (a condition) names that are active and opted in, ranked among themselves by
    ``counts(ids)`` ({user: (calls, doors)}); the viewer's own rank only if they opted in and are in the top ten
    (their counts either way). Nobody else is read, so nobody else is ranked."""
    people = {u.id: u for u in db.session.scalars(select(User).where(
        who, User.active.is_(True), User.leaderboard_opt_in.is_(True)))}
    sums = counts(sorted(people))
    scores = [(uid, _display_name(u.name), *sums.get(uid, (0, 0))) for uid, u in people.items()]
    everyone = _ranked(scores, top=0)
    opted_in = principal.user_id in people
    me = None
    if opted_in:
        mine = next(((rank, item) for rank, item in everyone if item[0] == principal.user_id), None)
        calls, doors = sums.get(principal.user_id, (0, 0))
        # A rank only where the board shows one (the top ten): nothing tells anyone they are low down or last.
        me = {"rank": mine[0] if mine and mine[0] <= TOP else None, "calls": calls, "doors": doors}
    return {"title": title, "opted_in": opted_in, "me": me,
            "entries": [{"rank": rank, "name": name_, "calls": calls, "doors": doors,
                         "is_me": uid == principal.user_id}
                        for rank, (uid, name_, calls, doors) in everyone[:TOP]]}


def leaderboards(principal: Principal, campaign_id: int | None = None) -> dict:
    """Team boards first (CLPs for a national campaign, then phone banks), then, for the people of a CLP, its
    opt-in board of volunteers and one for each phone bank the viewer is on. Each shows at most the top ten,
    never a bottom; regional staff and national admins see team boards only."""
    campaign = _campaign(principal, campaign_id)
    out = {"campaign": _brief(campaign), "as_of": rollups.as_of(), "teams": [], "people": None,
           "phone_bank_people": []}
    if campaign is None:
        return out
    if campaign.constituency_id is None:  # a local drive is one CLP's: no board of one
        out["teams"].append(_constituency_board(principal, campaign))
    clps = _board_clps(principal)
    if campaign.constituency_id is not None:
        clps = [c for c in clps if c == campaign.constituency_id]
    team, out["phone_bank_people"] = _phone_bank_boards(principal, campaign, clps)
    out["teams"].append(team)
    if principal.scope_kind == ScopeKind.CONSTITUENCY:
        out["people"] = _people_board(principal, campaign)
    return out
