"""`make demo-likes` (scripts/demo_likes.py), small: every step runs as a subprocess from its own
folder and the demo ends with a predicted like count. Slow (six interpreter starts that import
torch); tests/trainers/test_posts_to_likes.py covers the same hand-off in-process."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_the_demo_ends_with_a_predicted_like_count(tmp_path):
    command = [sys.executable, str(REPO / "scripts" / "demo_likes.py"), "--out", str(tmp_path / "demo"),
               "--posts", "30", "--test-posts", "12", "--steps", "2"]
    result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    last = result.stdout.strip().splitlines()[-1]
    assert re.match(r"predicted likes for demo/new/photo\.jpg: [\d,]+ \(score", last), last
    assert (tmp_path / "demo" / "model" / "model.safetensors").is_file()
    assert "$ cd demo/sample && curate posts clean posts.jsonl --out ../clean --no-models" in result.stdout
