"""Draw the app icons (static/icons/*.png): 微 in white on the street's red, with a faint grid.

Run after changing the design: python static/icons/make_icons.py. Needs Pillow and Noto Sans
CJK (Debian: fonts-noto-cjk). "any" icons are a rounded square; the maskable one is full
bleed with the glyph inside the 80 % safe zone, so any launcher mask keeps it whole.
"""
from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

ROOT = Path(__file__).resolve().parents[2]
FONT = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc")
RED, DARK, WHITE = (183, 49, 44), (143, 36, 32), (255, 255, 255)
SCALE = 4  # draw large, shrink: smooth edges without anti-aliasing tricks


def sc_font(size: int) -> ImageFont.FreeTypeFont:
    for index in range(12):
        font = ImageFont.truetype(str(FONT), size, index=index)
        if font.getname()[0] == "Noto Sans CJK SC":
            return font
    raise SystemExit("Noto Sans CJK SC Bold not found: apt-get install fonts-noto-cjk")


def draw(size: int, maskable: bool) -> Image.Image:
    big = size * SCALE
    image = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    d = ImageDraw.Draw(image)
    if maskable:
        d.rectangle([0, 0, big, big], fill=RED)
        inner = big * 0.8  # the safe zone
    else:
        d.rounded_rectangle([0, 0, big - 1, big - 1], radius=int(big * 0.22), fill=RED)
        inner = big
    # A faint 3x3 grid: the micro-grids the app is about.
    margin = (big - inner) / 2 + inner * 0.14
    cell = (big - 2 * margin) / 3
    for i in range(4):
        x = margin + i * cell
        d.line([(x, margin), (x, big - margin)], fill=DARK, width=max(2, big // 120))
        d.line([(margin, x), (big - margin, x)], fill=DARK, width=max(2, big // 120))
    font = sc_font(int(inner * 0.62))
    box = d.textbbox((0, 0), "微", font=font)
    w, h = box[2] - box[0], box[3] - box[1]
    d.text(((big - w) / 2 - box[0], (big - h) / 2 - box[1]), "微", font=font, fill=WHITE)
    return image.resize((size, size), Image.LANCZOS)


def main() -> None:
    out = ROOT / "static" / "icons"
    for name, size, maskable in (("icon-192", 192, False), ("icon-512", 512, False), ("icon-maskable-512", 512, True)):
        # A 32-colour palette: the icon is fetched with the first page, so every KB counts (15 KB -> ~4 KB).
        draw(size, maskable).quantize(colors=32, method=Image.Quantize.FASTOCTREE).save(out / f"{name}.png", optimize=True)
        print("wrote", out / f"{name}.png")


if __name__ == "__main__":
    main()
