import polars as pl

from filters.posts.text_signals import TextSignals, ai_hashtags, hashtags, protection_hashtags

POSTS = {
    "new piece! #AIart #stablediffusion": (["#aiart", "#stablediffusion"], []),
    "オリジナル #AIイラスト #AIイラスト好きさんと繋がりたい": (
        ["#aiイラスト", "#aiイラスト好きさんと繋がりたい"],
        [],
    ),
    "full width ＃ＡＩａｒｔ and half-width #AIｲﾗｽﾄ": (["#aiart", "#aiイラスト"], []),
    "made with #Midjourney v6 / #NovelAI": (["#midjourney", "#novelai"], []),
    "my painting, please respect it #NoAI #Glaze": ([], ["#noai", "#glaze"]),
    "#nightshade applied ＃ＮＯＡＩ": ([], ["#nightshade", "#noai"]),
    "#AI学習禁止 オリジナルイラスト": ([], ["#ai学習禁止"]),
    "watercolour study #art #illustration #aiko #glazes": ([], []),
    "": ([], []),
}


def test_hashtags_are_matched_case_and_width_insensitively():
    frame = pl.DataFrame({"text": list(POSTS)}).select(ai_hashtags(), protection_hashtags())
    assert list(
        zip(frame["ai_hashtags"].to_list(), frame["protection_hashtags"].to_list(), strict=True)
    ) == list(POSTS.values())


def test_hashtags_are_normalised():
    tags = pl.DataFrame({"text": ["Ｈｅｌｌｏ ＃ＡＲＴ #Sketch"]}).select(hashtags())["text"][0].to_list()
    assert tags == ["#art", "#sketch"]


def test_stage_rejects_protected_then_ai_posts_and_can_keep_them():
    batch = pl.DataFrame({"text": ["#AIart and #noai", "#aiart", "a dog", None]})
    out = TextSignals()(batch)
    assert out["reject_reason"].to_list() == ["protection_hashtag", "ai_hashtag", None, None]
    assert out["ai_text_signal"].to_list() == [True, True, False, False]
    assert out["reject_detail"][0] == "#noai"
    kept = TextSignals(reject_ai=False, reject_protected=False)(batch)
    assert kept["reject_reason"].null_count() == 4 and kept["protection_text_signal"].to_list()[0]
