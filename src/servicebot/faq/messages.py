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
NO_SUCH_DATE = "“{name}”日期 {text} 不存在：月份是 01 到 12，日子不能超过这个月的天数"
BAD_DATE = "“{name}”日期写错了：{value!r}，应写成 YYYY-MM-DD，例如 2026-11-28"
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
VERIFY_NOT_TEXT = "“verify”（待核实的事项）要写成一句话，例如 verify: 电话号码待核实；核实完就删掉这一行"
DRAFT_ENTRY = "条目 {id} 是从未答问题汇总粘贴来的草稿：请把编号、回答和资料来源改好（标着“{placeholder}”的注释）"
BAD_DRAFT = "“draft”只能写 true（草稿：居民看不到这个条目）；条目写好后，把这一行整行删掉"
DRAFT_LEFT = "条目 {id} 是草稿（draft: true），居民还看不到它。还要做：{steps}"
DRAFT_READY = "条目 {id} 是草稿（draft: true），内容已经写好：删掉“draft: true”这一行，它就会回答居民"
DRAFT_TODO_ID = "把 id 改成有意义的英文编号（现在是 {id}）"
DRAFT_TODO_WRITE = "写好 {fields}，删掉“{placeholder}”字样"
DRAFT_TODO_PUBLISH = "删掉“draft: true”这一行，条目才会回答居民"
DRAFT_REFERENCED = "{what} 里写了草稿条目 {draft}：草稿不会回答居民，等它写好、删掉“draft: true”以后才能写在这里"

# --- across files --------------------------------------------------------------------------
DUPLICATE_ID = "id“{id}”重复了：{file} 第 {line} 行已经用过，每个 id 必须唯一"
SHARED_PHRASING = (
    "问法“{text}”（条目 {id}）在条目 {other} 里已经有了（{file} 第 {line} 行）。"
    "同一个问题只能属于一个条目，请删掉其中一个"
)
SHARED_KEYWORD = (
    "条目 {id} 的关键词“{word}”也是条目 {other} 的{kind}（{file} 第 {line} 行）：居民的问题里有这个词时，"
    "两个条目会互相抢，原来答对的问题可能改成另一个条目的回答。请只把它留在真正讲这件事的那个条目里"
)
AS_KEYWORD = "关键词"
AS_PHRASING = "问法"
UNKNOWN_RELATED = "条目 {id} 的 related 里写了不存在的 id“{related}”"
RELATED_TO_ITSELF = "条目 {id} 的 related 不能写它自己"

# --- problems that follow from another one (see knockon.py) ---------------------------------
KNOCK_ON_FILE = (
    "这个文件读不出来，里面的条目都没有读入，所以另有 {count} 处提到这些条目的地方也报了“不存在”"
    "（{places}）。改好上面这个错误，它们会自动消失"
)
KNOCK_ON_ENTRY = (
    "条目 {id} 因为有错误没有读入，所以另有 {count} 处提到它的地方也报了“不存在”（{places}）。"
    "改好这个条目的错误，它们会自动消失"
)
KNOCK_ON_PLACE = "{file} 第 {lines} 行{more}"
KNOCK_ON_MORE = "等 {count} 行"

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
VERIFY_PENDING = (
    "条目 {id} 标着待核实：{note}。居民看不到这句提醒，但会看到条目现在的回答；核实、改好后删掉 verify 这一行"
)
STALE = "条目 {id} 已经 {age} 天没有核对（reviewed: {reviewed}），请核对内容后更新 reviewed 日期"

# --- sources: facts beyond the office's report -----------------------------------------------
SOURCES_NOT_A_LIST = "“sources”应该是列表，每项写 url、title、date（和 facts）"
SOURCE_NOT_A_MAPPING = "“sources”里的每一项都要写 url、title、date 几行"
SOURCE_UNKNOWN_KEY = "来源里有不认识的字段“{key}”（可用的字段：{allowed}）"
SOURCE_NO_TITLE = "来源缺少 title（网页的标题）"
SOURCE_BAD_URL = "来源网址无效：{url!r}，必须是以 http:// 或 https:// 开头的完整网址"
SOURCE_NO_DATE = "来源缺少 date（网页上写的发布日期，YYYY-MM-DD）"
SOURCE_IN_FUTURE = "来源的日期 {date} 在将来：请写网页上的发布日期"
ENTRY_ANSWER = "条目 {id} 的回答"
UNSOURCED_FACT = (
    "{what}里的“{fact}”不是办事处工作纪实里的内容：电话号码、金额和日期这类事实必须有出处。"
    "请在 sources 里写明官方网页（url、title、date），并把“{fact}”原样写进那一项的 facts"
)
FACT_NOT_IN_TEXT = "来源的 facts 里写了“{fact}”，但{what}里找不到这几个字：请和{what}里的写法保持一致，或删掉它"

