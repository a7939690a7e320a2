"""One rank of a DDP training run (test_train_gpu.py starts two): `python ddp_worker.py CONFIG.json`."""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.gpu.test_train_gpu import run_config  # noqa: E402
from trainers.train import train  # noqa: E402

if __name__ == "__main__":
    options = json.loads(Path(sys.argv[1]).read_text())
    train(run_config(**options))
