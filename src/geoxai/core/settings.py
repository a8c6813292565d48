"""Config sections into frozen dataclasses: unknown keys are refused with the section's name."""

from __future__ import annotations

from typing import Any, TypeVar

from geoxai.core.errors import GeoxaiError

Settings = TypeVar("Settings")


def settings_from_section(cls: type[Settings], section: dict[str, Any], where: str) -> Settings:
    """Build ``cls`` from a config section; lists become tuples (the dataclasses are frozen)."""
    known = set(cls.__dataclass_fields__)
    unknown = set(section) - known
    if unknown:
        raise GeoxaiError(f"unknown config keys under {where}: {sorted(unknown)}; known: {sorted(known)}")
    return cls(**{key: tuple(value) if isinstance(value, list) else value for key, value in section.items()})
