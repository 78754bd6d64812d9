from server.i18n import gettext
from server.i18n.extract import all_messages, missing


def test_it_finds_messages_in_templates_and_code():
    assert "Search households" in all_messages()


def test_it_has_a_chinese_translation_for_every_message():
    gaps = missing("zh-CN")
    assert not gaps, "untranslated (run python -m server.i18n.extract):\n" + "\n".join(
        f"{where}: {msg}" for msg, where in sorted(gaps.items())
    )


def test_it_keeps_placeholders_in_translations():
    import re

    from server.i18n import catalogue

    for message, translation in catalogue("zh-CN").items():
        if isinstance(translation, tuple):
            translation = translation[0]
        assert set(re.findall(r"%\((\w+)\)s", message)) == set(re.findall(r"%\((\w+)\)s", translation)), message


def test_it_falls_back_to_english_for_an_unknown_message():
    assert gettext("zh-CN", "no such message xyz") == "no such message xyz"
    assert gettext("en", "Search") == "Search"
    assert gettext("zh-CN", "Search") == "搜索"
