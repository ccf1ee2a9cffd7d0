"""The page as Streamlit's frontend holds it, for scripts/visitor.py: elements, and each widget's state.

A widget element carries its `default`, and its `value` when the script set one (`set_value`). The
frontend keeps the state it has for a widget unless the script set a value, and sends the state of
every widget on the page with each rerun, in the WidgetState field the widget registered on the
server (`value_type` in streamlit/elements/widgets/*.py): a slider a double array, a select_slider,
multiselect or segmented control its formatted options, a selectbox or radio its formatted option.
Buttons are triggers, sent only when pressed; widgets of other kinds (a canvas, a file uploader)
keep the state the server already has.
"""

from __future__ import annotations

from streamlit.proto.Alert_pb2 import Alert
from streamlit.proto.NumberInput_pb2 import NumberInput
from streamlit.proto.Slider_pb2 import Slider
from streamlit.proto.WidgetStates_pb2 import WidgetState

from webapp.panel import read_figures

TEXT_TYPES = ("markdown", "alert", "text", "heading", "progress", "exception", "metric")
Path = tuple[int, ...]  # where an element sits: a delta path, e.g. (0, 2, 1) (main area, 3rd block, 2nd child)


def widget_key(widget_id: str) -> str:
    """The user key in a widget id "$$ID-<hash>-<key>" ("" if it has none)."""
    parts = widget_id.split("-", 2)
    return parts[2] if len(parts) == 3 and parts[0] == "$$ID" else ""


def item_id(item) -> str:
    """The widget id of a page element or block ("" for those that are not widgets)."""
    if item.DESCRIPTOR.name == "Block":
        return item.id
    return getattr(getattr(item, item.WhichOneof("type")), "id", "")


def element_text(element) -> str:
    """The text an element shows (a progress bar's text, an alert's body, a metric's label and value)."""
    kind = element.WhichOneof("type")
    sub = getattr(element, kind)
    if kind == "exception":
        return f"{sub.type}: {sub.message}"
    if kind == "metric":
        return f"{sub.label}: {sub.body}"
    if kind == "progress":
        return sub.text
    return sub.body


def _slider(sub: Slider) -> WidgetState:
    if sub.type == Slider.SELECT_SLIDER:
        values = list(sub.raw_value) if sub.set_value else [sub.options[int(i)] for i in sub.default]
        return WidgetState(string_array_value={"data": values})
    return WidgetState(double_array_value={"data": list(sub.value) if sub.set_value else list(sub.default)})


def _single_choice(sub) -> WidgetState | None:
    if sub.set_value and sub.HasField("raw_value"):
        return WidgetState(string_value=sub.raw_value)
    return WidgetState(string_value=sub.options[sub.default]) if sub.HasField("default") else None


def _number(sub: NumberInput) -> WidgetState | None:
    value = sub.value if sub.set_value and sub.HasField("value") else sub.default if sub.HasField("default") else None
    if value is None:
        return None
    return WidgetState(int_value=int(value)) if sub.data_type == NumberInput.INT else WidgetState(double_value=value)


def _state_of(kind: str, sub) -> WidgetState | None:
    """The state the frontend sends for a widget it shows for the first time or whose value the script set."""
    if kind == "slider":
        return _slider(sub)
    if kind in ("selectbox", "radio"):
        return _single_choice(sub)
    if kind == "number_input":
        return _number(sub)
    if kind == "checkbox":
        return WidgetState(bool_value=sub.value if sub.set_value else sub.default)
    if kind == "multiselect":
        values = list(sub.raw_values) if sub.set_value else [sub.options[i] for i in sub.default]
        return WidgetState(string_array_value={"data": values})
    if kind == "button_group":
        values = list(sub.raw_values) if sub.set_value else [sub.options[i].content for i in sub.default]
        return WidgetState(string_array_value={"data": values})
    return None


def widget_state(element, states: dict[str, WidgetState]) -> WidgetState | None:
    """The new state of the widget `element` is, or None to keep the one in `states` (or to send none)."""
    kind = element.WhichOneof("type")
    sub = getattr(element, kind)
    widget_id = getattr(sub, "id", "")
    if not widget_id or (widget_id in states and not getattr(sub, "set_value", False)):
        return None
    state = _state_of(kind, sub)
    if state is not None:
        state.id = widget_id
    return state


