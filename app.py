"""Streamlit entry point: page config, navigation and the shared sidebar. Run with ``streamlit run app.py``."""

from pathlib import Path

import streamlit as st

from app_pages.shared import sidebar

SCENARIO_PAGES = ("Sandbox", "Compare", "Capacity")

ICON = Path(__file__).parent / "app_pages" / "icon.png"  # a file, not a Material icon: those are fetched online


def main() -> None:
    """Configure the page, draw the navigation and the sidebar the page needs, run the page."""
    st.set_page_config(page_title="Scalability sandbox", page_icon=str(ICON), layout="wide")
    navigation = st.navigation([
        st.Page("app_pages/sandbox.py", title="Sandbox", icon=":material/science:", default=True),
        st.Page("app_pages/builder.py", title="Builder", icon=":material/construction:"),
        st.Page("app_pages/compare.py", title="Compare", icon=":material/compare_arrows:"),
        st.Page("app_pages/capacity.py", title="Capacity", icon=":material/trending_up:"),
        st.Page("app_pages/lessons.py", title="Lessons", icon=":material/school:"),
        st.Page("app_pages/challenges.py", title="Challenges", icon=":material/emoji_events:"),
        st.Page("app_pages/validation.py", title="Validation", icon=":material/verified:"),
    ])
    if navigation.title in SCENARIO_PAGES:  # the lessons bring their own scenario and seed; validation needs none
        sidebar()
    navigation.run()


if __name__ != "__mp_main__":  # the app's worker processes (spawned) import this file as their main: no page there
    main()
