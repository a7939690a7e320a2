import json

import polars as pl
from conftest import poems_frame
from typer.testing import CliRunner

from curate.judge import app
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

    assert result.exit_code == 0, result.output
    scored = pl.read_parquet(tmp_path / "out" / "scored" / "*.parquet")
    summary = json.loads((tmp_path / "out" / "judge_summary.json").read_text())
    assert scored.height == 10
    assert summary["scored"] == 9 and summary["failed_by_reason"] == {"no_json": 1}
    assert summary["model"] == "m" and "sk-cli-secret" not in json.dumps(summary) + result.output


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
