"""The one rule for text that comes from a file or the catalogue: it is only ever shown as text.

Site names, indicator labels, group labels, findings, quotes and organisation names reach three kinds of
renderer that read markup: Streamlit markdown (``st.markdown``, ``st.caption``, titles, widget labels),
plotly labels (titles, axis titles, tick text, legend names, hover text and annotations read a subset of
HTML: ``<a href>``, ``<b>``, ``<br>``) and the HTML report. Each has one escape here, applied where the
text enters that renderer, so a summary like ``![px](http://host/beacon.png)`` or a group label like
``<a href="http://evil.example">x</a>`` is drawn as those characters and never fetches or links anything.
The deck (python-pptx) and the CSV/Excel tables hold plain strings already (spreadsheet formulas are
neutralised by mhin_eval.access.downloads).
"""

from __future__ import annotations

import html
import re

#: Every ASCII punctuation character: CommonMark lets a backslash escape any of them, and escaping them
#: all also stops Streamlit's own syntax (``:red[...]``, ``:material/...:``, ``$...$``).
_MARKDOWN_SPECIALS = re.compile(r"([!\"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~])")
_LINE_BREAKS = re.compile(r"[\r\n\u2028\u2029]+")
#: Where GFM would turn plain text into a link after the markdown is parsed (escapes do not stop it): a
#: web address (``http://``, ``www.``) or an e-mail address (``@``).
_LINK_STARTS = re.compile(r"(?i)(?<=[a-z])(?=://)|(?<=\bwww)(?=\.)|(?<=@)")
#: U+2060 WORD JOINER: invisible and unbreakable, it keeps an address from being linked.
WORD_JOINER = "\u2060"


def plain(value) -> str:
    """``value`` as Streamlit markdown that shows exactly its characters, on one line (a line break in
    a file's cell could otherwise start a heading, a list or a quote). Web and e-mail addresses get an
    invisible word joiner (``WORD_JOINER``) so that they are not made links."""
    if value is None:
        return ""
    text = _LINK_STARTS.sub(WORD_JOINER, _LINE_BREAKS.sub(" ", str(value)))
    return _MARKDOWN_SPECIALS.sub(r"\\\1", text)


def chart_text(value) -> str:
    """``value`` for a plotly label or hover text: ``&``, ``<`` and ``>`` as entities, which plotly draws
    as the characters instead of reading tags."""
    if value is None:
        return ""
    return html.escape(str(value), quote=False)


def html_text(value) -> str:
    """``value`` for the HTML report, quotes included (safe inside an attribute as well as in content)."""
    if value is None:
        return ""
    return html.escape(str(value), quote=True)
