import hashlib
import re

from server.config import STATIC_DIR


def test_it_serves_the_htmx_file_whose_checksum_is_noted_beside_it():
    notes = (STATIC_DIR / "vendor" / "README.md").read_text()
    noted = re.search(r"htmx-4\.0\.1\.min\.js.*?`([0-9a-f]{64})`", notes).group(1)
    actual = hashlib.sha256((STATIC_DIR / "vendor" / "htmx-4.0.1.min.js").read_bytes()).hexdigest()
    assert actual == noted


def test_it_has_no_inline_script_or_handler_in_any_template():
    from server.config import TEMPLATES_DIR

    for template in TEMPLATES_DIR.rglob("*.html"):
        text = template.read_text()
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text), f"inline <script> in {template}"
        assert not re.search(r"\son[a-z]+=", text), f"inline event handler in {template}"
        assert not re.search(r"\sstyle=", text), f"inline style attribute in {template}"
        assert "hx-on" not in text, f"hx-on needs eval, forbidden by the CSP: {template}"


def test_every_static_file_a_template_names_is_in_the_offline_shell():
    """The shell is derived from the templates (server/sync/pwa.py): that holds only while every
    template names its static files with a literal static_url('...') and never by a bare /static/ path."""
    from server.config import TEMPLATES_DIR
    from server.sync.pwa import shell_urls, template_assets

    shell = {url.split("?")[0] for url in shell_urls()}
    for template in TEMPLATES_DIR.rglob("*.html"):
        text = template.read_text()
        calls = len(re.findall(r"static_url\(", text))
        literal = re.findall(r"""static_url\(\s*['"]([^'"]+)['"]\s*\)""", text)
        assert calls == len(literal), f"a static_url() call with a computed path in {template}"
        assert not re.search(r"""(?:src|href)=["']/static/""", text), f"a /static/ path not through static_url in {template}"
        for path in literal:
            assert (STATIC_DIR / path).is_file(), f"{template} names a missing static file {path}"
            assert f"/static/{path}" in shell, path
    assert {"js/patrol.js", "css/patrols.css", "js/outbox.js"} <= set(template_assets())


def test_one_photo_shrink_serves_every_form():
    """static/js/outbox-core.js's shrinkPhoto is the only code that re-encodes a photo."""
    js = STATIC_DIR / "js"
    for script in js.glob("*.js"):
        text = script.read_text()
        if script.name == "outbox-core.js":
            assert "function shrinkPhoto" in text
            continue
        assert "toBlob(" not in text and "createImageBitmap(" not in text, f"a second photo shrink in {script.name}"
