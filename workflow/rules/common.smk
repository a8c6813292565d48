# Config validation, how rules reach the analysis environment, and the lists of targets.
import json
import os
from pathlib import Path

from snakemake.utils import validate


validate(config, schema="../schemas/config.schema.yaml")

if not config["seeds"]:
    raise ValueError("config key `seeds` is empty: give at least one random seed, e.g. seeds: [0]")

APPS = ["enso"]
TARGETS = {"enso": ["nino34"]}


wildcard_constraints:
    app="|".join(APPS),
    seed=r"\d+",
    class_index=r"\d+",
    lrp_rule=r"[a-z0-9_]+",
    target=r"[A-Za-z0-9_]+",
    case=r"[A-Za-z0-9_-]+",


def analysis_python():
    """The interpreter that runs the geoxai package (TensorFlow cannot share Snakemake's)."""
    if config.get("analysis_python"):
        return config["analysis_python"]
    if "conda" in str(getattr(workflow.deployment_settings, "deployment_method", "")).lower():
        # Conda envs hold the dependencies; the package itself comes from this checkout.
        source = str(Path(workflow.basedir) / "src")
        os.environ["PYTHONPATH"] = os.pathsep.join(
            filter(None, [source, os.environ.get("PYTHONPATH")])
        )
        return "python"
    venv = Path(workflow.basedir) / ".venv" / "analysis" / "bin" / "python"
    return str(venv) if venv.exists() else "python"


GEOXAI = f"{analysis_python()} -m geoxai"
CONFIG_JSON = json.dumps(config, sort_keys=True, default=str)


def provenance_config(*keys):
    """The config sections a step depends on, as JSON: recorded in its outputs, and (as a param)
    the reason Snakemake reruns the step when one of them changes, and only then."""
    chosen = {}
    for key in keys:
        value = config
        for part in key.split("."):
            value = value[part]
        chosen[key] = value
    return json.dumps(chosen, sort_keys=True, default=str)


def class_names(app):
    return config[app]["labels"]["class_names"]


def class_names_json(wildcards):
    return json.dumps(class_names(wildcards.app))


def seeds():
    return [int(seed) for seed in config["seeds"]]


def data_inputs(wildcards=None):
    """The downloaded (or generated) input files, for the provenance page of the report."""
    return ["resources/enso/sst.nc", "resources/enso/index.txt"]


def figure_files(stem):
    return [f"{stem}.{fmt}" for fmt in ["png"] + [f for f in config["figures"]["formats"] if f != "png"]]


def figure_targets(app, target, lrp_rules, case_studies=()):
    """Every figure of one application and target."""
    folder = f"results/{app}/figures/{target}"
    classes = range(len(class_names(app)))
    stems = [f"{folder}/training", f"{folder}/index"]
    for lrp_rule in lrp_rules:
        stems += [f"{folder}/{lrp_rule}_composites_class{c}" for c in classes]
        stems += [f"{folder}/{lrp_rule}_agreement_class{c}" for c in classes]
        stems += [f"{folder}/{lrp_rule}_case_{case}" for case in case_studies]
    return [path for stem in stems for path in figure_files(stem)]


def enso_targets():
    app, target, lrp_rules = "enso", "nino34", config["explain"]["rules"]
    return [
        f"results/{app}/labels/{target}.csv",
        f"results/{app}/evaluation/{target}.csv",
        f"results/{app}/report/{target}_accuracy.html",
        *[f"results/{app}/composites/{target}/{r}.nc" for r in lrp_rules],
        *figure_targets(app, target, lrp_rules, config["enso"].get("case_studies", [])),
    ]


def all_targets():
    return enso_targets() + ["results/report/run_summary.html"]
