"""Groundwork's sync engine: protocol shapes, clocks, the reconciliation fold and the store interface.

Pure Python: it imports neither Flask nor ``server``. The server implements ``sync.store.Store`` on
SQLAlchemy; ``sync.memory.MemoryStore`` implements it in memory, and one contract suite tests both.
"""
PROTOCOL_VERSION = 1
SUPPORTED_PROTOCOL_VERSIONS = frozenset({1})
# The shape of the device's local data; bumped when a client must migrate its IndexedDB.
SCHEMA_VERSION = 1
