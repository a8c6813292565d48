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


def class_names(app):
    return config[app]["labels"]["class_names"]


def class_names_json(wildcards):
    return json.dumps(class_names(wildcards.app))


def seeds():
    return [int(seed) for seed in config["seeds"]]


def enso_targets():
    app, target = "enso", "nino34"
    return [
        f"results/{app}/labels/{target}.csv",
        f"results/{app}/evaluation/{target}.csv",
        *expand(
            "results/{app}/composites/{target}/{lrp_rule}.nc",
            app=app,
            target=target,
            lrp_rule=config["explain"]["rules"],
        ),
    ]


def all_targets():
    return enso_targets()
