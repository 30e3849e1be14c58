"""A page object for the dashboard, so each browser test reads as the steps a user takes."""
from __future__ import annotations

import json
import time
from pathlib import Path

from dash.testing import wait
from dash.testing.errors import TestingTimeoutError
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.actions.action_builder import ActionBuilder
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from layouts import ids


def css_id(component_id) -> str:
    """A CSS selector for a component id (pattern ids are JSON with sorted keys in the DOM)."""
    if isinstance(component_id, dict):
        text = json.dumps(component_id, sort_keys=True, separators=(",", ":"))
        return '[id="' + text.replace('"', '\\"') + '"]'
    return f"#{component_id}"


class Dashboard:
    def __init__(self, duo, store, timeout: float = 30.0):
        self.duo = duo
        self.driver = duo.driver
        self.store = store
        self.timeout = timeout

    # -- waiting ------------------------------------------------------------------------------------
    def until(self, check, what: str, timeout: float | None = None):
        """dash.testing.wait.until, where a check that raises (the page is still changing) counts as
        not yet; the last answer is in the failure message."""
        last: list = [None]

        def attempt():
            try:
                last[0] = check()
            except Exception as exc:  # noqa: BLE001 - the page is still changing; try again
                last[0] = exc
                return None
            return last[0]

        try:
            return wait.until(attempt, timeout or self.timeout, poll=0.2)
        except TestingTimeoutError:
            raise AssertionError(f"timed out waiting for {what} (last: {last[0]!r})") from None

    def steady(self, read, hold: float = 0.5):
        """A check for `until`: (answer,) once read() has given the same answer for `hold` seconds."""
        seen: dict = {}

        def check():
            now, value = time.monotonic(), read()
            if seen.get("value") != value:
                seen.update(value=value, since=now)
            return (value,) if now - seen["since"] >= hold else None

        return check

    def js(self, script: str, *args):
        return self.driver.execute_script(script, *args)

    # -- reading the page -----------------------------------------------------------------------------
    def wait_loaded(self) -> "Dashboard":
        self.until(lambda: len(self.profile_sizes()) > 0, "the profile table")
        self.until(lambda: self.summary_count() is not None, "the summary")
        self.until(lambda: self.js(
            f"const g = document.querySelector('{css_id(ids.SCATTER_GRAPH)} .js-plotly-plot');"
            "return !!(g && g.data && g.data.length);"), "the scatter")
        # The profile table and the summary agree and stay the same for half a second: the initial
        # callbacks are done, so a click lands on the row it aims at (matters on a busy machine).
        steady = self.steady(lambda: (self.profile_sizes(), self.summary_count()))
        # (a segment choice keeps every profile row: then one row's size is the count)
        settled = lambda sizes, count: bool(sizes) and (sum(sizes) == count or count in sizes)  # noqa: E731
        self.until(lambda: (held := steady()) and settled(*held[0]), "the page to settle")
        return self

    def summary_text(self) -> str:
        return self.duo.find_element(css_id(ids.SUMMARY)).text

    def summary_count(self) -> int | None:
        els = self.driver.find_elements(By.CSS_SELECTOR, f"{css_id(ids.SUMMARY)} .csi-count")
        return int(els[0].text.replace(",", "")) if els and els[0].text.strip() else None

    def summary_total(self) -> int:
        text = self.summary_text()
        return int(text.split(" of ", 1)[1].split(" ", 1)[0].replace(",", ""))

    def _rows(self, grid_id) -> list[dict]:
        """Rendered rows of an AG Grid as {col-id: text}, in row order (pinned columns included)."""
        return self.js(
            """
            const root = document.querySelector(arguments[0]);
            if (!root) { return []; }
            const rows = {};
            root.querySelectorAll('.ag-row').forEach(r => {
                const i = Number(r.getAttribute('row-index'));
                rows[i] = rows[i] || {};
                r.querySelectorAll('.ag-cell').forEach(c => { rows[i][c.getAttribute('col-id')] = c.innerText; });
            });
            return Object.keys(rows).map(Number).sort((a, b) => a - b).map(i => rows[i]);
            """,
            css_id(grid_id),
        )

    def profile_rows(self) -> list[dict]:
        return [r for r in self._rows(ids.PROFILE_GRID) if r.get("size")]

    def profile_sizes(self) -> list[int]:
        return [int(r["size"].replace(",", "")) for r in self.profile_rows()]

    def profile_names(self) -> list[str]:
        return [r["name"] for r in self.profile_rows()]

    def histogram_totals(self) -> dict[str, int]:
        return self.js(
            """
            const out = {};
            document.querySelectorAll('.csi-hist .js-plotly-plot').forEach(g => {
                if (g.layout && g.layout.meta) { out[g.layout.meta.feature] = g.layout.meta.total; }
            });
            return out;
            """
        )

    def customer_rows(self) -> list[dict]:
        return [r for r in self._rows(ids.CUSTOMER_GRID) if r]

    def customer_count(self) -> int:
        """Rows the customer grid knows it has (AG Grid's row count once the last block is in)."""
        return self.js(
            "const api = window.dash_ag_grid.getApi(arguments[0]);"
            "return api ? api.getDisplayedRowCount() : -1;",
            ids.CUSTOMER_GRID,
        )

    def customer_title(self) -> str:
        return self.duo.find_element(css_id(ids.CUSTOMER_TITLE)).text

    def alert_text(self, container_id) -> str:
        els = self.driver.find_elements(By.CSS_SELECTOR, f"{css_id(container_id)} .alert")
        return " ".join(e.text for e in els)

    def dataset_label(self) -> str:
        return self.duo.find_element(css_id(ids.DATASET_PICKER)).text

    def scatter_region(self) -> dict | None:
        """The region outlined on the scatter (what the filter holds), in data coordinates."""
        return self.js(
            f"const g = document.querySelector('{css_id(ids.SCATTER_GRAPH)} .js-plotly-plot');"
            "const s = (g.layout.shapes || [])[0]; return s ? {x0: s.x0, x1: s.x1, y0: s.y0, y1: s.y1} : null;"
        )

    # -- acting ---------------------------------------------------------------------------------------
    def drag_box_on_scatter(self, x0: float, y0: float, x1: float, y1: float) -> None:
        """A real mouse drag from data point (x0, y0) to (x1, y1) on the scatter (box select)."""
        self._drag(css_id(ids.SCATTER_GRAPH), x0, y0, x1, y1)

    def drag_range_on_histogram(self, column: str, lo: float, hi: float) -> None:
        """A real mouse drag across a histogram, from x = lo to x = hi at mid height."""
        self._drag(css_id(ids.hist(column)), lo, None, hi, None)

    def _drag(self, graph_selector: str, x0, y0, x1, y1) -> None:
        graph = self.duo.find_element(f"{graph_selector} .js-plotly-plot")
        self.js("arguments[0].scrollIntoView({block: 'center', behavior: 'instant'});", graph)
        self.until(self.steady(lambda: self.js("return arguments[0].getBoundingClientRect().top;", graph),
                               hold=0.15), "the page to stop scrolling")
        start, end = self.js(
            """
            const g = arguments[0], xa = g._fullLayout.xaxis, ya = g._fullLayout.yaxis;
            const r = g.getBoundingClientRect();
            const py = y => y === null ? ya._offset + ya._length / 2 : ya._offset + ya.l2p(y);
            const px = (x, y) => [r.left + xa._offset + xa.l2p(x), r.top + py(y)];
            return [px(arguments[1], arguments[2]), px(arguments[3], arguments[4])];
            """,
            graph, x0, y0, x1, y1,
        )
        actions = ActionBuilder(self.driver)
        pointer = actions.pointer_action
        pointer.move_to_location(int(start[0]), int(start[1]))
        pointer.pointer_down()
        steps = 8
        for i in range(1, steps + 1):
            pointer.move_to_location(int(start[0] + (end[0] - start[0]) * i / steps),
                                     int(start[1] + (end[1] - start[1]) * i / steps))
        pointer.pointer_up()
        actions.perform()

    def range_label(self, column: str) -> str:
        return self.duo.find_element(css_id(ids.range_label(column))).text

    def click_profile_row(self, index: int) -> str:
        """Click the name cell of the index-th profile row; return the segment's name. A click that
        lands while the grid is still re-rendering can be lost (no filter follows within a few
        seconds): then click again, as a user would."""
        selector = f"{css_id(ids.PROFILE_GRID)} .ag-row[row-index='{index}'] .ag-cell[col-id='name']"
        name = ""
        for _ in range(3):
            cell = self.duo.find_element(selector)
            name = cell.text
            ActionChains(self.driver).move_to_element(cell).click().perform()
            try:
                wait.until(lambda: "no filter" not in self.summary_text(), 8, poll=0.2)
                return name
            except TestingTimeoutError:
                continue  # the click was lost: click again
        return name

    def clear_filters(self) -> None:
        self.duo.find_element(css_id(ids.CLEAR_FILTERS)).click()

    def export(self) -> Path:
        folder = Path(self.duo.download_path)
        before = set(folder.glob("*.xlsx"))
        self.duo.find_element(css_id(ids.EXPORT_BUTTON)).click()

        def done():
            files = [f for f in folder.glob("*.xlsx") if f not in before]
            partial = list(folder.glob("*.crdownload"))
            return files[0] if files and not partial else None

        return self.until(done, "the downloaded workbook")

    def upload(self, path: Path) -> None:
        field = self.duo.find_element(f"{css_id(ids.UPLOAD)} input[type=file]")
        field.send_keys(str(path))

    def toggle_transactions(self) -> None:
        self.duo.find_element(f"label[for='{ids.RFM_SWITCH}']").click()

    def choose_k(self, k: int) -> None:
        """Turn 'auto' off and move the k slider with the keyboard."""
        auto = self.duo.find_element(f"#{ids.K_AUTO}")
        if auto.is_selected():
            self.duo.find_element(f"label[for='{ids.K_AUTO}']").click()
        handle = self.until(
            lambda: self.driver.find_element(By.CSS_SELECTOR, f"#{ids.K_SLIDER} [role=slider]"), "the k slider")
        self.until(lambda: handle.get_attribute("aria-disabled") != "true", "the k slider to be enabled")
        handle.click()  # focus (a click may move it: read the value after)
        current = int(float(handle.get_attribute("aria-valuenow")))
        key = Keys.ARROW_RIGHT if k > current else Keys.ARROW_LEFT
        for _ in range(abs(k - current)):
            handle.send_keys(key)
        self.until(lambda: int(float(handle.get_attribute("aria-valuenow"))) == k, f"k = {k}")

    def run(self) -> None:
        self.duo.find_element(f"#{ids.RUN_BUTTON}").click()

    def severe_logs(self) -> list[dict]:
        return [e for e in self.duo.get_logs() if e.get("level") == "SEVERE"]

    # -- the transactions mapping step (layouts/mapping.py) ----------------------------------------------
    def map_column(self, component_id: str, label: str) -> None:
        """Pick `label` in one of the mapping dropdowns."""
        element = self.duo.find_element(f"#{component_id}")
        self.js("arguments[0].scrollIntoView({block: 'center'});", element)

        def picked():
            if label not in element.text:
                self.duo.select_dcc_dropdown(f"#{component_id}", value=label)
            return label in element.text

        self.until(picked, f"'{label}' chosen in {component_id}")
        self.driver.find_element(By.TAG_NAME, "body").send_keys(Keys.ESCAPE)  # no menu left open

    def mapping_preview_rows(self) -> list[list[str]]:
        return self.js(
            f"return Array.from(document.querySelectorAll('#{ids.MAPPING_PREVIEW} tbody tr'))"
            ".map(tr => Array.from(tr.cells).map(td => td.textContent));")

    def mapping_text(self) -> str:
        return self.duo.find_element(f"#{ids.MAPPING_PANEL}").text

    def click_in_view(self, selector: str) -> None:
        """Scroll an element to the middle of the window, then click it (the sidebar is long)."""
        element = self.duo.find_element(selector)
        self.js("arguments[0].scrollIntoView({block: 'center'});", element)
        self.until(element.is_displayed, f"{selector} to show")
        # the sidebar can be taller than the window: the element's own click, as a user's would be
        self.js("arguments[0].click();", element)

    def confirm_mapping(self) -> None:
        self.click_in_view(f"label[for='{ids.MAPPING_CONFIRM}']")

    def load_mapping(self) -> None:
        self.click_in_view(f"#{ids.MAPPING_LOAD}")

    def clear_mapping(self, component_id: str) -> None:
        """Empty one of the optional mapping dropdowns with its clear button."""
        self.duo.find_element(f"#{component_id} .dash-dropdown-clear").click()

    # -- the why view (layouts/why.py) ------------------------------------------------------------------
    def why_driver_labels(self) -> list[str]:
        """The bar labels of the why view's drivers chart, strongest first."""
        labels = self.js(
            f"const g = document.querySelector('{css_id(ids.WHY_DRIVERS)} .js-plotly-plot');"
            "return g && g.data && g.data.length ? Array.from(g.data[0].y) : null;")
        return list(reversed(labels)) if labels else []

    def why_text(self) -> str:
        return self.duo.find_element(css_id(ids.WHY_BODY)).text

    def click_why_rule(self, segment: int) -> None:
        button = self.until(lambda: self.driver.find_element(By.CSS_SELECTOR, css_id(ids.why_rule_button(segment))),
                            f"the rule button of segment {segment}")
        ActionChains(self.driver).move_to_element(button).click().perform()

    def k_slider_value(self) -> int:
        handle = self.driver.find_element(By.CSS_SELECTOR, f"#{ids.K_SLIDER} [role=slider]")
        return int(float(handle.get_attribute("aria-valuenow")))

    def set_k_auto(self, on: bool) -> None:
        if self.duo.find_element(f"#{ids.K_AUTO}").is_selected() != on:
            self.duo.find_element(f"label[for='{ids.K_AUTO}']").click()

    # -- finding customers and the active filters (tests/browser/test_grid_find.py) ------------------
    def search(self, text: str) -> None:
        """Type into the grid's quick search and press Enter (the box sends on Enter)."""
        box = self.duo.find_element(css_id(ids.filter_control("search")))
        box.clear()
        box.send_keys(text + Keys.ENTER)

    def chip_texts(self) -> list[str]:
        return [e.text for e in self.driver.find_elements(By.CSS_SELECTOR, f"{css_id(ids.FILTER_CHIPS)} .csi-chip-text")]

    def _click_in_view(self, element) -> None:
        """Scroll to the button and click it (the DOM click when Chromium finds it covered mid-scroll)."""
        self.js("arguments[0].scrollIntoView({block: 'center'});", element)
        try:
            element.click()
        except Exception:  # noqa: BLE001 - ElementClickInterceptedException while the page moves
            self.js("arguments[0].click();", element)

    def remove_chip(self, kind: str, column: str = "") -> None:
        self._click_in_view(self.duo.find_element(css_id(ids.chip_remove(kind, column))))

    def undo(self) -> None:
        button = self.duo.find_element(css_id(ids.UNDO_FILTER))
        self.until(lambda: button.is_enabled(), "undo to be enabled")
        self._click_in_view(button)

    def filled_cells(self) -> list[tuple[str, str]]:
        """(column id, text) of the customer grid's cells marked as filled."""
        return [tuple(x) for x in self.js(
            "return [...document.querySelectorAll(arguments[0] + ' .ag-cell.csi-filled')]"
            ".map(c => [c.getAttribute('col-id'), c.innerText]);", css_id(ids.CUSTOMER_GRID))]

    # -- keyboard, datasets, help (tests/browser/test_page.py) --------------------------------------
    def focused(self) -> str:
        """Where the keyboard focus is: 'hist', 'profile-header', 'profile-cell', 'grid-header',
        'grid-cell', or the focused element's id / tag."""
        return self.js(
            "const e = document.activeElement; if (!e) return '';"
            "if (e.closest('.csi-hist')) return 'hist';"
            f"const p = e.closest('{css_id(ids.PROFILE_GRID)}'), g = e.closest('{css_id(ids.CUSTOMER_GRID)}');"
            "const part = e.closest('.ag-header') ? 'header' : (e.closest('.ag-cell') ? 'cell' : 'other');"
            "if (p) return 'profile-' + part; if (g) return 'grid-' + part;"
            "return e.id || e.tagName.toLowerCase();")

    def tab_through(self, presses: int, start_id: str) -> list[str]:
        """Focus `start_id`, press Tab `presses` times; where the focus was after each press."""
        self.js("document.getElementById(arguments[0]).focus();", start_id)
        seen = []
        for _ in range(presses):
            ActionChains(self.driver).send_keys(Keys.TAB).perform()
            seen.append(self.focused())
        return seen

    def unfold(self, summary_id: str) -> None:
        """Open a folded section (<details>) by its summary, if it is closed."""
        if not self.js("return document.getElementById(arguments[0]).parentElement.open;", summary_id):
            self.duo.find_element(css_id(summary_id)).click()

    def delete_dataset(self, confirm: bool = True) -> None:
        self.unfold(ids.DATASET_MANAGE)
        self.duo.find_element(css_id(ids.DATASET_DELETE)).click()
        self.until(lambda: self.duo.find_element(css_id(ids.DELETE_CONFIRM)).is_displayed(), "the dialog")
        button = ids.DELETE_CONFIRM if confirm else ids.DELETE_CANCEL
        self.duo.find_element(css_id(button)).click()

    def dataset_names(self) -> list[str]:
        return [d.name for d in self.store.list_datasets()]

    def choose_in_dropdown(self, component_id: str, text: str) -> None:
        """Open a dcc.Dropdown, type to search, press Enter (as a keyboard user does). The options
        may still be arriving: then close it and open it again."""
        menu = ("const m = document.querySelector('.dash-dropdown-content, [role=listbox]');"
                "return m ? m.textContent : '';")
        for _ in range(4):
            self.duo.find_element(f"#{component_id}").click()
            ActionChains(self.driver).send_keys(text).perform()
            try:
                wait.until(lambda: text in self.js(menu), 5, poll=0.2)
                break
            except TestingTimeoutError:
                ActionChains(self.driver).send_keys(Keys.ESCAPE).perform()
        ActionChains(self.driver).send_keys(Keys.ENTER).perform()
        self.until(lambda: text in self.duo.find_element(f"#{component_id}").text, f"{text!r} chosen")
        ActionChains(self.driver).send_keys(Keys.ESCAPE).perform()  # the menu closes

    def progress_text(self) -> str:
        return self.duo.find_element(f"#{ids.JOB_PROGRESS}").text


