"""Editing campaigns: code sets, survey questions and the phone script.

A national campaign is edited by national admins; a CLP's local drive by that CLP's admins. Codes and
questions are never deleted or re-keyed, because records carry them by code: a code in use is *retired*
(phones stop offering it, old records keep their meaning, and a phone that used it offline before hearing
of the retirement still delivers it). Every change bumps the campaign's version and is audited; phones see
the new campaign at their next pull because a pulled campaign's version is its content (sync.views).
"""
from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from server.auth.policy import Principal, ScopeKind, scope_clause
from server.errors import Conflict, NotFound, ValidationFailed
from server.extensions import db
from server.models import (
    ActivitySeat,
    Campaign,
    CampaignCode,
    CampaignKind,
    CodeSet,
    Constituency,
    OutcomeMeaning,
    QuestionKind,
    SurveyQuestion,
)
from server.orm import utcnow
from server.services import audit, recognition, rollups

CHANNELS = ("door", "phone")


def _editable(principal: Principal, campaign_id: int) -> Campaign:
    campaign = db.session.scalar(
        select(Campaign).where(Campaign.id == campaign_id, scope_clause(principal, Campaign))
        .options(selectinload(Campaign.codes), selectinload(Campaign.questions)))
    if campaign is None:
        raise NotFound("No such campaign in your scope.")
    if campaign.constituency_id is None and principal.scope_kind != ScopeKind.NATION:
        raise Conflict("This is a national campaign: the national office sets its codes, questions and script. "
                       "Start a local drive to ask your own questions.", {"campaign_id": [campaign_id]})
    return campaign


def _changed(principal: Principal, campaign: Campaign, action: str, details: dict) -> Campaign:
    campaign.version += 1
    audit.record_for(principal, action, target_type="campaign", target_id=campaign.id,
                     constituency_id=campaign.constituency_id, details=details)
    db.session.commit()
    return campaign


# ------------------------------------------------------------------------------------------- campaigns

def create_local_drive(principal: Principal, *, name: str, starts_on: date, ends_on: date,
                       based_on_id: int | None = None, constituency_id: int | None = None) -> Campaign:
    """A CLP's own drive, with the code sets (and questions and script) of a campaign it is based on."""
    constituency_id = constituency_id or principal.constituency_id
    if constituency_id is None or not principal.covers_constituency(constituency_id) \
            or db.session.get(Constituency, constituency_id) is None:
        raise ValidationFailed(details={"constituency_id": ["Give the constituency (in your scope) this drive "
                                                            "belongs to."]})
    if ends_on < starts_on:
        raise ValidationFailed(details={"ends_on": ["A drive must end on or after the day it starts."]})
    campaign = Campaign(name=name.strip(), kind=CampaignKind.LOCAL_DRIVE, starts_on=starts_on, ends_on=ends_on,
                        constituency_id=constituency_id)
    if based_on_id is not None:
        base = db.session.scalar(select(Campaign).where(Campaign.id == based_on_id, scope_clause(principal, Campaign)))
        if base is None:
            raise ValidationFailed(details={"based_on_id": ["No such campaign in your scope."]})
        campaign.call_script = base.call_script
        campaign.codes = [CampaignCode(code_set=c.code_set, code=c.code, label=c.label, position=c.position,
                                       meaning=c.meaning, channels=list(c.channels or []), colour=c.colour)
                          for c in base.codes if c.retired_at is None]
        campaign.questions = [SurveyQuestion(key=q.key, text=q.text, kind=q.kind, options=q.options,
                                             position=q.position) for q in base.questions if q.retired_at is None]
    if not any(c.code_set == CodeSet.OUTCOME for c in campaign.codes):
        raise ValidationFailed(details={"based_on_id": [
            "Base the drive on a campaign, so volunteers have outcomes to record."]})
    db.session.add(campaign)
    db.session.flush()
    audit.record_for(principal, "campaign.create", target_type="campaign", target_id=campaign.id,
                     constituency_id=constituency_id, details={"name": campaign.name, "based_on_id": based_on_id})
    db.session.commit()
    return campaign


