"""Every code block in README.md is run by a test in tests/e2e, as a user runs it.

A block is either marked `<!-- block: NAME -->` and run by a test that calls `user.run("NAME")`, or
marked `<!-- text -->` (a folder layout, no command). The mapping, block -> test (a fixture name
where the block sets the scene for several tests):

    align-run: test_align_readme.py::test_align_run_writes_the_matrix_and_the_oriented_cycle_matrix
    benchmarks: test_benchmarks_readme.py::test_every_benchmark_line_runs_as_typed_with_help
    cluster: test_cluster_flow.py::test_a_job_on_a_running_cluster_keeps_the_same_rows
    cluster-one-machine: test_cluster_flow.py::test_local_processes_and_local_ray_keep_the_same_rows
    cluster-urls: test_cluster_flow.py::test_inputs_at_s3_and_hub_urls_keep_the_rows_of_the_local_files
    demo-likes: test_setup.py::test_make_demo_likes_ends_with_a_predicted_like_count
    english-benchmark: test_benchmarks_readme.py::test_the_english_benchmark_block_prints_its_table
    gpu-suite-smoke: test_gpu_suite_readme.py::test_the_smoke_suite_fills_every_key_and_states_its_skips
    library-cli: test_library_readme.py::cli_kept
    library-datasets: test_library_readme.py::test_datasets_map_keeps_what_the_cli_keeps
    library-datatrove: test_library_readme.py::test_datatrove_keeps_what_the_cli_keeps
    library-input: test_library_readme.py::cli_kept
    library-ray: test_library_readme.py::test_ray_data_keeps_what_the_cli_keeps
    likes-calibrate: test_posts_demo_flow.py::test_tail_calibration_is_saved_with_the_run
    likes-describe: test_posts_demo_flow.py::test_likes_describe_prints_the_error_table_and_saves_the_curves
    likes-prepare: test_likes_prepare_readme.py::test_prepare_then_train_on_the_copies
    likes-reward: test_posts_demo_flow.py::test_the_reward_is_differentiable_in_the_pixels
    likes-tiny: test_posts_demo_flow.py::tiny_model
    likes-train: test_posts_demo_flow.py::test_the_gpu_training_block_runs_with_a_tiny_backbone
    poems-build: test_poems_flow.py::test_build_against_the_reference_on_the_hub
    poems-build-public-domain: test_poems_flow.py::test_build_a_public_domain_licence
    poems-clean: test_poems_flow.py::test_clean_the_corpus_and_a_users_csv
    poems-publish: test_poems_flow.py::test_publish_to_the_hub
    poems-publish-offline: test_poems_flow.py::test_publish_to_a_local_hub_server
    poems-sample-representation: test_poems_flow.py::test_sample_by_representation
    poems-score: test_poems_flow.py::test_score_with_the_judge_on_port_8000
    poems-score-offline: test_poems_flow.py::test_score_offline_twice_sends_nothing_the_second_time
    posts: test_posts_flow.py::test_ingest_then_clean_a_users_posts
    posts-demo: test_posts_demo_flow.py::demo
    posts-fit-probe: test_posts_flow.py::test_fit_both_probes_on_labelled_folders
    posts-opt-out-demo: test_posts_demo_flow.py::test_a_host_that_opts_out_gives_no_image
    rank: test_rank_flow.py::ranked
    setup: test_setup.py::test_make_demo_loads_the_four_revisions_back_from_a_local_hub

`setup` also holds `make test`, which .ci/run runs. `english-benchmark` downloads its sources from
Debian and npm and runs under `-m slow`; `benchmarks` runs every line with `--help` (each
benchmark takes minutes to hours; their figures in the README come from full runs).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from tests.e2e.readme import readme_blocks, unmarked_blocks

E2E = Path(__file__).resolve().parent


def blocks_run_by_tests() -> dict[str, list[str]]:
    """README block name -> the tests (or fixtures) in tests/e2e whose body runs it."""
    runs: dict[str, list[str]] = {}
    for path in sorted(E2E.glob("test_*.py")):
        source = path.read_text(encoding="utf-8")
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.FunctionDef):
                for name in re.findall(r'\.run\("([a-z0-9-]+)"', ast.get_source_segment(source, node) or ""):
                    runs.setdefault(name, []).append(f"{path.name}::{node.name}")
    return runs


def test_every_readme_code_block_is_marked() -> None:
    assert unmarked_blocks() == []


def test_every_marked_block_is_run_by_a_test_and_every_run_names_a_block() -> None:
    blocks, runs = set(readme_blocks()), blocks_run_by_tests()
    assert sorted(blocks - set(runs)) == [], "README blocks that no test runs"
    assert sorted(set(runs) - blocks) == [], "tests that run a README block that no longer exists"


def test_the_mapping_above_lists_every_block() -> None:
    listed = re.findall(r"^    ([a-z0-9-]+): test_\w+\.py::", __doc__ or "", flags=re.M)
    assert sorted(listed) == sorted(readme_blocks())