# -- models, compare and the URL (tests/browser/test_models.py, test_url.py) ---------------------------
def _current_url(self) -> str:
    return self.driver.current_url


def _search_of_url(self) -> str:
    return self.js("return window.location.search;")


def _open_in_fresh_session(self, url: str) -> "Dashboard":
    """Another browser's first visit: no local storage, no session, then the URL."""
    self.js("window.localStorage.clear(); window.sessionStorage.clear();")
    self.driver.delete_all_cookies()
    self.driver.get(url)
    return self.wait_loaded()


def _score_file(self, path: Path) -> None:
    self.duo.find_element(f"{css_id(ids.SCORE_UPLOAD)} input[type=file]").send_keys(str(path))


def _toggle_kind(self, kind: str) -> None:
    """Flip a filter kind's switch (scrolled into the sidebar's view first, as a user would)."""
    switch = self.duo.find_element(css_id(ids.filter_control(kind)))
    self.driver.execute_script("arguments[0].scrollIntoView({block: 'center'}); arguments[0].click();", switch)


def _choose_compare_run(self, text: str) -> None:
    """Open the compare dropdown and click the option whose label holds `text` ("k = 5")."""
    box = self.duo.find_element(css_id(ids.COMPARE_RUN))
    self.driver.execute_script("arguments[0].scrollIntoView({block: 'center'}); arguments[0].click();", box)
    option = self.until(lambda: next(o for o in self.driver.find_elements(By.CSS_SELECTOR, ".dash-dropdown-option")
                                     if text in o.text), f"the option '{text}'")
    self.driver.execute_script("arguments[0].click();", option)


