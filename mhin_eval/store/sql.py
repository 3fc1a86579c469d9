"""SQL shared by both backends, and the few pieces where DuckDB and PostgreSQL differ (a dialect each).

Statements use ``?`` placeholders; the PostgreSQL connection turns them into psycopg's ``%s``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from mhin_eval.store.specs import KindSpec


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _cols(spec: KindSpec, alias: str | None = None) -> str:
    prefix = f"{alias}." if alias else ""
    return ", ".join(prefix + _q(c) for c in spec.column_names)


def _same_payload(spec: KindSpec, left: str, right: str) -> str:
    return " AND ".join(f"{left}.{_q(c)} IS NOT DISTINCT FROM {right}.{_q(c)}" for c in spec.payload)


def _in_list(values: Iterable[str]) -> tuple[str, list[str]]:
    values = [str(v) for v in values]
    return ", ".join("?" for _ in values), values


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


@dataclass(frozen=True)
class Dialect:
    """What differs between the backends' SQL: type names, the row key (a 128-bit hash of a row's key columns,
    so NULL and '' differ) and the text a checksum hashes."""

    name: str
    types: dict[str, str]
    row_key_type: str

    def type(self, sql_type: str) -> str:
        return self.types.get(sql_type, sql_type)

    def key_expr(self, spec: KindSpec, alias: str) -> str:
        raise NotImplementedError

    def double_text(self, expr: str) -> str:
        """A double as exact text that both backends write alike: 17 significant digits, exponent form."""
        raise NotImplementedError

    def sha256_hex(self, expr: str) -> str:
        raise NotImplementedError

    def row_text(self, spec: KindSpec, alias: str) -> str:
        """One row as text for the checksum: the same text on both backends for the same values."""
        parts = []
        for column, sql_type in spec.columns:
            ref = f"{alias}.{_q(column)}"
            text = self.double_text(ref) if sql_type == "DOUBLE" else f"CAST({ref} AS VARCHAR)"
            parts.append(f"coalesce(':' || {text}, 'NULL')")
        return f"'{spec.name}' || chr(30) || " + " || chr(31) || ".join(parts)

    def checksum_sql(self, specs: Iterable[KindSpec]) -> str:
        parts = " UNION ALL ".join(
            f"SELECT md5({self.row_text(spec, 't')}) AS h FROM {spec.name}_current t" for spec in specs)
        return f"SELECT {self.sha256_hex(self.ordered_hashes())} FROM ({parts}) AS rows"

    def ordered_hashes(self) -> str:
        return "coalesce(string_agg(h, ',' ORDER BY h), '')"


class DuckDBDialect(Dialect):
    def key_expr(self, spec: KindSpec, alias: str) -> str:
        parts = [f"coalesce(CAST({alias}.{_q(c)} AS VARCHAR), chr(0))" for c in spec.key]
        return "md5_number(" + " || chr(31) || ".join(parts) + ")"

    def double_text(self, expr: str) -> str:
        return f"printf('%.16e', {expr})"

    def sha256_hex(self, expr: str) -> str:
        return f"sha256({expr})"


class PostgresDialect(Dialect):
    def key_expr(self, spec: KindSpec, alias: str) -> str:
        # A row's text form quotes each value and leaves NULL empty, so NULL and '' give different keys.
        columns = ", ".join(f"{alias}.{_q(c)}" for c in spec.key)
        return f"CAST(md5(CAST(ROW({columns}) AS text)) AS uuid)"

    def double_text(self, expr: str) -> str:
        return f"ltrim(to_char({expr}, '9.9999999999999999EEEE'))"

    def sha256_hex(self, expr: str) -> str:
        return f"encode(sha256(convert_to({expr}, 'UTF8')), 'hex')"

    def ordered_hashes(self) -> str:
        return "coalesce(string_agg(h, ',' ORDER BY h COLLATE \"C\"), '')"


DUCKDB = DuckDBDialect("duckdb", {}, "UHUGEINT")
POSTGRES = PostgresDialect("postgres", {"VARCHAR": "text", "DOUBLE": "double precision"}, "uuid")
