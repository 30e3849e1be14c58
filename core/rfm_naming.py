"""RFM semantics and segment names a marketer recognises: which direction is better per measure,
names in RFM words with levels decided against the whole base, and actions never repeated in a run.

- `better_direction(feature)`: "lower" for recency (fewer days since the last purchase is better),
  "higher" for frequency and monetary, None for anything else. The views colour "vs base" with it.
- Names (`rfm_segment_names`): per segment its typical recency (median days), frequency and spend
  (means), each placed against the quintile cut points of the whole base. Recency speaks in time
  where time is plain ("Lapsed over a year" beyond 365 days, never "average"), frequency and spend
  in the base's terms ("Frequent", "Repeat", "One-time"; "Big spenders", "Low spend").
- Actions (`rfm_segment_actions`): each segment takes the first action of its archetype's list not
  yet taken by a more valuable segment, so no two segments of a run get the same advice.
- `named_run(store, run)`: for a run whose features are recency_days, frequency and monetary, the
  names and actions above (computed in SQL from the run table, stored once in the catalogue).
"""
from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass

from core.models import json_safe
from core.models import SEGMENT, Run
from core.store import Store, run_table

RFM_FEATURES = ("recency_days", "frequency", "monetary")
BETTER = {"recency_days": "lower", "frequency": "higher", "monetary": "higher"}
YEAR_DAYS = 365
HALF_YEAR_DAYS = 182
MONTH_DAYS = 31


def better_direction(feature: str) -> str | None:
    """'lower' when less of `feature` is better (recency days), 'higher' when more is better
    (frequency, monetary, their scores), None when the measure has no better side."""
    if feature in BETTER:
        return BETTER[feature]
    if feature in ("r_score", "f_score", "m_score"):
        return "higher"  # scores already point the good way (5 = most recent)
    return None


def is_better(feature: str, difference: float | None) -> bool | None:
    """Is a segment whose mean differs from the base by `difference` better off on `feature`?
    None when the measure has no better side or there is no difference."""
    side = better_direction(feature)
    if side is None or difference is None or difference == 0 or not math.isfinite(difference):
        return None
    return (difference < 0) if side == "lower" else (difference > 0)


def is_rfm_run(features: Sequence[str]) -> bool:
    """True for a run segmented on exactly the three RFM measures."""
    return sorted(features) == sorted(RFM_FEATURES)


# -- words -----------------------------------------------------------------------------------
@dataclass
class SegmentRfm:
    """A segment's typical R, F and M in original units."""

    id: int
    size: int
    recency_median: float
    recency_low: float  # 25th percentile of days since the last purchase
    recency_high: float  # 75th percentile
    frequency: float  # mean purchases
    frequency_median: float
    monetary: float  # mean spend


@dataclass
class BaseCuts:
    """Quintile cut points (20/40/60/80th percentiles) of each measure over the whole run."""

    recency: list[float]
    frequency: list[float]
    monetary: list[float]


def _quintile(value: float, cuts: Sequence[float]) -> int:
    """1..5: 1 + the number of cut points the value exceeds (as the RFM scores, docs/RFM.md)."""
    return 1 + sum(value > c for c in cuts)


def recency_words(seg: SegmentRfm, base: BaseCuts) -> str:
    days = seg.recency_median
    if days > YEAR_DAYS:
        return "Lapsed over a year"
    if days > HALF_YEAR_DAYS:
        return "Lapsed 6-12 months"
    q = _quintile(days, base.recency)  # 1 = most recent fifth of the base
    if q <= 1 or days <= 7:
        return "Recent"
    if q == 2 or days <= MONTH_DAYS:
        return "Fairly recent"
    return "Cooling off" if q == 3 else "Lapsing"


def frequency_words(seg: SegmentRfm, base: BaseCuts) -> str:
    if seg.frequency_median <= 1 and seg.frequency < 1.5:
        return "one-time buyers"
    q = _quintile(seg.frequency, base.frequency)
    return "frequent" if q >= 5 else "repeat buyers" if q >= 4 else "occasional"


def monetary_words(seg: SegmentRfm, base: BaseCuts) -> str:
    if seg.monetary < 0:
        return "net returners"
    q = _quintile(seg.monetary, base.monetary)
    return "big spenders" if q >= 5 else "high spend" if q >= 4 else "mid spend" if q >= 3 else "low spend"


