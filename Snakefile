# geoxai: physically interpretable neural networks for Earth system variability
# (Toms, Barnes & Ebert-Uphoff 2020). Paper reproduction: `snakemake --cores N`;
# offline demo: `snakemake --cores N --configfile config/demo.yaml` (or `make demo`).
from snakemake.utils import min_version

min_version("9.0")


configfile: "config/config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/targets.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/anomalies.smk"
include: "workflow/rules/labels.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/explain.smk"
include: "workflow/rules/composite.smk"
include: "workflow/rules/evaluation.smk"
include: "workflow/rules/significance.smk"
include: "workflow/rules/benchmark.smk"
include: "workflow/rules/figures.smk"


rule all:
    default_target: True
    input:
        all_targets(),
