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


CARE_ZH = ("独居老人", "残疾人", "低保", "留守儿童", "退役军人", "大病", "特困供养")


async def test_it_speaks_english_in_english_mode_labels_from_macros_included(signed_in_as, people):
    """Macros imported from _labels.html/_forms.html render in the page's language (they were
    imported without context and fell back to Chinese: 独居老人, 全部未办结, 社区（村）, 微网格长)."""
    import re

    client = await signed_in_as(people.leader)
    client.cookies.set("lang", "en")
    worklist = (await client.get("/worklist")).text
    assert 'class="tag tag-' in worklist  # the fixture's street has care households
    assert not [w for w in CARE_ZH if w in worklist]
    me = (await client.get("/me")).text
    assert "微网格长" not in me and "Micro-grid leader" in me
    staff = await signed_in_as(people.secretary)
    staff.cookies.set("lang", "en")
    ledger = (await staff.get("/issues")).text
    for zh in ("全部未办结", "全部已处理", "待交办"):
        assert zh not in ledger, zh
    assert "All open" in ledger
    home = (await staff.get("/")).text
    assert "社区（村）" not in home
    patrols = (await staff.get("/patrols")).text
    names = re.findall(r'<span class="month-name">([^<]+)</span>', patrols)
    assert names and all(re.fullmatch(r"Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec", n) for n in names), names
    staff.cookies.set("lang", "zh-CN")
    patrols = (await staff.get("/patrols")).text
    names = re.findall(r'<span class="month-name">([^<]+)</span>', patrols)
    assert names and all(re.fullmatch(r"\d{1,2}月", n) for n in names), names


def test_it_writes_chinese_with_full_width_punctuation():
    """No half-width ':', ',', ';', '!', '?' or parentheses beside Chinese in the Chinese catalogue."""
    import glob
    import re

    from babel.messages.pofile import read_po

    half = re.compile(r"[\u4e00-\u9fff（）][:,;!?()]|[(:,;][\u4e00-\u9fff]")
    wrong = []
    for path in sorted(glob.glob("server/i18n/zh_CN/*.po")):
        with open(path, "rb") as fh:
            for message in read_po(fh, locale="zh_CN"):
                strings = message.string if isinstance(message.string, (list, tuple)) else [message.string]
                wrong += [(path, s) for s in strings if s and half.search(s)]
    assert wrong == []
    assert len(glob.glob("server/i18n/zh_CN/*.po")) > 5
