"""A static audit of the SQL the core builds: what may be interpolated into a SQL string.

The rule (docs/ARCHITECTURE.md): values are bound parameters; the only things spliced into SQL text are
identifiers quoted by `store.quote_ident`, table names from `store.dataset_table` / `store.run_table`
(or the `.table` of a dataset/run/run context, which those produce), constant fragments, numbers, and SQL
built by functions that follow the same rule (checked the same way, through their return values).

The audit parses every module with `ast` and follows names back to their assignments (in the function,
then the module, then the core module they were imported from), through `str.join`, comprehensions,
`list.append/extend`, tuple unpacking and the return values of core functions. Anything it cannot prove
safe is reported with its file, line and source, to be fixed or reviewed (REVIEWED, with a reason).
"""
from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path

SQL_MARKER = re.compile(
    r"\b(SELECT|INSERT|UPDATE|DELETE|CREATE|DROP|ALTER|FROM|WHERE|JOIN|VALUES|BETWEEN|COPY|ATTACH|"
    r"DETACH|PRAGMA|UNION|LIMIT|OFFSET|ORDER BY|GROUP BY|CASE WHEN|IS NULL|IS NOT NULL|SET|TABLE|"
    r"INSTALL|LOAD|QUALIFY|FILTER)\b|\?::|\(\?|::(DOUBLE|VARCHAR|BIGINT|INTEGER)"
)
# calls whose result is a quoted identifier, a checked table name or a number
SAFE_CALLS = {"quote_ident", "dataset_table", "run_table", "agg_table", "int", "float", "len", "round", "abs", "bool",
              "new_id",  # store.new_id(): 12 hex digits
              "check_id",  # store.check_id(): returns its argument only when it is 12 hex digits
              "_check_table"}  # ingest._check_table(): returns it only when it matches ^[A-Za-z_][A-Za-z0-9_]{0,62}$
NUMERIC_CALLS = {"int", "float", "len", "round", "abs", "bool"}
EXECUTE_METHODS = {"execute", "executemany", "sql", "query", "from_query"}
SAFE_ATTRIBUTES = {"table"}  # DatasetInfo.table / Run.table / RunContext.table: ds_/run_ + a checked id

# Interpolations read and judged safe by a person, keyed by (file, function, source of the expression).
# Keep this list short: every entry is something the audit cannot prove on its own.
REVIEWED: dict[tuple[str, str, str], str] = {
    ("core/quality.py", "validate", "check.condition"):
        "_Check.condition is built only by value_checks() from quote_ident() and constant SQL",
    ("core/filters.py", "where_clause", "kind.where(value, ctx)"):
        "method calls are not followed: each FilterKind.where is audited on its own by "
        "test_sql_safety.test_every_filter_kind_builds_sql_from_checked_parts",
    ("core/filters.py", "where", "value.sql"):
        "RuleChoice.sql is the run's own Segment.rule, written by the core at fit time and looked up "
        "from the stored run by segment id in RuleKind.parse; the client only sends the id",
}


@dataclass
class Finding:
    path: str
    line: int
    function: str
    source: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line} in {self.function}(): {self.source}"


@dataclass
class Module:
    name: str  # core.views
    path: Path
    tree: ast.Module
    source: str
    rel: str
    functions: dict[str, ast.FunctionDef] = field(default_factory=dict)
    imports: dict[str, tuple[str, str]] = field(default_factory=dict)  # local name -> (module, name)


