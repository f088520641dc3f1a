"""Charts drawn by Loa itself: SVG for the report page, PNG (Pillow) for the report document.

Two kinds, from plain figures: horizontal bars (label, value) and lines (one or more series
over the same labelled points). The SVG carries a <title> and <desc> and uses presentation
attributes only (no style attribute, no script: the pages' CSP allows neither); the page puts
the same figures in a table beside it, so no reader depends on the picture.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from markupsafe import Markup

COLOURS = ("#1d6fb8", "#2e8540", "#c0392b", "#8e44ad", "#d35400", "#7f8c8d")
FONTS = ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
         "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
         "/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf")


def _fmt(value: float) -> str:
    """1234567 → 1.234.567 (Vietnamese thousands separator)."""
    return f"{round(value):,}".replace(",", ".")


def _axis_top(top: float) -> float:
    """The axis' top: four steps of a round whole number (1, 2, 5 × 10^n), at or above `top`."""
    return 4 * _ceiling(top / 4)


def _anchor(i: int, n: int) -> str:
    """The first tick's label starts at it, the last ends at it: neither is cut by the edge."""
    return "start" if i == 0 and n > 1 else "end" if i == n - 1 and n > 1 else "middle"


def _ceiling(top: float) -> float:
    """A round whole number at or above `top` (1, 2, 5 × 10^n)."""
    if top <= 1:
        return 1.0
    step = 1.0
    while step * 10 <= top:
        step *= 10
    for m in (1, 2, 5, 10):
        if m * step >= top:
            return m * step
    return 10 * step


# --- SVG -----------------------------------------------------------------------------------

def bars_svg(title: str, rows: Sequence[tuple[str, float]], *, ident: str,
             colour: str = COLOURS[0]) -> Markup:
    """Horizontal bars, one per (label, value), the value written at the bar's end."""
    top = max((v for _, v in rows), default=0) or 1
    # Room for the longest label (about 7 px a character at 13 px), within reason.
    longest = max((len(label) for label, _ in rows), default=10)
    label_w, bar_w, row_h = max(120, min(320, round(longest * 7.4) + 10)), 300, 26
    height = len(rows) * row_h + 8
    out = [f'<svg class="chart" viewBox="0 0 {label_w + bar_w + 90} {height}" width="100%" '
           f'role="img" aria-labelledby="{ident}-t {ident}-d" xmlns="http://www.w3.org/2000/svg">',
           f'<title id="{ident}-t">{escape(title)}</title>',
           f'<desc id="{ident}-d">{escape("; ".join(f"{k}: {_fmt(v)}" for k, v in rows))}'
           "</desc>"]
    for i, (label, value) in enumerate(rows):
        y = 4 + i * row_h
        width = round(bar_w * value / top, 1)
        out.append(f'<text x="{label_w - 6}" y="{y + 16}" text-anchor="end" font-size="13">'
                   f"{escape(label)}</text>")
        out.append(f'<rect x="{label_w}" y="{y + 2}" width="{width}" height="18" rx="2" '
                   f'fill={quoteattr(colour)}></rect>')
        out.append(f'<text x="{label_w + width + 6}" y="{y + 16}" font-size="13">'
                   f"{_fmt(value)}</text>")
    out.append("</svg>")
    return Markup("".join(out))


