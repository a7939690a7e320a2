"""Judge throughput and memory against the local chat server in a separate process.

    .venv/bin/python benchmarks/judge.py                 # 20,000 poems, 50 ms latency, concurrency 32
    .venv/bin/python benchmarks/judge.py --poems 2000    # quicker
    .venv/bin/python benchmarks/judge.py --failures      # the command on 100 poems vs broken endpoints

The ceiling is concurrency / latency requests per second (32 / 0.05 = 640); the target is 80% of it.
Memory is the client's resident set size, sampled as results arrive: it should stay flat.
`--failures` times the whole command (a fresh process, as a user runs it, default settings unless
`--timeout` is given) against a closed port, a server that drops every connection, one that never
answers (noticed after the request timeout, 60 s by default) and one that answers 500 to everything.
The goal: a closed port stops the run, exit code 4 and one error line, in under 15 s.
"""

from __future__ import annotations

import argparse
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import polars as pl
import psutil
from rich.console import Console
from rich.table import Table

from curation.judge.openai_backend import OpenAIConfig, OpenAIJudge
from curation.judge.prompt import PromptTemplate
from curation.judge.result import Judgement
from curation.judge.runner import score_poems
from curation.judge.store import JudgeStore

WORDS = ["moon", "river", "ember", "hollow", "sparrow", "winter", "lantern", "salt", "orchard", "thunder",
         "velvet", "ash", "meadow", "harbor", "glass", "tide", "marrow", "silver", "dusk", "bramble"]


def synthetic_poems(count: int) -> pl.DataFrame:
    """`count` distinct short poems of about 60 words each."""
    texts = ["\n".join(" ".join(WORDS[(i * 7 + line * 3 + word) % len(WORDS)] for word in range(12))
                       for line in range(5)) + f"\n-- {i}" for i in range(count)]
    return pl.DataFrame({"row_id": [str(i) for i in range(count)], "text": texts})


def start_server(latency: float, mode: str = "ok") -> tuple[subprocess.Popen, str]:
    command = [sys.executable, "-m", "curation.testing.chat_server", "--latency", str(latency),
               "--mode", mode]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    return server, server.stdout.readline().strip()


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}/v1"


