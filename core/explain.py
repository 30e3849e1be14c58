"""Why a customer is in a segment: drivers (what sets a segment apart) and a short rule in original units.

Drivers (`segment_drivers`): per segment against all other clustered customers. A numeric feature's
effect is the standardised mean difference (Cohen's d with the pooled standard deviation) in the space
the model was fitted in (after log1p where the run applied it, so one extreme customer cannot make a
driver); a one-hot level's effect is the difference in share. They are ranked by strength: |d| for
numeric features, |Cohen's h| (2 asin sqrt p1 - 2 asin sqrt p0) for shares, so both are on one scale.
Drivers weaker than MIN_STRENGTH (a "small" effect) are left out, except the strongest one.

Rules (`segment_rules`): one-vs-rest DecisionTreeClassifier (balanced classes, depth 2 and 3) on the
numeric features in original units (a sample of at most RULE_SAMPLE rows). Candidates are every leaf
path that predicts the segment and the OR of all of them; thresholds are rounded to a readable step
(a tenth of the feature's standard deviation's order of magnitude, coarser when it costs nothing);
the candidate with the best F1 after rounding wins, the shorter one when they are within 0.01.
`rule_sql` is the single place that turns a rule into SQL text: identifiers through quote_ident,
thresholds as numbers; `rule_scores` evaluates it in DuckDB against the run table, so precision and
recall are those of the stored text. Categorical (one-hot) features are not used in rules: a stored
rule cannot bind a text value, and quoting text literals by hand is what the SQL rules forbid.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import duckdb
import numpy as np
from sklearn.tree import DecisionTreeClassifier

from core.models import SEGMENT
from core.store import quote_ident

MIN_STRENGTH = 0.2  # Cohen's "small" effect
MAX_DRIVERS = 5
RULE_SAMPLE = 20_000  # rows a rule tree is fitted on
RULE_DEPTHS = (2, 3)
F1_TOLERANCE = 0.01  # a shorter or coarser rule wins when its F1 is within this of the best


# -- drivers ------------------------------------------------------------------------------------
def _group_stats(V: np.ndarray, labels: np.ndarray, ids: list[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per id: count, column sums and sums of squares."""
    lab = np.searchsorted(ids, labels)
    g = len(ids)
    n = np.bincount(lab, minlength=g).astype(np.float64)
    s = np.vstack([np.bincount(lab, weights=V[:, j], minlength=g) for j in range(V.shape[1])]).T
    ss = np.vstack([np.bincount(lab, weights=V[:, j] ** 2, minlength=g) for j in range(V.shape[1])]).T
    return n, s, ss


def segment_drivers(
    X_fitted: np.ndarray,
    raw: np.ndarray,
    labels: np.ndarray,
    encoded: list[str],
    onehot: dict[str, tuple[str, str]],
) -> dict[int, list[dict]]:
    """Per segment id: [{feature, direction, effect, segment, others}], strongest first (module doc).
    `segment` and `others` are means in original units (shares for one-hot levels)."""
    ids = sorted(int(i) for i in np.unique(labels))
    n, s, ss = _group_stats(np.asarray(X_fitted, np.float64), labels, ids)
    _, rs, _ = _group_stats(np.asarray(raw, np.float64), labels, ids)
    N, S, SS, RS = n.sum(), s.sum(axis=0), ss.sum(axis=0), rs.sum(axis=0)
    out: dict[int, list[dict]] = {}
    for g, sid in enumerate(ids):
        n1, n0 = n[g], N - n[g]
        if n0 == 0:
            out[sid] = []
            continue
        found = []
        for j, feat in enumerate(encoded):
            seg, oth = rs[g, j] / n1, (RS[j] - rs[g, j]) / n0
            if feat in onehot:
                effect = seg - oth
                strength = abs(2 * math.asin(math.sqrt(min(1, max(0, seg))))
                               - 2 * math.asin(math.sqrt(min(1, max(0, oth)))))
            else:
                m1, m0 = s[g, j] / n1, (S[j] - s[g, j]) / n0
                v1 = max(0.0, ss[g, j] - n1 * m1 * m1)
                v0 = max(0.0, (SS[j] - ss[g, j]) - n0 * m0 * m0)
                sd = math.sqrt((v1 + v0) / max(1.0, N - 2))
                effect = 0.0 if sd <= 1e-12 else (m1 - m0) / sd
                strength = abs(effect)
            if effect == 0:
                continue
            found.append((strength, {"feature": feat, "direction": "higher" if effect > 0 else "lower",
                                     "effect": round(float(effect), 3), "segment": float(seg),
                                     "others": float(oth)}))
        found.sort(key=lambda t: -t[0])
        kept = [d for st, d in found if st >= MIN_STRENGTH][:MAX_DRIVERS]
        out[sid] = kept or [d for _, d in found[:1]]
    return out


# -- rules --------------------------------------------------------------------------------------
@dataclass
class Condition:
    column: str  # a numeric feature: a column of the run table and of the export's Customers sheet
    lower: bool  # True: column >= value; False: column < value
    value: float  # already rounded to a readable number


@dataclass
class Rule:
    clauses: list[list[Condition]] = field(default_factory=list)  # OR of ANDs


def _number(v: float) -> float:
    """A threshold as SQL shows it: an integral value without ".0" (typed float for the SQL audit)."""
    f = float(v)
    return int(f) if f.is_integer() else f  # type: ignore[return-value]


def condition_sql(c: Condition, allowed: list[str]) -> str:
    return f"{quote_ident(c.column, allowed)} {'>=' if c.lower else '<'} {_number(c.value)}"


def clause_sql(clause: list[Condition], allowed: list[str]) -> str:
    return " AND ".join(condition_sql(c, allowed) for c in clause)


