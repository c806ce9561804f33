# The front door: `make demo` and `make test` are all a new user needs.
PYTHON ?= python3
TORCH_VERSION ?= 2.13.0
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test lint format clean

install: $(STAMP)

# Re-runs only when the dependency list changes; torch goes first, pinned, so that the
# package's own `torch` range is already satisfied and pip pulls no CUDA build.
$(STAMP): pyproject.toml Makefile
	@test -x $(BIN)/python || { echo "creating $(VENV) with $$($(PYTHON) --version)"; $(PYTHON) -m venv $(VENV); }
	@echo "installing torch==$(TORCH_VERSION) (CPU wheel on this machine)"
	@$(BIN)/pip install --quiet --disable-pip-version-check "torch==$(TORCH_VERSION)" 2>&1 | grep -v "is ignored" || true
	@echo "installing textbatch (editable) with its dev tools"
	@$(BIN)/pip install --quiet --disable-pip-version-check -e ".[dev]" 2>&1 | grep -v "is ignored" || true
	@$(BIN)/python -c "import torch, spacy, textbatch" || { echo "install failed"; exit 1; }
	@touch $(STAMP)
	@echo "ready: $(BIN)/textbatch ($$($(BIN)/python -c 'import torch, spacy; print("torch", torch.__version__, "spacy", spacy.__version__)'))"

demo: install
	$(BIN)/textbatch demo --workdir demo-output

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

test: lint
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) demo-output bench-output .pytest_cache .ruff_cache
