"""Fuzzing the upload path (uploads.check_upload): random bytes under each accepted suffix, alone or behind
the first bytes of a real format, never raise; each is refused with at least one plain problem naming the
file, and nothing is stored. Also: the CLI refuses junk files without a traceback, and the served app's
configuration shows no error details and offers no unaudited grid download."""

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


def test_the_served_app_shows_no_error_details_and_no_grid_download():
    """Streamlit's own CSV download of a data grid bypasses the formula-safe, audited downloads, and its
    error display would show tracebacks: both are off in the configuration the server reads."""
    import tomllib

    from mhin_eval.catalogue import PROJECT_ROOT

    config = tomllib.loads((PROJECT_ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["client"]["disableDataExport"] is True
    assert config["client"]["showErrorDetails"] == "none"


@pytest.mark.parametrize("data", [b"\x89PNG\r\n\x1a\n" + b"\0" * 40, b"PAR1" + b"\x01" * 40 + b"PAR1",
                                  b"PK\x03\x04 not a workbook"], ids=["png", "parquet", "xlsx"])
def test_the_cli_refuses_junk_files_without_a_traceback(tmp_path, capsys, data):
    from mhin_eval import cli

    path = tmp_path / ("junk.csv" if data.startswith(b"\x89") else "junk.parquet" if data.startswith(b"PAR1")
                       else "junk.xlsx")
    path.write_bytes(data)
    assert cli.main(["--data-dir", str(tmp_path / "store"), "validate", str(path)]) == 1
    err = capsys.readouterr().err
    assert "junk." in err and "Traceback" not in err
