"""`servicebot faq check / test / stale / diff`: the FAQ tools staff run before and after an edit,
and the wording of what they print.

`cli.py` imports this module only to run one of these commands (see `cli.command`).

    servicebot faq check faq/        # validate, lint, regression questions: exit 1 on errors
    servicebot faq test              # the regression questions of tests.yaml, one line each
    servicebot faq stale             # entries due for review, 待核实 ones, facts from web pages
    servicebot faq diff HEAD faq/    # which labelled and regression questions an edit changes
"""

from __future__ import annotations

import argparse

from servicebot.config import Settings
from servicebot.faq import checks
from servicebot.tools.output import echo

# What staff read (str.format templates; tests name them rather than repeat their words).
CHECK_FAILED = "发现 {errors} 个错误、{warnings} 个警告，请修改后再检查。"
CHECK_REFERRALS = "转介清单 referrals.yaml：{matters} 个事项，{subjects} 个主题词。"
CHECK_ITEMS = "垃圾分类物品清单 garbage-items.yaml：{items} 个物品（{names} 个名称和别名）。"
CHECK_PASSED = (
    "检查通过：{files} 个文件，{entries} 个条目，{phrasings} 个问法，"
    "回归测试 {passed}/{cases} 通过，{warnings} 个警告。"
)
CASE_PASSED = "[通过] {question} → {got}"
CASE_FAILED = "[失败] {question} → {got}（应得到 {expect}，实际 {got}）"
CASES_SUMMARY = "共 {cases} 个测试问题：{passed} 个通过，{failed} 个失败。"
NOTHING_STALE = "所有条目都在 {days} 天内核对过。"
STALE_TOPIC = "【{topic}】"
STALE_ENTRY = "  {id}  {question}  上次核对 {reviewed}（{age} 天前）  {file}:{line}"
STALE_SUMMARY = "共 {count} 个条目需要重新核对。"
DIFF_HEADER = "比较 {questions} 个标注问题和两边的回归测试问题（旧 {old} 条目，新 {new} 条目）："
SOURCED_HEADER = "\n工作纪实以外、来自网页的事实（共 {count} 处，请到来源网页核对是否仍然有效，过时的请更新或删掉）："
SOURCED_FACT = "  {where}  {what}：{facts}\n    来源：{title}（{date}）{url}"
DIFF_CHANGE = "  {question}: {before} → {after}"
DIFF_SUMMARY = "{count} 个问题的结果会改变。"
DIFF_NO_CHANGE = "没有问题的结果改变。"


def faq_check(args: argparse.Namespace, settings: Settings) -> int:
    report = checks.check_directory(settings.faq_dir, settings, lint_synonyms=True)
    for problem in report.problems:
        echo(str(problem))
    if report.errors or report.faq is None:
        echo(CHECK_FAILED.format(errors=len(report.errors), warnings=len(report.warnings)))
        return 1
    faq = report.faq
    passed = sum(r.passed for r in report.regression)
    echo(
        CHECK_PASSED.format(
            files=len(faq.files),
            entries=len(faq.entries),
            phrasings=faq.question_count,
            passed=passed,
            cases=len(report.regression),
            warnings=len(report.warnings),
        )
    )
    if faq.referrals:
        subjects = sum(len(m.subjects) for m in faq.referrals.matters)
        echo(CHECK_REFERRALS.format(matters=len(faq.referrals.matters), subjects=subjects))
    if faq.garbage:
        names = sum(len(i.names) for i in faq.garbage.items)
        echo(CHECK_ITEMS.format(items=len(faq.garbage.items), names=names))
    return 0


def faq_test(args: argparse.Namespace, settings: Settings) -> int:
    report = checks.check_directory(settings.faq_dir, settings)
    if report.index is None:
        for problem in report.errors:
            echo(str(problem))
        return 1
    results = report.regression
    for r in results:
        line = CASE_PASSED if r.passed else CASE_FAILED
        echo(line.format(question=r.case.question, got=r.got, expect=r.case.expect))
    failed = sum(not r.passed for r in results)
    echo(CASES_SUMMARY.format(cases=len(results), passed=len(results) - failed, failed=failed))
    return 1 if failed else 0


def faq_stale(args: argparse.Namespace, settings: Settings) -> int:
    from servicebot.faq.freshness import sourced_facts, stale_entries, verify_lines

    faq = checks.build_snapshot(settings)[0]
    groups = stale_entries(faq, settings.stale_days)
    if not groups:
        echo(NOTHING_STALE.format(days=settings.stale_days))
    for topic, entries in groups:
        echo(STALE_TOPIC.format(topic=topic))
        for e, age in entries:
            echo(
                STALE_ENTRY.format(id=e.id, question=e.question, reviewed=e.reviewed, age=age, file=e.file, line=e.line)
            )
    if groups:
        echo(STALE_SUMMARY.format(count=sum(len(e) for _, e in groups)))
    marked = verify_lines(faq)
    if marked:
        echo()
        echo("\n".join(marked))
    facts = sourced_facts(faq)
    if facts:
        echo(SOURCED_HEADER.format(count=len(facts)))
        for where, what, source in facts:
            echo(
                SOURCED_FACT.format(
                    where=where,
                    what=what,
                    facts="、".join(source.facts) or "—",
                    title=source.title,
                    date=source.date,
                    url=source.url,
                )
            )
    return 0


def faq_diff(args: argparse.Namespace, settings: Settings) -> int:
    from servicebot.faq.diff import diff_outcomes, labelled_questions

    questions = labelled_questions(args.labelled)
    changes, old_n, new_n = diff_outcomes(args.old, args.new, settings, questions)
    echo(DIFF_HEADER.format(questions=len(questions), old=old_n, new=new_n))
    for question, before, after in changes:
        echo(DIFF_CHANGE.format(question=question, before=before, after=after))
    echo(DIFF_SUMMARY.format(count=len(changes)) if changes else DIFF_NO_CHANGE)
    return 0


COMMANDS = {
    "faq check": faq_check,
    "faq test": faq_test,
    "faq stale": faq_stale,
    "faq diff": faq_diff,
}
