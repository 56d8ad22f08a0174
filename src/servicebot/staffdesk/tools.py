"""The staff tools as pages of the staff desk: the review, the stats, the FAQ's health, and
applying a FAQ edit that live reload held back.

Each page is what the command of the same name prints, computed by the same code:
`servicebot review --suggest-yaml` (`review.report.build_review`, the same groups and drafts,
shown with `review.render.html_sections`), `servicebot stats` (`review.stats.build_stats`),
`servicebot faq check` and `faq stale` (`checks.check_directory`, `faq.freshness`). Nothing
here writes a file on the server: the drafts are to copy into the FAQ files by hand.

"Apply" is what `/reload` and SIGHUP do (`FaqWatcher.check_now(force=True)`): the files are
read and checked again, and swapped in when they pass, even when they remove many entries at
once (the case live reload holds back as a likely half-saved file). Only admin accounts
(`servicebot staff add --admin`) may apply, as only `admin_ids` may send /reload.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import html
import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from servicebot.channels import Core
from servicebot.errors import ConfigError, Problem
from servicebot.faq import checks
from servicebot.faq.freshness import stale_entries
from servicebot.faq.watcher import Signature, directory_signature
from servicebot.review.period import Period, parse_period
from servicebot.review.render import html_sections, percent, summary_line
from servicebot.review.report import build_review
from servicebot.review.stats import build_stats
from servicebot.staffdesk.accounts import Session
from servicebot.staffdesk.pages import PREFIX, csrf_field, layout, notice, viewer_of
from servicebot.storage import CHINA_TZ, LogReader

log = logging.getLogger(__name__)

REVIEW_SPANS = ("1d", "7d", "30d")
STATS_SPANS = ("7d", "30d", "90d")

# --- wording -------------------------------------------------------------------------------------

REVIEW_TITLE = "未答问题"
REVIEW_HELP = (
    "和 servicebot review --suggest-yaml 的结果一样：居民问了、机器人没能直接回答的问题，按问题分组，"
    "附上可以直接复制到问答文件里的 YAML 草稿。这个页面不会修改服务器上的文件。"
)
STATS_TITLE = "使用统计"
FAQ_TITLE = "问答状态"
SERVED = "正在使用的问答：{files} 个文件，{entries} 个条目（{at} 载入）。"
LAST_RELOAD = "最近一次自动载入（{at}）："
LAST_SWAPPED = "已生效。"
LAST_REFUSED = "没有生效，机器人仍在使用之前的问答："
APPLY_TITLE = "应用被暂缓的修改"
APPLY_HELP = (
    "和 Telegram 里的 /reload、给进程发 SIGHUP 一样：马上重新读取问答文件，检查通过就生效——"
    "包括一次删除很多条目、自动载入因此暂缓的修改。检查不通过的修改不会生效。"
)
APPLY_BUTTON = "重新载入问答文件"
APPLY_ADMIN_ONLY = "只有管理员账号可以重新载入（servicebot staff add --admin 创建）。"
RELOADED = "已重新载入：{files} 个文件，{entries} 个条目。"
NOT_RELOADED = "没有载入：有 {count} 个问题，机器人仍在使用之前的问答。"
NOTHING_NEW = "问答文件没有变化。"
CHECK_TITLE = "问答检查（servicebot faq check）"
CHECKING = "正在检查问答文件（忙的时候要十几秒），页面会自动刷新。"
CHECKING_AGAIN = "问答文件有改动，正在重新检查，页面会自动刷新；下面是上次检查的结果。"
CHECK_PASSED = "检查通过：{entries} 个条目，回归测试 {passed}/{cases} 通过，{warnings} 个警告。"
CHECK_FAILED = "发现 {errors} 个错误、{warnings} 个警告：有错误的修改不会生效，请按下面的文件和行号修改。"
STALE_TITLE = "需要重新核对的条目（超过 {days} 天没有核对）"
NOTHING_STALE = "所有条目都在 {days} 天内核对过。"


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _when(moment: dt.datetime) -> str:
    return moment.astimezone(CHINA_TZ).strftime("%m-%d %H:%M")


def _problems(problems: Sequence[Problem]) -> str:
    items = "".join(
        f'<li class="{"error" if p.is_error else "warning"}"><code>{_e(p.file)}:{p.line}</code> {_e(p.message)}</li>'
        for p in problems
    )
    return f'<ul class="problems">{items}</ul>' if items else ""


def _spans(path: str, spans: Sequence[str], current: str) -> str:
    links = " · ".join(
        f"<strong>{_e(s)}</strong>" if s == current else f'<a href="{PREFIX}/tools/{path}?since={_e(s)}">{_e(s)}</a>'
        for s in spans
    )
    return f'<p class="spans">时间范围：{links}（d = 天）</p>'


@dataclass(frozen=True)
class Checked:
    """`faq check` and `faq stale` for one state of the FAQ directory."""

    report: checks.Report
    stale: list


@dataclass(frozen=True)
class Reloaded:
    at: dt.datetime
    swapped: bool
    problems: tuple[Problem, ...]


class Tools:
    """The tools' pages for one process (they read the core's settings, FAQ and log)."""

    def __init__(self, core: Core):
        self.core = core
        self.last_reload: Reloaded | None = None
        self._checked: tuple[Signature, Checked] | None = None
        self._checking: asyncio.Future[None] | None = None

    async def on_reload(self, swapped: bool, problems: list[Problem]) -> None:
        """A reload listener (`Core.reload_listeners`): remember the latest outcome for the page."""
        self.last_reload = Reloaded(dt.datetime.now(dt.UTC), swapped, tuple(problems))

    def _period(self, request: Request, default: str) -> tuple[Period | None, str, str]:
        since = request.query_params.get("since", default)[:20]
        try:
            return parse_period(since), since, ""
        except ConfigError as exc:
            return None, since, str(exc)

    # -- review and stats --------------------------------------------------------------------------

    async def review(self, request: Request, session: Session) -> Response:
        period, since, error = self._period(request, "7d")
        body = f"<h1>{_e(REVIEW_TITLE)}</h1>\n<p class=muted>{_e(REVIEW_HELP)}</p>\n"
        body += _spans("review", REVIEW_SPANS, since)
        if period is None:
            body += notice(error, "error")
        else:
            body += f'<div class="report">{await asyncio.to_thread(self._review_html, period)}</div>'
        return HTMLResponse(layout(REVIEW_TITLE, body, viewer_of(session), active="review"))

    def _review_html(self, period: Period) -> str:
        settings, desk = self.core.settings, self.core.desk
        staff_answers = desk.store.staff_answers(period.since, period.until) if desk is not None else []
        report = build_review(
            LogReader(settings.db_path),
            self.core.service.snapshot.index,
            period,
            answer_threshold=settings.answer_threshold,
            suggest_yaml=True,
            faq_dir=settings.faq_dir,
            staff_answers=staff_answers,
        )
        return html_sections(report)

    async def stats(self, request: Request, session: Session) -> Response:
        period, since, error = self._period(request, "30d")
        body = f"<h1>{_e(STATS_TITLE)}</h1>\n{_spans('stats', STATS_SPANS, since)}"
        if period is None:
            body += notice(error, "error")
        else:
            body += await asyncio.to_thread(self._stats_html, period)
        return HTMLResponse(layout(STATS_TITLE, body, viewer_of(session), active="stats"))

    def _stats_html(self, period: Period) -> str:
        report = build_stats(LogReader(self.core.settings.db_path), period, self.core.service.snapshot.faq)
        t, rated = report.totals, report.helpful + report.unhelpful
        daily = "".join(
            f"<tr><td>{d.day:%Y-%m-%d}</td>"
            + "".join(
                f'<td class="n">{cell}</td>'
                for cell in (
                    d.total,
                    percent(d.answered, d.total),
                    percent(d.suggest, d.total),
                    percent(d.unanswered, d.total),
                    d.taps,
                    d.helpful,
                    d.unhelpful,
                )
            )
            + "</tr>"
            for d in report.daily
        )
        top = "".join(
            f'<tr><td class="n">{n}</td><td><code>{_e(e)}</code><br>{_e(q)}</td><td class="n">{a}</td>'
            f'<td class="n">{tp}</td></tr>'
            for n, (e, q, a, tp) in enumerate(report.top, 1)
        )
        return f"""<p>{_e(report.period.label)}<br>{_e(summary_line(t))}</p>
