"""Builds data/organisations.csv (NHS organisation codes and names) from the published files themselves.

Names come from the MHSDS 4 week waits files (Provider rows: PRIMARY_LEVEL, PRIMARY_LEVEL_DESCRIPTION) and
the IAPT monthly time series (Provider Code, Provider Name); the A&E files add codes without names.
SUCCESSIONS are mergers met in those files: the A&E files carry RW3 and RM2 up to 2017-09 and R0A from
2017-10 (Manchester University NHS FT was formed on 1 October 2017).

    python scripts/build_organisations.py /work/shared/real-data
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import pandas as pd

OUT = Path(__file__).resolve().parent.parent / "data" / "organisations.csv"
NAMES = {
    "RW3": "CENTRAL MANCHESTER UNIVERSITY HOSPITALS NHS FOUNDATION TRUST",
    "RM2": "UNIVERSITY HOSPITAL OF SOUTH MANCHESTER NHS FOUNDATION TRUST",
    "RWA": "HULL UNIVERSITY TEACHING HOSPITALS NHS TRUST",
}
SUCCESSIONS = {"RW3": ("R0A", "2017-10-01"), "RM2": ("R0A", "2017-10-01")}


def build(real_data: Path) -> pd.DataFrame:
    names: dict[str, str] = {}
    sources: dict[str, set[str]] = {}
    for path in sorted((real_data / "mhsds_4ww_2024").glob("*.csv")):
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        providers = frame[frame["BREAKDOWN"] == "Provider"]
        for code, name in zip(providers["PRIMARY_LEVEL"], providers["PRIMARY_LEVEL_DESCRIPTION"], strict=False):
            names.setdefault(code, name.strip())
            sources.setdefault(code, set()).add("mhsds-4ww")
    iapt = real_data / "iapt_monthly_timeseries" / "iapt_table1_feb2019_feb2020.csv"
    if iapt.exists():
        frame = pd.read_csv(iapt, dtype=str, keep_default_na=False)
        for code, name in zip(frame["Provider Code"], frame["Provider Name"], strict=False):
            if code != "all":
                names.setdefault(code, " ".join(name.split()))
                sources.setdefault(code, set()).add("iapt")
    for path in sorted((real_data / "ae_attendances_nhsrdatasets").glob("*.csv")):
        for code in pd.read_csv(path, dtype=str, usecols=["org_code"])["org_code"].unique():
            names.setdefault(code, "")
            sources.setdefault(code, set()).add("ae-attendances")
    for code, name in NAMES.items():
        names[code] = names.get(code) or name
    rows = [{"code": code, "name": names[code],
             "successor": SUCCESSIONS.get(code, ("", ""))[0], "successor_from": SUCCESSIONS.get(code, ("", ""))[1],
             "sources": " ".join(sorted(sources.get(code, set())))} for code in sorted(names)]
    return pd.DataFrame(rows)


if __name__ == "__main__":
    table = build(Path(sys.argv[1] if len(sys.argv) > 1 else "/work/shared/real-data"))
    table.to_csv(OUT, index=False, quoting=csv.QUOTE_MINIMAL)
    print(f"{OUT}: {len(table):,} organisations")
