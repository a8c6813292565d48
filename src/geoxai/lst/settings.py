"""Application 2's config sections (``lst.anomalies``, ``lst.targets``, ``lst.labels``,
``lst.skill``) as frozen
settings: the one place their defaults live (the schema and config/config.yaml are checked
against them by tests/test_settings.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from geoxai.core.settings import settings_from_section
from geoxai.lst.boxes import DEFAULT_BOX_LATS, DEFAULT_BOX_LONS
from geoxai.lst.seasonal import STANDARD_SEASONS


@dataclass(frozen=True)
class LstAnomalySettings:
    grid_degrees: float = 2.0
    seasons: tuple[str, ...] = STANDARD_SEASONS
    drift: str = "linear"
    window_years: int = 30
    time_chunk: int = 120
    dask_scheduler: str = "threads"
    compress: bool = False

    @classmethod
    def from_config(cls, section: dict[str, Any]) -> LstAnomalySettings:
        return settings_from_section(cls, section, "lst.anomalies")


@dataclass(frozen=True)
class LstTargetSettings:
    lat_edges: tuple[float, ...] = DEFAULT_BOX_LATS
    lon_edges: tuple[float, ...] = DEFAULT_BOX_LONS
    land_threshold: float = 0.5
    lead: int = 1

    @classmethod
    def from_config(cls, section: dict[str, Any]) -> LstTargetSettings:
        return settings_from_section(cls, section, "lst.targets")


@dataclass(frozen=True)
class LstLabelSettings:
    train_fraction: float = 0.8
    class_names: tuple[str, str] = ("cold", "warm")

    @classmethod
    def from_config(cls, section: dict[str, Any]) -> LstLabelSettings:
        return settings_from_section(cls, section, "lst.labels")


@dataclass(frozen=True)
class LstSkillSettings:
    #: Benjamini–Hochberg false discovery rate over the boxes' binomial tests against chance.
    fdr_q: float = 0.05

    @classmethod
    def from_config(cls, section: dict[str, Any]) -> LstSkillSettings:
        return settings_from_section(cls, section, "lst.skill")
