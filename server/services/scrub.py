"""Removing personal content while keeping the counts: shared by erasure (on request) and retention (by age).

A contact record keeps what statistics need (when, which channel, the outcome, the intention, choice
answers) and loses what identifies or describes a person in words: its notes and free-text answers.
"""
from __future__ import annotations

from sqlalchemy import ColumnElement, select

from server.extensions import db
from server.models import ContactRecord, QuestionKind, SurveyQuestion
from server.orm import utcnow


def _free_text_keys(campaign_ids: set[int]) -> dict[int, set[str]]:
    rows = db.session.execute(select(SurveyQuestion.campaign_id, SurveyQuestion.key).where(
        SurveyQuestion.campaign_id.in_(sorted(campaign_ids)), SurveyQuestion.kind == QuestionKind.TEXT))
    keys: dict[int, set[str]] = {cid: set() for cid in campaign_ids}
    for campaign_id, key in rows:
        keys[campaign_id].add(key)
    return keys


def remove_contact_content(where: ColumnElement[bool], chunk: int = 1000) -> int:
    """Blank the notes and free-text answers of the contact records matching ``where``; returns how many.

    Idempotent: records already done (``personal_removed_at`` set) are not touched again.
    """
    done = 0
    while True:
        records = db.session.scalars(
            select(ContactRecord).where(where, ContactRecord.personal_removed_at.is_(None))
            .order_by(ContactRecord.id).limit(chunk)).all()
        if not records:
            return done
        text_keys = _free_text_keys({r.campaign_id for r in records})
        now = utcnow()
        for record in records:
            free = text_keys[record.campaign_id]
            record.notes = None
            if any(k in free for k in record.survey_answers or {}):
                record.survey_answers = {k: v for k, v in record.survey_answers.items() if k not in free}
            record.personal_removed_at = now
        db.session.flush()
        done += len(records)