def _matrix(self) -> dict | None:
    return self.js(
        f"const g = document.querySelector('{css_id(ids.COMPARE_GRAPH)} .js-plotly-plot');"
        "return g && g.data && g.data.length ? {z: g.data[0].z, customdata: g.data[0].customdata} : null;")


def _click_matrix_cell(self, row: int, col: int) -> None:
    """Move the mouse to the centre of a heatmap cell (Plotly's own axes give its position) and click."""
    graph = self.duo.find_element(f"{css_id(ids.COMPARE_GRAPH)} .js-plotly-plot")
    self.js("arguments[0].scrollIntoView({block: 'center', behavior: 'instant'});", graph)
    self.until(self.steady(lambda: self.js("return arguments[0].getBoundingClientRect().top;", graph),
                           hold=0.15), "the page to stop scrolling")
    x, y = self.js(
        "const g = arguments[0];"
        "const L = g._fullLayout, r = g.getBoundingClientRect();"
        "return [Math.round(r.left + L.xaxis._offset + L.xaxis.l2p(arguments[2])),"
        "        Math.round(r.top + L.yaxis._offset + L.yaxis.l2p(arguments[1]))];",
        graph, row, col)
    action = ActionBuilder(self.driver)
    action.pointer_action.move_to_location(x - 3, y - 3).move_to_location(x, y).pause(0.2).click()
    action.perform()


