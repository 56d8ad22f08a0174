"""The review's pictures, as inline SVG (no script, nothing loaded from elsewhere).

- `needs_svg`: what residents needed, week by week: one row per top subject, one bar per
  week (residents who asked), the latest week darkest, coloured by what the group needs
  (a referral, a new entry, phrasings for a near entry), with this period's residents and
  the change against the period before at the end of the row. Read down the last column
  for what is big now, along a row for whether it is growing.
- `daily_svg`: questions per day, and the share answered outright.
"""

from __future__ import annotations

import datetime as dt
import html
import math
from collections.abc import Sequence

from servicebot.review.period import clock
from servicebot.storage import DayCounts

# Colours per action (report.Action values), with the legend's words; matching the HTML badges.
ACTION_COLOURS: dict[str, tuple[str, str]] = {
    "referral": ("#d9822b", "归别的部门：写转介"),
    "new-entry": ("#c33b3b", "问答里没有：写新条目"),
    "faq-near": ("#3b78c3", "有相近条目：加问法"),
    "answered-now": ("#6a9f4a", "现在已能回答"),
    "referred": ("#6a9f4a", "已告诉居民该去哪办"),
    "unclear": ("#999999", "没说是什么事"),
}
FONT = 'font-family="PingFang SC, Microsoft YaHei, Noto Sans CJK SC, WenQuanYi Micro Hei, sans-serif"'


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def trend_text(now: int, before: int) -> str:
    """This period against the one before, in residents: 新出现, ↑3, ↓2, 持平."""
    if before == 0:
        return "新出现" if now else "—"
    diff = now - before
    return f"↑{diff}" if diff > 0 else f"↓{-diff}" if diff < 0 else "持平"


def needs_svg(
    ends: Sequence[dt.datetime],
    rows: Sequence[tuple[str, Sequence[int], str, int, int]],
) -> str:
    """`rows`: (subject, residents per week, action, residents this period, residents before)."""
    if not rows or not ends:
        return ""
    label_w, tail_w, row_h, top, bottom = 150, 150, 40, 34, 58
    weeks = len(ends)
    width = 960
    cell = (width - label_w - tail_w) / weeks
    height = top + row_h * len(rows) + bottom
    peak = max([n for _, counts, *_ in rows for n in counts] + [1])
    title = f"最近 {weeks} 周居民最常问的主题（每周提问的居民人数）"
    parts = [f'<svg viewBox="0 0 {width} {height}" role="img" aria-label="{_e(title)}" {FONT}>']
    parts.append(f'<text x="0" y="16" font-size="15" font-weight="bold">{_e(title)}</text>')
    for k, end in enumerate(ends):
        x = label_w + k * cell + cell / 2
        start = end - dt.timedelta(weeks=1)
        last = k == weeks - 1
        label = f"{clock(start, '%m-%d')}–{clock(end - dt.timedelta(seconds=1), '%m-%d')}"
        weight = ' font-weight="bold"' if last else ""
        parts.append(
            f'<text x="{x:.1f}" y="{top + row_h * len(rows) + 18}" font-size="11" text-anchor="middle"'
            f"{weight}>{_e(label)}</text>"
        )
    parts.append(
        f'<text x="{label_w + weeks * cell - cell / 2:.1f}" y="{top + row_h * len(rows) + 33}" font-size="11"'
        ' text-anchor="middle" font-weight="bold">最近一周</text>'
    )
    parts.append(f'<text x="{width - tail_w + 12}" y="{top - 8}" font-size="12" fill="#555">本期人数（比上期）</text>')
    for r, (subject, counts, action, now, before) in enumerate(rows):
        y = top + r * row_h
        colour = ACTION_COLOURS.get(action, ACTION_COLOURS["new-entry"])[0]
        if r % 2 == 0:
            parts.append(f'<rect x="0" y="{y}" width="{width}" height="{row_h}" fill="#f7f7f7"/>')
        parts.append(
            f'<text x="{label_w - 10}" y="{y + row_h / 2 + 5:.1f}" font-size="14" text-anchor="end">'
            f"{_e(subject)}</text>"
        )
        for k, n in enumerate(counts):
            h = (row_h - 14) * n / peak
            x = label_w + k * cell
            opacity = "1" if k == weeks - 1 else "0.45"  # the latest week stands out
            tip = f"{subject}：{n} 位居民"
            parts.append(
                f'<rect x="{x + cell * 0.2:.1f}" y="{y + row_h - 4 - h:.1f}" width="{cell * 0.6:.1f}" height="{h:.1f}"'
                f' fill="{colour}" fill-opacity="{opacity}"><title>{_e(tip)}</title></rect>'
            )
            if n:
                parts.append(
                    f'<text x="{x + cell / 2:.1f}" y="{y + row_h - 6 - h:.1f}" font-size="10" text-anchor="middle"'
                    f' fill="#333">{n}</text>'
                )
        parts.append(
            f'<text x="{width - tail_w + 12}" y="{y + row_h / 2 + 5:.1f}" font-size="14">'
            f'<tspan font-weight="bold">{now} 人</tspan>（{_e(trend_text(now, before))}）</text>'
        )
    legend_y = height - 8
    x = 0.0
    for action in ("referral", "new-entry", "faq-near"):
        colour, words = ACTION_COLOURS[action]
        parts.append(f'<rect x="{x:.1f}" y="{legend_y - 10}" width="12" height="12" fill="{colour}"/>')
        parts.append(f'<text x="{x + 16:.1f}" y="{legend_y}" font-size="12">{_e(words)}</text>')
        x += 16 + 13 * len(words) + 24
    parts.append("</svg>")
    return "\n".join(parts)


def percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "—"


def daily_svg(days: list[DayCounts]) -> str:
    """Bars: questions per day; line: share answered outright."""
    width, height, left, right, top, bottom = 900, 280, 50, 50, 20, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max([d.total for d in days] + [1])
    step = plot_w / max(len(days), 1)
    parts = [f'<svg viewBox="0 0 {width} {height}" role="img" aria-label="每日提问量与回答率" {FONT}>']
    for frac in (0, 0.5, 1):
        y = top + plot_h * (1 - frac)
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" stroke="#ddd"/>')
        parts.append(
            f'<text x="{left - 6}" y="{y + 4:.1f}" font-size="11" text-anchor="end">{round(peak * frac)}</text>'
        )
        parts.append(f'<text x="{width - right + 6}" y="{y + 4:.1f}" font-size="11">{round(100 * frac)}%</text>')
    label_every = max(1, math.ceil(len(days) / 12))
    points = []
    for n, d in enumerate(days):
        x = left + n * step
        h = plot_h * d.total / peak
        rate = d.answered / d.total if d.total else None
        tip = f"{d.day:%m-%d}：提问 {d.total} 次，直接回答 {percent(d.answered, d.total)}"
        parts.append(
            f'<rect x="{x + step * 0.15:.1f}" y="{top + plot_h - h:.1f}" width="{step * 0.7:.1f}" '
            f'height="{h:.1f}" fill="#7aa6d6"><title>{_e(tip)}</title></rect>'
        )
        if rate is not None:
            points.append(f"{x + step / 2:.1f},{top + plot_h * (1 - rate):.1f}")
        if n % label_every == 0:
            parts.append(
                f'<text x="{x + step / 2:.1f}" y="{height - bottom + 16}" font-size="11" '
                f'text-anchor="middle">{d.day:%m-%d}</text>'
            )
    if points:
        parts.append(f'<polyline points="{" ".join(points)}" fill="none" stroke="#c33" stroke-width="2"/>')
    parts.append(f'<text x="{left}" y="{height - 6}" font-size="12" fill="#7aa6d6">■ 每日提问次数（左）</text>')
    parts.append(f'<text x="{left + 180}" y="{height - 6}" font-size="12" fill="#c33">— 直接回答的比例（右）</text>')
    parts.append("</svg>")
    return "\n".join(parts)
