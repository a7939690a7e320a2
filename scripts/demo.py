"""`make demo`: the poems job end to end, from what the repository ships (no ../shared, no network).

clean the public-domain sample (samples/poems) -> score it, if a judge endpoint is configured ->
build large / main / aligned_5 / aligned_s, length-aligned to the KJV Psalms (samples/reference)
-> publish them to a local Hub-compatible server started on a free port -> load each revision back
with `datasets.load_dataset(repo, revision=R)` and print what came back.

Every step is the `curate` command a user would type, run as a subprocess and echoed first.

    python scripts/demo.py --out out/demo
    python scripts/demo.py --out out/demo --judge-url http://127.0.0.1:8000/v1 --judge-model my-model
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

REPO = Path(__file__).resolve().parents[1]
POEMS = REPO / "samples" / "poems"
REFERENCE = REPO / "samples" / "reference" / "psalms-kjv.jsonl"
REPO_ID = "demo/poems"
REVISIONS = ("main", "large", "aligned_5", "aligned_s")
DEMO_TOKEN = "hf_localDemoToken"  # the local server accepts any token; never a real one
PUBLIC_DOMAIN = ["--license", "other", "--license-name", "public-domain",
                 "--license-link", "https://creativecommons.org/publicdomain/mark/1.0/",
                 "--copyright", "The poems and the reference Psalms are in the public domain (the poets died "
                 "before 1925; the King James Version dates from 1611).",
                 "--source", "386 public-domain poems from the Kaggle poems-by-form corpus and six written "
                 "out for the demo (samples/poems in the aesthetic-curation repository)",
                 "--pretty-name", "Public-domain poems (aesthetic-curation demo)"]
console = Console()


def curate(*args: str, env: dict[str, str] | None = None, ok: tuple[int, ...] = (0,)) -> None:
    """Run one `curate` command as a user would, echoing it first; stop the demo unless its exit code
    is in `ok`."""
    command = [sys.executable, "-m", "curate", *args]
    console.print(f"\n[bold]$ curate {shlex.join(args)}[/]", highlight=False)
    if subprocess.run(command, env=env).returncode not in ok:
        raise SystemExit(f"demo stopped: `curate {args[0]} {args[1]}` failed")


def score_or_explain(clean: Path, out: Path, judge_url: str | None, judge_model: str | None) -> list[str]:
    """Score the kept poems when a judge is configured; the build options that follow from it."""
    if not judge_url:
        console.print("\n[yellow]No judge configured, so `main` holds every kept poem (--main-rule all).[/] "
                      "To score with an OpenAI-compatible endpoint: make demo JUDGE_URL=http://HOST:PORT/v1 "
                      "JUDGE_MODEL=NAME (key in OPENAI_API_KEY).", highlight=False)
        return [str(clean), "--main-rule", "all"]
    scores = out / "scores"
    # exit 1: some poems failed (the summary says which); `main` then holds the ones scored
    curate("poems", "score", str(clean), "--out", str(scores), "--base-url", judge_url,
           "--model", judge_model or "default", "--no-progress", ok=(0, 1))
    return [str(scores)]


def publish_and_load(build: Path, out: Path) -> list[dict]:
    """Publish the build to a local Hub server on a free port, then load every revision back."""
    from curation.testing.hub_server import LocalHub

    hub_root = out / "hub"
    shutil.rmtree(hub_root, ignore_errors=True)
    with LocalHub(hub_root) as hub:
        console.print(f"\nlocal Hub server on {hub.endpoint} (files in {hub_root})", highlight=False)
        env = hub.client_env(out / "hf-home") | {"HF_TOKEN": DEMO_TOKEN}
        curate("poems", "publish", str(build), "--repo", REPO_ID, "--no-progress", env=env)
        loaded = subprocess.run([sys.executable, __file__, "--load-back", REPO_ID], env=env,
                                capture_output=True, text=True)
        if loaded.returncode != 0:
            raise SystemExit(f"demo stopped: loading the revisions back failed:\n{loaded.stderr}")
    return json.loads(loaded.stdout.strip().splitlines()[-1])


def load_back(repo_id: str) -> None:
    """(In a child process whose HF_ENDPOINT names the local server.) Print each revision's rows."""
    import datasets

    datasets.disable_progress_bars()
    rows = []
    for revision in REVISIONS:
        dataset = datasets.load_dataset(repo_id, revision=revision, split="train")
        rows.append({"revision": revision, "rows": dataset.num_rows, "columns": len(dataset.column_names)})
    print(json.dumps(rows))


def report(loaded: list[dict], build: Path, endpoint_note: str, seconds: float) -> None:
    table = Table(title=f"{REPO_ID} loaded back through datasets.load_dataset ({endpoint_note})")
    for column in ("revision", "rows", "columns", "card"):
        table.add_column(column, justify="right" if column in ("rows", "columns") else "left")
    for entry in loaded:
        card = build / entry["revision"] / "README.md"
        table.add_row(entry["revision"], f"{entry['rows']:,}", str(entry["columns"]), str(card))
    console.print()
    console.print(table)
    console.print(f"demo finished in {seconds:.0f} s", highlight=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("out/demo"))
    parser.add_argument("--judge-url", default=os.environ.get("JUDGE_URL") or None)
    parser.add_argument("--judge-model", default=os.environ.get("JUDGE_MODEL") or None)
    parser.add_argument("--load-back", metavar="REPO", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.load_back:
        return load_back(args.load_back)
    started, out = time.monotonic(), args.out.resolve()
    for step in ("clean", "scores", "build"):
        shutil.rmtree(out / step, ignore_errors=True)
    curate("poems", "clean", str(POEMS), "--out", str(out / "clean"))
    build_input = score_or_explain(out / "clean", out, args.judge_url, args.judge_model)
    curate("poems", "build", *build_input, "--reference", str(REFERENCE), "--out", str(out / "build"),
           "--card-repo-id", REPO_ID, *PUBLIC_DOMAIN, "--no-progress")
    loaded = publish_and_load(out / "build", out)
    report(loaded, out / "build", "a local Hub server, stopped again", time.monotonic() - started)


if __name__ == "__main__":
    main()
