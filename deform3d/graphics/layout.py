"""Where everything goes in a picture of any size: panels, titles, the heads-up line, legend, curve.

Owns: the arrangement of panels by the picture's aspect (a row, a column, or the lift large beside
or above the two flat panels: whichever shows the most), text sizes that scale with the picture but
never fall below a legible cap height, and how much of the heads-up line fits. Pure arithmetic on
pixel rectangles: imports nothing (no numpy, no VisPy), so the layout is tested without a context.

Rectangles are (x, y, width, height) in canvas pixels, y down. Text sizes are cap heights in pixels
(``font_points`` turns one into the point size VisPy's text takes).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

#: Cap height of VisPy's default font (OpenSans: 1462 / 2048 of the em) in pixels per point at 96 dpi.
CAP_PER_POINT = 1462 / 2048 * 96 / 72
MIN_CAP = 8.0  # px: the smallest text anyone reads on a projected slide or a phone


def font_points(cap_px: float) -> float:
    """The font size in points whose capitals are ``cap_px`` pixels tall."""
    return cap_px / CAP_PER_POINT


def text_width(text: str, cap_px: float) -> float:
    """A generous estimate of a line's width in pixels (OpenSans averages ~0.75 cap per glyph)."""
    return 0.78 * cap_px * len(text) + cap_px


@dataclass
class Layout:
    """The rectangles of one picture. ``views[name]`` and ``titles[name]`` per panel."""

    size: tuple[int, int]
    cap: float  # cap height of the body text (titles, legend, ticks), px
    hud_cap: float
    arrangement: str
    hud: tuple[float, float, float, float] | None
    legend: tuple[float, float, float, float] | None
    curve: tuple[float, float, float, float] | None
    views: dict = field(default_factory=dict)
    titles: dict = field(default_factory=dict)

    def texts(self) -> dict:
        """Every text line's box, by name, for overlap checks."""
        out = {f"title:{k}": v for k, v in self.titles.items()}
        if self.hud is not None:
            out["hud"] = self.hud
        if self.legend is not None:
            out["legend"] = self.legend
        return out


def _cells(
    arrangement: str, panels: tuple[str, ...], x: float, y: float, w: float, h: float, gap: float, title_h: float = 0.0
):
    """Panel name -> cell rectangle for an arrangement over the region (x, y, w, h)."""
    n = len(panels)
    if arrangement == "row":
        cw = (w - gap * (n - 1)) / n
        return {p: (x + i * (cw + gap), y, cw, h) for i, p in enumerate(panels)}
    if arrangement == "column":
        ch = (h - gap * (n - 1)) / n
        return {p: (x, y + i * (ch + gap), w, ch) for i, p in enumerate(panels)}
    first, rest = panels[0], panels[1:]
    if arrangement == "first-left":  # the first panel large on the left, the others stacked
        ch = (h - gap * (len(rest) - 1)) / len(rest)
        fw = w - min(0.45 * w, ch - title_h) - gap / 2  # the others just wide enough to be square
        cells = {first: (x, y, fw - gap / 2, h)}
        cells.update({p: (x + fw + gap / 2, y + i * (ch + gap), w - fw - gap / 2, ch) for i, p in enumerate(rest)})
        return cells
    if arrangement == "first-top":  # the first panel large on top, the others side by side
        cw = (w - gap * (len(rest) - 1)) / len(rest)
        fh = h - min(0.45 * h, cw + title_h) - gap / 2
        cells = {first: (x, y, w, fh - gap / 2)}
        cells.update({p: (x + i * (cw + gap), y + fh + gap / 2, cw, h - fh - gap / 2) for i, p in enumerate(rest)})
        return cells
    raise ValueError(f"unknown arrangement {arrangement!r}")


