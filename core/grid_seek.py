"""Customer-grid pages at any depth without a deep OFFSET: "bin seek" over the sort keys (issue 11 §1).

`page_rows` returns rows start..stop-1 of the selection in the grid's order (sort keys, each ascending
NULLS LAST or descending NULLS LAST, ties by __row), exactly as the plain
`ORDER BY keys LIMIT n OFFSET start` would, but without sorting millions of rows to skip them:

1. One scan counts the selected rows per bin of the first key (BINS equal-width bins between the
   run's finite min and max, one group below/above them for -inf/+inf, one for NaN, one for NULL),
   with each bin's smallest and largest value.
2. Cumulative counts in the sort order give the bins holding rows start..stop-1 and how many selected
   rows sort before them.
3. Only the rows whose key lies between the first and the last of those bins' values are sorted (by
   every key) and sliced at the adjusted offset. Bins are monotone in the key, so that value interval
   holds exactly the rows of those bins.

A bin holding more than `max_read` rows is split again: a second histogram inside its value range, or,
when it holds one value only (ties), a histogram of the next key among the rows with that value. After
MAX_LEVELS histograms of one key, or for a key that cannot be binned, the bin is read with a plain
ORDER BY ... LIMIT ... OFFSET restricted to it (still exact, only slower).

Keys that can be binned: numbers (integers, DECIMAL, FLOAT/DOUBLE, BOOLEAN), DATE and TIMESTAMP
columns, __row, text (VARCHAR: DuckDB orders it by its UTF-8 bytes, that is by code points, so the
code points of the first two characters never decrease as the text grows; a bin whose strings share
their first characters is split on the characters after them) and the segment name (the segment's
rank among the sorted names). Any other first key (TIME, INTERVAL, lists, a DATE column holding
infinite dates) falls back to the plain query over the whole selection, read from the nearer end
(`plain_rows`, the query grid_page always ran). Small selections (at most `max_read` rows) take the
plain query too: one sort of them is cheap.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

import duckdb

from core import lru
from core.models import ROW, SEGMENT
from core.store import Store, quote_ident

BINS = 1024
MAX_READ_ROWS = 200_000  # rows one read may sort; a larger bin is split again
MAX_LEVELS = 3  # histograms of one key before a bin is read with a plain OFFSET
HEAD_ROWS = 10_000  # unsorted pages ending before this row are read from the table's start (_head)
HEAD_WHOLE_ROWS = 500  # up to this row the head query reads the whole rows, not only their __row
HEAD_MARGIN = 1.5  # _bounded_head's bound expects this many times the page's rows below it
HEAD_CAP_FACTOR = 4  # ... and reads at most this many times the page (plus 64) before giving up
FEW_VALUES = 2_000  # a text key with at most this many distinct values (statistics) groups by value
_CHAR_SPAN = 2**21  # code points are below 2^21
_NAN_GROUP, _NULL_GROUP = 2**40, 2**40 + 1  # group ids after every bin or value: NaN, then NULL
_MAX_SPAN = 2**62  # integer keys wider than this are read without bins (no BIGINT overflow)
# Types whose keys become exact integers (binned by integer division, see _integer_sql), and the
# others read as doubles (equal-width bins, each bin's own smallest and largest value kept).
_INTEGERS = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER", "BOOLEAN",
             "DATE",
             "TIMESTAMP", "TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP WITH TIME ZONE", "TIMESTAMPTZ")
_FLOATS = ("FLOAT", "REAL", "DOUBLE")
_WIDE_NUMBERS = ("DECIMAL", "NUMERIC", "HUGEINT", "UBIGINT", "UHUGEINT")

# A page is read as pieces: (conditions, their bound values, offset, limit) over the selection.
Piece = tuple[list[str], list, int, int]


# -- caches (per Store, core/lru.py: a run never changes, so bounds and histograms stay true) ----------
def _cache(store: Store, name: str) -> lru.Lru:
    return lru.cache(store, "grid_" + name, {"bounds": 256, "bins": 128}[name])


def clear_cache() -> None:
    """Forget cached key bounds and histograms (benchmarks time cold pages)."""
    lru.clear("grid_bounds", "grid_bins")


# -- entry point ---------------------------------------------------------------------------------
def page_rows(store: Store, table: str, types: dict[str, str], where: str, params: list,
              keys: list[tuple[str, bool]], select: list[str], names: list[str], start: int, stop: int,
              total: int, *, bins: int | None = None, max_read: int | None = None) -> list[tuple]:
    """Rows start..stop-1 (0 <= start < stop <= total) of the `total` rows of `table` matching `where`,
    ordered by `keys` ((quoted column, ascending) pairs ending with __row), as tuples of `select`. The
    last item of `select` is grid_page's segment-name column (`(?::VARCHAR[])[__segment] AS ...`, bound
    to `names`); keys may sort by it."""
    bins = BINS if bins is None else bins
    max_read = MAX_READ_ROWS if max_read is None else max_read
    if keys == [(ROW, True)] and stop <= HEAD_ROWS:
        if stop <= HEAD_WHOLE_ROWS:  # the first pages: the rows themselves, in one read
            rows = _bounded_head(store, table, where, params, stop, total, select, names)
            if rows is None:
                rows = _head(store, table, where, params, stop, select, names)
            if rows is not None:
                return rows[start:stop]
        head = _head(store, table, where, params, stop)
        if head is not None:
            return _rows_by_id(store, table, select, names, keys, head[start:stop])
    columns = _key_columns(keys, types, names)
    if total <= max_read or columns[0] is None:
        return plain_rows(store, table, where, params, keys, select, names, start, stop, total)
    scan = _Scan(store, params, bins, max_read)
    pieces = _locate(scan, table, where, keys, columns, 0, [], [], start, stop, 0, None)
    order = _order(keys)
    found: list[int] = []
    with store.cursor() as cur:
        for conds, values, offset, limit in pieces:
            sql = f"""
                SELECT {ROW}, {select[-1]} FROM {table}
                WHERE ({where}) AND {" AND ".join(conds) or "TRUE"}
                ORDER BY {order} LIMIT ? OFFSET ?
            """
            found += [r[0] for r in cur.execute(sql, [names] + params + values + [limit, offset]).fetchall()]
        # The page's full rows, read by __row and put in the grid's order.
        return cur.execute(
            f"SELECT {', '.join(select)} FROM {table} WHERE {ROW} = ANY(?::BIGINT[]) "
            f"ORDER BY {order}",
            [names, found],
        ).fetchall()


def _bounded_head(store: Store, table: str, where: str, params: list, stop: int, total: int,
                  select: list[str], names: list[str]) -> list | None:
    """The first `stop` selected rows (as tuples of `select`, which holds __row) in __row order from one
    read of the rows up to a __row bound, or None. The bound expects HEAD_MARGIN times `stop` selected
    rows below it, as if the `total` selected rows were spread evenly over the table's __row range; the
    read stops at HEAD_CAP_FACTOR times that. Fewer rows than the cap are every selected row up to the
    bound, whatever the table's order: with at least `stop` of them, their first `stop` are the answer.
    None (the caller reads from the start and proves it, _head) when the bound would cover the table,
    or when the read found too few or hit the cap. One query, not _head's two: a filter whose WHERE is
    costly to plan (a lasso) is planned once."""
    lo, hi = _row_span(store, table)
    if total <= 0 or hi < lo:
        return None
    bound = lo + math.ceil(stop * HEAD_MARGIN * (hi - lo + 1) / total) + 64
    if bound >= hi:
        return None
    cap = HEAD_CAP_FACTOR * (stop + 64)
    with store.cursor() as cur:
        found = cur.execute(f"SELECT {', '.join(select)} FROM {table} WHERE {ROW} <= ? AND ({where}) LIMIT ?",
                            [names, bound] + params + [cap]).fetchall()
    if not stop <= len(found) < cap:
        return None
    at = select.index(ROW)
    found.sort(key=lambda r: r[at])
    return found[:stop]


def _row_span(store: Store, table: str) -> tuple[int, int]:
    """The table's smallest and largest __row (cached: a run table never changes)."""
    cache = _cache(store, "bounds")
    hit = cache.get(("row span", table))
    if hit is not None:
        return hit
    with store.cursor() as cur:
        lo, hi = cur.execute(f"SELECT min({ROW}), max({ROW}) FROM {table}").fetchone()
    span = (0, -1) if lo is None else (int(lo), int(hi))
    cache.put(("row span", table), span)
    return span