class Audit:
    def __init__(self, root: Path, packages: list[str], reviewed: dict | None = None):
        self.root = root
        self.reviewed = REVIEWED if reviewed is None else reviewed
        self.used_reviews: set = set()
        self.modules: dict[str, Module] = {}
        for pkg in packages:
            for path in sorted((root / pkg).rglob("*.py")):
                rel = path.relative_to(root).with_suffix("")
                name = ".".join(rel.parts)
                src = path.read_text(encoding="utf-8")
                mod = Module(name, path, ast.parse(src), src, str(path.relative_to(root)))
                for node in mod.tree.body:
                    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                        mod.functions[node.name] = node
                    elif isinstance(node, ast.ClassDef):
                        for sub in node.body:
                            if isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef)):
                                mod.functions.setdefault(f"{node.name}.{sub.name}", sub)
                    elif isinstance(node, ast.ImportFrom) and node.module:
                        for alias in node.names:
                            mod.imports[alias.asname or alias.name] = (node.module, alias.name)
                self.modules[name] = mod
        self._busy: set = set()
        self._parents: dict[int, dict[ast.AST, ast.AST]] = {}
        self._sources: dict[int, str] = {}
        self._sites: dict[tuple[str, str], list] = {}
        self._memo: dict = {}
        self._lines: dict[str, list[str]] = {}
        self._enclosing: dict[int, ast.AST] = {}  # id(function) -> enclosing function (nested defs)
        for mod in self.modules.values():
            parents = self._parent_map(mod)
            for node in ast.walk(mod.tree):
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    outer = self._scope_of(node, parents)
                    if outer is not None:
                        self._enclosing[id(node)] = outer

    # -- entry point -------------------------------------------------------------------------
    def findings(self) -> list[Finding]:
        out: list[Finding] = []
        for mod in self.modules.values():
            parents = self._parent_map(mod)
            for node in ast.walk(mod.tree):
                scope = self._scope_of(node, parents)
                fname = getattr(scope, "name", "<module>")
                if isinstance(node, ast.JoinedStr) and SQL_MARKER.search(_constant_text(node)):
                    local = self._comprehension_bindings(node, parents, mod, scope)
                    for part in node.values:
                        if isinstance(part, ast.FormattedValue) and not self.safe(part.value, mod, scope, local):
                            out.append(self._finding(mod, part.value, fname))
                elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                      and node.func.attr in EXECUTE_METHODS and node.args):
                    arg = node.args[0]
                    if not isinstance(arg, ast.JoinedStr) and not self.safe(arg, mod, scope, {}):
                        out.append(self._finding(mod, arg, fname))
                elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                      and node.func.attr == "format" and _is_sql_constant(node.func.value)):
                    out.append(self._finding(mod, node, fname))
                elif (isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod)
                      and _is_sql_constant(node.left)):
                    out.append(self._finding(mod, node, fname))
        # de-duplicate (a name reported through several paths)
        seen, unique = set(), []
        for f in out:
            key = (f.path, f.line, f.source)
            if key not in seen:
                seen.add(key)
                unique.append(f)
        return unique

    def _comprehension_bindings(self, node, parents, mod, scope) -> dict[str, bool]:
        """Targets of the comprehensions around `node` (inside its function), outermost first."""
        chain = []
        p = parents.get(node)
        while p is not None and p is not scope:
            if isinstance(p, (ast.ListComp, ast.GeneratorExp, ast.SetComp, ast.DictComp)):
                chain.append(p)
            p = parents.get(p)
        local: dict[str, bool] = {}
        for comp in reversed(chain):
            for gen in comp.generators:
                self._bind_target(gen.target, gen.iter, mod, scope, local)
        return local

    def _source(self, mod: Module, node: ast.AST) -> str:
        key = id(node)
        if key not in self._sources:
            if mod.name not in self._lines:
                self._lines[mod.name] = mod.source.splitlines(keepends=True)
            lines = self._lines[mod.name]
            try:
                first, last = node.lineno - 1, node.end_lineno - 1
                if first == last:
                    text = lines[first].encode()[node.col_offset:node.end_col_offset].decode()
                else:
                    text = (lines[first].encode()[node.col_offset:].decode() + "".join(lines[first + 1:last])
                            + lines[last].encode()[:node.end_col_offset].decode())
            except (AttributeError, IndexError, TypeError, UnicodeDecodeError):
                text = ""
            self._sources[key] = " ".join(text.split())
        return self._sources[key]

    def _finding(self, mod: Module, node: ast.AST, fname: str) -> Finding:
        src = self._source(mod, node) or ast.dump(node)
        return Finding(str(mod.path.relative_to(self.root)), node.lineno, fname, src[:120])

    def _parent_map(self, mod: Module) -> dict:
        key = id(mod.tree)
        if key not in self._parents:
            self._parents[key] = {c: p for p in ast.walk(mod.tree) for c in ast.iter_child_nodes(p)}
        return self._parents[key]

    def _scope_of(self, node: ast.AST, parents: dict):
        p = parents.get(node)
        while p is not None and not isinstance(p, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            p = parents.get(p)
        return p  # None: module level

    # -- safety of an expression -------------------------------------------------------------
    def safe(self, e: ast.AST, mod: Module, scope, local: dict[str, bool], index: int | None = None) -> bool:
        if self.reviewed and isinstance(e, (ast.Attribute, ast.Call, ast.Name)):
            key = (mod.rel, getattr(scope, "name", "<module>"), self._source(mod, e))
            if key in self.reviewed:
                self.used_reviews.add(key)
                return True
        if isinstance(e, ast.Constant):
            return isinstance(e.value, (str, int, float, bool)) or e.value is None
        if isinstance(e, ast.JoinedStr):
            return all(self.safe(v.value, mod, scope, local) for v in e.values if isinstance(v, ast.FormattedValue))
        if isinstance(e, (ast.List, ast.Tuple, ast.Set)):
            if index is not None and isinstance(e, ast.Tuple):
                return index < len(e.elts) and self.safe(e.elts[index], mod, scope, local)
            return all(self.safe(x, mod, scope, local) for x in e.elts)
        if isinstance(e, ast.Starred):
            return self.safe(e.value, mod, scope, local)
        if isinstance(e, ast.BinOp):
            if isinstance(e.op, ast.Mod) and _is_str(e.left):
                return False
            return self.safe(e.left, mod, scope, local) and self.safe(e.right, mod, scope, local)
        if isinstance(e, ast.UnaryOp):
            return self.safe(e.operand, mod, scope, local)
        if isinstance(e, ast.IfExp):
            return self.safe(e.body, mod, scope, local, index) and self.safe(e.orelse, mod, scope, local, index)
        if isinstance(e, (ast.Compare, ast.BoolOp)):
            return True  # a bool
        if isinstance(e, ast.Subscript):
            return self.safe(e.value, mod, scope, local)
        if isinstance(e, (ast.ListComp, ast.GeneratorExp, ast.SetComp)):
            inner = dict(local)
            for gen in e.generators:
                self._bind_target(gen.target, gen.iter, mod, scope, inner)
            return self.safe(e.elt, mod, scope, inner)
        if isinstance(e, ast.Attribute):
            if e.attr in SAFE_ATTRIBUTES:
                return True
            if isinstance(e.value, ast.Name) and e.value.id in mod.imports:  # models.SEGMENT
                return e.attr.isupper()
            return False
        if isinstance(e, ast.Name):
            return self._safe_name(e.id, mod, scope, local, index, getattr(e, "lineno", None))
        if isinstance(e, ast.Call):
            return self._safe_call(e, mod, scope, local, index)
        return False

    def _safe_call(self, e: ast.Call, mod: Module, scope, local, index) -> bool:
        f = e.func
        if isinstance(f, ast.Name) and f.id in SAFE_CALLS:
            return True
        if isinstance(f, ast.Attribute) and f.attr == "join" and _is_str(f.value):
            return all(self.safe(a, mod, scope, local) for a in e.args)
        if isinstance(f, ast.Attribute) and f.attr in ("upper", "lower", "strip") and _is_str(f.value):
            return True
        if isinstance(f, ast.Attribute) and f.attr == "format" and self.safe(f.value, mod, scope, local):
            return all(self.safe(a, mod, scope, local) for a in e.args) and all(
                self.safe(kw.value, mod, scope, local) for kw in e.keywords)
        if isinstance(f, ast.Name) and f.id in ("list", "tuple", "sorted", "reversed", "min", "max", "sum"):
            return all(self.safe(a, mod, scope, local) for a in e.args)
        if isinstance(f, ast.Name) and f.id == "map" and len(e.args) == 2:
            fn = e.args[0]
            if isinstance(fn, ast.Name) and fn.id in SAFE_CALLS:
                return True
            return isinstance(fn, ast.Name) and fn.id == "str" and self.safe(e.args[1], mod, scope, local)
        if isinstance(f, ast.Name) and f.id in ("enumerate", "zip", "range"):
            return all(self.safe(a, mod, scope, local) for a in e.args)
        if isinstance(f, ast.Name):
            nested = self._nested_function(f.id, scope)
            if nested is not None:
                return self._safe_returns(mod, nested, index)
            target = self._resolve_function(f.id, mod)
            if target is not None:
                if index is None and _returns_number(target[1]):
                    return True  # annotated -> int | float | bool: a number
                return self._safe_returns(*target, index)
        return False

    def _nested_function(self, name: str, scope):
        """A function defined inside the enclosing function (or its enclosing functions)."""
        node = scope
        while node is not None:
            for n in ast.walk(node):
                if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.name == name and n is not node \
                        and self._enclosing.get(id(n)) is node:
                    return n
            node = self._enclosing.get(id(node))
        return None

    def _resolve_function(self, name: str, mod: Module):
        if name in mod.functions:
            return mod, mod.functions[name]
        if name in mod.imports:
            src_mod, src_name = mod.imports[name]
            other = self.modules.get(src_mod)
            if other and src_name in other.functions:
                return other, other.functions[src_name]
        return None

    def _safe_returns(self, mod: Module, fn: ast.FunctionDef, index) -> bool:
        key = ("ret", mod.name, id(fn), index)
        if key in self._memo:
            return self._memo[key]
        if key in self._busy:
            return True  # recursion: the other returns decide
        self._busy.add(key)
        try:
            returns = [n for n in _walk_own(fn) if isinstance(n, ast.Return) and n.value is not None]
            result = bool(returns) and all(self.safe(r.value, mod, fn, {}, index) for r in returns)
            if len(self._busy) == 1:  # the outermost question: its answer is final
                self._memo[key] = result
            return result
        finally:
            self._busy.discard(key)

    def _safe_param(self, mod: Module, fn, name: str) -> bool:
        """A parameter is safe when the function is called somewhere in the audited code and every
        call site passes a safe value for it (module-level functions only)."""
        if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
            return False
        if mod.functions.get(fn.name) is not fn:
            return self._safe_nested_param(mod, fn, name)
        key = ("param", mod.name, fn.name, name)
        if key in self._busy:
            return True
        self._busy.add(key)
        try:
            positional = [a.arg for a in fn.args.posonlyargs + fn.args.args]
            pos = positional.index(name) if name in positional else None
            default = _default_of(fn, name)
            sites = list(self._call_sites(mod, fn.name))
            if not sites:
                return False
            for caller_mod, caller_scope, call in sites:
                arg = None
                for kw in call.keywords:
                    if kw.arg == name:
                        arg = kw.value
                if arg is None and pos is not None and pos < len(call.args):
                    if any(isinstance(a, ast.Starred) for a in call.args[: pos + 1]):
                        return False
                    arg = call.args[pos]
                if arg is None:
                    if any(kw.arg is None for kw in call.keywords):
                        return False  # **kwargs
                    arg = default
                if arg is None or not self.safe(arg, caller_mod, caller_scope, {}):
                    return False
            return True
        finally:
            self._busy.discard(key)

    def _safe_nested_param(self, mod: Module, fn, name: str) -> bool:
        outer = self._enclosing.get(id(fn))
        if outer is None:
            return False
        key = ("nparam", mod.name, id(fn), name)
        if key in self._busy:
            return True
        self._busy.add(key)
        try:
            positional = [a.arg for a in fn.args.posonlyargs + fn.args.args]
            pos = positional.index(name) if name in positional else None
            calls = [n for n in _walk_own(outer) if isinstance(n, ast.Call)
                     and isinstance(n.func, ast.Name) and n.func.id == fn.name]
            if not calls:
                return False
            for call in calls:
                arg = next((kw.value for kw in call.keywords if kw.arg == name), None)
                if arg is None and pos is not None and pos < len(call.args):
                    arg = call.args[pos]
                if arg is None:
                    arg = _default_of(fn, name)
                if arg is None or not self.safe(arg, mod, outer, {}):
                    return False
            return True
        finally:
            self._busy.discard(key)

    def _call_sites(self, target: Module, fname: str):
        key = (target.name, fname)
        if key not in self._sites:
            self._sites[key] = list(self._find_call_sites(target, fname))
        return self._sites[key]

    def _find_call_sites(self, target: Module, fname: str):
        for mod in self.modules.values():
            parents = self._parent_map(mod)
            local_names = set()
            if mod is target:
                local_names.add(fname)
            local_names |= {n for n, (m, orig) in mod.imports.items() if m == target.name and orig == fname}
            module_aliases = {n for n, (m, orig) in mod.imports.items() if f"{m}.{orig}" == target.name}
            for node in ast.walk(mod.tree):
                if not isinstance(node, ast.Call):
                    continue
                f = node.func
                if (isinstance(f, ast.Name) and f.id in local_names) or (
                    isinstance(f, ast.Attribute) and f.attr == fname and isinstance(f.value, ast.Name)
                    and f.value.id in module_aliases
                ):
                    yield mod, self._scope_of(node, parents), node

    def _bind_target(self, target, iter_expr, mod, scope, local: dict) -> None:
        """Bind comprehension/for targets: safe when the iterated elements are safe."""
        if isinstance(target, ast.Name):
            local[target.id] = self._safe_elements(iter_expr, mod, scope, local, None)
        elif isinstance(target, ast.Tuple):
            for i, t in enumerate(target.elts):
                ok = self._safe_elements(iter_expr, mod, scope, local, i)
                if isinstance(t, ast.Name):
                    local[t.id] = ok
                elif isinstance(t, ast.Tuple):
                    for tt in ast.walk(t):
                        if isinstance(tt, ast.Name):
                            local[tt.id] = ok

    def _safe_elements(self, it, mod, scope, local, index) -> bool:
        """Are the elements (or element `index` of tuple elements) of an iterable safe?"""
        if isinstance(it, ast.Call) and isinstance(it.func, ast.Name):
            if it.func.id == "enumerate":
                return True if index == 0 else self.safe(it.args[0], mod, scope, local)
            if it.func.id == "zip":
                if index is None:
                    return all(self.safe(a, mod, scope, local) for a in it.args)
                return index < len(it.args) and self.safe(it.args[index], mod, scope, local)
            if it.func.id == "range":
                return True
        return self.safe(it, mod, scope, local)

    def _safe_name(self, name: str, mod: Module, scope, local, index, line: int | None = None) -> bool:
        if name in local:
            return local[name]
        key = ("name", mod.name, id(scope), name, index, line)
        if key in self._memo:
            return self._memo[key]
        outermost = not self._busy
        result = self._safe_name_uncached(key, name, mod, scope, index, line)
        if outermost:
            self._memo[key] = result
        return result

    def _safe_name_uncached(self, key, name, mod, scope, index, line) -> bool:
        if key in self._busy:
            return True  # a loop like `sql += ...`: the other bindings decide
        self._busy.add(key)
        try:
            if scope is not None:
                if name in _params(scope):
                    return self._safe_param(mod, scope, name)
                binds = self._bindings(scope, name)
                if binds is not None and line is not None:
                    # flow: only assignments made before the use (a later loop reusing the name
                    # for something else does not count)
                    binds = [b for b in binds if b[3] <= line] or binds
                if binds is not None:
                    return all(self._safe_binding(b, mod, scope, index) for b in binds)
                # not bound here: the module (closures are not followed)
            binds = self._bindings(mod.tree, name)
            if binds is not None:
                return all(self._safe_binding(b, mod, None, index) for b in binds)
            if name in mod.imports:
                src_mod, src_name = mod.imports[name]
                other = self.modules.get(src_mod)
                if other is not None:
                    return self._safe_name(src_name, other, None, {}, index)
            return False
        finally:
            self._busy.discard(key)

    def _bindings(self, scope, name: str):
        """Every place `name` gets a value in `scope` (own body, nested defs excluded); None: not bound."""
        out = []
        nodes = _walk_own(scope) if not isinstance(scope, ast.Module) else _walk_module_level(scope)
        for n in nodes:
            if isinstance(n, ast.Assign):
                for t in n.targets:
                    out += _match_target(t, n.value, name)
            elif isinstance(n, (ast.AnnAssign, ast.AugAssign)) and n.value is not None:
                if isinstance(n.target, ast.Name) and n.target.id == name:
                    out.append(("value", n.value, None, n.lineno))
            elif isinstance(n, (ast.For, ast.AsyncFor)):
                for i, t in _target_names(n.target):
                    if t == name:
                        out.append(("iter", n.iter, i, n.lineno))
            elif isinstance(n, (ast.With, ast.AsyncWith)):
                for item in n.items:
                    if item.optional_vars is not None and any(t == name for _, t in _target_names(item.optional_vars)):
                        out.append(("unsafe", item.context_expr, None, n.lineno))
            elif isinstance(n, ast.NamedExpr) and n.target.id == name:
                out.append(("value", n.value, None, n.lineno))
            elif (isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
                  and isinstance(n.func.value, ast.Name) and n.func.value.id == name):
                if n.func.attr in ("append", "add", "extend"):
                    out += [("value", a, None, n.lineno) for a in n.args]
                elif n.func.attr == "insert" and len(n.args) == 2:
                    out.append(("value", n.args[1], None, n.lineno))
            elif isinstance(n, (ast.Import, ast.ImportFrom)):
                if any((a.asname or a.name) == name for a in n.names):
                    return None  # an import: resolved by the caller
            elif isinstance(n, (ast.FunctionDef, ast.ClassDef)) and n.name == name and n is not scope:
                out.append(("unsafe", n, None, n.lineno))
        return out or None

    def _safe_binding(self, b, mod, scope, index) -> bool:
        kind, expr, pos, _line = b
        if kind == "unsafe":
            return False
        if kind == "value":
            return self.safe(expr, mod, scope, {}, index)
        if kind == "unpack":
            return self.safe(expr, mod, scope, {}, pos)
        if kind == "iter":
            return self._safe_elements(expr, mod, scope, {}, pos)
        return False


def _match_target(t, value, name):
    if isinstance(t, ast.Name):
        return [("value", value, None, t.lineno)] if t.id == name else []
    if isinstance(t, (ast.Tuple, ast.List)):
        out = []
        for i, el in enumerate(t.elts):
            if isinstance(el, ast.Name) and el.id == name:
                out.append(("unpack", value, i, t.lineno))
            elif isinstance(el, (ast.Tuple, ast.List, ast.Starred)) and any(
                isinstance(x, ast.Name) and x.id == name for x in ast.walk(el)
            ):
                out.append(("unsafe", value, None, t.lineno))
        return out
    return []


def _target_names(t):
    if isinstance(t, ast.Name):
        return [(None, t.id)]
    if isinstance(t, ast.Tuple):
        out = []
        for i, el in enumerate(t.elts):
            if isinstance(el, ast.Name):
                out.append((i, el.id))
            else:
                out += [(-1, x.id) for x in ast.walk(el) if isinstance(x, ast.Name)]
        return out
    return [(-1, x.id) for x in ast.walk(t) if isinstance(x, ast.Name)]


def _returns_number(fn) -> bool:
    r = fn.returns
    return isinstance(r, ast.Name) and r.id in ("int", "float", "bool")


def _default_of(fn, name: str):
    a = fn.args
    positional = a.posonlyargs + a.args
    for arg, default in zip(positional[len(positional) - len(a.defaults):], a.defaults):
        if arg.arg == name:
            return default
    for arg, default in zip(a.kwonlyargs, a.kw_defaults):
        if arg.arg == name:
            return default
    return None


def _params(fn) -> set[str]:
    a = fn.args
    names = [x.arg for x in a.posonlyargs + a.args + a.kwonlyargs]
    names += [x.arg for x in (a.vararg, a.kwarg) if x is not None]
    return set(names)


def _walk_own(fn):
    """Nodes of a function body, without nested function/class bodies."""
    stack = list(fn.body) if hasattr(fn, "body") and isinstance(fn.body, list) else [fn.body]
    while stack:
        n = stack.pop()
        yield n
        for c in ast.iter_child_nodes(n):
            if not isinstance(c, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
                stack.append(c)


def _walk_module_level(tree: ast.Module):
    stack = list(tree.body)
    while stack:
        n = stack.pop()
        yield n
        for c in ast.iter_child_nodes(n):
            if not isinstance(c, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
                stack.append(c)


def _constant_text(js: ast.JoinedStr) -> str:
    return " ".join(v.value for v in js.values if isinstance(v, ast.Constant) and isinstance(v.value, str))


def _is_str(e) -> bool:
    return (isinstance(e, ast.Constant) and isinstance(e.value, str)) or isinstance(e, ast.JoinedStr)


def _is_sql_constant(e) -> bool:
    return isinstance(e, ast.Constant) and isinstance(e.value, str) and bool(SQL_MARKER.search(e.value))
