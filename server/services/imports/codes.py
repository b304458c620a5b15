"""The codes a canvass sheet uses ("L", "Lab", "NI", "✗") mapped onto the campaign's code sets.

Canvassers write what they always write: "L" or "Labour" for a Labour voter, "NI" or "N/H" for nobody in,
"A" or "✗" for against. Each column's codes are proposed a mapping from the campaign's own codes and
labels, then from built-in UK canvassing synonyms, and the admin confirms it; the CLP's saved mapping, and
the admin's corrections, come first. A code nothing explains is listed with its count and lines for the
admin to map or skip: it is never guessed. The same letters mean different things in different columns
("Ref" is Reform UK as an intention and refused as an outcome), so a mapping is always per column kind.

A sheet often has one "Result" box holding both kinds: an outcome column may hold intentions ("L" there
means spoke to them, Labour), and an intention column outcomes ("NI" there means not home). A decision is
therefore a CodeTarget that may set more than one code. Pure: no database.
"""
from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from server.services.imports.campaign import CampaignCodes, Code

FIELDS = ("outcome", "intention", "strength")
SKIP_ROW = "skip_row"  # leave out every row holding this code
BLANK = "blank"  # read this code as an empty cell
MAX_LINES_LISTED = 10
# What an empty box looks like once typed up.
_BLANKS = {"", "-", "–", "—", ".", "/"}
_PUNCTUATION = re.compile(r"[\s.'’`_\-/\\,;:!()\[\]\"]+")


def _keys(*words: str) -> frozenset[str]:
    return frozenset(code_key(w) for w in words)


def code_key(raw: str) -> str:
    """A code as compared: case, spaces and punctuation removed ("N/H" -> "nh", "Won't vote" -> "wontvote");
    a code of symbols only ("?", "✗") is kept as it is."""
    text = unicodedata.normalize("NFKC", raw).strip().casefold()
    return _PUNCTUATION.sub("", text) or text


# Built-in synonyms: each names a concept, found in the campaign by its code or label (for outcomes, by the
# engine's meaning, in order of preference), and recognised on a sheet by any of its spellings.
INTENTION_SYNONYMS = {
    "lab": _keys("L", "Lab", "Labour", "Labour Party", "Lab/Co-op", "Labour Co-op", "LP"),
    "con": _keys("C", "Con", "Cons", "Tory", "Tories", "Conservative", "Conservatives", "Conservative Party"),
    "ld": _keys("LD", "Lib", "Lib Dem", "Lib Dems", "Liberal Democrat", "Liberal Democrats", "LDem"),
    "grn": _keys("G", "Grn", "Gr", "Green", "Greens", "Green Party"),
    "ref": _keys("Ref", "Reform", "Reform UK", "RUK", "Rfm"),
    "snp": _keys("SNP", "Scottish National Party"),
    "pc": _keys("PC", "Plaid", "Plaid Cymru"),
    "oth": _keys("O", "Oth", "Other", "Others", "Other party", "Ind", "Independent"),
    "against": _keys("A", "Against", "Against us", "Anti", "Agn", "X", "✗", "✘", "×"),
    "undecided": _keys("U", "Und", "Undec", "Undecided", "DK", "Don't know", "Unsure", "?", "Floating"),
    "wont_say": _keys("WS", "Won't say", "Wont say", "Refused to say", "Not saying", "Wouldn't say"),
    "wont_vote": _keys("WNV", "Won't vote", "Wont vote", "NV", "Not voting", "DNV", "Doesn't vote",
                       "Will not vote", "Non voter"),
}
OUTCOME_SYNONYMS = {
    ("spoke",): _keys("S", "Spoke", "Spoken", "Spoke to", "Sp", "Contact", "Contacted", "Answered", "Talked"),
    ("not_home", "no_answer"): _keys("NI", "Not in", "N/H", "NH", "Not home", "Out", "Away", "Nobody in",
                                     "No one in", "Noone in"),
    ("no_answer", "not_home"): _keys("NA", "No answer", "No ans", "No reply", "Unanswered"),
    ("refused",): _keys("R", "Ref", "Refused", "Refusal", "Rf", "Declined", "Refused to talk", "Door closed"),
    ("moved",): _keys("M", "Mv", "Mvd", "Moved", "Moved away", "Moved out", "Gone", "Gn", "Left"),
    ("deceased",): _keys("D", "Dec", "Decd", "Deceased", "Dead", "Died", "RIP", "Passed away"),
    ("wrong_number",): _keys("WN", "Wrong number", "Wrong no", "Wrong"),
    ("call_back",): _keys("CB", "Call back", "Call back later", "Ring back", "RB", "Call again", "Come back"),
    ("voicemail",): _keys("VM", "Voicemail", "LM", "Left message", "Answerphone", "Ansaphone", "Message"),
    ("do_not_contact",): _keys("DNC", "Do not contact", "Don't contact", "Do not call", "Don't call",
                               "Do not knock", "Don't knock", "DNK"),
}
STRENGTH_SYNONYMS = {
    "strong": _keys("S", "Strong", "Str", "Firm", "F", "Definite", "Def", "Certain", "Hard", "H"),
    "leaning": _keys("L", "Lean", "Leaning", "Likely", "Prob", "Probably"),
    "soft": _keys("Soft", "Sft", "Weak", "W", "Maybe", "Possible", "Poss"),
}


