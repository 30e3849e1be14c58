"""Segment names, suggested marketing actions, and per-segment profiles of the filtered customers.

Naming (`name_segments`): each feature of a segment gets a z-score, (segment mean - base mean) / base
std, and a level: High when z >= 0.5, Low when z <= -0.5, Average otherwise (HIGH_Z). The words come
from the column name: "Annual Income (k$)" -> income, "Spending Score (1-100)" -> spending, Age ->
Young / Older, recency_days -> Recent / Lapsed, frequency -> Frequent / Infrequent, monetary -> high /
low spend, any other column -> its cleaned, lower-cased name ("High tenure months"). A one-hot column
("Gender=Female") is mentioned only when the segment over-represents it: "mostly Female".
With up to three features every feature is described, in feature order ("High income, low spending");
with more, the two most distinctive (largest |z|). If two segments would share a name, the next most
distinctive feature is added to both (up to MAX_PHRASES); if they still do, features with |z| >= 1.5
get stronger words ("Very recent, very frequent, very high spend"); as a last resort " (2)", " (3)".

Actions (`suggest_action`) follow the archetypes of the brief, recognised by column names:
income-like (income, salary, revenue, earnings) against spending-like (spend, spending, score,
monetary, amount); RFM (recency, frequency, monetary); otherwise the overall level of the segment.

Profiles (`profile_segments`): computed in SQL over run_<id> with the filter spec's WHERE. Segments
with no selected customers are left out (not listed with size 0).
"""
from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence

import numpy as np

from core.errors import InputError
from core.filters import FilterSpec, where_clause
from core.models import CATEGORICAL, NUMERIC, SEGMENT, Run, SegmentProfile
from core.rfm_naming import named_run
from core.store import Store, quote_ident, run_table
from core import agg_memory, aggregates
from core.aggregates import value_sql
from core.views import run_context

HIGH_Z = 0.5  # |z| at which a feature is called high / low rather than average
ALL_FEATURES_UP_TO = 3  # with this many features or fewer, every feature is described
DISTINCTIVE_SHOWN = 2  # otherwise the most distinctive ones
MAX_PHRASES = 4  # a name never lists more features than this
VERY_Z = 1.5  # |z| from which "very" may be used to separate two segments that share a name
MAX_NOUN = 28  # characters of a generic column's name kept in a segment name

_INCOME_WORDS = ("income", "salary", "revenue", "earnings")
_SPENDING_WORDS = ("spend", "spending", "spent", "score", "monetary", "amount")
_FIXED_WORDS = {
    "age": {"high": "older", "low": "young", "average": "average age"},
    "recency": {"high": "lapsed", "low": "recent", "average": "average recency"},
    "frequency": {"high": "frequent", "low": "infrequent", "average": "average frequency"},
    "monetary": {"high": "high spend", "low": "low spend", "average": "average spend"},
}
_VERY_WORDS = {
    "age": {"high": "much older", "low": "very young"},
    "recency": {"high": "long lapsed", "low": "very recent"},
}


# -- words --------------------------------------------------------------------------------------
def level(z: float | None) -> str:
    """'high', 'low' or 'average' for a z-score (threshold HIGH_Z)."""
    if z is None or not math.isfinite(z):
        return "average"
    return "high" if z >= HIGH_Z else "low" if z <= -HIGH_Z else "average"


def clean_name(column: str) -> str:
    """A column name as words: units and ranges in brackets dropped, separators and camelCase split,
    lower case. "Annual Income (k$)" -> "annual income", "recency_days" -> "recency days"."""
    s = re.sub(r"\([^)]*\)|\[[^\]]*\]", " ", str(column))
    s = re.sub(r"([a-z])([A-Z])", r"\1 \2", s)
    s = re.sub(r"[_\-./:;,|]+", " ", s)
    s = " ".join(s.split()).lower()
    if not s:
        s = " ".join(str(column).split()).lower() or "value"
    if len(s) > MAX_NOUN:
        s = s[: MAX_NOUN - 1].rstrip() + "…"
    return s


