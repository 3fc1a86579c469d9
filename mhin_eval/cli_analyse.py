"""`python -m mhin_eval analyse ...`: each analysis as a command printing one JSON document.

Each analysis registers one entry in COMMANDS: name -> (help, add_arguments, run). ``run`` takes
the parsed arguments and returns a JSON-able dict built from the same functions the pages use.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
from collections.abc import Callable

import pandas as pd

from mhin_eval.analysis.results import AnalysisError, to_jsonable
from mhin_eval.periods import column_dates, parse_period

AddArguments = Callable[[argparse.ArgumentParser], None]
Run = Callable[[argparse.Namespace], dict]
COMMANDS: dict[str, tuple[str, AddArguments, Run]] = {}


def read_input(path: str) -> pd.DataFrame:
    """Read the --input table (CSV, Excel or Parquet), refusing a file that is not what its name says and
    reading CSV text in its one encoding (see ``filetypes``); dates stay as written (see ``dated``)."""
    from pathlib import Path

    from mhin_eval.filetypes import decode_text, file_type

    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise AnalysisError(f"{path}: the file cannot be read ({exc.strerror})") from exc
    kind = file_type(data, Path(path).name, Path(path).suffix.lower())
    if kind == "xlsx":
        return pd.read_excel(io.BytesIO(data))
    if kind == "parquet":
        return pd.read_parquet(io.BytesIO(data))
    text, _encoding = decode_text(data, Path(path).name)
    return pd.read_csv(io.StringIO(text))


def dated(data: pd.DataFrame, column: str | None) -> pd.DataFrame:
    """``data`` with a text time column read by the one period reader (day first, as in NHS files), so ISO
    and dd/mm/yyyy periods give the same analysis; numeric time indices are left alone."""
    if column is None or column not in data.columns:
        return data
    values = data[column]
    if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_datetime64_any_dtype(values):
        return data
    return data.assign(**{column: column_dates(values, column)})


def time_value(value):
    """A go-live or rebase argument: a number as given, else a date read day first (as ISO text)."""
    if value is None:
        return None
    try:
        float(value)
    except (TypeError, ValueError):
        return parse_period(value).strftime("%Y-%m-%d")
    return value


def register(subparsers) -> None:
    """Add `analyse <method>` sub-commands to the top-level CLI."""
    analyse = subparsers.add_parser("analyse", help="run one analysis on a CSV and print JSON")
    methods = analyse.add_subparsers(dest="method", required=True, metavar="METHOD")
    for name, (help_text, add_arguments, run) in COMMANDS.items():
        p = methods.add_parser(name, help=help_text, description=help_text)
        p.add_argument("--input", required=True, help="input table (CSV, .xlsx or .parquet)")
        p.add_argument("--json", action="store_true", help="print the result as one JSON document (default)")
        add_arguments(p)
        p.set_defaults(handler=_runner(run))


def _runner(run: Run):
    def handler(args: argparse.Namespace) -> int:
        try:
            document = run(args)
        except (AnalysisError, KeyError, ValueError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        json.dump(to_jsonable(document), sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0

    return handler


# --- prepost: paired before/after analysis of participant records -------------------------------------


def _prepost_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--measure", help="measure to analyse (needed when the file holds several)")
    p.add_argument("--before", default="baseline", help="timepoint label of the 'before' values")
    p.add_argument("--after", default="follow-up", help="timepoint label of the 'after' values")
    p.add_argument("--id-col", default="participant_id", help="participant id column")
    p.add_argument("--value-col", default="value", help="value column")
    p.add_argument("--reliable-change", type=float, help="reliable-change threshold in score units")
    p.add_argument("--better", choices=("lower", "higher"), default="lower", help="which direction is better")
    kind = p.add_mutually_exclusive_group()
    kind.add_argument("--counts", action="store_true", help="per-person event counts: rate ratio after/before")
    kind.add_argument("--binary", action="store_true", help="0/1 outcome: McNemar's test")
    p.add_argument("--by", help="stratify by this participant attribute (e.g. ethnicity)")
    p.add_argument("--conf-level", type=float, default=0.95)


def _prepost_run(args: argparse.Namespace) -> dict:
    from mhin_eval.analysis import prepost

    data = read_input(args.input)
    options = dict(
        measure=args.measure, before=args.before, after=args.after, id_col=args.id_col,
        value_col=args.value_col, conf_level=args.conf_level,
    )
    if args.counts:
        func, model = prepost.count_prepost, "rate-ratio"
    elif args.binary:
        func, model = prepost.mcnemar_prepost, "mcnemar"
    else:
        func, model = prepost.paired_prepost, "paired-mean"
        options.update(reliable_change=args.reliable_change, better=args.better)
    if args.by:
        groups = prepost.stratified(func, data, args.by, **options)
        return {"analysis": "prepost", "model": model, "by": args.by, "groups": groups,
                "table": prepost.tidy(groups)}
    result = func(data, **options)
    return {"analysis": "prepost", "model": model, "result": result, "table": prepost.tidy(result)}


# --- pool: random-effects pooling of one estimate per site ----------------------------------------------


def _pool_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--estimate", required=True, help="column of site estimates (ratios as ratios, not logs)")
    p.add_argument("--se", help="column of standard errors (of the log ratio when --scale ratio)")
    p.add_argument("--ci-low", help="column of lower confidence limits (instead of --se)")
    p.add_argument("--ci-high", help="column of upper confidence limits (instead of --se)")
    p.add_argument("--label", help="column of site labels (default: row numbers)")
    p.add_argument("--scale", choices=("difference", "ratio"), default="difference")
    p.add_argument("--method", choices=("DL", "PM", "REML", "FE"), default="DL")
    p.add_argument("--conf-level", type=float, default=0.95, help="level of the input and output intervals")
    p.add_argument("--no-prediction", action="store_true", help="omit the prediction interval")


def _pool_run(args: argparse.Namespace) -> dict:
    import math

    from mhin_eval.analysis import pooling

    data = read_input(args.input)
    use_se = args.se is not None
    if use_se == (args.ci_low is not None or args.ci_high is not None) or (
        not use_se and (args.ci_low is None or args.ci_high is None)
    ):
        raise AnalysisError("give either --se, or both --ci-low and --ci-high")
    needed = [args.estimate, *([args.se] if use_se else [args.ci_low, args.ci_high])]
    needed += [args.label] if args.label else []
    absent = [c for c in needed if c not in data.columns]
    if absent:
        raise AnalysisError(f"no column(s) {', '.join(absent)} in {args.input}; columns: {', '.join(map(str, data.columns))}")
    sites = []
    for row_number, row in enumerate(data.to_dict(orient="records"), start=2):
        label = str(row[args.label]) if args.label else f"row {row_number}"
        values = [row[c] for c in needed if c != args.label]
        if any(v is None or (isinstance(v, float) and math.isnan(v)) for v in values):
            raise AnalysisError(f"{args.input} row {row_number} ({label}): a value is missing")
        estimate = float(row[args.estimate])
        if use_se:
            se = float(row[args.se])
            if args.scale == "ratio":
                if estimate <= 0:
                    raise AnalysisError(f"{args.input} row {row_number} ({label}): a ratio must be positive")
                estimate = math.log(estimate)
            sites.append(pooling.SiteEstimate(label, estimate, se, args.scale))
        else:
            sites.append(pooling.from_ci(label, estimate, float(row[args.ci_low]), float(row[args.ci_high]),
                                         args.scale, args.conf_level))
    result = pooling.pool(sites, method=args.method, conf_level=args.conf_level, prediction=not args.no_prediction)
    return {"analysis": "pool", "result": result, "table": pooling.tidy(result)}


COMMANDS["prepost"] = ("paired before/after analysis of participant records", _prepost_arguments, _prepost_run)
COMMANDS["pool"] = ("pool one estimate per site (fixed and random effects)", _pool_arguments, _pool_run)


# --- its: interrupted time series (segmented regression) ----------------------------------------------


def _its_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--time", default="time", help="time column: integers or month-start dates")
    p.add_argument("--value", default="value", help="outcome column")
    p.add_argument("--intervention", required=True, help="first post-period time value (integer or date)")
    p.add_argument("--family", choices=("gaussian", "poisson", "quasipoisson", "negbin"), default="quasipoisson")
    p.add_argument("--offset", help="denominator column (log offset for count families)")
    p.add_argument("--harmonics", type=int, default=0, help="Fourier sin/cos pairs for seasonality")
    p.add_argument("--period", type=int, default=12, help="seasonal period in time units")
    p.add_argument("--standard-errors", choices=("model", "ar1", "newey-west", "prais-winsten"),
                   help="model-based (a scale per series when controlled), AR(1) (the dashboard's default; "
                        "docs/its-coverage.md), Newey-West (lag --hac-lags, default 3) or Prais-Winsten (gaussian); "
                        "default: newey-west when --hac-lags is given, else model")
    p.add_argument("--hac-lags", type=int, help="Newey-West lag (implies --standard-errors newey-west)")
    p.add_argument("--small-sample", action="store_true",
                   help="Newey-West: Stata newey's n/(n-k) adjustment and t(n-k) inference")
    p.add_argument("--hac-across-series", action="store_true",
                   help="Newey-West lags run across series laid end to end (only to reproduce Stata itsa 3.x)")
    p.add_argument("--no-slope-change", action="store_true", help="model a level change only")
    p.add_argument("--slope-origin", choices=("last-pre", "first-post"), default="last-pre",
                   help="count the slope change from the last pre-period point (level change at the interruption) "
                        "or from the first post-period point (Stata itsa)")
    p.add_argument("--comparison-intercepts", choices=("each", "shared"), default="each",
                   help="controlled ITS: an intercept for each comparison series, or one shared (Stata itsa)")
    p.add_argument("--group", help="series column for controlled ITS")
    p.add_argument("--treated", help="value of --group that marks the treated series")
    p.add_argument("--horizon", type=int, default=12, help="periods after go-live for the relative effect")
    p.add_argument("--prais-winsten", action="store_true", help="same as --standard-errors prais-winsten")
    p.add_argument("--autocorrelation", choices=("ar1",), help="same as --standard-errors ar1")
    p.add_argument("--conf-level", type=float, default=0.95)


def _its_run(args: argparse.Namespace) -> dict:
    from mhin_eval.analysis import its

    standard_errors = args.standard_errors
    for flag, choice in ((args.prais_winsten, "prais-winsten"), (args.autocorrelation, "ar1")):
        if flag:
            if standard_errors not in (None, choice):
                raise AnalysisError(f"--standard-errors {standard_errors} contradicts the {choice} flag")
            standard_errors = choice
    options = its.ITSOptions(
        family=args.family,
        harmonics=args.harmonics,
        period=args.period,
        standard_errors=standard_errors,
        hac_lags=args.hac_lags,
        small_sample=args.small_sample,
        hac_across_series=args.hac_across_series,
        slope_change=not args.no_slope_change,
        slope_origin=args.slope_origin,
        comparison_intercepts=args.comparison_intercepts,
        horizon=args.horizon,
        conf_level=args.conf_level,
    )
    result = its.fit_its(
        dated(read_input(args.input), args.time),
        time_value(args.intervention),
        time=args.time,
        value=args.value,
        offset=args.offset,
        group=args.group,
        treated=args.treated,
        options=options,
    )
    document = {
        "analysis": "its",
        "family": result.family,
        "scale": result.scale,
        "n": result.n,
        "n_pre": result.n_pre,
        "n_post": result.n_post,
        "n_comparison": result.n_comparison,
        "standard_errors": options.standard_errors,
        "average_effect": result.average_effect,
        "level_change": result.level_change,
        "slope_change": result.slope_change,
    }
    if args.group:
        document["difference_in_level_change"] = result.difference_in_level_change
        document["difference_in_slope_change"] = result.difference_in_slope_change
    document.update(
        relative_effect=result.relative_effect,
        absolute_effect=result.absolute_effect,
        cumulative_effect=result.cumulative_effect,
        table=result.tidy(),
        coefficients=result.coefficients,
        diagnostics=result.diagnostics,
        warnings=list(result.warnings),
        methods=result.methods,
    )
    return document


COMMANDS["its"] = ("interrupted time series: level and slope change at go-live", _its_arguments, _its_run)


# --- spc: Making Data Count XmR chart -------------------------------------------------------------------


def _spc_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--time", default="period", help="time column (dates or numbers)")
    p.add_argument("--value", default="value", help="value column")
    p.add_argument("--improvement", choices=("increase", "decrease", "neutral"),
                   help="which direction is an improvement (default: neutral)")
    p.add_argument("--target", type=float, help="target value, for the assurance icon")
    p.add_argument("--no-screen", action="store_true", help="do not screen out large moving ranges")
    p.add_argument("--baseline", type=int, help="fix the limits on the first N points of each segment")
    p.add_argument("--rebase-at", action="append", default=[], metavar="VALUE",
                   help="start new limits at this time (e.g. go-live); repeat for several")
    p.add_argument("--facet", help="column splitting the data into separate charts")


def _spc_run(args: argparse.Namespace) -> dict:
    from mhin_eval.analysis import spc

    result = spc.xmr(
        dated(read_input(args.input), args.time), time=args.time, value=args.value, improvement=args.improvement,
        target=args.target, screen_outliers=not args.no_screen, baseline=args.baseline,
        rebase_at=[time_value(v) for v in args.rebase_at], facet=args.facet,
    )
    return {
        "analysis": "spc",
        "icons": result.icons,
        "summary": result.summary,
        "points": result.points,
        "warnings": list(result.warnings),
        "methods": result.methods,
    }


# --- equity: rates by group and rate ratios against a reference group ---------------------------------


def _equity_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--group", default="group", help="group column (e.g. ethnicity)")
    p.add_argument("--count", default="value", help="event count column")
    p.add_argument("--denominator", default="denominator", help="population or person-time column")
    p.add_argument("--reference", help="reference group for rate ratios (omit for rates only)")
    p.add_argument("--per", type=float, default=100_000, help="rates per this many (default 100000)")
    p.add_argument("--method", choices=("wald", "exact"), default="wald", help="rate-ratio interval")
    p.add_argument("--conf-level", type=float, default=0.95)
    p.add_argument("--go-live", help="also estimate the change in the rate ratio at this go-live (controlled ITS)")
    p.add_argument("--time", default="period", help="time column, with --go-live")
    p.add_argument("--group-of-interest", help="with --go-live: the group compared with the reference")


def _equity_run(args: argparse.Namespace) -> dict:
    from mhin_eval.analysis import equity

    data = read_input(args.input)
    columns = dict(count=args.count, denominator=args.denominator, group=args.group)
    if args.reference is None:
        if args.go_live:
            raise AnalysisError("--go-live needs --reference")
        rates = equity.group_rates(data, per=args.per, conf_level=args.conf_level, **columns)
        return {"analysis": "equity", "per": rates.per, "table": rates.table, "warnings": list(rates.warnings),
                "methods": rates.methods}
    ratios = equity.rate_ratios(data, args.reference, per=args.per, conf_level=args.conf_level,
                                method=args.method, **columns)
    document = {"analysis": "equity", "reference": ratios.reference, "method": ratios.method, "per": ratios.per,
                "table": ratios.table, "warnings": list(ratios.warnings), "methods": ratios.methods}
    if args.go_live:
        change = equity.rate_ratio_change(dated(data, args.time), args.reference, time_value(args.go_live), time=args.time,
                                          group_of_interest=args.group_of_interest, **columns)
        document["change"] = {
            "group": change.group, "reference": change.reference, "go_live": change.go_live,
            "ratio_of_rate_ratios_level": change.level_change, "ratio_of_rate_ratios_slope": change.slope_change,
            "warnings": list(change.warnings), "methods": change.methods,
        }
    return document


COMMANDS["spc"] = ("Making Data Count XmR chart: limits, special causes, icons", _spc_arguments, _spc_run)
COMMANDS["equity"] = ("rates by group with exact CIs and rate ratios against a reference", _equity_arguments,
                      _equity_run)


from mhin_eval import cli_synth  # noqa: E402,F401  (registers `analyse synth`)
