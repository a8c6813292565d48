# Config validation, how rules reach the analysis environment, and helpers of the rule files.
# The default target's lists are in targets.smk.
import hashlib
import json
import os
import sys
from pathlib import Path

from snakemake.utils import validate

# The schema has `minItems: 1` for seeds too, but its message names neither the key nor a fix.
if config.get("seeds") == []:
    raise ValueError(
        "config key `seeds` is empty: give at least one random seed, e.g. seeds: [0]"
    )

validate(config, schema="../schemas/config.schema.yaml")


def require_explained(key, methods):
    """Stop when a config key names methods that explain.rules does not run."""
    missing = [
        method for method in methods or [] if method not in config["explain"]["rules"]
    ]
    if missing:
        raise ValueError(
            f"config key {key} names {missing}, which explain.rules does not run "
            f"({config['explain']['rules']}): add them to explain.rules or drop them here"
        )


require_explained("figures.methods", config["figures"].get("methods"))


def figure_methods():
    """The methods drawn in per-method figures (figures.methods, by default every one)."""
    return config["figures"].get("methods") or config["explain"]["rules"]


APPS = list(config["applications"])


wildcard_constraints:
    app="|".join(APPS),
    seed=r"\d+",
    class_index=r"\d+",
    method=r"[a-z0-9_]+",
    target=r"[A-Za-z0-9_.-]+",
    case=r"[A-Za-z0-9_-]+",


def prepend_to_search_path(variable, folder):
    """Put ``folder`` first in a search-path environment variable (PATH, PYTHONPATH)."""
    entries = [str(folder)] + [
        e for e in os.environ.get(variable, "").split(os.pathsep) if e
    ]
    os.environ[variable] = os.pathsep.join(entries)


def use_analysis_environment():
    """Put the analysis environment's interpreter first on PATH, so rules run `python -m geoxai`.

    TensorFlow cannot share Snakemake's environment, so the package runs in its own one; jobs
    (local or on SLURM) inherit PATH. With conda deployment each rule's env provides `python`
    and the package comes from this checkout through PYTHONPATH.
    """
    if (
        "conda"
        in str(getattr(workflow.deployment_settings, "deployment_method", "")).lower()
    ):
        prepend_to_search_path("PYTHONPATH", Path(workflow.basedir) / "src")
        return
    if config.get("analysis_python"):
        interpreter_dir = Path(config["analysis_python"]).parent
    else:
        interpreter_dir = Path(workflow.basedir) / ".venv" / "analysis" / "bin"
    if interpreter_dir.exists():
        prepend_to_search_path("PATH", interpreter_dir.absolute())


use_analysis_environment()


def config_record(sections):
    """The path of a JSON file holding `sections`, named by their digest, written if missing.

    Steps receive the config they record as this path, not as JSON on the command line, so the
    shell commands Snakemake prints stay short. The digest in the name is what the rule's param
    compares: a changed section is a new file name, and the step reruns (and only then). Written
    when the param is evaluated (also by a dry run), atomically, never overwritten: the name
    fixes the content."""
    text = json.dumps(sections, sort_keys=True, default=str)
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    path = Path("results/config") / f"{digest}.json"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        partial.write_text(text)
        os.replace(partial, path)
    return str(path)


def model_settings(app):
    """The network of one application: `model`, with the application's own `<app>.model` keys
    (e.g. an L2 suited to its grid) merged over it."""
    return {**config["model"], **config.get(app, {}).get("model", {})}


def model_config(wildcards):
    # Key order as in the config: ENSO's param stays the string it always was (no rerun).
    return json.dumps(model_settings(wildcards.app))


def provenance_config(*keys):
    """The config sections a step depends on, as a config record (see config_record): recorded
    in its outputs, and (as a param) the reason Snakemake reruns the step when one of them
    changes, and only then.

    Returns a function of the job's wildcards, so that `model` is the job's application's network
    (see model_settings). Every step gets `netcdf`: its files' global attributes."""

    def chosen_sections(wildcards):
        chosen = {"netcdf": config["netcdf"]}
        for key in keys:
            if key == "model" and getattr(wildcards, "app", None):
                chosen[key] = model_settings(wildcards.app)
                continue
            value = config
            for part in key.split("."):
                value = value[part]
            chosen[key] = value
        return config_record(chosen)

    return chosen_sections