def timed_command(command: list[str]) -> tuple[int, float, float, str]:
    """Exit code, wall seconds, CPU seconds of the child and its first stderr line."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True,
                            env={**os.environ, "OPENAI_API_KEY": "sk-bench"})
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return result.returncode, wall, cpu, (result.stderr.strip().splitlines() or [""])[0]


def failures(args: argparse.Namespace) -> None:
    """`curate poems score` against broken endpoints: exit code, wall and CPU time, first error line."""
    table = Table(title=f"curate poems score, {args.poems} poems, broken endpoints (fresh process each)")
    for column, justify in (("endpoint", "left"), ("exit", "right"), ("wall s", "right"), ("CPU s", "right"),
                            ("stderr, first line", "left")):
        table.add_column(column, justify=justify, no_wrap=True)
    score = [sys.executable, "-m", "curate", "poems", "score"]
    table.add_row("(start-up only: --help)", *_row(timed_command([*score, "--help"]), message=False))
    with tempfile.TemporaryDirectory() as tmp:
        synthetic_poems(args.poems).write_parquet(Path(tmp) / "poems.parquet")
        for name, mode in (("closed port", None), ("drops every connection", "drop"),
                           ("never answers", "hang"), ("HTTP 500 to everything", "all-500")):
            server, url = start_server(0.0, mode) if mode else (None, closed_port_url())
            options = ["--timeout", str(args.timeout)] if args.timeout else []
            try:
                command = [*score, str(Path(tmp) / "poems.parquet"), "--out", str(Path(tmp) / name),
                           "--base-url", url, "--model", "bench", "--no-progress", *options]
                table.add_row(name, *_row(timed_command(command)))
            finally:
                if server is not None:
                    server.terminate()
                    server.wait()
    Console(width=180).print(table)


def _row(measured: tuple[int, float, float, str], message: bool = True) -> list[str]:
    code, wall, cpu, line = measured
    shown = line[:110] + "…" if len(line) > 110 else line
    return [str(code), f"{wall:.1f}", f"{cpu:.1f}", shown if message else ""]


class MemorySampler:
    """Record the process RSS each time `every` results have arrived."""

    def __init__(self, every: int) -> None:
        self.every, self.seen, self.samples = every, 0, []
        self.process = psutil.Process()
        self.started = time.perf_counter()

    def __call__(self, judgement: Judgement) -> None:
        self.seen += 1
        if self.seen % self.every == 0:
            self.samples.append((self.seen, time.perf_counter() - self.started,
                                 self.process.memory_info().rss / 2**20))


class SampledJudge:
    """Wrap a judge so that each result also reaches the sampler."""

    def __init__(self, judge: OpenAIJudge, sampler: MemorySampler) -> None:
        self.inner, self.sampler, self.model = judge, sampler, judge.model

    def judge(self, requests, on_result) -> None:
        self.inner.judge(requests, lambda j: (on_result(j), self.sampler(j)))


class CpuClock:
    """CPU seconds used by this process (the client) and by the server process between start and stop."""

    def __init__(self, server_pid: int) -> None:
        self.processes = {"client": psutil.Process(), "server": psutil.Process(server_pid)}
        self.started = {name: self._cpu(p) for name, p in self.processes.items()}
        self.started["machine"] = self._machine_busy()
        self.used: dict[str, float] = {}

    @staticmethod
    def _cpu(process: psutil.Process) -> float:
        times = process.cpu_times()
        return times.user + times.system

    @staticmethod
    def _machine_busy() -> float:
        times = psutil.cpu_times()._asdict()
        return sum(times.get(name, 0.0) for name in ("user", "system", "nice", "irq", "softirq"))

    def stop(self) -> None:
        self.used = {name: self._cpu(p) - self.started[name] for name, p in self.processes.items()}
        machine = self._machine_busy() - self.started["machine"]
        self.used["others"] = max(0.0, machine - self.used["client"] - self.used["server"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--poems", type=int, default=20_000)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--failures", action="store_true", help="time the command against broken endpoints")
    parser.add_argument("--timeout", type=float, default=None, help="--timeout for --failures runs")
    args = parser.parse_args()
    if args.failures:
        failures(args)
        return
    poems = synthetic_poems(args.poems)
    server, base_url = start_server(args.latency)
    try:
        config = OpenAIConfig(base_url=base_url, model="bench", concurrency=args.concurrency, timeout=30)
        sampler = MemorySampler(every=max(1, args.poems // 10))
        cpu = CpuClock(server.pid)
        with tempfile.TemporaryDirectory() as tmp, JudgeStore(Path(tmp) / "store") as store:
            started = time.perf_counter()
            judge = SampledJudge(OpenAIJudge(config), sampler)
            run = score_poems(poems, judge, store, PromptTemplate.default())
            elapsed = time.perf_counter() - started
        cpu.stop()
    finally:
        server.terminate()
        server.wait()
    report(args, run.summary(), elapsed, sampler.samples, cpu)


def report(args: argparse.Namespace, summary: dict, elapsed: float, samples: list, cpu: CpuClock) -> None:
    ceiling = args.concurrency / args.latency
    rate = summary["requested_this_run"] / elapsed
    console = Console()
    table = Table(title=f"judge: {args.poems:,} poems, latency {args.latency * 1000:.0f} ms, "
                        f"concurrency {args.concurrency}")
    for column in ("results", "elapsed s", "RSS MiB"):
        table.add_column(column, justify="right")
    for seen, at, rss in samples:
        table.add_row(f"{seen:,}", f"{at:.1f}", f"{rss:.1f}")
    console.print(table)
    console.print(f"scored {summary['scored']:,}, failed {summary['failed']:,} in {elapsed:.1f} s: "
                  f"[bold]{rate:.0f} requests/s[/] = {rate / ceiling:.0%} of the {ceiling:.0f} req/s ceiling "
                  f"(target 80% = {0.8 * ceiling:.0f})")
    requests = max(1, summary["requested_this_run"])
    per_request = {name: cpu.used[name] / requests * 1000 for name in ("client", "server")}
    console.print(f"CPU per request: client {per_request['client']:.2f} ms, "
                  f"server {per_request['server']:.2f} ms "
                  f"(client alone can sustain at most {1000 / per_request['client']:.0f} req/s on one core; "
                  f"machine load average {psutil.getloadavg()[0]:.1f} on {psutil.cpu_count()} cores)")
    cores = psutil.cpu_count()
    console.print(f"CPU share of the machine's {cores} cores during the run: client "
                  f"{cpu.used['client'] / elapsed:.2f} cores, server {cpu.used['server'] / elapsed:.2f}, "
                  f"other processes {cpu.used['others'] / elapsed:.2f}")
    idle_bound = min(ceiling, 1000 / per_request["client"], cores * 1000 / sum(per_request.values()))
    console.print(f"CPU-bound projection with the machine to ourselves: {idle_bound:.0f} req/s "
                  f"({idle_bound / ceiling:.0%} of the ceiling)")


if __name__ == "__main__":
    main()
