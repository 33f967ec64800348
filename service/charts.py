"""Server-side SVG charts for the dashboard: pure functions from numbers to markup.

No JavaScript and no network: the page is complete as rendered. Every mark
carries its number in a `data-` attribute and a `<title>` tooltip.
"""

from markupsafe import Markup, escape

from core.timeutil import compact_duration

NICE_SECONDS = (60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 28800, 43200, 86400, 172800, 259200, 604800)
FONT = 'font-family="inherit" font-size="12"'


def _svg(width: int, height: int, body: list[str], label: str, **data) -> Markup:
    attributes = "".join(f' data-{key.replace("_", "-")}="{escape(value)}"' for key, value in data.items())
    return Markup(
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(label)}"'
        f' preserveAspectRatio="xMidYMid meet"{attributes}>' + "".join(body) + "</svg>"
    )


def stacked_bars(rows: list[tuple[str, str, list[int]]], segments: list[tuple[str, str]], width: int = 560) -> Markup:
    """One horizontal bar per row (label, label colour, counts per segment), segments stacked by colour."""
    label_w, total_w, row_h, bar_h, top = 78, 44, 36, 22, 8
    scale = max([sum(values) for _, _, values in rows] + [1])
    plot_w = width - label_w - total_w
    body = []
    for index, (label, colour, values) in enumerate(rows):
        y = top + index * row_h
        total = sum(values)
        body.append(f'<g class="bar" data-label="{escape(label)}" data-total="{total}">')
        body.append(f'<circle cx="8" cy="{y + bar_h / 2}" r="5" fill="{colour}"/>')
        body.append(f'<text x="18" y="{y + bar_h / 2 + 4}" {FONT} fill="#1f2937">{escape(label)}</text>')
        body.append(f'<rect x="{label_w}" y="{y}" width="{plot_w}" height="{bar_h}" rx="4" fill="#f1f5f9"/>')
        x = label_w
        for (name, fill), value in zip(segments, values, strict=True):
            if not value:
                continue
            w = plot_w * value / scale
            body.append(
                f'<rect class="segment" x="{x:.1f}" y="{y}" width="{w:.1f}" height="{bar_h}" fill="{fill}"'
                f' data-segment="{escape(name)}" data-count="{value}"><title>{escape(label)} · {escape(name)}: '
                f"{value}</title></rect>"
            )
            if w >= 18:
                body.append(
                    f'<text x="{x + w / 2:.1f}" y="{y + bar_h / 2 + 4}" text-anchor="middle" {FONT}'
                    f' fill="#fff" font-weight="600">{value}</text>'
                )
            x += w
        body.append(
            f'<text x="{width - 4}" y="{y + bar_h / 2 + 4}" text-anchor="end" {FONT} font-weight="700"'
            f' fill="#111827" class="total">{total}</text></g>'
        )
    height = top * 2 + len(rows) * row_h
    return _svg(width, height, body, "open tickets by urgency and age")


def columns(values: list[tuple[str, int]], colour: str = "#dc2626", width: int = 420, height: int = 170) -> Markup:
    """Vertical bars with their counts above and labels below (e.g. breaches per day)."""
    top, bottom, side = 20, 26, 8
    plot_h = height - top - bottom
    slot = (width - 2 * side) / max(len(values), 1)
    scale = max([count for _, count in values] + [1])
    body = [f'<line x1="{side}" x2="{width - side}" y1="{top + plot_h}" y2="{top + plot_h}" stroke="#cbd5e1"/>']
    for index, (label, count) in enumerate(values):
        h = plot_h * count / scale
        x = side + index * slot + slot * 0.18
        w = slot * 0.64
        body.append(
            f'<g class="column" data-label="{escape(label)}" data-count="{count}">'
            f'<rect x="{x:.1f}" y="{top + plot_h - h:.1f}" width="{w:.1f}" height="{max(h, 0):.1f}" rx="3"'
            f' fill="{colour if count else "#e2e8f0"}"><title>{escape(label)}: {count}</title></rect>'
            f'<text x="{x + w / 2:.1f}" y="{top + plot_h - h - 5:.1f}" text-anchor="middle" {FONT}'
            f' fill="#111827" font-weight="600">{count}</text>'
            f'<text x="{x + w / 2:.1f}" y="{height - 8}" text-anchor="middle" {FONT} fill="#64748b">'
            f"{escape(label)}</text></g>"
        )
    return _svg(width, height, body, "breaches per day")


def _nice_ceiling(seconds: float) -> int:
    for nice in NICE_SECONDS:
        if seconds <= nice:
            return nice
    return int(seconds) + 1


def _polyline(points: list[tuple[float, float | None]]) -> str:
    """The known values joined in order; a bucket nobody was answered in is skipped, not drawn as zero."""
    return " ".join(f"{x:.1f},{y:.1f}" for x, y in points if y is not None)


def response_panel(
    name: str, colour: str, buckets: list[dict], labels: list[str], target: float | None,
    p50: float | None, p90: float | None, width: int = 300, height: int = 150,
) -> Markup:  # fmt: skip
    """First-response p50 (solid) and p90 (dashed) per time bucket, with the SLA target dotted."""
    left, right, top, bottom = 46, 10, 10, 22
    plot_w, plot_h = width - left - right, height - top - bottom
    known = [value for bucket in buckets for value in (bucket["p50"], bucket["p90"]) if value is not None]
    y_max = _nice_ceiling(max(known + [target or 0, 60]))
    step = plot_w / max(len(buckets) - 1, 1)

    def y_of(value):
        return None if value is None else top + plot_h - plot_h * min(value, y_max) / y_max

    body = []
    for fraction in (0, 0.5, 1):
        y = top + plot_h - plot_h * fraction
        body.append(f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e2e8f0"/>')
        body.append(
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" {FONT} fill="#64748b">'
            f"{compact_duration(y_max * fraction)}</text>"
        )
    if target:
        y = y_of(target)
        body.append(
            f'<line class="target" x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="#dc2626"'
            f' stroke-dasharray="2 3" stroke-width="1.5"><title>SLA target {compact_duration(target)}</title></line>'
        )
    for key, dash, opacity in (("p90", ' stroke-dasharray="5 4"', 0.55), ("p50", "", 1)):
        points = [(left + i * step, y_of(bucket[key])) for i, bucket in enumerate(buckets)]
        line = _polyline(points)
        if line:
            body.append(
                f'<polyline class="{key}" points="{line}" fill="none" stroke="{colour}" stroke-width="2.2"'
                f' stroke-opacity="{opacity}" stroke-linejoin="round"{dash}/>'
            )
        for (x, y), bucket, label in zip(points, buckets, labels, strict=True):
            if y is not None:
                body.append(
                    f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{3 if key == "p50" else 2.2}" fill="{colour}"'
                    f' fill-opacity="{opacity}"><title>{escape(label)} · {key} {compact_duration(bucket[key])}'
                    f' ({bucket["n"]} answered)</title></circle>'
                )
    for index in sorted({0, len(labels) // 2, len(labels) - 1}):
        anchor = "start" if index == 0 else "end" if index == len(labels) - 1 else "middle"
        body.append(
            f'<text x="{left + index * step:.1f}" y="{height - 6}" text-anchor="{anchor}" {FONT} fill="#64748b">'
            f"{escape(labels[index])}</text>"
        )
    return _svg(
        width, height, body, f"first response times, {name}", series=name,
        p50="" if p50 is None else round(p50), p90="" if p90 is None else round(p90),
    )  # fmt: skip
