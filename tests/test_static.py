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