def class_names(app):
    return config[app]["labels"]["class_names"]


def class_names_of_app(wildcards):
    return class_names(wildcards.app)


def seeds():
    return [int(seed) for seed in config["seeds"]]


def data_inputs(wildcards=None):
    """The downloaded (or generated) input files, for the provenance page of the report."""
    files = {
        "enso": ["resources/enso/sst.nc", "resources/enso/index.txt"],
        "lst": [f"resources/lst/{field}.nc" for field in ("sst", "trefht", "landfrac")],
    }
    return [path for app in APPS for path in files[app]]


# Application 2: the CESM stores, configured or generated under LST_SYNTHETIC_STORES in the layout
# that geoxai.lst.layout holds. That module (like geoxai.core.names, the names the report shows)
# needs only the standard library, so this process (Snakemake's environment, without the
# package's dependencies) reads it from the checkout.
sys.path.insert(0, str(Path(workflow.basedir) / "src"))
from geoxai.lst.layout import SYNTHETIC_STORES as LST_SYNTHETIC_LAYOUT
from geoxai.core.names import display_name, shown_names

LST_SYNTHETIC_STORES = "resources/lst/stores"


def lst_synthetic():
    return bool(config["lst"].get("synthetic"))


def lst_store(field):
    if lst_synthetic():
        return f"{LST_SYNTHETIC_STORES}/{LST_SYNTHETIC_LAYOUT[field]}"
    return config["lst"][field]["store"]


def lst_landfrac_computed():
    """No land fraction store: it is computed from Natural Earth on the TREFHT grid.

    The public CESM1-LE bucket has no atmosphere static store. The synthetic source writes its
    own land fraction, which stays the one its answer was built with.
    """
    return not lst_synthetic() and not config["lst"]["landfrac"].get("store")


def lst_grid_store(wildcards):
    # The generated SST store carries its own TLAT/TLONG/TAREA.
    if wildcards.field != "sst" or lst_synthetic():
        return ""
    return config["lst"]["sst"].get("grid_store") or ""


def lst_store_inputs(wildcards=None):
    return [LST_SYNTHETIC_STORES] if lst_synthetic() else []


def lst_anomaly_memory_mb(wildcards):
    # The regridded seasonal means of the whole run are held in memory, with a few float64
    # working copies: (4 seasons x years) x (regular grid cells) x 8 bytes x 4, plus one block of
    # monthly input per thread and the interpreter. Paper run (1801 years, 2 degrees): ~5 GB.
    years = config["lst"]["years"][1] - config["lst"]["years"][0] + 1
    degrees = config["lst"]["anomalies"]["grid_degrees"]
    cells = (180 / degrees) * (360 / degrees)
    seasons = (
        len(config["lst"]["anomalies"].get("seasons", ["DJF", "MAM", "JJA", "SON"]))
        * years
    )
    return 1000 + int(seasons * cells * 8 * 4 / 1e6)


def index_figure_wording(wildcards):
    """What the index figure draws: ENSO's thresholds, or the sign (0) of a box's temperature."""
    labels = config[wildcards.app]["labels"]
    if wildcards.app == "enso":
        # named by its box (enso.index.region), where it is the mean of one
        region = config["enso"]["index"].get("region")
        labels = {
            **labels,
            "index_name": f"{region['name']} index" if region else "label index",
        }
    if wildcards.app == "lst":
        lead = config["lst"]["targets"]["lead"]
        labels = {
            **labels,
            "negative_threshold": 0.0,
            "positive_threshold": 0.0,
            "index_name": ("next-season" if lead == 1 else f"{lead}-season-ahead")
            + f" T2m of box {wildcards.target}",
            "sample_name": "seasons",
        }
    return json.dumps(labels)


def lst_skill_inputs(wildcards):
    return {
        "evaluations": lst_box_files("evaluation"),
        "labels": lst_box_files("labels"),
        # every network's metrics: the validation confusion matrix gives balanced accuracy
        "metrics": [
            f"results/lst/models/{box}/seed{seed}.json"
            for box in lst_boxes()
            for seed in config["seeds"]
        ],
        "targets": "results/lst/targets.nc",
    }