def feature_kind(column: str) -> tuple[str, str]:
    """(kind, noun): kind is age | recency | frequency | monetary | income | spending | generic."""
    words = clean_name(column).replace("…", "").split()
    if "recency" in words:
        return "recency", "recency"
    if "frequency" in words:
        return "frequency", "frequency"
    if "monetary" in words:
        return "monetary", "spend"
    if "age" in words:
        return "age", "age"
    for w in _INCOME_WORDS:
        if w in words:
            return "income", w
    for w in ("spending", "spend"):
        if w in words:
            return "spending", w
    return "generic", clean_name(column)


def _phrase(column: str, z: float, intense: bool = False) -> str:
    """The words for one numeric feature at z; `intense` adds "very" (or a stronger word) when
    |z| >= VERY_Z, used only to tell apart segments that would otherwise share a name."""
    lvl = level(z)
    kind, noun = feature_kind(column)
    if intense and lvl != "average" and abs(z) >= VERY_Z:
        if kind in _VERY_WORDS:
            return _VERY_WORDS[kind][lvl]
        return f"very {_FIXED_WORDS[kind][lvl]}" if kind in _FIXED_WORDS else f"very {lvl} {noun}"
    if kind in _FIXED_WORDS:
        return _FIXED_WORDS[kind][lvl]
    return f"{lvl} {noun}"


def _is_income_like(column: str) -> bool:
    return feature_kind(column)[0] == "income"


def _is_spending_like(column: str) -> bool:
    words = clean_name(column).split()
    return any(w in words for w in _SPENDING_WORDS)


def onehot_columns(run_or_features, encoded: Sequence[str] | None = None) -> dict[str, tuple[str, str]]:
    """Encoded one-hot name -> (column, level), for a Run or for (features, encoded_features)."""
    if isinstance(run_or_features, Run):
        features, encoded = run_or_features.features, run_or_features.encoded_features
    else:
        features = list(run_or_features)
    out = {}
    for enc in encoded or ():
        if enc in features:
            continue
        owners = [f for f in features if enc.startswith(f + "=")]
        if owners:
            col = max(owners, key=len)
            out[enc] = (col, enc[len(col) + 1:])
    return out


def _infer_onehot(features: Sequence[str]) -> dict[str, tuple[str, str]]:
    out = {}
    for f in features:
        col, sep, value = f.partition("=")
        if sep and col:
            out[f] = (col, value)
    return out


def _vector(values, features: Sequence[str]) -> np.ndarray:
    if isinstance(values, Mapping):
        return np.array([float(values.get(f, np.nan)) for f in features], dtype=np.float64)
    return np.asarray(values, dtype=np.float64).reshape(-1)


def z_scores(centroids, base_mean, base_std, features: Sequence[str]) -> np.ndarray:
    """k x m z-scores; a feature without spread (std 0 or missing) counts as average (z = 0)."""
    if isinstance(centroids, np.ndarray):
        C = np.asarray(centroids, dtype=np.float64).reshape(len(centroids), -1)
    else:
        C = np.vstack([_vector(c, features) for c in centroids]) if len(centroids) else np.zeros((0, len(features)))
    mu, sd = _vector(base_mean, features), _vector(base_std, features)
    with np.errstate(invalid="ignore", divide="ignore"):
        Z = (C - mu) / sd
    ok = np.isfinite(sd) & (sd > 1e-12)
    Z[:, ~ok] = 0.0
    return np.nan_to_num(Z, nan=0.0, posinf=0.0, neginf=0.0)


