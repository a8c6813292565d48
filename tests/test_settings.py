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
