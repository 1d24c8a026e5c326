"""The widget's inline SVG charts: a time axis, small samples faded with their n, labels clear of each other."""

from __future__ import annotations

import re
import time

from nb2prod.widgets.charts import band_chart, bar_chart


def test_band_chart_has_a_time_axis_and_fades_small_buckets() -> None:
    start = time.mktime((2026, 12, 6, 9, 0, 0, 0, 0, -1))
    points = [(start + i * 3600, 0.8 + 0.01 * i, 0.75, 0.85) for i in range(4)]
    svg = band_chart(points, title="live accuracy", reference=0.797, counts=[120, 4, 90, 80])
    assert {"09:00", "10:30", "12:00"} <= set(re.findall(r">(\d\d:\d\d)</text>", svg))
    assert svg.count('fill-opacity="0.3"') == 1 and ">n=4</text>" in svg and ">n=120<" not in svg.replace("<title>n=120</title>", "")


def test_reference_label_never_sits_on_the_title() -> None:
    start = 1_765_000_000.0
    svg = band_chart([(start, 0.70, None, None), (start + 60, 0.72, None, None)], title="live accuracy", reference=0.797)
    label_y = float(re.search(r'y="([\d.]+)" fill="#d0021b" text-anchor="end">validation', svg).group(1))  # type: ignore[union-attr]
    assert label_y > 24, "the validation label must sit below the line when the line is at the top, not on the title at y=12"


def test_bar_value_labels_start_after_the_whisker() -> None:
    svg = bar_chart([("female", 0.30, 0.20, 0.45, False)], title="rate per group")
    whisker_end = float(re.search(r'<line x1="[\d.]+" y1="\d+" x2="([\d.]+)"', svg).group(1))  # type: ignore[union-attr]
    value_x = float(re.search(r'<text x="([\d.]+)" y="\d+" fill="#333">0.3</text>', svg).group(1))  # type: ignore[union-attr]
    assert value_x > whisker_end
