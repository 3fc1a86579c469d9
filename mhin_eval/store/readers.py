"""The store's readers, the same SQL on both backends: current rows of each kind (with a site scope), history,
audit log, coverage, freshness, checksum. Each is one statement, so it sees whole ingests only."""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from mhin_eval.store.specs import DATE_COLUMNS, DATETIME_DTYPE, KINDS, SITE_KINDS, KindSpec
from mhin_eval.store.sql import _cols, _in_list, _q


def _with_frame_dates(frame: pd.DataFrame) -> pd.DataFrame:
    for column in frame.columns:
        dtype = frame[column].dtype
        if dtype.kind == "M" and getattr(dtype, "tz", None) is None:
            frame[column] = frame[column].astype(DATETIME_DTYPE)
    return frame


class StoreReaders:
    """Readers shared by both backends (mixed into mhin_eval.store.Store)."""

    # ----------------------------------------------------------------------- readers

    def _select(
        self, spec: KindSpec, filters: list[tuple[str, object]], order: tuple[str, ...] | None = None
    ) -> pd.DataFrame:
        """Current rows of one kind; each filter is (column, value or list of values); an empty list
        matches nothing (a user with no sites sees no rows)."""
        where, params = [], []
        for column, value in filters:
            if value is None:
                continue
            if isinstance(value, str):
                where.append(f"{_q(column)} = ?")
                params.append(value)
                continue
            values = list(value)
            if not values:
                where.append("FALSE")
                continue
            marks, vals = _in_list(values)
            where.append(f"{_q(column)} IN ({marks})")
            params.extend(vals)
        sql = f"SELECT {_cols(spec)} FROM {spec.name}_current"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY " + ", ".join(_q(c) for c in (order or spec.key))
        with self._read() as con:
            return _with_frame_dates(con.execute(sql, params).df())

    @staticmethod
    def _scope(sites: Iterable[str] | str | None):
        if sites is None or isinstance(sites, str):
            return sites
        return list(sites)

    def series(self, *, project=None, sites=None, indicator=None, breakdown=None) -> pd.DataFrame:
        """Current indicator-series rows, optionally for one project, some sites, one indicator or breakdown."""
        return self._select(
            KINDS["series"],
            [
                ("project", project),
                ("site", self._scope(sites)),
                ("indicator", indicator),
                ("breakdown", breakdown),
            ],
        )

    def series_sources(self, site: str, indicator: str) -> list[str]:
        """The file names of the live ingests that supplied a site's current rows of one indicator."""
        with self._read() as con:
            rows = con.execute(
                "SELECT DISTINCT i.file_name FROM series_current c JOIN ingests i USING (ingest_id) "
                "WHERE c.site = ? AND c.indicator = ? ORDER BY 1", [site, indicator]).fetchall()
        return [r[0] for r in rows if r[0]]

    def participants(self, *, project=None, sites=None, measure=None) -> pd.DataFrame:
        """Current participant-outcome rows, optionally for one project, some sites, one measure."""
        return self._select(
            KINDS["participants"], [("project", project), ("site", self._scope(sites)), ("measure", measure)]
        )

    def sustainability(self, *, project=None, sites=None, instrument=None) -> pd.DataFrame:
        """Current sustainability-assessment rows, optionally for one project, some sites, one instrument."""
        return self._select(
            KINDS["sustainability"],
            [("project", project), ("site", self._scope(sites)), ("instrument", instrument)],
        )

    def findings(self, *, project=None, sites=None, kind=None) -> pd.DataFrame:
        """Current implementation findings (facilitators and barriers), optionally for one project, some
        sites, one kind."""
        return self._select(
            KINDS["findings"], [("project", project), ("site", self._scope(sites)), ("kind", kind)]
        )

    def published(self, *, source=None, org_codes=None, measure_ids=None, breakdown=None) -> pd.DataFrame:
        """Current published-statistics rows, optionally for one source, some organisations and measures."""
        return self._select(
            KINDS["published"],
            [
                ("source", source),
                ("org_code", self._scope(org_codes)),
                ("measure_id", self._scope(measure_ids)),
                ("breakdown", breakdown),
            ],
        )

    def history(self, *, sites=None) -> pd.DataFrame:
        """Every ingest, oldest first, with its counts, the sites its rows touched and any rollback
        (times in UTC). With ``sites``, only ingests that wrote rows for those sites, and ``sites`` and
        ``rows_in_scope`` (row versions written for those sites) name nothing outside the scope."""
        scope = self._scope(sites)
        scope = [scope] if isinstance(scope, str) else scope
        in_scope, params = "TRUE", []
        if scope is not None:
            if not scope:
                in_scope = "FALSE"
            else:
                marks, params = _in_list(scope)
                in_scope = f"site IN ({marks})"
        versions = " UNION ALL ".join(f"SELECT ingest_id, site FROM {k}_versions" for k in SITE_KINDS)
        removals = " UNION ALL ".join(f"SELECT ingest_id, site FROM {k}_removed" for k in SITE_KINDS)
        sql = f"""
            WITH written AS (SELECT ingest_id, site FROM ({versions}) v WHERE {in_scope}),
            gone AS (
                SELECT ingest_id, count(*) AS rows_removed FROM ({removals}) r WHERE {in_scope} GROUP BY ingest_id
            ),
            sites AS (
                SELECT ingest_id, string_agg(DISTINCT site, ', ' ORDER BY site) AS sites, count(*) AS rows_in_scope
                FROM written GROUP BY ingest_id
            )
            SELECT i.ingest_id, i.time, i."user", i.file_name, i.sha256, i.kind, i.rows_added, i.rows_replaced,
                   i.rows_unchanged, i.demo, i.no_op, i.rolled_back_at, i.rolled_back_by, s.sites,
                   coalesce(s.rows_in_scope, 0) AS rows_in_scope, coalesce(g.rows_removed, 0) AS rows_removed
            FROM ingests i LEFT JOIN sites s USING (ingest_id) LEFT JOIN gone g USING (ingest_id)
            {"" if scope is None else "WHERE s.ingest_id IS NOT NULL"}
            ORDER BY i.ingest_id
        """
        with self._read() as con:
            out = con.execute(sql, params * 2).df()
        for column in ("time", "rolled_back_at"):
            out[column] = pd.to_datetime(out[column]).dt.tz_localize("UTC")
        return out

    def audit_log(self, *, limit: int | None = None) -> pd.DataFrame:
        """The audit log, newest first (times in UTC)."""
        sql = 'SELECT time, "user", event, detail FROM audit ORDER BY time DESC'
        if limit:
            sql += f" LIMIT {int(limit)}"
        with self._read() as con:
            out = con.execute(sql).df()
        out["time"] = pd.to_datetime(out["time"]).dt.tz_localize("UTC")
        return out

    def checksum(self) -> str:
        """sha256 over every current row of every kind, independent of row order and of ingest ids; the same on
        both backends for the same rows (doubles hashed as exact 17-digit text)."""
        with self._read() as con:
            return con.execute(self.dialect.checksum_sql(KINDS.values())).fetchone()[0]

    def coverage(self, *, project=None, sites=None) -> pd.DataFrame:
        """Rows per project, site, indicator, breakdown and month: the data-coverage heatmap."""
        where, params = [], []
        if project is not None:
            where.append("project = ?")
            params.append(project)
        scope = self._scope(sites)
        if scope is not None:
            scope = [scope] if isinstance(scope, str) else scope
            if not scope:
                where.append("FALSE")
            else:
                marks, vals = _in_list(scope)
                where.append(f"site IN ({marks})")
                params.extend(vals)
        sql = "SELECT project, site, indicator, breakdown, period, count(*) AS n_rows FROM series_current"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += (" GROUP BY project, site, indicator, breakdown, period"
                " ORDER BY project, site, indicator, breakdown, period")
        with self._read() as con:
            return _with_frame_dates(con.execute(sql, params).df())

    def freshness(self, *, sites=None) -> pd.DataFrame:
        """Per project, site and kind: rows and latest period held, when the newest ingest still shown
        landed and from which file. Published context has no site: it is listed per ``source``, and
        only when no site scope is given."""
        scope = self._scope(sites)
        scope = [scope] if isinstance(scope, str) else scope
        site_filter, params = "", []
        if scope is not None:
            if not scope:
                site_filter = "WHERE FALSE"
            else:
                marks, vals = _in_list(scope)
                site_filter = f"WHERE site IN ({marks})"
                params = vals * len(SITE_KINDS)
        site_held = " UNION ALL ".join(
            f"SELECT '{kind}' AS kind, project, site, NULL AS source, max({_q(DATE_COLUMNS[kind])}) AS latest_period, "
            f"max(ingest_id) AS last_ingest_id, count(*) AS n_rows FROM {kind}_current {site_filter} "
            "GROUP BY project, site"
            for kind in SITE_KINDS
        )
        published = (
            ""
            if scope is not None
            else """
            UNION ALL
            SELECT 'published', NULL, NULL, source, max(coalesce(period_end, period_start)), max(ingest_id),
                   count(*)
            FROM published_current GROUP BY source"""
        )
        kind_order = "CASE h.kind " + " ".join(f"WHEN '{k}' THEN {n}" for n, k in enumerate(SITE_KINDS)) + " END"
        sql = f"""
            WITH held AS (
                {site_held}
                {published}
            )
            SELECT h.project, h.site, h.kind, h.source, h.latest_period, h.n_rows, i.time AS last_ingest_time,
                   i.file_name AS last_file, i."user" AS last_user, i.demo
            FROM held h JOIN ingests i ON i.ingest_id = h.last_ingest_id
            ORDER BY h.kind = 'published', h.project, h.site, {kind_order}, h.source
        """
        with self._read() as con:
            out = con.execute(sql, params).df()
        out["last_ingest_time"] = pd.to_datetime(out["last_ingest_time"]).dt.tz_localize("UTC")
        return _with_frame_dates(out)

    def has_demo_data(self) -> bool:
        """True while any current row comes from a demo ingest (pages then show the synthetic-data notice)."""
        parts = " UNION ALL ".join(f"SELECT ingest_id FROM {s}_current" for s in KINDS)
        with self._read() as con:
            return bool(
                con.execute(
                    f"SELECT EXISTS (SELECT 1 FROM ({parts}) AS c JOIN ingests i USING (ingest_id) WHERE i.demo)"
                ).fetchone()[0]
            )

    def has_real_published_series(self) -> bool:
        """True while any current series row was mapped from a published-statistics ingest that is not demo data
        (pages then say which of their numbers are real)."""
        with self._read() as con:
            return bool(con.execute(
                "SELECT EXISTS (SELECT 1 FROM series_current c JOIN ingests i USING (ingest_id) "
                "WHERE i.kind = 'published' AND NOT i.demo)"
            ).fetchone()[0])

    def is_empty(self) -> bool:
        """True when no current row of any kind is held."""
        parts = " UNION ALL ".join(f"SELECT 1 FROM {s}_current" for s in KINDS)
        with self._read() as con:
            return not con.execute(f"SELECT EXISTS ({parts})").fetchone()[0]

    def ingested_sha256s(self) -> set[str]:
        """sha256 of every file ever ingested (rolled back or not)."""
        with self._read() as con:
            return {r[0] for r in con.execute("SELECT DISTINCT sha256 FROM ingests").fetchall()}

