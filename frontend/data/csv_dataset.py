"""CSVDataset: rows of delimited text as dict elements (TF.js's csv_dataset.ts).

Each row becomes {column: value}. A value that reads as a number (JavaScript's Number()
rules) is a Python float, batched as float32; with a columnConfigs dtype of 'int32' it is an
np.int32 (floored, batched as int32) and with 'bool' a Python bool ('1' or 'true', any case,
is True; batched as bool). Other text stays a str. An empty field takes the column's
`default`, is an error if the column is `required` or a label, and is otherwise None
(NaN once batched). If any column has isLabel, elements are {'xs': features, 'ys': labels}.
"""
from __future__ import annotations

import math
import re

import numpy as np

from kiln.frontend.data.dataset import Dataset
from kiln.frontend.data.lazy_iterator import LazyIterator, done, item
from kiln.frontend.data.sources import TextLineDataset, describe_source
from kiln.frontend.engine.config import parse_args, suggestion

CSV_OPTIONS = {"hasHeader": True, "columnNames": None, "columnConfigs": None,
               "configuredColumnsOnly": False, "delimiter": None, "delimWhitespace": False}
COLUMN_OPTIONS = ("required", "dtype", "default", "isLabel")
COLUMN_DTYPES = ("float32", "int32", "bool")

_DECIMAL = re.compile(r"[+-]?(?:Infinity|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)", re.ASCII)
_RADIX = {"0x": (16, re.compile(r"[0-9a-fA-F]+")), "0o": (8, re.compile(r"[0-7]+")),
          "0b": (2, re.compile(r"[01]+"))}


def js_number(text: str):
    """JavaScript's Number(text) as a float, or None where it gives NaN."""
    s = text.strip()
    if not s:
        return 0.0
    radix = _RADIX.get(s[:2].lower())
    if radix is not None:
        base, digits = radix
        return float(int(s[2:], base)) if digits.fullmatch(s[2:]) else None
    if not _DECIMAL.fullmatch(s):
        return None
    return float(s.replace("Infinity", "inf"))


def _column_configs(configs, op: str) -> dict:
    if configs is None:
        return {}
    if not isinstance(configs, dict):
        raise TypeError(f"{op}: columnConfigs must be a dict of column name -> config, got "
                        f"{type(configs).__name__}")
    for name, config in configs.items():
        if not isinstance(config, dict):
            raise TypeError(f"{op}: columnConfigs[{name!r}] must be a dict, got "
                            f"{type(config).__name__}")
        for key in config:
            if key not in COLUMN_OPTIONS:
                raise ValueError(f"{op}: unknown option {key!r} in columnConfigs[{name!r}]"
                                 f"{suggestion(key, COLUMN_OPTIONS)} (valid options: "
                                 f"{', '.join(COLUMN_OPTIONS)})")
        dtype = config.get("dtype")
        if dtype is not None and dtype not in COLUMN_DTYPES:
            raise ValueError(f"{op}: columnConfigs[{name!r}].dtype must be one of "
                             f"{', '.join(COLUMN_DTYPES)}, got {dtype!r}")
    return dict(configs)