def _head(store: Store, table: str, where: str, params: list, stop: int, select: list[str] | None = None,
          names: list[str] | None = None) -> list | None:
    """The first `stop` selected __row values in __row order (with `select`: those rows, as tuples of
    `select`, which holds __row; `names` binds its segment-name column), read from the start of the
    table: a run table is written ORDER BY __row, so DuckDB finds them without scanning the rest (no
    ORDER BY: the scan stops at the LIMIT). Proven, not assumed: the rows of the selection with __row
    up to the largest one found must be exactly these (a count the table's __row zone maps answer from
    its first row groups); otherwise None, and the caller sorts."""
    cols = ", ".join(select) if select else ROW
    with store.cursor() as cur:
        found = cur.execute(f"SELECT {cols} FROM {table} WHERE ({where}) LIMIT ?",
                            ([names] if select else []) + params + [stop]).fetchall()
        if not found:
            return []
        at = select.index(ROW) if select else 0
        top = max(r[at] for r in found)
        n = cur.execute(f"SELECT count(*) FROM {table} WHERE {ROW} <= ? AND ({where})", [top] + params).fetchone()[0]
    if n != len(found):
        return None
    found.sort(key=lambda r: r[at])
    return found if select else [r[0] for r in found]


def _rows_by_id(store: Store, table: str, select: list[str], names: list[str], keys: list[tuple[str, bool]],
                ids: list[int]) -> list[tuple]:
    with store.cursor() as cur:
        return cur.execute(
            f"SELECT {', '.join(select)} FROM {table} WHERE {ROW} = ANY(?::BIGINT[]) ORDER BY {_order(keys)}",
            [names, ids],
        ).fetchall()


