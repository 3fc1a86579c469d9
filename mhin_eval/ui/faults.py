"""Faults a visitor can meet shown as a plain message, never a traceback.

A storage fault (disk full, a data folder that cannot be written or is missing, a store held too long by
another upload) and a catalogue mistake reach every page the same way: one error box with the message,
which names the folder, file or setting and the fix, while the details go to the server log. Any other
error is left to Streamlit, configured (``client.showErrorDetails = "none"``) to show no traceback either.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

import streamlit as st

from mhin_eval.catalogue import CatalogueError
from mhin_eval.store import StoreBusy, StoreError
from mhin_eval.text import plain

log = logging.getLogger("mhin_eval")


@contextlib.contextmanager
def shown_plainly() -> Iterator[None]:
    """Run a page; a StoreError or CatalogueError ends it with an error box instead of a traceback."""
    try:
        yield
    except CatalogueError as exc:
        log.error("catalogue error", exc_info=True)
        st.error("**The catalogue has mistakes, so the dashboard cannot show this page.**\n\n"
                 + "\n".join(f"- {plain(line.removeprefix('- '))}" for line in str(exc).splitlines() if line.strip()),
                 icon=":material/error:")
    except StoreBusy as exc:
        st.warning(plain(str(exc)), icon=":material/hourglass_top:")
    except StoreError as exc:
        log.error("store error", exc_info=True)
        st.error(plain(str(exc)), icon=":material/error:")