def update_campaign(principal: Principal, campaign_id: int, **changes) -> Campaign:
    """Rename, re-date, rewrite the phone script, or set the milestones celebrated (null: the defaults)."""
    campaign = _editable(principal, campaign_id)
    if "milestones" in changes:
        changes["milestones"] = recognition.parse_milestones(changes["milestones"])
    before = {}
    for key in ("name", "starts_on", "ends_on", "call_script", "milestones"):
        if key in changes and changes[key] != getattr(campaign, key):
            before[key] = getattr(campaign, key)
            setattr(campaign, key, changes[key].strip() if isinstance(changes[key], str) else changes[key])
    if campaign.ends_on < campaign.starts_on:
        raise ValidationFailed(details={"ends_on": ["A campaign must end on or after the day it starts."]})
    if not before:
        return campaign
    if "starts_on" in before or "ends_on" in before:  # the electorate in its window may differ
        rollups.mark_dirty((campaign.id, clp, rollups.ALL_DISTRICTS) for clp in db.session.scalars(
            select(ActivitySeat.constituency_id).where(ActivitySeat.campaign_id == campaign.id)))
    return _changed(principal, campaign, "campaign.update",
                    {"fields": sorted(before), **({"name": [before["name"], campaign.name]} if "name" in before else {}),
                     **({"milestones": [before["milestones"], campaign.milestones]} if "milestones" in before else {})})


# ------------------------------------------------------------------------------------------- codes

def _code(campaign: Campaign, code_set: CodeSet, code: str) -> CampaignCode:
    for c in campaign.codes:
        if c.code_set == code_set and c.code == code:
            return c
    raise NotFound(f"No {code_set.value} code {code!r} in this campaign.")


def add_code(principal: Principal, campaign_id: int, *, code_set: str, code: str, label: str,
             meaning: str | None = None, channels: list[str] | None = None, colour: str | None = None) -> Campaign:
    campaign = _editable(principal, campaign_id)
    code_set, code = CodeSet(code_set), code.strip().upper()
    errors = {}
    if any(c.code_set == code_set and c.code == code for c in campaign.codes):
        raise Conflict(f"The code {code!r} is already in this campaign's {code_set.value}s (retired codes too: "
                       "restore it instead).", {"code": [code]})
    if code_set == CodeSet.OUTCOME:
        if meaning is None:
            errors["meaning"] = ["An outcome needs a meaning, so the app knows what it does (spoke, not home…)."]
        if not channels:
            errors["channels"] = ["Say where the outcome is offered: door, phone or both."]
    elif meaning is not None or channels:
        errors["meaning"] = ["Only outcomes have a meaning and channels."]
    if colour is not None and code_set != CodeSet.INTENTION:
        errors["colour"] = ["Only intentions have a colour."]
    if errors:
        raise ValidationFailed(details=errors)
    position = max((c.position for c in campaign.codes if c.code_set == code_set), default=-1) + 1
    campaign.codes.append(CampaignCode(code_set=code_set, code=code, label=label.strip(), position=position,
                                       meaning=OutcomeMeaning(meaning) if meaning else None,
                                       channels=sorted(set(channels or [])), colour=colour))
    return _changed(principal, campaign, "campaign.code_add", {"code_set": code_set.value, "code": code})


def update_code(principal: Principal, campaign_id: int, code_set: str, code: str, *, label: str | None = None,
                channels: list[str] | None = None, colour: str | None = None, position: int | None = None,
                retired: bool | None = None) -> Campaign:
    """Relabel, re-colour, move, or retire (and restore) a code. Its code and meaning never change."""
    campaign = _editable(principal, campaign_id)
    if code_set not in {s.value for s in CodeSet}:
        raise NotFound(f"No code set {code_set!r}: outcome, intention or strength.")
    target = _code(campaign, CodeSet(code_set), code)
    changed = []
    if label is not None and label.strip() != target.label:
        target.label, changed = label.strip(), changed + ["label"]
    if channels is not None:
        if target.code_set != CodeSet.OUTCOME or not channels:
            raise ValidationFailed(details={"channels": ["Only outcomes have channels, and at least one."]})
        if sorted(set(channels)) != sorted(target.channels or []):
            target.channels, changed = sorted(set(channels)), changed + ["channels"]
    if colour is not None:
        if target.code_set != CodeSet.INTENTION:
            raise ValidationFailed(details={"colour": ["Only intentions have a colour."]})
        if colour != target.colour:
            target.colour, changed = colour, changed + ["colour"]
    if position is not None and position != target.position:
        _move(campaign.codes, target, position, lambda c: c.code_set == target.code_set)
        changed.append("position")
    if retired is not None and retired != (target.retired_at is not None):
        if retired and target.code_set == CodeSet.OUTCOME and not any(
                c.code_set == CodeSet.OUTCOME and c.retired_at is None and c is not target for c in campaign.codes):
            raise Conflict("A campaign needs at least one outcome in use.", {"code": [code]})
        target.retired_at = utcnow() if retired else None
        changed.append("retired" if retired else "restored")
    if not changed:
        return campaign
    return _changed(principal, campaign, "campaign.code_update",
                    {"code_set": target.code_set.value, "code": target.code, "changed": changed})