def plain_rows(store: Store, table: str, where: str, params: list, keys: list[tuple[str, bool]],
               select: list[str], names: list[str], start: int, stop: int, total: int) -> list[tuple]:
    """The same rows by ORDER BY ... LIMIT ... OFFSET over the whole selection (arguments as page_rows).
    A page in the second half is read in the mirrored order from the end (and reversed here), so the
    sort never has to keep more than half the selection for an OFFSET."""
    mirrored = start > total - stop
    offset = total - stop if mirrored else start
    order = ", ".join(
        f"{q} {'ASC' if asc != mirrored else 'DESC'} NULLS {'FIRST' if mirrored else 'LAST'}"
        for q, asc in keys
    )
    # The page's __row values are found sorting only the keys; its full rows are read after that.
    sql = f"""
        WITH page AS (
            SELECT {ROW}, {select[-1]} FROM {table} WHERE {where}
            ORDER BY {order} LIMIT ? OFFSET ?
        )
        SELECT {", ".join(select)} FROM {table}
        WHERE {ROW} IN (SELECT {ROW} FROM page)
        ORDER BY {order}
    """
    with store.cursor() as cur:
        rows = cur.execute(sql, [names] + params + [stop - start, offset, names]).fetchall()
    if mirrored:
        rows.reverse()
    return rows


def _order(keys: list[tuple[str, bool]]) -> str:
    return ", ".join(f"{q} {'ASC' if asc else 'DESC'} NULLS LAST" for q, asc in keys)


