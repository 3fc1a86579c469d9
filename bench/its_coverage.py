"""Coverage of 95% CIs for the ITS level change under AR(1) noise: candidate standard errors compared.

Each setting simulates seeded 72-month series (go-live at month 37, annual seasonality) and fits
them with 2 Fourier pairs; every candidate is scored on the same series. Counts: Poisson counts
around 200 a month with AR(1) noise (sd 0.06) on the log scale, fitted by quasi-Poisson (the issue 3
acceptance setting is rho = 0.4). Gaussian: AR(1) noise with sd 2 around a level of about 50, fitted
by least squares. Prints a markdown table (and writes docs/its-coverage.md with --output); no
timed assertions anywhere.

Candidates (k model terms, n points):
  model      model-based SEs (quasi-Poisson scale or OLS sigma^2), z for counts, t(n-k) for gaussian
  nw3        Newey-West lag 3 (Newey & West 1994 rule for 72 points), n/(n-k), t(n-k) (Stata newey)
  nw-fixedb  Newey-West with the Andrews (1991) AR(1) plug-in bandwidth, n/(n-k), and fixed-b
             critical values (Kiefer & Vogelsang 2005) simulated for the same design and bandwidth
             under independent gaussian errors (unweighted design also for counts, whose working
             weights vary little here)
  gee-ar1    GEE with an autoregressive working correlation (statsmodels), naive covariance, X2
             scale, t(n-k-1)
  ar1-naive  AR(1) sandwich with rho = lag-1 autocorrelation of Pearson residuals, t(n-k-1)
  ar1-mp     as ar1-naive with rho + (1 + 3 rho)/n (Marriott & Pope 1954 bias correction)
  ar1-mm     AR(1) sandwich, moment-matched rho and scale (its.py), t(n-k-1)
  ar1        its.py standard_errors="ar1": ar1-mm with Satterthwaite degrees of freedom
"""

from __future__ import annotations

import argparse
import math
import sys
import time
import warnings
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mhin_eval.analysis.its import ITSOptions, fit_its  # noqa: E402

N_MONTHS, GO_LIVE, HARMONICS, PERIOD = 72, 37, 2, 12
TRUE_LEVEL_RATIO, TRUE_LEVEL_DIFFERENCE = 0.85, -4.0
COUNT_NOISE_SD, GAUSSIAN_NOISE_SD = 0.06, 2.0
NEWEY_WEST_LAG = math.floor(4 * (N_MONTHS / 100) ** (2 / 9))
FIXED_B_DRAWS = 4000
CANDIDATES = ("model", "nw3", "nw-fixedb", "gee-ar1", "ar1-naive", "ar1-mp", "ar1-mm", "ar1")
SETTINGS = (
    ("quasipoisson", 0.0, 20240612),
    ("quasipoisson", 0.4, 20240611),
    ("quasipoisson", 0.6, 20240612),
    ("gaussian", 0.0, 20240613),
    ("gaussian", 0.4, 20240613),
    ("gaussian", 0.6, 20240613),
)


def ar1_noise(rng: np.random.Generator, rho: float, sd: float, n: int) -> np.ndarray:
    """Stationary AR(1) noise with marginal sd ``sd``."""
    noise = np.empty(n)
    noise[0] = rng.normal(0, sd)
    innovations = rng.normal(0, sd * math.sqrt(1 - rho**2), n)
    for i in range(1, n):
        noise[i] = rho * noise[i - 1] + innovations[i]
    return noise


def simulated_counts(rng: np.random.Generator, rho: float) -> np.ndarray:
    """The series of tests/unit/test_its_simulation.py (same draws for the same seed)."""
    t = np.arange(1, N_MONTHS + 1)
    post = t >= GO_LIVE
    log_mean = (
        math.log(200)
        + 0.002 * t
        + np.where(post, math.log(TRUE_LEVEL_RATIO) + 0.002 * (t - (GO_LIVE - 1)), 0.0)
        + 0.10 * np.sin(2 * np.pi * t / 12)
        + 0.05 * np.cos(2 * np.pi * t / 12)
        + 0.03 * np.sin(4 * np.pi * t / 12)
    )
    noise = ar1_noise(rng, rho, COUNT_NOISE_SD, N_MONTHS)
    return rng.poisson(np.exp(log_mean + noise)).astype(float)


