"""Results of record computed once per data version, right after an ingest or rollback, refitting only what
changed.

Each site's record for one indicator is kept under a key that hashes everything the record depends on: the
site's rows of that indicator and those of its comparison series (every breakdown and group, since a total can
be the sum of groups), the catalogue's site and indicator entries, the analysis options and the suppression
rule. After a change, :func:`refresh` recomputes the key of every (site, indicator) from the rows as they now
are; a key already kept is reused (its record carried forward to the new data version), only the others are
fitted, in parallel worker processes when there are enough of them (:func:`fit_records`). The pages then read
each project's records for the new version from the store without fitting anything; ``record.results_of_record``
still computes them on first read when no refresh ran (a store written by an older version).
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import sys
import time
import types
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from mhin_eval import evaluate, record, store_results, synth_record
from mhin_eval.access.shown import Counts
from mhin_eval.access.suppression import SuppressionRule
from mhin_eval.analysis.results import AnalysisError
from mhin_eval.catalogue import Catalogue

#: Default number of worker processes for fitting (the machines this runs on have two cores).
WORKERS = 2
#: Fewer fits than this are done in the calling process: starting workers would cost more than it saves.
MIN_PARALLEL_FITS = 16

Progress = Callable[[str, int, int], None]


@dataclass
class RefreshResult:
    """What a refresh did: the (project, site, indicator) whose records were fitted, how many were reused,
    and how long it took."""

    version: int
    fitted: set[tuple[str, str, str]] = field(default_factory=set)
    reused: int = 0
    seconds: float = 0.0

    def summary(self) -> str:
        return (f"Results of record for data version {self.version}: {len(self.fitted):,} site result(s) "
                f"computed, {self.reused:,} unchanged and carried forward ({self.seconds:.1f} s).")


def _row_hashes(frame: pd.DataFrame) -> pd.Series:
    """One uint64 per row over its values (column order fixed), independent of the frame's index."""
    if frame.empty:
        return pd.Series(dtype="uint64")
    columns = sorted(frame.columns)
    return pd.util.hash_pandas_object(frame[columns], index=False)


def _digest(*parts) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part if isinstance(part, bytes) else repr(part).encode())
        h.update(b"\x00")
    return h.hexdigest()[:32]


def record_keys(series: pd.DataFrame, participants: pd.DataFrame, catalogue: Catalogue,
                project: str) -> dict[tuple[str, str], str]:
    """{(site, indicator): key} of every intervention site and indicator of a project: the hash of the
    rows, catalogue entries and options its record depends on (rows in any order hash the same)."""
    rule = SuppressionRule.from_catalogue(catalogue)
    groups = {}
    for frame, column in ((series, "indicator"), (participants, "measure")):
        if frame.empty:
            continue
        hashes = _row_hashes(frame)
        for (site, indicator), index in frame.groupby(["site", column], sort=False).groups.items():
            groups[(column, site, indicator)] = np.sort(hashes.loc[index].to_numpy()).tobytes()
    names = {s.id: s.name for s in catalogue.sites}
    shared = _digest(record.RECORD_FORMAT, sorted(catalogue.settings.items()), catalogue.breakdowns, rule)
    keys = {}
    for indicator in catalogue.indicators_of(project):
        options = (evaluate.default_its_options(catalogue, indicator) if indicator.source == "series"
                   else indicator.default_model)
        for site in catalogue.sites_of(project):
            series_kind = indicator.source == "series"
            sites = (site.id, *site.comparison_sites) if series_kind else (site.id,)
            column = "indicator" if series_kind else "measure"
            keys[(site.id, indicator.id)] = _digest(
                shared, site, indicator, options, tuple(names.get(s, s) for s in sites),
                *(groups.get((column, s, indicator.id), b"") for s in sites),
            )
    return keys


def _json(record_: record.ResultOfRecord) -> str:
    return json.dumps(record_.to_json(), allow_nan=False, default=record._json_number)