def _key_columns(keys: list[tuple[str, bool]], types: dict[str, str], names: list[str]
                 ) -> list[tuple | None]:
    """Per key (value SQL, kind, number SQL, bounds when known) or None when it cannot be binned.
    Kinds: "int" (the number is an exact integer), "float" (double with NaN and infinities), "number"
    (other numbers, as double), "text" (its number depends on the characters skipped: _text_number).
    The segment-name column is the segment's rank among the sorted names, an integer."""
    from core.views import SEGMENT_NAME  # views imports this module: the name's one home is there

    quoted = {quote_ident(name): name for name in types}
    quoted[ROW] = ROW
    out: list[tuple | None] = []
    for q, _asc in keys:
        name = quoted.get(q)
        kind = types.get(name, "").upper().split("(")[0].strip() if name is not None else ""
        if kind in _INTEGERS:
            out.append((q, "int", _integer_sql(q, kind), None))
        elif kind in _FLOATS:
            out.append((q, "float", f"{q}::DOUBLE", None))
        elif kind in _WIDE_NUMBERS:
            out.append((q, "number", f"{q}::DOUBLE", None))
        elif kind == "VARCHAR":
            out.append((q, "text", _text_number(q, 0), None))  # (inside a bin: after the shared part)
        elif q == quote_ident(SEGMENT_NAME) and name is None:
            # Python orders str by code point, as DuckDB's binary collation orders UTF-8 bytes.
            rank = {n: i for i, n in enumerate(sorted(set(names)))}
            whens = " ".join(f"WHEN {int(s)} THEN {int(rank[n])}" for s, n in enumerate(names, start=1))
            v = f"(CASE {SEGMENT} {whens} END)" if names else "NULL::INTEGER"
            out.append((v, "int", v, (0, max(0, len(rank) - 1), 0)))  # ranks: known bounds, no scan
        else:
            out.append(None)
    return out


def _integer_sql(q: str, kind: str) -> str:
    """SQL of a whole number that never decreases as the key grows."""
    if kind == "BOOLEAN":
        return f"{q}::INTEGER"
    if kind == "DATE":
        return f"({q} - DATE '1970-01-01')"  # days; +-infinity become the extreme integers
    if kind.startswith("TIMESTAMP"):
        return f"epoch_us({q})"
    return q


def _text_number(v: str, skip: int) -> str:
    """SQL of a double that never decreases as the text grows: the code points of its characters skip+1
    and skip+2 (-1 past the end) as c1 * 2^21 + c2, exact (all texts of a bin share the characters
    before). unicode() is cheap where string slicing and casts are not."""
    first = f"unicode({v})" if skip == 0 else f"unicode(substr({v}, {int(skip) + 1}, 1))"
    return f"({first}::DOUBLE * {_CHAR_SPAN} + unicode(substr({v}, {int(skip) + 2}, 1)))"


def _text_double(value: str, skip: int) -> float:
    """_text_number of one text value, in Python (str holds code points, as DuckDB's unicode() reads)."""
    first = ord(value[skip]) if len(value) > skip else -1
    second = ord(value[skip + 1]) if len(value) > skip + 1 else -1
    return float(first * _CHAR_SPAN + second)


def _shared_chars(low: str, high: str) -> int:
    n = 0
    while n < min(len(low), len(high)) and low[n] == high[n]:
        n += 1
    return n


# -- finding the page ------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Scan:
    """What every histogram of one page shares (the SQL parts travel as arguments, checked at each call)."""

    store: Store
    params: list  # the WHERE's values
    bins: int
    max_read: int


