"""Hostile content: JSON bodies for /predict and CSV uploads for /predict_csv, each with its 422 (or 4xx)."""

from __future__ import annotations

import codecs
import json
from collections.abc import Callable

from loadtest.reliability.catalogue import (
    MAX_PRICES,
    MAX_UPLOAD_BYTES,
    Case,
    Send,
    Target,
    dated_csv,
    json_post,
    tail,
    upload,
    with_history,
)


def _tail(value: object) -> Send:
    return json_post(tail(value))


def _with(**fields: object) -> Send:
    return json_post(with_history(**fields))


def _literal(token: str) -> Callable[[Target], bytes]:
    # NaN and Infinity are not JSON, so json.dumps cannot write them: splice the token into the text.
    return lambda t: (json.dumps({"prices": t.history})[:-2] + f", {token}]}}").encode()


def _csv(t: Target) -> bytes:
    return dated_csv(t.history)


def _csv_with(row: str) -> Callable[[Target], bytes]:
    """The valid CSV with one more row appended (after the last date)."""
    return lambda t: _csv(t) + row.encode() + b"\n"


JSON_CASES = [
    Case("price as a numeric string", "json", _tail("250.5"), 422, 'Input should be a valid number (got "250.5")'),
    Case("price true", "json", _tail(True), 422, "Input should be a valid number (got true)"),
    Case("price null", "json", _tail(None), 422, "Input should be a valid number (got null)"),
    Case("price as an object", "json", _tail({"close": 1}), 422, "valid number"),
    Case("steps as a string", "json", _with(steps="5"), 422, 'steps: Input should be a valid integer (got "5")'),
    Case("steps 5.0", "json", _with(steps=5.0), 422, "steps: Input should be a valid integer (got 5.0)"),
    Case("steps true", "json", _with(steps=True), 422, "steps: Input should be a valid integer (got true)"),
    Case("steps 0", "json", _with(steps=0), 422, "steps: Input should be greater than or equal to 1"),
    Case("steps over the maximum", "json", _with(steps=61), 422, "less than or equal to 60"),
    Case("steps 10**30", "json", _with(steps=10**30), 422, "less than or equal to 60"),
    Case("NaN literal", "json", json_post(_literal("NaN")), 422, "finite number"),
    Case("Infinity literal", "json", json_post(_literal("Infinity")), 422, "finite number"),
    Case("-Infinity literal", "json", json_post(_literal("-Infinity")), 422, "finite number"),
    Case("1e400 overflows to infinity", "json", json_post(_literal("1e400")), 422, "finite number"),
    Case("subnormal price 1e-40", "json", _tail(1e-40), 422, "below the smallest usable price"),
    Case("price 1e308", "json", _tail(1e308), 422, "above the largest usable price"),
    Case("price 3.5e38 (over float32)", "json", _tail(3.5e38), 422, "above the largest usable price"),
    Case("zero price", "json", _tail(0), 422, "0 is not positive"),
    Case("negative price", "json", _tail(-3.5), 422, "-3.5 is not positive"),
    Case("too short a history", "json", _with(prices=[100.0] * 3), 422, "needs at least"),
    Case("empty price list", "json", _with(prices=[]), 422, "List should have at least 1 item"),
    Case("too many prices", "json", _with(prices=[100.0] * (MAX_PRICES + 1)), 422,
         f"List should have at most {MAX_PRICES} items"),
    Case("prices missing", "json", json_post({"steps": 2}), 422, "prices: Field required"),
    Case("unknown field", "json", _with(step=2), 422, "step: Extra inputs are not permitted"),
    Case("prices as an object", "json", _with(prices={"a": 1}), 422, "valid list"),
    Case("nested price lists", "json", _with(prices=[[1.0, 2.0]]), 422, "valid number"),
    Case("body is a list", "json", json_post([1, 2, 3]), 422, "valid dictionary"),
    Case("body is null", "json", json_post(b"null"), 422, "object to extract fields from (got null)"),
    Case("empty body", "json", json_post(b""), 422, "Field required"),
    Case("truncated JSON", "json", json_post(b'{"prices": [1, 2'), 422, "JSON decode error"),
    Case("not UTF-8", "json", json_post(b'{"prices": [1\xff]}'), 422, "not UTF-8 text"),
    Case("JSON nested 50,000 deep", "json", json_post(b"[" * 50_000), 422, "nests arrays or objects too deeply"),
    Case("unknown ticker", "json", _with(ticker="ZZZZ"), 404, "no model 'zzzz'"),
    Case("ticker of punctuation", "json", _with(ticker="!!"), 422, "'!!' is not a ticker"),
    Case("ticker too long", "json", _with(ticker="A" * 33), 422, "at most 32 characters"),
    Case("ticker as a number", "json", _with(ticker=7), 422, "ticker: Input should be a valid string (got 7)"),
]  # fmt: skip

