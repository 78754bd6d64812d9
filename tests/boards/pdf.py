"""Read a PDF's page count without a PDF library: the page tree's /Count, in plain objects or in
the compressed object streams WeasyPrint writes."""
from __future__ import annotations

import re
import zlib

STREAM = re.compile(rb"stream\r?\n(.*?)\r?\nendstream", re.S)
PAGES = re.compile(rb"/Type\s*/Pages\b[^>]*?/Count\s+(\d+)|/Count\s+(\d+)[^>]*?/Type\s*/Pages\b", re.S)


def page_count(pdf: bytes) -> int:
    texts = [pdf]
    for body in STREAM.findall(pdf):
        try:
            texts.append(zlib.decompress(body))
        except zlib.error:
            pass
    counts = [int(a or b) for text in texts for a, b in PAGES.findall(text)]
    assert counts, "no page tree found"
    return max(counts)  # the root of the page tree counts every page


MEDIA_BOX = re.compile(rb"/MediaBox\s*\[\s*0\s+0\s+([\d.]+)\s+([\d.]+)\s*\]")


def page_sizes(pdf: bytes) -> set[tuple[int, int]]:
    """Every page's size in points (rounded), from plain or compressed objects."""
    texts = [pdf]
    for body in STREAM.findall(pdf):
        try:
            texts.append(zlib.decompress(body))
        except zlib.error:
            pass
    return {(round(float(w)), round(float(h))) for text in texts for w, h in MEDIA_BOX.findall(text)}
