import json

from filters.posts import read_posts
from filters.posts.consent import ConsentPolicy
from filters.posts.model_stages import PostModelConfig
from filters.posts.pipeline import PostOptions, close_stages, post_stages
from tests.filters.posts.clip_helpers import tiny_clip_config

POSTS = [{"post_id": "1", "text": "my painting", "like_count": 10, "image_url": "http://127.0.0.1:9/a.jpg"},
         {"post_id": "1", "text": "my painting", "like_count": 10, "image_url": "http://127.0.0.1:9/a.jpg"},
         {"post_id": "2", "text": "a sketch", "like_count": 3, "image_url": "http://127.0.0.1:9/b.jpg"}]


def reader(tmp_path):
    path = tmp_path / "posts.jsonl"
    path.write_text("".join(json.dumps(post) + "\n" for post in POSTS))
    return read_posts(str(path), 100)


def test_the_recipe_orders_the_stages_and_adds_the_models_when_asked(tmp_path):
    options = PostOptions(tmp_path / "images", normalise="author", allow_networks=("127.0.0.1/32",))
    stages = post_stages(reader(tmp_path), options)
    assert [s.name for s in stages] == ["duplicates", "fetch", "decode", "engagement", "text_signals",
                                        "ai_metadata"]
    assert stages[3].reference is not None  # normalised against the unique posts, read once up front
    close_stages(stages)

    models = PostModelConfig(clip_model=tiny_clip_config(), clip_pretrained=None, device="cpu")
    with_models = post_stages(reader(tmp_path), PostOptions(tmp_path / "images", models=models))
    assert [s.name for s in with_models][6:] == ["embed", "artwork", "protection", "near_duplicates"]


def test_the_params_record_the_policy_and_the_models(tmp_path):
    options = PostOptions(tmp_path / "images", consent=ConsentPolicy(robots=False), max_mb=5.0)
    params = options.params()
    assert params["max_mb"] == 5.0 and params["models"] is None
    assert params["images_dir"] == str(tmp_path / "images")
    assert "robots" not in params["consent"]["honoured"] and params["consent"]["addresses"] == "public only"
    assert json.dumps(params)  # JSON as it is, for the manifest
