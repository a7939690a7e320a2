"""Inputs at fsspec URLs (`memory://`, `file://`; `s3://`, `hf://` alike) read, shard and run like the
same files at local paths: the same kept and rejected rows, with `source_file` naming the URL."""

import json
import pickle
from dataclasses import dataclass
from pathlib import Path

import fsspec
import polars as pl
import pytest

from curation.engine import run
from curation.errors import InputError
from curation.readers import open_reader
from curation.shards import plan_shards
from curation.stage import reject_where
from curation.writers import read_shards
from filters.poems import MarkDuplicates
from tests.outputs import rows as run_rows

TEXTS = ["a long enough line", "short", "another long line", "a long enough line", "tiny", "third long one"]


@dataclass
class ShortLines:
    name: str = "short_lines"
    reads: tuple[str, ...] = ("text",)
    adds: tuple[str, ...] = ()

    def __call__(self, batch: pl.DataFrame) -> pl.DataFrame:
        return reject_where(batch, pl.col("text").str.len_chars() < 8, "too_short")


STAGES = [ShortLines(), MarkDuplicates(drop_exact=True)]


def write_shards(folder: Path) -> Path:
    """Two Parquet files (one in a subfolder, row groups of 7) and two JSONL files, one with a bad line."""
    (folder / "sub").mkdir(parents=True)
    pl.DataFrame({"text": TEXTS * 6}).write_parquet(folder / "a.parquet", row_group_size=7)
    pl.DataFrame({"text": TEXTS[::-1]}).write_parquet(folder / "sub" / "b.parquet")
    pl.DataFrame({"text": TEXTS * 2}).write_ndjson(folder / "c.jsonl")
    (folder / "d.jsonl").write_text('{"text": "a long enough line"}\n{broken\n\n{"text": "last long line"}\n')
    return folder


def copy_to_memory(folder: Path, name: str) -> str:
    """The files of `folder` under `memory://<name>/` (fsspec's in-memory filesystem, this process only)."""
    memory = fsspec.filesystem("memory")
    for path in folder.rglob("*.*"):
        memory.pipe(f"/{name}/{path.relative_to(folder)}", path.read_bytes())
    return f"memory://{name}"


@pytest.fixture
def local_shards(tmp_path) -> Path:
    return write_shards(tmp_path / "in")


def rows(out: Path, part: str) -> pl.DataFrame:
    return run_rows(out, part, drop=["source_file"])  # a path or a URL, by input


def assert_same_rows(out: Path, reference: Path) -> None:
    for part in ("kept", "rejected"):
        assert rows(out, part).equals(rows(reference, part)), part


def clean(source: str | Path, out: Path, stages=STAGES, **options):
    return run(open_reader(source), stages, out, progress=False, shard_rows=10, **options)


def test_parquet_folder_and_glob_in_memory_split_and_run_like_local_files(local_shards, tmp_path):
    url = copy_to_memory(local_shards, f"{tmp_path.name}-parquet")
    local_shards_plan = plan_shards(open_reader(local_shards), shard_rows=10)
    for source in (url, f"{url}/**/*.parquet"):
        shards = plan_shards(open_reader(source), shard_rows=10)
        assert [(s.reader.path.name, s.reader.row_groups) for s in shards] == \
            [(s.reader.path.name, s.reader.row_groups) for s in local_shards_plan]

    reference = clean(local_shards, tmp_path / "local")
    in_memory = clean(url, tmp_path / "memory")
    assert_same_rows(tmp_path / "memory", tmp_path / "local")
    assert in_memory.to_dict()["stages"] == reference.to_dict()["stages"] and in_memory.balanced
    assert in_memory.inputs == [open_reader(url).describe(hash_content=False)]  # remote: sizes, versions
    assert reference.inputs == [open_reader(local_shards).describe()]
    long_rows = sum(len(t) >= 8 for t in TEXTS) * 7
    assert in_memory.stage("dedup").reasons == {"exact_duplicate": long_rows - 3}
    sources = {f for part in ("kept", "rejected")
               for f in read_shards(tmp_path / "memory" / part)["source_file"]}
    assert sources == {f"memory:///{tmp_path.name}-parquet/a.parquet",
                       f"memory:///{tmp_path.name}-parquet/sub/b.parquet"}


def test_a_jsonl_glob_is_one_shard_per_file_with_bad_lines_rejected(local_shards, tmp_path):
    url = copy_to_memory(local_shards, f"{tmp_path.name}-jsonl")
    reader = open_reader(f"{url}/*.jsonl")
    assert [s.reader.path.name for s in plan_shards(reader, shard_rows=10)] == ["c.jsonl", "d.jsonl"]

    manifest = clean(f"{url}/*.jsonl", tmp_path / "memory", [ShortLines()])
    for name in ("c.jsonl", "d.jsonl"):
        clean(local_shards / name, tmp_path / name, [ShortLines()])
    for part in ("kept", "rejected"):
        local = pl.concat([rows(tmp_path / n, part) for n in ("c.jsonl", "d.jsonl")], how="diagonal_relaxed")
        assert rows(tmp_path / "memory", part).equals(local.select(sorted(local.columns)).sort("row_id"))
    assert manifest.stage("read").reasons == {"malformed_json": 1} and manifest.rows_in == 12 + 3


