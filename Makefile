# Set up and run the study. Everything installs into .venv.
#
# TORCH_SPEC is the torch requirement handed to pip. The default takes the CPU build;
# on a GPU machine override it, e.g. `make run TORCH_SPEC="torch==2.5.1"` with a CUDA index.
PYTHON ?= python3
VENV ?= .venv
TORCH_SPEC ?= torch==2.13.0
CORES ?= all
SNAKEMAKE_ARGS ?=

BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test install minkowski lint format clean benchmark browser readme

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --upgrade pip setuptools wheel

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install "$(TORCH_SPEC)"
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
		$(if $(wildcard docs/benchmark/engine.json),--benchmark docs/benchmark/engine.json)
	mkdir -p docs/figures
	cp results/michel/relabeled/michel_energy_spectra.png docs/figures/michel_energy_spectra.png

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
