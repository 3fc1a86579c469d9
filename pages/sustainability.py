"""Sustainability: each site's self-assessment profile by domain, change between rounds, every site's latest
round, the instrument's items, and the site's facilitators and barriers, as tabs drawn when opened.
Instruments come from the catalogue."""

import pandas as pd
import streamlit as st

from mhin_eval import charts, charts_ranked
from mhin_eval.analysis.sustainability import TOTAL
from mhin_eval.text import plain
from mhin_eval.ui import analyses, auth, components, context, many_sites, sections, state
from mhin_eval.ui import sustainability as implementation
from mhin_eval.wording import difference_phrase, fmt_number

access = auth.page_access()

cat = context.catalogue()
st.title("Sustainability of interventions")
st.markdown(
    "How well placed each site is to keep its intervention going, from self-assessments by its staff and "
    "partners, beside what interviews and workshops found helps or hinders."
)
sites = [s for s in cat.sites if not s.is_comparison and access.allows_site(s.id)]
if not cat.instruments or not sites:
    st.info("No sustainability instrument is defined in the catalogue yet." if not cat.instruments
            else "You have no site to show.")
    st.stop()

# The sidebar's select shows the short name (the full one does not fit its width); the page names it in full.
instrument_id = state.choose("Instrument", cat.instrument_ids, "instrument", container=st.sidebar,
                             format_func=lambda i: cat.instrument(i).short_name)
instrument = cat.instrument(instrument_id)
limit = implementation.threshold()
names = {s.id: s.name for s in sites}
shown_counts = analyses.counts()
summary = implementation.summary(instrument.id, access.scope)
scored = {s.site: s for s in summary.sites if s.site in names}
st.caption(plain(f"{instrument.name} ({instrument.short_name}). {instrument.description} Source: {instrument.citation}."))

items = components.details_on_demand(plain(f"The {instrument.short_name}'s domains and items"),
                                     key=f"items-{instrument.id}")
if items.open:
    with items:
        st.markdown(plain(instrument.item_wording or "Item labels as in the catalogue."))
        st.dataframe(
            pd.DataFrame([{"Domain": d.label, "Item": item, "Label": d.item_label(item)}
                          for d in instrument.domains for item in d.items]),
            hide_index=True,
        )
        st.caption(plain(f"Scale {instrument.scale_text}. {summary.methods}"))

site_id = state.choose("Site", list(names), "site", format_func=names.get, default=next(iter(scored), None),
                       container=st.sidebar)
site = cat.site(site_id)
hidden = summary.scores.suppressed_rounds
tabs = components.lazy_tabs(["Domain profile", "Change between rounds", "Latest round at each site",
                             "Facilitators and barriers"])

if tab := tabs.get("Domain profile"):
    with tab:
        if site_id not in scored:
            st.info(plain(f"No {instrument.short_name} assessments are stored for {site.name} yet."))
        else:
            own = scored[site_id]
            st.markdown(f"**{plain(shown_counts.respondents(own.sentence))}**")
            site_rows = summary.scores.table[summary.scores.table["site"] == site_id]
            if shown_counts.suppressed:  # respondents are people: rounded as counts of people are
                site_rows = site_rows.assign(n_respondents=site_rows["n_respondents"].map(shown_counts.rule.round))
            components.chart(
                charts.domain_profile_chart(site_rows, title=f"{instrument.short_name} domain profile: {site.name}",
                                            scale=(instrument.scale_min, instrument.scale_max), threshold=limit),
                key=f"profile-{instrument.id}-{site_id}",
            )
            respondents = summary.scores.respondents[summary.scores.respondents["site"] == site_id]
            st.caption("Respondents per round: " + ", ".join(
                f"{pd.Timestamp(r.assessment_date):%b %Y}: {shown_counts.n(r.n_respondents)}"
                for r in respondents.itertuples()) + ".")
            for r in hidden[hidden["site"] == site_id].itertuples():
                answered = (f"fewer than {limit} respondents answered" if shown_counts.suppressed
                            else f"{r.n_respondents} respondents answered, fewer than {limit}")
                st.info(f"{pd.Timestamp(r.assessment_date):%b %Y}: {answered}, so this round's scores are not shown.",
                        icon=":material/visibility_off:")
            if own.lowest:
                low = own.scores[own.scores["lowest"]]
                st.markdown(f"**Where to act first ({own.latest:%b %Y}):** "
                            + ", ".join(f"{plain(r.label)} ({fmt_number(r.mean)})" for r in low.itertuples()) + ".")
            by_round = components.details_on_demand("Scores by round", key=f"rounds-{instrument.id}-{site_id}")
            if by_round.open:
                shown = site_rows.assign(
                    Round=pd.to_datetime(site_rows["assessment_date"]).dt.strftime("%b %Y"),
                    mean=["" if pd.isna(m) else fmt_number(m) for m in site_rows["mean"]],
                    CI=["" if pd.isna(lo) else f"{lo:.2f} to {hi:.2f}"
                        for lo, hi in zip(site_rows["ci_low"], site_rows["ci_high"], strict=True)],
                    n_respondents=[shown_counts.n(n) for n in site_rows["n_respondents"]],
                )
                columns = {"label": "Domain", "n_respondents": "Respondents", "mean": "Mean", "CI": "95% CI",
                           "suppressed": f"Not shown (fewer than {limit})", "lowest": "Lowest"}
                by_round.dataframe(shown[["Round", *columns]].rename(columns=columns), hide_index=True)