<p>按钮点选 {t["taps"]} 次；居民对建议选“都不是” {t["none_of_these"]} 次。
评价：👍 {report.helpful} 次，👎 {report.unhelpful} 次（好评率 {percent(report.helpful, rated)}）。</p>
<h2>每日</h2>
{_table(["日期", "提问", "直接回答", "给出建议", "未能回答", "点选", "👍", "👎"], daily)}
<h2>最常用的条目</h2>
{_table(["排名", "条目", "直接回答", "点选"], top)}"""

    # -- the FAQ's health -----------------------------------------------------------------------

    async def faq(self, request: Request, session: Session) -> Response:
        checked, current = await self.check()
        body = [f"<h1>{_e(FAQ_TITLE)}</h1>", self._served(), self._last_reload(), self._apply_form(session)]
        body.append(f"<h2>{_e(CHECK_TITLE)}</h2>")
        if not current:
            body.append(notice(CHECKING if checked is None else CHECKING_AGAIN, "warn"))
        if checked is not None:
            body.append(_check_html(checked.report))
            days = self.core.settings.stale_days
            body.append(f"<h2>{_e(STALE_TITLE.format(days=days))}</h2>")
            stale = _stale_html(checked.stale) if checked.stale else f"<p>{_e(NOTHING_STALE.format(days=days))}</p>"
            body.append(stale)
        page = layout(FAQ_TITLE, "\n".join(body), viewer_of(session), active="faq", refresh=0 if current else 5)
        return HTMLResponse(page)

    async def check(self) -> tuple[Checked | None, bool]:
        """The latest `faq check` of the directory, and whether it is of the directory as it is
        now. The check takes seconds (the synonym lint; tens of seconds on a busy machine), so it
        runs in the background — on a daemon thread, which never holds up stopping the bot — and
        again only after the files changed."""
        signature = await asyncio.to_thread(directory_signature, self.core.settings.faq_dir)
        done = self._checked
        if done is not None and done[0] == signature:
            return done[1], True
        if self._checking is None or self._checking.done():
            self._checking = asyncio.get_running_loop().create_future()
            threading.Thread(target=self._run_check, args=(signature, self._checking), daemon=True).start()
        return (done[1] if done else None), False

    def _run_check(self, signature: Signature, future: asyncio.Future[None]) -> None:
        settings = self.core.settings
        try:
            report = checks.check_directory(settings.faq_dir, settings, lint_synonyms=True)
            stale = stale_entries(report.faq, settings.stale_days) if report.faq is not None else []
            self._checked = signature, Checked(report, stale)
        except Exception:
            log.exception("staff desk: checking the FAQ failed")
        finally:
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile: nobody waits
                future.get_loop().call_soon_threadsafe(_finish, future)

    def _served(self) -> str:
        snapshot = self.core.service.snapshot
        faq = snapshot.faq
        served = SERVED.format(files=len(faq.files), entries=len(faq.entries), at=_when(snapshot.loaded_at))
        return f"<p>{_e(served)}</p>"

    def _last_reload(self) -> str:
        last = self.last_reload
        if last is None:
            return ""
        outcome = LAST_SWAPPED if last.swapped else LAST_REFUSED
        shown = last.problems if last.swapped else tuple(p for p in last.problems if p.is_error)
        kind = "info" if last.swapped else "warn"
        line = LAST_RELOAD.format(at=_when(last.at)) + outcome
        return f'<div class="notice {kind}"><p>{_e(line)}</p>{_problems(shown)}</div>'

    def _apply_form(self, session: Session) -> str:
        head = f"<h2>{_e(APPLY_TITLE)}</h2><p class=muted>{_e(APPLY_HELP)}</p>"
        if not session.admin:
            return head + f"<p>{_e(APPLY_ADMIN_ONLY)}</p>"
        viewer = viewer_of(session)
        return head + (
            f'<form method="post" action="{PREFIX}/tools/reload">{csrf_field(viewer)}'
            f'<button type="submit">{_e(APPLY_BUTTON)}</button></form>'
        )

    async def reload(self, request: Request, session: Session, form: dict[str, str]) -> Response:
        viewer = viewer_of(session)
        if not session.admin:
            page = layout(FAQ_TITLE, f"<h1>{_e(FAQ_TITLE)}</h1>{notice(APPLY_ADMIN_ONLY, 'warn')}", viewer)
            return HTMLResponse(page, status_code=403)
        watcher = self.core.watcher
        if watcher is not None:
            result = await asyncio.to_thread(watcher.check_now, force=True)
        else:
            result = await asyncio.to_thread(self.core.service.reload)
        if result is None:
            body = notice(NOTHING_NEW)
        else:
            swapped, problems = result
            faq = self.core.service.snapshot.faq
            if swapped:
                text = RELOADED.format(files=len(faq.files), entries=len(faq.entries))
                body = notice(text) + _problems(problems)
            else:
                errors = [p for p in problems if p.is_error]
                body = notice(NOT_RELOADED.format(count=len(errors)), "warn") + _problems(errors)
        back = f'<p><a href="{PREFIX}/tools/faq">← {_e(FAQ_TITLE)}</a></p>'
        return HTMLResponse(layout(FAQ_TITLE, f"<h1>{_e(APPLY_TITLE)}</h1>{body}{back}", viewer, active="faq"))


def _finish(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def _table(heads: Sequence[str], rows: str) -> str:
    if not rows:
        return "<p>（没有记录）</p>"
    return "<table><tr>" + "".join(f"<th>{_e(h)}</th>" for h in heads) + f"</tr>{rows}</table>"


def _check_html(report: checks.Report) -> str:
    if report.errors or report.faq is None:
        summary = notice(CHECK_FAILED.format(errors=len(report.errors), warnings=len(report.warnings)), "warn")
    else:
        passed = sum(r.passed for r in report.regression)
        summary = notice(
            CHECK_PASSED.format(
                entries=len(report.faq.entries),
                passed=passed,
                cases=len(report.regression),
                warnings=len(report.warnings),
            )
        )
    return summary + _problems(report.problems)


def _stale_html(groups: list) -> str:
    parts = []
    for topic, entries in groups:
        items = "".join(
            f"<li><code>{_e(e.file)}:{e.line}</code> {_e(e.id)} {_e(e.question)}"
            f"（上次核对 {_e(e.reviewed)}，{age} 天前）</li>"
            for e, age in entries
        )
        parts.append(f"<h3>{_e(topic)}</h3><ul>{items}</ul>")
    return "".join(parts)


__all__ = ["Tools"]
