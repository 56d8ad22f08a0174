"""The review report as staff read it: a terminal table, CSV for a spreadsheet, JSON, or a
self-contained HTML page with a daily chart.
"""

from __future__ import annotations

import csv
import html
import io
import json
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict

from servicebot.records import Status
from servicebot.review import items
from servicebot.review.clustering import MAX_EXAMPLES
from servicebot.review.period import clock, iso
from servicebot.review.report import Cluster, ReviewReport, Unhelpful
from servicebot.review.tables import table
from servicebot.storage import DayCounts

TABLE_CLUSTERS = 50  # the terminal table lists this many groups; csv/json/html list all
STATUS_LABELS: dict[str, str] = {Status.ANSWERED: "直接回答", Status.SUGGEST: "给出建议", Status.UNANSWERED: "未能回答"}
PRIVACY_NOTE = "居民编号是匿名的，问题中的手机号、身份证号已被遮盖。"
NO_SNIPPET = "没有可加的问法（已在 FAQ 中、现在已能回答、含个人信息、太长，或 tests.yaml 规定不回答）"


def percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "—"


def summary_line(totals: dict[str, int]) -> str:
    n = totals["questions"]
    return (
        f"居民提问 {n} 次（{totals['residents']} 位居民）："
        f"直接回答 {totals['answered']} 次（{percent(totals['answered'], n)}），"
        f"给出建议 {totals['suggest']} 次（{percent(totals['suggest'], n)}），"
        f"未能回答 {totals['unanswered']} 次（{percent(totals['unanswered'], n)}）"
        + OTHER_OUTCOMES.format(
            referral=totals.get("referral", 0),
            referral_rate=percent(totals.get("referral", 0), n),
            item=totals.get("item", 0),
            unlisted=totals.get("item_unlisted", 0),
        )
    )


# Counted apart from the FAQ's answers: referrals to other bodies, and items' bins.
OTHER_OUTCOMES = (
    "，告诉居民该找哪个部门 {referral} 次（{referral_rate}），回答物品分类 {item} 次（清单里没有的物品 {unlisted} 次）"
)


def _nearest_cell(c: Cluster) -> list[str]:
    if c.nearest_id is None:
        return ["（无）"]
    lines = [f"{c.nearest_id}（{c.nearest_score:.0f} 分）", c.nearest_question or ""]
    if c.now == Status.ANSWERED:
        lines.append("✓ 现在已能直接回答")
    return lines


def _chosen(c: Cluster) -> list[str]:
    """What residents did with the suggestions they were offered."""
    return [f"{entry_id}×{n}" for entry_id, n in c.chosen] + ([f"都不是×{c.rejected}"] if c.rejected else [])


def render_table(report: ReviewReport) -> str:
    lines = [
        "凤凰办事处问答机器人 · 未答问题汇总",
        f"时间范围：{report.period.label}",
        summary_line(report.totals),
        "",
    ]
    clusters = report.clusters
    asked = sum(c.count for c in clusters)
    if clusters:
        lines.append(
            f"需要补充的问题：共 {len(clusters)} 组（{asked} 次提问），按提问人数排序"
            + (
                f"，下表列出前 {TABLE_CLUSTERS} 组（完整列表请用 --format csv 或 html）"
                if len(clusters) > TABLE_CLUSTERS
                else ""
            )
        )
        rows = [
            [
                str(c.rank),
                str(c.residents),
                str(c.count),
                [clock(c.first), clock(c.last)],
                list(c.examples),
                _nearest_cell(c),
                _chosen(c),
            ]
            for c in clusters[:TABLE_CLUSTERS]
        ]
        lines += table(
            ["排名", "人数", "次数", "首次/最近", "问法示例", "最接近的条目", "居民点选"],
            rows,
            [4, 4, 6, 11, 40, 34, 24],
            [True, True, True, False, False, False, False],
        )
    else:
        lines.append("这段时间没有未能回答或需要居民选择的问题。")
    lines += ["", "居民点了 👎 的回答："]
    if report.unhelpful:
        rows = [
            [u.entry_id, str(u.down), str(u.up), [f"{q}（{n} 次）" for q, n in u.questions]] for u in report.unhelpful
        ]
        lines += table(["条目", "👎", "👍", "引出这个回答的问题"], rows, [34, 5, 5, 50], [False, True, True, False])
    else:
        lines.append("没有。")
    lines += ["", *items.table_lines(report.unlisted_items, report.suggest_yaml)]
    if report.suggest_yaml:
        lines += ["", "建议的 YAML（粘贴到 FAQ 文件后运行 servicebot faq check 检查）："]
        for c in clusters[:TABLE_CLUSTERS]:
            lines.append("")
            lines += _snippet_block(c)
    return "\n".join(lines) + "\n"


