"""Seeding a new store with the demo extracts and the shipped published statistics."""

from __future__ import annotations

from pathlib import Path

from mhin_eval.store.base import Store
from mhin_eval.store.specs import (
    DEFAULT_DEMO_DIR,
    DEFAULT_PUBLISHED_DIR,
    EXTRACT_SUFFIXES,
    SEED_USERS,
    IngestResult,
)


def _extract_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in EXTRACT_SUFFIXES)


def seed(
    store: Store,
    *,
    demo_dir: Path | str = DEFAULT_DEMO_DIR,
    published_dir: Path | str = DEFAULT_PUBLISHED_DIR,
    results: bool = True,
    synth: bool = True,
) -> list[IngestResult]:
    """Fill a new store with the demo extracts (``demo=True``, user "demo"; written by
    ``mhin_eval.demo.write_demo`` when the folder is empty) and the shipped published statistics
    (user "seed"), then (with ``results``) compute the results of record, as after any ingest
    (mhin_eval.recompute; ``synth=False`` leaves the slower synthetic-control records to the caller). Does nothing once anyone else has ingested; a file whose sha256 was ever ingested
    is skipped, so it is idempotent and an interrupted seed resumes."""
    history = store.history()
    if (~history["user"].isin(SEED_USERS)).any():
        return []
    demo_dir, published_dir = Path(demo_dir), Path(published_dir)
    demo_files = _extract_files(demo_dir)
    if not demo_files and history.empty:
        from mhin_eval.demo import write_demo

        write_demo(demo_dir)
        demo_files = _extract_files(demo_dir)
    done = set(history["sha256"])
    ingested = []
    for files, user, demo in ((demo_files, "demo", True), (_extract_files(published_dir), "seed", False)):
        for path in files:
            from mhin_eval.loaders import load_extract

            extract = load_extract(path, catalogue=store.catalogue)
            if extract.sha256 in done:
                continue
            ingested.append(store.ingest(extract, user=user, demo=demo))
            done.add(extract.sha256)
    if ingested and results:
        from mhin_eval import recompute
        from mhin_eval.catalogue import load_catalogue

        recompute.refresh(store, store.catalogue or load_catalogue(), synth=synth)
    return ingested
