"""Normalization steps, alone and as a pipeline."""

from servicebot.answering import text
from servicebot.answering.text import Normalizer


def test_width_folding_turns_full_width_into_ascii():
    assert text.fold_width("ＡＢＣ１２３？") == "ABC123?"


def test_traditional_is_converted_to_simplified():
    assert text.to_simplified("養老保險怎麼辦理") == "养老保险怎么办理"


def test_fillers_and_final_particles_are_removed():
    assert text.drop_fillers("请问一下低保怎么申请呢？") == "低保怎么申请？"
    assert text.drop_fillers("我想问问书屋开了吗") == "书屋开了"


def test_particles_inside_words_survive():
    assert text.drop_fillers("吧台在哪") == "吧台在哪"


def test_punctuation_emoji_and_spaces_are_dropped():
    assert text.keep_word_chars("低保？？😭 怎么 办！") == "低保怎么办"


def test_lone_digits_become_chinese_numerals_but_numbers_stay():
    assert text.spell_lone_digits("第7次人口普查") == "第七次人口普查"
    assert text.spell_lone_digits("12388") == "12388"


def test_synonyms_map_to_the_first_word_of_their_group():
    normalize = Normalizer([["书屋", "图书室", "阅览室"]])
    assert normalize("图书室在哪") == "书屋在哪"
    assert normalize("閱覽室在哪") == "书屋在哪"


def test_pipeline_folds_noisy_and_clean_forms_to_the_same_text():
    normalize = Normalizer()
    assert normalize("請問一下，養老保險怎麼辦理？🙏") == normalize("养老保险怎么办理")


def test_batch_normalization_matches_one_by_one():
    normalize = Normalizer([["低保", "最低生活保障"]])
    texts = ["最低生活保障吗？", "line\nbreak", "Ｗｉｆｉ 密码", "", "请问"]
    assert normalize.many(texts) == [normalize(t) for t in texts]


def test_explain_lists_every_step_in_order():
    trace = Normalizer().explain("養老保險？")
    assert [name for name, _ in trace] == [name for name, _ in Normalizer().steps]
    assert trace[-1][1] == "养老保险"


def test_sounds_fold_homophones_and_accent_confusions():
    assert text.sounds(["地"]) == text.sounds(["低"])
    assert text.sounds(["内"]) == text.sounds(["类"])  # n/l, common in Anhui
    assert text.sounds(["ab"]) == ["ab"]
