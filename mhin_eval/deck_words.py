"""What a slide deck says to its audience: the evaluators' wording (the results of record as they are) or plain
words for a lay audience (``audience="public"``), and the speaker notes of every slide.

The public wording rewrites the record's own sentences (the same numbers, the same uncertainty, the same "could
be no change"), replacing the statistical terms a room of patients, carers and the public would not know with
plain phrases; nothing is recomputed. The methods and caveats in full stay in the speaker notes.
"""

from __future__ import annotations

import re

import plotly.graph_objects as go

AUDIENCES = ("evaluators", "public")

#: Words a lay audience should not meet on a slide (checked by tests/unit/test_deck.py on every public slide).
JARGON = ("DerSimonian", "Laird", "I²", "τ²", "tau", "quasi-Poisson", "Poisson", "AR(1)", "CI", "confidence interval",
          "p-value", "p =", "p <", "heterogeneity", "counterfactual", "regression", "random effects", "random-effects",
          "autocorrelation", "Newey", "Prais", "Garwood", "Wald", "Fourier", "segmented", "standard error",
          "prediction interval", "t-interval", "log ratio", "paired", "Paule", "REML", "go-live", "Go-live")

#: (pattern, plain words), applied in order to every text of a public slide and chart.
_PUBLIC = [
    (r"Expected without intervention \(counterfactual\)", "Expected if nothing had changed"),
    (r"(\d+)% CI of expected values", "Likely range of expected values"),
    (r"Estimate \((\d+)% CI\)", "Result (likely range)"),
    (r"\((\d+)% CI\)", "(likely range)"),
    (r"\((\d+)% CI ([^()]*?) to ([^()]*?)\)", r"(likely range \2 to \3)"),
    (r"(\d+)% CI\b ?", "likely range "),
    (r"\bCIs\b", "likely ranges"),
    (r"\bCI\b", "likely range"),
    (r"; the interval is consistent with no change", "; the likely range includes no change, so this could be chance"),
    (r",? consistent with no change", ", which could be no change"),
    (r"compared with the expected trend and the comparison series",
     "compared with what the months before, and similar services elsewhere, predicted"),
    (r"compared with the expected trend", "compared with what the months before predicted"),
    (r"\(and the comparison series where a site has them\)", "(and similar services elsewhere, where a site has them)"),
    (r"\bcomparison series\b", "similar services elsewhere"),
    (r"\bcounterfactual\b", "what was expected"),
    (r"\(go-live (\w+ \d{4})\)", r"(started \1)"),
    (r"\bbaseline vs follow-up\b", "first measurement vs follow-up"),
    (r"\bbaseline\b", "the first measurement"),
    (r"\bgo-live\b", "the start"),
    (r"\bGo-live\b", "Start"),
    (r"each site's headline and the pooled estimate", "each site and all sites together"),
    (r"\bPooled across (\d+) sites", r"Across the \1 sites together"),
    (r"\bPooled\b", "All sites together"),
    (r"\bpooled\b", "combined"),
    (r"\(paired, ", "("),
    (r"^n = ", "Based on "),
    (r"Ratio of observed to expected", "Observed compared with expected"),
    (r"Rate ratio, after vs before", "After compared with before"),
    (r"\bRate ratio\b", "Times the rate"),
    (r"\brate ratio\b", "times the rate"),
    (r"people with both measurements", "people measured at the start and at follow-up"),
]
_PUBLIC = [(re.compile(pattern), words) for pattern, words in _PUBLIC]

#: What each kind of slide's analysis does, in plain words (the public deck's method line and methods slide).
PLAIN_METHODS = {
    "its": "We compared each month after the start with what the months before it predicted would have happened "
           "if nothing had changed.",
    "forest": "We combined the sites' results, giving more weight to the more certain ones and allowing for real "
              "differences between sites.",
    "prepost": "We compared the same people's scores at the start and at follow-up.",
    "funnel": "We counted the people at each step since the start.",
    "equity": "We compared how often each ethnic group was affected, per 100,000 people, with the largest group.",
    "sustainability": "Staff and partners scored how well the service can last, on a questionnaire; we show the "
                      "average score of each part.",
}
PLAIN_METHOD_NAMES = {
    "its": "months before and after the start", "forest": "all sites together", "prepost": "before and after",
    "funnel": "counts since the start", "equity": "rates by ethnic group", "sustainability": "staff questionnaire",
}
PLAIN_CAVEATS = (
    "Every result is an estimate: the likely range shows how much bigger or smaller the true change could be.",
    "Other things changed at the same time as the services, so not every change is the service's doing.",
    "Sites differ in who they serve and how they record data; compare a site with itself over time first.",
    "The speaker notes and the HTML report give the full methods and every caveat.",
)
GLOSSARY = (
    ("Likely range", "The range the true change lies in, 95 in 100 times this is worked out. A wide range means "
                     "we are less sure."),
    ("Could be no change", "The likely range includes no change at all, so the result could be chance."),
    ("Expected", "What the months before the start predicted would have happened if nothing had changed."),
    ("The start", "The month a site began the new service."),
    ("All sites together", "The sites' results combined into one, giving more weight to the more certain ones."),
    ("Times the rate", "How many times more often something happened to one group than to another, "
                       "for the same number of people."),
    ("Improvement", "A change in the better direction that is bigger than chance alone would explain."),
    ("Suppressed numbers", "Small counts shown as * and other counts rounded, so that nobody can be identified."),
)


