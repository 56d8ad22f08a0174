"""The review report as staff read it: a terminal table, CSV for a spreadsheet, JSON, a
self-contained HTML page with its charts, or (`-o drafts.yaml`) only the YAML to paste.

Every format says what to do next: each group's action, and in the table and the page the
few steps that matter most this period.
"""

from __future__ import annotations

import csv
import html
import io
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict

from servicebot.records import Status
from servicebot.review import items
from servicebot.review.charts import ACTION_COLOURS, daily_svg, needs_svg, percent, trend_text
from servicebot.review.clustering import MAX_EXAMPLES
from servicebot.review.period import clock, iso
from servicebot.review.report import Action, Cluster, ReviewReport, Unhelpful
from servicebot.review.tables import table
from servicebot.storage import DayCounts

TABLE_CLUSTERS = 50  # the terminal table lists this many groups; csv/json/html list all
NEXT_STEPS = 5  # groups named in "下一步"
STATUS_LABELS: dict[str, str] = {
    Status.ANSWERED: "直接回答",
    Status.SUGGEST: "给出建议",
    Status.UNANSWERED: "未能回答",
    Status.REFERRAL: "告诉居民该找哪里",
}
PRIVACY_NOTE = "居民编号是匿名的，问题中的手机号、身份证号已被遮盖。"
NO_SNIPPET = "没有可加的问法（已在 FAQ 中、现在已能回答、含个人信息、太长，或 tests.yaml 规定不回答）"
NO_SUBJECT = "（没说是什么事）"
WORDS_ONLY = "只是字面相近：这个条目不讲这件事"
ACTION_LABELS: dict[Action, str] = {
    Action.ADD_PHRASINGS: "有相近条目：加问法",
    Action.REFERRAL: "归别的部门：写转介",
    Action.NEW_ENTRY: "问答里没有：写新条目",
    Action.ANSWERED_NOW: "✓ 现在已能回答",
    Action.REFERRED: "✓ 已告诉居民该去哪办",
    Action.UNCLEAR: "没说是什么事：不用处理",
}
# What to do about a group, in "下一步" (str.format templates).
STEP_ADD = "把居民的问法加到条目 {entry}（{question}）"
STEP_REFERRAL = "这件事归别的部门管：在问答里告诉居民该找哪个部门、怎么联系"
STEP_REFERRAL_FILE = "这件事归别的部门管：在转介清单 referrals.yaml 里写上该找哪个部门、怎么联系（下面有草稿）"
STEP_REFERRAL_KNOWN = "转介清单里已有这件事（{matter}），居民还是没得到帮助：看看转介的说法和主题词"
STEP_NEW = "问答里还没有：写一个新条目"
STEP_NEW_NEAR = "问答里的条目（如 {entry}）没有答到这些问题：写一个新条目，或把问法加到合适的条目"
STEP_KEPT = "（tests.yaml 规定“{question}”不回答：要回答就先改 tests.yaml）"
STEP_LINE = "{n}. 第 {rank} 组“{subject}”（{residents} 位居民，{trend}）：{what}"
STEP_PASTE_DRAFT = (
    "用 servicebot review --suggest-yaml -o drafts.yaml 生成可粘贴的 YAML，按每段上方的说明粘贴，"
    "再运行 servicebot faq check faq/"
)
STEP_PASTE_HERE = (
    "按下面每段 YAML 上方的说明粘贴，再运行 servicebot faq check faq/；"
    "新条目和转介事项是草稿（draft: true），写好后删掉那一行才会用上"
)
STEP_UNHELPFUL = "居民点了 👎 的 {count} 个回答：看看引出它的问题，改进回答，或把问题加到更合适的条目"
STEP_NOTHING = "这段时间没有需要补充的问题。"


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


def subject_label(c: Cluster) -> str:
    return c.subject or NO_SUBJECT


def bot_did(c: Cluster) -> list[str]:
    """What the bot did with the group's questions, each count that is not zero."""
    parts = [("未能回答", c.unanswered), ("给出建议", c.suggest), ("告诉去哪办", c.referred), ("转人工", c.handed_off)]
    return [f"{label} {n}" for label, n in parts if n]


def trend_line(c: Cluster) -> str:
    """比上期 ↑3（上期 1 人）."""
    return f"{trend_text(c.residents, c.before_residents)}（上期 {c.before_residents} 人）"


def action_lines(c: Cluster) -> list[str]:
    lines = [ACTION_LABELS[c.action]]
    if c.action == Action.ADD_PHRASINGS and c.owner:
        lines.append(f"加到条目 {c.owner}")
    elif c.action.needs_work and c.near and c.nearest_id:
        lines.append(f"问答里相关的条目：{c.nearest_id}")
    if c.referral:
        lines.append(f"转介清单里的事项：{c.referral}")
    if c.kept_unanswered:
        lines.append(f"tests.yaml 规定不回答：{c.kept_unanswered[0].question}")
    return lines


