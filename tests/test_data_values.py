"""The loaders refuse bad values and bad files with one line naming file, column, line and fix, and
never hand the model a silently wrong table (issue 12, "Trust")."""

from __future__ import annotations

import gzip
import io
import logging
import re
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from qhybrid.data import Dataset, load_dataset
from qhybrid.data.checks import FLOAT32_MAX, check_dataset
from qhybrid.data.dataset import encode_labels
from qhybrid.data.finance import pooled_samples
from qhybrid.data.preprocess import FoldPreprocessor
from qhybrid.data.prices import load_prices
from qhybrid.errors import DataError
from qhybrid.schema import CsvDataSpec, GenomicsDataSpec, HoldoutSpec, StratifiedKFoldSpec
from qhybrid.training.cv import make_folds

# 20 rows, two classes; line n of the file holds row n - 2
GOOD = "a,b,y\n" + "".join(f"{i},{i % 3},{'x' if i % 2 else 'z'}\n" for i in range(20))


def _file(tmp_path: Path, content, name: str = "d.csv") -> Path:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def _load(path: Path, task: str = "auto", **keys) -> Dataset:
    keys.setdefault("target", "y")
    return load_dataset(CsvDataSpec(path=str(path), **keys), task)


def _refused(path: Path, task: str = "auto", **keys) -> str:
    with pytest.raises(DataError) as info:
        _load(path, task, **keys)
    message = info.value.message
    assert "\n" not in message and "Fix: " in message
    return message


class TestOutOfRangeValues:
    @pytest.mark.parametrize("value", ["inf", "-inf", "1e39", "-4e38", "1e300", "1e309", "Infinity"])
    def test_refused_naming_column_and_lines(self, tmp_path, value):
        path = _file(tmp_path, GOOD + f"{value},1,x\n5,{value},z\n")
        message = _refused(path)
        assert str(path.resolve()) in message and "'a', 'b'" in message
        assert "on line 22" in message and "2 rows in all, on lines 22 and 23" in message
        assert "data.nan_policy=drop" in message and "data.nan_policy=impute" in message

    def test_the_bound_is_float32s_largest_value(self, tmp_path):
        at_bound = repr(FLOAT32_MAX)  # exactly float32's largest
        assert np.isfinite(np.float32(float(at_bound)))
        data = _load(_file(tmp_path, GOOD + f"{at_bound},1,x\n-{at_bound},2,z\n"))
        assert np.abs(data.X).max() == float(at_bound)
        _refused(_file(tmp_path, GOOD + "3.5e38,1,x\n", "over.csv"))

    @pytest.mark.parametrize("scaler", ["standard", "robust", "minmax"])
    def test_values_at_the_bound_survive_the_per_fold_scaler(self, scaler):
        # the scaler's float64 squares and sums stay finite, and so do the float32 inputs it gives the model
        X = np.array([[FLOAT32_MAX], [-FLOAT32_MAX], [0.0], [1.0]] * 5)
        out = FoldPreprocessor(scaler).fit(X).transform(X)
        assert np.isfinite(out).all() and np.isfinite(out.astype(np.float32)).all()

    def test_drop_removes_those_rows_and_says_how_many_and_why(self, tmp_path, caplog):
        path = _file(tmp_path, GOOD + "inf,1,x\n1e39,2,z\n,3,x\n")
        with caplog.at_level(logging.WARNING):
            data = _load(path, nan_policy="drop")
        assert data.n_samples == 20 and np.isfinite(data.X).all()
        text = caplog.text
        assert "dropping 2 rows" in text and "float32 range" in text and "lines 22 and 23" in text
        assert "dropping 1 row with missing feature values" in text and "line 24" in text

    def test_impute_treats_them_as_missing_for_the_per_fold_imputer(self, tmp_path, caplog):
        path = _file(tmp_path, GOOD + "inf,1,x\n7,1e39,z\n")
        with caplog.at_level(logging.WARNING):
            data = _load(path, nan_policy="impute")
        assert data.n_samples == 22 and np.isnan(data.X[20, 0]) and np.isnan(data.X[21, 1])
        assert data.X[21, 0] == 7 and "2 values outside the float32 range" in caplog.text
        filled = FoldPreprocessor("standard", impute=True).fit(data.X).transform(data.X)
        assert np.isfinite(filled).all()

    def test_the_test_file_is_held_to_the_same_rule(self, tmp_path):
        train = _file(tmp_path, GOOD, "train.csv")
        test = _file(tmp_path, "a,b,y\n1,2,x\n-inf,3,z\n", "test.csv")
        message = _refused(train, test_path=str(test))
        assert message.startswith("data.test_path: ") and "on line 3" in message

    def test_a_genotype_csv_with_inf_names_column_and_line(self, tmp_path):
        path = _file(tmp_path, "rs1,rs2,population\n0,1,A\n2,inf,B\n1,1,A\n0,2,B\n")
        with pytest.raises(DataError, match=r"column 'rs2' holds 'inf' on line 3"):
            load_dataset(GenomicsDataSpec(path=str(path), pca_components=0))

    def test_the_assembled_data_set_is_checked_whatever_the_loader(self):
        X = np.zeros((4, 2))
        X[2, 1] = np.inf
        data = Dataset(name="csv", X=X, y=np.array([0, 1, 0, 1]), classes=["a", "b"], feature_names=["u", "v"])
        with pytest.raises(DataError, match=r"column\(s\) 'v' on 1 row \(data row 2\)"):
            check_dataset(data, allow_nan=True)
        X[2, 1] = np.nan
        with pytest.raises(DataError, match="missing"):
            check_dataset(data, allow_nan=False)
        check_dataset(data, allow_nan=True)  # NaN only when imputing


