"""A finished page (issue 15 items 4, 5, 8-10): the keyboard reaches every view, profile rows take focus
and Enter selects, datasets can be deleted after a confirmation, help opens, long work shows progress."""
from __future__ import annotations

import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.keys import Keys

from core.pipeline import ingest_upload
from layouts import ids

pytestmark = pytest.mark.browser


def test_tab_reaches_profile_rows_histograms_and_the_grid_without_a_trap(dashboard):
    dashboard.until(lambda: dashboard.js(
        "return document.querySelectorAll('.csi-hist .js-plotly-plot').length") > 0, "the histograms")
    seen = dashboard.tab_through(60, ids.CLEAR_FILTERS)
    # One trip round the page: from the Clear button back to it (the page's tab order is a cycle).
    assert ids.CLEAR_FILTERS in seen, seen
    seen = seen[: seen.index(ids.CLEAR_FILTERS)]
    assert "hist" in seen, seen
    assert any(s.startswith("grid-") for s in seen), seen
    # The profile table is entered and left: Tab never bounces between its two header rows.
    profile = [i for i, s in enumerate(seen) if s.startswith("profile-")]
    assert profile, seen
    assert len(profile) <= 3 and profile == list(range(profile[0], profile[0] + len(profile))), seen


def test_a_profile_row_takes_focus_and_enter_selects_its_segment(dashboard):
    cell = dashboard.duo.find_element(
        f"#{ids.PROFILE_GRID} .ag-row[row-index='1'] .ag-cell[col-id='name']")
    sizes = dashboard.profile_sizes()
    assert dashboard.summary_count() == sum(sizes)
    dashboard.js("arguments[0].focus();", cell)
    assert dashboard.focused() == "profile-cell"
    ActionChains(dashboard.driver).send_keys(Keys.ENTER).perform()
    dashboard.until(lambda: dashboard.summary_count() == sizes[1], "the count of that segment")


def test_delete_asks_first_and_then_shows_the_newest_dataset_left(dashboard, tmp_path):
    store = dashboard.store
    extra = ingest_upload(store, "shop.csv",
                          b"id,spend,visits\n" + b"".join(f"{i},{i * 7 % 50},{i % 9}\n".encode()
                                                           for i in range(1, 61)))
    sample = next(d for d in store.list_datasets() if d.dataset_id != extra.dataset_id)
    dashboard.driver.refresh()
    dashboard.wait_loaded()
    # Cancel keeps everything.
    dashboard.delete_dataset(confirm=False)
    dashboard.until(lambda: not dashboard.duo.find_element(f"#{ids.DELETE_CONFIRM}").is_displayed()
                    if dashboard.js(f"return !!document.getElementById('{ids.DELETE_CONFIRM}')") else True,
                    "the dialog to close")
    assert len(store.list_datasets()) == 2
    # The shown dataset is the sample (the app's default); delete it after confirming.
    dashboard.delete_dataset(confirm=True)
    dashboard.until(lambda: [d.dataset_id for d in store.list_datasets()] == [extra.dataset_id], "the delete")
    dashboard.until(lambda: "Deleted 'Mall_Customers'" in dashboard.alert_text(ids.DATASET_ACTION_ALERT)
                    or "Deleted" in dashboard.alert_text(ids.DATASET_ACTION_ALERT), "the confirmation")
    dashboard.until(lambda: dashboard.dataset_label().startswith("shop"), "the newest dataset left")
    assert sample.dataset_id not in {d.dataset_id for d in store.list_datasets()}


def test_the_guide_opens_on_a_first_visit_and_from_the_navbar_and_words_explain_themselves(dashboard):
    panel = f"#{ids.HELP_PANEL}"
    dashboard.until(lambda: "How to read this dashboard" in dashboard.duo.find_element(panel).text,
                    "the guide on a first visit")
    dashboard.duo.find_element(f"#{ids.HELP_CLOSE}").click()
    dashboard.until(lambda: not dashboard.duo.find_element(f"#{ids.HELP_CLOSE}").is_displayed(), "the guide closed")
    # A returning visitor (the flag is kept in the browser) does not get it again.
    dashboard.driver.refresh()
    dashboard.wait_loaded()
    assert not dashboard.duo.find_element(f"#{ids.HELP_CLOSE}").is_displayed()
    dashboard.duo.find_element(f"#{ids.HELP_BUTTON}").click()
    dashboard.until(lambda: dashboard.duo.find_element(f"#{ids.HELP_CLOSE}").is_displayed(), "the guide reopened")
    # Focusing a "?" shows its explanation.
    dashboard.js("document.getElementById('help-scaling').focus();")
    dashboard.until(lambda: "Min-max" in dashboard.js(
        "const t = document.querySelector('.tooltip'); return t ? t.textContent : '';"), "the tooltip")


def test_import_and_run_of_a_200k_file_show_stage_and_percentage(dashboard, app_store):
    from core.synth import write_customers

    _, settings = app_store
    settings.import_dir.mkdir(parents=True, exist_ok=True)
    write_customers(200_000, settings.import_dir / "big_customers.parquet", fmt="parquet")
    dashboard.unfold(ids.IMPORT_OPEN)
    dashboard.duo.find_element(f"#{ids.IMPORT_REFRESH}").click()
    dashboard.choose_in_dropdown(ids.IMPORT_PICKER, "big_customers")
    dashboard.duo.find_element(f"#{ids.IMPORT_BUTTON}").click()
    dashboard.until(lambda: "Imported big_customers.parquet" in dashboard.alert_text(ids.IMPORT_ALERT),
                    "the import", timeout=120)
    dashboard.until(lambda: dashboard.dataset_label().startswith("big_customers"), "the imported dataset shown")
    dashboard.until(lambda: "not been segmented" in dashboard.alert_text(ids.DATASET_ALERT), "the page to follow")
    button = dashboard.duo.find_element(f"#{ids.RUN_BUTTON}")
    dashboard.until(lambda: dashboard.js(
        "arguments[0].scrollIntoView({block: 'center'}); const r = arguments[0].getBoundingClientRect();"
        "return document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2) === arguments[0];", button),
        "the Run button in view")
    button.click()
    seen: list[str] = []

    def progress_or_done():
        text = dashboard.progress_text()
        if text:
            seen.append(text)
        return "segments" in dashboard.alert_text(ids.RUN_ALERT)

    dashboard.until(progress_or_done, "the run to finish", timeout=240)
    assert any(t.startswith("Segmenting 'big_customers':") and "%" in t for t in seen), seen