Dashboard.current_url = _current_url
Dashboard.search_of_url = _search_of_url
Dashboard.open_in_fresh_session = _open_in_fresh_session
Dashboard.score_file = _score_file
Dashboard.toggle_kind = _toggle_kind
Dashboard.choose_compare_run = _choose_compare_run
Dashboard.matrix = _matrix
Dashboard.click_matrix_cell = _click_matrix_cell


# -- the lasso (added for the snapped-lasso test) -------------------------------------------------
def _draw_lasso_on_scatter(self, points: list[tuple[float, float]]) -> None:
    """Choose the mode bar's lasso, then a real mouse path through the data points (x, y), closed."""
    graph = self.duo.find_element(f"{css_id(ids.SCATTER_GRAPH)} .js-plotly-plot")
    self.js("arguments[0].scrollIntoView({block: 'center', behavior: 'instant'});", graph)
    self.until(self.steady(lambda: self.js("return arguments[0].getBoundingClientRect().top;", graph),
                           hold=0.15), "the page to stop scrolling")
    self.js("arguments[0].dispatchEvent(new MouseEvent('mousemove', {bubbles: true}));", graph)
    button = self.duo.find_element(f"{css_id(ids.SCATTER_GRAPH)} .modebar-btn[data-title='Lasso Select']")
    self.js("arguments[0].click();", button)
    self.until(lambda: self.js("return arguments[0]._fullLayout.dragmode;", graph) == "lasso", "lasso mode")
    pixels = self.js(
        """
        const g = arguments[0], xa = g._fullLayout.xaxis, ya = g._fullLayout.yaxis;
        const r = g.getBoundingClientRect();
        return arguments[1].map(([x, y]) => [r.left + xa._offset + xa.l2p(x), r.top + ya._offset + ya.l2p(y)]);
        """,
        graph, [list(p) for p in points],
    )
    path = pixels + [pixels[0]]
    actions = ActionBuilder(self.driver)
    pointer = actions.pointer_action
    pointer.move_to_location(int(path[0][0]), int(path[0][1]))
    pointer.pointer_down()
    for (ax, ay), (bx, by) in zip(path, path[1:]):
        for i in range(1, 7):
            pointer.move_to_location(int(ax + (bx - ax) * i / 6), int(ay + (by - ay) * i / 6))
    pointer.pointer_up()
    actions.perform()

def _scatter_outline(self) -> str | None:
    """The path of the region outlined on the scatter (a snapped lasso: the border of its cells)."""
    return self.js(
        f"const g = document.querySelector('{css_id(ids.SCATTER_GRAPH)} .js-plotly-plot');"
        "const s = (g.layout.shapes || [])[0]; return s && s.path ? s.path : null;"
    )


Dashboard.draw_lasso_on_scatter = _draw_lasso_on_scatter
Dashboard.scatter_outline = _scatter_outline