def _snippet_block(c: Cluster) -> list[str]:
    s = c.suggestion
    if s is None:
        return [f"# 第 {c.rank} 组：{NO_SNIPPET}"]
    return [f"# 第 {c.rank} 组：{s.where}", s.yaml.rstrip("\n")]


# --- csv / json / html -------------------------------------------------------------------

CSV_HEADERS = [
    "排名",
    "居民人数",
    "提问次数",
    "其中未能回答",
    "其中给出建议",
    "首次提问",
    "最近提问",
    "问法示例1",
    "问法示例2",
    "问法示例3",
    "最接近的条目",
    "条目的标准问题",
    "相似度",
    "现在的结果",
    "居民点选",
]


def csv_cell(text: str) -> str:
    """Spreadsheet-safe: a resident's text starting with = + - @ must not become a formula."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def render_csv(report: ReviewReport) -> str:
    buffer = io.StringIO()
    out = csv.writer(buffer)
    out.writerow(CSV_HEADERS + (["建议操作", "建议的YAML"] if report.suggest_yaml else []))
    for c in report.clusters:
        examples = [*c.examples, "", "", ""][:MAX_EXAMPLES]
        row = [
            c.rank,
            c.residents,
            c.count,
            c.unanswered,
            c.suggest,
            clock(c.first, "%Y-%m-%d %H:%M"),
            clock(c.last, "%Y-%m-%d %H:%M"),
            *map(csv_cell, examples),
            c.nearest_id or "",
            c.nearest_question or "",
            f"{c.nearest_score:.1f}",
            STATUS_LABELS.get(c.now, c.now),
            "，".join(_chosen(c)),
        ]
        if report.suggest_yaml:
            row += [c.suggestion.where, c.suggestion.yaml] if c.suggestion else [NO_SNIPPET, ""]
        out.writerow(row)
    return buffer.getvalue()


def report_dict(report: ReviewReport) -> dict:
    def cluster(c: Cluster) -> dict:
        skip = ("first", "last", "chosen", "suggestion", "staff_answer")
        doc = {k: v for k, v in asdict(c).items() if k not in skip}
        doc.update(
            first=iso(c.first),
            last=iso(c.last),
            examples=list(c.examples),
            chosen=[{"entry_id": e, "count": n} for e, n in c.chosen],
        )
        if report.suggest_yaml:
            doc["suggestion"] = (
                {**asdict(c.suggestion), "questions": list(c.suggestion.questions)} if c.suggestion else None
            )
            answer = c.staff_answer
            doc["staff_answer"] = (
                {"ticket": answer.ticket, "staff_name": answer.staff_name, "answer": answer.answer} if answer else None
            )
        return doc

    return {
        "period": {"since": iso(report.period.since), "until": iso(report.period.until), "timezone": "UTC+8"},
        "generated": iso(report.generated),
        "totals": report.totals,
        "daily": [{**asdict(d), "day": d.day.isoformat()} for d in report.daily],
        "clusters": [cluster(c) for c in report.clusters],
        "unhelpful": [
            {**asdict(u), "questions": [{"question": q, "count": n} for q, n in u.questions], "last": iso(u.last)}
            for u in report.unhelpful
        ],
        "unlisted_items": items.as_dicts(report.unlisted_items),
    }


def render_json(report: ReviewReport) -> str:
    return json.dumps(report_dict(report), ensure_ascii=False, indent=2) + "\n"


_CSS = """
body{font-family:"PingFang SC","Microsoft YaHei","Noto Sans CJK SC",sans-serif;margin:2em;color:#222;max-width:1200px}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:2em;border-bottom:2px solid #c33;padding-bottom:.2em}
table{border-collapse:collapse;width:100%;font-size:.95em}
th,td{border:1px solid #ccc;padding:.35em .5em;vertical-align:top;text-align:left}
th{background:#f3f3f3}td.n{text-align:right;white-space:nowrap}ul{margin:0;padding-left:1.2em}
.muted{color:#777;font-size:.9em}.ok{color:#080}
pre{background:#f7f7f7;padding:.5em;margin:.3em 0 0;white-space:pre-wrap}
svg{width:100%;height:auto;border:1px solid #eee}
""".strip()


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _daily_filled(report: ReviewReport) -> list[DayCounts]:
    known = {d.day: d for d in report.daily}
    return [known.get(day) or DayCounts(day, 0, 0, 0, 0, 0, 0, 0) for day in report.period.days()]


def chart_svg(days: list[DayCounts]) -> str:
    """Bars: questions per day; line: share answered outright. Plain SVG, no script."""
    width, height, left, right, top, bottom = 900, 280, 50, 50, 20, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max([d.total for d in days] + [1])
    step = plot_w / max(len(days), 1)
    parts = [f'<svg viewBox="0 0 {width} {height}" role="img" aria-label="每日提问量与回答率">']
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


def _ul(items: Iterable[str]) -> str:
    return "<ul>" + "".join(f"<li>{_e(i)}</li>" for i in items) + "</ul>"


def _cluster_row(c: Cluster, suggest_yaml: bool) -> str:
    nearest = (
        "（无）"
        if c.nearest_id is None
        else (
            f"{_e(c.nearest_id)}（{c.nearest_score:.0f} 分）<br>{_e(c.nearest_question)}"
            + ('<br><span class="ok">✓ 现在已能直接回答</span>' if c.now == Status.ANSWERED else "")
        )
    )
    cells = [
        f'<td class="n">{c.rank}</td>',
        f'<td class="n">{c.residents}</td>',
        f'<td class="n">{c.count}</td>',
        f"<td>{_e(clock(c.first))}<br>{_e(clock(c.last))}</td>",
        f"<td>{_ul(c.examples)}</td>",
        f"<td>{nearest}</td>",
        f"<td>{_ul(_chosen(c))}</td>",
    ]
    if suggest_yaml:
        s = c.suggestion
        cells.append(
            f"<td>{_e(s.where)}<pre>{_e(s.yaml)}</pre></td>" if s else f'<td class="muted">{_e(NO_SNIPPET)}</td>'
        )
    return "<tr>" + "".join(cells) + "</tr>"


def _html_table(heads: Sequence[str], rows: Sequence[str], empty: str) -> str:
    if not rows:
        return f"<p>{_e(empty)}</p>"
    return "<table><tr>" + "".join(f"<th>{_e(h)}</th>" for h in heads) + "</tr>" + "".join(rows) + "</table>"


def _unhelpful_row(u: Unhelpful) -> str:
    asked = _ul(f"{q}（{n} 次）" for q, n in u.questions)
    return (
        f'<tr><td>{_e(u.entry_id)}<br>{_e(u.entry_question)}</td><td class="n">{u.down}</td>'
        f'<td class="n">{u.up}</td><td>{asked}</td></tr>'
    )


def html_sections(report: ReviewReport) -> str:
    """The report's body without the page around it (also shown on the staff desk's review page)."""
    heads = ["排名", "人数", "次数", "首次/最近", "问法示例", "最接近的条目", "居民点选"] + (
        ["建议的 YAML"] if report.suggest_yaml else []
    )
    clusters = _html_table(
        heads,
        [_cluster_row(c, report.suggest_yaml) for c in report.clusters],
        "这段时间没有未能回答或需要居民选择的问题。",
    )
    unhelpful = _html_table(
        ["条目", "👎", "👍", "引出这个回答的问题"], [_unhelpful_row(u) for u in report.unhelpful], "没有。"
    )
    return f"""<p>时间范围：{_e(report.period.label)}<br>{_e(summary_line(report.totals))}</p>
<h2>每日提问量与直接回答的比例</h2>
{chart_svg(_daily_filled(report))}
<h2>需要补充的问题（共 {len(report.clusters)} 组，按提问人数排序）</h2>
{clusters}
<h2>{_e(items.HEADING.rstrip("："))}</h2>
{items.html_section(report.unlisted_items)}
<h2>居民点了 👎 的回答</h2>
{unhelpful}
<p class="muted">生成时间：{_e(clock(report.generated, "%Y-%m-%d %H:%M"))}（北京时间）。{_e(PRIVACY_NOTE)}</p>
"""


def render_html(report: ReviewReport) -> str:
    return f"""<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>未答问题汇总 {_e(report.period.label)}</title>
<style>{_CSS}</style></head><body>
<h1>凤凰办事处问答机器人 · 未答问题汇总</h1>
{html_sections(report)}</body></html>
"""


RENDERERS: dict[str, Callable[[ReviewReport], str]] = {
    "table": render_table,
    "csv": render_csv,
    "json": render_json,
    "html": render_html,
}
