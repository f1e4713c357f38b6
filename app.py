"""Streamlit entry point: page config, navigation and the shared sidebar. Run with ``streamlit run app.py``."""

import streamlit as st

from app_pages.shared import sidebar

SCENARIO_PAGES = ("Sandbox", "Compare", "Capacity")

st.set_page_config(page_title="Scalability sandbox", page_icon=":material/science:", layout="wide")
navigation = st.navigation([
    st.Page("app_pages/sandbox.py", title="Sandbox", icon=":material/science:", default=True),
    st.Page("app_pages/compare.py", title="Compare", icon=":material/compare_arrows:"),
    st.Page("app_pages/capacity.py", title="Capacity", icon=":material/trending_up:"),
    st.Page("app_pages/lessons.py", title="Lessons", icon=":material/school:"),
    st.Page("app_pages/validation.py", title="Validation", icon=":material/verified:"),
])
if navigation.title in SCENARIO_PAGES:  # the lessons bring their own scenario and seed; validation needs none
    sidebar()
navigation.run()