def rule_sql(rule: Rule, allowed: list[str]) -> str:
    """The rule as DuckDB SQL over the run table / the Customers sheet (double-quoted identifiers).
    The single place that writes rule text."""
    if len(rule.clauses) == 1:
        return clause_sql(rule.clauses[0], allowed)
    return " OR ".join(f"({clause_sql(c, allowed)})" for c in rule.clauses)


def rule_scores(cur: duckdb.DuckDBPyConnection, table: str, rules: dict[int, Rule],
                allowed: list[str]) -> dict[int, tuple[float | None, float | None]]:
    """Per segment id: (precision, recall) of its rule over the run table's customers, in DuckDB."""
    out = {}
    for sid, rule in rules.items():
        cond = rule_sql(rule, allowed)
        matched, hits, size = cur.execute(
            f"""
            SELECT count(*) FILTER (WHERE {cond}),
                   count(*) FILTER (WHERE ({cond}) AND {SEGMENT} = ?),
                   count(*) FILTER (WHERE {SEGMENT} = ?)
            FROM {table}
            """,
            [sid, sid],
        ).fetchone()
        out[sid] = (hits / matched if matched else None, hits / size if size else None)
    return out


def _step(values: np.ndarray) -> float:
    sd = float(np.std(values))
    if sd <= 0 or not math.isfinite(sd):
        return 1.0
    return 10.0 ** (math.floor(math.log10(sd)) - 1)


def _readable(v: float, step: float) -> float:
    r = round(v / step) * step
    digits = max(0, -math.floor(math.log10(step))) if step < 1 else 0
    return float(round(r, digits)) if step < 1 else float(round(r))


def _leaf_paths(tree: DecisionTreeClassifier) -> list[tuple[list[tuple[int, bool, float]], bool]]:
    """(conditions (feature, lower, threshold), predicts the positive class) per leaf."""
    t = tree.tree_
    out = []

    def walk(node: int, path: list) -> None:
        if t.children_left[node] == -1:
            out.append((path, bool(t.value[node][0].argmax() == 1)))
            return
        f, thr = int(t.feature[node]), float(t.threshold[node])
        walk(t.children_left[node], path + [(f, False, thr)])  # x <= thr, written x < rounded thr
        walk(t.children_right[node], path + [(f, True, thr)])

    walk(0, [])
    return out


def _simplify(path: list[tuple[int, bool, float]]) -> list[tuple[int, bool, float]]:
    """Per feature the tightest lower and upper bound."""
    best: dict[tuple[int, bool], float] = {}
    for f, lower, thr in path:
        key = (f, lower)
        if key not in best or (thr > best[key] if lower else thr < best[key]):
            best[key] = thr
    return [(f, lower, thr) for (f, lower), thr in sorted(best.items())]


def _mask(V: np.ndarray, clauses: list[list[tuple[int, bool, float]]]) -> np.ndarray:
    m = np.zeros(len(V), dtype=bool)
    for clause in clauses:
        c = np.ones(len(V), dtype=bool)
        for f, lower, thr in clause:
            c &= V[:, f] >= thr if lower else V[:, f] < thr
        m |= c
    return m


def _f1(pred: np.ndarray, y: np.ndarray) -> float:
    tp = float((pred & y).sum())
    return 0.0 if tp == 0 else 2 * tp / (float(pred.sum()) + float(y.sum()))


def _best_rule(V: np.ndarray, y: np.ndarray, steps: list[float], seed: int) -> list[list[tuple[int, bool, float]]] | None:
    candidates: list[list[list[tuple[int, bool, float]]]] = []
    for depth in RULE_DEPTHS:
        tree = DecisionTreeClassifier(max_depth=depth, class_weight="balanced", random_state=seed,
                                      min_samples_leaf=max(1, len(V) // 500)).fit(V, y)
        positive = [_simplify(p) for p, pos in _leaf_paths(tree) if pos and p]
        candidates += [[p] for p in positive]
        if len(positive) > 1:
            candidates.append(positive)
    scored = []
    for clauses in candidates:
        for coarse in (10.0, 1.0):
            rounded = [[(f, lower, _readable(thr, steps[f] * coarse)) for f, lower, thr in cl] for cl in clauses]
            length = sum(len(cl) for cl in rounded)
            scored.append((_f1(_mask(V, rounded), y), -length, coarse, rounded))
    if not scored:
        return None
    top = max(s[0] for s in scored)
    near = [s for s in scored if s[0] >= top - F1_TOLERANCE]
    return max(near, key=lambda s: (s[1], s[2], s[0]))[3]


def segment_rules(raw: np.ndarray, labels: np.ndarray, encoded: list[str],
                  onehot: dict[str, tuple[str, str]], seed: int = 42) -> dict[int, Rule]:
    """Per segment id, its rule over the numeric features (module doc); segments without one are left out."""
    numeric = [j for j, f in enumerate(encoded) if f not in onehot]
    if not numeric:
        return {}
    V = np.asarray(raw, dtype=np.float64)[:, numeric]
    labels = np.asarray(labels)
    if len(V) > RULE_SAMPLE:
        idx = np.sort(np.random.default_rng(seed + 3).choice(len(V), RULE_SAMPLE, replace=False))
        V, labels = V[idx], labels[idx]
    steps = [_step(V[:, f]) for f in range(V.shape[1])]
    out = {}
    for sid in sorted(int(i) for i in np.unique(labels)):
        y = labels == sid
        if y.all():
            continue
        best = _best_rule(V, y, steps, seed)
        if best:
            out[sid] = Rule([[Condition(encoded[numeric[f]], lower, thr) for f, lower, thr in cl] for cl in best])
    return out
