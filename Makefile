# Two environments (docs/stack.md: Snakemake and TensorFlow 2.14 cannot share one):
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

.PHONY: all setup demo test lint report dag clean-demo paper benchmarks rehearsal

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
	$(MAKE) report CONFIGFILE=config/demo.yaml
	@echo
	@$(ANALYSIS)/bin/python -m geoxai summary --results results --report results/report.html

## test: the test suite (offline; unit tests, the demo workflow end to end, the SLURM cluster)
test: setup
	GEOXAI_WORKFLOW_VENV=$(abspath $(WORKFLOW)) $(ANALYSIS)/bin/python -m pytest $(PYTEST_ARGS)

## paper: the paper reproduction with real data (needs internet, downloads about 0.5 GB)
paper: setup
	$(SNAKEMAKE) --cores $(CORES) --profile profiles/local
	$(MAKE) report

## rehearsal: the paper run at full size, offline, against local servers in the real layouts
## (1 degree, ten seeds, both applications; about 40 minutes on 2 cores, a few GB of disk)
rehearsal: setup
	$(ANALYSIS)/bin/python benchmarks/bench_rehearsal.py --cores $(CORES)

## report: the HTML report of a finished run (CONFIGFILE=config/demo.yaml for the demo's)
CONFIGFILE ?=
report: setup
	$(SNAKEMAKE) --cores 1 $(if $(CONFIGFILE),--configfile $(CONFIGFILE)) --report results/report.html
	$(ANALYSIS)/bin/python -m geoxai tidy_report --report results/report.html

## dag: the rule graph as results/rulegraph.svg (needs Graphviz's `dot`: apt-get install graphviz)
dag: setup
	@command -v dot >/dev/null || { echo "make dag needs Graphviz's dot: apt-get install graphviz"; exit 1; }
	mkdir -p results
	$(SNAKEMAKE) --cores 1 $(if $(CONFIGFILE),--configfile $(CONFIGFILE)) --rulegraph | dot -Tsvg > results/rulegraph.svg.tmp
	mv results/rulegraph.svg.tmp results/rulegraph.svg

lint: setup
	$(SNAKEMAKE) --lint --configfile config/demo.yaml
	$(WORKFLOW)/bin/snakefmt --check Snakefile workflow/rules
	$(WORKFLOW)/bin/ruff check src tests benchmarks

benchmarks: setup
	$(ANALYSIS)/bin/python benchmarks/run.py

clean-demo:
	rm -rf results resources logs .snakemake
