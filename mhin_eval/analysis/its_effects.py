"""ITS effects against the counterfactual: at the horizon, cumulative and averaged over the first months."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from mhin_eval.analysis.its_data import _design, _effect_terms
from mhin_eval.analysis.results import Estimate

if TYPE_CHECKING:
    from mhin_eval.analysis.its_inference import _Inference


def _horizon_effects(prepared, options, inference: _Inference, columns, frame, notes):
    """Relative and absolute effect in the treated series ``horizon`` periods after the last pre-period point."""
    t_h = prepared.intervention_t - 1 + options.horizon
    treated = frame.loc[frame["is_treated"]]
    last_post = int(treated["t"].max())
    if t_h > last_post:
        notes.append(
            f"The horizon of {options.horizon} periods lies beyond the last observed period, so the "
            "relative and absolute effects there are extrapolated from the fitted lines."
        )
    nearest = treated.iloc[int(np.argmin(np.abs(treated["t"].to_numpy() - t_h)))]
    offset_h = float(nearest["offset"])
    row_args = ([t_h], [1], [1], [prepared.treated_label], prepared, options)
    x_h = _design(*row_args).reindex(columns=columns).to_numpy()[0]
    level_term, slope_term = _effect_terms(prepared, options)
    x_cf = x_h.copy()
    difference = np.zeros_like(x_h)
    for term in (level_term, slope_term):
        if term is not None:
            index = list(columns).index(term)
            x_cf[index] = 0.0
            difference[index] = x_h[index]
    params = inference.fit.params
    if inference.count:
        ratio = inference.linear(difference)
        relative = Estimate(
            ratio.estimate - 1, ratio.ci_low - 1, ratio.ci_high - 1, ratio.p_value,
            "proportion", options.conf_level, ratio.estimate * ratio.se,
        )  # fmt: skip
        fitted_h = math.exp(x_h @ params + offset_h)
        cf_h = math.exp(x_cf @ params + offset_h)
        absolute = inference.delta(fitted_h - cf_h, fitted_h * x_h - cf_h * x_cf)
        return relative, absolute
    absolute = inference.linear(difference)
    cf_h = float(x_cf @ params)
    if cf_h <= 0:
        notes.append(
            "The relative effect is not reported because the counterfactual at the horizon is not positive."
        )
        return None, absolute
    change = float(difference @ params)
    gradient = difference / cf_h - change * x_cf / cf_h**2
    return inference.delta(change / cf_h, gradient, "proportion"), absolute


def _cumulative_effect(inference: _Inference, X_post, X_cf, offset, count) -> Estimate:
    params = inference.fit.params
    if count:
        fitted = np.exp(X_post @ params + offset)
        cf = np.exp(X_cf @ params + offset)
        gradient = (fitted[:, None] * X_post - cf[:, None] * X_cf).sum(axis=0)
        return inference.delta(float(np.sum(fitted - cf)), gradient)
    gradient = (X_post - X_cf).sum(axis=0)
    return inference.delta(float(gradient @ params), gradient)


def _average_effect(prepared, options, inference: _Inference, columns, frame, notes) -> Estimate:
    """Effect averaged over the first ``horizon`` months after go-live (months 1..H, month 1 = go-live).

    Counts: the ratio sum(fitted) / sum(counterfactual) over those months, with its log-scale
    standard error by the delta method; gaussian: the mean of fitted minus counterfactual. Months
    missing from the series are predicted, each with the offset of its nearest observed month.
    """
    months = np.arange(prepared.intervention_t, prepared.intervention_t + options.horizon)
    treated = frame.loc[frame["is_treated"]]
    observed_t = treated["t"].to_numpy()
    if months[-1] > observed_t.max():
        notes.append(
            f"The first {options.horizon} months after go-live run past the last observed period, so the "
            "average effect over them is partly extrapolated from the fitted lines."
        )
    nearest = np.abs(observed_t[None, :] - months[:, None]).argmin(axis=1)
    offsets = treated["offset"].to_numpy(dtype=float)[nearest]
    ones = np.ones(len(months))
    X_f = _design(months, ones, ones, [prepared.treated_label] * len(months), prepared, options)
    X_f = X_f.reindex(columns=columns).to_numpy()
    X_cf = X_f.copy()
    for term in _effect_terms(prepared, options):
        if term is not None:
            X_cf[:, list(columns).index(term)] = 0.0
    params = inference.fit.params
    if inference.count:
        fitted = np.exp(X_f @ params + offsets)
        counterfactual = np.exp(X_cf @ params + offsets)
        log_ratio = math.log(fitted.sum()) - math.log(counterfactual.sum())
        gradient = fitted @ X_f / fitted.sum() - counterfactual @ X_cf / counterfactual.sum()
        on_log = inference.delta(log_ratio, gradient)
        return Estimate(
            math.exp(log_ratio), math.exp(on_log.ci_low), math.exp(on_log.ci_high), on_log.p_value,
            "ratio", options.conf_level, on_log.se,
        )  # fmt: skip
    gradient = (X_f - X_cf).mean(axis=0)
    return inference.delta(float(gradient @ params), gradient)
