import json

import numpy as np
import polars as pl
import pytest

from curation.errors import InputError
from curation.schema import with_bookkeeping
from filters.posts.artwork import ArtworkClassifier, ArtworkPrompts
from filters.posts.embedding import ImageEmbedder
from tests.filters.posts.clip_helpers import gradient, noisy_texture, save, tiny_clip_config

CLASSES = ["finished_illustration", "rough_sketch", "game_screenshot", "photo", "meme", "text_screenshot",
           "comic_page", "3d_render"]


@pytest.fixture(scope="module")
def embedded(tmp_path_factory) -> pl.DataFrame:
    folder = tmp_path_factory.mktemp("art")
    rng = np.random.default_rng(3)
    paths = [save(gradient(rng) if i % 2 else noisy_texture(rng), folder / f"{i}.jpg") for i in range(8)]
    frame = with_bookkeeping(pl.DataFrame({"post_id": [str(i) for i in range(8)],
                                           "image_path": [str(p) for p in paths]}))
    return ImageEmbedder(tiny_clip_config(), None, "cpu", batch_size=8)(frame)


def classifier(**options) -> ArtworkClassifier:
    return ArtworkClassifier(tiny_clip_config(), None, "cpu", **options)


def test_default_prompts_cover_the_seed_classes():
    prompts = ArtworkPrompts.load()

    assert list(prompts.classes) == CLASSES
    assert prompts.keep == {"finished_illustration", "comic_page", "3d_render"}


def test_zero_shot_classes_scores_and_reasons_agree(embedded):
    stage = classifier()
    out = stage(embedded)

    probabilities = stage.probabilities(np.stack(embedded["clip_embedding"].to_numpy()))
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
    assert set(out["artwork_class"]) <= set(CLASSES)
    keep = out["artwork_class"].is_in(sorted(stage.prompts.keep))
    assert out.filter(keep)["reject_reason"].null_count() == keep.sum()
    for row in out.filter(~keep).iter_rows(named=True):
        assert row["reject_reason"] == f"not_artwork:{row['artwork_class']}"
    assert ((out["artwork_score"] >= 0) & (out["artwork_score"] <= 1)).all()


def test_keeping_every_class_rejects_nothing_and_scores_one(embedded):
    out = classifier(keep=CLASSES)(embedded)

    assert out["reject_reason"].null_count() == out.height
    np.testing.assert_allclose(out["artwork_score"].to_numpy(), 1.0, atol=1e-5)


def test_a_minimum_score_rejects_with_the_likeliest_other_class(embedded):
    first_class = classifier()(embedded)["artwork_class"][0]
    out = classifier(keep=[first_class], min_score=1.01)(embedded)

    assert out["reject_reason"].null_count() == 0
    assert not out["reject_reason"].str.ends_with(f":{first_class}").any()


def test_prompts_and_keep_classes_come_from_a_yaml_file(embedded, tmp_path):
    prompts = tmp_path / "prompts.yaml"
    prompts.write_text("keep: [art]\nclasses:\n  art: [a drawing, a painting]\n  other: [a photo]\n")

    out = classifier(prompts_path=prompts)(embedded)

    assert set(out["artwork_class"]) <= {"art", "other"}
    assert set(out["reject_reason"].drop_nulls()) <= {"not_artwork:other"}


def test_bad_prompt_files_name_the_file_and_the_problem(tmp_path):
    prompts = tmp_path / "prompts.json"
    prompts.write_text(json.dumps({"keep": ["painting"], "classes": {"photo": ["a photo"]}}))

    with pytest.raises(InputError, match=r"prompts.json.*unknown keep classes \['painting'\]"):
        ArtworkPrompts.load(prompts)
