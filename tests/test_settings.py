"""One place for each default: the settings classes hold them; the schema and config/config.yaml
must agree with them, and the schema types every key the synthetic sources take."""

from __future__ import annotations

import copy
import dataclasses
from pathlib import Path

import jsonschema
import pytest
import yaml

from geoxai.enso.synthetic import DEFAULT_SETTINGS as ENSO_SYNTHETIC
from geoxai.lst.synthetic import SyntheticCESMSettings

REPO = Path(__file__).resolve().parents[1]
SCHEMA = yaml.safe_load((REPO / "workflow" / "schemas" / "config.schema.yaml").read_text())
PAPER = yaml.safe_load((REPO / "config" / "config.yaml").read_text())


def plain(value):
    """Tuples as the lists YAML and JSON give."""
    if isinstance(value, tuple | list):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


def schema_section(path: str) -> dict:
    node = SCHEMA
    for part in path.split("."):
        node = node["properties"][part]
    return node


def section_properties(node: dict) -> dict:
    """A section's properties, merged over its allOf parts (and the definitions they name)."""
    if "$ref" in node:
        node = SCHEMA["definitions"][node["$ref"].rsplit("/", 1)[-1]]
    merged: dict = {}
    for part in node.get("allOf", []):
        for key, value in section_properties(part).items():
            merged[key] = {**merged.get(key, {}), **value}
    for key, value in node.get("properties", {}).items():
        merged[key] = {**merged.get(key, {}), **value}
    return merged


def validate(config: dict) -> None:
    jsonschema.Draft202012Validator(SCHEMA).validate(config)


SYNTHETIC = {
    "enso.synthetic": dict(ENSO_SYNTHETIC),
    "lst.synthetic": plain(dataclasses.asdict(SyntheticCESMSettings())),
}


@pytest.mark.parametrize("path", SYNTHETIC)
def test_schema_types_every_synthetic_setting(path):
    defaults = SYNTHETIC[path]
    section = schema_section(path)
    assert section["additionalProperties"] is False
    assert set(section["properties"]) == set(defaults)
    app, key = path.split(".")
    config = copy.deepcopy(PAPER)
    config[app][key] = plain(defaults)
    validate(config)  # the defaults themselves are valid values
    config[app][key] = {"not_a_setting": 1}
    with pytest.raises(jsonschema.ValidationError, match="not_a_setting"):
        validate(config)


def test_the_paper_config_is_valid_and_seeds_may_not_be_empty():
    validate(PAPER)
    with pytest.raises(jsonschema.ValidationError):
        validate({**PAPER, "seeds": []})


def settings_sections():
    from geoxai.enso.anomalies import AnomalySettings
    from geoxai.enso.sources import SSTFileSpec
    from geoxai.figures.base import FigureSettings
    from geoxai.learn.labels import LabelSettings
    from geoxai.learn.models import ModelSettings, TrainingSettings
    from geoxai.lst.settings import (
        LstAnomalySettings,
        LstLabelSettings,
        LstSkillSettings,
        LstTargetSettings,
    )
    from geoxai.xai.benchmark import BenchmarkSettings
    from geoxai.xai.evaluation import EvaluationSettings
    from geoxai.xai.explain import ExplainSettings
    from geoxai.xai.optimal_input import OptimalInputSettings
    from geoxai.xai.significance import SignificanceSettings

    return {
        "enso.sst": SSTFileSpec, "enso.anomalies": AnomalySettings, "enso.labels": LabelSettings,
        "lst.anomalies": LstAnomalySettings, "lst.targets": LstTargetSettings,
        "lst.labels": LstLabelSettings, "lst.skill": LstSkillSettings, "model": ModelSettings, "training": TrainingSettings,
        "explain": ExplainSettings, "optimal_input": OptimalInputSettings,
        "figures": FigureSettings, "attribution_benchmark": BenchmarkSettings,
        "evaluation": EvaluationSettings,
        "significance": SignificanceSettings,
    }


#: Keys without a meaningful default (explain.rules: the paper config sets them, the classes do
#: not), or whose class default is sized for a quick run and the paper config for the paper
#: (the benchmark's samples and network).
NO_DEFAULT = {"explain": {"rules"}, "attribution_benchmark": {"samples", "hidden_units"}}


def paper_section(path: str) -> dict:
    node = PAPER
    for part in path.split("."):
        node = node[part]
    return node


@pytest.mark.parametrize("path", list(settings_sections()))
def test_settings_class_schema_and_paper_config_agree_on_every_default(path):
    cls = settings_sections()[path]
    built = cls.from_config({}) if hasattr(cls, "from_config") else cls()
    defaults = plain(dataclasses.asdict(built))
    properties = section_properties(schema_section(path))
    assert set(defaults) == set(properties) - {"url", "sha256"}, "the schema and the class name different keys"
    for key, value in defaults.items():
        if "default" in properties[key]:
            assert properties[key]["default"] == value, f"schema default of {path}.{key}"
    for key, value in paper_section(path).items():
        if key in defaults and key not in NO_DEFAULT.get(path, set()):
            assert value == defaults[key], f"config/config.yaml {path}.{key}"


def test_composite_samples_default_agrees():
    import inspect

    from geoxai.xai.composites import composite_relevance

    default = inspect.signature(composite_relevance).parameters["subset"].default
    assert schema_section("composite")["properties"]["samples"]["default"] == default
    assert PAPER["composite"]["samples"] == default