def rfm_segment_names(segments: Sequence[SegmentRfm], base: BaseCuts) -> list[str]:
    """One unique name per segment, e.g. "Recent, frequent, big spenders". Segments that would share
    a name are told apart by the measure that differs most between them, in its own units."""
    names = [
        f"{recency_words(s, base)}, {frequency_words(s, base)}, {monetary_words(s, base)}" for s in segments
    ]
    for name in set(names):
        clash = [j for j, n in enumerate(names) if n == name]
        if len(clash) > 1:
            detail = _distinguishing_detail([segments[j] for j in clash])
            for j, d in zip(clash, detail):
                names[j] = f"{name} ({d})"
    seen: dict[str, int] = {}
    for i, name in enumerate(names):  # last resort: a number
        seen[name] = seen.get(name, 0) + 1
        if seen[name] > 1:
            names[i] = f"{name} ({seen[name]})"
    return names


def _distinguishing_detail(segs: Sequence[SegmentRfm]) -> list[str]:
    """Per segment a short phrase on the measure whose values differ most (largest max/min ratio)."""
    measures = {
        "recency": ([s.recency_median for s in segs], lambda v: f"last bought about {v:,.0f} days ago"),
        "frequency": ([s.frequency for s in segs], lambda v: f"{v:,.1f} purchases on average"),
        "monetary": ([s.monetary for s in segs], lambda v: f"{v:,.0f} spent on average"),
    }

    def spread(values: list[float]) -> float:
        low, high = min(values), max(values)
        return high / low if low > 0 else (math.inf if high > low else 1.0)

    values, words = max(measures.values(), key=lambda m: spread(m[0]))
    return [words(v) for v in values]


# -- actions ---------------------------------------------------------------------------------
_ACTIONS = {
    "vip": "VIP treatment: personal thank-you, early access to new lines and a dedicated contact.",
    "referral": "Referral programme: ask these loyal, recent buyers to bring friends, with a reward for both.",
    "upsell": "Upsell premium lines: recommend higher-value products matched to what they already buy.",
    "loyalty": "Loyalty points: reward every repeat purchase so that buying from you becomes a habit.",
    "bundle": "Bundles: offer a bundle of their usual items at a better price to raise each basket.",
    "second": "Second-purchase offer: a welcome discount valid for 30 days to turn a first order into a habit.",
    "onboard": "Onboarding emails: show the range and best sellers in a short welcome series.",
    "reminder": "Replenishment reminder: remind them when their usual items are likely to run out.",
    "winback_vip": "Personal win-back: call or write personally with an exclusive offer before they go for good.",
    "winback": "Win-back campaign: a time-limited discount with 'we miss you' messaging.",
    "survey": "Feedback survey: ask why they stopped buying and fix what they name, with a small thank-you.",
    "reactivate": "Low-cost reactivation: automated email with a modest incentive, no paid channels.",
    "sunset": "Sunset or suppress: one last offer, then stop spending on them; keep them only in cheap channels.",
    "newsletter": "Newsletter only: keep them on the low-cost newsletter with seasonal highlights.",
    "crosssell": "Cross-sell: suggest complementary categories they have not bought yet.",
    "returns": "Returns review: look into why their purchases come back before sending more offers.",
}
# Candidate actions per archetype, most fitting first; later ones are used when a more valuable
# segment of the run already took the first.
_BY_ARCHETYPE = {
    ("recent", "high", "high"): ["vip", "referral", "upsell", "loyalty"],
    ("recent", "high", "low"): ["bundle", "upsell", "loyalty", "crosssell"],
    ("recent", "low", "high"): ["second", "upsell", "loyalty", "onboard"],
    ("recent", "low", "low"): ["onboard", "second", "crosssell", "newsletter"],
    ("mid", "high", "high"): ["loyalty", "reminder", "upsell", "referral"],
    ("mid", "high", "low"): ["reminder", "bundle", "crosssell", "loyalty"],
    ("mid", "low", "high"): ["crosssell", "second", "reminder", "winback"],
    ("mid", "low", "low"): ["reactivate", "newsletter", "survey", "crosssell"],
    ("lapsed", "high", "high"): ["winback_vip", "winback", "survey", "reactivate"],
    ("lapsed", "high", "low"): ["winback", "survey", "reactivate", "newsletter"],
    ("lapsed", "low", "high"): ["winback", "winback_vip", "survey", "reactivate"],
    ("lapsed", "low", "low"): ["sunset", "reactivate", "newsletter", "survey"],
}
GROUP_ACTIONS = {
    "Champions": _ACTIONS["vip"],
    "Loyal customers": _ACTIONS["upsell"],
    "Potential loyalists": _ACTIONS["loyalty"],
    "New customers": _ACTIONS["onboard"],
    "Promising": _ACTIONS["second"],
    "Need attention": _ACTIONS["reminder"],
    "About to sleep": _ACTIONS["reactivate"],
    "Cannot lose them": _ACTIONS["winback_vip"],
    "At risk": _ACTIONS["winback"],
    "Hibernating": _ACTIONS["newsletter"],
    "Lost": _ACTIONS["sunset"],
}