def layout(
    size: tuple[int, int], panels: tuple[str, ...], *, legend: bool = True, curve: bool = False, text_scale: float = 1.0
) -> Layout:
    """Lay out a picture of ``size`` (width, height) px showing ``panels`` (in order).

    Text grows with the picture (cap height ~1.6% of its smaller side for titles) and never falls
    below MIN_CAP; ``text_scale`` multiplies every text size (a window on a projector asks for
    more). Each candidate arrangement is scored by the area of the largest square that fits
    in each panel's view (what a 3-D lift or a square 2-D panel can fill); the best wins.
    """
    W, H = size
    short = min(W, H)
    cap = max(MIN_CAP / 0.9, round(0.016 * short * 2) / 2)  # axis labels are 0.9 of it
    hud_cap = max(MIN_CAP + 1, round(0.021 * short * 2) / 2)
    if text_scale != 1.0:
        cap, hud_cap = round(cap * text_scale * 2) / 2, round(hud_cap * text_scale * 2) / 2
    margin = max(4.0, round(0.012 * short))
    gap = max(6.0, round(0.02 * short))
    hud_h = round(hud_cap * 2.0)
    title_h = round(cap * 2.0)
    curve_h = max(round(cap * 5.5), round(0.15 * H)) if curve else 0
    # Text takes fixed room; a picture too small for it keeps its panels and drops, in turn, the
    # legend, the curve strip, the titles and the heads-up line (a thumbnail needs none of them).
    show = {"legend": legend, "curve": curve, "titles": True, "hud": True}
    for drop in ("legend", "curve", "titles", "hud"):
        used = (
            (hud_h if show["hud"] else 0)
            + (round(cap * 2.0) if show["legend"] else 0)
            + (curve_h + gap if show["curve"] else 0)
            + (title_h if show["titles"] else 0)
            + 2 * margin
            + gap / 2
        )
        if H - used >= 0.45 * H:
            break
        show[drop] = False
    hud_h = hud_h if show["hud"] else 0
    title_h = title_h if show["titles"] else 0
    y = margin + hud_h
    legend_box = None
    if show["legend"]:
        legend_box = (margin, y, W - 2 * margin, round(cap * 2.0))
        y += legend_box[3]
    y += gap / 2
    bottom = H - margin
    curve_box = None
    if show["curve"]:
        curve_box = (margin, bottom - curve_h, W - 2 * margin, curve_h)
        bottom -= curve_h + gap
    region = (margin, y, W - 2 * margin, max(bottom - y, 10.0))
    n = len(panels)
    options = ["row", "column"] + (["first-left", "first-top"] if n >= 3 else [])
    best = None
    for arrangement in options:
        cells = _cells(arrangement, panels, *region, gap, title_h)
        views = {p: (cx, cy + title_h, cw, max(ch - title_h, 1.0)) for p, (cx, cy, cw, ch) in cells.items()}
        score = sum(min(w, h) ** 2 for _, _, w, h in views.values())
        if best is None or score > best[0] + 1e-6:
            best = (score, arrangement, cells, views)
    assert best is not None  # for mypy: the loop above always finds one
    _, arrangement, cells, views = best
    hud_box = (margin, margin, W - 2 * margin, hud_h) if hud_h else None
    out = Layout((W, H), cap, hud_cap, arrangement, hud_box, legend_box, curve_box)
    for p, (cx, cy, cw, _ch) in cells.items():
        if title_h:
            out.titles[p] = (cx, cy, cw, title_h)
        out.views[p] = views[p]
    return out


def fit_text(candidates: list[str], cap: float, width: float) -> str:
    """The first of ``candidates`` (most detailed first) that fits ``width`` px; else the last."""
    for text in candidates:
        if text_width(text, cap) <= width:
            return text
    return candidates[-1]


def ticks(lo: float, hi: float) -> list[float]:
    """Three round tick values over [lo, hi]: the ends and the middle, rounded to 2 significant digits."""

    def r(v: float) -> float:
        if v == 0 or not math.isfinite(v):
            return 0.0
        return round(v, -int(math.floor(math.log10(abs(v)))) + 1)

    return [r(lo), r((lo + hi) / 2), r(hi)]
