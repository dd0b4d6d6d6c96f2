"""Reading a user's delimited text file: a DataFrame, or one DataError naming the real problem.

pandas reports the symptom of a bad file, not its cause: a ';'-separated file reads as one
column (then "data.target is not a column"), an Excel workbook or a UTF-16 export as a decoding
error, a repeated header name as a silently renamed ``age.1``, and when every row ends with one
separator more than the header, the first field silently becomes the index (every value shifts
one column). So the file is looked at before pandas parses it: what it is (gzip, zip, Excel,
binary, UTF-16), which separator its header uses, and its header's names; it is then parsed
with ``index_col=False`` and any row with more fields than the header is refused.

A frame's index is each row's position among the file's data rows; ``Table.lines`` turns
positions into the file's line numbers (header = line 1) for messages.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import re
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from qhybrid.data.dataset import existing_file, shown_names
from qhybrid.errors import DataError, first_line

HEAD_BYTES = 1 << 16  # the header and the first rows of a table: enough to tell its kind and separator
MAX_HEADER_BYTES = 1 << 26  # a header line is read whole up to this (a genotype table has 1e5 columns)
SEPARATOR_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
# spellings of a separator that survive the shell and Hydra's override parser (no escapes there)
_SEPARATOR_ALIASES = {"tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";", "pipe": "|", "space": " "}
_NOT_UTF8_FIX = "save it as UTF-8 text (in Excel: Save As > CSV UTF-8) and point {key} at that file"


def separator(value: str) -> str:
    """data.sep as pandas needs it: `tab` and a literal backslash-t (what Hydra passes on for
    '\\t') mean a tab."""
    if not value:
        raise DataError("data.sep is empty", "set data.sep=',' (or ';', tab, '|')")
    return _SEPARATOR_ALIASES.get(value, value)


def separator_override(sep: str) -> str:
    """How to pass ``sep`` on the command line: ; | and a space need quotes for both the shell
    and Hydra's override parser."""
    if sep == "\t":
        return "data.sep=tab"
    return f"\"data.sep='{sep}'\""


@dataclass
class Table:
    frame: pd.DataFrame  # index: each row's position among the file's data rows (kept when reordered)
    path: Path  # resolved, as messages show it
    key: str  # the config key that named the file
    line_index: "_LineIndex"
    unnamed: list[str] = field(default_factory=list)  # pandas' names of columns with a blank header

    @property
    def where(self) -> str:
        return f"{self.key}: {self.path}"

    def lines(self, rows) -> np.ndarray:
        """The file's line numbers of the frame's rows ``rows`` (positions in its current order)."""
        return self.line_index(self.frame.index.to_numpy()[np.asarray(rows, dtype=np.int64)])

    def rows_text(self, rows) -> str:
        """'line 5' / 'lines 5, 9 and 12' / 'lines 5, 9, 12, 20, 31, ... (17 rows in all)'."""
        return listing(np.sort(self.lines(rows)), "line")


def listing(numbers, noun: str, limit: int = 5) -> str:
    numbers = [str(n) for n in np.asarray(numbers).tolist()]
    if len(numbers) == 1:
        return f"{noun} {numbers[0]}"
    if len(numbers) <= limit:
        return f"{noun}s {', '.join(numbers[:-1])} and {numbers[-1]}"
    return f"{noun}s {', '.join(numbers[:limit])}, ... ({len(numbers)} rows in all)"


# what the file is


@dataclass(frozen=True)
class _FileKind:
    compression: str | None  # for pandas: None, "gzip" or "zip"
    head: str  # the decoded start of the text (whole lines only)


def _open_binary(path: Path, compression: str | None):
    if compression == "gzip":
        return gzip.open(path, "rb")
    if compression == "zip":
        archive = zipfile.ZipFile(path)
        return archive.open(archive.namelist()[0])
    return open(path, "rb")


def _open_text(path: Path, compression: str | None):
    return io.TextIOWrapper(_open_binary(path, compression), encoding="utf-8-sig", newline="")