def group_action(group: str) -> str:
    """The action for a named RFM group (each group has its own)."""
    return GROUP_ACTIONS.get(group, _ACTIONS["newsletter"])


def _archetype(seg: SegmentRfm, base: BaseCuts) -> tuple[str, str, str]:
    r_words = recency_words(seg, base)
    r = "recent" if r_words in ("Recent", "Fairly recent") else "mid" if r_words in ("Cooling off", "Lapsing") else "lapsed"
    f = "high" if _quintile(seg.frequency, base.frequency) >= 4 else "low"
    m = "high" if _quintile(seg.monetary, base.monetary) >= 4 else "low"
    return r, f, m


def rfm_segment_actions(segments: Sequence[SegmentRfm], base: BaseCuts) -> list[str]:
    """One action per segment, none repeated: the most valuable segments (highest spend) choose first."""
    order = sorted(range(len(segments)), key=lambda i: -segments[i].monetary * max(segments[i].frequency, 1))
    taken: set[str] = set()
    out = [""] * len(segments)
    spare = list(_ACTIONS)
    for i in order:
        seg = segments[i]
        if seg.monetary < 0 and "returns" not in taken:
            choice = "returns"
        else:
            wanted = _BY_ARCHETYPE[_archetype(seg, base)] + spare
            choice = next(a for a in wanted + [None] if a is None or a not in taken)
        if choice is None:  # more segments than actions: say which customers it is for
            out[i] = f"{_ACTIONS['newsletter']} (segment {seg.id})"
            continue
        taken.add(choice)
        out[i] = _ACTIONS[choice]
    return out


# -- runs ------------------------------------------------------------------------------------
def segment_rfm(store: Store, run: Run) -> tuple[list[SegmentRfm], BaseCuts]:
    """Per segment its typical R, F, M and the base's quintile cut points, in SQL over the run table."""
    table = run_table(run.run_id)
    with store.cursor() as cur:
        rows = cur.execute(
            f"""
            SELECT {SEGMENT}, count(*), median("recency_days"),
                   quantile_cont("recency_days", 0.25), quantile_cont("recency_days", 0.75),
                   avg("frequency"), median("frequency"), avg("monetary")
            FROM {table} GROUP BY {SEGMENT} ORDER BY {SEGMENT}
            """
        ).fetchall()
        cuts = cur.execute(
            f"""
            SELECT quantile_cont("recency_days", [0.2, 0.4, 0.6, 0.8]),
                   quantile_cont("frequency", [0.2, 0.4, 0.6, 0.8]),
                   quantile_cont("monetary", [0.2, 0.4, 0.6, 0.8])
            FROM {table}
            """
        ).fetchone()
    segs = [SegmentRfm(int(r[0]), int(r[1]), *(float(v) for v in r[2:])) for r in rows]
    return segs, BaseCuts(*(list(map(float, c)) for c in cuts))


_named: set[str] = set()  # runs already checked in this process (a run never changes afterwards)


def named_run(store: Store, run: Run) -> Run:
    """`run` with RFM names and actions when its features are the RFM measures (stored in the
    catalogue the first time, in one transaction); any other run unchanged. The outlier group keeps
    its name."""
    if run.run_id in _named or not is_rfm_run(run.features) or is_group_run(run):
        return run
    segs, base = segment_rfm(store, run)
    regular = [s for s in segs if not _is_outlier(run, s.id)]
    names = dict(zip((s.id for s in regular), rfm_segment_names(regular, base)))
    actions = dict(zip((s.id for s in regular), rfm_segment_actions(regular, base)))
    changed = False
    for seg in run.segments:
        if seg.id in names and (seg.name, seg.action) != (names[seg.id], actions[seg.id]):
            seg.name, seg.action, changed = names[seg.id], actions[seg.id], True
    if changed:
        with store.transaction() as cur:
            cur.execute("UPDATE runs SET spec = ? WHERE run_id = ?", [json.dumps(json_safe(run.to_dict())), run.run_id])
        # deferred: core modules import each other; at the top this makes an import cycle
        from core.views import clear_caches

        clear_caches()  # cached run contexts hold the old names
    _named.add(run.run_id)
    return run


def is_group_run(run: Run) -> bool:
    """A run whose segments are the named RFM groups (core.rfm.groups.run_rfm_groups): it keeps the
    group names and the groups' own actions."""
    # deferred: core modules import each other; at the top this makes an import cycle
    from core.rfm.groups import GROUP_NAMES

    return not run.elbow and bool(run.segments) and all(s.name in GROUP_NAMES for s in run.segments)


def _is_outlier(run: Run, seg_id: int) -> bool:
    return any(s.id == seg_id and s.outlier_group for s in run.segments)


