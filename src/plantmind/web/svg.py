"""A tiny inline-SVG figure kit for the self-contained HTML reports (``comply check``, the
benchmarks): bar charts (grouped or stacked, negative values allowed), a line chart with an
optional band, a dot-and-interval chart and a heat strip.

Every function returns one ``<svg>`` element as a string, sized in CSS pixels, with its title
drawn in the figure and given as ``<title>`` and ``aria-label`` (the text equivalent; the
numbers belong in a table beside it). No scripts, no external fonts or stylesheets: the
figure shows wherever the page is opened. Every text (labels, titles, units, colours) goes
through :func:`html.escape`, after dropping the characters XML forbids, so a hostile label
cannot break the page. Values that are ``None``, NaN or infinite are skipped (and said to be
missing); a figure with nothing to draw says so in words.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

__all__ = [
    "PALETTE",
    "Interval",
    "bar_chart",
    "empty_figure",
    "figure",
    "heat_strip",
    "interval_chart",
    "line_chart",
    "nice_ticks",
]

#: colours that stay apart for the common colour-vision deficiencies (Okabe & Ito 2008)
PALETTE = ("#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#000000")

_FONT = "system-ui,-apple-system,'Segoe UI',Roboto,sans-serif"  # the system's own fonts
_TEXT = "#1d1d1f"
_MUTED = "#555"
_GRID = "#e2e2e2"
_AXIS = "#888"
_FS = 13  # body text, px: readable on a 1024 px screen and printed
_FS_SMALL = 12
_FS_TITLE = 14
_CHAR_W = 0.62  # average glyph width per font-size unit, to size label columns

_XML_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")

Number = float | int | None


@dataclass(frozen=True)
class Interval:
    """One row of :func:`interval_chart`: a point estimate and its interval."""

    label: str
    value: float
    low: float
    high: float
    color: str | None = None


def _e(text: object) -> str:
    """Escaped text for an element body or an attribute, without XML-forbidden characters."""
    return html.escape(_XML_BAD.sub("", "" if text is None else str(text)), quote=True)


def _finite(v: object) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def _f(x: float) -> str:
    """A coordinate: one decimal, no ``-0.0``."""
    s = f"{x:.1f}"
    return "0.0" if s == "-0.0" else s


def _fmt(v: float, value_format: str) -> str:
    try:
        return value_format.format(v)
    except (ValueError, TypeError):
        return f"{v:g}"


def _clip(text: str, chars: int) -> str:
    return text if len(text) <= chars else text[: max(chars - 1, 1)] + "…"


def _text_w(text: str, size: int = _FS) -> float:
    return len(text) * size * _CHAR_W


def nice_ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    """About ``n`` round tick values (steps of 1, 2, 2.5 or 5 × 10^k) from the last at or
    below ``lo`` to the first at or above ``hi``."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return []
    if hi < lo:
        lo, hi = hi, lo
    if hi == lo:
        return [lo]
    raw = (hi - lo) / max(n, 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    first = math.floor(lo / step + 1e-9)
    last = math.ceil(hi / step - 1e-9)
    return [round(k * step, 12) for k in range(first, last + 1)]


def _tick_label(t: float, ticks: Sequence[float], tick_format: str | None = None) -> str:
    if tick_format is not None:
        return _fmt(t, tick_format)
    step = abs(ticks[1] - ticks[0]) if len(ticks) > 1 else abs(t) or 1.0
    decimals = max(0, -math.floor(math.log10(step) + 1e-9)) if step < 1 else 0
    if step < 1 and not math.isclose(round(step, decimals), step):
        decimals += 1
    return f"{t:,.{decimals}f}"


def _open(width: float, height: float, title: str, desc: str = "") -> list[str]:
    label = title if not desc else f"{title}. {desc}"
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" role="img" aria-label="{_e(label)}" '
        f'font-family="{_e(_FONT)}" font-size="{_FS}" fill="{_TEXT}" '
        'style="max-width:100%;height:auto;display:block">',
        f"<title>{_e(label)}</title>",
        f'<text x="0" y="{_FS_TITLE + 2}" font-size="{_FS_TITLE}" font-weight="600">'
        f"{_e(title)}</text>",
    ]


