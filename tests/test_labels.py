"""Labels and split on index series whose answer is known."""

import numpy as np
import pandas as pd
import pytest

from geoxai.core.errors import GeoxaiError
from geoxai.learn.labels import (
    LabelSettings,
    check_both_classes,
    chronological_split,
    count_classes,
    phase_labels,
)


def months(start_year, n_years):
    return [f"{y:04d}-{m:02d}" for y in range(start_year, start_year + n_years) for m in range(1, 13)]


def test_thresholds_are_strict_and_neutral_months_dropped():
    keys = months(2000, 1)
    values = [0.6, 0.5, 0.51, -0.5, -0.51, 0.0, 2.0, -2.0, np.nan, 0.49, -0.49, 1.0]
    table = phase_labels(pd.Series(values, index=keys), keys)
    assert table["time"].tolist() == ["2000-01", "2000-03", "2000-05", "2000-07", "2000-08", "2000-12"]
    assert table["label"].tolist() == [1, 1, 0, 1, 0, 1]


def test_only_sst_months_are_labelled_and_months_filter():
    index = pd.Series(1.0, index=months(1990, 10))
    sst_months = months(1995, 2)
    table = phase_labels(index, sst_months, LabelSettings(months=(12, 1, 2)))
    assert table["time"].tolist() == ["1995-01", "1995-02", "1995-12", "1996-01", "1996-02", "1996-12"]


def test_split_is_chronological_80_20_like_the_paper():
    split = chronological_split(822, 0.8)
    assert (split == "train").sum() == 658 and (split == "validation").sum() == 164
    assert np.all(split[:658] == "train") and np.all(split[658:] == "validation")


def test_counts_per_class_and_split():
    keys = months(2000, 10)
    values = np.where(np.arange(120) % 3 == 0, 1.0, np.where(np.arange(120) % 3 == 1, -1.0, 0.0))
    table = phase_labels(pd.Series(values, index=keys), keys)
    counts = count_classes(table, ("La Nina", "El Nino"))
    assert counts["all"] == {"La Nina": 40, "El Nino": 40, "total": 80}
    assert counts["train"]["total"] == 64 and counts["validation"]["total"] == 16
    assert counts["train"]["El Nino"] + counts["validation"]["El Nino"] == 40


def test_one_class_in_a_split_is_a_clear_error():
    keys = months(2000, 10)
    values = np.r_[np.full(60, -1.0), np.full(60, 1.0)]
    table = phase_labels(pd.Series(values, index=keys), keys)
    with pytest.raises(GeoxaiError, match="validation split has no La Nina"):
        check_both_classes(table, ("La Nina", "El Nino"), "index.txt")


def test_index_not_covering_the_sst_is_a_clear_error():
    with pytest.raises(GeoxaiError, match="covers the SST period"):
        phase_labels(pd.Series(1.0, index=months(1900, 2)), months(2000, 2))


def test_bad_settings():
    with pytest.raises(GeoxaiError, match="negative_threshold"):
        LabelSettings.from_config({"positive_threshold": -1, "negative_threshold": 1})
    with pytest.raises(GeoxaiError, match="unknown config keys"):
        LabelSettings.from_config({"treshold": 1})


def test_real_nino34_index_reproduces_the_paper_counts():
    """The published index, 1880-01..2018-12, thresholds +-0.5: 337 El Nino, 485 La Nina, 658/164."""
    from pathlib import Path

    from geoxai.enso.psl import read_psl_index

    index = read_psl_index(Path(__file__).parent / "data" / "nino34.long.anom.data")
    table = phase_labels(index, months(1880, 139))
    counts = count_classes(table, ("La Nina", "El Nino"))
    assert counts["all"] == {"La Nina": 485, "El Nino": 337, "total": 822}
    assert counts["train"]["total"] == 658 and counts["validation"]["total"] == 164


def test_sample_index_is_the_mean_over_the_covered_months_or_dropped():
    index = pd.Series(np.arange(24, dtype=float), index=months(2000, 2))
    winters = ["1999-11/2000-03", "2000-11/2001-03"]
    settings = LabelSettings(index_months="sample", positive_threshold=5.0, negative_threshold=-5.0)
    table = phase_labels(index, ["2000-01", "2001-01"], settings, covered=winters)
    # 1999-11 and 1999-12 are not in the index: that winter is dropped, not labelled by Jan-Mar.
    assert table["time"].tolist() == ["2001-01"]
    assert table["index"].tolist() == [np.mean([10, 11, 12, 13, 14])]
    assert table.attrs["dropped"] == {"other_months": 0, "index_missing": 1, "neutral": 0}
    stamp = phase_labels(index, ["2000-01", "2001-01"], LabelSettings(positive_threshold=5.0,
                                                                     negative_threshold=-5.0))
    assert stamp["index"].tolist() == [12.0]


def test_sample_index_needs_the_covered_months():
    with pytest.raises(GeoxaiError, match=r"enso\.labels\.index_months.*enso\.sst\.sample_months"):
        phase_labels(pd.Series(1.0, index=months(2000, 2)), months(2000, 2),
                     LabelSettings(index_months="sample"))
    with pytest.raises(GeoxaiError, match=r"config key enso\.labels\.index_months='mean'"):
        LabelSettings.from_config({"index_months": "mean"})