def _fit_chunk(catalogue: Catalogue, items: list[tuple[str, str]], series: pd.DataFrame,
               participants: pd.DataFrame, views: tuple[str, ...], version: int,
               progress: Callable[[int, int], None] | None = None) -> list[tuple[str, str, dict[str, str]]]:
    """Fit and describe each (site, indicator) of ``items``: [(site, indicator, {view: record JSON})].

    Each analysis is given only its own rows (the site's and its comparison series' for that indicator: all
    it reads), split once here, so that a fit's cost does not grow with the number of sites."""
    rule = SuppressionRule.from_catalogue(catalogue)
    own_series = dict(tuple(series.groupby(["site", "indicator"], sort=False))) if not series.empty else {}
    own_people = dict(tuple(participants.groupby(["site", "measure"], sort=False))) if not participants.empty else {}
    out = []
    for done, (site_id, indicator_id) in enumerate(items, 1):
        site = catalogue.site(site_id)
        indicator = catalogue.indicator(site.project, indicator_id)
        parts = [own_series[(s, indicator_id)] for s in (site_id, *site.comparison_sites)
                 if (s, indicator_id) in own_series]
        rows = pd.concat(parts) if parts else series.iloc[:0]
        people = own_people.get((site_id, indicator_id), participants.iloc[:0])
        try:
            result = evaluate.site_result(rows, people, catalogue, site, indicator)
        except AnalysisError as exc:
            result = exc
        out.append((site_id, indicator_id, {
            view: _json(record.describe(result, site, indicator, Counts(view == "suppressed", rule), version))
            for view in views}))
        if progress:
            progress(done, len(items))
    return out