# used by benchmark.smk
def benchmark_memory_mb(wildcards):
    """The samples and the truth in float32, twice (train and held out copies), and TensorFlow."""
    section = config["attribution_benchmark"]
    cells = (360 / section.get("grid_degrees", 10)) * (
        180 / section.get("grid_degrees", 10)
    )
    return 2000 + int(4 * 4 * section.get("samples", 20000) * cells / 1e6)


# used by train.smk
def training_memory_mb(wildcards, input):
    """The whole sample matrix in float32 plus TensorFlow's own footprint.

    Sized from the anomaly file alone: it exists before any network job starts, so a group job
    (train + explain of one seed) can add up all its members' needs when it is submitted.
    """
    anomalies = Path(input.anomalies)
    size_mb = anomalies.stat().st_size / 1e6 if anomalies.exists() else 0
    return 1500 + 3 * int(size_mb)


# used by composite.smk
def composite_inputs(wildcards):
    classes = range(len(class_names(wildcards.app)))
    prefix = f"results/{wildcards.app}"
    return {
        "relevance": [
            f"{prefix}/relevance/{wildcards.target}/seed{seed}_{wildcards.method}.nc"
            for seed in seeds()
        ],
        "optimal_input": [
            f"{prefix}/optimal_input/{wildcards.target}/seed{seed}_class{c}.nc"
            for seed in seeds()
            for c in classes
        ],
        "anomalies": f"{prefix}/anomalies.nc",
        "labels": f"{prefix}/labels/{wildcards.target}.csv",
        # the networks' validation accuracy: the composite file carries it against chance
        "evaluation": f"{prefix}/evaluation/{wildcards.target}.csv",
    }


# used by significance.smk
def null_seed(wildcards):
    """Null network k's seed: significance.seed_offset + k (never a seed of `seeds`)."""
    return config["significance"]["seed_offset"] + int(wildcards.network)


# used by significance.smk
def significance_inputs(wildcards):
    prefix = f"results/{wildcards.app}"
    return {
        "relevance": [
            f"{prefix}/relevance/{wildcards.target}/seed{seed}_{wildcards.method}.nc"
            for seed in seeds()
        ],
        "null_relevance": [
            f"{prefix}/significance/{wildcards.target}/null_relevance/null{k}_{wildcards.method}.nc"
            for k in range(config["significance"]["networks"])
        ],
        "anomalies": f"{prefix}/anomalies.nc",
        "labels": f"{prefix}/labels/{wildcards.target}.csv",
    }


# used by every rule with a report output
APPLICATION_TITLES = {"enso": "ENSO", "lst": "land temperature"}


def report_labels(kind, **fixed):
    """The columns of the report's result table, by which it can be filtered: application,
    target, method, class and kind. Each comes from the job's wildcards (the class index becomes
    the class's name) unless given in ``fixed``; "all" where the entry covers every one.
    """

    def labels(wildcards):
        app = fixed.get("app") or wildcards.get("app", "all")
        if "class_index" in wildcards.keys():
            class_name = display_name(class_names(app)[int(wildcards.class_index)])
        else:
            class_name = "all"
        return {
            "application": APPLICATION_TITLES.get(app, app),
            "target": fixed.get("target") or wildcards.get("target", "all"),
            "method": fixed.get("method") or wildcards.get("method", "all"),
            "class": class_name,
            "kind": kind.format(**dict(wildcards.items())),
        }

    return labels


# used by figures.smk
def figure_outputs(
    stem, caption, category, subcategory="{app} {target}", kind=None, **fixed
):
    """The PNG (in the report, labelled by report_labels with ``kind``, by default the caption's
    name, and the ``fixed`` labels) and any extra formats the config asks for."""
    extra = [f for f in config["figures"]["formats"] if f != "png"]
    return {
        "png": report(
            f"{stem}.png",
            caption=f"../report/{caption}.rst",
            category=category,
            subcategory=subcategory,
            labels=report_labels(kind or caption.replace("_", " "), **fixed),
        ),
        **{fmt: f"{stem}.{fmt}" for fmt in extra},
    }


