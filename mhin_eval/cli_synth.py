"""`python -m mhin_eval analyse synth`: synthetic control, synthetic DiD or DiD on a long panel file."""

from __future__ import annotations

import argparse

from mhin_eval.cli_analyse import COMMANDS, read_input


def _synth_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--unit", required=True, help="unit column (sites, trusts, states)")
    p.add_argument("--time", required=True, help="period column: numbers or month dates")
    p.add_argument("--value", required=True, help="outcome column")
    p.add_argument("--treated", required=True, action="append",
                   help="value of --unit that is treated (repeat for several sharing the go-live)")
    p.add_argument("--intervention", required=True, help="first post-period value of --time (the go-live)")
    p.add_argument("--method", choices=("sc", "sdid", "did"), default="sdid",
                   help="synthetic control, synthetic difference-in-differences (default) or DiD")
    p.add_argument("--exclude", action="append", default=[], metavar="UNIT",
                   help="leave this unit out of the donor pool (repeat for several)")
    p.add_argument("--conf-level", type=float, default=0.95)
    p.add_argument("--seed", type=int, default=0, help="random seed of the placebo draws (several treated)")
    p.add_argument("--solver", choices=("frank-wolfe", "exact"), default="frank-wolfe",
                   help="weights by synthdid's Frank-Wolfe (default; reproduces its published numbers) or exactly "
                        "(non-negative least squares; much faster on large panels)")


def _synth_run(args: argparse.Namespace) -> dict:
    from mhin_eval.analysis import synth

    result = synth.synth(
        read_input(args.input), unit=args.unit, time=args.time, value=args.value,
        treated=args.treated if len(args.treated) > 1 else args.treated[0], intervention=args.intervention,
        method=args.method, exclude=args.exclude, conf_level=args.conf_level, seed=args.seed, solver=args.solver,
    )
    return {
        "analysis": "synth",
        "method": result.method,
        "treated": list(result.treated),
        "go_live": result.go_live,
        "estimate": result.effect.estimate,
        "ci_low": result.effect.ci_low,
        "ci_high": result.effect.ci_high,
        "se": result.effect.se,
        "ci_df": result.ci_df,
        "algorithm4_se": result.algorithm4_se,
        "p_value": result.effect.p_value,
        "weights": result.unit_weights,
        "time_weights": result.time_weights,
        "pre_rmspe": result.pre_rmspe,
        "post_rmspe": result.post_rmspe,
        "placebo_in_time": result.placebo_in_time,
        "leave_one_out": {lo.dropped: lo.estimate for lo in result.leave_one_out},
        "table": result.tidy(),
        "warnings": list(result.warnings),
        "methods": result.methods,
        "solver": args.solver,
    }


COMMANDS["synth"] = ("synthetic control, synthetic DiD or DiD against donor units, with placebo tests",
                     _synth_arguments, _synth_run)
