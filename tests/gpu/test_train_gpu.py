"""Training on the GPU: bf16 autocast + fused AdamW + torch.compile resumes bit-identically; DDP with
two processes (gloo, both on the one GPU) follows the loss curve of one process at the same global batch.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from tests.gpu.conftest import write_posts
from trainers.losses import LossConfig
from trainers.model import RegressorConfig, tiny_backbone_config
from trainers.train import TrainConfig, train

pytestmark = pytest.mark.gpu
REPO = Path(__file__).resolve().parents[2]


def run_config(data: str, out: str, device: str, **options) -> TrainConfig:
    model = RegressorConfig(backbone="tiny-siglip", backbone_config=tiny_backbone_config("siglip"),
                            image_size=32, head="mlp", head_hidden=(16,), dropout=0.0)
    settings = dict(pretrained=False, batch_size=8, max_steps=4, lr=1e-3, warmup_steps=2, num_workers=0,
                    shuffle_buffer=0, log_every=1, checkpoint_every=2, init_head_bias=False,
                    loss=LossConfig("mse"), device=device, compile=device == "cuda")
    return TrainConfig(data=data, out_dir=Path(out), model=model, **{**settings, **options})


def weights(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}


def losses(folder: Path) -> list[float]:
    return [json.loads(line)["loss"] for line in (folder / "train_log.jsonl").read_text().splitlines()]


@pytest.fixture
def deterministic():
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.use_deterministic_algorithms(True, warn_only=True)
    yield
    torch.use_deterministic_algorithms(False)


def test_bf16_fused_compiled_training_resumes_bit_identically(tmp_path, device, deterministic):
    data = str(write_posts(tmp_path / "posts.parquet", rows=48, row_group_size=8))
    straight = train(run_config(data, str(tmp_path / "straight"), device, max_steps=6, shuffle_buffer=16))
    train(run_config(data, str(tmp_path / "split"), device, max_steps=3, checkpoint_every=3,
                     shuffle_buffer=16))
    resumed = train(run_config(data, str(tmp_path / "split"), device, max_steps=6, shuffle_buffer=16))
    assert resumed["step"] == 6
    a, b = weights(straight["model"]), weights(resumed["model"])
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a), [k for k in a if not torch.equal(a[k], b[k])]
    assert losses(tmp_path / "straight")[3:] == losses(tmp_path / "split")[3:]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_ddp_two_processes_follow_one_process_at_the_same_global_batch(tmp_path, device):
    # row groups of 4: rank r reads groups r, r+2, ...; its batch of 4 is one group, and the two ranks'
    # batch i together are the single process's batch i of 8 (shuffling off).
    data = str(write_posts(tmp_path / "posts.parquet", rows=32, row_group_size=4))
    single = train(run_config(data, str(tmp_path / "one"), device, batch_size=8, compile=False))
    options = tmp_path / "ddp.json"
    options.write_text(json.dumps({"data": data, "out": str(tmp_path / "two"), "device": device,
                                   "batch_size": 4, "compile": False, "dist_backend": "gloo"}))
    path = os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])  # the carried packages too
    env = {**os.environ, "WORLD_SIZE": "2", "LOCAL_RANK": "0", "MASTER_ADDR": "127.0.0.1",
           "MASTER_PORT": str(_free_port()), "PYTHONPATH": path}
    ranks = [subprocess.Popen([sys.executable, str(REPO / "tests" / "gpu" / "ddp_worker.py"), str(options)],
                              env={**env, "RANK": str(rank)}, cwd=REPO)
             for rank in range(2)]
    assert [process.wait(timeout=300) for process in ranks] == [0, 0]
    tolerance = 2e-2 if device == "cuda" else 1e-5  # bf16 autocast on half batches vs whole ones
    one, two = losses(tmp_path / "one"), losses(tmp_path / "two")
    assert len(one) == len(two) == 4
    assert two == pytest.approx(one, rel=tolerance)
    assert one[-1] != one[0]
    from safetensors.torch import load_file

    final = load_file(str(tmp_path / "two" / "checkpoints" / "step_0000004" / "model.safetensors"))
    reference = weights(single["model"])
    # Adam moves each weight by up to lr = 1e-3 a step; rounding differences stay far below that
    moved = torch.cat([(value - reference[name]).abs().flatten() for name, value in final.items()])
    assert moved.mean().item() < 1e-4
