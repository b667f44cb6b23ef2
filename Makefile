# Set up and run the study. Everything installs into .venv.
#
# Which torch build goes into .venv:
#   TORCH_SPEC   the torch requirement handed to pip (default torch==2.13.0)
#   TORCH_INDEX  the wheel index it comes from (default: pip's configured index)
# From the public PyPI on Linux a plain `torch==X` is the CUDA build (several GB). Name the index:
#   CPU only:  make install TORCH_SPEC=torch==2.5.1 TORCH_INDEX=https://download.pytorch.org/whl/cpu
#   CUDA 12.4: make install TORCH_SPEC=torch==2.5.1 TORCH_INDEX=https://download.pytorch.org/whl/cu124
# A machine whose pip serves a local CPU wheel of torch 2.13.0 needs neither. Changing either
# variable later reinstalls torch on the next make: the torch stamp is named after both.
PYTHON ?= python3
VENV ?= .venv
TORCH_SPEC ?= torch==2.13.0
TORCH_INDEX ?=
CORES ?= all
SNAKEMAKE_ARGS ?=

BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TORCH_ID := $(shell printf '%s|%s' '$(TORCH_SPEC)' '$(TORCH_INDEX)' | cksum | cut -d' ' -f1)
TORCH_STAMP := $(VENV)/.torch-$(TORCH_ID)

.PHONY: run test install minkowski lint format clean benchmark browser readme

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --upgrade pip setuptools wheel

# One stamp per (TORCH_SPEC, TORCH_INDEX): a new pair has no stamp yet, so torch is reinstalled,
# and the other pairs' stamps go first so that switching back reinstalls too. The old torch is
# uninstalled because pip counts torch 2.5.1+cpu as satisfying torch==2.5.1 from a CUDA index.
$(TORCH_STAMP): | $(BIN)/python
	rm -f $(VENV)/.torch-*
	$(BIN)/pip uninstall -y torch
	$(BIN)/pip install $(if $(TORCH_INDEX),--index-url "$(TORCH_INDEX)") "$(TORCH_SPEC)"
	printf '%s\n%s\n' '$(TORCH_SPEC)' '$(TORCH_INDEX)' > $@

$(STAMP): $(TORCH_STAMP) pyproject.toml
	$(BIN)/pip install -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

# The HTML report (results/report.html) is built at the end of the run from the same DAG.
run: $(STAMP)
	$(BIN)/snakemake --cores $(CORES) --profile profiles/default \
		--report-after-run --report results/report.html $(SNAKEMAKE_ARGS)

test: $(STAMP)
	$(BIN)/python -m pytest

# Optional MinkowskiEngine backend (CPU build, about 6 minutes). Needs libopenblas-dev.
minkowski: $(STAMP)
	@dpkg -s libopenblas-dev >/dev/null 2>&1 || { apt-get update && apt-get install -y libopenblas-dev; }
	$(BIN)/python -c "import MinkowskiEngine" 2>/dev/null || \
		SETUPTOOLS_USE_DISTUTILS=stdlib $(BIN)/pip install --no-build-isolation MinkowskiEngine==0.5.4

# Headless Chromium, for the test that opens results/report.html in a real browser.
browser:
	@command -v chromium >/dev/null 2>&1 || { apt-get update && apt-get install -y chromium; }

# Fill the generated blocks of README.md from a finished run's tables, and copy its key plot.
readme: $(STAMP)
	$(BIN)/python -m analysis readme-results --results results --readme README.md \
		--figure docs/figures/michel_energy_spectra.png \
		$(if $(wildcard docs/benchmark/engine.json),--benchmark docs/benchmark/engine.json)

# The full engine benchmark (~30 minutes on an idle 2-core machine; the dense twin at grid 192
# needs ~15 GB): the study's training step at 1 and 2 threads and 8 and 32 events, built-in
# (compiled kernels, built on first use) vs MinkowskiEngine vs the pure-PyTorch path, then the
# conv layer and the grid sweep. Its figures are kept in docs/benchmark/ and fill the README's
# backends block (make readme).
benchmark: $(STAMP)
	OPENBLAS_NUM_THREADS=1 $(BIN)/python -m lartpc_seg benchmark engine \
		--grids 64 128 192 --sparse-grids 512 768 --runs 5 --memory-limit-gb 18 \
		--out docs/benchmark/engine.json --plots docs/benchmark

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf .snakemake results data