def test_csv_at_a_url_reads_like_the_local_file(tmp_path):
    path = tmp_path / "poems.csv"
    path.write_bytes(b'id,text\n1,"a fine line"\n2,"bad \xff bytes"\n3,"too","many"\n4,"last line"\n')
    url = copy_to_memory(tmp_path, f"{tmp_path.name}-csv")
    clean(path, tmp_path / "local")
    clean(f"{url}/poems.csv", tmp_path / "memory")
    assert_same_rows(tmp_path / "memory", tmp_path / "local")
    assert rows(tmp_path / "memory", "rejected")["reject_reason"].sort().to_list() == [
        "malformed_row", "undecodable_bytes"]


def test_file_urls_in_two_worker_processes_match_the_local_path_run(local_shards, tmp_path):
    clean(local_shards, tmp_path / "local")
    on_workers = clean(local_shards.as_uri(), tmp_path / "workers", workers=2)
    assert_same_rows(tmp_path / "workers", tmp_path / "local")
    assert on_workers.balanced and on_workers.rows_in == 6 * 6 + 6


def test_a_reader_at_a_url_pickles_to_its_url_only(local_shards, tmp_path):
    url = copy_to_memory(local_shards, f"{tmp_path.name}-pickle")
    reader = open_reader(f"{url}/c.jsonl")
    again = pickle.loads(pickle.dumps(reader))
    assert again.path == reader.path and str(again.path) == f"{url}/c.jsonl"
    assert pl.concat(list(again.batches())).equals(pl.concat(list(reader.batches())))


def test_the_resume_fingerprint_follows_the_files_at_a_url(local_shards, tmp_path):
    url = copy_to_memory(local_shards, f"{tmp_path.name}-resume")
    listing = open_reader(url).describe(hash_content=False)
    assert open_reader(url).describe(hash_content=False) == listing
    assert open_reader(url).describe()["sha256"] == open_reader(url).describe()["sha256"]

    memory = fsspec.filesystem("memory")
    memory.pipe(f"/{tmp_path.name}-resume/sub/b.parquet", (local_shards / "a.parquet").read_bytes())
    changed = open_reader(url).describe(hash_content=False)
    assert changed["listing_sha256"] != listing["listing_sha256"] and changed["files"] == 2


def test_a_resumed_run_at_a_file_url_keeps_its_complete_shards(local_shards, tmp_path):
    first = clean(local_shards.as_uri(), tmp_path / "out", resume=True)
    kept = {p: p.stat().st_mtime_ns for p in (tmp_path / "out" / "_map" / "kept").glob("*.parquet")}
    again = clean(local_shards.as_uri(), tmp_path / "out", resume=True)
    assert {p: p.stat().st_mtime_ns for p in (tmp_path / "out" / "_map" / "kept").glob("*.parquet")} == kept
    assert again.to_dict()["stages"] == first.to_dict()["stages"]


@pytest.mark.parametrize("url, message", [
    ("memory://nowhere/poems.parquet", "no such file or folder"),
    ("memory://nowhere/*.parquet", "no files match this pattern"),
    ("notaprotocol://bucket/poems.parquet", "cannot open this URL"),
])
def test_missing_urls_and_unknown_filesystems_name_the_url(url, message):
    with pytest.raises(InputError, match=message) as error:
        open_reader(url)
    assert error.value.path == url


def test_a_corrupt_parquet_file_at_a_url_names_the_url(tmp_path):
    memory = fsspec.filesystem("memory")
    memory.pipe(f"/{tmp_path.name}/poems.parquet", b"PAR1 not really")
    url = f"memory://{tmp_path.name}/poems.parquet"
    with pytest.raises(InputError, match="not a readable Parquet file") as error:
        list(open_reader(url).batches())
    assert error.value.path == url


def test_hf_prefix_without_slashes_is_still_a_hugging_face_dataset():
    assert open_reader("hf:org/name").kind == "huggingface"


@pytest.fixture(scope="module")
def local_ray():
    ray = pytest.importorskip("ray")
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    yield
    ray.shutdown()


def test_file_urls_on_ray_match_the_local_path_run(local_ray, local_shards, tmp_path):
    from curation.ray_engine import run_ray

    reference = clean(local_shards, tmp_path / "local")
    on_ray = run_ray(open_reader(local_shards.as_uri()), STAGES, tmp_path / "ray", progress=False,
                     shard_rows=10)
    assert_same_rows(tmp_path / "ray", tmp_path / "local")
    assert on_ray.to_dict()["stages"] == reference.to_dict()["stages"] and on_ray.balanced


def test_curate_poems_clean_takes_a_url_glob(tmp_path):
    from typer.testing import CliRunner

    from curate import app

    (tmp_path / "in" / "sub").mkdir(parents=True)
    poems = pl.DataFrame({"text": ["The sea is calm tonight, the tide is full.", "Le ciel est bleu ce soir."],
                          "form": ["sonnet", "haiku"]})
    poems.write_parquet(tmp_path / "in" / "a.parquet")
    poems.write_parquet(tmp_path / "in" / "sub" / "b.parquet")
    url = f"{(tmp_path / 'in').as_uri()}/**/*.parquet"
    result = CliRunner().invoke(app, ["poems", "clean", url, "--out", str(tmp_path / "out"), "--json"])
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["inputs"][0]["path"] == url and manifest["inputs"][0]["files"] == 2
    assert read_shards(tmp_path / "out" / "kept")["source_file"].str.starts_with("file://").all()
    assert read_shards(tmp_path / "out" / "rejected")["reject_reason"].to_list() == ["not_english"] * 2