class TestNumbersAndText:
    def test_text_among_numbers_names_column_line_and_value(self, tmp_path):
        message = _refused(_file(tmp_path, GOOD + "7,x,z\n8,?,x\n"))
        assert "column 'b' mixes numbers and text: 'x' on line 22" in message
        assert "2 text cells in all, on lines 22 and 23" in message

    def test_a_decimal_comma_is_pointed_out(self, tmp_path):
        message = _refused(_file(tmp_path, "a;b;y\n1,5;2;x\n3;4;z\n"), sep=";")
        assert "'1,5' on line 2" in message and "decimal comma" in message

    def test_a_text_column_is_non_numeric(self, tmp_path):
        message = _refused(_file(tmp_path, "a,b,y\nred,1,x\nblue,2,z\n"))
        assert "non-numeric feature columns" in message and "'red' on line 2" in message

    @pytest.mark.parametrize("policy", ["error", "drop", "impute"])
    def test_a_column_empty_in_every_row_is_refused_under_every_policy(self, tmp_path, policy):
        message = _refused(_file(tmp_path, "a,b,y\n1,,x\n2,,z\n3,,x\n"), nan_policy=policy)
        assert "'b'" in message and "every row" in message

    def test_blank_cells_are_missing_and_true_false_are_numbers(self, tmp_path):
        data = _load(_file(tmp_path, "a,b,y\n1, ,x\n2,True,z\n3,False,x\n4,,z\n"), nan_policy="impute")
        assert np.isnan(data.X[0, 1]) and data.X[1:3, 1].tolist() == [1.0, 0.0] and np.isnan(data.X[3, 1])

    def test_a_constant_feature_loads_with_a_warning(self, tmp_path, caplog):
        with caplog.at_level(logging.WARNING):
            data = _load(_file(tmp_path, "a,c,y\n1,5,x\n2,5,z\n3,5,x\n"))
        assert data.feature_names == ["a", "c"] and "'c' hold a single value" in caplog.text

    def test_line_numbers_count_blank_lines_and_quoted_line_breaks(self, tmp_path):
        path = _file(tmp_path, 'a,b,y\n\n1,2,x\n\n3,4,"two\nlines"\n5,inf,x\n')
        assert "on line 7" in _refused(path)


