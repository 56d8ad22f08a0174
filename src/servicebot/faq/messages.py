"""What staff read about their FAQ files, in one place: every problem the loader reports.

Each message is a `str.format` template, addressed to the office staff who edit the YAML
(so in Chinese, with the fix spelled out). Keeping the wording here lets it be improved
without touching the validation, and lets tests name the message they expect instead of
repeating its words.
"""

from __future__ import annotations

# --- reading and parsing -------------------------------------------------------------------
UNREADABLE = "无法读取这个文件：{reason}"
NOT_UTF8 = "文件不是 UTF-8 编码，请用 UTF-8 另存（记事本：另存为 → 编码选 UTF-8）"
YAML_SYNTAX = "YAML 格式错误：{reason}（常见原因：缩进不齐、冒号后缺空格、引号没配对）"
YAML_OTHER = "YAML 格式错误：{reason}"
DUPLICATE_KEY = "字段“{key}”在同一处写了两次，只保留一个"

# --- the directory -------------------------------------------------------------------------
NO_DIRECTORY = "找不到这个目录"
NO_FILES = "目录里没有任何 .yaml 问答文件"
IGNORED_EXTENSION = "这个文件不会被读取：问答文件的扩展名必须是小写的 .yaml，请改名为 {stem}.yaml"

# --- fields --------------------------------------------------------------------------------
UNKNOWN_KEY = "{where}里有不认识的字段“{key}”（可用的字段：{allowed}）"
NOT_A_LIST = "“{name}”应该是列表（每行以“- ”开头）"
EMPTY_ITEM = "“{name}”里有一项是空的或不是文字"
NO_SUCH_DATE = "“reviewed”日期 {text} 不存在：月份是 01 到 12，日子不能超过这个月的天数"
BAD_DATE = "“reviewed”日期写错了：{value!r}，应写成 YYYY-MM-DD，例如 2026-11-28"
LINKS_NOT_A_LIST = "“links”应该是列表，每项包含 title 和 url"
LINK_NOT_A_MAPPING = "“links”里的每一项都要写 title 和 url 两行"
LINK_UNKNOWN_KEY = "链接里有不认识的字段“{key}”，只能写 title 和 url"
LINK_NO_TITLE = "链接缺少 title（显示给居民的文字）"
LINK_BAD_URL = "链接地址无效：{url!r}，必须是以 http:// 或 https:// 开头的完整网址"

# --- entries and topic files ---------------------------------------------------------------
ENTRY_NOT_A_MAPPING = "每个条目都应该是“字段: 值”的形式，以“- id: …”开头"
ENTRY_MISSING_KEY = "条目 {id} 缺少“{key}”（{meaning}）"
NO_ID = "(没有 id)"
EMPTY_VALUE = "“{key}”（{meaning}）不能为空，必须是文字"
BAD_ID = "id“{id}”格式不对：只能用小写英文字母、数字和连字符，例如 dibao-apply"
TOPIC_FILE_SHAPE = "文件开头应该是“topic: 主题名”，接着是“entries:”条目列表"
NO_TOPIC = "缺少“topic”（显示给居民的主题名），或它是空的"
NO_ENTRIES = "缺少“entries”条目列表，或列表是空的"
ONLY_PUNCTUATION = "条目 {id} 有一个问法只有标点或表情：{text!r}"
REPEATED_PHRASING = "条目 {id} 里“{text}”写了两遍，可以删掉一个"
PLACEHOLDER_LEFT = "条目 {id} 的问题、回答或资料来源里还有“{placeholder}”：居民会看到这些占位文字，请先写好"
DRAFT_ENTRY = "条目 {id} 是从未答问题汇总粘贴来的草稿：请把编号、回答和资料来源改好（标着“{placeholder}”的注释）"
BAD_DRAFT = "“draft”只能写 true（草稿：居民看不到这个条目）；条目写好后，把这一行整行删掉"
DRAFT_LEFT = "条目 {id} 是草稿（draft: true），居民还看不到它。还要做：{steps}"
DRAFT_READY = "条目 {id} 是草稿（draft: true），内容已经写好：删掉“draft: true”这一行，它就会回答居民"
DRAFT_TODO_ID = "把 id 改成有意义的英文编号（现在是 {id}）"
DRAFT_TODO_WRITE = "写好 {fields}，删掉“{placeholder}”字样"
DRAFT_TODO_PUBLISH = "删掉“draft: true”这一行，条目才会回答居民"
DRAFT_REFERENCED = "{what}写了草稿条目 {draft}：草稿不会回答居民，等它写好、删掉“draft: true”以后才能写在这里"

# --- across files --------------------------------------------------------------------------
DUPLICATE_ID = "id“{id}”重复了：{file} 第 {line} 行已经用过，每个 id 必须唯一"
SHARED_PHRASING = (
    "问法“{text}”（条目 {id}）在条目 {other} 里已经有了（{file} 第 {line} 行）。"
    "同一个问题只能属于一个条目，请删掉其中一个"
)
UNKNOWN_RELATED = "条目 {id} 的 related 里写了不存在的 id“{related}”"
RELATED_TO_ITSELF = "条目 {id} 的 related 不能写它自己"

# --- settings.yaml and tests.yaml ----------------------------------------------------------
SETTINGS_SHAPE = "settings.yaml 应该包含 contact 和 synonyms 两个字段"
CONTACT_NOT_TEXT = '“contact”必须是文字（可以留空：""）'
SYNONYMS_NOT_A_LIST = "“synonyms”应该是列表，每行一组，例如 - [书屋, 图书室]"
SYNONYM_GROUP_TOO_SMALL = "每组同义词至少要有两个词，例如 [书屋, 图书室]"
SYNONYM_IN_TWO_GROUPS = "同义词“{word}”同时出现在第 {first} 行和第 {line} 行的两组里，只能属于一组"
TESTS_SHAPE = "tests.yaml 应该是列表，每项写 question 和 expect"
TEST_NOT_A_MAPPING = "每个测试问题都要写 question 和 expect 两行"
TEST_INCOMPLETE = "测试问题必须同时写 question（问题）和 expect（应得到的条目 id，或 unanswered）"
UNKNOWN_EXPECT = "测试问题的 expect 写了不存在的 id“{expect}”（或写 unanswered 表示应该答不上来）"

# --- freshness -----------------------------------------------------------------------------
REVIEWED_IN_FUTURE = "条目 {id} 的核对日期 {reviewed} 在将来：请写实际核对内容的那一天，否则它永远不会被提醒重新核对"
STALE = "条目 {id} 已经 {age} 天没有核对（reviewed: {reviewed}），请核对内容后更新 reviewed 日期"
