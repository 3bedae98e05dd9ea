# The two set-up commands: `make serve` (serves) and `make test` (tests). Everything else is a step of those.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
SOURCE ?= auto            # model source for `make model`: auto (download, else seeded) | zoo | seeded
MODEL := model_repository/densenet/1/model.onnx
PYTEST_ARGS ?=

.PHONY: help venv dev model serve test test-long lint format clean bench bench-preprocess

help:
	@echo "make serve   install, obtain the model, start Triton (CPU) on :8000/:8001/:8002"
	@echo "make test    install test tools and run every test (unit + end-to-end on a real server)"
	@echo "make model   (re)obtain the ONNX model: SOURCE=auto|zoo|seeded"
	@echo "make lint    ruff"

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(not (3, 10) <= sys.version_info[:2] <= (3, 12))' || \
		{ echo "Python 3.10-3.12 is needed (found $$($(PYTHON) --version)); pass PYTHON=python3.12"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip==26.3

# Stamps make the installs re-run only when the pins change.
$(VENV)/.serve: $(BIN)/python requirements/serve.txt requirements/constraints.txt pyproject.toml
	$(BIN)/pip install --quiet -c requirements/constraints.txt -r requirements/serve.txt
	$(BIN)/pip install --quiet --no-deps -e .
	@touch $@

$(VENV)/.dev: $(VENV)/.serve requirements/dev.txt
	$(BIN)/pip install --quiet -c requirements/constraints.txt -r requirements/dev.txt
	@touch $@

venv: $(VENV)/.serve
dev: $(VENV)/.dev

$(MODEL): | $(VENV)/.serve
	$(BIN)/densenet-build model --source $(strip $(SOURCE))

model: $(VENV)/.serve
	$(BIN)/densenet-build model --source $(strip $(SOURCE))

serve: $(VENV)/.serve $(MODEL)
	exec $(BIN)/densenet-serve

test: $(VENV)/.dev
	$(BIN)/ruff check --quiet .
	$(BIN)/ruff format --check --quiet .
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Full-length soak (10,000 requests) and fuzzing (20,000 examples per property).
test-long: $(VENV)/.dev
	LONG_TESTS=1 $(BIN)/python -m pytest -k "soak or fuzz" -s $(PYTEST_ARGS)

# The ensemble against the in-process ONNX Runtime limit; results in bench-results/.
bench: $(VENV)/.dev $(MODEL)
	$(BIN)/python tests/benchmarks/bench_ensemble.py $(BENCH_ARGS)

bench-preprocess: $(VENV)/.dev
	$(BIN)/python tests/benchmarks/bench_preprocess.py

lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) .cache .pytest_cache .ruff_cache