if tab := tabs.get("Change between rounds"):
    with tab:
        if site_id not in scored:
            st.info(plain(f"No {instrument.short_name} assessments are stored for {site.name} yet."))
        else:
            rounds = [pd.Timestamp(r) for r in summary.scores.rounds(site_id)]
            if len(rounds) < 2:
                st.info(plain(f"{site.name} has one {instrument.short_name} round so far; a change needs two."))
            else:
                labels = {r.date().isoformat(): f"{r:%b %Y}" for r in rounds}
                keys = list(labels)
                hidden_rounds = {pd.Timestamp(d).date().isoformat()
                                 for d in hidden.loc[hidden["site"] == site_id, "assessment_date"]}
                scored_rounds = [k for k in keys if k not in hidden_rounds]
                # By default the two latest rounds whose scores are shown, not a round too small to score.
                default_first, default_second = scored_rounds[-2:] if len(scored_rounds) >= 2 else keys[-2:]
                left, right = st.columns(2)
                first = left.selectbox("From round", keys[:-1], index=keys.index(default_first),
                                       format_func=labels.get, key=f"change-first-{instrument.id}-{site_id}")
                later = [k for k in keys if k > first]
                default_index = later.index(default_second) if default_second in later else len(later) - 1
                second = right.selectbox("To round", later, index=default_index, format_func=labels.get,
                                         key=f"change-second-{instrument.id}-{site_id}")
                change = implementation.change(instrument.id, site_id, first, second)
                if isinstance(change, str):
                    st.info(plain(shown_counts.respondents(change)))
                else:
                    est = change.estimate(TOTAL)
                    if est is not None:
                        sentence = (f"From {labels[first]} to {labels[second]}, the {instrument.short_name} total "
                                    f"at {site.name} {difference_phrase(est, 'points')}.")
                        st.markdown(f"**{plain(sentence)}**")
                    components.chart(charts.round_change_chart(change, title=f"Change by domain: {site.name}"),
                                    key=f"change-{instrument.id}-{site_id}")
                    components.show_warnings(shown_counts.respondents(w) for w in change.warnings)
                    st.caption(plain(change.methods))

if tab := tabs.get("Latest round at each site"):
    with tab:
        if not scored:
            st.info(plain(f"No {instrument.short_name} assessments are stored for "
                          + ("your site" if len(sites) == 1 else "these sites") + " yet."))
        else:
            if len(scored) > many_sites.FOREST_MAX_SITES:
                totals = implementation.latest_totals(summary, names)
                components.chart(
                    lambda: charts_ranked.caterpillar_plot(
                        totals, title=f"{instrument.short_name} total score at each site's latest round",
                        y_title=f"Total score ({instrument.scale_text})", no_change_line=False,
                        x_title="Sites, ranked by their total score"),
                    key=f"latest-ranked-{instrument.id}", cached=("sustainability-ranked", instrument.id,
                                                                  access.scope, shown_counts.suppressed))
                st.caption(f"{len(totals)} of {len(scored)} sites have a total shown (a round with fewer than "
                           f"{limit} respondents has none). The site chosen in the sidebar has its profile and "
                           "change in the first two tabs.")
            else:
                st.markdown("\n".join(f"- {plain(shown_counts.respondents(s.sentence))}" for s in scored.values()))
            table = summary.table()
            table = table[table["site"].isin(names)]
            table["site"] = table["site"].map(names)
            table["round"] = pd.to_datetime(table["round"]).dt.strftime("%b %Y")
            if shown_counts.suppressed:
                table["respondents"] = table["respondents"].map(shown_counts.n)
            scores = [c for c in table.columns if c not in ("site", "round", "respondents")]
            table[scores] = table[scores].apply(pd.to_numeric, errors="coerce").apply(
                lambda column: column.map(lambda v: "" if pd.isna(v) else f"{v:.1f}"))
            table = table.rename(columns={"site": "Site", "round": "Round", "respondents": "Respondents"})
            st.dataframe(many_sites.paginated(table, key=f"latest-page-{instrument.id}"), hide_index=True)
            st.caption(f"Mean scores ({instrument.scale_text}); empty where fewer than {limit} respondents answered.")

if tab := tabs.get("Facilitators and barriers"):
    with tab:
        sections.findings_section(site.project, (site,), heading=False)
