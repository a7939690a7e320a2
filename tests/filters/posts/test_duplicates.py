"""Posts split into input shards (runs of JSONL lines, Parquet row groups, one per file) give the rows
of the whole reader, and repeated posts are rejected the same way however the input is split."""

import json
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pytest

from curation.engine import run
from curation.shards import plan_shards
from curation.stage import reject_where
from filters.posts import DuplicatePosts, read_posts
from tests.outputs import rows as run_rows


def post(post_id: str, likes: int = 10, images: int = 1) -> dict:
    return {"post_id": post_id, "author": "a", "text": f"post {post_id}", "like_count": likes,
            "image_urls": [f"http://h/{post_id}-{i}.png" for i in range(images)]}


def api_page(*ids: str) -> dict:
    return {"data": [{"id": i, "text": "page", "attachments": {"media_keys": [f"k{i}"]}} for i in ids],
            "includes": {"media": [{"media_key": f"k{i}", "type": "photo", "url": f"http://h/{i}.jpg"}
                                   for i in ids]}}


def posts_jsonl(path: Path) -> Path:
    """14 lines: repeats far apart (line 2 and line 10, so that "…:10" < "…:2" as text), a repeat
    inside one API page, a bad line, a blank line and a post without images."""
    lines = [post("1"), post("2", images=2), post("3"), post("4"), post("5"), "{not json", post("6"),
             "", api_page("7", "8", "7"), post("9"), post("3", likes=99), {"post_id": "10"}, post("2"),
             post("11")]
    path.write_text("\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines) + "\n")
    return path


@dataclass
class FewLikes:
    name: str = "few_likes"
    reads: tuple[str, ...] = ("like_count",)
    adds: tuple[str, ...] = ()

    def __call__(self, batch: pl.DataFrame) -> pl.DataFrame:
        return reject_where(batch, pl.col("like_count") > 50, "too_many_likes")


def rows(out: Path, part: str) -> pl.DataFrame:
    return run_rows(out, part, order=["row_id", "source_file", "source_row"])


def whole(reader) -> pl.DataFrame:
    return pl.concat(list(reader.batches()), how="diagonal_relaxed")


def test_jsonl_posts_split_into_runs_of_lines_that_add_up_to_the_whole_file(tmp_path):
    reader = read_posts(posts_jsonl(tmp_path / "posts.jsonl"), batch_size=4)
    shards = plan_shards(reader, shard_rows=3)
    assert [(s.reader.lines.first_line, s.shard_id) for s in shards] == [
        (0, "s00000"), (3, "s00001"), (6, "s00002"), (9, "s00003"), (12, "s00004")]
    parts = pl.concat([s.read() for s in shards], how="diagonal_relaxed")
    assert parts.equals(whole(reader))
    assert parts.filter(pl.col("reject_reason") == "malformed_json")["row_id"].to_list() == ["posts.jsonl:5"]


def test_parquet_posts_split_by_row_groups_and_files(tmp_path):
    folder = tmp_path / "posts"
    folder.mkdir()
    pl.DataFrame([post(str(i)) for i in range(20)]).write_parquet(folder / "a.parquet", row_group_size=4)
    pl.DataFrame([post("3"), post("30")]).write_parquet(folder / "b.parquet")
    reader = read_posts(folder, batch_size=5)
    shards = plan_shards(reader, shard_rows=8)
    assert [(s.reader.path.name, s.reader.row_groups) for s in shards] == [
        ("a.parquet", (0, 1)), ("a.parquet", (2, 3)), ("a.parquet", (4,)), ("b.parquet", (0,))]
    assert pl.concat([s.read() for s in shards], how="diagonal_relaxed").equals(whole(reader))

    run(reader, [DuplicatePosts.scan(reader)], tmp_path / "out", progress=False, shard_rows=8, workers=2)
    repeated = rows(tmp_path / "out", "rejected")
    assert repeated.select("row_id", "source_file", "reject_reason").rows() == [
        ("3/0", str(folder / "b.parquet"), "duplicate_post")]


def test_many_shards_on_two_workers_give_the_rows_of_one_shard(tmp_path):
    reader = read_posts(posts_jsonl(tmp_path / "posts.jsonl"), batch_size=4)
    duplicates = DuplicatePosts.scan(reader)
    assert duplicates.repeated == 3  # 3/0, 2/0 and 7/0
    one = run(reader, [duplicates, FewLikes()], tmp_path / "one", progress=False, shard_rows=1_000)
    many = run(reader, [duplicates, FewLikes()], tmp_path / "many", progress=False, shard_rows=2, workers=2)

    assert len(list((tmp_path / "many" / "_state" / "shards").glob("*.json"))) == 7
    for part in ("kept", "rejected"):
        assert rows(tmp_path / "many", part).equals(rows(tmp_path / "one", part)), part
    assert many.to_dict()["stages"] == one.to_dict()["stages"] and many.balanced
    rejected = rows(tmp_path / "many", "rejected").filter(pl.col("reject_stage") == "duplicates")
    assert rejected.select("row_id", "source_row").sort("source_row").rows() == [
        ("7/0", 8), ("3/0", 10), ("2/0", 12)]
    kept = rows(tmp_path / "many", "kept")
    assert kept.filter(pl.col("post_id") == "3")["source_row"].to_list() == [2]
    assert kept.filter(pl.col("post_id") == "2")["row_id"].to_list() == ["2/0", "2/1"]
    assert kept.filter(pl.col("post_id") == "7").height == 1


def test_a_repeated_post_is_rejected_before_later_stages_see_it(tmp_path):
    """The copy of post 3 on line 10 has 99 likes; it goes as a duplicate, not as `too_many_likes`."""
    reader = read_posts(posts_jsonl(tmp_path / "posts.jsonl"))
    run(reader, [DuplicatePosts.scan(reader), FewLikes()], tmp_path / "out", progress=False)
    rejected = rows(tmp_path / "out", "rejected")
    assert rejected.filter(pl.col("reject_reason") == "too_many_likes").height == 0


@pytest.mark.parametrize("shard_rows", [1, 4, 100])
def test_csv_and_json_posts_stay_one_shard_per_file(tmp_path, shard_rows):
    pl.DataFrame([post("1"), post("1")]).drop("image_urls").with_columns(
        image_url=pl.lit("http://h/1.png")).write_csv(tmp_path / "posts.csv")
    (tmp_path / "posts.json").write_text(json.dumps([post("1"), post("1")]))
    for name in ("posts.csv", "posts.json"):
        reader = read_posts(tmp_path / name)
        assert len(plan_shards(reader, shard_rows)) == 1
        assert DuplicatePosts.scan(reader).repeated == 1


def test_many_shards_on_ray_give_the_rows_of_one_local_shard(tmp_path):
    ray = pytest.importorskip("ray")
    from curation.ray_engine import run_ray

    reader = read_posts(posts_jsonl(tmp_path / "posts.jsonl"), batch_size=4)
    stages = [DuplicatePosts.scan(reader), FewLikes()]
    one = run(reader, stages, tmp_path / "one", progress=False, shard_rows=1_000)
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    try:
        on_ray = run_ray(reader, stages, tmp_path / "ray", progress=False, shard_rows=2)
    finally:
        ray.shutdown()
    for part in ("kept", "rejected"):
        assert rows(tmp_path / "ray", part).equals(rows(tmp_path / "one", part)), part
    assert on_ray.to_dict()["stages"] == one.to_dict()["stages"]
    assert on_ray.stage("duplicates").reasons == {"duplicate_post": 3}