def simulated_continuous(rng: np.random.Generator, rho: float) -> np.ndarray:
    t = np.arange(1, N_MONTHS + 1)
    post = t >= GO_LIVE
    mean = (
        50
        + 0.1 * t
        + np.where(post, TRUE_LEVEL_DIFFERENCE + 0.05 * (t - (GO_LIVE - 1)), 0.0)
        + 3 * np.sin(2 * np.pi * t / 12)
        + 1.5 * np.cos(2 * np.pi * t / 12)
    )
    return mean + ar1_noise(rng, rho, GAUSSIAN_NOISE_SD, N_MONTHS)


def design() -> np.ndarray:
    """The its.py design for one series: intercept, trend, level, slope, Fourier pairs (level is column 2)."""
    t = np.arange(1, N_MONTHS + 1, dtype=float)
    post = (t >= GO_LIVE).astype(float)
    columns = [np.ones_like(t), t, post, (t - (GO_LIVE - 1)) * post]
    for k in range(1, HARMONICS + 1):
        columns += [np.sin(2 * np.pi * k * t / PERIOD), np.cos(2 * np.pi * k * t / PERIOD)]
    return np.column_stack(columns)


def newey_west_variance(X: np.ndarray, bread: np.ndarray, residuals: np.ndarray, lags: int) -> np.ndarray:
    scores = X * residuals[..., None]
    meat = np.einsum("...ti,...tj->...ij", scores, scores)
    for lag in range(1, lags + 1):
        gamma = np.einsum("...ti,...tj->...ij", scores[..., lag:, :], scores[..., :-lag, :])
        meat = meat + (1 - lag / (lags + 1)) * (gamma + np.swapaxes(gamma, -1, -2))
    n, k = X.shape
    return (bread @ meat @ bread)[..., 2, 2] * n / (n - k)


@cache
def fixed_b_critical_value(lags: int) -> float:
    """95% two-sided critical value of the NW t statistic for the level change, for this design and lag,
    simulated under independent gaussian errors (the fixed-b reference distribution)."""
    rng = np.random.default_rng(1000 + lags)
    X = design()
    bread = np.linalg.inv(X.T @ X)
    errors = rng.standard_normal((FIXED_B_DRAWS, N_MONTHS))
    coefficients = errors @ (X @ bread)
    residuals = errors - coefficients @ X.T
    t_stats = coefficients[:, 2] / np.sqrt(newey_west_variance(X, bread, residuals, lags))
    return float(np.quantile(np.abs(t_stats), 0.95))


