"""Bar charts as geometry for a template that draws them as SVG (templates/reports/chart.html).

Server-rendered, so they read without JavaScript; drawn in a fixed viewBox and
scaled by CSS to the width of a phone or a desk. No inline styles (the
Content-Security-Policy forbids them): series are told apart by CSS classes.
The same points are shown in a table beside each chart for screen readers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

WIDTH = 640
HEIGHT = 260
LEFT = 44
BOTTOM = 40
TOP = 12
RIGHT = 8


@dataclass
class Bar:
    x: float
    y: float
    width: float
    height: float
    series: int
    label: str
    value: float


@dataclass
class Chart:
    slug: str
    title: str
    desc: str
    series: list[str]
    bars: list[Bar] = field(default_factory=list)
    labels: list[tuple[float, str]] = field(default_factory=list)
    ticks: list[tuple[float, str]] = field(default_factory=list)
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    baseline: float = HEIGHT - BOTTOM

    @property
    def view_box(self) -> str:
        return f"0 0 {self.width} {self.height}"


def _nice_max(value: float) -> float:
    """The axis top: the next of 1, 2, 5 x 10^n at or above the largest value."""
    if value <= 0:
        return 1.0
    magnitude = 1.0
    while magnitude * 10 <= value:
        magnitude *= 10
    while magnitude > value:
        magnitude /= 10
    for step in (1, 2, 5, 10):
        if step * magnitude >= value:
            return step * magnitude
    return 10 * magnitude


def bar_chart(
    *,
    slug: str,
    title: str,
    desc: str,
    labels: list[str],
    series: dict[str, list[float]],
    percent: bool = False,
) -> Chart:
    """Grouped vertical bars: one group per label, one bar per series."""
    chart = Chart(slug=slug, title=title, desc=desc, series=list(series))
    values = [value for points in series.values() for value in points]
    top = 1.0 if percent else _nice_max(max(values, default=0))
    plot_width = WIDTH - LEFT - RIGHT
    plot_height = HEIGHT - BOTTOM - TOP
    group = plot_width / max(len(labels), 1)
    bar_width = group * 0.8 / max(len(series), 1)
    # Thin the axis labels so that they never overlap on a long semester.
    every = max(1, len(labels) // 12)
    for index, label in enumerate(labels):
        x0 = LEFT + index * group + group * 0.1
        for number, points in enumerate(series.values()):
            value = points[index]
            height = plot_height * min(value, top) / top if top else 0
            chart.bars.append(
                Bar(
                    x=round(x0 + number * bar_width, 2),
                    y=round(HEIGHT - BOTTOM - height, 2),
                    width=round(max(bar_width - 1, 1), 2),
                    height=round(height, 2),
                    series=number,
                    label=label,
                    value=value,
                )
            )
        if index % every == 0:
            chart.labels.append((round(LEFT + index * group + group / 2, 2), label))
    for fraction in (0, 0.5, 1):
        value = top * fraction
        text = f"{value:.0%}" if percent else f"{value:g}"
        chart.ticks.append((round(HEIGHT - BOTTOM - plot_height * fraction, 2), text))
    return chart
