"""Find every translatable message in templates and code (used by the i18n test).

Run `python -m server.i18n.extract` to print the messages that have no Chinese
translation yet, as .po entries ready to paste into the area's file.
"""
from __future__ import annotations

from babel.messages.extract import extract_from_dir

from server.config import ROOT
from server.i18n import catalogue, context_key

METHOD_MAP = [
    ("templates/**.html", "jinja2.ext:babel_extract"),
    ("server/**.py", "python"),
]
# t(request, "...") translates its second argument; N_("...") marks a constant.
KEYWORDS = {"_": None, "t": (2,), "N_": None, "ngettext": (1, 2), "pgettext": ((1, "c"), 2)}


def all_messages() -> dict[str, str]:
    """message id -> first place it appears."""
    found: dict[str, str] = {}
    for filename, lineno, message, _comments, context in extract_from_dir(
        str(ROOT), METHOD_MAP, keywords=KEYWORDS, options_map={"templates/**.html": {"trimmed": "false"}}
    ):
        if filename.startswith((".venv", "tests", "e2e")):
            continue
        key = message[0] if isinstance(message, tuple) else message
        if key and context:
            key = context_key(context, key)
        if key:
            found.setdefault(key, f"{filename}:{lineno}")
    return found


def missing(lang: str = "zh-CN") -> dict[str, str]:
    known = catalogue(lang)
    return {msg: where for msg, where in all_messages().items() if msg not in known}


if __name__ == "__main__":
    for message, where in sorted(missing().items(), key=lambda kv: kv[1]):
        context, _, message = message.rpartition("\x04")
        escaped = message.replace("\\", "\\\\").replace('"', '\\"')
        print(f'#: {where}\n' + (f'msgctxt "{context}"\n' if context else "") + f'msgid "{escaped}"\nmsgstr ""\n')
