"""A plain UTF-8 CSV read in one streaming pass and parsed by Arrow into category columns (one dictionary
per column), so a file of millions of rows is read in seconds in a fraction of its size in memory: Arrow
parses one block of rows at a time and each block's codes join the column's codes as they come, so only
the codes (one or two bytes a cell) and the distinct values are ever held.

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

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from mhin_eval.filetypes import CONTROL_BYTES, SUFFIX_TYPES, file_type
from mhin_eval.schema import ValidationFailed

CHUNK = 1 << 22
#: Bytes Arrow parses at a time: the rows of one block are the most ever held as text.
BLOCK = 1 << 21
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
        reader = pacsv.open_csv(
            path,
            read_options=pacsv.ReadOptions(block_size=BLOCK),
            parse_options=pacsv.ParseOptions(delimiter=sep, newlines_in_values=True, ignore_empty_lines=False),
            convert_options=pacsv.ConvertOptions(column_types=dict.fromkeys(names, text), strings_can_be_null=False,
                                                 quoted_strings_can_be_null=False, null_values=[]),
        )
        if reader.schema.names != names or any(field.type != text for field in reader.schema):
            return None
        columns = [_Codes() for _ in names]
        for batch in reader:
            for codes, array in zip(columns, batch.columns, strict=True):
                codes.add(array)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    frame = pd.DataFrame({name: codes.categorical() for name, codes in zip(names, columns, strict=True)},
                         copy=False)
    notes = ["Read as UTF-8 with BOM."] if bom else []
    if sep != ",":
        notes.append(f"Columns separated by {'tabs' if sep == chr(9) else repr(sep)}.")
    return frame, digest, notes


class _Codes:
    """One column's codes built block by block against one dictionary of the values met so far."""

    def __init__(self):
        self.values = pa.array([], pa.string())
        self.blocks: list[np.ndarray] = []

    def add(self, array: pa.DictionaryArray) -> None:
        """Appends a block's codes, translated from the block's own dictionary to the column's."""
        position = pc.index_in(array.dictionary, value_set=self.values)
        new = pc.is_null(position)
        if pc.any(new).as_py():
            added = array.dictionary.filter(new)
            self.values = pa.concat_arrays([self.values, added])
            fresh = np.cumsum(new.to_numpy(zero_copy_only=False)) - 1 + (len(self.values) - len(added))
            remap = np.where(new.to_numpy(zero_copy_only=False), fresh, position.fill_null(0).to_numpy())
        else:
            remap = position.to_numpy()
        small = np.int16 if len(self.values) < 32768 else np.int32
        self.blocks.append(remap.astype(small)[array.indices.to_numpy()])

    def categorical(self) -> pd.Categorical:
        """The column as a category column whose categories are sorted, as ``columns.spread`` gives them."""
        order = pc.array_sort_indices(self.values).to_numpy()
        rank = np.empty(len(order), dtype=np.int32)
        rank[order] = np.arange(len(order), dtype=np.int32)
        categories = pd.Index(self.values.take(order).to_numpy(zero_copy_only=False), dtype="str")
        dtype = np.int8 if len(order) < 128 else np.int16 if len(order) < 32768 else np.int32
        rank = rank.astype(dtype)
        codes = np.concatenate([rank[block] for block in self.blocks]) if self.blocks else np.empty(0, dtype)
        self.blocks = []
        return pd.Categorical.from_codes(codes, dtype=pd.CategoricalDtype(categories))
