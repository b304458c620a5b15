"""Validation's shortcut for plain text is never wrong: property-based proof.

A phone may send any JSON at all, and text a database cannot store (a NUL, an unpaired surrogate) must be
named field by field wherever it hides. parse_mutation skips that walk for a mutation whose hashed text has no
escape; Hypothesis builds mutations of every shape (unknown fields, odd ids and seqs, nested data, any
character) to show the skip never hides such text.
"""
from __future__ import annotations

from hypothesis import example, given, settings
from hypothesis import strategies as st

from sync.protocol import (
    UNSTORABLE_TEXT,
    _hashed_text,
    _may_hold_unstorable,
    _unstorable_fields,
    content_hash,
    parse_mutation,
)

# Mostly plain ASCII, as phones send, with now and then a NUL, a surrogate or any other character.
CHARACTERS = st.one_of(st.characters(min_codepoint=32, max_codepoint=126),
                       st.sampled_from(["\x00", "\ud800", "\udfff", "\ud83d", "é", "😀", "\\", "\n"]),
                       st.characters())
TEXT = st.text(CHARACTERS, max_size=12)
JSON = st.recursive(st.none() | st.booleans() | st.integers() | TEXT,
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
                    max_leaves=12)
FIELDS = ("id", "seq", "type", "occurred_at", "base_version", "data")
MUTATION = st.dictionaries(st.one_of(st.sampled_from(FIELDS), TEXT), JSON, max_size=8)
PINNED = "49fa46d8365874cb77016c8f6a5dc08c1abb6e98ba9109219153e1a99848d235"


@settings(max_examples=600, deadline=None)
@given(MUTATION)
@example({"id": ["\x00"]})  # found by Hypothesis: text hidden in an id that is not text
@example({"seq": {"n": "\ud800"}, "data": {}})
def test_a_mutation_passed_over_as_plain_holds_nothing_unstorable(raw):
    if not _may_hold_unstorable(raw, _hashed_text(raw)):
        assert _unstorable_fields(raw) == []


@settings(max_examples=300, deadline=None)
@given(MUTATION)
def test_every_field_with_unstorable_text_is_named_in_the_refusal(raw):
    named = _unstorable_fields(raw)
    mutation, errors = parse_mutation(raw)
    if named:
        assert mutation is None
        assert {name for name, messages in errors.fields.items() if UNSTORABLE_TEXT in messages} == set(named)


def test_a_mutations_content_hash_never_changes():
    """Receipts keep the hash of what was sent, and a resend is told from a reused id by comparing hashes: the
    digest of a given mutation must stay the same across releases, or every resend in the field turns into an
    id_reused. This digest was computed by the hash as it first shipped (sync/protocol.py at 73e811d)."""
    raw = {"id": "5b0d5a52-9d3e-4c35-9a53-3f1f5e0c2a11", "seq": 7, "type": "contact",
           "occurred_at": "2026-11-21T10:15:00+00:00", "base_version": None,
           "data": {"campaign_id": 1, "elector_id": 42, "channel": "door", "outcome": "SPOKE", "intention": "LAB",
                    "notes": "Caf\u00e9 \u2603", "survey_answers": {"b": ["X", "Y"], "a": 3, "c": True}}}
    assert content_hash(raw) == PINNED
    assert content_hash({**raw, "id": "another", "seq": 8}) == PINNED  # the id and seq are not hashed
    assert parse_mutation(raw)[0].content_hash == PINNED
