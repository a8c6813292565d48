"""Shared fixtures. TensorFlow is put in graph mode before any test builds a model (docs/stack.md)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "tests"))


def pytest_configure(config):
    from geoxai.learn.models import configure_tensorflow

    configure_tensorflow(threads=1)


def train_toy_network(inputs, labels, seed: int = 3):
    """A small, well-trained network for explanation tests: the first 160 samples train."""
    from geoxai.learn.models import ModelSettings, TrainingSettings, train_model

    return train_model(
        inputs[:160], labels[:160], inputs[160:], labels[160:], seed=seed,
        model_settings=ModelSettings(l2=(0.01, 0.01, 0.01)),
        training=TrainingSettings(learning_rate=0.05, epochs=20, schedule="constant", batch_size=16),
    )


def workflow_venv() -> Path:
    return Path(os.environ.get("GEOXAI_WORKFLOW_VENV", REPO / ".venv" / "workflow"))


def analysis_python() -> str:
    return sys.executable


def run_snakemake(workdir: Path, *arguments: str, timeout: int = 1200, check: bool = True,
                  env: dict | None = None) -> subprocess.CompletedProcess:
    """Run the repository's workflow with its working directory in ``workdir``."""
    snakemake = workflow_venv() / "bin" / "snakemake"
    if not snakemake.exists():
        pytest.fail(f"Snakemake is not installed at {snakemake}: run `make setup` (or set GEOXAI_WORKFLOW_VENV)")
    # Targets (if any) lead `arguments`; options taking several values (--configfile, --config)
    # would swallow anything after them.
    command = [
        str(snakemake), "--snakefile", str(REPO / "Snakefile"), "--directory", str(workdir),
        *arguments, "--config", f"analysis_python={analysis_python()}",
    ]
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=timeout, env={**os.environ, **(env or {})},
        check=False,
    )
    if check and result.returncode != 0:
        logs = "\n".join(
            f"--- {log}\n{log.read_text()[-3000:]}" for log in sorted((workdir / "logs").rglob("*.log"))
        ) if (workdir / "logs").exists() else ""
        pytest.fail(f"snakemake failed ({result.returncode}):\n{result.stdout[-4000:]}\n{result.stderr[-6000:]}\n{logs}")
    return result


def config_files(*overrides: str | Path) -> list[str]:
    """The paper config plus overrides: Snakemake reads `configfile:` relative to the working
    directory, which in tests is a temporary folder, so every file is named explicitly."""
    return [str(REPO / "config" / "config.yaml"), *(str(REPO / "config" / o) if isinstance(o, str) else str(o)
                                                   for o in overrides)]


def merged_config(*layers: str | Path | dict) -> dict:
    """Config files (names under config/, paths) or dicts merged as Snakemake merges them: later
    layers update earlier ones key by key, nested sections too."""
    import yaml

    def merge(base: dict, extra: dict) -> dict:
        out = dict(base)
        for key, value in extra.items():
            both = isinstance(value, dict) and isinstance(out.get(key), dict)
            out[key] = merge(out[key], value) if both else value
        return out

    config: dict = {}
    for layer in layers:
        if not isinstance(layer, dict):
            path = REPO / "config" / layer if isinstance(layer, str) else Path(layer)
            layer = yaml.safe_load(path.read_text())
        config = merge(config, layer)
    return config


def figure_stems(config: dict, cases=()) -> set[str]:
    """The figures (file stems) the workflow draws for one explained target under ``config``
    (merged): training and labels, the evaluation figures, the methods comparison when there are
    several methods, and per drawn method its composites, seed agreement, case studies, sample
    agreement (with several seeds) and significance (when it is tested)."""
    methods = config["explain"]["rules"]
    drawn = config["figures"].get("methods") or methods
    tested = (config.get("significance") or {}).get("methods") or methods
    stems = {"training", "index", "sanity", "faithfulness"}
    if len(methods) > 1:
        stems |= {"methods_class0", "methods_class1"}
    for method in drawn:
        stems |= {f"{method}_{kind}_class{c}" for kind in ("composites", "agreement") for c in (0, 1)}
        stems |= {f"{method}_case_{case}" for case in cases}
        if len(config["seeds"]) > 1:
            stems.add(f"{method}_sample_agreement")
        if method in tested:
            stems.add(f"{method}_significance")
    return stems


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory) -> Path:
    """The demo workflow run once, end to end, into a fresh folder; tests read its outputs."""
    workdir = tmp_path_factory.mktemp("demo")
    run_snakemake(workdir, "--cores", "2", "--configfile", *config_files("demo.yaml"))
    return workdir