def empty_figure(title: str, message: str = "no data to plot", width: int = 480) -> str:
    """A small figure that says in words why there is nothing to draw."""
    parts = _open(width, 56, title, message)
    parts.append(
        f'<rect x="0.5" y="24.5" width="{width - 1}" height="30" fill="#fafafa" '
        f'stroke="{_GRID}"/><text x="10" y="44" fill="{_MUTED}">{_e(message)}</text></svg>'
    )
    return "".join(parts)


def _legend(
    items: Sequence[tuple[str, str]], x: float, y: float, width: float
) -> tuple[str, float]:
    """Swatches left to right, wrapping at ``width``; the markup and the height it takes."""
    out: list[str] = []
    cx, cy = x, y
    for name, colour in items:
        w = 18 + _text_w(name, _FS_SMALL) + 14
        if cx > x and cx + w > x + width:
            cx, cy = x, cy + 18
        out.append(
            f'<rect x="{_f(cx)}" y="{_f(cy - 10)}" width="12" height="12" fill="{_e(colour)}"/>'
            f'<text x="{_f(cx + 17)}" y="{_f(cy)}" font-size="{_FS_SMALL}">{_e(name)}</text>'
        )
        cx += w
    return "".join(out), (cy - y) + 18


def _colours(names: Sequence[str], colors: Mapping[str, str] | None) -> dict[str, str]:
    given = colors or {}
    return {n: given.get(n, PALETTE[i % len(PALETTE)]) for i, n in enumerate(names)}


