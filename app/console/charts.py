"""Charts drawn on the server as SVG: they read without JavaScript and print as they show.

Each chart is geometry for `templates/_chart.html`: grouped bars per category, one colour
class per series, a title per bar for the hover, and a few gridlines.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

WIDTH, HEIGHT = 720, 220
LEFT, RIGHT, TOP, BOTTOM = 48, 8, 12, 40


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    w: float
    h: float
    series: int
    title: str


@dataclass
class Chart:
    title: str
    series: list[str]
    bars: list[Bar] = field(default_factory=list)
    labels: list[tuple[float, str]] = field(default_factory=list)
    grid: list[tuple[float, str]] = field(default_factory=list)
    width: int = WIDTH
    height: int = HEIGHT
    empty: bool = False


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    magnitude = 10 ** (len(str(int(value))) - 1)
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * magnitude:
            return float(step * magnitude)
    return float(value)


def bars(
    title: str,
    categories: Sequence[str],
    series: Sequence[tuple[str, Sequence[float]]],
    *,
    unit: str = "",
    every: int = 1,
) -> Chart:
    """Grouped bars: `series` is [(name, one value per category)]; label every nth category."""
    chart = Chart(title=title, series=[name for name, _ in series])
    top = max((v for _, values in series for v in values), default=0.0)
    chart.empty = top <= 0
    scale_max = _nice_max(top)
    plot_w = WIDTH - LEFT - RIGHT
    plot_h = HEIGHT - TOP - BOTTOM
    slot = plot_w / max(len(categories), 1)
    inner = slot * 0.8 / max(len(series), 1)
    for i in range(5):
        value = scale_max * i / 4
        chart.grid.append((TOP + plot_h - plot_h * i / 4, f"{value:,.0f}{unit}"))
    for ci, category in enumerate(categories):
        x0 = LEFT + ci * slot + slot * 0.1
        if ci % every == 0:
            chart.labels.append((LEFT + ci * slot + slot / 2, category))
        for si, (name, values) in enumerate(series):
            value = float(values[ci])
            h = plot_h * value / scale_max
            chart.bars.append(
                Bar(
                    x=round(x0 + si * inner, 1),
                    y=round(TOP + plot_h - h, 1),
                    w=round(max(inner - 1, 1), 1),
                    h=round(h, 1),
                    series=si,
                    title=f"{category}: {value:,.0f}{unit} {name}",
                )
            )
    return chart
