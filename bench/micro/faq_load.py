"""FAQ load benchmark: how long `faq.check_faq` (read + parse + validate) takes on a synthetic
10,000-entry FAQ directory written as staff would write it (50 topic files, settings.yaml,
tests.yaml; every entry with 6 alternates, keywords, a multi-line answer, a link, a related
id, a source and a reviewed date). The live reloader runs this on every edit, so it must stay
well under a second.

Three figures, each the median of --runs calls: a cold load (no cache of any kind: a new
FAQ's first load), a restart (new process state, the on-disk parse cache in the data
directory warm: what `servicebot run`, `ask` or `faq check` pay on an unchanged FAQ), and a
reload after one of the 50 files was edited (what the live reloader pays).

With --full, also times one `checks.check_directory` (load + index + self-consistency lint +
regression questions): what `Service.reload` pays on every accepted edit.

Usage: python -m bench.micro.faq_load [--entries 10000] [--runs 5] [--keep DIR] [--full]
Prints the medians and every run; exits 1 if the synthetic FAQ does not validate.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from servicebot.config import load_settings
from servicebot.faq import cache, check_faq, question_key
from servicebot.faq.checks import check_directory

TARGET_S = 1.0
FILES = 50
ALTERNATES = 6
# Subjects and question endings residents use; phrasings are drawn from them so that their
# lengths and characters look like the real FAQ's.
SUBJECTS = (
    "低保",
    "养老保险",
    "医疗保险",
    "垃圾分类",
    "体验馆",
    "书屋",
    "社区",
    "居委会",
    "办事处",
    "残疾人",
    "老年人",
    "高龄津贴",
    "临时救助",
    "廉租房",
    "公租房",
    "户口",
    "居住证",
    "身份证",
    "计划生育",
    "独生子女",
    "退役军人",
    "优抚",
    "志愿服务",
    "物业",
    "老旧小区",
    "加装电梯",
    "停车位",
    "门前三包",
    "占道经营",
    "广告牌",
    "秸秆",
    "防汛",
    "疫苗",
    "核酸",
    "健康码",
    "就业",
    "创业贷款",
    "技能培训",
    "失业登记",
    "灵活就业",
    "医保卡",
    "社保卡",
    "电费",
    "水费",
    "燃气",
    "供暖",
    "公交卡",
    "图书室",
    "文化站",
    "健身器材",
)
ACTIONS = (
    "怎么办理",
    "在哪里办",
    "要什么材料",
    "多少钱",
    "找谁",
    "什么时候",
    "能不能",
    "有哪些",
    "怎么申请",
    "怎么查",
    "需要多久",
    "可以网上办吗",
    "在哪交",
    "有补贴吗",
    "怎么取消",
    "过期了怎么办",
    "丢了怎么补",
    "谁能申请",
    "电话多少",
    "几点上班",
)
ANSWER_LINES = (
    "请携带本人身份证、户口簿到户籍所在社区居委会提出申请。",
    "社区受理后五个工作日内完成入户调查，并在社区公示栏公示七天。",
    "公示无异议的，由办事处审核后报区民政局审批，审批结果会电话通知本人。",
    "办理时间：周一至周五上午八点半至十二点，下午两点半至五点半，法定节假日除外。",
    "如有疑问，可拨打办事处便民服务中心电话咨询，或在工作时间到一楼服务窗口当面咨询。",
    "符合条件的居民每月按标准发放，资金直接打入本人社保卡，不收取任何费用。",
)


def phrasing(rng: random.Random, seen: set[str], subject: str, serial: int) -> str:
    """A unique, realistic phrasing about `subject` (a serial number breaks rare collisions)."""
    for _ in range(20):
        text = (
            rng.choice(("", "请问", "我想问一下", ""))
            + subject
            + rng.choice(ACTIONS)
            + rng.choice(("", "？", "呀", "啊"))
        )
        if question_key(text) not in seen:
            break
    else:
        text = f"{subject}第{serial}号窗口{rng.choice(ACTIONS)}"
    seen.add(question_key(text))
    return text


def entry_yaml(rng: random.Random, seen: set[str], n: int, total: int) -> str:
    subject = f"{rng.choice(SUBJECTS)}{rng.choice(SUBJECTS)}" if n >= len(SUBJECTS) else SUBJECTS[n]
    question = phrasing(rng, seen, subject, n * 10)
    alternates = "".join(f"      - {phrasing(rng, seen, subject, n * 10 + k + 1)}\n" for k in range(ALTERNATES))
    answer = "".join(f"      {line}\n" for line in rng.sample(ANSWER_LINES, 4))
    reviewed = dt.date(2026, 1, 1) + dt.timedelta(days=n % 300)
    return (
        f"  - id: entry-{n}\n"
        f"    question: {question}\n"
        f"    alternates:\n{alternates}"
        f"    keywords: [{subject}, 第{n}项]\n"
        f"    answer: |\n{answer}"
        f"    links:\n"
        f"      - title: 滁州市人民政府网站\n"
        f"        url: https://www.chuzhou.gov.cn/content/{n}.html\n"
        f"    related: [entry-{(n + 1) % total}]\n"
        f"    source: 滁州日报 2020-12-08 第A12版\n"
        f"    reviewed: {reviewed:%Y-%m-%d}\n"
    )


def write_faq(directory: Path, entries: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    seen: set[str] = set()
    per_file = -(-entries // FILES)
    for f in range(FILES):
        numbers = range(f * per_file, min(entries, (f + 1) * per_file))
        if not numbers:
            break
        body = "".join(entry_yaml(rng, seen, n, entries) for n in numbers)
        (directory / f"topic{f:02d}.yaml").write_text(f"topic: 主题{f}\nentries:\n{body}", encoding="utf-8")
    (directory / "settings.yaml").write_text(
        'contact: "0550-1234567"\nsynonyms:\n  - [低保, 最低生活保障]\n', encoding="utf-8"
    )
    (directory / "tests.yaml").write_text(
        "".join(f"- question: 测试问题{n}\n  expect: entry-{n}\n" for n in range(0, entries, max(1, entries // 100))),
        encoding="utf-8",
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--keep", type=Path, help="write the FAQ here (for profiling) instead of a temp dir")
    parser.add_argument("--full", action="store_true", help="also time checks.check_directory once")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-load-") as tmp:
        directory = args.keep or Path(tmp)
        directory.mkdir(parents=True, exist_ok=True)
        write_faq(directory, args.entries)
        size = sum(p.stat().st_size for p in directory.glob("*.yaml")) / 2**20
        cache_dir = Path(tmp) / "cache"
        faq, _ = timed_load(directory, forget=True)
        if faq is None:
            return 1
        print(
            f"check_faq: {len(faq.entries)} entries, {faq.question_count} phrasings, "
            f"{len(faq.files)} files, {size:.1f} MiB"
        )
        del faq  # keep one FAQ alive at a time, as the bot does
        report("cold load", [timed_load(directory, forget=True)[1] for _ in range(args.runs)])
        timed_load(directory, forget=True, cache_dir=cache_dir)  # fills the parse cache
        report(
            "restart, parse cache warm",
            [timed_load(directory, forget=True, cache_dir=cache_dir)[1] for _ in range(args.runs)],
        )
        report(
            "reload after editing one file",
            [timed_load(directory, forget=False, edit=n, cache_dir=cache_dir)[1] for n in range(args.runs)],
        )
        if args.full:
            start = time.perf_counter()
            result = check_directory(directory, load_settings(env={}, overrides={"faq_dir": directory}))
            print(
                f"check_directory (what a reload runs): {time.perf_counter() - start:.2f} s, "
                f"{len(result.errors)} errors / {len(result.warnings)} warnings on this synthetic FAQ"
            )
    return 0


def timed_load(directory: Path, *, forget: bool, edit: int | None = None, cache_dir: Path | None = None):
    """One check_faq call; `forget` drops the in-memory file cache, `edit` first changes one file."""
    if forget:
        cache.MEMORY.clear()
    if edit is not None:
        path = directory / "topic00.yaml"
        path.write_text(
            path.read_text(encoding="utf-8").replace("entries:\n", f"entries:\n# 修改 {edit}\n", 1), encoding="utf-8"
        )
    start = time.perf_counter()
    faq, problems = check_faq(directory, today=dt.date(2026, 11, 28), cache_dir=cache_dir)
    elapsed = time.perf_counter() - start
    for problem in [p for p in problems if p.is_error][:10]:
        print(problem, file=sys.stderr)
    return faq, elapsed


def report(what: str, times: list[float]) -> None:
    median = statistics.median(times)
    verdict = "ok" if median < TARGET_S else "SLOW"
    print(
        f"{what}: median {median:.3f} s over {len(times)} runs (target < {TARGET_S:g} s, {verdict}): "
        + ", ".join(f"{t:.3f}" for t in times)
    )


if __name__ == "__main__":
    raise SystemExit(main())