def bar_chart(
    labels: Sequence[str],
    series: Mapping[str, Sequence[Number]],
    *,
    title: str,
    unit: str = "",
    colors: Mapping[str, str] | None = None,
    stacked: bool = False,
    domain: tuple[float, float] | None = None,
    value_format: str = "{:.3g}",
    width: int = 640,
    bar_height: int = 16,
    label_chars: int = 28,
    row_colors: Sequence[str] | None = None,
    tick_format: str | None = None,
) -> str:
    """Horizontal bars, one group per label and one bar per series (``stacked``: the series
    end to end in one bar; negative values are not stacked). ``domain`` fixes the value axis
    (e.g. ``(0, 1)`` for rates), otherwise it spans the data and 0. Each bar carries its
    value as text; a missing value (None, NaN, inf) is written ``n/a``. ``row_colors``: with
    one series, a colour per label instead of the series' colour. ``tick_format``: the axis
    numbers' format (default: as many decimals as the step needs)."""
    names = list(series)
    cols = _colours(names, colors)
    rows = [str(lb) for lb in labels]
    vals = {n: [(v if _finite(v) else None) for v in series[n]] for n in names}
    for n in names:
        vals[n] = (vals[n] + [None] * len(rows))[: len(rows)]
    present = [v for n in names for v in vals[n] if v is not None]
    if not rows or not names or not present:
        return empty_figure(title, width=width)
    if stacked:
        if any(v < 0 for v in present):
            raise ValueError("stacked bars need values ≥ 0")
        totals = [sum(vals[n][i] or 0.0 for n in names) for i in range(len(rows))]
        lo, hi = 0.0, max(totals)
    else:
        lo, hi = min(0.0, *present), max(0.0, *present)
    if domain is not None:
        lo, hi = min(domain[0], lo), max(domain[1], hi)
    if hi == lo:
        hi = lo + 1.0
    ticks = nice_ticks(lo, hi)
    lo, hi = min(lo, ticks[0]), max(hi, ticks[-1])
    shown = [_clip(r, label_chars) for r in rows]
    left = min(max(_text_w(s) for s in shown) + 16, width * 0.45)
    value_room = _text_w(_fmt(max(abs(lo), abs(hi)), value_format), _FS_SMALL) + 10
    right = width - 8 - value_room
    span = max(right - left, 40.0)

    def px(v: float) -> float:
        return left + span * (v - lo) / (hi - lo)

    per_group = 1 if stacked else len(names)
    group_h = per_group * (bar_height + 2) + 10
    top = 28.0
    legend = ""
    if len(names) > 1:
        legend, lh = _legend([(n, cols[n]) for n in names], 0, top + 10, width)
        top += lh + 4
    plot_h = group_h * len(rows)
    height = top + plot_h + 34 + (18 if unit else 0)
    missing = sum(1 for n in names for v in vals[n] if v is None)
    desc = f"{len(rows)} group(s), series: {', '.join(names)}"
    if missing:
        desc += f"; {missing} value(s) missing"
    parts = _open(width, height, title, desc)
    parts.append(legend)
    for t in ticks:
        x = px(t)
        parts.append(
            f'<line x1="{_f(x)}" y1="{_f(top)}" x2="{_f(x)}" y2="{_f(top + plot_h)}" '
            f'stroke="{_GRID if t != 0 else _AXIS}"/>'
            f'<text x="{_f(x)}" y="{_f(top + plot_h + 16)}" text-anchor="middle" '
            f'font-size="{_FS_SMALL}" fill="{_MUTED}">{_e(_tick_label(t, ticks, tick_format))}'
            "</text>"
        )
    if unit:
        parts.append(
            f'<text x="{_f(left + span / 2)}" y="{_f(top + plot_h + 34)}" text-anchor="middle" '
            f'font-size="{_FS_SMALL}" fill="{_MUTED}">{_e(unit)}</text>'
        )
    zero = px(max(lo, min(0.0, hi)))
    for i, (row, short) in enumerate(zip(rows, shown, strict=True)):
        gy = top + i * group_h + 5
        parts.append(
            f'<text x="{_f(left - 8)}" y="{_f(gy + (group_h - 10) / 2 + 4)}" '
            f'text-anchor="end">{f"<title>{_e(row)}</title>" if short != row else ""}'
            f"{_e(short)}</text>"
        )
        acc = 0.0
        for j, n in enumerate(names):
            v = vals[n][i]
            y = gy if stacked else gy + j * (bar_height + 2)
            if v is None:
                if not stacked:
                    parts.append(
                        f'<text x="{_f(zero + 4)}" y="{_f(y + bar_height - 4)}" '
                        f'font-size="{_FS_SMALL}" fill="{_MUTED}">n/a</text>'
                    )
                continue
            a, b = (acc, acc + v) if stacked else (min(0.0, v), max(0.0, v))
            x0, x1 = px(a), px(b)
            tip = f"{row}: {n} {_fmt(v, value_format)}{(' ' + unit) if unit else ''}"
            fill = cols[n]
            if row_colors is not None and len(names) == 1 and i < len(row_colors):
                fill = row_colors[i]
            parts.append(
                f'<rect x="{_f(x0)}" y="{_f(y)}" width="{_f(max(x1 - x0, 0.0))}" '
                f'height="{bar_height}" fill="{_e(fill)}"><title>{_e(tip)}</title></rect>'
            )
            if stacked:
                if x1 - x0 > _text_w(_fmt(v, value_format), _FS_SMALL) + 6 and v > 0:
                    parts.append(
                        f'<text x="{_f((x0 + x1) / 2)}" y="{_f(y + bar_height - 4)}" '
                        f'text-anchor="middle" font-size="{_FS_SMALL}" fill="#fff">'
                        f"{_e(_fmt(v, value_format))}</text>"
                    )
                acc += v
            else:
                tx, anchor = (x1 + 4, "start") if v >= 0 else (x0 - 4, "end")
                if v < 0 and x0 - 4 - _text_w(_fmt(v, value_format), _FS_SMALL) < left:
                    tx, anchor = zero + 4, "start"
                parts.append(
                    f'<text x="{_f(tx)}" y="{_f(y + bar_height - 4)}" text-anchor="{anchor}" '
                    f'font-size="{_FS_SMALL}">{_e(_fmt(v, value_format))}</text>'
                )
        if stacked:
            total = sum(vals[n][i] or 0.0 for n in names)
            parts.append(
                f'<text x="{_f(px(total) + 4)}" y="{_f(gy + bar_height - 4)}" '
                f'font-size="{_FS_SMALL}" fill="{_MUTED}">{_e(_fmt(total, value_format))}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)


def _segments(xs: Sequence[Number], ys: Sequence[Number]) -> list[list[tuple[float, float]]]:
    """Runs of consecutive finite points (a missing point breaks the line)."""
    runs: list[list[tuple[float, float]]] = [[]]
    for x, y in zip(xs, ys, strict=False):
        if _finite(x) and _finite(y):
            assert x is not None and y is not None
            runs[-1].append((float(x), float(y)))
        elif runs[-1]:
            runs.append([])
    return [r for r in runs if r]


def line_chart(
    x: Sequence[Number],
    series: Mapping[str, Sequence[Number]],
    *,
    title: str,
    band: tuple[Sequence[Number], Sequence[Number]] | None = None,
    band_label: str = "interval",
    x_label: str = "",
    y_label: str = "",
    colors: Mapping[str, str] | None = None,
    markers: bool = False,
    dots: Sequence[str] = (),
    y_domain: tuple[float, float] | None = None,
    width: int = 640,
    height: int = 320,
) -> str:
    """Lines over a shared ``x`` (``markers``: a dot at each point; series named in ``dots``:
    dots only, for values that are not a continuum) and an optional shaded ``band``
    ``(low, high)`` behind them, e.g. an interval. Non-finite points are skipped: a line
    breaks there."""
    names = list(series)
    cols = _colours(names, colors)
    segs = {n: _segments(x, series[n]) for n in names}
    pts = [p for n in names for s in segs[n] for p in s]
    band_segs: list[list[tuple[float, float, float]]] = []
    if band is not None:
        run: list[tuple[float, float, float]] = []
        for xv, lo_v, hi_v in zip(x, band[0], band[1], strict=False):
            if _finite(xv) and _finite(lo_v) and _finite(hi_v):
                assert xv is not None and lo_v is not None and hi_v is not None
                run.append((float(xv), float(lo_v), float(hi_v)))
            elif run:
                band_segs.append(run)
                run = []
        if run:
            band_segs.append(run)
    if not pts and not band_segs:
        return empty_figure(title, width=width)
    xs = [p[0] for p in pts] + [b[0] for s in band_segs for b in s]
    ys = [p[1] for p in pts] + [v for s in band_segs for b in s for v in b[1:]]
    x_lo, x_hi = min(xs), max(xs)
    y_lo, y_hi = min(ys), max(ys)
    if y_domain is not None:
        y_lo, y_hi = min(y_domain[0], y_lo), max(y_domain[1], y_hi)
    if x_hi == x_lo:
        x_lo, x_hi = x_lo - 1, x_hi + 1
    if y_hi == y_lo:
        y_lo, y_hi = y_lo - 1, y_hi + 1
    yt = nice_ticks(y_lo, y_hi)
    y_lo, y_hi = min(y_lo, yt[0]), max(y_hi, yt[-1])
    xt = nice_ticks(x_lo, x_hi, 6)
    items = [(n, cols[n]) for n in names]
    if band_segs:
        items.append((band_label, "#9ecae1"))
    top = 28.0
    legend, lh = _legend(items, 0, top + 10, width)
    top += lh + 4
    left = max(_text_w(_tick_label(t, yt), _FS_SMALL) for t in yt) + 12 + (18 if y_label else 0)
    right = width - 12
    bottom = height - 26 - (18 if x_label else 0)

    def px(v: float) -> float:
        return left + (right - left) * (v - x_lo) / (x_hi - x_lo)

    def py(v: float) -> float:
        return bottom - (bottom - top) * (v - y_lo) / (y_hi - y_lo)

    missing = sum(1 for n in names for v in series[n] if not _finite(v))  # counted per series value
    desc = f"series: {', '.join(names)}" + (f"; shaded: {band_label}" if band_segs else "")
    if missing:
        desc += f"; {missing} point(s) missing"
    parts = _open(width, height, title, desc)
    parts.append(legend)
    for t in yt:
        parts.append(
            f'<line x1="{_f(left)}" y1="{_f(py(t))}" x2="{_f(right)}" y2="{_f(py(t))}" '
            f'stroke="{_GRID}"/><text x="{_f(left - 6)}" y="{_f(py(t) + 4)}" '
            f'text-anchor="end" font-size="{_FS_SMALL}" fill="{_MUTED}">'
            f"{_e(_tick_label(t, yt))}</text>"
        )
    for t in xt:
        if x_lo - 1e-9 <= t <= x_hi + 1e-9:
            parts.append(
                f'<line x1="{_f(px(t))}" y1="{_f(bottom)}" x2="{_f(px(t))}" '
                f'y2="{_f(bottom + 4)}" stroke="{_AXIS}"/><text x="{_f(px(t))}" '
                f'y="{_f(bottom + 18)}" text-anchor="middle" font-size="{_FS_SMALL}" '
                f'fill="{_MUTED}">{_e(_tick_label(t, xt))}</text>'
            )
    parts.append(
        f'<line x1="{_f(left)}" y1="{_f(bottom)}" x2="{_f(right)}" y2="{_f(bottom)}" '
        f'stroke="{_AXIS}"/><line x1="{_f(left)}" y1="{_f(top)}" x2="{_f(left)}" '
        f'y2="{_f(bottom)}" stroke="{_AXIS}"/>'
    )
    if x_label:
        parts.append(
            f'<text x="{_f((left + right) / 2)}" y="{_f(height - 6)}" text-anchor="middle" '
            f'font-size="{_FS_SMALL}" fill="{_MUTED}">{_e(x_label)}</text>'
        )
    if y_label:
        cy = (top + bottom) / 2
        parts.append(
            f'<text x="12" y="{_f(cy)}" text-anchor="middle" font-size="{_FS_SMALL}" '
            f'fill="{_MUTED}" transform="rotate(-90 12 {_f(cy)})">{_e(y_label)}</text>'
        )
    for bs in band_segs:
        upper = " ".join(f"{_f(px(a))},{_f(py(h))}" for a, _, h in bs)
        lower = " ".join(f"{_f(px(a))},{_f(py(lo_))}" for a, lo_, _ in reversed(bs))
        if len(bs) == 1:
            a, lo_, h = bs[0]
            parts.append(
                f'<line x1="{_f(px(a))}" y1="{_f(py(lo_))}" x2="{_f(px(a))}" '
                f'y2="{_f(py(h))}" stroke="#9ecae1" stroke-width="3"/>'
            )
        else:
            parts.append(
                f'<polygon points="{upper} {lower}" fill="#9ecae1" fill-opacity="0.55">'
                f"<title>{_e(band_label)}</title></polygon>"
            )
    for n in names:
        c = _e(cols[n])
        for s in segs[n]:
            line = n not in dots
            if line and len(s) > 1:
                d = " ".join(f"{_f(px(a))},{_f(py(b))}" for a, b in s)
                parts.append(
                    f'<polyline points="{d}" fill="none" stroke="{c}" stroke-width="2">'
                    f"<title>{_e(n)}</title></polyline>"
                )
            if markers or not line or len(s) == 1:
                parts.extend(
                    f'<circle cx="{_f(px(a))}" cy="{_f(py(b))}" r="2.8" fill="{c}"/>' for a, b in s
                )
    parts.append("</svg>")
    return "".join(parts)


def interval_chart(
    rows: Sequence[Interval],
    *,
    title: str,
    domain: tuple[float, float] | None = (0.0, 1.0),
    value_format: str = "{:.3f}",
    width: int = 640,
    row_height: int = 24,
    label_chars: int = 40,
    tick_format: str | None = None,
) -> str:
    """A dot per row at its value with a bar from ``low`` to ``high`` (e.g. a 95 % interval),
    on a shared axis (``domain``, widened to the data; None: the data's span). Rows with a
    non-finite number are skipped and counted in the text equivalent."""
    good = [
        r for r in rows if all(_finite(v) for v in (r.value, r.low, r.high))
    ]  # the drawable rows
    if not good:
        return empty_figure(title, width=width)
    lo = min(min(r.low, r.value) for r in good)
    hi = max(max(r.high, r.value) for r in good)
    if domain is not None:
        lo, hi = min(domain[0], lo), max(domain[1], hi)
    if hi == lo:
        lo, hi = lo - 1, hi + 1
    ticks = nice_ticks(lo, hi)
    lo, hi = min(lo, ticks[0]), max(hi, ticks[-1])
    shown = [_clip(r.label, label_chars) for r in good]
    left = min(max(_text_w(s) for s in shown) + 16, width * 0.5)
    right = width - 16
    top = 28.0
    plot_h = row_height * len(good) + 6
    height = top + plot_h + 26

    def px(v: float) -> float:
        return left + (right - left) * (v - lo) / (hi - lo)

    skipped = len(rows) - len(good)
    desc = f"{len(good)} row(s), dot = estimate, bar = interval"
    if skipped:
        desc += f"; {skipped} row(s) without a finite value skipped"
    parts = _open(width, height, title, desc)
    for t in ticks:
        parts.append(
            f'<line x1="{_f(px(t))}" y1="{_f(top)}" x2="{_f(px(t))}" y2="{_f(top + plot_h)}" '
            f'stroke="{_GRID}"/><text x="{_f(px(t))}" y="{_f(top + plot_h + 16)}" '
            f'text-anchor="middle" font-size="{_FS_SMALL}" fill="{_MUTED}">'
            f"{_e(_tick_label(t, ticks, tick_format))}</text>"
        )
    for i, (r, short) in enumerate(zip(good, shown, strict=True)):
        y = top + 3 + i * row_height + row_height / 2
        c = _e(r.color or PALETTE[0])
        tip = (
            f"{r.label}: {_fmt(r.value, value_format)} "
            f"[{_fmt(r.low, value_format)}, {_fmt(r.high, value_format)}]"
        )
        parts.append(
            f'<g><title>{_e(tip)}</title><text x="{_f(left - 8)}" y="{_f(y + 4)}" '
            f'text-anchor="end">{_e(short)}</text>'
            f'<line x1="{_f(px(r.low))}" y1="{_f(y)}" x2="{_f(px(r.high))}" y2="{_f(y)}" '
            f'stroke="{c}" stroke-width="3"/>'
            f'<circle cx="{_f(px(r.value))}" cy="{_f(y)}" r="4.5" fill="{c}"/></g>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _hex(c: str) -> tuple[int, int, int]:
    c = c.lstrip("#")
    return int(c[0:2], 16), int(c[2:4], 16), int(c[4:6], 16)


def _mix(stops: Sequence[str], t: float) -> str:
    t = min(max(t, 0.0), 1.0)
    k = min(int(t * (len(stops) - 1)), len(stops) - 2)
    u = t * (len(stops) - 1) - k
    a, b = _hex(stops[k]), _hex(stops[k + 1])
    r, g, bl = (round(a[i] + (b[i] - a[i]) * u) for i in range(3))
    return f"#{r:02x}{g:02x}{bl:02x}"


def heat_strip(
    cells: Sequence[tuple[str, Number]],
    *,
    title: str,
    domain: tuple[float, float] = (0.0, 1.0),
    stops: Sequence[str] = ("#d7301f", "#fdbb2d", "#1a9850"),
    value_format: str = "{:.0%}",
    cell_width: int = 48,
    cell_height: int = 26,
    width: int = 640,
    legend: Sequence[tuple[str, float]] | None = None,
    value_text: Callable[[float], str] | None = None,
) -> str:
    """One cell per ``(label, value)``, left to right, wrapping at ``width``; the colour runs
    through ``stops`` (hex ``#rrggbb``) from ``domain[0]`` to ``domain[1]``. Cells wide enough
    carry their value and label; every cell has its label and value as a tooltip. A missing
    value is a grey cell. ``legend``: named points of the scale (default: its ends and
    middle). ``value_text``: how a value is written (default: ``value_format``), e.g. the
    name of a category coded as a number."""
    if not cells:
        return empty_figure(title, width=width)
    for s in stops:
        if not re.fullmatch(r"#[0-9a-fA-F]{6}", s):
            raise ValueError(f"colour stops must be #rrggbb, got {s!r}")
    lo, hi = domain
    if hi <= lo:
        raise ValueError(f"domain must rise, got {domain}")
    per_row = max(1, int(width // cell_width))
    n_rows = math.ceil(len(cells) / per_row)
    labelled = cell_width >= 36
    row_h = cell_height + (18 if labelled else 4)
    top = 28.0
    marks = list(legend) if legend is not None else [
        (_fmt(lo, value_format), lo), (_fmt((lo + hi) / 2, value_format), (lo + hi) / 2),
        (_fmt(hi, value_format), hi),
    ]  # fmt: skip
    missing = sum(1 for _, v in cells if not _finite(v))
    swatches = [(name, _mix(stops, (v - lo) / (hi - lo))) for name, v in marks]
    leg, lh = _legend(swatches + ([("n/a", "#cccccc")] if missing else []), 0, top + 10, width)
    top += lh + 4
    height = top + n_rows * row_h + 4
    desc = f"{len(cells)} cell(s), colour from {_fmt(lo, value_format)} to {_fmt(hi, value_format)}"
    if missing:
        desc += f"; {missing} without a value"
    parts = _open(width, height, title, desc)
    parts.append(leg)
    for i, (label, v) in enumerate(cells):
        x = (i % per_row) * cell_width
        y = top + (i // per_row) * row_h
        ok = _finite(v)
        assert not ok or v is not None
        fill = _mix(stops, (float(v) - lo) / (hi - lo)) if ok and v is not None else "#cccccc"
        shown = "n/a"
        if ok and v is not None:
            shown = value_text(float(v)) if value_text else _fmt(float(v), value_format)
        parts.append(
            f"<g><title>{_e(f'{label}: {shown}')}</title>"
            f'<rect x="{_f(x + 1)}" y="{_f(y)}" width="{cell_width - 2}" height="{cell_height}" '
            f'fill="{fill}"/>'
        )
        if labelled:
            chars = max(int((cell_width - 4) / (_FS_SMALL * _CHAR_W)), 2)
            dark = ok and v is not None and 0.25 < (float(v) - lo) / (hi - lo) < 0.75
            parts.append(
                f'<text x="{_f(x + cell_width / 2)}" y="{_f(y + cell_height / 2 + 4)}" '
                f'text-anchor="middle" font-size="{_FS_SMALL}" '
                f'fill="{"#1d1d1f" if dark or not ok else "#fff"}">{_e(_clip(shown, chars))}'
                f'</text><text x="{_f(x + cell_width / 2)}" y="{_f(y + cell_height + 13)}" '
                f'text-anchor="middle" font-size="{_FS_SMALL}">{_e(_clip(str(label), chars))}'
                "</text>"
            )
        parts.append("</g>")
    parts.append("</svg>")
    return "".join(parts)


def figure(svg: str, caption: str) -> str:
    """``<figure>`` around an SVG with an escaped ``<figcaption>``."""
    return f"<figure>{svg}<figcaption>{_e(caption)}</figcaption></figure>"
