"""Index readers on files whose answer is known, malformed files, and the PSL round trip."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from geoxai.errors import GeoxaiError
from geoxai.index import read_csv_index, read_index, read_psl_index, write_psl_index

# Two years in the PSL layout; 1871's last two months are missing, the notes contain numbers.
PSL_TEXT = """\
  1870  1871
1870   -1.00   -1.20   -0.83   -0.81   -1.27   -1.08   -1.04   -0.88   -0.53   -0.92   -0.79   -0.79
1871   -0.25   -0.58   -0.43   -0.50   -0.70   -0.53   -0.60   -0.33   -0.24   -0.33  -99.99  -99.99
  -99.99
  Nino 3.4 index from HadISST, 5N-5S 170W-120W
  Anomalies relative to 1981 2010
  https://psl.noaa.gov/gcos_wgsp/Timeseries/Nino34/
"""


def write(tmp_path, text, name="index.data"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_psl_index_values_months_and_missing(tmp_path):
    series = read_psl_index(write(tmp_path, PSL_TEXT))
    assert series.name == "index"
    assert series.dtype == float
    assert len(series) == 22  # 24 months, two flagged
    assert list(series.index[:3]) == ["1870-01", "1870-02", "1870-03"]
    assert series.index[-1] == "1871-10"
    assert "1871-11" not in series.index
    assert series["1870-05"] == -1.27
    assert series["1871-10"] == -0.33
    assert not series.isna().any()


def test_psl_index_custom_missing_flag(tmp_path):
    text = "  2000  2000\n 2000" + "   -9.00" + "    0.50" * 11 + "\n   -9.00\n"
    series = read_psl_index(write(tmp_path, text))
    assert len(series) == 11
    assert series.index[0] == "2000-02"


def replace_line(text: str, number: int, new: str) -> str:
    lines = text.splitlines()
    lines[number - 1] = new
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    ("text", "line", "says"),
    [
        ("", None, "empty"),
        (replace_line(PSL_TEXT, 1, "  1870"), 1, "first and last year"),
        (replace_line(PSL_TEXT, 1, "  1871  1870"), 1, "before the first"),
        (replace_line(PSL_TEXT, 1, "  1870  1872"), 4, "year 1872"),
        (replace_line(PSL_TEXT, 1, "  1870  1870"), 3, "missing-value flag"),
        (replace_line(PSL_TEXT, 2, " 1870" + "   -1.00" * 11), 2, "12 monthly values"),
        (replace_line(PSL_TEXT, 3, " 1872" + "   -1.00" * 12), 3, "year 1871"),
        (replace_line(PSL_TEXT, 3, " 1871" + "   -1.00" * 11 + "   n/a"), 3, "not all numbers"),
        ("\n".join(PSL_TEXT.splitlines()[:3]) + "\n", 4, "file ends"),
    ],
)
def test_malformed_psl_files_name_the_line_and_what_was_expected(tmp_path, text, line, says):
    path = write(tmp_path, text)
    with pytest.raises(GeoxaiError, match=says) as error:
        read_psl_index(path)
    assert str(path) in str(error.value)
    if line is not None:
        assert f"line {line}:" in str(error.value)


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(GeoxaiError, match="does not exist"):
        read_psl_index(tmp_path / "nothing.data")


def test_psl_round_trip_is_exact(tmp_path):
    rng = np.random.default_rng(3)
    months = [f"{y:04d}-{m:02d}" for y in range(1950, 1955) for m in range(1, 13)]
    values = rng.normal(size=len(months))
    values[:6] = np.round(values[:6], 2)  # a mix of short and full-precision values
    values[[7, 30]] = np.nan  # written as the flag, then dropped when read back
    series = pd.Series(values, index=months, name="whatever")
    path = tmp_path / "out" / "index.data"
    write_psl_index(series, path, notes="synthetic\nsecond line")
    back = read_psl_index(path)
    expected = series.dropna()
    assert list(back.index) == list(expected.index)
    assert np.array_equal(back.to_numpy(), expected.to_numpy())  # bit for bit
    lines = path.read_text().splitlines()
    assert lines[0].split() == ["1950", "1954"]
    assert lines[-3:] == ["  -99.99", "synthetic", "second line"]
    assert list(path.parent.iterdir()) == [path]  # nothing temporary left behind


def test_partial_years_are_padded_with_the_flag(tmp_path):
    series = pd.Series([0.5, -0.25], index=["2001-11", "2002-02"])
    path = tmp_path / "index.data"
    write_psl_index(series, path, missing=-999.0)
    lines = path.read_text().splitlines()
    assert lines[0].split() == ["2001", "2002"]
    assert lines[1].split()[1:] == ["-999.00"] * 10 + ["0.50", "-999.00"]
    assert lines[3].strip() == "-999.00"
    assert read_psl_index(path).to_dict() == {"2001-11": 0.5, "2002-02": -0.25}


@pytest.mark.parametrize(
    ("series", "says"),
    [
        (pd.Series([1.0], index=["1999-13"]), "not a month key"),
        (pd.Series([1.0], index=["99-01"]), "not a month key"),
        (pd.Series([1.0, 2.0], index=["1999-01", "1999-01"]), "more than once"),
        (pd.Series([-99.99], index=["1999-01"]), "equals the missing flag"),
        (pd.Series([], dtype=float), "empty"),
    ],
)
def test_write_rejects_series_it_cannot_write_faithfully(tmp_path, series, says):
    with pytest.raises(GeoxaiError, match=says):
        write_psl_index(series, tmp_path / "index.data")
    assert not (tmp_path / "index.data").exists()


def test_csv_index_accepts_months_and_dates(tmp_path):
    text = "date,oni,nino34\n1950-02-01,1,0.25\n1950-01,2,-0.5\n1950-03-15,3,\n1950-04-01,4,1.5\n"
    series = read_csv_index(write(tmp_path, text, "i.csv"), time_column="date")
    assert series.name == "index"
    assert series.to_dict() == {"1950-01": -0.5, "1950-02": 0.25, "1950-04": 1.5}
    assert list(series.index) == sorted(series.index)
    other = read_csv_index(write(tmp_path, text, "i.csv"), "date", "oni")
    assert other["1950-03"] == 3.0


def test_csv_missing_column_lists_the_columns(tmp_path):
    path = write(tmp_path, "month,value\n1950-01,0.1\n", "i.csv")
    with pytest.raises(GeoxaiError, match=r"no column 'time'.*\['month', 'value'\]"):
        read_csv_index(path)
    with pytest.raises(GeoxaiError, match=r"no column 'nino34'"):
        read_csv_index(path, time_column="month")


@pytest.mark.parametrize(
    ("row", "says"),
    [("1950-13,0.1", "not a month"), ("January 1950,0.1", "not a month"),
     ("1950-02,abc", "not a number"), ("1950-01,0.3", "more than once")],
)
def test_csv_bad_rows_are_named(tmp_path, row, says):
    path = write(tmp_path, f"time,nino34\n1950-01,0.1\n{row}\n", "i.csv")
    with pytest.raises(GeoxaiError, match=says) as error:
        read_csv_index(path)
    assert str(path) in str(error.value)


def test_read_index_dispatches_and_rejects_unknown_formats(tmp_path):
    psl = read_index(write(tmp_path, PSL_TEXT), format="psl")
    assert math.isclose(psl["1870-01"], -1.0)
    csv = read_index(write(tmp_path, "t,v\n2000-01,1.5\n", "i.csv"), "csv", "t", "v")
    assert csv.to_dict() == {"2000-01": 1.5}
    with pytest.raises(GeoxaiError, match="Unknown index format 'json'"):
        read_index(tmp_path / "index.data", format="json")
