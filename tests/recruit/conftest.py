"""Recruitment fixtures: a signed fill-in time old enough to pass, and an address with no recent nominations."""
from __future__ import annotations

import time
from datetime import timedelta

import pytest
import sqlalchemy as sa

from server.clock import utcnow
from server.issues.public import form_token
from server.issues.service import ip_hash
from server.recruit.models import Nomination
from tests.issues.conftest import csrf_headers  # noqa: F401


@pytest.fixture
def join_token(settings):
    def make(community_code: str, age: int = 10) -> str:
        return form_token(settings.secret_key, f"join:{community_code}", int(time.time()) - age)
    return make


@pytest.fixture
async def fresh_address(engine, settings):
    """The test client's address has sent nothing in the last day (other tests' rows are aged)."""
    from server.db import make_sessionmaker

    address = ip_hash(settings.secret_key, "testclient")
    async with make_sessionmaker(engine)() as db:
        await db.execute(sa.update(Nomination).values(submitted_at=utcnow() - timedelta(days=2)))
        await db.commit()
    return address