# -- names --------------------------------------------------------------------------------------
def name_segments(
    centroids,
    base_mean,
    base_std,
    features: Sequence[str],
    *,
    onehot: Mapping[str, tuple[str, str]] | None = None,
) -> list[str]:
    """One readable, unique name per segment (rules in the module docstring).

    centroids: a k x m array or k mappings feature -> mean; base_mean / base_std: length-m arrays or
    mappings (the whole base's mean and standard deviation, in the same units as the centroids);
    features: the m encoded feature names; onehot: encoded name -> (column, level) for one-hot columns
    (default: names of the form "column=level")."""
    features = list(features)
    onehot = dict(onehot) if onehot is not None else _infer_onehot(features)
    Z = z_scores(centroids, base_mean, base_std, features)
    groups = _feature_groups(features, onehot)
    ranked = [_ranked_traits(z, groups, features, onehot) for z in Z]

    start = len(groups) if len(groups) <= ALL_FEATURES_UP_TO else DISTINCTIVE_SHOWN
    shown = [min(start, len(r)) for r in ranked]
    intense = [False] * len(ranked)

    def render(i: int) -> str:
        chosen = sorted(ranked[i][: shown[i]], key=lambda t: t[0])
        text = ", ".join(words(intense[i]) for _, words in chosen) or "typical customers"
        return text[:1].upper() + text[1:]

    def repeated(names: list[str]) -> list[int]:
        counts: dict[str, int] = {}
        for n in names:
            counts[n] = counts.get(n, 0) + 1
        return [i for i, n in enumerate(names) if counts[n] > 1]

    names = [render(i) for i in range(len(ranked))]
    # 1. the next most distinctive feature, for every segment that shares its name
    while True:
        grew = False
        for i in repeated(names):
            if shown[i] < min(len(ranked[i]), MAX_PHRASES):
                shown[i] += 1
                grew = True
        if not grew:
            break
        names = [render(i) for i in range(len(ranked))]
    # 2. stronger words for the extreme features ("very recent", "very high income")
    for i in repeated(names):
        intense[i] = True
    names = [render(i) for i in range(len(ranked))]

    return _numbered(names)


def _feature_groups(features: list[str], onehot: Mapping[str, tuple[str, str]]) -> list[tuple[str, list[int]]]:
    """Feature groups in feature order: a numeric feature alone, or a categorical's one-hot columns."""
    groups: list[tuple[str, list[int]]] = []
    seen: dict[str, int] = {}
    for j, f in enumerate(features):
        col = onehot[f][0] if f in onehot else f
        key = ("cat:" if f in onehot else "num:") + col
        if key in seen:
            groups[seen[key]][1].append(j)
        else:
            seen[key] = len(groups)
            groups.append((key, [j]))
    return groups


def _ranked_traits(z: np.ndarray, groups: list[tuple[str, list[int]]], features: list[str],
                   onehot: Mapping[str, tuple[str, str]]) -> list[tuple[int, object]]:
    """A segment's describable traits, most distinctive first: (group order, phrase(intense)). A
    categorical is only ever "mostly <level>", never High/Low."""
    traits = []
    for g, (key, cols) in enumerate(groups):
        if key.startswith("cat:"):
            j = max(cols, key=lambda c: (z[c], -c))
            if z[j] >= HIGH_Z:
                text = f"mostly {onehot[features[j]][1]}"
                traits.append((float(z[j]), g, lambda intense, text=text: text))
        else:
            j = cols[0]
            zj = float(z[j])
            traits.append((abs(zj), g, lambda intense, f=features[j], zj=zj: _phrase(f, zj, intense)))
    traits.sort(key=lambda t: (-round(t[0], 9), t[1]))
    return [(g, words) for _, g, words in traits]


def _numbered(names: list[str]) -> list[str]:
    """Last resort: number the repeats in segment order ("... (2)")."""
    used: dict[str, int] = {}
    taken = set(names)
    out = []
    for n in names:
        used[n] = used.get(n, 0) + 1
        if used[n] == 1:
            out.append(n)
            continue
        m = used[n]
        while f"{n} ({m})" in taken:
            m += 1
        out.append(f"{n} ({m})")
        taken.add(out[-1])
    return out


