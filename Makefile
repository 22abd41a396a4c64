# The project's verbs. `make run` and `make test` are the two set-up commands:
# each creates .venv and installs the pinned dependencies on first use.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
EXTRAS ?= training,facade,loadtest,dev
TICKER ?= AAPL

export TF_CPP_MIN_LOG_LEVEL ?= 2

.PHONY: setup run serve train export grpc-server loadtest protos test lint format clean

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --constraint constraints.txt --editable ".[$(EXTRAS)]"
	touch $@

# The admin token of `make run`/`make serve`: generated once (256 bits) into var/admin-token, readable only by
# you; `make run FACADE_ADMIN_TOKEN=...` uses yours instead. A weak one is refused in production.
ADMIN_TOKEN_FILE := var/admin-token
# Read by the recipe's shell, never written on a command line (where `ps` would show it to every user).
ADMIN_TOKEN_SH = $${FACADE_ADMIN_TOKEN:-$$(cat $(ADMIN_TOKEN_FILE))}

$(ADMIN_TOKEN_FILE):
	@mkdir -p $(dir $@)
	@umask 077 && $(PYTHON) -c 'import secrets; print(secrets.token_urlsafe(32))' > $@

# The main job on the embedded default: train on the bundled prices (printing the evaluation),
# publish the run as the next model version, and serve the facade on http://127.0.0.1:8000.
run: setup $(ADMIN_TOKEN_FILE)
	$(BIN)/python -m training --ticker $(TICKER)
	$(BIN)/python -m export publish --ticker $(TICKER)
	@FACADE_ADMIN_TOKEN="$(ADMIN_TOKEN_SH)"; echo "admin token: $$FACADE_ADMIN_TOKEN (kept in $(ADMIN_TOKEN_FILE))"
	@FACADE_ADMIN_TOKEN="$(ADMIN_TOKEN_SH)" exec $(BIN)/python -m facade

serve: setup $(ADMIN_TOKEN_FILE)
	@FACADE_ADMIN_TOKEN="$(ADMIN_TOKEN_SH)"; echo "admin token: $$FACADE_ADMIN_TOKEN (kept in $(ADMIN_TOKEN_FILE))"
	@FACADE_ADMIN_TOKEN="$(ADMIN_TOKEN_SH)" exec $(BIN)/python -m facade

train: setup
	$(BIN)/python -m training --ticker $(TICKER) $(ARGS)

# Export the newest run of TICKER as the next version under models/<model>/.
export: setup
	$(BIN)/python -m export publish --ticker $(TICKER)

# TF Serving's gRPC API on :8500 over models/, for machines without Docker.
grpc-server: setup
	$(BIN)/python -m modelserver --models-dir models --port 8500

# The benchmark scenarios headless (Locust, baseline, ceiling; see docs/benchmarks.md). ARGS="--duration 20" etc.
loadtest: setup
	$(BIN)/python -m loadtest.run $(ARGS)

# Regenerate the facade's light gRPC messages (grpcio-tools is pinned with protobuf in constraints.txt).
protos: setup
	$(BIN)/python -m grpc_tools.protoc -Ifacade/protos --python_out=facade/protos --pyi_out=facade/protos \
		facade/protos/tfs_lite.proto

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
