"""A campaign's code sets and survey questions as plain data: what an import maps a sheet's codes onto.

The database layer builds a CampaignCodes from its Campaign (or from the campaign's data as the sync
protocol sends it, section 8.4); everything in this package reads only these. Pure: no database.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence


@dataclass(frozen=True)
class Code:
    """One code of a code set; ``meaning`` and ``channels`` only for outcomes (empty channels: any channel)."""

    code: str
    label: str
    meaning: str | None = None
    channels: tuple[str, ...] = ()


@dataclass(frozen=True)
class Question:
    """A survey question: ``kind`` is choice, multi_choice, yes_no, scale or text."""

    key: str
    text: str
    kind: str = "text"
    options: Any = None  # choice: [{"code", "label"}]; scale: {"min", "max"}


@dataclass(frozen=True)
class CampaignCodes:
    """The code sets of one campaign, by set name: "outcome", "intention", "strength"."""

    outcomes: tuple[Code, ...] = ()
    intentions: tuple[Code, ...] = ()
    strengths: tuple[Code, ...] = ()
    questions: tuple[Question, ...] = field(default=())

    def codes(self, code_set: str) -> tuple[Code, ...]:
        """The codes of "outcome", "intention" or "strength"."""
        return {"outcome": self.outcomes, "intention": self.intentions, "strength": self.strengths}[code_set]

    def outcome_meaning(self, code: str) -> str | None:
        """The engine's meaning of an outcome code (None if it is not one)."""
        return next((c.meaning for c in self.outcomes if c.code == code), None)

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> CampaignCodes:
        """From a campaign as the sync protocol sends it: outcomes, intentions, strengths, questions."""

        def codes(items: Sequence[Mapping[str, Any]] | None) -> tuple[Code, ...]:
            return tuple(Code(str(item["code"]), str(item.get("label") or item["code"]), item.get("meaning"),
                              tuple(item.get("channels") or ())) for item in items or ())

        return cls(
            outcomes=codes(data.get("outcomes")), intentions=codes(data.get("intentions")),
            strengths=codes(data.get("strengths")),
            questions=tuple(Question(str(q["key"]), str(q.get("text") or q["key"]), str(q.get("kind") or "text"),
                                     q.get("options")) for q in data.get("questions") or ()),
        )
