"""The Streamlit pages: UI only, built on the public ``sim`` API and the figure builders in ``sim.viz``."""
