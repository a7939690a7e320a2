import polars as pl
import pytest

from filters.poems.english import EnglishFilter, unknown_words_expression
from filters.poems.english_zones import confident_expression
from filters.poems.lexicon import HashedLookup, english_forms


@pytest.fixture(scope="module")
def english() -> EnglishFilter:
    return EnglishFilter()


def decide(english: EnglishFilter, *texts: str) -> list[str | None]:
    return english(pl.DataFrame({"text": list(texts)}))["reject_reason"].to_list()


def test_english_poems_pass(english):
    assert decide(english, "Somewhile before the dawn I rose, and stept\nSoftly along the dim way",
                  "I knelt there; till your waking fingers crept About my head, and held it.") == [None, None]


@pytest.mark.parametrize("text", [
    "Ne vous étonnez pas, objets sacrés et doux, si quelqu'air de tristesse obscurcit mon visage.",
    "Nazakat husn se mashroot hoti gar zamane main, to ye muflis pre paker na bikte aane aane main.",
    "आज अपने ही खटकने लग गए रिश्ते नाज़ुक थे चटकने लग गए",
    "月朗星稀，泉边弄琴，酬诗友，谢知音",
    "ความรักคือสิ่งสวยงาม และเป็นความสุขของชีวิต",
    "Die son skyn helder oor die berge en die wind waai sag deur die bome.",
    "Ọmọ náà ń sùn lórí ibùsùn rẹ̀ ní alẹ́ yìí.",
    "12345 ... !!!",
])
def test_non_english_is_rejected(english, text):
    assert decide(english, text) == ["not_english"]


def test_scores_are_added_and_explained(english):
    out = english(pl.DataFrame({"text": ["Ne vous étonnez pas, objets sacrés et doux"]}))
    assert set(english.adds) <= set(out.columns)
    assert out["reject_detail"][0].startswith("share=")


def test_seed_share_rule_is_available_as_a_mode():
    seed = EnglishFilter(mode="share", min_share=0.8, min_zipf=2.55)
    out = seed(pl.DataFrame({"text": ["the cat sat on the mat", "le chat est sur le tapis ce soir"]}))
    assert out["reject_reason"].to_list() == [None, "not_english"]


def test_a_user_word_count_csv_can_be_the_lexicon(tmp_path):
    path = tmp_path / "words.csv"
    path.write_text("word,count\ncat,500000\nsat,400000\nthe,900000\non,800000\nmat,50\n")
    english = EnglishFilter(lexicon_csv=path, min_count=100_000, mode="share", min_share=0.8)
    out = english(pl.DataFrame({"text": ["the cat sat on the mat", "the mat mat mat"]}))
    assert out["english_share"].to_list() == pytest.approx([5 / 6, 1 / 4])


KHUSRO = ("Goree soye sej pe, mukh pe daare kes\nChal Khusro ghar aapne, rain bhayi chaudes\n"
          "Translation:\nOn bed the fair one is asleep,\nHer face her tresses cover;\n"
          "Go your home, O Khusro, now\nNight has fallen all over.")
REFRAIN = ("I sing that\nCanzone per lo spirito\nThat will wake up my spirit\n"
           "That was sleeping for so long\nCanzone per lo spirito\nHelps me to bring back the energy")


def test_a_poem_followed_by_its_translation_is_bilingual_and_rejected(english):
    out = english(pl.DataFrame({"text": [KHUSRO]}))
    assert out["foreign_run"][0] == 2 and out["foreign_line_share"][0] >= 0.15
    assert out["reject_reason"].to_list() == ["not_english"]


def test_a_foreign_refrain_between_english_lines_is_kept(english):
    out = english(pl.DataFrame({"text": [REFRAIN]}))
    assert out["foreign_run"][0] == 1
    assert out["reject_reason"].to_list() == [None]


def test_split_words_are_joined_back_before_counting(english):
    acrostic = "C-ouplet\nR-hyme\nI-s\nS-ent\nT-o\nE -xpress\nT-he\nA-crostic\nS-tyle"
    out = english(pl.DataFrame({"text": [acrostic, "environmental\nunaccountability's\nreprehensi ble"]}))
    lexicon_only = EnglishFilter(mode="share+evidence")(pl.DataFrame({"text": [acrostic]}))
    assert lexicon_only["word_count"][0] == 18 and lexicon_only["english_share"][0] < 0.8
    assert out["word_count"][0] < 18 and out["english_share"][0] == 1.0
    assert out["word_count"][1] == 3
    assert out["reject_reason"].to_list() == [None, None]


def test_ordinary_single_letters_are_not_joined(english):
    out = english(pl.DataFrame({"text": ["A is for apple\nB is for bear\nC is for cat\nD is for dog"]}))
    assert out["word_count"][0] == 16 and out["reject_reason"][0] is None


def test_the_second_opinion_is_asked_only_where_the_lexicon_is_weak(english):
    texts = ["The cat sat on the mat and looked at the birds in the garden.",   # confident
             "Il y a toujours au minimum un espace de travail.",  # every word in the English lexicon
             "Le chat est sur le tapis et regarde les oiseaux du jardin."]       # clearly French
    out = english(pl.DataFrame({"text": texts}))
    assert out["second_opinion"].to_list() == [None, 0.0, None]
    assert out["reject_reason"].to_list() == [None, "not_english", "not_english"]
    assert "second=0.0" in out["reject_detail"][1]


