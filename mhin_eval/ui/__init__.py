"""Streamlit helpers shared by the pages: the only UI module of the package."""
