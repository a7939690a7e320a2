import polars as pl

from curation.input_files import lines_sha256
from curation.readers import Reader, open_reader
from curation.shards import ShardState, plan_shards


def forms_folder(root, poems_per_form=5, forms=3):
    for form in range(forms):
        folder = root / "forms" / f"form{form}"
        folder.mkdir(parents=True)
        for poem in range(poems_per_form):
            (folder / f"Form{form}PoemsTitle{poem}PoembyAuthor.txt").write_text(f"poem {form} {poem}\n")
    return root


def test_forms_folder_splits_into_groups_of_files_in_a_fixed_order(tmp_path):
    reader = open_reader(forms_folder(tmp_path))
    shards = plan_shards(reader, shard_rows=4)
    assert [s.shard_id for s in shards] == ["s00000", "s00001", "s00002", "s00003"]
    assert [len(s.reader.files()) for s in shards] == [4, 4, 4, 3]
    whole = pl.concat(list(reader.batches()))
    assert pl.concat([s.read() for s in shards]).equals(whole)
    assert [s.reader.files() for s in plan_shards(reader, shard_rows=4)] == [s.reader.files() for s in shards]


def test_parquet_splits_by_row_groups_and_numbers_rows_as_the_whole_reader(tmp_path):
    frame = pl.DataFrame({"text": [f"line {i}" for i in range(100)]})
    frame.write_parquet(tmp_path / "a.parquet", row_group_size=10)
    frame.head(7).write_parquet(tmp_path / "b.parquet")
    reader = open_reader(tmp_path, batch_size=8)
    shards = plan_shards(reader, shard_rows=25)
    assert [s.reader.row_groups for s in shards] == [(0, 1, 2), (3, 4, 5), (6, 7, 8), (9,), (0,)]
    rows = pl.concat([s.read() for s in shards])
    assert rows.equals(pl.concat(list(reader.batches())))
    assert rows["row_id"].n_unique() == 107 and rows["row_id"][30] == "a.parquet:30"


def test_resuming_keeps_complete_shards_and_removes_leftovers(tmp_path):
    kept = tmp_path / "kept"
    state = ShardState(tmp_path)
    assert state.start("run-1", resume=True, output_dirs=[kept]) == {}
    kept.mkdir()
    (kept / "part-s00000.parquet").write_bytes(b"done")
    state.mark_complete({"shard": "s00000", "files": ["kept/part-s00000.parquet"],
                         "counts": [{"name": "read", "rows_in": 1, "kept": 1, "rejected": 0, "reasons": {}}]})
    (kept / "part-s00001.parquet").write_bytes(b"cut off before its marker")

    complete = ShardState(tmp_path).start("run-1", resume=True, output_dirs=[kept])
    assert list(complete) == ["s00000"]
    assert sorted(p.name for p in kept.iterdir()) == ["part-s00000.parquet"]

    assert ShardState(tmp_path).start("run-2", resume=True, output_dirs=[kept]) == {}
    assert not kept.exists()


def test_without_resume_a_run_starts_afresh(tmp_path):
    state = ShardState(tmp_path)
    state.start("run-1", resume=False, output_dirs=[])
    state.mark_complete({"shard": "s00000", "counts": [], "files": []})
    assert ShardState(tmp_path).start("run-1", resume=False, output_dirs=[]) == {}
    assert ShardState(tmp_path).complete() == {}


class NumberedLines(Reader):
    """A reader that cuts itself into one shard per `shard_rows` lines of its text file."""

    lines: range | None = None

    def batches(self):
        texts = self.path.read_text().splitlines()
        numbers = self.lines or range(len(texts))
        yield pl.DataFrame({"text": [texts[i] for i in numbers], "source_row": list(numbers)})

    def shards(self, shard_rows):
        count = len(self.path.read_text().splitlines())
        parts = []
        for start in range(0, count, shard_rows):
            part = self.restricted_to(self.path)
            part.lines = range(start, min(start + shard_rows, count))
            parts.append(part)
        return parts


def test_a_reader_that_splits_itself_gives_one_shard_per_part(tmp_path):
    path = tmp_path / "lines.txt"
    path.write_text("".join(f"line {i}\n" for i in range(7)))
    shards = plan_shards(NumberedLines(path), shard_rows=3)
    assert [(s.shard_id, s.reader.lines) for s in shards] == [
        ("s00000", range(0, 3)), ("s00001", range(3, 6)), ("s00002", range(6, 7))]
    assert pl.concat([s.read() for s in shards]).equals(pl.concat(list(NumberedLines(path).batches())))


def test_a_reader_that_does_not_split_is_one_shard(tmp_path):
    path = tmp_path / "poems.jsonl"
    path.write_text('{"text": "one"}\n{"text": "two"}\n')
    assert [s.reader for s in plan_shards(open_reader(path), shard_rows=1)] == [open_reader(path)]


def test_the_shards_hash_lines_make_the_hash_of_the_whole_input_however_it_is_cut(tmp_path):
    frame = pl.DataFrame({"text": [f"line {i}" for i in range(30)]})
    (tmp_path / "in" / "deeper").mkdir(parents=True)
    frame.write_parquet(tmp_path / "in" / "a.parquet", row_group_size=5)
    frame.head(3).write_parquet(tmp_path / "in" / "deeper" / "b.parquet")
    forms = forms_folder(tmp_path / "poems")
    for source in (tmp_path / "in", forms):
        reader = open_reader(source)
        for shard_rows in (1, 4, 1_000):
            lines = [line for s in plan_shards(reader, shard_rows) for line in s.hash_lines()]
            assert lines_sha256(lines) == reader.describe()["sha256"], (source, shard_rows)
    assert len(lines) == 15 and lines[0].startswith("forms/form0/Form0PoemsTitle0PoembyAuthor.txt:")
