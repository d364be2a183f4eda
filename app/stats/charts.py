"""Small bar charts as inline SVG, drawn on the server (no JavaScript, no CDN)."""

from __future__ import annotations

from markupsafe import Markup, escape

COLOURS = ("#b22222", "#2e7d32", "#f0a500")


def grouped_bars(rows: list[tuple[str, list[int]]], series: list[str], title: str) -> Markup:
    """Vertical bars per label (e.g. month), one bar per series, with a legend and values."""
    width_per = 14 * len(series) + 16
    width = max(320, 40 + width_per * len(rows))
    height = 220
    top = max([v for _label, values in rows for v in values] or [0]) or 1
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {width} {height}" class="chart w-100" style="max-height:260px">',
        f"<title>{escape(title)}</title>",
    ]
    base = 180
    for index, (label, values) in enumerate(rows):
        x0 = 30 + index * width_per
        for s_index, value in enumerate(values):
            bar = round(150 * value / top)
            x = x0 + s_index * 14
            parts.append(
                f'<rect x="{x}" y="{base - bar}" width="12" height="{bar}" fill="{COLOURS[s_index % 3]}">'
                f"<title>{escape(label)} {escape(series[s_index])}: {value}</title></rect>"
            )
            parts.append(f'<text x="{x + 6}" y="{base - bar - 3}" font-size="9" text-anchor="middle">{value}</text>')
        parts.append(f'<text x="{x0 + 7 * len(values)}" y="{base + 14}" font-size="10" text-anchor="middle">{escape(label)}</text>')
    parts.append(f'<line x1="25" y1="{base}" x2="{width - 5}" y2="{base}" stroke="#666" stroke-width="1"/>')
    for s_index, name in enumerate(series):
        x = 30 + s_index * 90
        parts.append(f'<rect x="{x}" y="200" width="10" height="10" fill="{COLOURS[s_index % 3]}"/>')
        parts.append(f'<text x="{x + 14}" y="209" font-size="11">{escape(name)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def horizontal_bars(rows: list[tuple[str, list[int]]], series: list[str], title: str) -> Markup:
    """Horizontal bars per label (e.g. department), one per series, values at the end."""
    row_height = 12 * len(series) + 10
    height = 30 + row_height * max(len(rows), 1)
    width = 420
    label_width = 110
    top = max([v for _label, values in rows for v in values] or [0]) or 1
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {width} {height}" class="chart w-100">',
        f"<title>{escape(title)}</title>",
    ]
    for index, (label, values) in enumerate(rows):
        y0 = 8 + index * row_height
        parts.append(f'<text x="{label_width - 6}" y="{y0 + 6 * len(values) + 4}" font-size="11" text-anchor="end">{escape(label)}</text>')
        for s_index, value in enumerate(values):
            bar = round((width - label_width - 40) * value / top)
            y = y0 + s_index * 12
            parts.append(
                f'<rect x="{label_width}" y="{y}" width="{bar}" height="10" fill="{COLOURS[s_index % 3]}">'
                f"<title>{escape(label)} {escape(series[s_index])}: {value}</title></rect>"
            )
            parts.append(f'<text x="{label_width + bar + 4}" y="{y + 9}" font-size="9">{value}</text>')
    for s_index, name in enumerate(series):
        x = label_width + s_index * 90
        parts.append(f'<rect x="{x}" y="{height - 14}" width="10" height="10" fill="{COLOURS[s_index % 3]}"/>')
        parts.append(f'<text x="{x + 14}" y="{height - 5}" font-size="11">{escape(name)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
