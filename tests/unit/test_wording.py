"""Plain-language wording of estimates: direction, units, uncertainty and the null."""

from mhin_eval.analysis.results import Estimate
from mhin_eval.wording import change_phrase, direction, fmt_estimate, fmt_p


def test_ratio_below_one_reads_as_a_fall_with_ci_in_percent():
    est = Estimate(0.69, 0.58, 0.82, 0.001, scale="ratio")
    assert change_phrase(est) == "fell by 31% (95% CI 18% to 42%)"
    assert direction(est, "lower") == "improvement"
    assert direction(est, "higher") == "deterioration"


def test_ratio_interval_including_one_says_consistent_with_no_change():
    est = Estimate(0.95, 0.80, 1.12, 0.5, scale="ratio")
    assert change_phrase(est) == "changed by -5% (95% CI -20% to +12%), consistent with no change"
    assert direction(est, "lower") == "no clear change"


def test_difference_carries_unit():
    est = Estimate(-4.25, -6.3, -2.1, 0.01, scale="difference")
    assert change_phrase(est, "points") == "fell by 4.2 points (95% CI 2.1 to 6.3)"
    rise = Estimate(3.0, 1.0, 5.0, 0.01, scale="difference")
    assert change_phrase(rise, "points").startswith("rose by 3.0 points")


def test_format_helpers():
    assert fmt_estimate(Estimate(0.5, 0.25, 0.75, scale="ratio")) == "0.50 (95% CI 0.25 to 0.75)"
    assert fmt_estimate(None) == "no estimate"
    assert fmt_p(0.0001) == "p < 0.001"
    assert fmt_p(0.0423) == "p = 0.042"


def test_finding_sentence_puts_the_no_change_caveat_last():
    from mhin_eval.wording import finding_sentence

    est = Estimate(1.12, 0.99, 1.27, 0.07, scale="ratio")
    sentence = finding_sentence("A&E attendances at Hull", est, "in the 12 months after go-live")
    assert sentence == (
        "A&E attendances at Hull changed by +12% (95% CI -1% to +27%) in the 12 months after go-live; "
        "the interval is consistent with no change."
    )


def test_diagnostics_are_named_in_words_and_internals_left_out():
    from mhin_eval.wording import diagnostics_in_words

    text = diagnostics_in_words({"durbin_watson": 1.874, "ljung_box_p": 0.0312, "scale": 3.2, "n_parameters": 4,
                                 "acf": [0.1], "residuals": "Pearson", "alpha": float("nan"), "df_residual": 44.0})
    assert text == ("Durbin–Watson 1.87 (2 means no autocorrelation left); "
                    "Ljung–Box p = 0.031 (small means autocorrelation left); 44 residual df")
    assert "_" not in text and "scale" not in text
