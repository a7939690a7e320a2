"""`make demo-likes`: the like-regressor path from what the repository ships, on CPU, in minutes.

Every step is a `curate` command run as a user would run it, each from a working directory of its
own, so that nothing works only because of where it ran:

1. synthetic posts (`scripts/make_weratedogs_sample.py --synthetic`, no ../shared needed): a
   training sample and a held-out one, their images served by local image servers on free ports;
2. `curate posts clean` from each sample's folder, with `--out` in another folder (`--no-models`:
   the open_clip stages need downloaded weights);
3. `curate likes train` on the clean output as written (its `image_path` and `like_count` columns,
   no column options) with `--backbone tiny-siglip2`, a tiny random model built offline, and a
   CPU-sized run (`--max-steps`, `--num-workers 0`);
4. `curate likes evaluate` on the held-out posts, exporting the model (`--export-to`);
5. `curate likes score` on a new image, from a folder of its own.

It ends by printing the predicted like count of that image. The backbone is random, so the number
proves the path, not a model.

    python scripts/demo_likes.py --out out/demo-likes
"""

from __future__ import annotations

import argparse
import json
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

from curation.testing.image_server import ImageServer, synthetic_image

REPO = Path(__file__).resolve().parents[1]
MAKE_SAMPLE = REPO / "scripts" / "make_weratedogs_sample.py"


class Steps:
    """Runs commands from a folder under `root`, echoing them as a shell would, and times them."""

    def __init__(self, root: Path) -> None:
        self.root, self.times = root, []

    def run(self, name: str, command: list[str], cwd: Path, capture: bool = False) -> str:
        shown = " ".join(shlex.quote(part) for part in command)
        print(f"\n$ cd {cwd.relative_to(self.root.parent)} && {shown}", flush=True)
        executable = [sys.executable, "-m", "curate"] if command[0] == "curate" else [sys.executable]
        started = time.perf_counter()
        result = subprocess.run([*executable, *command[1:]], cwd=cwd, text=True,
                                stdout=subprocess.PIPE if capture else None)
        self.times.append((name, time.perf_counter() - started))
        if result.returncode != 0:
            sys.exit(f"demo-likes: step '{name}' failed (exit {result.returncode})")
        return result.stdout or ""

    def report(self) -> None:
        print("\nstep                 wall s")
        for name, seconds in self.times:
            print(f"{name:<20} {seconds:6.1f}")
        print(f"{'total':<20} {sum(s for _, s in self.times):6.1f}")


def make_posts(steps: Steps, folder: Path, posts: int, seed: int, server: ImageServer) -> None:
    command = ["python", str(MAKE_SAMPLE), "--synthetic", "--out", folder.name, "--posts", str(posts),
               "--seed", str(seed), "--base-url", server.base_url]
    steps.run(f"posts {folder.name}", command, folder.parent)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=REPO / "out" / "demo-likes", help="replaced if present")
    parser.add_argument("--posts", type=int, default=300, help="training posts")
    parser.add_argument("--test-posts", type=int, default=80, help="held-out posts")
    parser.add_argument("--steps", type=int, default=30, help="training steps")
    args = parser.parse_args()
    root = args.out.absolute()
    shutil.rmtree(root, ignore_errors=True)
    train_posts, test_posts, new = root / "sample", root / "sample-test", root / "new"
    for folder in (train_posts, test_posts, new):
        folder.mkdir(parents=True)
    steps = Steps(root)
    with (ImageServer(root=train_posts / "images") as train_server,
          ImageServer(root=test_posts / "images") as test_server):
        make_posts(steps, train_posts, args.posts, 0, train_server)
        make_posts(steps, test_posts, args.test_posts, 1, test_server)
        for folder, out in ((train_posts, "../clean"), (test_posts, "../clean-test")):
            # the demo's image servers are on 127.0.0.1, which untrusted post URLs may not reach
            clean = ["curate", "posts", "clean", "posts.jsonl", "--out", out, "--no-models",
                     "--allow-private-hosts", "127.0.0.1/32"]
            steps.run(f"clean {folder.name}", clean, folder)
    steps.run("train", ["curate", "likes", "train", "clean/kept", "--out", "runs/tiny", "--backbone",
                        "tiny-siglip2", "--max-steps", str(args.steps), "--num-workers", "0"], root)
    checkpoint = sorted((root / "runs" / "tiny" / "checkpoints").glob("step_*"))[-1]
    steps.run("evaluate + export", ["curate", "likes", "evaluate", "clean-test/kept",
                                    "--model", str(checkpoint.relative_to(root)), "--out", "eval",
                                    "--export-to", "model", "--num-workers", "0"], root)
    (new / "photo.jpg").write_bytes(synthetic_image(640, 480, seed=2024, fmt="JPEG"))
    scored = steps.run("score", ["curate", "likes", "score", "photo.jpg", "--model", "../model", "--json"],
                       new, capture=True)
    steps.report()
    result = json.loads(scored.splitlines()[-1])
    print(f"\npredicted likes for {new.relative_to(root.parent) / 'photo.jpg'}: {result['likes']:,.0f} "
          f"(score {result['score']:.2f}; a tiny random backbone: this proves the path, not a model)")


if __name__ == "__main__":
    main()