def _locate(scan: _Scan, table: str, where: str, keys: list[tuple[str, bool]],
            columns: list[tuple | None], k: int, conds: list[str], values: list, a: int, b: int,
            level: int, bounds: tuple | None) -> list[Piece]:
    """The pieces holding rows a..b-1 of the rows matching the WHERE and `conds`, ordered by keys[k:]
    (the rows matching `conds` all tie on keys[:k]). `bounds`: (low, high, characters skipped) of the
    key's number, None for the whole run's."""
    asc = keys[k][1]
    if columns[k] is None or level >= MAX_LEVELS:
        return [(conds, values, a, b - a)]
    v, kind, x = columns[k][0], columns[k][1], columns[k][2]
    if bounds is None:
        bounds = columns[k][3] or _key_bounds(scan.store, table, v, kind, x)
        if bounds is None:
            return [(conds, values, a, b - a)]
    if kind == "text" and bounds[2] < 0:  # few distinct texts: one group per value
        groups = _value_histogram(scan, table, where, v, conds, values)
    elif kind == "int":
        groups = _int_histogram(scan, table, where, x, conds, values, bounds)
        v = x  # integer bins are exact intervals of the number: conditions name it
    else:
        groups = _histogram(scan, table, where, v, _text_number(v, bounds[2]) if kind == "text" else x,
                            kind == "float", conds, values, bounds)
    if groups is None:  # a range doubles cannot cut into bins
        return [(conds, values, a, b - a)]
    null_group = _NULL_GROUP
    groups.sort(key=lambda g: (g[0] == null_group, g[0] if asc else -g[0]))  # NULLs last either way
    hits, seen = [], 0
    for g in groups:  # (group, rows, smallest value, largest value) and rows before it
        if seen < b and seen + g[1] > a:
            hits.append((g, seen))
        seen += g[1]
    if not hits:  # nothing left at this offset (the selection changed under the count)
        return []
    if sum(g[1] for g, _ in hits) <= scan.max_read:
        return [_piece(v, asc, null_group, hits, conds, values, a, b)]
    pieces: list[Piece] = []
    run: list = []
    for g, before in hits:  # only the first and the last group can be large: a page is small
        if g[1] <= scan.max_read:
            run.append((g, before))
            continue
        if run:
            pieces.append(_piece(v, asc, null_group, run, conds, values, a, b))
            run = []
        pieces += _split(scan, table, where, keys, columns, k, conds, values, g, max(a, before) - before,
                         min(b, before + g[1]) - before, level, v, kind, bounds)
    if run:
        pieces.append(_piece(v, asc, null_group, run, conds, values, a, b))
    return pieces


def _split(scan: _Scan, table: str, where: str, keys: list[tuple[str, bool]],
           columns: list[tuple | None], k: int, conds: list[str], values: list, g: tuple,
           a: int, b: int, level: int, v: str, kind: str, bounds: tuple) -> list[Piece]:
    """Rows a..b-1 of one large group `g` of key k (`v`: the SQL its bins are intervals of): by the next
    key when it holds one value, else by finer bins inside it."""
    null_group = _NULL_GROUP
    if g[0] == null_group:
        return _locate(scan, table, where, keys, columns, k + 1, conds + [f"{v} IS NULL"], values, a, b, 0,
                       None)
    within, inside = conds + [f"{v} BETWEEN ? AND ?"], values + [g[2], g[3]]
    if g[0] == _NAN_GROUP or g[2] == g[3]:  # one value (NaN, or low == high): ties, by the next keys
        return _locate(scan, table, where, keys, columns, k + 1, within, inside, a, b, 0, None)
    if kind == "text":  # the bin's strings share their first characters: bin by the ones after them
        skip = _shared_chars(g[2], g[3])
        inner = (_text_double(g[2], skip), _text_double(g[3], skip), skip)
    else:
        inner = (g[2], g[3], 0) if kind == "int" else (float(g[2]), float(g[3]), 0)
    return _locate(scan, table, where, keys, columns, k, within, inside, a, b, level + 1, inner)


