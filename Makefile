# Two environments (STACK.md: Snakemake and TensorFlow 2.14 cannot share one):
#   .venv/analysis  Python 3.11 + TensorFlow/iNNvestigate/xarray: runs every rule's code and the tests
#   .venv/workflow  Snakemake + the SLURM executor plugin
# Both are built from exact pins only (envs/*.txt, with the full locks as constraints).

PYTHON ?= python3.11
CORES ?= 2
VENV := .venv
ANALYSIS := $(VENV)/analysis
WORKFLOW := $(VENV)/workflow
SNAKEMAKE := $(WORKFLOW)/bin/snakemake
PYTEST_ARGS ?=

.PHONY: all setup demo test lint report dag clean-demo paper benchmarks

all: demo

setup: $(ANALYSIS)/.installed $(WORKFLOW)/.installed

$(ANALYSIS)/.installed: envs/analysis.txt envs/test.txt envs/analysis.lock.txt pyproject.toml
	$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "need Python 3.11 (set PYTHON=...)"'
	$(PYTHON) -m venv $(ANALYSIS)
	$(ANALYSIS)/bin/pip install --quiet --disable-pip-version-check \
		-r envs/analysis.txt -r envs/test.txt -c envs/analysis.lock.txt
	$(ANALYSIS)/bin/pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $@

$(WORKFLOW)/.installed: envs/workflow.txt envs/workflow.lock.txt
	$(PYTHON) -m venv $(WORKFLOW)
	$(WORKFLOW)/bin/pip install --quiet --disable-pip-version-check \
		-r envs/workflow.txt -c envs/workflow.lock.txt
	touch $@

## demo: the whole workflow on synthetic data with a known answer, offline (a few minutes)
demo: setup
	$(SNAKEMAKE) --cores $(CORES) --configfile config/demo.yaml --profile profiles/local
	$(SNAKEMAKE) --cores $(CORES) --configfile config/demo.yaml --report results/report.html

## test: the test suite (offline; unit tests, the demo workflow end to end, the SLURM cluster)
test: setup
	GEOXAI_WORKFLOW_VENV=$(abspath $(WORKFLOW)) $(ANALYSIS)/bin/python -m pytest $(PYTEST_ARGS)

## paper: the paper reproduction with real data (needs internet, downloads about 0.5 GB)
paper: setup
	$(SNAKEMAKE) --cores $(CORES) --profile profiles/local
	$(SNAKEMAKE) --cores $(CORES) --report results/report.html

lint: setup
	$(SNAKEMAKE) --lint --configfile config/demo.yaml
	$(WORKFLOW)/bin/snakefmt --check Snakefile workflow/rules
	$(WORKFLOW)/bin/ruff check src tests benchmarks

benchmarks: setup
	$(ANALYSIS)/bin/python benchmarks/run.py

clean-demo:
	rm -rf results resources logs .snakemake
