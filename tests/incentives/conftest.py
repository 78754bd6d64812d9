import pytest

from server.accounts.models import Person, Post, Role
from server.db import make_sessionmaker


@pytest.fixture
def new_leader(engine, people):
    """A leader of their own (a B post on the cast's micro-grid), so each test starts at zero points."""
    async def make(name: str = "测试网格长", microgrid=None) -> Person:
        node = microgrid or people.microgrid
        async with make_sessionmaker(engine)() as db:
            person = Person(name=name)
            db.add(person)
            await db.flush()
            db.add(Post(person_id=person.id, node_id=node.id, node_path=node.path, role=Role.leader, post_kind="B"))
            await db.commit()
            await db.refresh(person)
            return person
    return make