@dataclass(frozen=True)
class CodeTarget:
    """What a sheet's code sets on the record: an outcome, an intention, a strength, or more than one."""

    outcome: str | None = None
    intention: str | None = None
    strength: str | None = None

    def as_dict(self) -> dict[str, str]:
        return {name: value for name, value in (("outcome", self.outcome), ("intention", self.intention),
                                                ("strength", self.strength)) if value is not None}

    def describe(self) -> str:
        return ", ".join(f"{name} {value}" for name, value in self.as_dict().items())


Decision = CodeTarget | str  # a CodeTarget, SKIP_ROW or BLANK


@dataclass(frozen=True)
class CodeChoice:
    """One code of the sheet and what it maps to; ``source`` is "admin", "saved", "campaign" (the campaign's
    own code or label) or "synonym" (a built-in spelling)."""

    token: str  # as first written on the sheet
    key: str
    decision: Decision
    source: str
    count: int
    lines: tuple[int, ...]


@dataclass(frozen=True)
class UnknownCode:
    """A code nothing explains: the admin maps it or skips it."""

    token: str
    key: str
    count: int
    lines: tuple[int, ...]  # the first MAX_LINES_LISTED rows holding it


@dataclass
class CodeMapping:
    """The mapping of one column's codes (``field`` is outcome, intention or strength)."""

    field: str
    choices: dict[str, CodeChoice] = field(default_factory=dict)
    unknown: list[UnknownCode] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # corrections that do not fit the campaign
    notes: list[str] = field(default_factory=list)  # saved choices that no longer fit

    @property
    def ok(self) -> bool:
        """Whether every code on the sheet has a decision."""
        return not self.unknown and not self.problems

    def decide(self, raw: str) -> Decision | None:
        """What a cell means: a CodeTarget, SKIP_ROW, BLANK (an empty cell), or None (a code not mapped)."""
        if raw.strip() in _BLANKS:
            return BLANK
        choice = self.choices.get(code_key(raw))
        return choice.decision if choice else None

    def to_saved(self) -> dict[str, Any]:
        """code key -> decision as JSON ({"outcome": ...}, "skip_row" or "blank"): remembered for the CLP."""
        return {key: choice.decision.as_dict() if isinstance(choice.decision, CodeTarget) else choice.decision
                for key, choice in self.choices.items()}


def _label_keys(code: Code) -> set[str]:
    """How a campaign code may be named: its code, its label, and the label's head ("Strong: certain" -> strong)."""
    label = code.label.strip()
    head = re.split(r"[:,(;]", label, maxsplit=1)[0]
    return {code_key(code.code), code_key(label), code_key(head)} - {""}