def _piece(v: str, asc: bool, null_group: int, hits: list, conds: list[str], values: list, a: int,
           b: int) -> Piece:
    """One read: the groups of `hits` (consecutive in the order), as an interval of `v`."""
    first, last = hits[0], hits[-1]
    offset = max(a, first[1]) - first[1]
    limit = min(b, last[1] + last[0][1]) - max(a, first[1])
    span = [g for g, _ in hits if g[0] != null_group]
    if not span:
        return conds + [f"{v} IS NULL"], values, offset, limit
    # Groups run upward when ascending: the interval is the first one's low to the last one's high.
    low, high = (span[0][2], span[-1][3]) if asc else (span[-1][2], span[0][3])
    cond = f"({v} BETWEEN ? AND ? OR {v} IS NULL)" if len(span) < len(hits) else f"{v} BETWEEN ? AND ?"
    return conds + [cond], values + [low, high], offset, limit


def _cached(scan: _Scan, key: tuple, sql: str, values: list) -> list[tuple]:
    """Histogram rows, cached per Store (a run never changes: the same filter gives the same counts)."""
    cache = _cache(scan.store, "bins")
    hit = cache.get(key)
    if hit is None:
        with scan.store.cursor() as cur:
            hit = tuple(tuple(r) for r in cur.execute(sql, values).fetchall())
        cache.put(key, hit)
    return list(hit)