def _zip_kind(path: Path, where: str, key: str) -> None:
    """A zip holding one CSV is read (pandas decompresses it); a workbook or anything else is refused."""
    try:
        names = zipfile.ZipFile(path).namelist()
    except (zipfile.BadZipFile, OSError) as err:
        raise DataError(f"{where} is a damaged zip archive ({first_line(err)})", f"point {key} at a CSV file") from None
    if any(n.startswith(("xl/", "[Content_Types]")) for n in names) or "content.xml" in names:
        raise DataError(f"{where} is a spreadsheet workbook (.xlsx/.ods), not a CSV file",
                        f"save the sheet as CSV (in Excel: Save As > CSV UTF-8) and point {key} at that file")
    if len(names) != 1:
        raise DataError(f"{where} is a zip archive of {len(names)} files ({shown_names(names, 5)})",
                        f"unzip it and point {key} at the CSV file")


def _head(path: Path, compression: str | None) -> tuple[bytes, bool]:
    """The file's first bytes, at least one whole line (a genotype header can be wide), and whether
    that is the whole file."""
    with _open_binary(path, compression) as handle:
        raw = handle.read(HEAD_BYTES)
        while b"\n" not in raw and len(raw) < MAX_HEADER_BYTES:
            more = handle.read(HEAD_BYTES)
            if not more:
                return raw, True
            raw += more
        return raw, not handle.read(1)


def _file_kind(path: Path, where: str, key: str) -> _FileKind:
    try:
        raw, complete = _head(path, None)
    except PermissionError:
        raise DataError(f"{where} cannot be read (permission denied)", "fix the file's permissions") from None
    compression = None
    if raw.startswith(b"\x1f\x8b"):
        compression = "gzip"
    elif raw.startswith(b"PK\x03\x04"):
        _zip_kind(path, where, key)
        compression = "zip"
    elif raw.startswith(b"\xd0\xcf\x11\xe0"):
        raise DataError(f"{where} is an Excel workbook (.xls), not a CSV file",
                        f"save the sheet as CSV (in Excel: Save As > CSV UTF-8) and point {key} at that file")
    if compression:
        try:
            raw, complete = _head(path, compression)
        except (OSError, EOFError, zipfile.BadZipFile) as err:
            raise DataError(f"{where} is a damaged {compression} file ({first_line(err)})",
                            "compress the CSV again, or give it uncompressed") from None
    return _FileKind(compression, _decoded_head(raw, complete, where, key))


def _decoded_head(raw: bytes, complete: bool, where: str, key: str) -> str:
    if raw.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        raise DataError(f"{where} is not a UTF-8 text file (it is UTF-32 text)", _NOT_UTF8_FIX.format(key=key))
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise DataError(f"{where} is not a UTF-8 text file (it is UTF-16 text, as Excel's 'Unicode Text' saves)",
                        _NOT_UTF8_FIX.format(key=key))
    if b"\x00" in raw:
        raise DataError(f"{where} is not a UTF-8 text file (it holds binary data: NUL bytes, as in a spreadsheet, "
                        "a Parquet file or UTF-16 text)", _NOT_UTF8_FIX.format(key=key))
    try:
        # final only for the whole file: a character cut at the end of the head is no error
        text = codecs.getincrementaldecoder("utf-8-sig")("strict").decode(raw, final=complete)
    except UnicodeDecodeError as err:
        raise _not_utf8(raw[err.start], raw[:err.start].count(b"\n") + 1, where, key) from None
    if not complete:
        text = text[:max(text.rfind("\n"), 0)]  # the last line may be cut short
    return text


def _not_utf8(byte: int, line: int, where: str, key: str) -> DataError:
    return DataError(f"{where} is not a UTF-8 text file (byte 0x{byte:02x} on line {line} is not UTF-8; "
                     "Latin-1 or Windows-1252 text?)", _NOT_UTF8_FIX.format(key=key))


def _locate_bad_utf8(path: Path, compression: str | None, where: str, key: str) -> DataError:
    """The first byte that is not UTF-8, past the head (pandas does not say where)."""
    line, pending = 1, b""
    with _open_binary(path, compression) as handle:
        while chunk := handle.read(HEAD_BYTES):
            data, pending = pending + chunk, b""
            try:
                data.decode("utf-8")
            except UnicodeDecodeError as err:
                if err.reason != "unexpected end of data":
                    return _not_utf8(data[err.start], line + data[:err.start].count(b"\n"), where, key)
                data, pending = data[:err.start], data[err.start:]  # a character cut by the chunk's end
            line += data.count(b"\n")
    return DataError(f"{where} is not a UTF-8 text file", _NOT_UTF8_FIX.format(key=key))


