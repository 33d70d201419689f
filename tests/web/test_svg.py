"""The inline-SVG figure kit: every figure is well-formed XML with a text equivalent, hostile
labels stay text, empty data says so, and NaN/inf/None values are skipped, not drawn."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET

import pytest

from plantmind.web.svg import (
    Interval,
    bar_chart,
    empty_figure,
    figure,
    heat_strip,
    interval_chart,
    line_chart,
    nice_ticks,
)

NS = "{http://www.w3.org/2000/svg}"
HOSTILE = "<script>alert(1)</script> & \"quoted\" 'single' \x00\x1b ]]>"


def _parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)
    assert root.tag == f"{NS}svg"
    assert root.get("role") == "img" and root.get("aria-label")
    assert root.find(f"{NS}title") is not None
    float(root.get("width", "x")), float(root.get("height", "x"))  # CSS pixels, numbers
    assert "script" not in {el.tag.removeprefix(NS) for el in root.iter()}
    return root


def _texts(root: ET.Element) -> list[str]:
    return ["".join(el.itertext()) for el in root.iter(f"{NS}text")]


def _all_figures(label: str) -> list[str]:
    return [
        bar_chart([label, "b"], {label: [1.0, 2.0], "y": [-1.0, 0.5]}, title=label, unit=label),
        bar_chart([label], {"a": [1.0], "b": [2.0]}, title=label, stacked=True),
        line_chart(
            [1, 2, 3],
            {label: [1, 2, 3]},
            band=([0, 1, 2], [2, 3, 4]),
            title=label,
            band_label=label,
            x_label=label,
            y_label=label,
        ),
        interval_chart([Interval(label, 0.5, 0.2, 0.8, color="#123456")], title=label),
        heat_strip([(label, 0.3), ("b", 0.9)], title=label),
        empty_figure(label, label),
    ]


@pytest.mark.parametrize("k", range(6))
def test_every_figure_is_well_formed_and_escapes_hostile_text(k):
    svg = _all_figures(HOSTILE)[k]
    assert "<script>" not in svg and "\x00" not in svg
    root = _parse(svg)
    assert root.get("aria-label", "").startswith("<script>alert(1)</script>")  # parsed back
    assert any("<script>alert(1)</script>" in t for t in _texts(root))
    assert not list(root.iter(f"{NS}script"))


def test_bar_chart_draws_one_bar_per_value_with_its_number():
    root = _parse(
        bar_chart(["covered", "partial", "missing"], {"n": [57, 11, 9]}, title="By status",
                  value_format="{:.0f}", row_colors=["#2e8540", "#d99a00", "#c0392b"])
    )  # fmt: skip
    rects = [r for r in root.iter(f"{NS}rect")]
    assert [r.get("fill") for r in rects] == ["#2e8540", "#d99a00", "#c0392b"]
    widths = [float(r.get("width", 0)) for r in rects]
    assert widths[0] > widths[1] > widths[2] > 0
    texts = _texts(root)
    assert {"57", "11", "9", "covered", "partial", "missing", "By status"} <= set(texts)


def test_bar_chart_negative_values_grow_left_of_zero():
    root = _parse(bar_chart(["a", "b"], {"s": [10.0, -5.0]}, title="t"))
    a, b = list(root.iter(f"{NS}rect"))
    assert float(b.get("x", 0)) + float(b.get("width", 0)) == pytest.approx(
        float(a.get("x", 0)), abs=0.15
    )


def test_stacked_bars_end_at_the_total():
    root = _parse(
        bar_chart(["c"], {"x": [3], "y": [2]}, title="t", stacked=True, value_format="{:.0f}")
    )
    assert "5" in _texts(root)
    with pytest.raises(ValueError, match="≥ 0"):
        bar_chart(["c"], {"x": [-1]}, title="t", stacked=True)


@pytest.mark.parametrize(
    "svg",
    [
        bar_chart([], {}, title="Nothing"),
        bar_chart(["a"], {"s": [math.nan]}, title="Nothing"),
        line_chart([], {"s": []}, title="Nothing"),
        line_chart([1, 2], {"s": [math.inf, None]}, title="Nothing"),
        interval_chart([], title="Nothing"),
        interval_chart([Interval("a", math.nan, 0.0, 1.0)], title="Nothing"),
        heat_strip([], title="Nothing"),
    ],
)
def test_empty_data_gives_a_clear_message(svg):
    root = _parse(svg)
    assert "no data to plot" in _texts(root)
    assert "no data to plot" in root.get("aria-label", "")


def test_non_finite_values_are_skipped_and_counted():
    root = _parse(bar_chart(["a", "b", "c"], {"s": [1.0, math.nan, math.inf]}, title="t"))
    assert len(list(root.iter(f"{NS}rect"))) == 1
    assert _texts(root).count("n/a") == 2
    assert "2 value(s) missing" in root.get("aria-label", "")

    line = _parse(line_chart([0, 1, 2, 3, 4], {"s": [1, 2, math.nan, 4, 5]}, title="t"))
    polylines = list(line.iter(f"{NS}polyline"))
    assert len(polylines) == 2  # the gap breaks the line
    for pl in polylines:
        for pair in (pl.get("points") or "").split():
            assert all(math.isfinite(float(v)) for v in pair.split(","))
    assert "1 point(s) missing" in line.get("aria-label", "")

    iv = _parse(
        interval_chart(
            [Interval("ok", 0.5, 0.4, 0.6), Interval("bad", 0.5, -math.inf, 0.6)], title="t"
        )
    )
    assert len(list(iv.iter(f"{NS}circle"))) == 1
    assert "1 row(s) without a finite value skipped" in iv.get("aria-label", "")

    strip = _parse(heat_strip([("a", 0.2), ("b", math.nan), ("c", None)], title="t"))
    assert "2 without a value" in strip.get("aria-label", "")
    assert "n/a" in _texts(strip)


def _coords_finite(root: ET.Element) -> None:
    for el in root.iter():
        for k in ("x", "y", "x1", "y1", "x2", "y2", "cx", "cy", "width", "height"):
            if el.get(k) is not None:
                assert math.isfinite(float(el.get(k, ""))), (el.tag, k, el.get(k))
        for pair in (el.get("points") or "").split():
            assert all(math.isfinite(float(v)) for v in pair.split(",")), pair


def test_degenerate_data_still_gives_finite_coordinates():
    for svg in [
        bar_chart(["a", "b"], {"s": [0.0, 0.0]}, title="flat"),
        line_chart([5, 5], {"s": [3, 3]}, title="one point twice"),
        interval_chart([Interval("a", 2.0, 2.0, 2.0)], title="zero width", domain=None),
        line_chart([1, 2, 3], {"s": [1, 2, 3]}, band=([0, math.nan, 2], [2, 3, 4]), title="b"),
        heat_strip([("a", 5.0), ("b", -5.0)], title="outside the domain"),
    ]:
        _coords_finite(_parse(svg))


def test_line_chart_band_is_drawn_behind_the_lines():
    root = _parse(
        line_chart([1, 2, 3], {"predicted": [2, 3, 4]}, band=([1, 2, 3], [3, 4, 5]), title="t",
                   band_label="90 % interval", markers=True)
    )  # fmt: skip
    kinds = [el.tag.removeprefix(NS) for el in root.iter() if el.tag in (f"{NS}polygon",
             f"{NS}polyline")]  # fmt: skip
    assert kinds == ["polygon", "polyline"]
    assert len(list(root.iter(f"{NS}circle"))) == 3
    assert "90 % interval" in _texts(root)


def test_heat_strip_colours_follow_the_scale_and_wrap():
    cells = [(f"c{i}", i / 9) for i in range(10)]
    root = _parse(heat_strip(cells, title="t", cell_width=40, width=200))
    fills = [r.get("fill") for g in root.iter(f"{NS}g") for r in g.iter(f"{NS}rect")]
    assert fills[0] == "#d7301f" and fills[-1] == "#1a9850"
    ys = {float(r.get("y", 0)) for g in root.iter(f"{NS}g") for r in g.iter(f"{NS}rect")}
    assert len(ys) == 2  # 5 cells per row of 200 px
    named = heat_strip([("a", 1.0)], title="t", value_text=lambda v: "covered")
    assert "a: covered" in named
    with pytest.raises(ValueError):
        heat_strip([("a", 1.0)], title="t", stops=("red", "green"))


def test_nice_ticks_cover_the_range_with_round_steps():
    assert nice_ticks(0, 1) == [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    t = nice_ticks(-37, 120)
    assert t[0] <= -37 and t[-1] >= 120 and 0 in t
    assert nice_ticks(0, 125) == [0, 25, 50, 75, 100, 125]
    assert nice_ticks(3, 3) == [3]
    assert nice_ticks(math.nan, 1) == []


def test_figure_wraps_and_escapes_the_caption():
    out = figure(empty_figure("t"), "<b>caption</b>")
    assert out.startswith("<figure><svg") and "&lt;b&gt;caption&lt;/b&gt;" in out
    ET.fromstring(out)
