"""SQL safety, statically (issue 5 item 4): the core splices into SQL text only checked identifiers,
checked table names and constant fragments; everything else is a bound parameter. The dashboard layers
hold no SQL at all. (The forged-request half of item 4 is tests/security/test_forged_requests.py.)"""
from __future__ import annotations

import ast
import textwrap
from pathlib import Path

import pytest

from core.config import PROJECT_DIR
from core.filters import KINDS
from sql_audit import REVIEWED, Audit


def test_core_sql_interpolates_only_checked_identifiers_and_constants():
    audit = Audit(PROJECT_DIR, ["core"])
    findings = audit.findings()
    assert not findings, (
        "SQL text built from something other than quote_ident(), dataset_table()/run_table(), a .table of "
        "a dataset/run, a number or a constant (bind values with ?; quote identifiers with quote_ident):\n"
        + "\n".join(str(f) for f in findings)
    )


def test_every_filter_kind_builds_sql_from_checked_parts():
    """where_clause calls each registered kind's `where` (a method call the audit cannot follow):
    audit every FilterKind.where's returned SQL here, and make sure every registered kind has one."""
    audit = Audit(PROJECT_DIR, ["core"])
    methods = {}
    for module in ("core.filters", "core.model_filters", "core.search"):  # kinds live in these modules
        mod = audit.modules[module]
        methods.update({name.split(".")[0]: (mod, fn) for name, fn in mod.functions.items() if name.endswith(".where")})
    assert {type(k).__name__ for k in KINDS.values()} <= set(methods)
    for cls, (mod, fn) in methods.items():
        if cls == "FilterKind":
            continue  # the abstract base raises
        assert audit._safe_returns(mod, fn, 0), f"{cls}.where splices something unchecked into SQL"


def test_reviewed_exceptions_are_few_and_explained():
    assert len(REVIEWED) <= 5
    for key, reason in REVIEWED.items():
        assert len(key) == 3 and key[0].startswith("core/") and len(reason) > 20, key


def _audit_snippet(tmp_path: Path, code: str) -> list[str]:
    pkg = tmp_path / "fake"
    pkg.mkdir(exist_ok=True)
    (pkg / "mod.py").write_text(textwrap.dedent(code))
    return [f.source for f in Audit(tmp_path, ["fake"], reviewed={}).findings()]


UNSAFE = {
    "value in f-string": """
        def f(cur, value):
            return cur.execute(f"SELECT * FROM t WHERE a = '{value}'")
    """,
    "column name unquoted": """
        def f(cur, col):
            cur.execute(f"SELECT {col} FROM t")
    """,
    "percent format": """
        def f(cur, v):
            cur.execute("SELECT * FROM t WHERE a = %s" % v)
    """,
    "str.format": """
        def f(cur, v):
            cur.execute("DELETE FROM t WHERE a = {}".format(v))
    """,
    "concatenation": """
        def f(cur, name):
            sql = "SELECT * FROM " + name
            cur.execute(sql)
    """,
    "list of raw names joined": """
        def f(cur, cols):
            parts = []
            for c in cols:
                parts.append(f"sum({c})")
            cur.execute(f"SELECT {', '.join(parts)} FROM t")
    """,
    "private helper fed user text": """
        def _count(cur, table):
            return cur.execute(f"SELECT count(*) FROM {table}").fetchone()
        def public(cur, name):
            return _count(cur, name)
    """,
    "nested helper fed a raw name": """
        def f(cur, name):
            def text(c):
                return f"CAST({c} AS VARCHAR)"
            cur.execute(f"SELECT {text(name)} FROM t")
    """,
    "template formatted with a raw name": """
        def f(cur, name):
            tpl = "SELECT {what} FROM t"
            cur.execute(tpl.format(what=name))
    """,
    "escaped literal instead of a parameter": """
        def f(cur, delim):
            d = delim.replace("'", "''")
            cur.execute(f"SELECT * FROM read_csv(?, delim = '{d}')", ["x.csv"])
    """,
    "value from the database": """
        def f(cur):
            name = cur.execute("SELECT name FROM datasets").fetchone()[0]
            cur.execute(f"SELECT * FROM {name}")
    """,
}

SAFE = """
    from core.store import quote_ident, run_table
    ROW = "__row"
    def _where(cols, spec):
        parts = []
        for c, (lo, hi) in spec.items():
            parts.append(f"{quote_ident(c, cols)} BETWEEN ? AND ?")
        return (" AND ".join(parts) if parts else "TRUE"), []
    def _count(cur, table, where):
        return cur.execute(f"SELECT count(*) FROM {table} WHERE {where}").fetchone()
    def count(cur, run_id, cols, spec):
        where, params = _where(cols, spec)
        table = run_table(run_id)
        names = ", ".join(quote_ident(c, cols) for c in cols)
        for i, c in enumerate(cols):
            cur.execute(f"SELECT {i} AS col, {names}, {ROW} FROM {table} LIMIT ?", [10])
        return _count(cur, table, where)
    def nested(cur, cols):
        def text(c):
            return f"CAST({quote_ident(c, cols)} AS VARCHAR)"
        tpl = "SELECT {what} FROM t WHERE {cond}"
        cur.execute(tpl.format(what=text(cols[0]), cond="TRUE"))
        qs = [quote_ident(c, cols) for c in cols]
        cur.execute(f"SELECT {', '.join(f'max({q})' for q in qs)} FROM t")
"""


@pytest.mark.parametrize("name", list(UNSAFE))
def test_audit_flags_unsafe_sql(tmp_path, name):
    assert _audit_snippet(tmp_path, UNSAFE[name]), f"the audit missed: {name}"


def test_audit_accepts_the_documented_safe_patterns(tmp_path):
    assert _audit_snippet(tmp_path, SAFE) == []


def _python_files(*parts: str) -> list[Path]:
    out = []
    for p in parts:
        path = PROJECT_DIR / p
        if path.is_file():
            out.append(path)
        elif path.is_dir():
            out += sorted(path.rglob("*.py"))
    return out


def test_dashboard_layers_hold_no_sql():
    """callbacks/, layouts/ and app.py call core; they never talk to DuckDB or build SQL."""
    files = _python_files("app.py", "callbacks", "layouts")
    problems = []
    for path in files:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [a.name for a in node.names] + [getattr(node, "module", None) or ""]
                if any(n and n.split(".")[0] == "duckdb" for n in names):
                    problems.append(f"{path.relative_to(PROJECT_DIR)}:{node.lineno} imports duckdb")
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr in ("execute", "executemany", "sql")):
                problems.append(f"{path.relative_to(PROJECT_DIR)}:{node.lineno} calls .{node.func.attr}()")
    assert not problems, "\n".join(problems)
