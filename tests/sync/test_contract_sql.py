"""The store contract, bound to the server's SQLAlchemy store (SQLite or PostgreSQL, per TEST_DATABASE_URL)."""
import pytest

from tests.sync.contract import ContractStories
from tests.sync.sql_harness import SqlHarness


@pytest.fixture
def harness(app):
    return SqlHarness()


class TestSqlStore(ContractStories):
    pass