def next_steps(report: ReviewReport) -> list[str]:
    """The few things that matter most this period, in Chinese, numbered."""
    todo = [c for c in report.clusters if c.action.needs_work][:NEXT_STEPS]
    steps = []
    for n, c in enumerate(todo, 1):
        if c.action == Action.ADD_PHRASINGS and c.owner:
            what = STEP_ADD.format(entry=c.owner, question=c.owner_question)
        elif c.action == Action.REFERRAL:
            drafted = c.suggestion is not None and c.suggestion.action == "referral"
            what = STEP_REFERRAL_KNOWN.format(matter=c.referral) if c.referral else STEP_REFERRAL
            what = STEP_REFERRAL_FILE if drafted else what
        elif c.near and c.nearest_id:
            what = STEP_NEW_NEAR.format(entry=c.nearest_id)
        else:
            what = STEP_NEW
        if c.kept_unanswered:
            what += STEP_KEPT.format(question=c.kept_unanswered[0].question)
        trend = f"比上期 {trend_text(c.residents, c.before_residents)}"
        steps.append(
            STEP_LINE.format(n=n, rank=c.rank, subject=subject_label(c), residents=c.residents, trend=trend, what=what)
        )
    if todo:
        steps.append(f"{len(todo) + 1}. " + (STEP_PASTE_HERE if report.suggest_yaml else STEP_PASTE_DRAFT))
    if report.unhelpful:
        steps.append(f"{len(steps) + 1}. " + STEP_UNHELPFUL.format(count=len(report.unhelpful)))
    unlisted = items.still_unlisted(report.unlisted_items)
    if unlisted:
        steps.append(f"{len(steps) + 1}. " + items.next_step(unlisted))
    return steps or [STEP_NOTHING]


# --- the terminal table ----------------------------------------------------------------------


def render_table(report: ReviewReport) -> str:
    lines = [
        "凤凰办事处问答机器人 · 居民需要什么（未答问题汇总）",
        f"时间范围：{report.period.label}；趋势和上期（{report.before.label}）比较",
        summary_line(report.totals),
        "",
        "下一步：",
        *(f"  {step}" for step in next_steps(report)),
        "",
    ]
    clusters = report.clusters
    if clusters:
        residents = sum(c.residents for c in clusters)
        lines.append(
            f"按主题分组：共 {len(clusters)} 组（{sum(c.count for c in clusters)} 次提问，各组人数合计 {residents}），"
            "需要处理的排在前面，人多的在前"
            + (
                f"；下表列出前 {TABLE_CLUSTERS} 组（完整列表请用 --format csv 或 html）"
                if len(clusters) > TABLE_CLUSTERS
                else ""
            )
        )
        rows = [
            [
                str(c.rank),
                subject_label(c),
                str(c.residents),
                str(c.count),
                trend_line(c),
                bot_did(c),
                [clock(c.first), clock(c.last)],
                list(c.examples),
                action_lines(c),
            ]
            for c in clusters[:TABLE_CLUSTERS]
        ]
        lines += table(
            ["排名", "主题", "人数", "次数", "比上期", "机器人怎么做的", "首次/最近", "问法示例", "该做什么"],
            rows,
            [4, 12, 4, 5, 20, 14, 11, 36, 34],
            [True, False, True, True, False, False, False, False, False],
        )
    else:
        lines.append("这段时间没有未能回答、给出建议、告诉去哪办或转人工的问题。")
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
        lines += ["", "建议的 YAML（按每段上方的说明粘贴到 FAQ 文件，再运行 servicebot faq check 检查）："]
        for c in clusters[:TABLE_CLUSTERS]:
            lines.append("")
            lines += _snippet_block(c)
    return "\n".join(lines) + "\n"


def _snippet_block(c: Cluster) -> list[str]:
    s = c.suggestion
    head = f"# 第 {c.rank} 组“{subject_label(c)}”（{c.residents} 位居民）"
    if s is None:
        return [f"{head}：{NO_SNIPPET}"]
    return [f"{head}：{s.where}", s.yaml.rstrip("\n")]


def render_yaml(report: ReviewReport) -> str:
    """Only the snippets, as a YAML stream: one document per snippet, each headed by a comment
    that says where to paste it (`yaml.safe_load_all` reads the file; staff copy each block)."""
    blocks = [
        "# 凤凰办事处问答机器人 · 建议粘贴到问答文件的 YAML",
        f"# 时间范围：{report.period.label}",
        "# 每段前面的注释说明粘贴到哪个文件、哪一行之后；粘贴后运行 servicebot faq check faq/ 检查。",
        "# 新条目和转介事项是草稿（draft: true）：居民看不到，写好标着“待填写”的地方后删掉 draft: true 那一行。",
    ]
    shown = [c for c in report.clusters if c.suggestion is not None]
    if not shown:
        blocks.append("# 这段时间没有可以粘贴的内容。")
    for c in shown:
        blocks += ["---", *_snippet_block(c)]
    stubs = items.yaml_comment_lines(report.unlisted_items)
    if stubs:
        blocks += ["---", *stubs]
    return "\n".join(blocks) + "\n"


