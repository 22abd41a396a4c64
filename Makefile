# The project's verbs. `make run` and `make test` are the two set-up commands:
# each creates .venv and installs the pinned dependencies on first use.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
EXTRAS ?= training,dev
TICKER ?= AAPL

export TF_CPP_MIN_LOG_LEVEL ?= 2

.PHONY: setup run train export grpc-server test lint format clean

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --constraint constraints.txt --editable ".[$(EXTRAS)]"
	touch $@

# The main job on the embedded default: train on the bundled prices and print the evaluation.
run: setup
	$(BIN)/python -m training --ticker $(TICKER)

train: setup
	$(BIN)/python -m training --ticker $(TICKER) $(ARGS)

# Export the newest run of TICKER as the next version under models/<model>/.
export: setup
	$(BIN)/python -m export publish --ticker $(TICKER)

# TF Serving's gRPC API on :8500 over models/, for machines without Docker.
grpc-server: setup
	$(BIN)/python -m export.grpc_server --models-dir models --port 8500

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint
	$(BIN)/pytest

format: setup
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
