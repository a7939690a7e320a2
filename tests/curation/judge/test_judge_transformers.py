"""The local transformers back-end end to end, on a tiny random Llama saved to disk and loaded by path."""

import json

import polars as pl
import pytest
from conftest import poems_frame
from typer.testing import CliRunner

from curate.judge import app

WORDS = ["<unk>", "<pad>", "<eos>", "<user>", "<assistant>", "{", "}", '"score":', "4", ",", "poem", "moon",
         "the", "over", "water"]
CHAT_TEMPLATE = ("{% for m in messages %}<{{ m['role'] }}> {{ m['content'] }} {% endfor %}"
                 "{% if add_generation_prompt %}<assistant> {% endif %}")


@pytest.fixture(scope="module")
def tiny_model_dir(tmp_path_factory):
    torch = pytest.importorskip("torch")
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    backend = Tokenizer(models.WordLevel({word: i for i, word in enumerate(WORDS)}, unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=backend, unk_token="<unk>", pad_token="<pad>",
                                        eos_token="<eos>")
    tokenizer.chat_template = CHAT_TEMPLATE
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=len(WORDS), hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                         num_attention_heads=2, num_key_value_heads=1, pad_token_id=1, eos_token_id=2)
    directory = tmp_path_factory.mktemp("tiny-llama")
    LlamaForCausalLM(config).save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


def test_random_model_replies_come_out_as_failed_items_not_crashes(tiny_model_dir, tmp_path):
    poems_frame(5).write_parquet(tmp_path / "poems.parquet")
    (tmp_path / "t.txt").write_text("Rate 1-5 as JSON {{ \"score\": n }} : {poem}")
    args = ["score", str(tmp_path / "poems.parquet"), "--out", str(tmp_path / "out"),
            "--backend", "transformers", "--model", str(tiny_model_dir),
            "--template", str(tmp_path / "t.txt"), "--batch-size", "2", "--max-new-tokens", "6",
            "--no-progress"]

    result = CliRunner().invoke(app, args)

    assert result.exit_code == 3, result.output  # no poem scored
    scored = pl.read_parquet(tmp_path / "out" / "scored" / "*.parquet")
    summary = json.loads((tmp_path / "out" / "judge_summary.json").read_text())
    assert scored.height == 5 and scored["judge_status"].to_list() == ["failed"] * 5
    assert scored["aesthetic_score"].null_count() == 5
    assert scored["judge_failure_reason"].null_count() == 0
    assert summary["failed"] == 5 and summary["model"] == str(tiny_model_dir)


def test_a_model_without_chat_template_is_a_clear_error(tiny_model_dir, tmp_path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from curation.errors import CurationError
    from curation.judge.transformers_backend import TransformersJudge

    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    tokenizer.chat_template = None
    judge = TransformersJudge("tiny", model=AutoModelForCausalLM.from_pretrained(tiny_model_dir),
                              tokenizer=tokenizer)

    with pytest.raises(CurationError, match="no chat template"):
        judge.generate(["a poem"])
