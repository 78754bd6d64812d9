"""Translations: English message ids in the code, Simplified Chinese by default.

Catalogues are gettext .po files read with Babel at start-up (no compile step, so a
fresh clone runs as it is). Each area keeps its own file, `server/i18n/<lang>/<area>.po`,
and every file of a language is merged. `tests/test_i18n.py` extracts every message
from templates and code with Babel and fails on one without a Chinese translation.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from babel.messages.pofile import read_po

HERE = Path(__file__).resolve().parent
LANGUAGES = {"zh-CN": "中文", "en": "English"}
DEFAULT_LANGUAGE = "zh-CN"
_DIRS = {"zh-CN": "zh_CN", "en": "en"}


@lru_cache(maxsize=None)
def catalogue(lang: str) -> dict[str, str | tuple[str, ...]]:
    messages: dict[str, str | tuple[str, ...]] = {}
    folder = HERE / _DIRS.get(lang, "")
    if lang not in _DIRS or not folder.is_dir():
        return messages
    for po_file in sorted(folder.glob("*.po")):
        with po_file.open("rb") as fh:
            for message in read_po(fh, locale=_DIRS[lang]):
                if not message.id or not message.string or message.fuzzy:
                    continue
                key = message.id[0] if isinstance(message.id, tuple) else message.id
                if message.context:  # msgctxt: the same English word, another meaning (pgettext)
                    key = context_key(message.context, key)
                messages[key] = tuple(message.string) if isinstance(message.string, (tuple, list)) else message.string
    return messages


def gettext(lang: str, message: str) -> str:
    found = catalogue(lang).get(message)
    if isinstance(found, tuple):
        return found[0]
    return found or message


def context_key(context: str, message: str) -> str:
    return f"{context}\x04{message}"  # gettext's own separator


def pgettext(lang: str, context: str, message: str) -> str:
    """A short English word that means different things in different places ("Name" of a person,
    of a category): the context keeps their Chinese apart."""
    found = catalogue(lang).get(context_key(context, message))
    if isinstance(found, tuple):
        return found[0]
    return found or message


def ngettext(lang: str, singular: str, plural: str, n: int) -> str:
    found = catalogue(lang).get(singular)
    if isinstance(found, tuple):
        return found[0] if lang == "zh-CN" or n == 1 or len(found) == 1 else found[1]
    if found:
        return found
    return singular if n == 1 else plural


def pick_language(cookie_value: str | None) -> str:
    return cookie_value if cookie_value in LANGUAGES else DEFAULT_LANGUAGE


def N_(message: str) -> str:
    """Mark a constant for translation; translate it where it is shown."""
    return message
