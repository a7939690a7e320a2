import pickle

import numpy as np
import polars as pl
import pytest
import torch

from curation.errors import CurationError
from curation.schema import with_bookkeeping
from filters.posts.embedding import ImageEmbedder, load_clip
from filters.posts.schema import embedding_matrix
from tests.filters.posts.clip_helpers import gradient, noisy_texture, save, tiny_clip_config


def tiny_embedder(**options) -> ImageEmbedder:
    return ImageEmbedder(tiny_clip_config(), pretrained=None, device="cpu", batch_size=4, **options)


@pytest.fixture
def images(tmp_path):
    rng = np.random.default_rng(1)
    picture = gradient(rng, (120, 200))
    return {
        "jpeg": save(picture, tmp_path / "a.jpg", quality=95),
        "png": save(picture, tmp_path / "a.png"),
        "grey": save(gradient(rng)[..., 0], tmp_path / "grey.jpg"),
        "noise": save(noisy_texture(rng), tmp_path / "noise.webp"),
        "truncated": _truncated(save(picture, tmp_path / "t.jpg"), tmp_path / "truncated.jpg"),
    }


def _truncated(source, target):
    target.write_bytes(source.read_bytes()[:200])
    return target


def posts(paths) -> pl.DataFrame:
    return with_bookkeeping(pl.DataFrame({"post_id": [str(i) for i in range(len(paths))],
                                          "image_path": [str(p) for p in paths]}))


def test_embedder_writes_unit_embeddings_hashes_and_noise_floors(images):
    out = tiny_embedder()(posts([images["jpeg"], images["png"], images["grey"], images["noise"]]))

    embeddings = embedding_matrix(out["clip_embedding"])
    assert embeddings.shape == (4, 128) and embeddings.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(embeddings, axis=1), 1.0, atol=1e-5)
    assert out["reject_reason"].null_count() == 4
    assert out["phash"].dtype == pl.UInt64
    assert out["protection_noise_floor"][3] > 10 * out["protection_noise_floor"][0]


def test_the_same_picture_as_jpeg_and_png_embeds_alike(images):
    embeddings = tiny_embedder().embed_files([images["jpeg"], images["png"], images["noise"]])

    assert embeddings[0] @ embeddings[1] > 0.99
    assert embeddings[0] @ embeddings[1] > embeddings[0] @ embeddings[2]


def test_unreadable_images_are_rejected_with_the_decoder_message(images, tmp_path):
    missing = tmp_path / "missing.jpg"
    out = tiny_embedder()(posts([images["jpeg"], images["truncated"], missing]))

    assert out["reject_reason"].to_list() == [None, "image_unreadable", "image_unreadable"]
    assert "FileNotFoundError" in out["reject_detail"][2]
    assert out["clip_embedding"].null_count() == 2


def test_embed_files_names_the_unreadable_file(images):
    with pytest.raises(CurationError, match="truncated.jpg"):
        tiny_embedder().embed_files([images["jpeg"], images["truncated"]])


def test_batches_of_any_size_give_the_same_embeddings(images):
    paths = [images["jpeg"], images["grey"], images["noise"]]
    one_at_a_time = ImageEmbedder(tiny_clip_config(), None, "cpu", batch_size=1).embed_files(paths)

    np.testing.assert_allclose(tiny_embedder().embed_files(paths), one_at_a_time, atol=1e-5)


def test_the_model_is_loaded_once_per_process_with_seeded_random_weights():
    first, second = tiny_embedder(), tiny_embedder(workers=2)

    assert first.bundle() is second.bundle() is load_clip(tiny_clip_config(), None, "cpu")
    assert first.identity == "tiny-clip-test/random-seed0"


def test_a_used_embedder_pickles_without_its_thread_pool(images):
    embedder = tiny_embedder()
    embedder.embed_files([images["jpeg"]])

    clone = pickle.loads(pickle.dumps(embedder))

    np.testing.assert_allclose(clone.embed_files([images["jpeg"]]), embedder.embed_files([images["jpeg"]]))


def test_purified_view_adds_an_embedding_shift(images):
    out = tiny_embedder(purified=True)(posts([images["jpeg"], images["noise"]]))

    shift = out["protection_shift"].to_numpy()
    assert ((shift >= -1e-5) & (shift <= 2)).all()
    assert shift[1] > shift[0]


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_gpu_jpeg_decoding_matches_the_cpu_pipeline(images):
    paths = [images["jpeg"], images["grey"], images["png"], images["noise"]]
    on_cpu = tiny_embedder().embed_files(paths)
    on_gpu = ImageEmbedder(tiny_clip_config(), None, "cuda", batch_size=4).embed_files(paths)

    assert (np.sum(on_cpu * on_gpu, axis=1) > 0.98).all()
