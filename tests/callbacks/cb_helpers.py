"""Small helpers shared by the callback tests."""
from __future__ import annotations

from dash import no_update


def text_of(component) -> str:
    """All the text a component tree shows."""
    if component is None or component is no_update:
        return ""
    if isinstance(component, (str, int, float)):
        return str(component)
    if isinstance(component, (list, tuple)):
        return "".join(text_of(c) for c in component)
    return text_of(getattr(component, "children", None))