def andrews_bandwidth(residuals: np.ndarray) -> int:
    """Andrews (1991) AR(1) plug-in bandwidth for the Bartlett kernel, as a whole number of lags."""
    rho = float(np.sum(residuals[1:] * residuals[:-1]) / np.sum(residuals[:-1] ** 2))
    rho = max(min(rho, 0.97), -0.97)
    alpha = 4 * rho**2 / ((1 - rho) ** 2 * (1 + rho) ** 2)
    return max(1, min(N_MONTHS // 2, int(1.1447 * (alpha * len(residuals)) ** (1 / 3))))


def ar1_level_variance(X, weights, rho, scale):
    """Level-change variance of the AR(1) working-correlation sandwich at a given rho and scale."""
    scaled = X * np.sqrt(weights)[:, None]
    bread = np.linalg.inv(scaled.T @ scaled)
    t = np.arange(len(X))
    correlation = rho ** np.abs(t[:, None] - t[None, :])
    return scale * (bread @ scaled.T @ correlation @ scaled @ bread)[2, 2]


def gee_level(y, X, family):
    t = np.arange(len(y))
    model = sm.GEE(
        y,
        X,
        groups=np.zeros(len(y)),
        time=t,
        family=sm.families.Poisson() if family == "quasipoisson" else sm.families.Gaussian(),
        cov_struct=sm.cov_struct.Autoregressive(grid=True),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = model.fit(cov_type="naive", scale="X2")
    return float(result.params[2]), float(math.sqrt(result.cov_naive[2, 2]))


def measure(family: str, rho: float, seed: int, replicates: int) -> tuple[dict, dict]:
    """Coverage per candidate and mean fit_its time (ms) per fitted option, on the same series."""
    rng = np.random.default_rng(seed)
    X = design()
    n, k = X.shape
    count = family == "quasipoisson"
    truth = math.log(TRUE_LEVEL_RATIO) if count else TRUE_LEVEL_DIFFERENCE
    t_nk1 = float(stats.t.ppf(0.975, n - k - 1))
    target = TRUE_LEVEL_RATIO if count else TRUE_LEVEL_DIFFERENCE
    fitted_options = {
        "model": ITSOptions(family=family, harmonics=HARMONICS),
        "nw3": ITSOptions(family=family, harmonics=HARMONICS, hac_lags=NEWEY_WEST_LAG, small_sample=True),
        "ar1": ITSOptions(family=family, harmonics=HARMONICS, standard_errors="ar1"),
    }
    covered = dict.fromkeys(CANDIDATES, 0)
    seconds = dict.fromkeys(fitted_options, 0.0)
    time_index = np.arange(1, N_MONTHS + 1)
    for _ in range(replicates):
        y = simulated_counts(rng, rho) if count else simulated_continuous(rng, rho)
        data = pd.DataFrame({"time": time_index, "value": y})
        results = {}
        for name, options in fitted_options.items():
            start = time.perf_counter()
            results[name] = fit_its(data, GO_LIVE, options=options)
            seconds[name] += time.perf_counter() - start
        for name, result in results.items():
            level = result.level_change
            covered[name] += level.ci_low <= target <= level.ci_high
        level = results["model"].level_change
        error = (math.log(level.estimate) if count else level.estimate) - truth

        mean = results["model"].fitted["fitted"].to_numpy()
        weights = mean if count else np.ones(n)
        residuals = (y - mean) / np.sqrt(weights)
        scale = float(residuals @ residuals / (n - k))
        bread = np.linalg.inv(X.T @ (X * weights[:, None]))
        lags = andrews_bandwidth(residuals)
        raw_residuals = y - mean
        nw_se = math.sqrt(newey_west_variance(X, bread, raw_residuals, lags))
        covered["nw-fixedb"] += abs(error) <= fixed_b_critical_value(lags) * nw_se
        gee_estimate, gee_se = gee_level(y, X, family)
        covered["gee-ar1"] += abs(gee_estimate - truth) <= t_nk1 * gee_se
        naive_rho = float(np.sum(residuals[1:] * residuals[:-1]) / np.sum(residuals**2))
        naive_se = math.sqrt(ar1_level_variance(X, weights, naive_rho, scale))
        covered["ar1-naive"] += abs(error) <= t_nk1 * naive_se
        mp_rho = min(naive_rho + (1 + 3 * naive_rho) / n, 0.95)
        covered["ar1-mp"] += abs(error) <= t_nk1 * math.sqrt(ar1_level_variance(X, weights, mp_rho, scale))
        covered["ar1-mm"] += abs(error) <= t_nk1 * results["ar1"].level_change.se
    coverage = {name: hits / replicates for name, hits in covered.items()}
    timing = {name: 1000 * total / replicates for name, total in seconds.items()}
    return coverage, timing


def table(rows: list[tuple[str, float, dict]]) -> str:
    header = "| candidate | " + " | ".join(f"{family} rho={rho:g}" for family, rho, _ in rows) + " |"
    lines = [header, "|---|" + "---:|" * len(rows)]
    for name in CANDIDATES:
        lines.append(f"| {name} | " + " | ".join(f"{coverage[name]:.3f}" for _, _, coverage in rows) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicates", type=int, default=500, help="seeded series per setting (default 500)")
    parser.add_argument("--output", type=Path, help="also write the report to this markdown file")
    args = parser.parse_args()
    rows, timings = [], []
    for family, rho, seed in SETTINGS:
        coverage, timing = measure(family, rho, seed, args.replicates)
        rows.append((family, rho, coverage))
        timings.append((family, rho, timing))
        print(f"measured {family} rho={rho:g} (seed {seed})", file=sys.stderr)
    coverage_table = table(rows)
    timing_lines = ["| setting | " + " | ".join(f"{name} (ms)" for name in timings[0][2]) + " |"]
    timing_lines.append("|---|" + "---:|" * len(timings[0][2]))
    for family, rho, timing in timings:
        timing_lines.append(
            f"| {family} rho={rho:g} | " + " | ".join(f"{v:.1f}" for v in timing.values()) + " |"
        )
    monte_carlo_se = math.sqrt(0.95 * 0.05 / args.replicates)
    report = REPORT.format(
        replicates=args.replicates,
        seeds=", ".join(f"{family} rho={rho:g}: {seed}" for family, rho, seed in SETTINGS),
        coverage_table=coverage_table,
        timing_table="\n".join(timing_lines),
        monte_carlo_se=monte_carlo_se,
        candidates="\n".join(line for line in __doc__.split("Candidates")[1].splitlines()[1:]),
    )
    print(report)
    if args.output:
        args.output.write_text(report)


REPORT = """# ITS confidence-interval coverage under autocorrelated noise

Generated by `python bench/its_coverage.py --output docs/its-coverage.md` (do not edit by hand).

Share of nominal 95% confidence intervals for the level change that contain the true value, over
{replicates} seeded 72-month series per setting (go-live at month 37, annual seasonality, 2 Fourier
pairs fitted). Counts: Poisson counts around 200 a month, true rate ratio 0.85, AR(1) noise with
sd 0.06 on the log scale, quasi-Poisson fits (rho = 0.4 is the issue 3 acceptance setting, where
93-97% is required). Gaussian: AR(1) noise with sd 2, true difference -4, least-squares fits. The
noise rho is that of the latent log-scale noise; Poisson sampling noise dilutes it in the count
residuals. Monte Carlo standard error of a coverage near 0.95: {monte_carlo_se:.3f}. Every candidate
is scored on the same series. Seeds: {seeds}.

{coverage_table}

Candidates (k model terms, n points):

```
{candidates}
```

The comments below describe the committed 500-replicate run.

Recommended, and available in `fit_its` as `ITSOptions(standard_errors="ar1")`: `ar1`. It is within
93-97% in the acceptance setting with the most margin (`ar1-mm` and `nw-fixedb` only just), the
closest to 95% in every autocorrelated setting, and within 93-97% without autocorrelation, where
it is slightly more conservative than needed. Correcting the bias of rho
for the fitted design matters most (`ar1-naive` to `ar1-mm`): Turner et al. (2021) found the usual
estimators underestimate the autocorrelation of short ITS series, and the Marriott-Pope correction,
which ignores the trend, step, slope and seasonal terms, barely helps. Satterthwaite degrees of
freedom then allow for the uncertainty in rho and the scale (`ar1-mm` to `ar1`). Newey-West with
lag 3 under-covers at every rho, even without autocorrelation. With a data-dependent bandwidth and
fixed-b critical values it comes close in the acceptance setting but not at stronger
autocorrelation or for gaussian series. GEE with an AR(1) working correlation underestimates rho
as the uncorrected moment estimator does. A parametric bootstrap was not measured: a few hundred
refits per series would exceed the app's budget of about 50 ms per fit. Known limit: for counts,
the AR(1) working model for the Pearson residuals understates the longer-lag correlation of latent
AR(1) noise diluted by Poisson noise, so coverage falls below nominal when the latent
autocorrelation is strong (quasi-Poisson, rho = 0.6).

Mean time per `fit_its` call on this machine (indicative only; the machine is shared):

{timing_table}
"""


if __name__ == "__main__":
    main()
