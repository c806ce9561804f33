# The front door: `make demo` and `make test` are all a new user needs.
PYTHON ?= python3
TORCH_VERSION ?= 2.13.0
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION = 20

.PHONY: install demo test lint synth format clean bench

# make bench: IMDB's train split (25k reviews, split 80/20 here) when present beside the clone,
# else 25k synthetic warranty claims; BENCH_CONFIGS may add config/config.json (the blog's CNN:
# it takes the better part of an hour on two cores).
BENCH_DATA ?= ../shared/data/imdb/train.csv.gz
BENCH_CONFIGS ?= config/fast.json

install: $(STAMP)

# Re-runs only when the dependency list changes; torch goes first, pinned, so that the
# package's own `torch` range is already satisfied and pip pulls no CUDA build.
$(STAMP): pyproject.toml Makefile package.json package-lock.json
	@test -x $(BIN)/python || { echo "creating $(VENV) with $$($(PYTHON) --version)"; $(PYTHON) -m venv $(VENV); }
	@echo "installing torch==$(TORCH_VERSION) (CPU wheel on this machine)"
	@$(BIN)/pip install --quiet --disable-pip-version-check "torch==$(TORCH_VERSION)" 2>&1 | grep -v "is ignored" || true
	@echo "installing textbatch (editable) with its dev tools"
	@$(BIN)/pip install --quiet --disable-pip-version-check -e ".[dev,bench]" 2>&1 | grep -v "is ignored" || true
	@echo "installing the pinned AWS CDK CLI (npm ci)"
	@npm ci --no-audit --no-fund --silent
	@$(BIN)/python -c "import torch, spacy, textbatch, textbatch_trigger, textbatch_reporter, aws_cdk" || { echo "install failed"; exit 1; }
	@touch $(STAMP)
	@echo "ready: $(BIN)/textbatch ($$($(BIN)/python -c 'import torch, spacy; print("torch", torch.__version__, "spacy", spacy.__version__)'))"

demo: install
	$(BIN)/textbatch demo

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# The pinned CLI synthesizes every stage offline, with no credentials (cdk-nag runs inside).
synth: install
	@for stage in dev prod; do \
		echo "cdk synth -c stage=$$stage"; \
		npx cdk synth -c stage=$$stage --quiet -o cdk.out/$$stage || exit 1; \
	done

# The end-to-end suite runs against a real LocalStack (its own Python 3.13 venv, see
# scripts/localstack.sh), stopped whatever happens; without it the same tests use moto alone.
test: lint synth
	@scripts/localstack.sh start
	@trap 'scripts/localstack.sh stop' EXIT; \
		TEXTBATCH_E2E_ENDPOINT=http://127.0.0.1:4566 $(BIN)/python -m pytest

bench: install
	@if [ -f "$(BENCH_DATA)" ]; then data="$(BENCH_DATA)"; else \
		echo "$(BENCH_DATA) not found: benchmarking on synthetic warranty claims"; \
		data=bench-output/claims.csv; mkdir -p bench-output; \
		$(BIN)/textbatch sample-data --rows 25000 --seed 7 --out $$data >/dev/null; fi; \
	$(BIN)/textbatch bench --data $$data $(foreach c,$(BENCH_CONFIGS),--config $(c)) --workdir bench-output

clean:
	scripts/localstack.sh stop
	rm -rf $(VENV) node_modules cdk.out .localstack bench-output .pytest_cache .ruff_cache
