"""The count bar's chips (one per active filter part, sent with the summary by callbacks/explore.py's
show_summary) and the undo / redo buttons' state. Removing a chip, undo and redo themselves change the
filter in callbacks/explore.py's update_filter."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import dash
from dash import Input, Output, no_update

from callbacks.common import error_boundary
from core.filters import active_items
from core.store import Store
from core.views import parse_spec, run_context
from layouts import chips, ids


@dataclass
class ChipsView:
    chips: Any
    alert: Any = None


@error_boundary("listing the active filters", lambda err, *_: ChipsView(no_update, err))
def chips_view(store: Store, spec_data: Any) -> ChipsView:
    if spec_data is None:
        return ChipsView(chips.chips([]))
    spec = parse_spec(store, spec_data)
    names = run_context(store, spec.run_id).segment_names
    return ChipsView(chips.chips(active_items(spec, names)))


def register(app: dash.Dash, store: Store) -> None:
    # Undo and Redo are enabled while the history has a step back or forward: decided in the browser
    # (the history is already there), so a filter change costs no request for it.
    app.clientside_callback(
        """
        function(history) {
            const steps = (key) => !!(history && Array.isArray(history[key]) && history[key].length);
            return [!steps("past"), !steps("future")];
        }
        """,
        Output(ids.UNDO_FILTER, "disabled"),
        Output(ids.REDO_FILTER, "disabled"),
        Input(ids.FILTER_HISTORY, "data"),
    )

    @app.callback(
        Output(ids.CUSTOMER_GRID, "filterModel", allow_duplicate=True),
        Output(ids.filter_control("search"), "value", allow_duplicate=True),
        Input(ids.RUN_STORE, "data"),
        prevent_initial_call=True,
    )
    def reset_grid_filters(_run_id):
        # Another run starts with a fresh spec: the grid's filters and the search box start empty too.
        return {}, ""