# used by figures.smk (known_answer) and targets.smk
def known_answer_apps():
    """The applications of this run whose data are synthetic, so have a known answer."""
    synthetic = {"enso": bool(config["enso"].get("synthetic")), "lst": lst_synthetic()}
    return [app for app in APPS if synthetic[app]]


def known_answer_inputs(wildcards):
    methods = config["explain"]["rules"]
    inputs = {}
    if "enso" in known_answer_apps():
        inputs["enso_truth"] = "resources/enso/truth.nc"
        inputs["enso_composites"] = [
            f"results/enso/composites/nino34/{m}.nc" for m in methods
        ]
    if "lst" in known_answer_apps():
        # After the lst_targets checkpoint, as every product of all boxes: before it, the skill
        # job's inputs are unknown, and a dry run could not even print its command.
        lst_boxes()
        inputs["lst_truth"] = "resources/lst/truth.json"
        inputs["lst_truth_mask"] = "resources/lst/truth.nc"
        inputs["lst_skill"] = "results/lst/skill.nc"
        inputs["lst_composites"] = [
            f"results/lst/composites/{box}/{m}.nc"
            for box in config["lst"].get("explain_targets", [])
            for m in methods
        ]
    return inputs


def known_answer_input(name, default=""):
    return lambda wildcards, input: input.get(name, default)


# used by figures.smk
def case_study_inputs(wildcards):
    inputs = {
        "anomalies": f"results/{wildcards.app}/anomalies.nc",
        "relevance": expand(
            "results/{app}/relevance/{target}/seed{seed}_{method}.nc",
            seed=seeds(),
            **wildcards,
        ),
    }
    if not wildcards.case[0].isdigit():
        # a named case (e.g. strongest_eastern) is looked up in the synthetic source's truth file
        inputs["truth"] = f"resources/{wildcards.app}/truth.nc"
    return inputs


# used by figures.smk
def figure_region_inputs(wildcards):
    """The files naming the regions a map outlines (geoxai.figures.regions): Application 2's box
    edges, and the synthetic source's truth with its driving region."""
    inputs = {}
    if wildcards.app == "lst":
        inputs["targets"] = "results/lst/targets.nc"
    if config[wildcards.app].get("synthetic"):
        inputs["truth"] = f"resources/{wildcards.app}/truth.nc"
    return inputs


# used by figures.smk, significance.smk and evaluation.smk
def figure_index_region(wildcards):
    """The box a map outlines as the one the label index is the mean of: config key
    enso.index.region on ENSO's maps ("null": none, as on Application 2's)."""
    region = config["enso"]["index"].get("region") if wildcards.app == "enso" else None
    return json.dumps(region)


# used by the report's captions (param `shown`): the config's ASCII names as shown
def shown_names_of_app(wildcards):
    return shown_names(config, wildcards.app)


# used by labels.smk: the index section without the figures' key, so that drawing another box
# does not relabel (and so retrain) anything
def index_reading_spec():
    section = config["enso"]["index"]
    return json.dumps({key: section[key] for key in section if key != "region"})


# used by figures.smk
def case_study_and_region_inputs(wildcards):
    return {**case_study_inputs(wildcards), **figure_region_inputs(wildcards)}


# used by figures.smk
def optional_input(name):
    """A param holding input ``name``'s path, or "" where the job has no such input."""
    return lambda wildcards, input: input.get(name, "")


# used by evaluation.smk and targets.smk
def evaluation_first_seed():
    return seeds()[0]


def evaluation_model(wildcards):
    """The network the sanity checks and deletion curves evaluate: the first seed's."""
    return f"results/{wildcards.app}/models/{wildcards.target}/seed{evaluation_first_seed()}.h5"


def evaluation_relevance(wildcards):
    """The first seed's relevance file of every method of explain.rules, in their order."""
    return [
        f"results/{wildcards.app}/relevance/{wildcards.target}/seed{evaluation_first_seed()}_{m}.nc"
        for m in config["explain"]["rules"]
    ]
