"""大字模式 (issue 13): switched on 我的, kept for the person (every phone), on <html> of every page."""
import re

from server.accounts.models import Person
from server.db import make_sessionmaker
from tests.accounts.conftest import enrol_passkey
from tests.conftest import csrf_headers


def html_tag(text: str) -> str:
    return re.search(r"<html[^>]*>", text).group(0)


async def test_it_keeps_large_text_for_the_person_and_marks_every_page(client, fresh_leader, new_invite, engine):
    await enrol_passkey(client, await new_invite(fresh_leader))
    page = await client.get("/me")
    assert 'class="elder"' not in html_tag(page.text) and 'data-large-text="0"' in html_tag(page.text)
    assert "开启大字模式" in page.text

    response = await client.post("/me/large-text", data={"large_text": "on"}, headers=await csrf_headers(client),
                                 follow_redirects=False)
    assert response.status_code == 303
    async with make_sessionmaker(engine)() as db:
        person = await db.get(Person, fresh_leader.id)
        assert person.large_text is True and person.large_text_at is not None
    worklist = await client.get("/worklist")
    tag = html_tag(worklist.text)
    assert 'class="elder"' in tag and 'data-large-text="1"' in tag and 'data-large-text-at="20' in tag
    assert "关闭大字模式" in (await client.get("/me")).text

    await client.post("/me/large-text", data={"large_text": "off"}, headers=await csrf_headers(client))
    async with make_sessionmaker(engine)() as db:
        assert (await db.get(Person, fresh_leader.id)).large_text is False
    assert 'class="elder"' not in html_tag((await client.get("/worklist")).text)
