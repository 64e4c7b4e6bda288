"""The training curve as a small dependency-free SVG: loss and accuracy per epoch, train and val."""

from __future__ import annotations

from pathlib import Path

_W, _H, _PAD = 360, 220, 36
_COLORS = {"train": "#1f77b4", "val": "#d62728"}


def write_curve_svg(history, path: Path, *, title: str) -> None:
    panels = [_panel(history, "loss", "loss", 0), _panel(history, "accuracy", "accuracy", _W)]
    legend = "".join(
        f'<text x="{2 * _W - 120 + 60 * i}" y="16" fill="{c}" font-size="12">{p}</text>' for i, (p, c) in enumerate(_COLORS.items()))
    path.write_text(
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{2 * _W}" height="{_H + 24}" font-family="sans-serif">'
        f'<text x="8" y="16" font-size="13">{_escape(title)}</text>{legend}'
        f'<g transform="translate(0,24)">{"".join(panels)}</g></svg>\n')


def _panel(history, field: str, label: str, x0: int) -> str:
    series = {p: [(h.epoch, getattr(h, field)) for h in history if h.phase == p] for p in _COLORS}
    values = [v for pts in series.values() for _, v in pts] or [0.0]
    epochs = max((e for pts in series.values() for e, _ in pts), default=0) or 1
    lo, hi = (0.0, 1.0) if field == "accuracy" else (0.0, max(values) * 1.05 or 1.0)

    def xy(e, v):
        return x0 + _PAD + (_W - 2 * _PAD) * e / epochs, _H - _PAD - (_H - 2 * _PAD) * (v - lo) / (hi - lo)

    lines = "".join(
        f'<polyline fill="none" stroke="{_COLORS[p]}" stroke-width="2" points="'
        + " ".join(f"{x:.1f},{y:.1f}" for x, y in (xy(e, v) for e, v in pts)) + '"/>'
        for p, pts in series.items() if pts)
    axes = (f'<rect x="{x0 + _PAD}" y="{_PAD}" width="{_W - 2 * _PAD}" height="{_H - 2 * _PAD}" fill="none" stroke="#999"/>'
            f'<text x="{x0 + _PAD}" y="{_PAD - 6}" font-size="12">{label} (0–{hi:.2f})</text>'
            f'<text x="{x0 + _W / 2}" y="{_H - 8}" font-size="11">epoch (0–{epochs})</text>')
    return axes + lines


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
