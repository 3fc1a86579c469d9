"""A plain UTF-8 CSV read in one streaming pass and parsed by Arrow into category columns (one dictionary
per column), so a file of millions of rows is read in seconds in a fraction of its size in memory.

Gives what ``loaders`` reads with pandas (every cell as its text, the same notes) or None, and the caller
then reads the file with pandas: for any other type or encoding, a file ``filetypes`` would refuse (its
message comes from there), and a layout Arrow reads otherwise than pandas (ragged or blank lines, column
names that are empty or repeated). tests/unit/test_arrow_csv.py holds both readers to the same frames.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from mhin_eval.filetypes import CONTROL_BYTES, SUFFIX_TYPES, file_type
from mhin_eval.schema import ValidationFailed

CHUNK = 1 << 22
BOM = b"\xef\xbb\xbf"
#: Every byte CONTROL_BYTES does not match: deleting them leaves a chunk's control bytes (a quick pre-check).
NOT_CONTROL = bytes(b for b in range(256) if not CONTROL_BYTES.match(bytes([b])))


def delimiter(first_line: str) -> str:
    """The separator of a CSV from its header line: comma, semicolon or tab, whichever is most common."""
    counts = {d: first_line.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


def _plain_utf8(path: Path, file_name: str, suffix: str) -> tuple[str, bytes] | None:
    """(sha256, first chunk) of a file that is UTF-8 text with no control bytes, as filetypes would accept it
    as CSV; None otherwise."""
    digest = hashlib.sha256()
    decoder = codecs.getincrementaldecoder("utf-8")()
    with open(path, "rb") as stream:
        head = stream.read(CHUNK)
        try:
            if file_type(head, file_name, suffix) != "csv" or head.startswith((b"\xff\xfe", b"\xfe\xff")):
                return None
        except ValidationFailed:
            return None
        chunk = head
        while chunk:
            digest.update(chunk)
            if chunk.translate(None, NOT_CONTROL) and CONTROL_BYTES.search(chunk):
                return None
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError:
                return None
            chunk = stream.read(CHUNK)
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return None
    return digest.hexdigest(), head


def read_plain_csv(path, file_name: str) -> tuple[pd.DataFrame, str, list[str]] | None:
    """(frame of category columns, sha256, notes) of a plain UTF-8 CSV, or None (see the module doc)."""
    path = Path(path)
    suffix = Path(file_name).suffix.lower() or path.suffix.lower()
    if SUFFIX_TYPES.get(suffix) != "csv":
        return None
    try:
        plain = _plain_utf8(path, file_name, suffix)
    except OSError:
        return None
    if plain is None:
        return None
    digest, head = plain
    bom = head.startswith(BOM)
    body = head[len(BOM):] if bom else head
    if b"\n" not in body and len(head) == CHUNK:
        return None
    first = body.split(b"\n", 1)[0].decode("utf-8", errors="replace")
    sep = delimiter(first)
    names = next(csv.reader(io.StringIO(first.rstrip("\r")), delimiter=sep), [])
    if not names or "" in names or len(set(names)) < len(names):
        return None
    text = pa.dictionary(pa.int32(), pa.string())
    try:
        table = pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(block_size=CHUNK),
            parse_options=pacsv.ParseOptions(delimiter=sep, newlines_in_values=True, ignore_empty_lines=False),
            convert_options=pacsv.ConvertOptions(column_types=dict.fromkeys(names, text), strings_can_be_null=False,
                                                 quoted_strings_can_be_null=False, null_values=[]),
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    if table.column_names != names or any(field.type != text for field in table.schema):
        return None
    notes = ["Read as UTF-8 with BOM."] if bom else []
    if sep != ",":
        notes.append(f"Columns separated by {'tabs' if sep == chr(9) else repr(sep)}.")
    return table.to_pandas(), digest, notes
