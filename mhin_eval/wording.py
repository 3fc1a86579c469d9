"""Numbers in words: formatted estimates and plain-language sentences shared by pages, exports and the CLI.

Every sentence carries its unit and its uncertainty, and says "consistent with no change" when the
interval includes the null, so that no page or slide can state more than the analysis supports.
"""

from __future__ import annotations

import math

from mhin_eval.analysis.results import Estimate


def fmt_number(value: float | None, digits: int = 1) -> str:
    """A number for people: thousands separators, fixed decimals, an en dash for missing."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:,.{digits}f}"


def fmt_signed(value: float, digits: int = 1) -> str:
    """A signed number ("+0.3", "-0.2") that never reads "-0.0" or "+0.0": a value that rounds to zero is 0.0."""
    text = f"{value:+.{digits}f}"
    return text[1:] if float(text) == 0 else text


def fmt_percent(value: float, digits: int = 0, signed: bool = False) -> str:
    """A proportion (0.31) as a percentage ("31%")."""
    if value is None or math.isnan(value):
        return "–"
    sign = "+" if signed and value > 0 else ""
    return f"{sign}{value * 100:.{digits}f}%"


def fmt_p(p: float | None) -> str:
    """p-values as usually reported: p < 0.001 or to three decimals."""
    if p is None or math.isnan(p):
        return "p not available"
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def fmt_estimate(est: Estimate | None, unit: str = "", digits: int = 2) -> str:
    """'0.69 (95% CI 0.58 to 0.82)' with the unit after the estimate when given."""
    if est is None:
        return "no estimate"
    level = f"{est.conf_level * 100:.0f}%"
    unit_text = f" {unit}" if unit else ""
    return (
        f"{est.estimate:.{digits}f}{unit_text} ({level} CI {est.ci_low:.{digits}f} to {est.ci_high:.{digits}f})"
    )


def relative_change_phrase(ratio: Estimate, note_null: bool = True) -> str:
    """A ratio estimate as a percentage change: 'fell by 31% (95% CI 18% to 42%)'."""
    level = f"{ratio.conf_level * 100:.0f}%"
    change, low, high = ratio.estimate - 1, ratio.ci_low - 1, ratio.ci_high - 1
    if ratio.ci_high < 1:
        return f"fell by {fmt_percent(-change)} ({level} CI {fmt_percent(-high)} to {fmt_percent(-low)})"
    if ratio.ci_low > 1:
        return f"rose by {fmt_percent(change)} ({level} CI {fmt_percent(low)} to {fmt_percent(high)})"
    return (
        f"changed by {fmt_percent(change, signed=True)} ({level} CI {fmt_percent(low, signed=True)} to "
        f"{fmt_percent(high, signed=True)})" + (", consistent with no change" if note_null else "")
    )


def difference_phrase(diff: Estimate, unit: str, digits: int = 1, note_null: bool = True) -> str:
    """A difference estimate in words: 'fell by 4.2 points (95% CI 2.1 to 6.3)'."""
    level = f"{diff.conf_level * 100:.0f}%"
    if diff.ci_high < 0:
        return (
            f"fell by {fmt_number(-diff.estimate, digits)} {unit} ({level} CI {fmt_number(-diff.ci_high, digits)} "
            f"to {fmt_number(-diff.ci_low, digits)})"
        )
    if diff.ci_low > 0:
        return (
            f"rose by {fmt_number(diff.estimate, digits)} {unit} ({level} CI {fmt_number(diff.ci_low, digits)} "
            f"to {fmt_number(diff.ci_high, digits)})"
        )
    return (
        f"changed by {fmt_signed(diff.estimate, digits)} {unit} ({level} CI {fmt_signed(diff.ci_low, digits)} to "
        f"{fmt_signed(diff.ci_high, digits)})" + (", consistent with no change" if note_null else "")
    )


def change_phrase(est: Estimate, unit: str = "", digits: int = 1, note_null: bool = True) -> str:
    """Ratio or difference, whichever the estimate is, in words."""
    if est.scale == "ratio":
        return relative_change_phrase(est, note_null)
    return difference_phrase(est, unit, digits, note_null)


def finding_sentence(subject: str, est: Estimate, context: str, unit: str = "", digits: int = 1) -> str:
    """'<subject> <change> <context>.' with the no-change caveat at the end, where a reader looks for it
    (``digits``: decimals of a difference)."""
    sentence = f"{subject} {change_phrase(est, unit, digits=digits, note_null=False)} {context}"
    if not est.excludes_null:
        sentence += "; the interval is consistent with no change"
    return sentence + "."


def direction(est: Estimate | None, better: str) -> str:
    """'improvement', 'deterioration' or 'no clear change' from the CI and which direction is better."""
    if est is None:
        return "no estimate"
    if not est.excludes_null:
        return "no clear change"
    went_down = est.ci_high < est.null_value
    return "improvement" if went_down == (better == "lower") else "deterioration"


DIRECTION_ICONS = {
    "improvement": "✓ improvement",
    "deterioration": "✗ deterioration",
    "no clear change": "○ no clear change",
    "no estimate": "– no estimate",
}


DIAGNOSTIC_WORDS = {
    "durbin_watson": "Durbin–Watson {:.2f} (2 means no autocorrelation left)",
    "ljung_box_p": "Ljung–Box p = {:.2g} (small means autocorrelation left)",
    "dispersion": "dispersion {:.3g}",
    "rho": "AR(1) ρ = {:.2f}",
    "alpha": "negative binomial α = {:.3g}",
    "aic": "AIC {:,.1f}",
    "df_residual": "{:.0f} residual df",
}


def diagnostics_in_words(diagnostics: dict) -> str:
    """The fit checks a reader can act on, named in words, in a fixed order; internal numbers left out."""
    return "; ".join(words.format(diagnostics[key]) for key, words in DIAGNOSTIC_WORDS.items()
                     if isinstance(diagnostics.get(key), (int, float)) and not isinstance(diagnostics[key], bool)
                     and diagnostics[key] == diagnostics[key])