CSV_CASES = [
    Case("bare-CR line endings, too short", "csv",
         upload(b"Date,Close\r2024-01-02,1\r2024-01-03,2\r"), 422, "needs at least"),
    Case("gzip file sent as CSV", "csv", upload(b"\x1f\x8b\x08\x00\x00\x00\x00\x00binary"), 422, "gzip"),
    Case("xlsx workbook sent as CSV", "csv", upload(b"PK\x03\x04\x14\x00\x06\x00"), 422, "ZIP archive"),
    Case("PNG image sent as CSV", "csv", upload(b"\x89PNG\r\n\x1a\n\x00\x00"), 422, "PNG image"),
    Case("UTF-16 without a BOM", "csv", upload("Date,Close\n2024-01-02,1\n".encode("utf-16-le")), 422, "NUL bytes"),
    Case("control characters", "csv", upload(b"Date,Close\n2024-01-02,1\x07\n"), 422, "control character"),
    Case("UTF-32 with a BOM, too short", "csv",
         upload(codecs.BOM_UTF32_LE + "Date,Close\n2024-01-02,1\n".encode("utf-32-le")), 422, "needs at least"),
    Case("field over the length limit", "csv", upload(b"Date,Close\n2024-01-02," + b"9" * 300 + b"\n"), 422,
         "over the 256-character limit"),
    Case("15 KB quoted field", "csv", upload(b'Date,Close\n2024-01-02,"' + b"9" * 15_000 + b'"\n'), 422,
         "over the 256-character limit"),
    Case("140 KB quoted field (past the csv module's own limit)", "csv",
         upload(b'Date,Close\n2024-01-02,"' + b"9" * 140_000 + b'"\n'), 413, "over the"),
    Case("only separators after the header", "csv", upload(b"Date,Close\n,,,\n,\n"), 422, "header but no data rows"),
    Case("row missing its date cell", "csv", upload(_csv_with(",250.0")), 422, "the 'Date' cell is empty"),
    Case("row with one cell", "csv", upload(_csv_with("2024-12-30")), 422, "has no 'Close' cell"),
    Case("too many columns", "csv", upload(b",".join([b"c"] * 101) + b"\n"), 422, "over the limit of 100 columns"),
    Case("too many rows", "csv", upload(dated_csv([100.0] * (MAX_PRICES + 1))), 422,
         f"more than {MAX_PRICES} data rows"),
    Case("upload over the byte limit", "csv", upload(b"Date,Close\n" + b"2024-01-02,1.0\n" * 1500), 413,
         f"over the {MAX_UPLOAD_BYTES}-byte limit"),
    Case("unterminated quote", "csv", upload(b'Date,Close\n2024-01-02,"1.5\n'), 422, "never closed"),
    Case("no Close column", "csv", upload(b"Date,Open\n2024-01-02,1\n"), 422, "no 'Close' column"),
    Case("price not a number", "csv", upload(_csv_with("2024-12-30,abc")), 422, "'abc' is not a number"),
    Case("NaN price", "csv", upload(_csv_with("2024-12-30,NaN")), 422, "not a finite number"),
    Case("negative price in a row", "csv", upload(_csv_with("2024-12-30,-1")), 422, "is not positive"),
    Case("subnormal price", "csv", upload(_csv_with("2024-12-30,1e-40")), 422, "below the smallest usable price"),
    Case("decimal points and commas mixed", "csv", upload(b"Date;Close\n2024-01-02;1.5\n2024-01-03;1,5\n"), 422,
         "mixes decimal points"),
    Case("duplicated date", "csv", upload(b"Date,Close\n2024-01-02,1\n2024-01-02,2\n"), 422, "duplicated date"),
    Case("unsorted dates", "csv", upload(b"Date,Close\n2024-01-02,1\n2024-01-04,2\n2024-01-03,3\n2024-01-05,4\n"),
         422, "dates are not sorted"),
    Case("ambiguous day/month dates", "csv", upload(b"Date,Close\n12/11/2024,1\n12/12/2024,2\n"), 422,
         "send date_format=dayfirst or date_format=monthfirst"),
    Case("day-first and month-first rows", "csv", upload(b"Date,Close\n13/01/2024,1\n01/14/2024,2\n"), 422,
         "day-first in row 2"),
    Case("dates in two styles", "csv", upload(b"Date,Close\n2024-01-02,1\n03/01/2024,2\n"), 422, "mixes styles"),
    Case("date_format that does not match", "csv", upload(_csv, fields={"date_format": "%d.%m.%Y"}), 422,
         "does not match date_format"),
    Case("date_format not a format", "csv", upload(_csv, fields={"date_format": "ISO"}), 422,
         "is not a date_format"),
    Case("empty file", "csv", upload(b""), 422, "the CSV is empty"),
    Case("data where the header belongs", "csv", upload(b"2024-01-02,1\n2024-01-03,2\n"), 422, "not a header"),
    Case("unquoted decimal commas", "csv", upload(b"Date,Close\n2024-01-02,1,5\n"), 422, "unquoted decimal commas"),
    Case("two files", "csv", upload(_csv, files=2), 400, "Too many files"),
    Case("form field over 4 KB", "csv", upload(_csv, fields={"column": "x" * 5000}), 400, "exceeded maximum size"),
    Case("steps 5.0 in the form", "csv", upload(_csv, fields={"steps": "5.0"}), 422, "whole number of days"),
    Case("steps 0 in the form", "csv", upload(_csv, fields={"steps": "0"}), 422, "greater than or equal to 1"),
    Case("ticker of punctuation in the form", "csv", upload(_csv, fields={"ticker": "!!"}), 422, "is not a ticker"),
]  # fmt: skip
