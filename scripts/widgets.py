"""What Streamlit's frontend sends for each widget, and what text an element shows (scripts/visitor.py).

A widget element carries its `default`, and its `value` when the script set one (`set_value`). The
frontend keeps the state it has for a widget unless the script set a value, and sends the state of
every widget on the page with each rerun, in the WidgetState field the widget registered on the
server (`value_type` in streamlit/elements/widgets/*.py): a slider a double array, a select_slider,
multiselect or segmented control its formatted options, a selectbox or radio its formatted option.
Buttons are triggers, sent only when pressed; widgets of other kinds (a canvas, a file uploader)
keep the state the server already has.
"""

from __future__ import annotations

from streamlit.proto.NumberInput_pb2 import NumberInput
from streamlit.proto.Slider_pb2 import Slider
from streamlit.proto.WidgetStates_pb2 import WidgetState

TEXT_TYPES = ("markdown", "alert", "text", "heading", "progress", "exception", "metric")


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