class TestFileShape:
    @pytest.mark.parametrize("sep, name, fix", [(";", "semicolon", "data.sep=';'"), ("\t", "tab", "data.sep=tab"),
                                                ("|", "pipe", "data.sep='|'")])
    def test_another_separator_is_named_with_the_override_that_reads_it(self, tmp_path, sep, name, fix):
        path = _file(tmp_path, GOOD.replace(",", sep))
        message = _refused(path)
        assert f"looks {name}-separated" in message and fix in message and "is not a column" not in message

    @pytest.mark.parametrize("override", ["data.sep=';'", "data.sep=tab", "data.sep='\\t'", "data.sep='|'"])
    def test_the_suggested_override_parses_and_reads_the_file(self, tmp_path, compose, override):
        from qhybrid.schema import validate

        sep = {"tab": "\t", "'\\t'": "\t"}.get(override.split("=", 1)[1], override.split("=", 1)[1].strip("'"))
        path = _file(tmp_path, GOOD.replace(",", sep))
        spec = validate(compose(["data=csv", f"data.path={path}", "data.target=y", override])).data
        assert load_dataset(spec).X.shape == (20, 2)

    def test_excels_separator_line_is_named(self, tmp_path):
        message = _refused(_file(tmp_path, "sep=;\n" + GOOD.replace(",", ";")))
        assert "Excel's separator line 'sep=;'" in message and "data.sep=';'" in message

    def test_repeated_column_names_are_refused_in_every_file(self, tmp_path):
        dup = "a,b,a,y\n1,2,3,x\n4,5,6,z\n"
        message = _refused(_file(tmp_path, dup))
        assert "'a' (columns 1, 3)" in message and "a.1" in message
        message = _refused(_file(tmp_path, GOOD, "train.csv"), test_path=str(_file(tmp_path, dup, "test.csv")))
        assert message.startswith("data.test_path: ")
        with pytest.raises(DataError, match="'rs1' \\(columns 1, 2\\)"):
            load_dataset(GenomicsDataSpec(path=str(_file(tmp_path, "rs1,rs1,population\n0,1,A\n", "g.csv"))))

    def test_a_trailing_separator_does_not_shift_the_values(self, tmp_path):
        data = _load(_file(tmp_path, "a,b,y\n1,2,x,\n3,4,z,\n"))
        assert data.X.tolist() == [[1, 2], [3, 4]] and data.classes == ["x", "z"]

    def test_a_row_with_more_fields_than_the_header_is_refused(self, tmp_path):
        assert "line 2 has 4 fields" in _refused(_file(tmp_path, "a,b,y\n1,2,x,9\n3,4,z\n"))
        assert "line 3" in _refused(_file(tmp_path, "a,b,y\n1,2,x\n3,4,z,9\n", "late.csv"))

    def test_an_unnamed_column_with_values_is_refused_an_empty_one_ignored(self, tmp_path):
        message = _refused(_file(tmp_path, ",a,b,y\n0,1,2,x\n1,3,4,z\n"))
        assert "column 1 has no name" in message and "row index" in message
        data = _load(_file(tmp_path, "a,b,y,\n1,2,x,\n3,4,z,\n", "trailing.csv"))
        assert data.feature_names == ["a", "b"]

    @pytest.mark.parametrize("content, expected", [
        ("a,b,y\n1,2,x\n".encode("utf-16"), "UTF-16"),
        ("a,b,y\n1,2,x\n3,4,caf\xe9\n".encode("latin-1"), "byte 0xe9 on line 3"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary data"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(64), "Excel workbook"),
    ])
    def test_files_that_are_not_utf8_text_say_what_they_are(self, tmp_path, content, expected):
        message = _refused(_file(tmp_path, content))
        assert "is not a UTF-8 text file" in message or "Excel" in message
        assert expected in message and "CSV UTF-8" in message

    def test_a_late_bad_byte_is_located(self, tmp_path):
        content = (GOOD * 400).encode() + b"1,2,\xff\n"
        line = content.count(b"\n")
        assert f"on line {line}" in _refused(_file(tmp_path, content))

    def test_an_xlsx_workbook_is_named(self, tmp_path):
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as book:
            book.writestr("[Content_Types].xml", "<Types/>")
            book.writestr("xl/workbook.xml", "<workbook/>")
        assert "spreadsheet workbook" in _refused(_file(tmp_path, buffer.getvalue(), "d.xlsx"))

    @pytest.mark.parametrize("name", ["d.csv", "d.csv.gz", "d.gz"])
    def test_gzip_and_zip_csv_files_load(self, tmp_path, name):
        assert _load(_file(tmp_path, gzip.compress(GOOD.encode()), name)).n_samples == 20
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("d.csv", GOOD)
        assert _load(_file(tmp_path, buffer.getvalue(), "d.zip")).n_samples == 20

    def test_a_utf8_bom_is_fine(self, tmp_path):
        data = _load(_file(tmp_path, b"\xef\xbb\xbf" + GOOD.encode()))
        assert data.feature_names == ["a", "b"]

    def test_a_header_only_test_file_is_named(self, tmp_path):
        message = _refused(_file(tmp_path, GOOD, "train.csv"), test_path=str(_file(tmp_path, "a,b,y\n", "t.csv")))
        assert message.startswith("data.test_path: ") and "no data rows" in message

    def test_a_near_miss_column_name_is_suggested(self, tmp_path):
        assert "did you mean 'Y'?" in _refused(_file(tmp_path, "a,b,Y\n1,2,x\n3,4,z\n"))


class TestLabels:
    def test_labels_and_feature_names_are_plain_text(self, tmp_path):
        labels = ["$0_$50k", "<b>x</b>", "[red]", "a,b", "ünï 日本", "1e5", "007", "None?"]
        table = pd.DataFrame({"f$[1]": range(16), "<g>,h": np.arange(16) % 3, "ünï": 1.5, "y": labels * 2})
        path = tmp_path / "labels.csv"
        table.to_csv(path, index=False)
        data = _load(path)
        assert set(data.classes) == set(labels) and data.feature_names == ["f$[1]", "<g>,h", "ünï"]
        assert [data.classes[k] for k in data.y] == labels * 2

    def test_integer_labels_keep_their_spelling_across_gaps(self, tmp_path):
        data = _load(_file(tmp_path, "a,y\n1,1\n2,\n3,0\n4,1\n5,0\n"), nan_policy="drop")
        assert data.classes == ["0", "1"] and data.y.tolist() == [1, 0, 1, 0]

    def test_a_test_file_with_a_gap_in_its_labels_matches_the_training_labels(self, tmp_path):
        train = _file(tmp_path, "a,y\n1,1\n2,0\n3,1\n4,0\n", "train.csv")
        test = _file(tmp_path, "a,y\n1,1\n2,\n3,0\n", "test.csv")
        data = _load(train, test_path=str(test), nan_policy="drop")
        assert data.classes == ["0", "1"] and data.fixed_test.tolist() == [4, 5]

    def test_labels_differing_only_in_spaces_are_one_class(self, tmp_path, caplog):
        with caplog.at_level(logging.WARNING):
            data = _load(_file(tmp_path, "a,y\n1,yes\n2, yes\n3,no\n"))
        assert data.classes == ["no", "yes"] and "surrounding spaces" in caplog.text

    def test_one_and_the_string_one_are_one_class(self):
        y, classes = encode_labels(np.array([1, "1", 2, "2"], dtype=object), None, source="test")
        assert classes == ["1", "2"] and y.tolist() == [0, 0, 1, 1]

    def test_a_target_empty_in_every_row(self, tmp_path):
        assert "empty in every row" in _refused(_file(tmp_path, "a,b,y\n1,2,\n3,4,\n"), nan_policy="drop")

    def test_an_infinite_label_is_refused(self, tmp_path):
        assert "'inf' on line 3" in _refused(_file(tmp_path, "a,y\n1,2\n2,inf\n"))

    def test_a_continuous_target_for_classification_says_so(self, tmp_path):
        rng = np.random.default_rng(0)
        values = rng.normal(size=40).round(3)
        table = pd.DataFrame({"a": range(40), "y": values})
        table.to_csv(tmp_path / "r.csv", index=False)
        message = _refused(tmp_path / "r.csv", task="classification")
        distinct = len(set(values.tolist()))
        assert f"data.target='y' looks continuous ({distinct} distinct values in 40 rows, e.g. " in message
        assert "task=classification needs classes" in message and "task=regression" in message
        assert "bin the values" in message and "n_splits" not in message
        assert _load(tmp_path / "r.csv").regression  # task=auto: the same column is a regression target

    def test_an_identifier_as_target_says_so(self, tmp_path):
        path = _file(tmp_path, "a,y\n" + "".join(f"{i},id{i}\n" for i in range(30)))
        assert "looks like an identifier" in _refused(path)

    def test_a_few_integer_classes_are_classes(self, tmp_path):
        path = _file(tmp_path, "a,y\n" + "".join(f"{i},{i % 3}\n" for i in range(30)))
        assert _load(path).classes == ["0", "1", "2"]

    def test_the_target_cannot_be_the_time_column(self, tmp_path):
        path = _file(tmp_path, "t,a,y\n2020-01-01,1,x\n2020-01-02,2,z\n")
        assert "both 'y'" in _refused(path, time_column="y")

    def test_a_time_column_gap_names_its_line(self, tmp_path):
        path = _file(tmp_path, "t,a,y\n2020-01-01,1,x\n,2,z\n2020-01-03,3,x\n")
        assert "empty cell on line 3" in _refused(path, time_column="t")


def _dataset(counts: dict[str, int]) -> Dataset:
    labels = np.concatenate([np.full(n, i) for i, n in enumerate(counts.values())])
    return Dataset(name="csv", X=np.zeros((len(labels), 1)), y=labels, classes=list(counts), feature_names=["a"])


class TestSplitsSayWhatIsWrong:
    def test_a_class_with_one_row_is_named_and_fewer_folds_not_suggested(self):
        with pytest.raises(DataError) as info:
            make_folds(StratifiedKFoldSpec(n_splits=5), _dataset({"a": 10, "b": 10, "rare": 1}))
        message = info.value.message
        assert "class 'rare' has a single row (of 21)" in message and "n_splits" not in message.split("Fix:")[1]
        with pytest.raises(DataError, match="class 'rare' has a single row"):
            make_folds(HoldoutSpec(), _dataset({"a": 10, "b": 10, "rare": 1}))

    def test_a_small_class_gets_a_fold_count_that_works(self):
        data = _dataset({"a": 10, "b": 10, "small": 3})
        with pytest.raises(DataError) as info:
            make_folds(StratifiedKFoldSpec(n_splits=5), data)
        assert "'small': 3 rows" in info.value.message
        suggested = int(re.search(r"lower cv.n_splits to at most (\d+)", info.value.message).group(1))
        assert len(make_folds(StratifiedKFoldSpec(n_splits=suggested), data)) == suggested

    def test_a_holdout_test_part_smaller_than_the_classes_gets_a_fraction_that_works(self):
        data = _dataset({"a": 10, "b": 10, "c": 10, "d": 10})
        with pytest.raises(DataError) as info:
            make_folds(HoldoutSpec(test_fraction=0.05), data)
        assert "test part of 2 of 40 rows, fewer than the 4 classes" in info.value.message
        fraction = float(re.search(r"at least ([0-9.]+)", info.value.message).group(1))
        fold = make_folds(HoldoutSpec(test_fraction=fraction), data)[0]
        assert set(data.y[fold.test]) == {0, 1, 2, 3}


def _prices(tmp_path: Path, close: list, **columns) -> Path:
    days = pd.bdate_range("2020-01-01", periods=len(close))
    table = pd.DataFrame({"Date": days.strftime("%Y-%m-%d"), "Open": 1.0, "High": 1.0, "Low": 1.0, "Close": close,
                          "Volume": 100, **columns})
    path = tmp_path / "prices.csv"
    table.to_csv(path, index=False)
    return path


class TestPrices:
    @pytest.mark.parametrize("bad, word", [(0.0, "infinite"), (-3.0, "undefined"), (float("inf"), "")])
    def test_a_price_that_breaks_the_log_return_names_ticker_and_day(self, tmp_path, bad, word):
        close = [10.0 + i for i in range(10)]
        close[4] = bad
        with pytest.raises(DataError) as info:
            load_prices(["ACME"], None, None, prices_csv=str(_prices(tmp_path, close)))
        message = info.value.message
        assert "the Close of ACME" in message and "2020-01-07" in message and word in message

    def test_text_in_the_close_column_is_named_not_dropped(self, tmp_path):
        close = [str(10.0 + i) for i in range(10)]
        close[2] = "1,234.5"
        with pytest.raises(DataError, match=r"'1,234.5' on 2020-01-03"):
            load_prices(["ACME"], None, None, prices_csv=str(_prices(tmp_path, close)))

    def test_repeated_columns_and_days_are_refused(self, tmp_path):
        path = _prices(tmp_path, [10.0 + i for i in range(10)])
        table = pd.read_csv(path)
        table["close"] = table["Close"]
        table.to_csv(path, index=False)
        with pytest.raises(DataError, match="2 columns for Close: Close, close"):
            load_prices(["ACME"], None, None, prices_csv=str(path))
        table = pd.read_csv(_prices(tmp_path, [10.0 + i for i in range(10)]))
        table = pd.concat([table, table.assign(Close=table["Close"] * 2)])
        table.to_csv(path, index=False)
        with pytest.raises(DataError, match="different Close prices on the same day: 2020-01-01"):
            load_prices(["ACME"], None, None, prices_csv=str(path))

    def test_an_indicator_outside_float32_names_ticker_and_day(self):
        days = pd.bdate_range("2020-01-01", periods=120)
        close = pd.Series(np.linspace(10, 20, 120), index=days)
        close.iloc[80] = 1e-300  # positive, but the next day's return is 1e301
        ohlcv = pd.DataFrame({c: close for c in ("Open", "High", "Low", "Close")}).assign(Volume=1.0)
        expected = rf"ACME: the indicator '\w+' is \S+ on {days[80].date()} \(2 days in all\)"
        with pytest.raises(DataError, match=expected):
            pooled_samples({"ACME": ohlcv}, seq_length=5)
