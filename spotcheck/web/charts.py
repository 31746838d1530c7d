"""Small server-side SVG charts: horizontal bars, histograms, progress bars, line series.

The console works offline and under a strict Content-Security-Policy, so charts are plain SVG
written into the page: no script, no inline style (colours come from CSS classes in
``static/console.css``), every label escaped.  Each chart carries ``role="img"`` and a title.
"""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

from store.chartlabels import fit_labels

PALETTE = 6  # series classes c0..c5 in console.css


def _fmt(value: float) -> str:
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.2f}" if abs(value) < 1000 else f"{value:,.0f}"


def _svg(width: float, height: float, title: str, body: list[str]) -> Markup:
    t = escape(title)
    return Markup(
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" role="img" '
        f'aria-label="{t}" viewBox="0 0 {width:.0f} {height:.0f}" '
        f'width="{width:.0f}" height="{height:.0f}"><title>{t}</title>{"".join(body)}</svg>')


def bar_chart(items: Sequence[tuple[str, float]], *, title: str, width: int = 520,
              bar_height: int = 18, label_width: int = 170,
              secondary: Sequence[float] | None = None) -> Markup:
    """Horizontal bars, one per (label, value); *secondary* draws a thin comparison bar
    (e.g. the stratum's share of the frame under its allocation)."""
    gap = 6
    value_width = 70
    label_width, shown = fit_labels((label for label, _ in items), width,
                                    minimum=label_width, font_px=11)
    plot = max(40, width - label_width - value_width)
    top = max([v for _, v in items] + list(secondary or []) + [0]) or 1
    height = max(1, len(items)) * (bar_height + gap) + gap
    body: list[str] = []
    for i, (label, value) in enumerate(items):
        y = gap + i * (bar_height + gap)
        w = plot * max(0.0, value) / top
        body.append(
            f'<text class="lbl" x="{label_width - 6}" y="{y + bar_height * 0.72:.1f}" '
            f'text-anchor="end">{escape(shown[label])}</text>'
            f'<rect class="bar c{i % PALETTE}" x="{label_width}" y="{y}" width="{w:.1f}" '
            f'height="{bar_height}"><title>{escape(label)}: {_fmt(value)}</title></rect>'
            f'<text class="val" x="{label_width + w + 4:.1f}" '
            f'y="{y + bar_height * 0.72:.1f}">{_fmt(value)}</text>')
        if secondary is not None and i < len(secondary):
            sw = plot * max(0.0, secondary[i]) / top
            body.append(f'<rect class="ref" x="{label_width}" y="{y + bar_height - 3}" '
                        f'width="{sw:.1f}" height="3"/>')
    return _svg(width, height, title, body)