# -- actions ------------------------------------------------------------------------------------
_INCOME_SPENDING_ACTIONS = {
    ("high", "low"): "Targeted promotions: they can afford more than they spend, so send personalised offers "
                     "on higher-value products they have not bought yet.",
    ("low", "high"): "Loyalty programme: reward their high spending with points and member prices so they "
                     "keep choosing you over cheaper rivals.",
    ("average", "average"): "Retention with bundles: keep this core group with bundled offers and occasional "
                            "discounts that lift the basket size.",
    ("high", "high"): "Premium products and early access: offer new collections, exclusive events and early "
                      "access to keep these top customers engaged.",
    ("low", "low"): "Low-cost digital campaigns: reach them through email and social media with value offers "
                    "rather than costly channels.",
    ("high", "average"): "Targeted upselling: they have room to spend more, so promote premium lines matched to "
                         "what they already buy.",
    ("average", "high"): "Loyalty programme: reward their above-average spending with points and member-only "
                         "offers so that it continues.",
    ("average", "low"): "Targeted promotions: win a bigger share of their spending with personalised discounts "
                        "on the categories they already buy.",
    ("low", "average"): "Value bundles: keep them with good-value bundles and price-led offers through "
                        "low-cost channels.",
}
_RFM_ACTIONS = {
    "vip": "VIP rewards: thank these best customers with exclusive rewards and early access, and keep a "
           "personal line open to them.",
    "win_back": "Win-back offers: they used to buy a lot but have gone quiet, so reach out now with a "
                "personal, time-limited offer.",
    "reactivate": "Low-cost reactivation: send an automated reminder with a modest incentive, without "
                  "spending heavily on them.",
    "onboard": "Onboarding: welcome these new customers and give them a reason to make a second purchase "
               "soon.",
    "grow": "Loyalty rewards: they bought recently, so points and member offers can turn them into regular, "
            "higher-value customers.",
    "keep": "Loyalty rewards: they buy often or spend well, so points and member offers will keep them coming "
            "back before they drift away.",
    "nurture": "Nurture: keep in touch with regular personalised recommendations to raise how often they buy.",
}
_GENERIC_ACTIONS = {
    "high": "Priority service: above average on most measures, so offer premium products and personal "
            "attention to keep them.",
    "low": "Low-cost digital campaigns: below average on most measures, so reach them with automated, "
           "low-cost offers.",
    "average": "Retention: a typical group, so keep them engaged with bundled offers and regular "
               "communication.",
}


def _mean(values: list[float]) -> float | None:
    vals = [v for v in values if v is not None and math.isfinite(v)]
    return sum(vals) / len(vals) if vals else None


def suggest_action(z: Mapping[str, float], *, onehot: Mapping[str, tuple[str, str]] | None = None) -> str:
    """One specific sentence for a segment, from its z-scores per encoded feature (segment mean minus
    the base mean, over the base std). RFM columns first (recency, frequency, monetary), then income
    against spending, then the overall level. One-hot columns do not decide the action."""
    onehot = dict(onehot) if onehot is not None else _infer_onehot(list(z))
    numeric = {f: float(v) for f, v in z.items() if f not in onehot and v is not None}
    kinds = {f: feature_kind(f)[0] for f in numeric}

    def avg_of(kind: str) -> float | None:
        return _mean([v for f, v in numeric.items() if kinds[f] == kind])

    rec, freq, mon = avg_of("recency"), avg_of("frequency"), avg_of("monetary")
    if rec is not None and (freq is not None or mon is not None):
        r = level(rec)
        f = level(freq) if freq is not None else None
        m = level(mon) if mon is not None else None
        valuable = "high" in (f, m)
        if r == "low":
            if f == "low":
                return _RFM_ACTIONS["onboard"]
            if f in ("high", None) and m in ("high", None):
                return _RFM_ACTIONS["vip"]
            return _RFM_ACTIONS["grow"]
        if r == "high":
            return _RFM_ACTIONS["win_back"] if valuable else _RFM_ACTIONS["reactivate"]
        if f == "low" and m in ("low", None):
            return _RFM_ACTIONS["reactivate"]
        return _RFM_ACTIONS["keep"] if valuable else _RFM_ACTIONS["nurture"]

    income = _mean([v for f, v in numeric.items() if _is_income_like(f)])
    spending = _mean([v for f, v in numeric.items() if _is_spending_like(f) and not _is_income_like(f)])
    if income is not None or spending is not None:
        return _INCOME_SPENDING_ACTIONS[(level(income), level(spending))]
    return _GENERIC_ACTIONS[level(_mean(list(numeric.values())))]


# -- names and actions of a run ------------------------------------------------------------------
OUTLIER_NAME = "Outliers"
OUTLIER_ACTION = ("Review one by one: these customers are far from every segment, so check them for data "
                  "errors first and treat the valuable ones individually, not with a segment campaign.")


