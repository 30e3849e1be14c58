"""Transactions -> one row per customer with Recency, Frequency, Monetary and RFM scores, in DuckDB SQL.

The rules (dates, returns, duplicates, scores, named groups) are written down in docs/RFM.md; this
package is their one implementation:
- core.rfm.mapping: which column plays which part (`detect_columns`, `TransactionMapping`);
- core.rfm.lines and core.rfm.derive: `derive_rfm`, the SQL stages from staged lines to customers;
- core.rfm.publish: `load_transactions` (stage, derive, publish in one transaction),
  `inspect_transactions` and `preview_rfm` (nothing published);
- core.rfm.groups: the named groups, `rfm_group_mix` and `run_rfm_groups`.
Dates are read by core.dates; segment names and actions of RFM runs come from core.rfm_naming.
"""
from __future__ import annotations

from core.dates import DATE_ORDERS
from core.rfm.derive import LineProblem, RfmStats, derive_rfm, parse_reference_date
from core.rfm.groups import GROUP_NAMES, RFM_GROUPS, group_rule, rfm_group_mix, run_rfm_groups
from core.rfm.mapping import (
    CUSTOMER_COLUMNS,
    KIND,
    RFM_FEATURES,
    ROLES,
    SAMPLE_ROWS,
    SAMPLES,
    TransactionMapping,
    detect_columns,
    resolve_mapping,
)
from core.rfm.publish import RfmPreview, column_sample, inspect_transactions, load_transactions, preview_rfm

__all__ = [
    "CUSTOMER_COLUMNS", "DATE_ORDERS", "GROUP_NAMES", "KIND", "RFM_FEATURES", "RFM_GROUPS", "ROLES",
    "SAMPLE_ROWS", "SAMPLES", "LineProblem", "RfmPreview", "RfmStats", "TransactionMapping",
    "column_sample", "derive_rfm", "detect_columns", "group_rule", "inspect_transactions",
    "load_transactions", "parse_reference_date", "preview_rfm", "resolve_mapping", "rfm_group_mix",
    "run_rfm_groups",
]
