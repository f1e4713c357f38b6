"""Builder: make an architecture by clicks and form fields, see (and edit) its YAML, share it by link, run it.

The scenario lives in the session as plain data (``sim.teaching.builder``); every widget writes its one field
back through a callback, so the YAML beside the forms, the problems under each field and the share link always
describe the same document. The forms come from the kinds' schemas: a new kind gets its form with no code here.
"""

from __future__ import annotations

from typing import Any

import streamlit as st
import yaml

import sim
from app_pages.shared import CHART_CONFIG, compact, milliseconds, percent, simulate
from sim import viz
from sim.model.yaml12 import YamlError, safe_load_yaml
from sim.scenario.gallery import gallery_paths
from sim.teaching import builder
from sim.teaching.builder_forms import FormField
from sim.teaching.sizing import default_duration_s, with_duration

DOCUMENT, VERSION, LINK_READ, FIELD_ERRORS = "builder|document", "builder|version", "builder|link", "builder|bad"
BLANK_CHOICE = "blank canvas"


def document() -> dict[str, Any]:
    """The session's architecture (a blank canvas at first)."""
    if DOCUMENT not in st.session_state:
        st.session_state[DOCUMENT] = builder.blank()
        st.session_state[VERSION] = 0
    return dict(st.session_state[DOCUMENT])


def replace_document(new_document: dict[str, Any]) -> None:
    """Swap the whole document (a start, an upload, edited YAML, a link): every form is drawn afresh."""
    st.session_state[DOCUMENT] = new_document
    st.session_state[VERSION] = st.session_state.get(VERSION, 0) + 1
    st.session_state[FIELD_ERRORS] = {}


def widget_key(*parts: str) -> str:
    return "|".join(("builder", str(st.session_state.get(VERSION, 0)), *parts))


def read_link() -> None:
    """Load the scenario a share link carries (once per link)."""
    value = st.query_params.get("scenario")
    if not value or st.session_state.get(LINK_READ) == value:
        return
    st.session_state[LINK_READ] = value
    try:
        replace_document(builder.decode_link(value))
    except builder.BuilderError as error:
        st.error(f"This page's link holds no usable scenario: {error}", icon=":material/link_off:")


def start_controls() -> None:
    """Start from a blank canvas or a gallery scenario, or from an uploaded file."""
    left, middle, right = st.columns([2, 1, 3], vertical_alignment="bottom")
    choice = left.selectbox("Start from", [BLANK_CHOICE, *gallery_paths()], key="builder|start")
    if middle.button("Start", width="stretch", help="Replaces the current architecture."):
        start = builder.blank() if choice == BLANK_CHOICE else builder.parse_document(
            gallery_paths()[choice].read_text(encoding="utf-8"))
        replace_document(start)
    upload = right.file_uploader("…or a scenario file", type=["yaml", "yml", "json"], key="builder|upload")
    if upload is not None and st.session_state.get("builder|uploaded") != upload.file_id:
        st.session_state["builder|uploaded"] = upload.file_id
        try:
            replace_document(builder.parse_document(upload.getvalue().decode("utf-8", errors="replace")))
        except builder.BuilderError as error:
            st.error(f"{upload.name}: {error}")


def store_field(path: tuple[str, ...], key: str, field: FormField) -> None:
    """A widget's callback: write its value into the document (a YAML field is parsed first)."""
    value = st.session_state[key]
    errors = st.session_state.setdefault(FIELD_ERRORS, {})
    errors.pop(".".join(path), None)
    if field.widget == "yaml":
        try:
            value = safe_load_yaml(value) if value and value.strip() else None
        except YamlError as problem:
            errors[".".join(path)] = f"not YAML: {problem}"
            return
    if field.widget == "component" and value == "":
        value = None
    st.session_state[DOCUMENT] = builder.set_field(document(), path, value)


def field_widget(field: FormField, path: tuple[str, ...], value: Any, names: list[str]) -> None:
    """One field's widget, its value from the document (or the kind's default), written back on change."""
    key = widget_key(*path)
    shown = field.default if value is None else value
    common: dict[str, Any] = {"key": key, "on_change": store_field, "args": (path, key, field),
                              "help": field.help or None}
    widget = field.widget
    if widget == "components" and not all(isinstance(item, str) for item in shown or []):
        widget = "yaml"  # a call graph with groups: edited as YAML
    if widget == "int" or widget == "float":
        number = int if widget == "int" else float
        st.number_input(field.name, min_value=_bound(field.minimum, number), max_value=_bound(field.maximum, number),
                        value=None if shown is None else number(shown), step=number(1),
                        placeholder="not set", **common)
    elif widget == "bool":
        st.checkbox(field.name, value=bool(shown), **common)
    elif widget == "choice":
        st.selectbox(field.name, list(field.options), index=list(field.options).index(shown)
                     if shown in field.options else None, **common)
    elif widget == "component":
        options = [name for name in names if name != path[1]] if path[0] == "components" else names
        st.selectbox(field.name, options, index=options.index(shown) if shown in options else None,
                     placeholder="choose a component", **common)
    elif widget == "components":
        options = [name for name in names if name != path[1]]
        st.multiselect(field.name, options, default=[item for item in shown or [] if item in options], **common)
    elif widget == "name":
        st.text_input(field.name, value=shown or "", **common)
    else:
        text = "" if shown is None else shown if isinstance(shown, str) else flow_yaml(shown)
        st.text_input(field.name, value=text, placeholder="not set (YAML on one line)", **common)


def flow_yaml(value: Any) -> str:
    """A block on one line of YAML: {distribution: exponential, mean_ms: 10.0}."""
    return yaml.safe_dump(value, default_flow_style=True, width=10_000).strip().removesuffix("...").strip()


