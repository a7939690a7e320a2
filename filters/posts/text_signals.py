"""Hashtags that say a post's image is AI-generated or protected (Glaze, Nightshade, NoAI).

Text is NFKC-normalised and lower-cased first, so `＃ＡＩart`, `#AIart` and `#aiart` match alike,
and half-width katakana (`#AIｲﾗｽﾄ`) matches its full-width form. Everything is a polars expression.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from curation.schema import with_bookkeeping
from curation.stage import reject_where

HASHTAG = r"#[\p{L}\p{M}\p{N}_]+"
AI_HASHTAGS = (
    r"ai(?:art|artwork|artworks|artist|artcommunity|generated|image|images|illustration|girl|anime)",
    r"ai(?:イラスト|絵|画像|美女|グラビア|美少女|生成)\w*",
    r"stable_?diffusion\w*",
    r"sdxl",
    r"midjourney\w*",
    r"niji_?journey",
    r"novel_?ai\w*",
    r"dall_?e\d?",
    r"comfyui",
    r"fluxai",
    r"flux1",
    r"aiart\w+",
    r"aigenerated\w*",
)
PROTECTION_HASHTAGS = (
    r"glaze",
    r"glazed",
    r"glazeproject",
    r"protectedbyglaze",
    r"webglaze",
    r"nightshade",
    r"nightshaded",
    r"noai",
    r"no_ai",
    r"noaiart",
    r"noaitraining",
    r"noaiwhatsoever",
    r"notoai",
    r"noaiplease",
    r"ai学習禁止",
    r"無断ai学習禁止",
    r"ai学習拒否",
    r"aiを学習禁止",
)


def tag_pattern(alternatives: tuple[str, ...]) -> str:
    return rf"^#(?:{'|'.join(alternatives)})$"


def hashtags(column: str = "text") -> pl.Expr:
    """The lower-cased, NFKC-normalised hashtags of `column`, as a list."""
    return pl.col(column).fill_null("").str.normalize("NFKC").str.to_lowercase().str.extract_all(HASHTAG)


def matching_hashtags(alternatives: tuple[str, ...], column: str = "text") -> pl.Expr:
    return hashtags(column).list.eval(
        pl.element().filter(pl.element().str.contains(tag_pattern(alternatives)))
    )


def ai_hashtags(column: str = "text") -> pl.Expr:
    return matching_hashtags(AI_HASHTAGS, column).alias("ai_hashtags")


def protection_hashtags(column: str = "text") -> pl.Expr:
    return matching_hashtags(PROTECTION_HASHTAGS, column).alias("protection_hashtags")


@dataclass
class TextSignals:
    """Add `ai_hashtags`/`protection_hashtags` (lists) and `ai_text_signal`/`protection_text_signal`;
    reject `ai_hashtag` and `protection_hashtag` rows unless told to keep them."""

    reject_ai: bool = True
    reject_protected: bool = True
    name: str = "text_signals"
    reads: tuple[str, ...] = ("text",)
    adds: tuple[str, ...] = ("ai_hashtags", "protection_hashtags", "ai_text_signal", "protection_text_signal")

    def __call__(self, batch: pl.DataFrame) -> pl.DataFrame:
        batch = (
            with_bookkeeping(batch)
            .with_columns(ai_hashtags(), protection_hashtags())
            .with_columns(
                (pl.col("ai_hashtags").list.len() > 0).alias("ai_text_signal"),
                (pl.col("protection_hashtags").list.len() > 0).alias("protection_text_signal"),
            )
        )
        if self.reject_protected:
            batch = reject_where(
                batch,
                pl.col("protection_text_signal"),
                "protection_hashtag",
                pl.col("protection_hashtags").list.join(" "),
            )
        if self.reject_ai:
            batch = reject_where(
                batch, pl.col("ai_text_signal"), "ai_hashtag", pl.col("ai_hashtags").list.join(" ")
            )
        return batch
