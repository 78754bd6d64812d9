"""The command line: first-run administrator invite, `weiwang invite`, demo invitations."""
import pytest
import sqlalchemy as sa

from server.accounts import invites
from server.accounts.models import Device, Invite, Person, Post, Role
from server.db import make_sessionmaker
from server.clock import utcnow
from tests.accounts.conftest import enrol_passkey


async def _in_session(engine, work):
    async with make_sessionmaker(engine)() as db:
        return await work(db)


async def _revoke_admin_devices(engine):
    async with make_sessionmaker(engine)() as db:
        admins = sa.select(Post.person_id).where(Post.role == Role.admin)
        await db.execute(sa.update(Device).where(Device.person_id.in_(admins), Device.revoked_at.is_(None))
                         .values(revoked_at=utcnow()))
        await db.commit()


async def test_it_prints_a_first_run_admin_invite_until_an_admin_has_a_device(settings, engine, client, people):
    await _revoke_admin_devices(engine)
    url = await _in_session(engine, lambda db: invites.first_run_invite(db, settings))
    assert url and url.startswith("http://localhost:8000/invite/")
    _, response = await enrol_passkey(client, url.rsplit("/", 1)[1])
    assert response.status_code == 200
    assert await _in_session(engine, lambda db: invites.first_run_invite(db, settings)) is None
    await _revoke_admin_devices(engine)  # leave the shared database as other tests expect it


async def test_it_invites_from_the_command_line_and_finds_the_person_by_name_nearby(settings, engine, people):
    url = await _in_session(engine, lambda db: invites.invite_command(db, settings, name=people.leader.name, role="leader",
                                       grid=people.microgrid.code, post_kind="A"))
    token = url.rsplit("/", 1)[1]
    async with make_sessionmaker(engine)() as db:
        invite = await invites.find_invite(db, token)
    assert invite.person_id == people.leader.id and invite.role == "leader" and invite.post_kind == "A"

    new = await _in_session(engine, lambda db: invites.invite_command(db, settings, name="李春秀新", role="leader", grid=people.microgrid.code, post_kind=None))
    async with make_sessionmaker(engine)() as db:
        invite = await invites.find_invite(db, new.rsplit("/", 1)[1])
        person = await db.get(Person, invite.person_id)
    assert person.name == "李春秀新" and invite.post_kind == "A"  # A by default


async def test_it_defaults_an_admin_invite_to_the_whole_street(settings, engine):
    url = await _in_session(engine, lambda db: invites.invite_command(db, settings, name="新管理员", role="admin", grid=None, post_kind=None))
    async with make_sessionmaker(engine)() as db:
        invite = await invites.find_invite(db, url.rsplit("/", 1)[1])
        node = await db.get(invites.GridNode, invite.node_id)
    assert node.level == "street"


@pytest.mark.parametrize("kwargs,message", [
    ({"role": "leader", "grid": "NOPE"}, "no grid node"),
    ({"role": "leader", "grid": None}, "--grid is required"),
    ({"role": "leader", "grid": "JY"}, "does not belong"),
    ({"role": "boss", "grid": "JY"}, "unknown role"),
    ({"role": "community", "grid": "JY-01", "post_kind": "A"}, "only for micro-grid leaders"),
])
async def test_it_explains_a_bad_command_line(settings, engine, kwargs, message):
    with pytest.raises(invites.CommandError, match=message):
        await _in_session(engine, lambda db: invites.invite_command(db, settings, name="某人", **{"post_kind": None, **kwargs}))


async def test_it_prints_demo_invitations_for_admin_secretary_and_two_neighbouring_leaders(settings, engine, demo):
    links = await _in_session(engine, lambda db: invites.demo_invites(db, settings))
    labels = [label.split(":")[0] for label, _ in links]
    assert labels == ["street admin", "community secretary", "leader", "neighbouring leader"]
    async with make_sessionmaker(engine)() as db:
        found = [await invites.find_invite(db, url.rsplit("/", 1)[1]) for _, url in links]
        leader_nodes = [await db.get(invites.GridNode, i.node_id) for i in found[2:]]
    assert leader_nodes[0].parent_id == leader_nodes[1].parent_id and leader_nodes[0].id != leader_nodes[1].id
    assert all(isinstance(i, Invite) and i.used_at is None for i in found)


def test_it_runs_weiwang_invite(settings, monkeypatch):
    from click.testing import CliRunner

    from server.cli import main

    monkeypatch.setenv("WEIWANG_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("WEIWANG_VAR_DIR", str(settings.var_dir))
    monkeypatch.setenv("WEIWANG_BASE_URL", "https://weiwang.example.cn")
    result = CliRunner().invoke(main, ["invite", "--name", "李春秀", "--role", "admin"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("https://weiwang.example.cn/invite/")
    bad = CliRunner().invoke(main, ["invite", "--name", "李春秀", "--role", "leader", "--grid", "NOPE"])
    assert bad.exit_code != 0 and "no grid node" in bad.output
