"""Validation: the engine against closed forms (M/M/1, M/M/c, M/G/1, M/D/1, Erlang B), with 95% intervals."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from sim import viz
from sim.experiments.validation import validation_rows


@st.cache_data(max_entries=16, show_spinner="Running replications…")
def cached_rows(replications: int, base_seed: int) -> list[dict[str, Any]]:
    return validation_rows(replications=replications, base_seed=base_seed)


def main() -> None:
    st.title("Validation")
    st.markdown("Each case is one station whose steady state has a closed form. The engine runs it over independent "
                "replications (seeds *s*, *s*+1, …); the table gives each mean with its 95% confidence interval "
                "beside the formula's value. About 1 in 20 intervals may miss the truth by chance alone.")
    left, right = st.columns(2)
    replications = left.slider("Replications", 2, 10, 5, key="validation|replications")
    base_seed = right.number_input("First seed", min_value=0, value=1, step=1, key="validation|seed")
    rows = cached_rows(int(replications), int(base_seed))
    agreeing = sum(row["within_ci"] for row in rows)
    st.metric("Predictions inside the 95% interval", f"{agreeing} of {len(rows)}")
    st.plotly_chart(viz.validation_figure(rows), key="validation")
    # the case names the model, the half-width the interval, the slider the replications: one column each
    table = pd.DataFrame(rows).drop(columns=["model", "ci_low", "ci_high", "replications"])
    table["metric"] = table["metric"].str.replace("_", " ")
    number = st.column_config.NumberColumn
    st.dataframe(table, hide_index=True, column_config={
        "predicted": number("theory", format="%.4g"),
        "simulated": number("simulated", format="%.4g"),
        "half_width": number("± (95%)", format="%.2g"),
        "relative_error": number("rel. error", format="percent"),
        "within_ci": st.column_config.CheckboxColumn("in CI"),
    })
    st.download_button("Validation rows (CSV)", pd.DataFrame(rows).to_csv(index=False), "validation.csv", "text/csv")


main()
