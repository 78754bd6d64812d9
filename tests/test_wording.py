"""Wording a community worker reads (issue 13): one English word, two meanings, kept apart by
context; no grid codes on a leader's screens; Chinese words where the browser would speak English."""
from server.i18n import gettext, pgettext
from server.i18n.extract import all_messages


def test_it_keeps_the_same_english_word_apart_by_context():
    assert gettext("zh-CN", "Name") == "姓名"  # a person's
    assert pgettext("zh-CN", "thing", "Name") == "名称"  # a category's, a company's
    assert pgettext("zh-CN", "hazard", "What") == "什么隐患"
    assert pgettext("en", "hazard", "What") == "What"
    assert "thing\x04Name" in all_messages()


async def test_it_shows_a_leader_names_not_codes_and_photo_buttons_in_chinese(signed_in_as, people):
    client = await signed_in_as(people.leader)
    for path in ("/me", f"/grid/{people.microgrid.code}", "/issues/new", "/worklog/new/hazard_check"):
        page = await client.get(path)
        assert page.status_code == 200, path
        assert f"<code>{people.microgrid.code}</code>" not in page.text, path
    hazard = (await client.get("/worklog/new/hazard_check")).text
    assert "什么隐患" in hazard and "操作" not in hazard
    assert "拍照 / 选照片" in hazard and 'class="file-input"' in hazard
    staff = await signed_in_as(people.secretary)
    assert f"<code>{people.microgrid.code}</code>" in (await staff.get(f"/grid/{people.microgrid.code}")).text


async def test_it_words_counts_and_errors_as_people_say_them(signed_in_as, people):
    client = await signed_in_as(people.admin)
    assert "共 <strong>" in (await client.get("/issues")).text
    missing = await client.get("/issues/00000000-0000-4000-8000-000000000000")
    assert missing.status_code == 404 and "页面不存在" in missing.text and ">404<" not in missing.text
    assert "查询" in (await client.get("/track")).text