class _Resolver:
    """Finds a campaign's code for a sheet code, by the campaign's own codes and labels, then by synonyms."""

    def __init__(self, campaign: CampaignCodes, channel: str | None) -> None:
        self.campaign = campaign
        self.outcomes = [c for c in campaign.outcomes if not channel or not c.channels or channel in c.channels]
        spoke = [c for c in self.outcomes if c.meaning == "spoke"]
        self.spoke = spoke[0].code if len(spoke) == 1 else None

    def direct(self, code_set: str, key: str) -> str | None:
        """The campaign code whose own code, then whose label, is this key."""
        codes = self.outcomes if code_set == "outcome" else self.campaign.codes(code_set)
        for exact in (True, False):
            found = [c.code for c in codes if (code_key(c.code) == key if exact else key in _label_keys(c))]
            if len(set(found)) == 1:
                return found[0]
        return None

    def by_synonym(self, code_set: str, key: str) -> str | None:
        """The campaign code a built-in synonym stands for, if the campaign has exactly one such code."""
        if code_set == "outcome":
            for meanings, spellings in OUTCOME_SYNONYMS.items():
                if key in spellings:
                    for meaning in meanings:
                        found = [c for c in self.outcomes if c.meaning == meaning]
                        if len(found) > 1:
                            found = [c for c in found if _label_keys(c) & spellings]
                        if len(found) == 1:
                            return found[0].code
                    return None
            return None
        table = INTENTION_SYNONYMS if code_set == "intention" else STRENGTH_SYNONYMS
        for spellings in table.values():
            if key in spellings:
                found = {c.code for c in self.campaign.codes(code_set) if _label_keys(c) & spellings}
                return found.pop() if len(found) == 1 else None
        return None

    def resolve(self, code_set: str, key: str) -> tuple[CodeTarget, str] | None:
        """A CodeTarget for a key in a column of ``code_set``, and whether the campaign or a synonym gave it."""
        for source, find in (("campaign", self.direct), ("synonym", self.by_synonym)):
            if code := find(code_set, key):
                return CodeTarget(**{code_set: code}), source
        # The other kind of code in the same box: an intention in an outcome column means they spoke to us;
        # an outcome (other than spoke) in an intention column says why there is no intention.
        if code_set == "outcome" and self.spoke:
            for source, find in (("campaign", self.direct), ("synonym", self.by_synonym)):
                if code := find("intention", key):
                    return CodeTarget(outcome=self.spoke, intention=code), source
        if code_set == "intention":
            for source, find in (("campaign", self.direct), ("synonym", self.by_synonym)):
                if (code := find("outcome", key)) and code != self.spoke:
                    return CodeTarget(outcome=code), source
        return None

    def check(self, value: Any, code_set: str) -> Decision | str:
        """A saved or corrected decision as a Decision, or a message saying why it does not fit the campaign."""
        if value in (SKIP_ROW, BLANK):
            return value
        if isinstance(value, str):
            value = {code_set: value}
        if not isinstance(value, Mapping) or not value or set(value) - set(FIELDS):
            return f"{value!r} is not a code, \"{SKIP_ROW}\" or \"{BLANK}\""
        for name, code in value.items():
            if code not in {c.code for c in self.campaign.codes(name)}:
                return f"{code!r} is not {'an' if name[0] in 'aeiou' else 'a'} {name} code of this campaign"
        target = CodeTarget(**value)
        if target.intention and target.outcome and self.campaign.outcome_meaning(target.outcome) != "spoke":
            return f"an intention is recorded only with an outcome that means spoke, not {target.outcome!r}"
        return target


def propose_codes(code_set: str, values: Iterable[tuple[int, str]], campaign: CampaignCodes, *,
                  saved: Mapping[str, Any] | None = None, corrections: Mapping[str, Any] | None = None,
                  channel: str | None = None) -> CodeMapping:
    """Propose what each code in a column means; ``values`` are (line, cell) of that column.

    ``saved`` (the CLP's remembered mapping for this code set) and ``corrections`` (the admin's) map a code as
    written, or its code_key, to a campaign code of this set, a dict such as {"outcome": "SPOKE",
    "intention": "LAB"}, SKIP_ROW or BLANK. ``channel`` ("door" or "phone") keeps outcomes to those allowed
    for it, so "No answer" on a door sheet is not home.
    """
    if code_set not in FIELDS:
        raise ValueError(f"code_set must be one of {FIELDS}")
    mapping = CodeMapping(field=code_set)
    resolver = _Resolver(campaign, channel)
    counts: Counter[str] = Counter()
    lines: dict[str, list[int]] = {}
    first_token: dict[str, str] = {}
    for line, raw in values:
        if raw.strip() in _BLANKS:
            continue
        key = code_key(raw)
        counts[key] += 1
        first_token.setdefault(key, raw.strip())
        listed = lines.setdefault(key, [])
        if len(listed) < MAX_LINES_LISTED:
            listed.append(line)
    fixed: dict[str, tuple[Decision, str]] = {}
    for source, given in (("saved", saved), ("admin", corrections)):
        for written, value in (given or {}).items():
            key = code_key(written)
            decision = resolver.check(value, code_set)
            if isinstance(decision, CodeTarget) or decision in (SKIP_ROW, BLANK):
                fixed[key] = (decision, source)
            elif source == "admin":
                mapping.problems.append(f"{written!r}: {decision}")
            elif key in counts:
                mapping.notes.append(f"The saved mapping of {written!r} no longer fits this campaign ({decision}).")
    for key, count in counts.most_common():
        token, seen = first_token[key], tuple(lines[key])
        if key in fixed:
            decision, source = fixed[key]
        elif resolved := resolver.resolve(code_set, key):
            decision, source = resolved
        else:
            mapping.unknown.append(UnknownCode(token, key, count, seen))
            continue
        mapping.choices[key] = CodeChoice(token, key, decision, source, count, seen)
    return mapping