def test_a_short_english_poem_and_a_nonsense_refrain_stay(english):
    out = english(pl.DataFrame({"text": ["troublesomely riparian",
                                         "Higgledy - piggledy\nAlways goes she\nMind's preoccupyingly\n"
                                         "Beyond lock and key."]}))
    assert out["reject_reason"].to_list() == [None, None]


def test_archaic_spellings_count_only_when_asked():
    text = "Prometheus when firste frome heaven hye\nHe broughte downe fyre, ere then on earthe not seene"
    plain, archaic = EnglishFilter()(pl.DataFrame({"text": [text]})), EnglishFilter(archaic=True)(
        pl.DataFrame({"text": [text]}))
    assert archaic["english_share"][0] > plain["english_share"][0] + 0.2


def test_texts_of_up_to_five_words_are_judged_by_the_lexicon_alone(english):
    texts = ["Allegory\nAnt labor\nFind favor.",  # py3langid, too short to judge, said Latin
             "Es la version 100 !",               # every word in the English lexicon, evidence against
             "Il y a un espace"]
    out = english(pl.DataFrame({"text": texts}))
    assert out["word_count"].to_list() == [5, 3, 4]
    assert out["reject_reason"].to_list() == [None, "not_english", "not_english"]
    assert out["second_opinion"][0] is None and out["english_evidence"][1] < -1


def test_social_media_handles_are_not_words(english):
    out = english(pl.DataFrame({"text": ["Good boy @qzxkvbnmwpl @zzxqkvbmnw @xqzvkbnmwq"]}))
    assert out["word_count"][0] == 2 and out["reject_reason"][0] is None


def test_the_lexicon_set_holds_the_inflections_of_its_words():
    forms = english_forms(pl.Series(["cat", "go"]))
    assert {"cat", "cats", "go", "went", "gone"} <= set(forms.to_list())
    lookup = HashedLookup.of_words(forms)
    assert lookup.contains(pl.Series(["went", "chat", None])).to_list() == [True, False, False]


def test_english_with_words_no_list_knows_goes_to_the_second_opinion(english):
    """Coinages and names lower the share but carry no evidence against English (dev split)."""
    texts = ["He is a Bretwaldian Altostratus.", "Complex nonsolutions to simple nonproblems."]
    out = english(pl.DataFrame({"text": texts}))
    assert out["reject_reason"].to_list() == [None, None]
    assert out["english_share"].max() < 0.75 and out["not_foreign_share"].min() >= 0.8
    assert out["second_opinion"].to_list() == [1.0, 1.0]


def test_words_of_other_languages_keep_a_text_from_the_unknown_words_zone():
    scores = pl.DataFrame({"english_share": [0.6, 0.6, 0.6], "not_foreign_share": [0.9, 0.7, 0.9],
                           "english_evidence": [0.1, 0.1, -0.1]})
    assert scores.select(unknown_words_expression())["english_share"].to_list() == [True, False, False]


def test_old_spellings_no_list_knows_are_counted_for_the_unknown_words_zone(english):
    texts = pl.Series(["He broughte the firste fyre", "He is a Bretwaldian Altostratus"])
    assert english.old_spelling_share(texts).to_list() == [0.2, 0.0]  # "broughte"; "firste" is listed


def test_middle_english_is_no_text_of_unknown_words(english):
    chaucer = ("Almighty and al merciable queene,\nTo whom that al this world fleeth for socour,\n"
               "To have relees of sinne, of sorwe, and teene,\nGlorious virgine, of alle floures flour,")
    out = english(pl.DataFrame({"text": [chaucer]}))
    assert out["reject_reason"].to_list() == ["not_english"] and out["not_foreign_share"][0] < 0.8
    assert out["second_opinion"][0] < 0.75  # the sure zone asks; py3langid is sure of too few lines
    assert EnglishFilter(archaic=True)(pl.DataFrame({"text": [chaucer]}))["reject_reason"][0] is None


def test_names_many_languages_share_keep_a_text_of_english_words_confident(english):
    """Every word is in the lexicon; the names pull the evidence just below zero (dev split)."""
    text = "In Ireland, in Lebanon, in Palestine, in Berkeley, Patty Hearst..."
    out = english(pl.DataFrame({"text": [text]}))
    assert out["english_share"][0] == 1.0 and -0.1 < out["english_evidence"][0] < 0
    assert out["reject_reason"][0] is None and out["second_opinion"][0] is None  # the lexicon decided
    scores = pl.DataFrame({"english_share": [1.0, 1.0, 0.9], "english_evidence": [-0.05, -0.2, -0.05],
                           "foreign_run": [0, 0, 0],
                           "foreign_line_share": [0.0, 0.0, 0.0]})
    assert scores.select(confident_expression())["english_evidence"].to_list() == [True, False, False]


def test_a_weak_lexicon_case_is_kept_only_where_the_second_opinion_is_sure(english):
    """Half the words English, mild evidence against: py3langid must give English over half (dev split)."""
    texts = ["You k'n hide de fier, but w'at you gwine do wid de smoke?",    # eye dialect: English 0.58
             "Permetter a tschertas websites dad installar supplements.",   # Romansh: English on top, 0.17
             "This ae nighte, this ae nighte, Everye nighte and alle, Fire and sleet and candlelyte"]
    out = english(pl.DataFrame({"text": texts}))
    assert out["english_share"].max() < 0.75 and out["english_evidence"].min() > -0.6
    assert out["second_opinion"].to_list() == [1.0, 0.0, None]  # old spellings: Middle English
    assert out["reject_reason"].to_list() == [None, "not_english", "not_english"]