# --- referrals.yaml ----------------------------------------------------------------------------
REFERRALS_SHAPE = "referrals.yaml 应该包含 sources、general 和 referrals 三部分（sources、general 可以不写）"
NO_REFERRALS = "缺少“referrals”事项列表，或列表是空的"
REFERRAL_NOT_A_MAPPING = "每个事项都应该是“字段: 值”的形式，以“- id: …”开头"
REFERRAL_MISSING_KEY = "事项 {id} 缺少“{key}”（{meaning}）"
REFERRAL_EMPTY = "事项 {id} 的“{key}”（{meaning}）不能为空"
GENERAL_SHAPE = "“general”应该写 text（每次转介都附上的总入口说明）和 sources"
NAMED_SOURCES_SHAPE = (
    "referrals.yaml 的“sources”应该是“编号: 来源”的形式，例如 gov-12345: 下面写 url、title、date、facts"
)
UNKNOWN_SOURCE_ID = "{where}引用了不存在的来源编号“{source}”（在文件开头的 sources 里定义）"
SOURCE_IDS_NOT_A_LIST = "{where}的“sources”应该是来源编号的列表，例如 [gov-12345]"
UNUSED_SOURCE = "来源“{source}”没有被任何事项引用，可以删掉"
DUPLICATE_REFERRAL_ID = "事项编号“{id}”重复了：第 {line} 行已经用过"
SHORT_SUBJECT = "事项 {id} 的主题词“{word}”太短：至少要两个字，否则会误认别的问题"
SHARED_SUBJECT = "主题词“{word}”（事项 {id}）在事项 {other} 里已经有了（第 {line} 行）：一个词只能属于一个事项"
BAD_REFERRAL_DRAFT = "事项的“draft”只能写 true（草稿：机器人不会用它转介居民）；写好后，把这一行整行删掉"
REFERRAL_PLACEHOLDER_LEFT = "事项 {id} 里还有“{placeholder}”：居民会看到这些占位文字，请先写好"
REFERRAL_DRAFT_LEFT = "事项 {id} 是草稿（draft: true），机器人还不会用它转介居民。还要做：{steps}"
REFERRAL_DRAFT_READY = (
    "事项 {id} 是草稿（draft: true），内容已经写好：删掉“draft: true”这一行，机器人就会用它告诉居民该找哪个部门"
)
REFERRAL_TODO_PUBLISH = "删掉“draft: true”这一行，机器人才会用它告诉居民该找哪个部门"

# --- garbage-items.yaml ------------------------------------------------------------------------
GARBAGE_SHAPE = "garbage-items.yaml 应该包含 sources、categories 和 items 三部分"
CATEGORIES_SHAPE = "“categories”必须正好写四类：可回收物、有害垃圾、厨余垃圾、其他垃圾，每类写 means 和 put_out"
UNKNOWN_CATEGORY_KEY = "“categories”里有不认识的类别“{key}”：只能是可回收物、有害垃圾、厨余垃圾、其他垃圾"
MISSING_CATEGORY = "“categories”缺少“{name}”，四类都要写"
CATEGORY_FIELD = "类别“{name}”缺少“{key}”（{meaning}），或它是空的"
NO_ITEMS = "缺少“items”物品列表，或列表是空的"
ITEM_NOT_A_MAPPING = "每个物品都应该是“字段: 值”的形式，以“- name: …”开头"
ITEM_NO_NAME = "物品缺少 name（常用名称）"
ITEM_CATEGORY_OR_CASES = "物品“{name}”必须写 category 或 cases 其中一个（不能两个都写，也不能都不写）"
BAD_CATEGORY = "物品“{name}”的类别“{value}”不对：只能是可回收物、有害垃圾、厨余垃圾、其他垃圾"
CASES_TOO_FEW = "物品“{name}”的 cases 至少要写两种情况，每种写 when 和 category"
CASE_SHAPE = "物品“{name}”的每种情况都要写 when（什么情况）和 category（哪一类）"
DUPLICATE_ITEM_NAME = (
    "物品名称“{text}”（物品 {name}）在第 {line} 行的物品 {other} 里已经有了：名称和别名在整个文件里不能重复"
)
NO_GARBAGE_SOURCES = "缺少“sources”：请写明分类依据（国家标准或城市分类指南的网址、标题、日期）"
# --- lists for staff: `faq stale`, `review`, `stats` -------------------------------------------
TO_VERIFY_HEADER = "待核实的条目（标了 verify，居民看不到这些说明）："
TO_VERIFY_LINE = "  {id}  {question}  待核实：{note}  {file}:{line}"
TO_VERIFY_SUMMARY = "共 {count} 个条目待核实：核实、改好后删掉 verify 这一行。"