def _value(v: float) -> str:
    a = abs(v)
    return f"{v:,.0f}" if a >= 1000 else f"{v:.1f}" if a >= 10 else f"{v:.2f}"


def driver_phrase(d: Mapping) -> str:
    """A numeric driver in words: "higher Annual Income (k$) (86.5 vs 45.2 for the other customers)"."""
    feat = str(d["feature"])
    return f"{d['direction']} {feat} ({_value(d['segment'])} vs {_value(d['others'])} for the other customers)"


def _share_phrase(d: Mapping, onehot: Mapping[str, tuple[str, str]]) -> str:
    col, lvl = onehot[d["feature"]]
    how = "more often" if d["direction"] == "higher" else "less often"
    return f"{how} {col} = {lvl} ({d['segment']:.0%} vs {d['others']:.0%} for the other customers)"


def _marks(drivers: Sequence[Mapping], onehot: Mapping[str, tuple[str, str]], n: int) -> str:
    words = [_share_phrase(d, onehot) if d["feature"] in onehot else driver_phrase(d) for d in drivers[:n]]
    return "; ".join(words)


def specific_actions(actions: Sequence[str], drivers: Sequence[Sequence[Mapping]],
                     onehot: Mapping[str, tuple[str, str]] | None = None) -> list[str]:
    """Each action followed by what marks its segment (its top driver); when two segments would still
    share a text, more drivers are named, and as a last resort the segment number. No two are equal."""
    onehot = dict(onehot or {})
    shown = [1] * len(actions)

    def render(i: int) -> str:
        marks = _marks(drivers[i], onehot, shown[i])
        return f"{actions[i]} What marks them: {marks}." if marks else actions[i]

    texts = [render(i) for i in range(len(actions))]
    for _ in range(MAX_DRIVERS_NAMED):
        dup = [i for i, t in enumerate(texts) if texts.count(t) > 1]
        if not dup:
            return texts
        for i in dup:
            shown[i] += 1
        texts = [render(i) for i in range(len(actions))]
    seen: set[str] = set()
    out = []
    for i, t in enumerate(texts):
        out.append(t if t not in seen else f"{t} (segment {i + 1})")
        seen.add(out[-1])
    return out


MAX_DRIVERS_NAMED = 3


def describe_segments(
    seg_means: np.ndarray,
    base_mean: np.ndarray,
    base_std: np.ndarray,
    encoded: Sequence[str],
    *,
    onehot: Mapping[str, tuple[str, str]] | None = None,
    drivers: Mapping[int, Sequence[Mapping]] | None = None,
    outliers: bool = False,
) -> tuple[list[str], list[str]]:
    """Names and actions of a run's segments 1..k (seg_means: k x m in the fitted space) and, when
    `outliers`, of its outlier group (id k + 1, named OUTLIER_NAME). Actions are specific and distinct
    (specific_actions). RFM runs get their names and actions from core.rfm_naming (dispatch here)."""
    encoded = list(encoded)
    onehot = dict(onehot) if onehot is not None else _infer_onehot(encoded)
    drivers = dict(drivers or {})
    k = len(seg_means)
    names = name_segments(seg_means, base_mean, base_std, encoded, onehot=onehot)
    Z = z_scores(seg_means, base_mean, base_std, encoded)
    actions = [suggest_action(dict(zip(encoded, map(float, Z[i]))), onehot=onehot) for i in range(k)]
    ids = list(range(1, k + 1))
    if outliers:
        names.append(OUTLIER_NAME)
        actions.append(OUTLIER_ACTION)
        ids.append(k + 1)
    return names, specific_actions(actions, [drivers.get(i, []) for i in ids], onehot)


# -- profiles -----------------------------------------------------------------------------------
def run_means(run: Run) -> dict[str, float]:
    """The whole run's mean of every encoded feature, from the stored segment centroids weighted by
    segment size (no scan of the run table: the run never changes)."""
    total = sum(s.size for s in run.segments)
    out: dict[str, float] = {}
    for enc in run.encoded_features:
        parts = [(s.size, s.centroid.get(enc)) for s in run.segments if s.size]
        if total and parts and all(v is not None for _, v in parts):
            out[enc] = sum(n * v for n, v in parts) / total
    return out


