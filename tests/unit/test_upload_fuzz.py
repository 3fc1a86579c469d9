"""Fuzzing the upload path (uploads.check_upload): random bytes under each accepted suffix, alone or behind
the first bytes of a real format, never raise; each is refused with at least one plain problem naming the
file, and nothing is stored."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mhin_eval import uploads
from mhin_eval.access import Access
from mhin_eval.store import Store

SUFFIXES = (".csv", ".xlsx", ".parquet")
#: Leading bytes of formats a reader recognises, so the fuzz reaches each reader, not only the sniffing.
PREFIXES = (b"", b"PK\x03\x04", b"PAR1", b"\xef\xbb\xbf", b"project,site,indicator,period,value\n",
            b"\x89PNG\r\n\x1a\n", b"\x1f\x8b", b"\xd0\xcf\x11\xe0")


@pytest.fixture(scope="module")
def store(tmp_path_factory, catalogue):
    return Store(tmp_path_factory.mktemp("fuzz-store"), catalogue=catalogue)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(suffix=st.sampled_from(SUFFIXES), prefix=st.sampled_from(PREFIXES), body=st.binary(max_size=2048))
def test_random_bytes_never_raise(store, catalogue, suffix, prefix, body):
    before = store.checksum()
    name = f"fuzz{suffix}"
    check = uploads.check_upload(prefix + body, name, access=Access.local_evaluator(), store=store,
                                 catalogue=catalogue)
    assert isinstance(check, uploads.UploadCheck)
    if not check.ok:
        assert check.problems and all(p.file == name and p.message for p in check.problems)
    assert store.checksum() == before
    assert isinstance(uploads.sheet_names(prefix + body), list)
