"""The store contract, bound to the in-memory reference store."""
import pytest

from tests.sync.contract import ContractStories
from tests.sync.harness import MemoryHarness


@pytest.fixture
def harness():
    return MemoryHarness()


class TestMemoryStore(ContractStories):
    pass
