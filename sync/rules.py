"""Business rules the engine applies to single values: what text and numbers the database can hold, when a
suppression stops contact, whether a survey answer fits its question."""
from __future__ import annotations

import re

# The largest id of a server entity (PostgreSQL `integer` columns), and of any 64-bit column.
MAX_ID = 2**31 - 1
MAX_BIGINT = 2**63 - 1
# A NUL, which PostgreSQL text cannot hold, or a lone surrogate, which is not Unicode at all (JSON's
# "\ud800" decodes to one; UTF-8 cannot encode it).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
UNSTORABLE_TEXT = "Must not contain NUL characters or unpaired surrogates."


def unstorable(text: str) -> bool:
    """Whether ``text`` holds a character no database column can store."""
    return _UNSTORABLE.search(text) is not None


def suppression_applies(active: list[tuple[str, str]], channel: str | None) -> bool:
    """Whether any of an elector's active suppressions (kind, channel) stops contact on ``channel``.

    ``channel`` None means every channel: an erasure or an all-channel objection always applies.
    """
    return any(kind == "erasure" or chan == "all" or (channel is not None and chan == channel)
               for kind, chan in active)


def answer_problem(question: dict, value) -> str | None:
    """Why an answer does not fit its question's kind and options, or None if it does."""
    kind, options = question["kind"], question.get("options")
    codes = {o["code"] for o in options} if isinstance(options, list) else set()
    if kind == "yes_no" and not isinstance(value, bool):
        return "answer true or false."
    if kind == "choice" and (not isinstance(value, str) or (codes and value not in codes)):
        return f"choose one of {', '.join(sorted(codes))}."
    if kind == "multi_choice" and (not isinstance(value, list) or not all(isinstance(v, str) for v in value)
                                   or (codes and not set(value) <= codes)):
        return f"choose from {', '.join(sorted(codes))}."
    if kind == "scale":
        low, high = (options or {}).get("min", 0), (options or {}).get("max", 10)
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            return f"a whole number from {low} to {high}."
    if kind == "text" and (not isinstance(value, str) or len(value) > 500):
        return "text of at most 500 characters."
    return None
