"""How names the config and the files keep in ASCII are shown: "El Nino" as "El Niño".

Only the standard library here: the workflow's Snakefile reads these too (the report's captions),
and it runs in the Snakemake environment, which has none of the package's dependencies.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: The proper spelling of names the config and the files keep in ASCII (they also name files,
#: NetCDF attributes and CSV columns): every figure, table and caption shows these instead. The
#: ENSO index boxes besides Niño3.4 are here for a user's own index (``enso.index.region``).
PROPER_NAMES = {"La Nina": "La Niña", "El Nino": "El Niño",
                **{f"Nino{gap}{box}": f"Niño{gap}{box}"
                   for box in ("3.4", "1+2", "3", "4") for gap in ("", " ")}}


def display_name(name: str) -> str:
    """A class or index name as it is shown: ``"El Nino"`` as ``"El Niño"``; names without a
    proper spelling here (``"warm"``, a user's own) unchanged."""
    text = str(name)
    for ascii_name, proper in PROPER_NAMES.items():
        text = text.replace(ascii_name, proper)
    return text


def shown_names(config: Mapping[str, Any], app: str) -> dict[str, Any]:
    """What the report's captions show of application ``app``'s config: its class names and,
    for ENSO, the name of the box the index is the mean of (``enso.index.region``; "" for none)."""
    section = config.get(app) or {}
    names = (section.get("labels") or {}).get("class_names") or []
    region = (section.get("index") or {}).get("region") if app == "enso" else None
    return {"class_names": [display_name(n) for n in names],
            "index_region": display_name(region["name"]) if region else ""}