# --- csv / json ---------------------------------------------------------------------------

CSV_HEADERS = [
    "排名",
    "主题",
    "该做什么",
    "居民人数",
    "提问次数",
    "上期居民人数",
    "上期提问次数",
    "比上期",
    "未能回答",
    "给出建议",
    "告诉去哪办",
    "转人工",
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


def _chosen(c: Cluster) -> list[str]:
    """What residents did with the suggestions they were offered."""
    return [f"{entry_id}×{n}" for entry_id, n in c.chosen] + ([f"都不是×{c.rejected}"] if c.rejected else [])


def render_csv(report: ReviewReport) -> str:
    """One row per group (the 👎 answers are in the table, JSON and HTML formats)."""
    buffer = io.StringIO()
    out = csv.writer(buffer)
    out.writerow(CSV_HEADERS + (["建议操作", "建议的YAML"] if report.suggest_yaml else []))
    for c in report.clusters:
        examples = [*c.examples, "", "", ""][:MAX_EXAMPLES]
        row = [
            c.rank,
            csv_cell(subject_label(c)),
            "；".join(action_lines(c)),
            c.residents,
            c.count,
            c.before_residents,
            c.before_count,
            trend_text(c.residents, c.before_residents),
            c.unanswered,
            c.suggest,
            c.referred,
            c.handed_off,
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
        skip = ("first", "last", "chosen", "suggestion", "staff_answer", "staff_notes", "kept_unanswered", "wordings")
        doc = {k: v for k, v in asdict(c).items() if k not in skip}
        doc.update(
            action=str(c.action),
            first=iso(c.first),
            last=iso(c.last),
            examples=list(c.examples),
            chosen=[{"entry_id": e, "count": n} for e, n in c.chosen],
            bot_did={
                "fallback": c.unanswered,
                "did_you_mean": c.suggest,
                "referral": c.referred,
                "handoff": c.handed_off,
            },
            trend=c.trend,
            kept_unanswered=[case.question for case in c.kept_unanswered],
        )
        if report.suggest_yaml:
            doc["wordings"] = list(c.wordings)
            doc["suggestion"] = (
                {
                    **asdict(c.suggestion),
                    "questions": list(c.suggestion.questions),
                    "conflicts": list(c.suggestion.conflicts),
                }
                if c.suggestion
                else None
            )
            answer = c.staff_answer
            doc["staff_answer"] = (
                {"ticket": answer.ticket, "staff_name": answer.staff_name, "answer": answer.answer} if answer else None
            )
        return doc

    return {
        "period": {"since": iso(report.period.since), "until": iso(report.period.until), "timezone": "UTC+8"},
        "before": {"since": iso(report.before.since), "until": iso(report.before.until)},
        "generated": iso(report.generated),
        "totals": report.totals,
        "next_steps": next_steps(report),
        "daily": [{**asdict(d), "day": d.day.isoformat()} for d in report.daily],
        "weeks": {
            "ends": [iso(end) for end in report.weeks.ends],
            "subjects": [{"subject": s, "residents": list(counts)} for s, counts in report.weeks.rows],
        },
        "clusters": [cluster(c) for c in report.clusters],
        "unhelpful": [
            {**asdict(u), "questions": [{"question": q, "count": n} for q, n in u.questions], "last": iso(u.last)}
            for u in report.unhelpful
        ],
        "unlisted_items": items.as_dicts(report.unlisted_items),
    }


def render_json(report: ReviewReport) -> str:
    return json.dumps(report_dict(report), ensure_ascii=False, indent=2) + "\n"


# --- html ---------------------------------------------------------------------------------

_CSS = """
body{font-family:"PingFang SC","Microsoft YaHei","Noto Sans CJK SC","WenQuanYi Micro Hei",sans-serif;
margin:2em;color:#222;max-width:1200px}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:2em;border-bottom:2px solid #c33;padding-bottom:.2em}
table{border-collapse:collapse;width:100%;font-size:.95em}
th,td{border:1px solid #ccc;padding:.35em .5em;vertical-align:top;text-align:left}
th{background:#f3f3f3}td.n{text-align:right;white-space:nowrap}ul{margin:0;padding-left:1.2em}
ol.steps li{margin:.3em 0}
.muted{color:#777;font-size:.9em}.ok{color:#080}
.badge{display:inline-block;color:#fff;border-radius:.3em;padding:.1em .4em;font-size:.9em;white-space:nowrap}
pre{background:#f7f7f7;padding:.5em;margin:.3em 0 0;white-space:pre-wrap}
svg{width:100%;height:auto;border:1px solid #eee}
""".strip()


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _daily_filled(report: ReviewReport) -> list[DayCounts]:
    known = {d.day: d for d in report.daily}
    return [known.get(day) or DayCounts(day, 0, 0, 0, 0, 0, 0, 0) for day in report.period.days()]


def needs_chart(report: ReviewReport) -> str:
    by_subject = {c.subject: c for c in report.clusters}
    rows = [
        (s, counts, str(by_subject[s].action), by_subject[s].residents, by_subject[s].before_residents)
        for s, counts in report.weeks.rows
        if s in by_subject
    ]
    return needs_svg(report.weeks.ends, rows)


def _ul(items: Iterable[str]) -> str:
    return "<ul>" + "".join(f"<li>{_e(i)}</li>" for i in items) + "</ul>"


def _badge(c: Cluster) -> str:
    colour = ACTION_COLOURS[str(c.action)][0]
    rest = action_lines(c)[1:]
    return f'<span class="badge" style="background:{colour}">{_e(ACTION_LABELS[c.action])}</span>' + "".join(
        f"<br>{_e(line)}" for line in rest
    )


def _cluster_row(c: Cluster, suggest_yaml: bool) -> str:
    nearest = (
        "（无）"
        if c.nearest_id is None
        else (
            f"{_e(c.nearest_id)}（{c.nearest_score:.0f} 分）<br>{_e(c.nearest_question)}"
            + ('<br><span class="ok">✓ 现在已能直接回答</span>' if c.now == Status.ANSWERED else "")
            + ("" if c.near or not c.subject else f'<br><span class="muted">{_e(WORDS_ONLY)}</span>')
        )
    )
    cells = [
        f'<td class="n">{c.rank}</td>',
        f"<td><b>{_e(subject_label(c))}</b></td>",
        f"<td>{_badge(c)}</td>",
        f'<td class="n">{c.residents}</td>',
        f'<td class="n">{c.count}</td>',
        f"<td>{_e(trend_line(c))}</td>",
        f"<td>{_ul(bot_did(c))}</td>",
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
    """The report's body without the page around it (for a page that has its own, such as a
    staff desk's review page)."""
    heads = ["排名", "主题", "该做什么", "人数", "次数", "比上期", "机器人怎么做的", "首次/最近", "问法示例"]
    heads += ["最接近的条目", "居民点选"] + (["建议的 YAML"] if report.suggest_yaml else [])
    clusters = _html_table(
        heads,
        [_cluster_row(c, report.suggest_yaml) for c in report.clusters],
        "这段时间没有未能回答、给出建议、告诉去哪办或转人工的问题。",
    )
    unhelpful = _html_table(
        ["条目", "👎", "👍", "引出这个回答的问题"], [_unhelpful_row(u) for u in report.unhelpful], "没有。"
    )
    steps = "".join(f"<li>{_e(step.split('. ', 1)[-1])}</li>" for step in next_steps(report))
    chart = needs_chart(report) or "<p>这段时间没有需要补充的问题。</p>"
    span = f"时间范围：{report.period.label}；趋势和上期（{report.before.label}）比较"
    return f"""<p>{_e(span)}<br>{_e(summary_line(report.totals))}</p>
<h2>下一步</h2>
<ol class="steps">{steps}</ol>
<h2>居民最常问的主题</h2>
{chart}
<h2>按主题分组（共 {len(report.clusters)} 组，需要处理的在前，人多的在前）</h2>
{clusters}
<h2>{_e(items.HEADING.rstrip("："))}</h2>
{items.html_section(report.unlisted_items)}
<h2>居民点了 👎 的回答</h2>
{unhelpful}
<h2>每日提问量与直接回答的比例</h2>
{daily_svg(_daily_filled(report))}
<p class="muted">生成时间：{_e(clock(report.generated, "%Y-%m-%d %H:%M"))}（北京时间）。{_e(PRIVACY_NOTE)}</p>
"""


def render_html(report: ReviewReport) -> str:
    """One self-contained page: no script, nothing loaded from elsewhere."""
    return f"""<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>居民需要什么 {_e(report.period.label)}</title>
<style>{_CSS}</style></head><body>
<h1>凤凰办事处问答机器人 · 居民需要什么（未答问题汇总）</h1>
{html_sections(report)}</body></html>
"""


RENDERERS: dict[str, Callable[[ReviewReport], str]] = {
    "table": render_table,
    "csv": render_csv,
    "json": render_json,
    "html": render_html,
    "yaml": render_yaml,
}
