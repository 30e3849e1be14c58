"""Accessibility audit: axe-core (axe-selenium-python's bundled axe.min.js, no network) on the page with
data loaded must find no serious or critical violations."""
from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser

axe_selenium_python = pytest.importorskip("axe_selenium_python")

BLOCKING = {"serious", "critical"}


def audit(dashboard) -> list[dict]:
    axe = axe_selenium_python.Axe(dashboard.driver)
    axe.inject()
    results = axe.run()
    return [v for v in results["violations"] if v.get("impact") in BLOCKING]


def describe(violations: list[dict]) -> str:
    lines = []
    for v in violations:
        targets = [", ".join(n["target"]) if isinstance(n["target"], list) else str(n["target"])
                   for n in v["nodes"][:5]]
        lines.append(f"{v['id']} ({v['impact']}): {v['help']} -> {targets}")
    return "\n".join(lines)


def test_no_serious_or_critical_axe_violations_with_data_loaded(dashboard):
    dashboard.until(lambda: dashboard.js(
        "return document.querySelectorAll('.csi-hist .js-plotly-plot').length") > 0, "the histograms")
    violations = audit(dashboard)
    assert not violations, describe(violations)