def lines_svg(title: str, labels: Sequence[str], series: Sequence[tuple[str, Sequence[float]]],
              *, ident: str) -> Markup:
    """One polyline per (name, values) over the labelled points, with a legend and axes."""
    width, height, left, bottom, top_pad = 640, 260, 56, 40, 30
    plot_w, plot_h = width - left - 16, height - bottom - top_pad
    top = _axis_top(max((v for _, values in series for v in values), default=0))
    n = max(len(labels), 1)
    step = plot_w / max(n - 1, 1)
    described = "; ".join(f"{name}: {_fmt(sum(values))}" for name, values in series)
    out = [f'<svg class="chart" viewBox="0 0 {width} {height}" width="100%" role="img" '
           f'aria-labelledby="{ident}-t {ident}-d" xmlns="http://www.w3.org/2000/svg">',
           f'<title id="{ident}-t">{escape(title)}</title>',
           f'<desc id="{ident}-d">{escape(described)}</desc>']
    for k in range(5):  # horizontal grid and its values
        value = top * k / 4
        y = top_pad + plot_h - plot_h * k / 4
        out.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" '
                   'stroke="#ddd"></line>')
        out.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11">'
                   f"{_fmt(value)}</text>")
    ticks = sorted({0, n - 1, *range(0, n, max(1, n // 6))}) if labels else []
    for i in ticks:
        x = left + step * i if n > 1 else left + plot_w / 2
        out.append(f'<text x="{x:.1f}" y="{height - bottom + 16}" '
                   f'text-anchor="{_anchor(i, n)}" font-size="11">{escape(labels[i])}</text>')
    for s, (name, values) in enumerate(series):
        colour = COLOURS[s % len(COLOURS)]
        points = " ".join(
            f"{(left + step * i if n > 1 else left + plot_w / 2):.1f},"
            f"{top_pad + plot_h - plot_h * v / top:.1f}" for i, v in enumerate(values))
        if len(values) == 1:
            cx, cy = points.split(",")
            out.append(f'<circle cx="{cx}" cy="{cy}" r="3" fill="{colour}"></circle>')
        else:
            out.append(f'<polyline points="{points}" fill="none" stroke="{colour}" '
                       'stroke-width="2"></polyline>')
        lx = left + s * 170
        out.append(f'<rect x="{lx}" y="6" width="12" height="12" fill="{colour}"></rect>')
        out.append(f'<text x="{lx + 18}" y="16" font-size="12">{escape(name)}</text>')
    out.append("</svg>")
    return Markup("".join(out))


# --- PNG (the document) --------------------------------------------------------------------

def _pillow() -> Any:
    try:
        from PIL import Image, ImageDraw, ImageFont
    except ImportError:  # pragma: no cover - Pillow is a dependency; kept for a bare install
        return None
    return Image, ImageDraw, ImageFont


def png_available() -> bool:
    return _pillow() is not None


def _font(size: int) -> Any:
    _, _, image_font = _pillow()
    for path in FONTS:  # a font with Vietnamese glyphs, when the machine has one
        if Path(path).exists():
            return image_font.truetype(path, size)
    return image_font.load_default(size)


def _hex(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def bars_png(title: str, rows: Sequence[tuple[str, float]]) -> bytes:
    image_cls, draw_cls, _ = _pillow()
    scale, label_w, bar_w, row_h = 2, 230, 360, 30
    width, height = label_w + bar_w + 110, 40 + len(rows) * row_h + 10
    image = image_cls.new("RGB", (width * scale, height * scale), "white")
    draw = draw_cls.Draw(image)
    big, small = _font(15 * scale), _font(13 * scale)
    draw.text((10 * scale, 8 * scale), title, fill="black", font=big)
    top = max((v for _, v in rows), default=0) or 1
    for i, (label, value) in enumerate(rows):
        y = (40 + i * row_h) * scale
        draw.text(((label_w - 8) * scale, y + 4 * scale), label, fill="black", font=small,
                  anchor="ra")
        w = bar_w * value / top
        if w > 0:
            draw.rectangle([label_w * scale, y + 2 * scale, (label_w + w) * scale,
                            y + 22 * scale], fill=_hex(COLOURS[0]))
        draw.text(((label_w + w + 6) * scale, y + 4 * scale), _fmt(value), fill="black",
                  font=small)
    return _save(image)


def lines_png(title: str, labels: Sequence[str],
              series: Sequence[tuple[str, Sequence[float]]]) -> bytes:
    image_cls, draw_cls, _ = _pillow()
    s = 2
    width, height, left, bottom, top_pad = 700, 300, 70, 40, 60
    plot_w, plot_h = width - left - 20, height - bottom - top_pad
    image = image_cls.new("RGB", (width * s, height * s), "white")
    draw = draw_cls.Draw(image)
    big, small = _font(15 * s), _font(11 * s)
    draw.text((10 * s, 8 * s), title, fill="black", font=big)
    top = _axis_top(max((v for _, values in series for v in values), default=0))
    n = max(len(labels), 1)
    step = plot_w / max(n - 1, 1)
    for k in range(5):
        y = top_pad + plot_h - plot_h * k / 4
        draw.line([(left * s, y * s), ((left + plot_w) * s, y * s)], fill=(221, 221, 221),
                  width=s)
        draw.text(((left - 6) * s, (y - 6) * s), _fmt(top * k / 4), fill="black", font=small,
                  anchor="ra")
    for i in sorted({0, n - 1, *range(0, n, max(1, n // 6))}) if labels else []:
        x = left + step * i if n > 1 else left + plot_w / 2
        anchor = {"start": "la", "end": "ra", "middle": "ma"}[_anchor(i, n)]
        draw.text((x * s, (height - bottom + 8) * s), labels[i], fill="black", font=small,
                  anchor=anchor)
    for j, (name, values) in enumerate(series):
        colour = _hex(COLOURS[j % len(COLOURS)])
        points = [((left + step * i if n > 1 else left + plot_w / 2) * s,
                   (top_pad + plot_h - plot_h * v / top) * s) for i, v in enumerate(values)]
        if len(points) > 1:
            draw.line(points, fill=colour, width=2 * s)
        for x, y in points[:1] if len(points) == 1 else []:
            draw.ellipse([x - 3 * s, y - 3 * s, x + 3 * s, y + 3 * s], fill=colour)
        lx = (left + j * 190) * s
        draw.rectangle([lx, 34 * s, lx + 12 * s, 46 * s], fill=colour)
        draw.text((lx + 18 * s, 33 * s), name, fill="black", font=small)
    return _save(image)


def _save(image: Any) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()
