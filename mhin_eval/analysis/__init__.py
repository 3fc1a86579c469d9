"""Pure statistical analyses on pandas frames (no Streamlit, no plotly)."""