def _bound(bound: float | None, number: type) -> Any:
    return None if bound is None or abs(bound) > 1e12 else number(bound)


def field_problems(path: str, problems: dict[str, list[str]]) -> None:
    """The validation messages about this field (or inside it), beside its widget."""
    messages = [f"{where[len(path) + 1:] + ': ' if where != path else ''}{message}"
                for where, listed in problems.items() if where == path or where.startswith(path + ".")
                for message in listed]
    bad_yaml = st.session_state.get(FIELD_ERRORS, {}).get(path)
    for message in [bad_yaml, *messages] if bad_yaml else messages:
        st.markdown(f":red[{message}]")


def block_form(fields: list[FormField], prefix: tuple[str, ...], values: dict[str, Any], names: list[str],
               problems: dict[str, list[str]]) -> None:
    """A form of fields in two columns."""
    columns = st.columns(2)
    for index, field in enumerate(fields):
        with columns[index % 2]:
            field_widget(field, (*prefix, field.name), values.get(field.name), names)
            field_problems(".".join((*prefix, field.name)), problems)


def components_section(current: dict[str, Any], problems: dict[str, list[str]]) -> None:
    """One expander per component with its form and a remove button, then the form that adds one."""
    components = current.get("components") or {}
    names = list(components)
    for name, block in components.items():
        kind = block.get("kind") if isinstance(block, dict) else None
        if kind not in builder.KINDS:
            st.warning(f"{name}: unknown kind {kind!r}; fix it in the YAML.")
            continue
        with st.expander(f"**{name}** · {kind}", expanded=True):
            st.caption(builder.KINDS[kind].summary)
            block_form(builder.component_form(kind), ("components", name), block, names, problems)
            st.button(f"Remove {name}", key=widget_key("remove", name), on_click=remove, args=(name,))
    add_form()


def remove(name: str) -> None:
    replace_document(builder.remove_component(document(), name))


def add_form() -> None:
    """Pick a kind and a name, then Add."""
    with st.form("builder|add", clear_on_submit=True, border=True):
        left, right = st.columns(2)
        kind = left.selectbox("Kind", list(builder.KINDS), key="builder|add-kind",
                              help="Every kind the engine has; its form opens once added.")
        name = right.text_input("Name", key="builder|add-name", placeholder="e.g. api, cache, db")
        if st.form_submit_button("Add component", type="primary"):
            try:
                replace_document(builder.add_component(document(), kind, name))
            except builder.BuilderError as error:
                st.error(str(error))
            else:
                st.rerun()


def yaml_section(current: dict[str, Any], problems: dict[str, list[str]]) -> None:
    """The YAML of the architecture, editable (Apply), its problems as the CLI lists them, download and link."""
    text = builder.document_yaml(current)
    key = widget_key("yaml", str(hash(text)))
    st.text_area("Scenario YAML", value=text, height=420, key=key,
                 help="Edit and press Apply: the forms follow. Download it and `python -m sim run` runs it.")
    if st.button("Apply YAML", key=widget_key("apply")):
        try:
            replace_document(builder.parse_document(st.session_state[key]))
        except builder.BuilderError as error:
            st.error(str(error))
        else:
            st.rerun()
    if problems:
        lines = "\n".join(f"  {path + ': ' if path else ''}{message}" for path, listed in problems.items()
                          for message in listed)
        st.error(f"**{sum(map(len, problems.values()))} problem(s)** (as `python -m sim validate` says)\n\n"
                 f"```text\n{lines}\n```")
    else:
        st.success("A valid scenario.", icon=":material/check_circle:")
    st.download_button("Download YAML", text, file_name=f"{current.get('name') or 'scenario'}.yaml",
                       mime="application/x-yaml", key="builder|download")
    link = builder.encode_link(current)
    st.query_params["scenario"] = link
    st.session_state[LINK_READ] = link
    st.caption("The page's address now carries this architecture: copy it from the address bar to share it.")


def run_section(current: dict[str, Any], problems: dict[str, list[str]]) -> None:
    """Run the architecture (sized to a second or two, as the Sandbox does) and show what it did."""
    if not st.toggle("Run it", key="builder|run", disabled=bool(problems),
                     help="Runs on every change while on; the problems must be fixed first."):
        return
    scenario = sim.parse_scenario(current)
    scenario = with_duration(scenario, default_duration_s(scenario))
    summary = simulate(scenario.model_dump_json(), scenario.seed)["summary"]
    columns = [*st.columns(2), *st.columns(2)]
    columns[0].metric("Throughput (req/s)", compact(summary.throughput_rps))
    columns[1].metric("Error rate", percent(summary.error_rate))
    columns[2].metric("p50", milliseconds(summary.latency_ms.p50))
    columns[3].metric("p99", milliseconds(summary.latency_ms.p99))
    if summary.bottleneck:
        st.info(f"**Bottleneck: {summary.bottleneck.component}.** {summary.bottleneck.reason}.",
                icon=":material/local_fire_department:")
    st.plotly_chart(viz.architecture_figure(scenario, summary), config=CHART_CONFIG, key="builder|diagram")


def main() -> None:
    st.title("Builder")
    st.caption("Add components, wire them through their fields, set the traffic; the YAML follows, and the "
               "address bar carries it for sharing.")
    read_link()
    start_controls()
    current = document()
    problems = builder.problems_by_field(current)
    left, right = st.columns([3, 2])
    with left:
        st.subheader("Traffic")
        block_form(builder.workload_form(), ("workload",), current.get("workload") or {},
                   list(current.get("components") or {}), problems)
        st.subheader("Components")
        components_section(current, problems)
    with right:
        yaml_section(current, problems)
        run_section(current, problems)


main()