def profile_values(run: Run, present: list[str]) -> list[tuple[str, str, str | None]]:
    """Per encoded feature of the run found in the table: (name, its column, the level of a one-hot
    feature or None). `value_sql` turns one into its per-row value."""
    onehot = onehot_columns(run)
    out = []
    for enc in run.encoded_features:
        col, lvl = onehot.get(enc, (enc, None))
        if col in present:
            out.append((enc, col, lvl))
    return out


def profile_segments(store: Store, spec: FilterSpec, medians: bool = True) -> list[SegmentProfile]:
    """Per segment, over the customers the filter selects: size, share of the selected customers,
    mean and median of every feature (for a one-hot column both hold the share of that level) and the
    difference of the mean from the whole run's mean (all clustered customers, unfiltered).
    Segments without selected customers are left out. Names and actions are the run's.

    `medians=False` (the dashboard's profile table, which shows means): the answer comes from the run's
    pre-aggregated tables when they hold it (core.aggregates: exact counts and means), medians left empty."""
    ctx = run_context(store, spec.run_id)  # cached per run: no catalogue queries per filter change
    run = named_run(store, ctx.run)  # runs on R, F and M: names and actions in RFM words
    values = profile_values(run, list(ctx.types))
    found = None if medians else _cube_means(store, spec, [v[0] for v in values])
    if found is None:
        found = _row_stats(store, ctx, spec, values)
    base_mean = run_means(run)
    segments = {s.id: s for s in run.segments}
    total = sum(size for size, _, _ in found.values())
    out = []
    for seg in sorted(found):
        size, means, meds = found[seg]
        if size == 0:
            continue
        diffs = {}
        for enc, mean in means.items():
            b = _num(base_mean.get(enc))
            diffs[enc] = None if mean is None or b is None else mean - b
        s = segments.get(seg)
        out.append(SegmentProfile(
            segment=seg,
            name=s.name if s else f"Segment {seg}",
            action=s.action if s else "",
            size=size,
            share=size / total if total else 0.0,
            means=means,
            medians=meds,
            diffs=diffs,
        ))
    return out


def _cube_means(store: Store, spec: FilterSpec, features: list[str]) -> dict | None:
    """segment -> (size, means, {}) from the run's cube, or None when the cube cannot answer."""
    cube = aggregates.load(store, spec.run_id)
    brush = aggregates.brush_of(cube, spec)
    if brush is None or list(cube.moments) != features:
        return None
    return {seg: (size, {f: _num(m) for f, m in means.items()}, {})
            for seg, (size, means) in agg_memory.segment_means(store, cube, brush).items()}


def _row_stats(store: Store, ctx, spec: FilterSpec, values: list[tuple[str, str, str | None]]) -> dict:
    """segment -> (size, means, medians) over the selected rows (a median only for numeric features;
    a one-hot feature's median is its mean, the share)."""
    where, where_params = where_clause(spec, ctx.numeric, ctx.categorical)
    stat_sql: list[str] = []
    stat_params: list = []
    present = list(ctx.types)
    for _, col, level in values:
        expr = value_sql(col, level, present)
        stat_sql.append(f"avg({expr})")
        if level is None:
            stat_sql.append(f"median({expr})")
        else:
            stat_params.append(level)
    stats = "".join(f", {s}" for s in stat_sql)
    with store.cursor() as cur:
        rows = cur.execute(
            f"""
            WITH selected AS (SELECT * FROM {ctx.table} WHERE {where})
            SELECT {SEGMENT}, count(*) AS size{stats}
            FROM selected
            GROUP BY {SEGMENT}
            ORDER BY {SEGMENT}
            """,
            where_params + stat_params,
        ).fetchall()
    out = {}
    for r in rows:
        means, meds = {}, {}
        it = iter(r[2:])
        for enc, _, level in values:
            means[enc] = _num(next(it))
            meds[enc] = means[enc] if level is not None else _num(next(it))
        out[int(r[0])] = (int(r[1]), means, meds)
    return out


def _num(v) -> float | None:
    if v is None:
        return None
    f = float(v)
    return f if math.isfinite(f) else None