def _chunks(items: list[tuple[str, str]], n: int) -> list[list[tuple[str, str]]]:
    """``items`` in about ``n`` runs of neighbouring sites, so each worker is sent the rows of few sites."""
    items = sorted(items)
    size = max(1, -(-len(items) // n))
    return [items[i:i + size] for i in range(0, len(items), size)]


def fit_records(catalogue: Catalogue, items: Iterable[tuple[str, str]], series: pd.DataFrame,
                participants: pd.DataFrame, views: tuple[str, ...] = record.VIEWS, version: int = 0,
                workers: int = WORKERS, progress: Callable[[int, int], None] | None = None,
                pool: WorkerPool | None = None) -> dict[tuple[str, str], dict[str, str]]:
    """{(site, indicator): {view: record JSON}} of each item, fitted in ``workers`` processes when there are at
    least :data:`MIN_PARALLEL_FITS` items (the same fits as in one process: each site's model is independent)."""
    items = list(items)
    done: dict[tuple[str, str], dict[str, str]] = {}
    if not items:
        return done
    if workers <= 1 or len(items) < MIN_PARALLEL_FITS:
        for site, indicator, payload in _fit_chunk(catalogue, items, series, participants, views, version, progress):
            done[(site, indicator)] = payload
        return done
    own = pool is None
    pool = WorkerPool(workers) if own else pool
    try:
        _fit_in_pool(pool.get(), catalogue, items, series, participants, views, version, workers, progress, done)
    except (BrokenProcessPool, OSError):  # no worker processes here (a restricted host): fit in this one
        rest = [item for item in items if item not in done]
        done.update(fit_records(catalogue, rest, series, participants, views, version, 1, progress))
    finally:
        if own:
            pool.close()
    return done


class WorkerPool:
    """Worker processes started on first use and kept for a whole refresh (starting them costs seconds). They
    are forked from a server process that has already imported the analysis modules."""

    def __init__(self, workers: int):
        self.workers = workers
        self._pool: ProcessPoolExecutor | None = None

    def get(self) -> ProcessPoolExecutor:
        """The pool, with every worker started now. A new worker imports the parent's ``__main__`` module
        (multiprocessing's spawn preparation); under Streamlit that is the page script, which must not run in a
        worker, so the workers are started while ``__main__`` is an empty module."""
        if self._pool is None:
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(["mhin_eval.recompute"])
            main = sys.modules.get("__main__")
            sys.modules["__main__"] = types.ModuleType("__main__")
            try:
                self._pool = ProcessPoolExecutor(self.workers, mp_context=context)
                for started in [self._pool.submit(os.getpid) for _ in range(self.workers)]:
                    started.result()
            finally:
                sys.modules["__main__"] = main
        return self._pool

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None


def _fit_in_pool(pool, catalogue, items, series, participants, views, version, workers, progress, done) -> None:
    futures = []
    for chunk in _chunks(items, workers * 4):
        wanted = {s for site, _ in chunk for s in (site, *catalogue.site(site).comparison_sites)}
        futures.append(pool.submit(
            _fit_chunk, catalogue, chunk,
            series[series["site"].isin(wanted)] if not series.empty else series,
            participants[participants["site"].isin(wanted)] if not participants.empty else participants,
            views, version))
    for future in futures:
        for site, indicator, payload in future.result():
            done[(site, indicator)] = payload
        if progress:
            progress(len(done), len(items))


def refresh_project(store, catalogue: Catalogue, project: str, views: tuple[str, ...] = record.VIEWS,
                    workers: int = WORKERS, progress: Callable[[int, int], None] | None = None,
                    result: RefreshResult | None = None, pool: WorkerPool | None = None
                    ) -> dict[str, tuple[record.ResultOfRecord, ...]]:
    """Bring a project's records up to the store's current data version for ``views``: nothing to do when this
    version's are stored; else reuse every kept record whose key is unchanged, fit the rest, keep both, and
    store the project's records for this version.
    Returns {view: records} in catalogue order (sites, then indicators)."""
    version = store.version()
    result = result if result is not None else RefreshResult(version)
    stored = {view: store.recorded_results(version, view, project, record.RECORD_FORMAT) for view in views}
    if all(payload is not None for payload in stored.values()):
        result.reused += sum(len(catalogue.indicators_of(project)) for _ in catalogue.sites_of(project))
        return {view: tuple(record.ResultOfRecord.from_json(r) for r in json.loads(payload))
                for view, payload in stored.items()}
    every_site = [s.id for s in catalogue.sites_of(project, True)]
    series = store.series(project=project, sites=every_site)
    participants = store.participants(project=project, sites=every_site)
    keys = record_keys(series, participants, catalogue, project)
    kept = {view: store_results.cached_records(store, project, view, record.RECORD_FORMAT) for view in views}
    missing = [item for item, key in keys.items() if any(key not in kept[view] for view in views)]
    fitted = fit_records(catalogue, missing, series, participants, views, version, workers, progress, pool)
    result.fitted |= {(project, site, indicator) for site, indicator in fitted}
    result.reused += len(keys) - len(missing)
    out = {}
    for view in views:
        new = {keys[item]: payload[view] for item, payload in fitted.items()}
        store_results.keep_records(store, project, view, record.RECORD_FORMAT, new, keys.values())
        every = {**kept[view], **new}
        records = tuple(replace(record.ResultOfRecord.from_json(json.loads(every[keys[(site.id, indicator.id)]])),
                                data_version=version)
                        for site in catalogue.sites_of(project) for indicator in catalogue.indicators_of(project))
        store.record_results(version, view, project, record.RECORD_FORMAT,
                             json.dumps([r.to_json() for r in records], allow_nan=False, default=record._json_number))
        out[view] = records
    return out


def refresh(store, catalogue: Catalogue, projects: Iterable[str] | None = None, views: tuple[str, ...] = record.VIEWS,
            workers: int = WORKERS, progress: Progress | None = None, synth: bool = True) -> RefreshResult:
    """Compute the results of record of the current data version for ``projects`` (all by default) and both
    views, and the synthetic-control records of the sites with a donor pool (mhin_eval.synth_record), reusing
    unchanged records (``synth=False`` leaves the synthetic-control records to a later refresh or their first
    reader); ``progress(project, done, total)`` is told after each batch of fits."""
    started = time.perf_counter()
    result = RefreshResult(store.version())
    pool = WorkerPool(workers)
    try:
        for project in projects if projects is not None else catalogue.project_ids:
            if progress:
                progress(project, 0, 0)
            refresh_project(store, catalogue, project, views, workers,
                            (lambda done, total, p=project: progress(p, done, total)) if progress else None, result,
                            pool)
            if synth:
                synth_record.refresh_project(store, catalogue, project, views, pool if workers > 1 else None)
    finally:
        pool.close()
    result.seconds = time.perf_counter() - started
    return result
