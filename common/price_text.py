"""Uploaded bytes to text: the encodings spreadsheets save in, and a clear refusal of binary files.

Stdlib only. ``common.prices`` re-exports :func:`decode_upload`; import from there.
"""

from __future__ import annotations

import codecs
import re

from common.price_values import PriceDataError

# Signatures of files people send by mistake, checked before any decoding.
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x1f\x8b", "a gzip file"),
    (b"PK\x03\x04", "a ZIP archive (an .xlsx or .ods workbook is one)"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old Excel .xls workbook"),
    (b"BZh", "a bzip2 file"),
    (b"\xfd7zXZ\x00", "an xz file"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"(\xb5/\xfd", "a zstd file"),
    (b"%PDF-", "a PDF document"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"PAR1", "a Parquet file"),
    (b"SQLite format 3\x00", "an SQLite database"),
)
_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32"),  # before UTF-16 LE: it starts with the same two bytes
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# C0 controls other than tab, LF, CR; DEL; and C1 controls, which cp1252 text never holds.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x0c\x0e-\x1f\x7f-\x9f]")


def _line(text: str, index: int) -> str:
    line = text.count("\n", 0, index) + 1 if "\n" in text else text.count("\r", 0, index) + 1
    return f"line {line}"


def decode_upload(raw: bytes) -> str:
    """Decodes an uploaded price file.

    UTF-8 with or without a BOM, UTF-16 and UTF-32 with a BOM, and cp1252 (what
    spreadsheets in Windows locales save) when the bytes are not UTF-8.

    Raises:
        PriceDataError: for compressed, office, image or other binary files, NUL
            bytes (binary, or UTF-16 without a BOM), control characters, or bytes
            that none of these encodings can read; the message says what to send.
    """
    for magic, what in _MAGIC:
        if raw.startswith(magic):
            raise PriceDataError(f"this looks like {what}, not a CSV: send plain CSV text")
    encoding = next((enc for bom, enc in _BOMS if raw.startswith(bom)), None)
    if encoding is None and b"\x00" in raw:
        offset = raw.index(b"\x00")
        raise PriceDataError(
            f"the file has NUL bytes (first at byte {offset}): it is binary, or UTF-16 without a byte-order mark; "
            "send CSV text in UTF-8"
        )
    try:
        if encoding is not None:
            text = raw.decode(encoding)
        else:
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                text = raw.decode("cp1252")
    except UnicodeDecodeError as exc:
        byte = raw[exc.start : exc.start + 1]
        raise PriceDataError(
            f"the file is not text in {encoding or 'UTF-8 or cp1252'} (byte {exc.start} is {byte!r}); "
            "send CSV text in UTF-8"
        ) from None
    bad = _CONTROL.search(text)
    if bad is not None:
        raise PriceDataError(
            f"the file has a control character U+{ord(bad.group()):04X} on {_line(text, bad.start())}: "
            "it looks binary; send plain CSV text"
        )
    return text
