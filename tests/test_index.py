"""Index readers on files whose answer is known, malformed files, and the PSL round trip."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from geoxai.core.errors import GeoxaiError
from geoxai.enso.index import read_csv_index, read_index
from geoxai.enso.psl import read_psl_index, write_psl_index

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
    psl = read_index(write(tmp_path, PSL_TEXT), {"format": "psl"})
    assert math.isclose(psl["1870-01"], -1.0)
    assert read_index(tmp_path / "index.data", {}).equals(psl)  # psl is the default
    csv = read_index(write(tmp_path, "t,v\n2000-01,1.5\n", "i.csv"),
                     {"format": "csv", "time_column": "t", "value_column": "v"})
    assert csv.to_dict() == {"2000-01": 1.5}
    with pytest.raises(GeoxaiError, match="Unknown index format 'json'.*enso.index.format"):
        read_index(tmp_path / "index.data", {"format": "json"})


# CPC's sstoi.indices layout: ANOM is repeated, once after each region's total.
SSTOI_TEXT = """\
 YR   MON  NINO1+2  ANOM   NINO3    ANOM   NINO4    ANOM NINO3.4    ANOM
1982   1   24.29   -0.17   25.87    0.24   28.30    0.00   26.72    0.15
1982   2   25.49   -0.58   26.38    0.01   28.21    0.11   26.70   -0.02
1982   3   25.21   -1.31   26.98   -0.16   28.41    0.22   27.20   -0.02
"""
CPC_YEAR_MONTH = {"format": "table", "year_column": "YR", "month_column": "MON"}


def psl_months_and_values():
    """The months and values PSL_TEXT holds, flags included, in file order."""
    rows = [line.split() for line in PSL_TEXT.splitlines()[1:3]]
    return [(int(row[0]), month, row[month]) for row in rows for month in range(1, 13)]


def test_cpc_sstoi_columns_by_repeat_name_and_position(tmp_path):
    path = write(tmp_path, SSTOI_TEXT, "sstoi.indices")
    anomaly = read_index(path, {**CPC_YEAR_MONTH, "value_column": "ANOM.3"})
    assert anomaly.to_dict() == {"1982-01": 0.15, "1982-02": -0.02, "1982-03": -0.02}
    assert anomaly.name == "index" and anomaly.dtype == float
    assert read_index(path, {**CPC_YEAR_MONTH, "value_column": 10}).equals(anomaly)
    nino12 = read_index(path, {**CPC_YEAR_MONTH, "value_column": "ANOM.0"})
    assert nino12["1982-03"] == -1.31
    # a header name with a dot is the name, not a repeat of NINO3
    total = read_index(path, {**CPC_YEAR_MONTH, "value_column": "NINO3.4"})
    assert total.to_dict() == {"1982-01": 26.72, "1982-02": 26.70, "1982-03": 27.20}
    by_position = read_index(path, {"format": "table", "year_column": 1, "month_column": 2,
                                    "value_column": 9})
    assert by_position.equals(total)


def test_a_repeated_name_alone_is_ambiguous_and_the_error_lists_the_choices(tmp_path):
    path = write(tmp_path, SSTOI_TEXT, "sstoi.indices")
    with pytest.raises(GeoxaiError, match="ambiguous") as error:
        read_index(path, {**CPC_YEAR_MONTH, "value_column": "ANOM"})
    message = str(error.value)
    assert f"{path}, line 1:" in message
    assert "enso.index.value_column" in message
    assert "'ANOM.3' (column 10, after 'NINO3.4')" in message


def test_cpc_detrend_table(tmp_path):
    text = ("YR MON TOTAL ClimAdjust ANOM\n"
            "1950   1   24.56   26.18   -1.62\n"
            "1950   2   25.07   26.39   -1.32\n"
            "1950   3   25.88   26.95  -99.99\n")
    # the section as the workflow passes it, download keys included
    section = {"url": "https://example.org/detrend.nino34.ascii.txt", "sha256": None,
               **CPC_YEAR_MONTH, "value_column": "ANOM"}
    series = read_index(write(tmp_path, text, "detrend.nino34.ascii.txt"), section)
    assert series.to_dict() == {"1950-01": -1.62, "1950-02": -1.32}


def test_cpc_table_csv_and_psl_text_of_the_same_numbers_are_equal(tmp_path):
    psl = read_psl_index(write(tmp_path, PSL_TEXT))
    rows = psl_months_and_values()
    table = "YR MON TOTAL ANOM\n" + "".join(
        f"{year:4d}{month:4d}   27.00  {value:>6s}\n" for year, month, value in rows)
    cpc = read_index(write(tmp_path, table, "cpc.txt"), {**CPC_YEAR_MONTH, "value_column": "ANOM"})
    pd.testing.assert_series_equal(cpc, psl)
    # the CSV lists the months backwards: the reader puts them in time order
    csv = "year,month,nino34\n" + "".join(
        f"{year},{month},{value}\n" for year, month, value in reversed(rows))
    from_csv = read_index(write(tmp_path, csv, "i.csv"), {
        "format": "csv", "year_column": "year", "month_column": "month",
        "value_column": "nino34"})
    pd.testing.assert_series_equal(from_csv, psl)


def test_csv_with_year_and_month_columns(tmp_path):
    # a spreadsheet's export: byte-order mark, months as 01, a blank cell, a blank line
    text = "\ufeffyear, month ,nino34,other\n1990,02,0.25,x\n\n1990,01,-0.5,y\n1990,3,,z\n"
    series = read_index(write(tmp_path, text, "i.csv"), {
        "format": "csv", "year_column": "year", "month_column": "month",
        "value_column": "nino34"})
    assert list(series.index) == ["1990-01", "1990-02"]
    assert series.to_list() == [-0.5, 0.25]


def test_table_with_one_date_column(tmp_path):
    text = "date  value\n2001-01-15  0.5\n2001-02  -0.25\n"
    series = read_index(write(tmp_path, text, "i.txt"),
                        {"format": "table", "time_column": "date", "value_column": "value"})
    assert series.to_dict() == {"2001-01": 0.5, "2001-02": -0.25}


def test_missing_value_flags_are_configurable(tmp_path):
    text = ("YR MON ANOM\n2000 1 -99.99\n2000 2 -999\n2000 3 ***\n2000 4 -9999.0\n"
            "2000 5 0.5\n2000 6 NaN\n")
    path = write(tmp_path, text, "i.txt")
    spec = {**CPC_YEAR_MONTH, "value_column": "ANOM"}
    with pytest.raises(GeoxaiError, match=r"line 4: .*'\*\*\*'.*enso.index.missing_values"):
        read_index(path, spec)
    assert read_index(path, {**spec, "missing_values": [-99.99, -999, -9999, "***"]}).to_dict() \
        == {"2000-05": 0.5}
    kept = read_index(path, {**spec, "missing_values": ["***"]})
    assert kept.to_dict() == {"2000-01": -99.99, "2000-02": -999.0, "2000-04": -9999.0,
                              "2000-05": 0.5}
    assert read_index(path, {**spec, "missing_values": "***"}).equals(kept)


TABLE_SPEC = {**CPC_YEAR_MONTH, "value_column": "ANOM"}
CSV_SPEC = {"format": "csv", "year_column": "year", "month_column": "month",
            "value_column": "nino34"}
GOOD_TABLE = "YR MON ANOM\n1990 1 0.1\n1990 2 0.2\n1990 3 0.3\n"
GOOD_CSV = "year,month,nino34\n1990,1,0.1\n1990,2,0.2\n1990,3,0.3\n"


@pytest.mark.parametrize(
    ("spec", "text", "line", "keys"),
    [
        (TABLE_SPEC, replace_line(GOOD_TABLE, 3, "1990 2"), 3, ["enso.index.format"]),
        (TABLE_SPEC, replace_line(GOOD_TABLE, 4, "1990 3 0.3 7"), 4, ["enso.index.format"]),
        (CSV_SPEC, replace_line(GOOD_CSV, 2, "1990,1"), 2, ["enso.index.format"]),
        (TABLE_SPEC, replace_line(GOOD_TABLE, 3, "1990 2 0.2x"), 3,
         ["enso.index.value_column", "enso.index.missing_values"]),
        (TABLE_SPEC, replace_line(GOOD_TABLE, 4, "1990 13 0.3"), 4, ["enso.index.month_column"]),
        (CSV_SPEC, replace_line(GOOD_CSV, 3, "1990,0,0.2"), 3, ["enso.index.month_column"]),
        (TABLE_SPEC, replace_line(GOOD_TABLE, 2, "199O 1 0.1"), 2, ["enso.index.year_column"]),
        (TABLE_SPEC, replace_line(GOOD_TABLE, 4, "1990 1 0.3"), 4,
         ["enso.index.year_column", "enso.index.month_column"]),
        (CSV_SPEC, replace_line(GOOD_CSV, 3, "1990,1.0,0.2"), 3,
         ["enso.index.year_column", "enso.index.month_column"]),
        ({"format": "csv", "time_column": "t", "value_column": "v"}, "t,v\n2000-01,1\n2000-14,2\n",
         3, ["enso.index.time_column"]),
        ({**TABLE_SPEC, "value_column": "NINO34"}, GOOD_TABLE, 1, ["enso.index.value_column"]),
        ({**TABLE_SPEC, "value_column": 4}, GOOD_TABLE, 1, ["enso.index.value_column"]),
        ({**TABLE_SPEC, "value_column": "MON"}, GOOD_TABLE, 1,
         ["enso.index.month_column", "enso.index.value_column"]),
        (TABLE_SPEC, GOOD_CSV, 1, ["enso.index.year_column", "enso.index.format"]),
        (CSV_SPEC, GOOD_TABLE, 1, ["enso.index.year_column", "enso.index.format"]),
        (TABLE_SPEC, "\n  YR MON ANOM\n", 2, []),
    ],
)
def test_malformed_tables_name_the_file_line_and_keys(tmp_path, spec, text, line, keys):
    path = write(tmp_path, text, "index.txt")
    with pytest.raises(GeoxaiError) as error:
        read_index(path, spec)
    message = str(error.value)
    assert message.startswith(f"{path}, line {line}:")
    for key in keys:
        assert key in message


def test_line_numbers_count_blank_lines(tmp_path):
    text = "year,month,nino34\n\n1990,1,0.1\n\n\n1990,13,0.2\n"
    with pytest.raises(GeoxaiError, match="line 6:"):
        read_index(write(tmp_path, text, "i.csv"), CSV_SPEC)


def test_duplicate_month_names_both_lines(tmp_path):
    text = "YR MON ANOM\n1990 2 0.1\n1990 1 0.2\n1990 2 0.3\n"
    with pytest.raises(GeoxaiError, match="1990-02 appears more than once.*lines 2 and 4"):
        read_index(write(tmp_path, text, "i.txt"), TABLE_SPEC)


def test_empty_and_missing_table_files(tmp_path):
    with pytest.raises(GeoxaiError, match="is empty"):
        read_index(write(tmp_path, "\n\n", "i.txt"), TABLE_SPEC)
    with pytest.raises(GeoxaiError, match="does not exist"):
        read_index(tmp_path / "none.csv", CSV_SPEC)


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        ({"format": "csv", "csv_time_column": "t"},
         "enso.index.csv_time_column was renamed.*enso.index.time_column"),
        ({"format": "csv", "csv_value_column": "v"}, "enso.index.value_column"),
        ({"value_colum": "x"}, "unknown config key enso.index.value_colum"),
        ({"format": "table", "year_column": "YR", "month_column": "MON"},
         "enso.index.value_column is not set"),
        ({"format": "table", "value_column": "v"}, "enso.index.year_column is not set"),
        ({"format": "table", "value_column": "v", "year_column": "YR"},
         "enso.index.month_column is not set"),
        ({"format": "csv", "value_column": "v", "time_column": "t", "year_column": "YR"},
         "enso.index.time_column and enso.index.year_column/month_column are both set"),
        ({"value_column": "ANOM"}, "enso.index.value_column apply to tables only"),
        ({"missing_values": [-999]}, "enso.index.missing_values apply to tables only"),
        ({**TABLE_SPEC, "value_column": 0}, "enso.index.value_column = 0"),
        ({**TABLE_SPEC, "year_column": True}, "enso.index.year_column = True"),
        ({**TABLE_SPEC, "value_column": " "}, "enso.index.value_column = ' '"),
        ({**TABLE_SPEC, "missing_values": [[1]]}, "enso.index.missing_values holds"),
    ],
)
def test_config_mistakes_name_the_key(tmp_path, spec, says):
    path = write(tmp_path, GOOD_TABLE, "index.txt")
    with pytest.raises(GeoxaiError, match=says):
        read_index(path, {"url": "https://example.org/index.txt", "sha256": None, **spec})


def test_the_section_path_in_errors_follows_where(tmp_path):
    path = write(tmp_path, GOOD_TABLE, "index.txt")
    with pytest.raises(GeoxaiError, match="other.index.value_column"):
        read_index(path, {**TABLE_SPEC, "value_column": "x"}, where="other.index")


def test_psl_errors_point_at_the_format_key(tmp_path):
    path = write(tmp_path, GOOD_TABLE, "index.txt")
    with pytest.raises(GeoxaiError, match=r"line 1:.*enso.index.format"):
        read_index(path, {"format": "psl"})