# the header


def _records(head: str, sep: str, limit: int = 20) -> list[list[str]]:
    """The head's first non-blank records split at ``sep`` (csv quoting rules, as pandas)."""
    reader = csv.reader(io.StringIO(head, newline=""), delimiter=sep)
    out = []
    try:
        for record in reader:
            if record:
                out.append(record)
            if len(out) == limit:
                break
    except csv.Error:
        pass  # a malformed line: pandas will say which
    return out


def _check_separator(head: str, sep: str, where: str, sep_key: str | None) -> None:
    """A header that is one column at ``sep`` but splits evenly at another separator: the file
    uses that one."""
    hint = re.match(r"\s*sep=(.)\s*(\n|$)", head)
    if hint:  # Excel's first line naming the separator: pandas would take it for the header
        raise DataError(f"{where} starts with Excel's separator line {hint.group(0).strip()!r}, not a header",
                        "delete that first line" + ("" if hint.group(1) == sep or sep_key is None else
                                                    f" and set {sep_key}={hint.group(1)!r}"))
    if len(sep) != 1:
        return
    mine = _records(head, sep)
    if not mine or len(mine[0]) > 1:
        return
    best = None
    for candidate in SEPARATOR_NAMES:
        if candidate == sep:
            continue
        counts = [len(r) for r in _records(head, candidate)]
        # most rows split like the header (a short or ragged last row is forgiven)
        if counts[0] >= 2 and sum(c == counts[0] for c in counts) >= 0.8 * len(counts):
            if best is None or counts[0] > best[1]:
                best = (candidate, counts[0])
    if best is None:
        return
    candidate, n_columns = best
    problem = (f"{where} looks {SEPARATOR_NAMES[candidate]}-separated: its header is one column at {sep!r} "
               f"but {n_columns} columns at {candidate!r}")
    if sep_key is None:
        raise DataError(problem, f"save the file {SEPARATOR_NAMES.get(sep, repr(sep))}-separated (the run reads "
                                 f"{sep!r}-separated files)")
    if candidate == "\t":
        raise DataError(problem, f"set {sep_key}=tab")
    raise DataError(problem, f"set {sep_key}={candidate!r} (on the command line, quoted for the shell: "
                             f"{separator_override(candidate)})")


def _check_header(names: list[str], where: str) -> None:
    positions: dict[str, list[int]] = {}
    for i, name in enumerate(names):
        if name.strip():
            positions.setdefault(name, []).append(i + 1)
    repeated = {n: p for n, p in positions.items() if len(p) > 1}
    if repeated:
        listed = ", ".join(f"{n!r} (columns {', '.join(map(str, p))})" for n, p in list(repeated.items())[:6])
        raise DataError(f"{where} repeats column name(s) in its header: {listed}; pandas would rename the "
                        f"copies (e.g. {next(iter(repeated))}.1)", "give every column its own name in the header")


# parsing


def _extra_fields(path: Path, kind: _FileKind, sep: str, header: bool, where: str) -> DataError:
    """The first row with more (non-empty) fields than the header: pandas would drop them."""
    with _open_text(path, kind.compression) as handle:
        reader = csv.reader(handle, delimiter=sep)
        width, end = None, 0
        for record in reader:
            start, end = end + 1, reader.line_num
            if not record:
                continue
            if width is None:
                width = len(record)
            elif len(record) > width and any(f.strip() for f in record[width:]):
                label = "the header names" if header else "the first row has"
                return DataError(f"{where}: line {start} has {len(record)} fields but {label} {width} columns",
                                 "remove the extra fields or add their names to the header (text holding "
                                 f"{sep!r} must be quoted)")
    return DataError(f"{where}: some rows have more fields than the header", "give every row as many fields as "
                     "the header")