def public_text(text: str) -> str:
    """``text`` in plain words for a lay audience (the same numbers and the same uncertainty)."""
    for pattern, words in _PUBLIC:
        text = pattern.sub(words, text)
    return text


def words(text: str, audience: str) -> str:
    """``text`` as the audience reads it: as it is for evaluators, in plain words for the public."""
    return public_text(text) if audience == "public" else text


def has_jargon(text: str) -> list[str]:
    """The jargon words in ``text`` (whole words for the short ones)."""
    found = []
    for word in JARGON:
        pattern = rf"(?<![A-Za-z]){re.escape(word)}(?![A-Za-z])" if word.isalpha() or len(word) <= 3 else re.escape(word)
        if re.search(pattern, text):
            found.append(word)
    return found


def public_figure(fig: go.Figure) -> go.Figure:
    """A chart for a lay audience: legend names, titles, tick labels and notes in plain words, and any note that
    is still statistical (the forest plot's I², τ² line) left out."""
    plain = go.Figure(fig)
    for trace in plain.data:
        if isinstance(trace.name, str):
            trace.name = public_text(trace.name)
    layout = plain.layout
    kept = []
    for note in layout.annotations or ():
        text = public_text(note.text or "")
        if has_jargon(text):
            continue
        note.text = text
        kept.append(note)
    layout.annotations = kept
    for axis in [layout[name] for name in layout if name.startswith(("xaxis", "yaxis"))]:
        if axis.title and axis.title.text:
            axis.title.text = public_text(axis.title.text)
        if axis.ticktext is not None:
            axis.ticktext = [public_text(str(t)) for t in axis.ticktext]
    if layout.title and layout.title.text:
        layout.title.text = public_text(layout.title.text)
    subtitle = layout.title.subtitle.text if layout.title and layout.title.subtitle else None
    if subtitle:
        if has_jargon(public_text(subtitle)):  # its lines' room goes too (charts.base_layout: 20 px a line)
            layout.title.subtitle.text = ""
            if layout.margin.t:
                layout.margin.t = max(30, layout.margin.t - 20 * (subtitle.count("<br>") + 1))
        else:
            layout.title.subtitle.text = public_text(subtitle)
    return plain


def figure_texts(fig: go.Figure) -> str:
    """Every text a chart draws (trace names, notes, titles, tick labels), for checking its words."""
    layout = fig.layout
    parts = [t.name or "" for t in fig.data] + [a.text or "" for a in layout.annotations or ()]
    for name in layout:
        if name.startswith(("xaxis", "yaxis")):
            axis = layout[name]
            parts += [axis.title.text or ""] + [str(t) for t in axis.ticktext or ()]
    parts.append(layout.title.text or "")
    parts.append((layout.title.subtitle.text if layout.title.subtitle else "") or "")
    for trace in fig.data:
        text = getattr(trace, "text", None)
        drawn = trace.type == "bar" or "text" in (getattr(trace, "mode", None) or "")
        if text is not None and drawn:
            parts.extend([text] if isinstance(text, str) else [str(t) for t in text])
    return "\n".join(parts)


def notes(*sections: tuple[str, str | list[str] | tuple[str, ...]]) -> str:
    """Speaker notes from (heading, text or lines) pairs; empty sections are left out."""
    out = []
    for heading, body in sections:
        lines = [body] if isinstance(body, str) else list(body)
        lines = [line for line in lines if line]
        if lines:
            out.append(f"{heading}: " + (lines[0] if len(lines) == 1 else "\n" + "\n".join(f"- {x}" for x in lines)))
    return "\n\n".join(out)