class CSVDataset(Dataset):
    """tf.data.csv(source, csvConfig): see the module docstring. `await ds.columnNames()`."""

    def __init__(self, source, csvConfig=None, **kwargs):
        op = "csv"
        self.source = describe_source(source, op)
        cfg = parse_args(op, CSV_OPTIONS, csvConfig, kwargs)
        self.base = TextLineDataset(self.source, op)
        self.hasHeader = cfg["hasHeader"] is not False
        names = cfg["columnNames"]
        if names is not None and (not isinstance(names, (list, tuple)) or
                                  not all(isinstance(n, str) for n in names)):
            raise TypeError(f"{op}: columnNames must be a list of strings, got {names!r:.80}")
        self.fullColumnNames = list(names) if names is not None else None
        self.columnConfigs = _column_configs(cfg["columnConfigs"], op)
        self.configuredColumnsOnly = bool(cfg["configuredColumnsOnly"])
        if self.configuredColumnsOnly and not self.columnConfigs:
            raise ValueError(f"{op}: configuredColumnsOnly needs columnConfigs naming the "
                             "columns to keep")
        if cfg["delimWhitespace"]:
            if cfg["delimiter"] is not None:
                raise ValueError(f"{op}: delimiter should not be provided when delimWhitespace "
                                 "is true")
            self.delimWhitespace, self.delimiter = True, " "
        else:
            delimiter = cfg["delimiter"] or ","
            if not isinstance(delimiter, str) or len(delimiter) != 1:
                raise ValueError(f"{op}: delimiter must be a single character, got "
                                 f"{delimiter!r}")
            self.delimWhitespace, self.delimiter = False, delimiter
        self.columnNamesValidated = False

    async def columnNames(self) -> list:
        """The columns of the elements: the configured ones if configuredColumnsOnly,
        else columnNames if given, else the header's."""
        if not self.columnNamesValidated:
            await self._setColumnNames()
        if self.configuredColumnsOnly:
            return list(self.columnConfigs)
        return list(self.fullColumnNames)

    async def _setColumnNames(self) -> None:
        from_file = await self._readHeaderLine()
        if self.fullColumnNames is None and from_file is None:
            raise ValueError("csv: column names must be provided (columnNames) if there is no "
                             "header line (hasHeader: false)")
        if self.fullColumnNames is not None and from_file is not None and \
                len(from_file) != len(self.fullColumnNames):
            raise ValueError(f"csv: the length of provided columnNames "
                             f"({len(self.fullColumnNames)}) does not match the length of the "
                             f"header line read from file ({len(from_file)})")
        if self.fullColumnNames is None:
            self.fullColumnNames = from_file
        seen, duplicates = set(), []
        for name in self.fullColumnNames:
            if name in seen and name not in duplicates:
                duplicates.append(name)
            seen.add(name)
        if duplicates:
            raise ValueError(f"csv: duplicate column names found: {', '.join(duplicates)}")
        for key in self.columnConfigs:
            if key not in self.fullColumnNames:
                raise ValueError(f"csv: the key {key!r} provided in columnConfigs does not "
                                 f"match any of the column names "
                                 f"({', '.join(self.fullColumnNames)})"
                                 f"{suggestion(key, self.fullColumnNames)}")
        self.columnNamesValidated = True

    async def _readHeaderLine(self):
        if not self.hasHeader:
            return None
        lines = await self.base.iterator()
        try:
            first = await lines.next()
        finally:
            await lines.aclose()
        if first["done"]:
            raise ValueError(f"csv: no data was found for CSV parsing in {self.source}")
        return parse_row(first["value"], self.delimiter, self.delimWhitespace)

    async def iterator(self) -> LazyIterator:
        if not self.columnNamesValidated:
            await self._setColumnNames()
        return _RowIterator(self, await self.base.iterator())

    def _where(self, lineNumber: int) -> str:
        row = lineNumber - 1 if self.hasHeader else lineNumber
        return f"{row} (line {lineNumber} of {self.source})"

    def makeDataElement(self, line: str, lineNumber: int):
        values = parse_row(line, self.delimiter, self.delimWhitespace)
        if len(values) != len(self.fullColumnNames):
            raise ValueError(f"csv: invalid row {self._where(lineNumber)}: should have "
                             f"{len(self.fullColumnNames)} elements in a row, but got "
                             f"{len(values)}: {line!r}")
        features: dict = {}
        labels: dict = {}
        for key, value in zip(self.fullColumnNames, values):
            config = self.columnConfigs.get(key)
            if self.configuredColumnsOnly and config is None:
                continue
            config = config or {}
            if value == "":
                if config.get("default") is not None:
                    parsed = config["default"]
                elif config.get("required") or config.get("isLabel"):
                    raise ValueError(f"csv: required column {key!r} is empty in row "
                                     f"{self._where(lineNumber)}: {line!r}")
                else:
                    parsed = None
            else:
                parsed = _parse_value(value, config.get("dtype"))
            (labels if config.get("isLabel") else features)[key] = parsed
        return {"xs": features, "ys": labels} if labels else features


def _parse_value(value: str, dtype):
    number = js_number(value)
    if number is None:
        return _boolean(value) if dtype == "bool" else value
    if dtype == "int32":
        return np.int32(math.floor(number)) if math.isfinite(number) else number
    if dtype == "bool":
        return _boolean(value)
    return number


def _boolean(value: str) -> bool:
    return value == "1" or value.lower() == "true"


class _RowIterator(LazyIterator):
    """Lines (after the header) -> elements, counting lines for error messages."""

    def __init__(self, dataset: CSVDataset, lines: LazyIterator):
        self.dataset = dataset
        self.upstream = lines
        self.lineNumber = 0
        if dataset.hasHeader:
            self.upstream = lines.skip(1)
            self.lineNumber = 1

    def summary(self):
        return f"CSV rows of {self.dataset.source}"

    async def _next(self):
        result = await self.upstream.next()
        if result["done"]:
            return done()
        self.lineNumber += 1
        return item(self.dataset.makeDataElement(result["value"], self.lineNumber))


_OUT, _FIELD, _QUOTE, _QUOTE_AFTER_QUOTE, _WITHIN_QUOTE_IN_QUOTE = range(5)


def parse_row(line: str, delimiter: str = ",", delimWhitespace: bool = False) -> list:
    """The fields of one line: TF.js's quote-aware state machine (a quoted field loses its
    enclosing quotes; with delimWhitespace, runs of spaces between fields count as one)."""
    result = []
    offset = 0
    state = _OUT
    for i, ch in enumerate(line):
        if state == _OUT:
            if ch == '"':
                offset, state = i + 1, _QUOTE
            elif ch == delimiter:
                offset = i + 1
                if not (delimiter == " " and delimWhitespace):
                    result.append("")
            else:
                offset, state = i, _FIELD
        elif state == _FIELD:
            if ch == delimiter:
                result.append(line[offset:i])
                offset, state = i + 1, _OUT
        elif state == _QUOTE:
            if ch == '"':
                state = _QUOTE_AFTER_QUOTE
        elif state == _QUOTE_AFTER_QUOTE:
            if ch == delimiter:
                result.append(line[offset:i - 1])
                offset, state = i + 1, _OUT
            elif ch == '"':
                state = _QUOTE
            else:
                state = _WITHIN_QUOTE_IN_QUOTE
        elif state == _WITHIN_QUOTE_IN_QUOTE:
            if ch == '"':
                state = _QUOTE
    if state == _QUOTE_AFTER_QUOTE:
        result.append(line[offset:len(line) - 1])
    else:
        result.append(line[offset:])
    return result