def _parse(path: Path, kind: _FileKind, header: bool, sep: str, dtype: dict, where: str, key: str) -> pd.DataFrame:
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            frame = pd.read_csv(path, header=0 if header else None, sep=sep, index_col=False, dtype=dtype or None,
                                compression=kind.compression, encoding="utf-8-sig")
    except pd.errors.EmptyDataError:
        raise DataError(f"{where} is empty", "give a CSV file with a header row and at least one data row") from None
    except pd.errors.ParserError as err:
        raise DataError(f"{where} could not be parsed as CSV ({first_line(err)})",
                        "give every row as many fields as the header; check the delimiter (data.sep) and quoting") \
            from None
    except UnicodeDecodeError:
        raise _locate_bad_utf8(path, kind.compression, where, key) from None
    except PermissionError:
        raise DataError(f"{where} cannot be read (permission denied)", "fix the file's permissions") from None
    if any(issubclass(w.category, pd.errors.ParserWarning) and "Length of header" in str(w.message) for w in caught):
        raise _extra_fields(path, kind, sep, header, where)
    return frame


def read_table(path_value: str, key: str, *, header: bool, sep: str, sep_key: str | None = "data.sep",
               text_columns: tuple = ()) -> Table:
    """A user's table, checked for what pandas would get silently wrong. ``text_columns`` are
    read as text (labels are strings: '007' stays '007'); ``sep_key=None``: the separator is fixed."""
    path = existing_file(path_value, key)
    shown = path.resolve()
    where = f"{key}: {shown}"
    kind = _file_kind(path, where, key)
    _check_separator(kind.head, sep, where, sep_key)
    first = _records(kind.head, sep, limit=1) if len(sep) == 1 else []
    names = first[0] if first else []
    if header:
        _check_header(names, where)
    dtype = {(c if header else int(c)): str for c in text_columns if c is not None and (header or str(c).isdigit())}
    frame = _parse(path, kind, header, sep, dtype, where, key)
    frame.columns = [str(c) for c in frame.columns]
    if frame.shape[0] == 0:
        raise DataError(f"{where} has a header but no data rows", "give a file with at least one sample per row")
    frame.index = pd.RangeIndex(frame.shape[0])
    unnamed = [frame.columns[i] for i, n in enumerate(names[:frame.shape[1]]) if header and not n.strip()]
    return Table(frame, shown, key, _LineIndex(path, kind.compression, sep, header), unnamed)


class _LineIndex:
    """Data-row position -> the line it starts on, counted once when a message needs it (blank
    lines and quoted line breaks make it differ from position + 2)."""

    def __init__(self, path: Path, compression: str | None, sep: str, header: bool):
        self.path, self.compression, self.sep, self.header = path, compression, sep, header
        self.starts: np.ndarray | None = None

    def __call__(self, positions: np.ndarray) -> np.ndarray:
        if self.starts is None:
            self.starts = self._record_starts()
        if self.starts.size and positions.size and positions.max() < self.starts.size:
            return self.starts[positions]
        return positions + (2 if self.header else 1)  # no exact count (a regex separator): the plain guess

    def _record_starts(self) -> np.ndarray:
        if len(self.sep) != 1:
            return np.empty(0, dtype=np.int64)
        starts, end = [], 0
        try:
            with _open_text(self.path, self.compression) as handle:
                reader = csv.reader(handle, delimiter=self.sep)
                for record in reader:
                    if record:
                        starts.append(end + 1)
                    end = reader.line_num
        except (csv.Error, OSError, UnicodeDecodeError):
            return np.empty(0, dtype=np.int64)
        starts_array = np.asarray(starts, dtype=np.int64)
        return starts_array[1:] if self.header else starts_array


def unnamed_to_ignore(table: Table) -> list[str]:
    """Columns with a blank header name: an empty one (a trailing separator) is left out; one
    with values is refused, as it is usually a saved row index that would leak into the features."""
    empty = [c for c in table.unnamed if table.frame[c].isna().all()]
    named = [c for c in table.unnamed if c not in empty]
    if named:
        column = table.frame[named[0]]
        position = list(table.frame.columns).index(named[0]) + 1
        raise DataError(f"{table.where}: column {position} has no name in the header but holds values (e.g. "
                        f"{str(column.dropna().iloc[0])!r}), as a saved row index does",
                        "name it in the header, delete it, or choose the features with data.features=[...]")
    return empty
