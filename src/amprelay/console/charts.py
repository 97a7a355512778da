"""Bar charts as inline SVG, drawn on the server (no JavaScript, no chart library to ship).

Each bucket gets two bars: events received (filtered part lighter) and units settled
(delivered, retrying, dead-lettered, stacked). Every bar has a ``<title>`` for its numbers; the
page's table holds the same totals for screen readers.
"""

from __future__ import annotations

from html import escape

COLORS = {
    "received": "#4c78a8",
    "filtered": "#b5c7dc",
    "delivered": "#54a24b",
    "retrying": "#eeca3b",
    "dead": "#e45756",
}


def bar_chart(buckets: list[tuple[str, dict[str, int]]], *, title: str, width: int = 720, height: int = 180,
              tick_every: int = 1) -> str:
    """``buckets``: (label, counts) oldest first; returns an ``<svg>`` element."""
    left, bottom, top = 44, 22, 8
    plot_w, plot_h = width - left - 8, height - bottom - top
    n = max(1, len(buckets))
    peak = max([1] + [max(c["received"], c["delivered"] + c["retrying"] + c["dead"]) for _, c in buckets])
    scale = plot_h / _nice(peak)
    slot = plot_w / n
    bar = max(1.0, slot * 0.38)
    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" width="100%" role="img" '
             f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">', f"<title>{escape(title)}</title>"]
    for frac in (0, 0.5, 1):
        y = top + plot_h - frac * _nice(peak) * scale
        parts.append(f'<line x1="{left}" x2="{width - 8}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" class="axis">'
                     f"{_short(int(frac * _nice(peak)))}</text>")
    for i, (label, c) in enumerate(buckets):
        x = left + i * slot + slot * 0.1
        tip = escape(f"{label}: {c['received']} received ({c['filtered']} filtered), {c['delivered']} delivered, "
                     f"{c['retrying']} retrying, {c['dead']} dead-lettered")
        parts.append(f"<g><title>{tip}</title>")
        y = top + plot_h
        for name in ("filtered", "received"):
            v = c["filtered"] if name == "filtered" else max(0, c["received"] - c["filtered"])
            if v:
                h = v * scale
                y -= h
                parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}" '
                             f'fill="{COLORS[name]}"/>')
        y = top + plot_h
        for name in ("delivered", "retrying", "dead"):
            v = c[name]
            if v:
                h = v * scale
                y -= h
                parts.append(f'<rect x="{x + bar + 1:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}" '
                             f'fill="{COLORS[name]}"/>')
        parts.append("</g>")
        if i % tick_every == 0:
            parts.append(f'<text x="{x + bar:.1f}" y="{height - 6}" text-anchor="middle" class="axis">'
                         f"{escape(label)}</text>")
    parts.append("</svg>")
    return "".join(parts)


def legend() -> str:
    names = {"received": "received", "filtered": "filtered", "delivered": "delivered", "retrying": "retrying",
             "dead": "dead-lettered"}
    return "".join(f'<span class="key"><i class="k-{k}"></i>{v}</span>' for k, v in names.items())


def _nice(n: int) -> int:
    """The smallest of 1, 2, 5 × 10^k at or above ``n``."""
    step = 1
    while True:
        for m in (1, 2, 5):
            if m * step >= n:
                return m * step
        step *= 10


def _short(n: int) -> str:
    if n >= 1_000_000:
        return f"{n / 1_000_000:g}M"
    if n >= 1000:
        return f"{n / 1000:g}k"
    return str(n)