def is_failure(element) -> bool:
    """An exception or an error box."""
    kind = element.WhichOneof("type")
    return kind == "exception" or (kind == "alert" and element.alert.format == Alert.ERROR)


class Page:
    """Elements and blocks by delta path, each with the run that drew it, and the state of every widget."""

    def __init__(self) -> None:
        self.items: dict[Path, tuple[int, object]] = {}  # path -> (run index, Element or Block)
        self.fragments: dict[Path, str] = {}  # path -> id of the fragment (st.fragment) that drew it, if any
        self.states: dict[str, WidgetState] = {}  # widget id -> the state the frontend would send

    def draw_element(self, path: Path, run: int, element, fragment: str = "") -> None:
        self.items[path], self.fragments[path] = (run, element), fragment
        state = widget_state(element, self.states)
        if state is not None:
            self.states[state.id] = state

    def draw_block(self, path: Path, run: int, block, fragment: str = "") -> None:
        self.items[path], self.fragments[path] = (run, block), fragment
        parent = self.items.get(path[:-1], (0, None))[1]
        if block.WhichOneof("type") != "tab" or parent is None or parent.WhichOneof("type") != "tab_container":
            return
        # An st.tabs widget's state before the visitor clicks a tab: its default tab (the first one drawn).
        widget_id = parent.id or parent.tab_container.id
        if widget_id and widget_id not in self.states:
            label = parent.tab_container.default_tab_label or block.tab.label
            self.states[widget_id] = WidgetState(id=widget_id, string_value=label)

    def keep_only(self, run: int, fragments: tuple[str, ...] = ()) -> None:
        """After run `run` finished: drop what it did not draw, and the state of widgets no longer shown.
        A run of `fragments` only redrew those: what lies outside them stays."""
        stale = lambda path: not fragments or self.fragments.get(path) in fragments  # noqa: E731
        self.items = {path: drawn for path, drawn in self.items.items() if drawn[0] == run or not stale(path)}
        self.fragments = {path: f for path, f in self.fragments.items() if path in self.items}
        shown = {item_id(item) for _, item in self.items.values()}
        self.states = {widget_id: s for widget_id, s in self.states.items() if widget_id in shown}

    def widget_id(self, key: str) -> str:
        """The id of the widget whose user key is `key`; KeyError if the page has none."""
        ids = list(self.states) + [item_id(item) for _, item in self.items.values()]
        found = next((widget_id for widget_id in ids if widget_key(widget_id) == key), None)
        if found is None:
            raise KeyError(f"no widget {key!r} on the page")
        return found

    def fragment_of(self, key: str) -> str:
        """The fragment that drew widget `key` ("" if none): changing it reruns only that fragment."""
        widget_id = self.widget_id(key)
        return next((self.fragments[p] for p, (_, item) in self.items.items() if item_id(item) == widget_id), "")

    def set_state(self, key: str, **value) -> None:
        """Change widget `key`'s state, e.g. set_state("noise_level", double_array_value={"data": [0.3]})."""
        widget_id = self.widget_id(key)
        self.states[widget_id] = WidgetState(id=widget_id, **value)

    def elements(self, kind: str | None = None, after_run: int = 0) -> list:
        """Elements (of type `kind`, drawn by a run after `after_run`), in page order."""
        found = []
        for path in sorted(self.items):
            run, item = self.items[path]
            if run > after_run and item.DESCRIPTOR.name == "Element" and kind in (None, item.WhichOneof("type")):
                found.append(item)
        return found

    def texts(self, after_run: int = 0) -> list[str]:
        """Every text shown: markdown, alerts, captions, progress texts, metrics, exceptions."""
        shown = self.elements(after_run=after_run)
        return [t for e in shown if e.WhichOneof("type") in TEXT_TYPES and (t := element_text(e))]

    def metric(self, label_part: str) -> str | None:
        """The value of the first figure whose label contains `label_part`: a metric's, or one of the
        app's blocks of figures (`webapp.panel`)."""
        shown = [(m.metric.label, m.metric.body) for m in self.elements("metric")]
        shown += [(f.label, f.value) for e in self.elements("markdown") for f in read_figures(e.markdown.body).values()]
        return next((value for label, value in shown if label_part in label), None)
