import json

import polars as pl
from conftest import poems_frame
from typer.testing import CliRunner

from curate.judge import app
from curation.errors import InputError
from curation.judge.prompt import TemplateError
from curation.testing.chat_server import ChatServer, Reply


def test_score_writes_scored_parquet_and_a_summary(tmp_path):
    poems_frame(12).write_parquet(tmp_path / "kept-00000.parquet")
    text = poems_frame(12)["text"][0]
    with ChatServer(script={text: [Reply(content="no idea")]}) as server:
        result = CliRunner().invoke(app, ["score", str(tmp_path), "--out", str(tmp_path / "out"),
                                          "--base-url", server.base_url, "--model", "m", "--limit", "10",
                                          "--max-reasks", "0", "--no-progress"],
                                    env={"OPENAI_API_KEY": "sk-cli-secret"})

    assert result.exit_code == 1, result.output
    scored = pl.read_parquet(tmp_path / "out" / "scored" / "*.parquet")
    summary = json.loads((tmp_path / "out" / "judge_summary.json").read_text())
    assert scored.height == 10
    assert summary["scored"] == 9 and summary["failed_by_reason"] == {"no_json": 1}
    assert summary["model"] == "m" and "sk-cli-secret" not in json.dumps(summary) + result.output


def score(poems, out, server: ChatServer, *options: str):
    return CliRunner().invoke(app, ["score", str(poems), "--out", str(out), "--base-url", server.base_url,
                                    "--model", "m", "--no-progress", *options])


def test_score_reads_jsonl_and_csv_like_poems_clean(server, tmp_path):
    poems = poems_frame(3).rename({"row_id": "id"})
    poems.write_ndjson(tmp_path / "poems.jsonl")
    poems.write_csv(tmp_path / "poems.csv")

    for name in ("poems.jsonl", "poems.csv"):
        result = score(tmp_path / name, tmp_path / name.replace(".", "_"), server)
        assert result.exit_code == 0, result.output
        scored = pl.read_parquet(tmp_path / name.replace(".", "_") / "scored" / "*.parquet")
        assert scored["row_id"].to_list() == [f"{name}:{i}" for i in range(3)]
        assert scored["aesthetic_score"].null_count() == 0


def test_unreadable_and_empty_rows_are_set_aside_with_a_reason(server, tmp_path):
    (tmp_path / "poems.jsonl").write_text('{"text": "a poem"}\n{"text": "   "}\nnot json\n'
                                          '{"text": "another poem"}\n')

    result = score(tmp_path / "poems.jsonl", tmp_path / "out", server)

    assert result.exit_code == 0, result.output
    assert pl.read_parquet(tmp_path / "out" / "scored" / "*.parquet")["text"].to_list() == ["a poem",
                                                                                          "another poem"]
    rejected = pl.read_parquet(tmp_path / "out" / "rejected" / "*.parquet").sort("source_row")
    assert rejected["reject_reason"].to_list() == ["empty_text", "malformed_json"]
    assert rejected["reject_stage"].to_list() == ["read", "read"]
    assert json.loads((tmp_path / "out" / "judge_summary.json").read_text())["rejected_at_read"] == 2
    assert "2 unreadable or empty rows not scored" in result.output


def test_an_input_without_any_poem_is_one_clear_error(tmp_path):
    (tmp_path / "poems.jsonl").write_text('{"text": ""}\nnot json\n')

    result = CliRunner().invoke(app, ["score", str(tmp_path / "poems.jsonl"), "--out", str(tmp_path / "o")])

    assert isinstance(result.exception, InputError)
    assert "no row has a poem to score" in str(result.exception)


def test_a_clean_output_folder_scores_only_its_kept_poems(server, tmp_path):
    (tmp_path / "clean" / "kept").mkdir(parents=True)
    (tmp_path / "clean" / "rejected").mkdir()
    poems_frame(4).write_parquet(tmp_path / "clean" / "kept" / "part-00000.parquet")
    poems_frame(2, "rejected").write_parquet(tmp_path / "clean" / "rejected" / "english-00000.parquet")

    result = score(tmp_path / "clean", tmp_path / "out", server)

    assert result.exit_code == 0, result.output
    assert sum(server.counts.values()) == 4


