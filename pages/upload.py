"""Upload: drop an extract, read every problem or the preview of what changes, confirm to store it;
ingest history and rollback for the evaluation team."""

import streamlit as st

from mhin_eval import uploads
from mhin_eval.text import plain
from mhin_eval.ui import auth, components, context, exports, many_sites
from mhin_eval.ui import published as published_ui
from mhin_eval.ui import recipes as upload_recipes

access = auth.page_access()
cat = context.catalogue()
store = context.get_store()

st.title("Upload data")
scope = "any site" if access.sites is None else ", ".join(plain(components.site_label(s)) for s in access.sites)
st.markdown(
    f"Add a monthly indicator extract, participant records or published statistics for **{scope}**. "
    "The file is checked first: you see every problem, or exactly what will change, before anything is stored. "
    "A file with any problem is refused as a whole and nothing already stored changes."
)
with st.expander("What a file must look like"):
    st.markdown(
        "- **Monthly indicators**: `project, site, indicator, period, value, denominator, breakdown, group` "
        "(`breakdown` and `group` are `all` when not split by group).\n"
        "- **Participant records**: `project, site, participant_id, measure, timepoint, value` and optionally "
        "`date, delivery_mode, ethnicity, age_band, sex`; `timepoint` is `baseline` or `follow-up`.\n"
        "- NHS England's published statistics files (MHSDS long CSV, Mental Health Act annual data file).\n"
        "- Real NHS files of a known layout (A&E attendances, IAPT monthly time series): read with a recipe, "
        "proposed when the file's columns match (`python -m mhin_eval recipes` lists them).\n"
        f"- CSV (UTF-8 or Windows-1252), Excel `.xlsx` or Parquet, up to {uploads.max_upload_bytes(cat) / 2**20:,.0f} MB."
    )

upload = st.file_uploader("Extract file", type=["csv", "xlsx", "parquet"], key="upload-file")
if upload is not None:
    data = upload.getvalue()
    sheet = upload_recipes.choose_sheet(data, upload.file_id) if upload.name.lower().endswith(".xlsx") else None
    recipe = upload_recipes.choose_recipe(data, upload.name, upload.file_id, cat, sheet)
    if recipe is None and access.can_rollback:
        recipe = upload_recipes.mapping_step(data, upload.name, upload.file_id, cat, sheet, can_save=True)
    correction = st.toggle(
        "This file corrects data already stored", key="upload-replace-range",
        help="Each site's indicator is replaced as a whole over the months the file covers: stored rows in that "
             "range that the file does not give again (e.g. a group spelt differently before) are removed. "
             "The preview lists them; rolling the upload back restores them.")
    check_key = ("upload-check", upload.file_id, sheet, recipe, correction, context.data_version())
    name = plain(upload.name)
    if st.session_state.get("upload-check-key") != check_key:
        with st.status(f"Checking {name} ({len(data) / 2**20:,.1f} MB)…", expanded=False) as status:
            check = uploads.check_upload(data, upload.name, access=access, store=store, catalogue=cat, sheet=sheet,
                                         replace_range=correction, recipe=recipe)
            status.update(label=f"Checked {name}", state="complete" if check.ok else "error")
        st.session_state["upload-check-key"] = check_key
        st.session_state["upload-check"] = check
    check = st.session_state["upload-check"]

    if not check.ok:
        st.error(f"**{name} was refused: {len(check.problems):,} problem(s).** Nothing was stored. "
                 "Fix each problem below and upload the file again.", icon=":material/block:")
        problems = check.problems_frame()
        st.dataframe(problems, hide_index=True)
        exports.csv_button("Download the problem report (CSV)", problems, f"{upload.name}-problems.csv",
                           key="upload-problems")
    else:
        extract = check.extract
        changes = check.changes
        added, replaced = int(changes["added"].sum()), int(changes["replaced"].sum())
        unchanged = int(changes["unchanged"].sum())
        removed = len(check.removed)
        st.success(f"**{name} passed every check** ({extract.kind}, {len(extract.frame):,} rows): "
                   f"{added:,} rows would be added, {replaced:,} values replaced"
                   + (f", {removed:,} stored rows removed" if removed else "")
                   + f" and {unchanged:,} are already stored.", icon=":material/check_circle:")
        for note in extract.notes:
            st.caption(plain(note))
        st.subheader("What will change")
        st.dataframe(changes.rename(columns=str.capitalize), hide_index=True)
        if extract.kind == "published":
            published_ui.mapped_preview(extract.frame)
        if replaced:
            with st.expander(f"The {replaced:,} values that would be replaced (old and new)"):
                st.dataframe(check.replaced, hide_index=True)
        if removed:
            st.warning(f"This correction removes {removed:,} stored row(s) that the file does not give again:",
                       icon=":material/delete:")
            st.dataframe(check.removed, hide_index=True)
        if added or replaced or removed:
            if st.button(f"Store {name}", type="primary", key="upload-confirm"):
                with st.spinner("Storing…"):
                    result = uploads.confirm_upload(check, access=access, store=store, catalogue=cat,
                                                    progress=many_sites.results_progress())
                st.session_state.pop("upload-check-key", None)
                st.success(plain(result.summary()), icon=":material/done_all:")
        else:
            st.info("Every row of this file is already stored with the same value: there is nothing to add.")

st.header("Upload history")
history = context.history(access.data_scope(cat))
if history.empty:
    st.info("Nothing has been uploaded yet.")
else:
    shown = history.assign(
        time=history["time"].dt.strftime("%d %b %Y %H:%M UTC"),
        status=history["rolled_back_at"].map(lambda t: "rolled back" if t == t and t is not None else "live"),
        sites=history["sites"].fillna("–"),
    )
    columns = ["ingest_id", "time", "user", "file_name", "kind", "sites"]
    columns += ["rows_added", "rows_replaced"] if access.sites is None else ["rows_in_scope"]
    columns += ["rows_removed"]
    shown = shown[columns + ["status"]].rename(columns={"rows_in_scope": "rows for your sites"})
    st.dataframe(shown.rename(columns=lambda c: c.replace("_", " ").capitalize()), hide_index=True)

if access.can_rollback:
    live = history[history["rolled_back_at"].isna() & ~history["no_op"]] if not history.empty else history
    if not live.empty:
        st.subheader("Roll back an upload")
        st.caption("Rolling back removes the rows an upload added and gives the values it replaced their earlier "
                   "values back, exactly. Values a later upload wrote are kept.")
        choice = st.selectbox("Upload", live["ingest_id"].tolist()[::-1], key="rollback-id",
                              format_func=lambda i: f"#{i} · {live.set_index('ingest_id').loc[i, 'file_name']}")
        if st.button(f"Roll back upload #{choice}", key="rollback-confirm"):
            result = uploads.rollback_ingest(int(choice), access=access, store=store, catalogue=cat,
                                             progress=many_sites.results_progress())
            st.success(plain(result.summary()))
    audit = components.details_on_demand("Audit log (logins, uploads, rollbacks, downloads)", key="audit-log")
    if audit.open:
        audit.dataframe(store.audit_log(limit=200).rename(columns=str.capitalize), hide_index=True)