def _move(items: list, target, position: int, same) -> None:
    """Put ``target`` at ``position`` among the items ``same`` selects, renumbering them 0..n-1."""
    peers = sorted((i for i in items if same(i) and i is not target), key=lambda i: (i.position, i.id or 0))
    peers.insert(max(0, min(position, len(peers))), target)
    for number, item in enumerate(peers):
        item.position = number


# ------------------------------------------------------------------------------------------- questions

def _question(campaign: Campaign, key: str) -> SurveyQuestion:
    for q in campaign.questions:
        if q.key == key:
            return q
    raise NotFound(f"No survey question {key!r} in this campaign.")


def _check_options(kind: QuestionKind, options) -> None:
    if kind in (QuestionKind.CHOICE, QuestionKind.MULTI_CHOICE, QuestionKind.YES_NO):
        if not isinstance(options, list) or len(options) < 2:
            raise ValidationFailed(details={"options": ["A choice question needs at least two options."]})
        codes = [o["code"] for o in options]
        if len(set(codes)) != len(codes):
            raise ValidationFailed(details={"options": ["Each option needs its own code."]})
    elif kind == QuestionKind.SCALE:
        if not isinstance(options, dict) or options.get("min") is None or options.get("max") is None \
                or options["min"] >= options["max"]:
            raise ValidationFailed(details={"options": ["A scale needs a min below its max."]})
    elif options:
        raise ValidationFailed(details={"options": ["A text question has no options."]})


def add_question(principal: Principal, campaign_id: int, *, key: str, text: str, kind: str,
                 options=None) -> Campaign:
    campaign = _editable(principal, campaign_id)
    kind = QuestionKind(kind)
    if kind == QuestionKind.YES_NO and not options:
        options = [{"code": "yes", "label": "Yes"}, {"code": "no", "label": "No"}]
    _check_options(kind, options)
    if any(q.key == key for q in campaign.questions):
        raise Conflict(f"The question key {key!r} is already used in this campaign (retired questions too).",
                       {"key": [key]})
    position = max((q.position for q in campaign.questions), default=-1) + 1
    campaign.questions.append(SurveyQuestion(key=key, text=text.strip(), kind=kind, options=options or None,
                                             position=position))
    return _changed(principal, campaign, "campaign.question_add", {"key": key, "kind": kind.value})


def update_question(principal: Principal, campaign_id: int, key: str, *, text: str | None = None, options=None,
                    position: int | None = None, retired: bool | None = None) -> Campaign:
    """Reword, add options, move, or retire (and restore) a question. Answers already given keep their
    meaning: an option can be relabelled but not removed, and a scale can widen but not narrow."""
    campaign = _editable(principal, campaign_id)
    question = _question(campaign, key)
    changed = []
    if text is not None and text.strip() != question.text:
        question.text, changed = text.strip(), changed + ["text"]
    if options is not None and options != question.options:
        _check_options(question.kind, options)
        old = question.options
        if isinstance(old, list):
            missing = {o["code"] for o in old} - {o["code"] for o in options}
            if missing:
                raise ValidationFailed(details={"options": [
                    f"Options already answered cannot be removed: {', '.join(sorted(missing))}. "
                    "Retire the question and add a new one instead."]})
        elif isinstance(old, dict) and (options["min"] > old["min"] or options["max"] < old["max"]):
            raise ValidationFailed(details={"options": ["A scale can widen, but not narrow."]})
        question.options, changed = options, changed + ["options"]
    if position is not None and position != question.position:
        _move(campaign.questions, question, position, lambda q: True)
        changed.append("position")
    if retired is not None and retired != (question.retired_at is not None):
        question.retired_at = utcnow() if retired else None
        changed.append("retired" if retired else "restored")
    if not changed:
        return campaign
    return _changed(principal, campaign, "campaign.question_update", {"key": key, "changed": changed})