def test_an_unknown_file_type_is_one_clear_error(tmp_path):
    (tmp_path / "poems.txt").write_text("a poem")

    result = CliRunner().invoke(app, ["score", str(tmp_path / "poems.txt"), "--out", str(tmp_path / "o")])

    assert isinstance(result.exception, InputError)
    assert "poems.txt: cannot read '.txt' files: give a Parquet, CSV or JSONL file" in str(result.exception)


def test_help_never_shows_the_api_key():
    result = CliRunner().invoke(app, ["score", "--help"], env={"OPENAI_API_KEY": "sk-help-secret"})

    assert result.exit_code == 0 and "--api-key" in result.output
    assert "sk-help-secret" not in result.output


def test_a_template_without_poem_placeholder_is_refused(tmp_path):
    poems_frame(2).write_parquet(tmp_path / "poems.parquet")
    (tmp_path / "t.txt").write_text("Rate it 1-5.")

    result = CliRunner().invoke(app, ["score", str(tmp_path / "poems.parquet"), "--out", str(tmp_path / "o"),
                                      "--template", str(tmp_path / "t.txt")])

    assert isinstance(result.exception, TemplateError)
    assert "no {poem} placeholder" in str(result.exception)


def test_agreement_reports_metrics_and_a_heatmap(tmp_path):
    judge = [1, 2, 3, 4, 5, 5, 3, 2, None]
    human = [1, 2, 3, 4, 4, 5, 2, 2, 3]
    schema = {"row_id": pl.String, "aesthetic_score": pl.Int8}
    pl.DataFrame({"row_id": [str(i) for i in range(9)], "aesthetic_score": judge},
                 schema=schema).write_parquet(tmp_path / "s.parquet")
    pl.DataFrame({"row_id": [str(i) for i in range(9)], "human_score": human}).write_csv(tmp_path / "h.csv")

    result = CliRunner().invoke(app, ["agreement", str(tmp_path / "s.parquet"), "--human",
                                      str(tmp_path / "h.csv"), "--out", str(tmp_path / "report")])

    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "report" / "agreement.json").read_text())
    assert report["n"] == 8 and report["judge_failed"] == 1
    assert report["exact_match"] == 6 / 8
    assert report["confusion_human_rows_judge_columns"][3] == [0, 0, 0, 1, 1]
    assert (tmp_path / "report" / "confusion.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_agreement_takes_the_score_output_folder_and_jsonl_ratings(server, tmp_path):
    poems_frame(6).write_parquet(tmp_path / "poems.parquet")
    assert score(tmp_path / "poems.parquet", tmp_path / "scores", server).exit_code == 0
    judged = pl.read_parquet(tmp_path / "scores" / "scored" / "*.parquet")
    judged.select("row_id", pl.col("aesthetic_score").alias("human_score")).write_ndjson(tmp_path / "h.jsonl")

    result = CliRunner().invoke(app, ["agreement", "--human", str(tmp_path / "h.jsonl"),
                                      str(tmp_path / "scores"), "--out", str(tmp_path / "report")])

    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "report" / "agreement.json").read_text())["exact_match"] == 1.0


def test_agreement_writes_beside_the_scores_by_default(server, tmp_path, monkeypatch):
    poems_frame(6).write_parquet(tmp_path / "poems.parquet")
    assert score(tmp_path / "poems.parquet", tmp_path / "scores", server).exit_code == 0
    judged = pl.read_parquet(tmp_path / "scores" / "scored" / "*.parquet")
    judged.select("row_id", pl.col("aesthetic_score").alias("human_score")).write_csv(tmp_path / "h.csv")
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")

    result = CliRunner().invoke(app, ["agreement", "--human", str(tmp_path / "h.csv"),
                                      str(tmp_path / "scores" / "scored")])

    assert result.exit_code == 0, result.output
    assert (tmp_path / "scores" / "agreement" / "agreement.json").is_file()
    assert not list((tmp_path / "elsewhere").iterdir())
