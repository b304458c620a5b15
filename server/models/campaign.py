"""Campaigns and their code sets: outcomes, voting intentions, strengths and survey questions, held as data.

Each outcome code carries a ``meaning`` from a fixed vocabulary, so the reconciliation engine can tell
"moved" from "not home" without knowing a campaign's own labels.
"""
from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.extensions import db
from server.orm import str_enum, utcnow



class CampaignKind(str, enum.Enum):
    GENERAL_ELECTION = "general_election"
    BY_ELECTION = "by_election"
    LOCAL_ELECTION = "local_election"
    DEVOLVED_ELECTION = "devolved_election"
    MAYORAL_ELECTION = "mayoral_election"
    LOCAL_DRIVE = "local_drive"


class CodeSet(str, enum.Enum):
    OUTCOME = "outcome"
    INTENTION = "intention"
    STRENGTH = "strength"


class OutcomeMeaning(str, enum.Enum):
    """What an outcome means to the engine, whatever the campaign calls it."""

    SPOKE = "spoke"
    NOT_HOME = "not_home"
    NO_ANSWER = "no_answer"
    VOICEMAIL = "voicemail"
    REFUSED = "refused"
    MOVED = "moved"
    DECEASED = "deceased"
    WRONG_NUMBER = "wrong_number"
    CALL_BACK = "call_back"
    DO_NOT_CONTACT = "do_not_contact"


class Campaign(db.Model):
    __tablename__ = "campaign"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(160))
    kind: Mapped[CampaignKind] = mapped_column(str_enum(CampaignKind, 32))
    starts_on: Mapped[date] = mapped_column()
    ends_on: Mapped[date] = mapped_column()
    # Null: a national campaign every CLP works on. Otherwise the one CLP running a local drive.
    constituency_id: Mapped[int | None] = mapped_column(ForeignKey("constituency.id"), index=True)
    call_script: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Bumped when the code sets, questions or script change, so devices fetch them again.
    version: Mapped[int] = mapped_column(default=1, server_default="1")
    # Milestones celebrated in this campaign, {"calls": [250, ...], "doors": [...]}; null means the defaults
    # (server/services/recognition.py DEFAULT_MILESTONES).
    milestones: Mapped[dict | None] = mapped_column()

    codes: Mapped[list["CampaignCode"]] = relationship(
        back_populates="campaign", order_by="(CampaignCode.code_set, CampaignCode.position)", cascade="all, delete-orphan"
    )
    questions: Mapped[list["SurveyQuestion"]] = relationship(
        back_populates="campaign", order_by="SurveyQuestion.position", cascade="all, delete-orphan"
    )


class CampaignCode(db.Model):
    __tablename__ = "campaign_code"
    __table_args__ = (UniqueConstraint("campaign_id", "code_set", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"), index=True)
    code_set: Mapped[CodeSet] = mapped_column(str_enum(CodeSet, 32))
    code: Mapped[str] = mapped_column(String(32))
    label: Mapped[str] = mapped_column(String(120))
    position: Mapped[int] = mapped_column(default=0)
    # Outcomes only: the engine's meaning, and the channels the outcome applies to ("door", "phone").
    meaning: Mapped[OutcomeMeaning | None] = mapped_column(str_enum(OutcomeMeaning, 32))
    channels: Mapped[list] = mapped_column(default=list)
    # Intentions only: a party colour for the UI, e.g. "#E4003B".
    colour: Mapped[str | None] = mapped_column(String(16))
    # Retired from new use: phones stop offering it, but records that carry it stay valid (and a phone
    # that recorded it offline before learning of the retirement still delivers it).
    retired_at: Mapped[datetime | None] = mapped_column()

    campaign: Mapped[Campaign] = relationship(back_populates="codes")


class QuestionKind(str, enum.Enum):
    CHOICE = "choice"
    MULTI_CHOICE = "multi_choice"
    YES_NO = "yes_no"
    SCALE = "scale"
    TEXT = "text"


class SurveyQuestion(db.Model):
    __tablename__ = "survey_question"
    __table_args__ = (UniqueConstraint("campaign_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"), index=True)
    key: Mapped[str] = mapped_column(String(48))
    text: Mapped[str] = mapped_column(String(400))
    kind: Mapped[QuestionKind] = mapped_column(str_enum(QuestionKind, 32))
    # For choice questions: [{"code": "yes", "label": "Yes"}, ...]; for scales: {"min": 1, "max": 10}.
    options: Mapped[list | None] = mapped_column()
    position: Mapped[int] = mapped_column(default=0)
    retired_at: Mapped[datetime | None] = mapped_column()  # as for codes: no longer asked, answers kept

    campaign: Mapped[Campaign] = relationship(back_populates="questions")