def _int_histogram(scan: _Scan, table: str, where: str, x: str, conds: list[str], values: list,
                   bounds: tuple) -> list[tuple] | None:
    """Rows matching the WHERE and `conds` per bin of an integer key: bin g (0..bins-1) holds the
    integers low + g*w .. low + g*w + w-1 (w = the width that makes `bins` bins), NULLs in bins+3; each
    (group, rows, smallest integer, largest integer) of the bin's range, exact without reading values."""
    low, high = int(bounds[0]), int(bounds[1])
    if high - low >= _MAX_SPAN:  # (x - low) could overflow: read the range as it is
        return None
    bins = int(scan.bins)
    width = max(1, -(-(high - low + 1) // bins))
    sql = f"""
        SELECT ({x} - ?) // ? AS g, count(*)
        FROM {table} WHERE ({where}) AND {" AND ".join(conds) or "TRUE"}
        GROUP BY g
    """
    key = ("int", table, where, json.dumps(scan.params, default=str), x, tuple(conds),
           json.dumps(values, default=str), low, width)
    rows = _cached(scan, key, sql, [low, width] + scan.params + values)
    return [(_NULL_GROUP, n, None, None) if g is None else
            (int(g), n, low + int(g) * width, min(high, low + int(g) * width + width - 1)) for g, n in rows]


def _histogram(scan: _Scan, table: str, where: str, v: str, x: str, special: bool, conds: list[str],
               values: list, bounds: tuple) -> list[tuple] | None:
    """Rows matching the WHERE and `conds` per bin of a key read as the double `x`: bins 1..bins of equal
    width from bounds[0] to bounds[1], NULLs in bins+3; with `special` (FLOAT/DOUBLE) also 0 below
    bounds[0] (-inf at the first level), bins+1 above bounds[1] (+inf) and bins+2 NaN. Each (group,
    rows, smallest value, largest value), read: doubles may round, the values' own interval is exact.
    None when the bounds are too far apart (or too close) for doubles."""
    lo, hi = bounds[0], bounds[1]
    bins = int(scan.bins)
    scale = bins / (hi - lo) if hi > lo else 0.0
    if hi > lo and not (math.isfinite(hi - lo) and math.isfinite(scale) and scale > 0):
        return None
    # Only values in [lo, hi] reach the bin formula, so (x - lo) * scale is finite there, and at most bins
    # (least() skips NULLs: they are sent to their group first).
    if special:
        group = f"""CASE WHEN v IS NULL THEN {_NULL_GROUP} WHEN isnan(x) THEN {_NAN_GROUP} WHEN x < ? THEN 0
                         WHEN x > ? THEN {bins + 1}
                         ELSE 1 + least({bins - 1}, floor((x - ?) * ?))::INTEGER END"""
        bind = [lo, hi, lo, scale]
    else:
        group = f"""CASE WHEN v IS NULL THEN {_NULL_GROUP}
                         ELSE 1 + least({bins - 1}, floor((x - ?) * ?))::INTEGER END"""
        bind = [lo, scale]
    sql = f"""
        WITH sel AS (
            SELECT {v} AS v, {x} AS x FROM {table} WHERE ({where}) AND {" AND ".join(conds) or "TRUE"}
        )
        SELECT {group} AS g, count(*), min(v), max(v) FROM sel GROUP BY g
    """
    key = ("double", table, where, json.dumps(scan.params, default=str), v, x, tuple(conds),
           json.dumps(values, default=str), lo, hi, bins)
    rows = _cached(scan, key, sql, scan.params + values + bind)
    return [(_NULL_GROUP if g is None else int(g), n, v0, v1) for g, n, v0, v1 in rows]


def _value_histogram(scan: _Scan, table: str, where: str, v: str, conds: list[str], values: list
                     ) -> list[tuple] | None:
    """Rows matching the WHERE and `conds` per value of a text key with few values (cheap on DuckDB's
    dictionary-compressed strings): group i is the i-th value in code-point order."""
    sql = f"""
        SELECT {v}, count(*) FROM {table} WHERE ({where}) AND {" AND ".join(conds) or "TRUE"}
        GROUP BY ALL
    """
    key = ("values", table, where, json.dumps(scan.params, default=str), v, tuple(conds),
           json.dumps(values, default=str))
    rows = _cached(scan, key, sql, scan.params + values)
    texts = sorted(t for t, _ in rows if t is not None)  # Python compares code points, as DuckDB's bytes
    index = {t: i for i, t in enumerate(texts)}
    return [(_NULL_GROUP, n, None, None) if t is None else (index[t], n, t, t) for t, n in rows]


def _key_bounds(store: Store, table: str, v: str, kind: str, x: str) -> tuple | None:
    """The smallest and largest number of a key over the whole run (cached: a run never changes), and
    how many leading characters all its texts share (skipped); for FLOAT/DOUBLE the finite ones. A text
    key with at most FEW_VALUES distinct values (the table's statistics say) gets skip -1: a group per
    value."""
    cache = _cache(store, "bounds")
    hit = cache.get((table, v, kind))
    if hit is not None:
        return hit[0]
    bounds: Any
    with store.cursor() as cur:
        if kind == "text" and _few_values(cur, table, v, FEW_VALUES):
            bounds = (0.0, 0.0, -1)
        elif kind == "text":
            low, high = cur.execute(f"SELECT min({v}), max({v}) FROM {table}").fetchone()
            skip = _shared_chars(low, high) if low is not None else 0
            bounds = (_text_double(low or "", skip), _text_double(high or "", skip), skip)
        elif kind == "int":  # plain column min/max come from the table's statistics, without a scan
            low, high = cur.execute(f"SELECT min({x}), max({x}) FROM {table}").fetchone()
            bounds = (int(low or 0), int(high if high is not None else low or 0), 0)
        else:
            low, high = cur.execute(f"SELECT min({x}), max({x}) FROM {table}").fetchone()
            if kind == "float" and not (low is None or math.isfinite(low) and math.isfinite(high)):
                low, high = cur.execute(f"SELECT min({x}) FILTER (WHERE isfinite({x})), "
                                        f"max({x}) FILTER (WHERE isfinite({x})) FROM {table}").fetchone()
            bounds = (float(low or 0.0), float(high if high is not None else low or 0.0), 0)
    cache.put((table, v, kind), (bounds,))
    return bounds


def _few_values(cur: duckdb.DuckDBPyConnection, table: str, v: str, limit: int) -> bool:
    """Whether the column's statistics (DuckDB's stats(): an estimate kept with the table) count at
    most `limit` distinct values."""
    try:
        found = cur.execute(f"SELECT stats({v}) FROM {table} LIMIT 1").fetchone()
    except duckdb.Error:  # no statistics: bin the text instead
        return False
    stats = found[0] if found else None
    unique = stats.get("approx_unique") if isinstance(stats, dict) else None
    return isinstance(unique, int) and unique <= limit
