# Set-up and the main jobs. `make demo` and `make test` work on a fresh machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: venv demo demo-likes test lint bench clean gpu-check

$(STAMP): pyproject.toml constraints.txt scripts/fix_torchvision_cpu.py
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -c constraints.txt -e ".[all]"
	$(BIN)/python scripts/fix_torchvision_cpu.py
	touch $(STAMP)

venv: $(STAMP)

# The poems job end to end on the shipped public-domain sample: clean, (score,) build, publish to a
# local Hub server, load back. Score too with: make demo JUDGE_URL=http://HOST:PORT/v1 JUDGE_MODEL=NAME
demo: $(STAMP)
	$(BIN)/python scripts/demo.py --out out/demo

# The like-regressor path on synthetic posts, a tiny random backbone and CPU: posts -> posts clean ->
# likes train -> evaluate + export -> score; ends with a predicted like count (scripts/demo_likes.py).
# Smaller: make demo-likes DEMO_LIKES_ARGS='--posts 30 --test-posts 12 --steps 2'
demo-likes: $(STAMP)
	$(BIN)/python scripts/demo_likes.py --out out/demo-likes $(DEMO_LIKES_ARGS)

# Test files run in TEST_WORKERS processes (pytest-xdist; a file's tests stay in one process), then
# the `cluster` tests alone: `ray stop` stops every Ray instance on the machine, other tests' too.
TEST_WORKERS ?= 2
test: $(STAMP)
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile -m "not gpu and not slow and not cluster"
	$(BIN)/python -m pytest -q -m cluster

# ruff, then import-linter: dependencies point one way (the contracts are in pyproject.toml).
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports

bench: $(STAMP)
	$(BIN)/python benchmarks/poems.py

clean:
	rm -rf out .pytest_cache

# Every GPU check in one command (benchmarks/gpu_suite.py), on the lent GPU machine as it is: its own
# python3, the missing packages unpacked from .whl/gpu-site.tar.xz (built here by scripts/gpu_wheelhouse.sh
# and carried). Results: $(GPU_OUT)/<date>-<gpu>.json and .md. Without a GPU: `... gpu_suite.py --smoke`.
GPU_OUT  ?= benchmarks/results
GPU_SITE ?= /tmp/gpu-site
gpu-check:
	if [ -f .whl/gpu-site.tar.xz ]; then $(PYTHON) -c "import tarfile; \
	  tarfile.open('.whl/gpu-site.tar.xz').extractall('$(GPU_SITE)', filter='data')"; fi
	PYTHONPATH=$(GPU_SITE):$(CURDIR) PYTHONUNBUFFERED=1 $(PYTHON) benchmarks/gpu_suite.py --out $(GPU_OUT)
