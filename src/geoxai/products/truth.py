"""``truth.nc`` of the synthetic sources: the answer a run should find, and its named events."""

from __future__ import annotations

from geoxai.core.errors import GeoxaiError
from geoxai.core.provenance import open_product


def case_study_month(case: str, truth_path: str | None) -> str:
    """A case study given as "YYYY-MM", or by name (strongest_eastern/central) from a truth file."""
    if case[:4].isdigit():
        return case
    if not truth_path:
        raise GeoxaiError(
            f"case study {case!r} names an event of the synthetic source, but this run has no truth "
            "file: give case studies as YYYY-MM months (config key enso.case_studies)"
        )
    with open_product(truth_path) as truth:
        attribute = f"{case}_el_nino_month"
        if attribute not in truth.attrs:
            names = [a.removesuffix("_el_nino_month") for a in truth.attrs if a.endswith("_el_nino_month")]
            raise GeoxaiError(f"case study {case!r} is not in {truth_path}; it knows {names}")
        return str(truth.attrs[attribute])