def histogram(values: Sequence[float], *, title: str, bins: int = 10,
              lo: float | None = None, hi: float | None = None, width: int = 520,
              height: int = 180, highlight: Sequence[float] | None = None) -> Markup:
    """Counts of *values* in equal-width bins over [lo, hi]; *highlight* overlays a second
    distribution (e.g. the chosen items over the whole frame) as outlined bars."""
    data = [float(v) for v in values]
    lo = min(data, default=0.0) if lo is None else lo
    hi = max(data, default=1.0) if hi is None else hi
    if hi <= lo:
        hi = lo + 1.0
    bins = max(1, bins)

    def count(vals: Sequence[float]) -> list[int]:
        out = [0] * bins
        for v in vals:
            if lo <= v <= hi:
                out[min(bins - 1, int((v - lo) / (hi - lo) * bins))] += 1
        return out

    counts = count(data)
    extra = count([float(v) for v in highlight]) if highlight is not None else None
    axis_h, left = 18, 36
    plot_h = height - axis_h - 6
    plot_w = width - left - 6
    top = max(counts + (extra or []) + [1])
    bw = plot_w / bins
    body = [f'<line class="axis" x1="{left}" y1="{plot_h + 2}" x2="{width - 6}" '
            f'y2="{plot_h + 2}"/>',
            f'<text class="val" x="{left - 4}" y="12" text-anchor="end">{_fmt(top)}</text>']
    for i, c in enumerate(counts):
        h = plot_h * c / top
        x = left + i * bw
        a = lo + (hi - lo) * i / bins
        b = lo + (hi - lo) * (i + 1) / bins
        body.append(f'<rect class="bar c0" x="{x + 1:.1f}" y="{plot_h + 2 - h:.1f}" '
                    f'width="{bw - 2:.1f}" height="{h:.1f}"><title>{a:.2f}–{b:.2f}: '
                    f'{c}</title></rect>')
        if extra is not None:
            eh = plot_h * extra[i] / top
            body.append(f'<rect class="hl" x="{x + bw * 0.25:.1f}" '
                        f'y="{plot_h + 2 - eh:.1f}" width="{bw * 0.5:.1f}" '
                        f'height="{eh:.1f}"><title>{a:.2f}–{b:.2f}: {extra[i]}</title></rect>')
    for i in range(0, bins + 1, max(1, bins // 5)):
        x = left + i * bw
        body.append(f'<text class="tick" x="{x:.1f}" y="{height - 4}" text-anchor="middle">'
                    f'{lo + (hi - lo) * i / bins:.2g}</text>')
    return _svg(width, height, title, body)


def progress(parts: Sequence[tuple[str, float]], *, title: str, total: float | None = None,
             width: int = 520, height: int = 22) -> Markup:
    """One stacked bar: each (label, count) a segment, against *total* (default: their sum)."""
    done = sum(max(0.0, v) for _, v in parts)
    whole = max(total or 0.0, done) or 1.0
    body = [f'<rect class="track" x="0" y="0" width="{width}" height="{height}" rx="3"/>']
    x = 0.0
    for i, (label, value) in enumerate(parts):
        w = width * max(0.0, value) / whole
        if w <= 0:
            continue
        body.append(f'<rect class="bar c{i % PALETTE}" x="{x:.1f}" y="0" width="{w:.1f}" '
                    f'height="{height}"><title>{escape(label)}: {_fmt(value)}</title></rect>')
        x += w
    pct = 100.0 * done / whole
    body.append(f'<text class="val on" x="{width - 6}" y="{height * 0.7:.1f}" '
                f'text-anchor="end">{_fmt(done)} / {_fmt(whole)} ({pct:.0f}%)</text>')
    return _svg(width, height, title, body)


def line_chart(points: Sequence[tuple[str, float]], *, title: str, width: int = 520,
               height: int = 160) -> Markup:
    """A series over time (e.g. a listing's price across its snapshots), labelled by x."""
    left, bottom, pad = 56, 20, 8
    plot_w, plot_h = width - left - pad, height - bottom - pad
    vals = [v for _, v in points]
    lo, hi = min(vals, default=0.0), max(vals, default=1.0)
    if hi <= lo:
        lo, hi = lo - 1, hi + 1
    n = max(1, len(points) - 1)
    coords = [(left + plot_w * i / n, pad + plot_h * (1 - (v - lo) / (hi - lo)))
              for i, (_, v) in enumerate(points)]
    body = [f'<line class="axis" x1="{left}" y1="{pad + plot_h}" x2="{width - pad}" '
            f'y2="{pad + plot_h}"/>',
            f'<text class="tick" x="{left - 4}" y="{pad + 8}" text-anchor="end">{_fmt(hi)}</text>',
            f'<text class="tick" x="{left - 4}" y="{pad + plot_h}" text-anchor="end">'
            f'{_fmt(lo)}</text>']
    if len(coords) > 1:
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
        body.append(f'<polyline class="line" points="{path}"/>')
    for (label, v), (x, y) in zip(points, coords, strict=True):
        body.append(f'<circle class="dot" cx="{x:.1f}" cy="{y:.1f}" r="3">'
                    f'<title>{escape(label)}: {_fmt(v)}</title></circle>')
    if points:
        body.append(f'<text class="tick" x="{left}" y="{height - 4}">{escape(points[0][0])}</text>')
        body.append(f'<text class="tick" x="{width - pad}" y="{height - 4}" text-anchor="end">'
                    f'{escape(points[-1][0])}</text>')
    return _svg(width, height, title, body)


def interval_chart(items: Sequence[tuple[str, float | None, float | None, float | None]], *,
                   title: str, width: int = 560, row_height: int = 22,
                   label_width: int = 170) -> Markup:
    """Estimates with their intervals (a forest plot): one row per (label, estimate, low,
    high) on a shared 0–100 % axis; a row without an estimate shows "—"."""
    gap = 4
    value_width = 150
    label_width, shown = fit_labels((label for label, *_ in items), width,
                                    minimum=label_width, font_px=11)
    plot = max(60, width - label_width - value_width)
    top = max([h for *_, h in items if h is not None] + [e for _, e, _, _ in items
                                                        if e is not None] + [0.01])
    top = min(1.0, top * 1.1)
    height = max(1, len(items)) * (row_height + gap) + gap + 16

    def x(v: float) -> float:
        return label_width + plot * max(0.0, min(v, top)) / top

    body = [f'<line class="axis" x1="{label_width}" y1="{height - 14}" '
            f'x2="{label_width + plot}" y2="{height - 14}"/>']
    for frac in (0.0, 0.5, 1.0):
        v = top * frac
        body.append(f'<text class="tick" x="{x(v):.1f}" y="{height - 2}" '
                    f'text-anchor="middle">{100 * v:.1f}%</text>')
    for i, (label, est, low, high) in enumerate(items):
        y = gap + i * (row_height + gap)
        mid = y + row_height / 2
        body.append(f'<text class="lbl" x="{label_width - 6}" y="{mid + 4:.1f}" '
                    f'text-anchor="end">{escape(shown[label])}</text>')
        if est is None:
            body.append(f'<text class="val" x="{label_width + 4}" y="{mid + 4:.1f}">—</text>')
            continue
        lo, hi = (est if low is None else low), (est if high is None else high)
        text = f"{100 * est:.1f}% [{100 * lo:.1f}, {100 * hi:.1f}]"
        body.append(
            f'<line class="line" x1="{x(lo):.1f}" y1="{mid:.1f}" x2="{x(hi):.1f}" '
            f'y2="{mid:.1f}"/><circle class="dot" cx="{x(est):.1f}" cy="{mid:.1f}" r="4">'
            f'<title>{escape(label)}: {escape(text)}</title></circle>'
            f'<text class="val" x="{label_width + plot + 6}" y="{mid + 4:.1f}">'
            f'{escape(text)}</text>')
    return _svg(width, height, title, body)
