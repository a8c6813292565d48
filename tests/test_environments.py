"""The conda env files and the pip pin files pin every shared package to the same version."""

import re
from pathlib import Path

import yaml

ENVS = Path(__file__).resolve().parents[1] / "envs"
CONDA_TO_PIP = {"netcdf4": "netcdf4", "pyyaml": "pyyaml", "cartopy": "cartopy"}


def normalize(name):
    return re.sub(r"[-_.]+", "-", name.split("[")[0]).lower()


#: Each conda env file mirrors one pip environment (its direct pins, then its full lock).
PIP_ENVIRONMENT = {
    "data.yaml": ("analysis.txt", "test.txt", "analysis.lock.txt"),
    "learn.yaml": ("analysis.txt", "test.txt", "analysis.lock.txt"),
    "figures.yaml": ("analysis.txt", "test.txt", "analysis.lock.txt"),
    "workflow.yaml": ("workflow.txt", "workflow.lock.txt"),
}


def pip_pins(files):
    pins = {}
    for path in (ENVS / name for name in files):
        for line in path.read_text().splitlines():
            line = line.split("#")[0].strip()
            if not line:
                continue
            assert "==" in line, f"{path.name}: {line!r} is not pinned with =="
            name, version = line.split("==")
            previous = pins.setdefault(normalize(name), (version, path.name))
            assert previous[0] == version, f"{name} is {previous[0]} in {previous[1]} but {version} in {path.name}"
    return pins


def conda_pins(path):
    spec = yaml.safe_load(path.read_text())
    assert spec["channels"][-1] == "nodefaults"
    for entry in spec["dependencies"]:
        if isinstance(entry, dict):
            yield from (("pip", e) for e in entry["pip"])
        else:
            yield ("conda", entry)


def test_pip_files_of_one_environment_agree():
    for files in set(PIP_ENVIRONMENT.values()):
        assert len(pip_pins(files)) > 20


def test_conda_files_agree_with_pip_pins():
    assert sorted(p.name for p in ENVS.glob("*.yaml")) == sorted(PIP_ENVIRONMENT)
    checked = 0
    for path in sorted(ENVS.glob("*.yaml")):
        pins = pip_pins(PIP_ENVIRONMENT[path.name])
        for source, entry in conda_pins(path):
            assert "==" in entry, f"{path.name}: {entry!r} is not pinned with =="
            name, version = entry.split("==")
            key = normalize(CONDA_TO_PIP.get(name, name))
            if key in {"python", "pip"}:
                continue
            assert key in pins, f"{path.name}: {name} is not in the pip pin files"
            assert pins[key][0] == version, f"{path.name}: {name}=={version} but {pins[key][1]} has {pins[key][0]}"
            checked += 1
    assert checked > 30


def test_every_rule_names_an_existing_env():
    rules = Path(__file__).resolve().parents[1] / "workflow" / "rules"
    named = set(re.findall(r'"\.\./\.\./envs/([a-z]+\.yaml)"', "".join(p.read_text() for p in rules.glob("*.smk"))))
    assert named and all((ENVS / name).exists() for name in named)
