"""Serving the app as several Streamlit replicas behind nginx: `python -m deploy.serve --replicas N --port P`."""

from __future__ import annotations

from pathlib import Path


def fill(template: Path, fills: dict[str, str]) -> str:
    """`template` with each `{{key}}` replaced by `fills[key]`: the nginx and supervisord configurations."""
    text = template.read_text()
    for key, value in fills.items():
        text = text.replace("{{" + key + "}}", value)
    return text
