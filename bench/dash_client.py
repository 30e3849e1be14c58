"""A small stand-in for the Dash renderer, so the benchmark can drive the real HTTP endpoint.

It reads `/_dash-layout` and `/_dash-dependencies`, keeps every component's props, and when the
benchmark changes a prop (a box selection, a click, an upload) it sends the same
`/_dash-update-component` requests a browser would: the callbacks whose inputs changed, with the
current values of their inputs and state, then the callbacks their outputs trigger, wave by wave
(callbacks in one wave go out in parallel, as the browser sends them), until nothing is left to run.

Clientside callbacks cannot run here; the benchmark sets the props they would set itself.
Every request is timed on the client (loopback round trip) and its response size recorded.
"""
from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import requests

WILDCARDS = ('["ALL"]', '["MATCH"]', '["ALLSMALLER"]')
ACCEPT_ENCODING = "gzip, deflate, br, zstd"  # what Chrome (123+), Edge and Firefox (126+) send


def _decode(body: bytes, encoding: str) -> bytes:
    import zlib

    encoding = encoding.strip().lower()
    if encoding == "zstd":
        from backports import zstd  # flask-compress's own dependency

        return zstd.decompress(body)
    if encoding == "br":
        import brotli

        return brotli.decompress(body)
    if encoding == "gzip":
        return zlib.decompress(body, 16 + zlib.MAX_WBITS)
    if encoding == "deflate":
        try:
            return zlib.decompress(body)
        except zlib.error:
            return zlib.decompress(body, -zlib.MAX_WBITS)
    return body


def id_key(cid: Any) -> str:
    """Dash's string form of a component id (dict ids: sorted keys, compact)."""
    if isinstance(cid, dict):
        return "{" + ",".join(f"{json.dumps(k)}:{json.dumps(cid[k])}" for k in sorted(cid)) + "}"
    return str(cid)


def _parse_id(s: str) -> Any:
    return json.loads(s) if s.startswith("{") else s


def _clean_prop(prop: str) -> str:
    return prop.split("@", 1)[0]  # allow_duplicate outputs carry "@<hash>"


@dataclass
class Dep:
    """One (id, property) of a callback: `id` is a string or a dict that may hold wildcards."""

    id: Any
    prop: str

    @property
    def is_pattern(self) -> bool:
        return isinstance(self.id, dict) and any(_is_wild(v) for v in self.id.values())

    def wildcard(self) -> str | None:
        if not isinstance(self.id, dict):
            return None
        for v in self.id.values():
            if _is_wild(v):
                return v[0]
        return None

    def matches(self, cid: Any, match_values: dict | None = None) -> bool:
        if not isinstance(self.id, dict):
            return self.id == cid
        if not isinstance(cid, dict) or set(cid) != set(self.id):
            return False
        for k, v in self.id.items():
            if _is_wild(v):
                if v[0] == "MATCH" and match_values is not None and k in match_values:
                    if cid[k] != match_values[k]:
                        return False
                continue
            if cid[k] != v:
                return False
        return True


def _is_wild(v: Any) -> bool:
    return isinstance(v, list) and len(v) == 1 and v[0] in ("ALL", "MATCH", "ALLSMALLER")


@dataclass
class Callback:
    output: str  # the exact "output" string the server keys the callback by
    outputs: list[Dep]
    inputs: list[Dep]
    state: list[Dep]
    prevent_initial_call: bool
    clientside: bool
    multi: bool

    @classmethod
    def from_json(cls, d: dict) -> "Callback":
        out = d["output"]
        multi = out.startswith("..")
        parts = out[2:-2].split("...") if multi else [out]
        outputs = []
        for p in parts:
            if not p or d.get("no_output") or "." not in p:
                continue
            cid, prop = p.rsplit(".", 1)
            outputs.append(Dep(_parse_id(cid), prop))
        deps = lambda xs: [Dep(_parse_id(x["id"]) if isinstance(x["id"], str) else x["id"], x["property"]) for x in xs]
        return cls(
            output=out,
            outputs=outputs,
            inputs=deps(d.get("inputs", [])),
            state=deps(d.get("state", [])),
            prevent_initial_call=bool(d.get("prevent_initial_call")),
            clientside=bool(d.get("clientside_function")),
            multi=multi,
        )

    @property
    def name(self) -> str:
        return " + ".join(f"{id_key(o.id)}.{_clean_prop(o.prop)}" for o in self.outputs) or self.output


@dataclass
class Request:
    callback: str
    seconds: float
    bytes: int  # response body as sent (compressed when the server compresses)
    status: int
    error: str | None = None
    decoded_bytes: int = 0  # the JSON after decompression


@dataclass
class Cascade:
    """Everything one user action caused: its requests and the wall time until the page settled."""

    seconds: float = 0.0
    requests: list[Request] = field(default_factory=list)
    changed: set = field(default_factory=set)  # (id_key, prop) that changed

    @property
    def bytes(self) -> int:
        return sum(r.bytes for r in self.requests)

    @property
    def errors(self) -> list[Request]:
        return [r for r in self.requests if r.status >= 400 or r.error]


class DashClient:
    """One browser session against a running Dash app at `base` (e.g. http://127.0.0.1:8050)."""

    def __init__(self, base: str, timeout: float = 600.0, parallel: int = 6) -> None:
        self.base = base.rstrip("/")
        self.timeout = timeout
        self.http = requests.Session()
        # loopback only: no proxy settings to look up in the environment on every request (a few ms of
        # client CPU per interaction, taken from the same two cores as the server under test)
        self.http.trust_env = False
        self.pool = ThreadPoolExecutor(max_workers=parallel)
        self.props: dict[str, dict] = {}  # id_key -> props of the component
        self.ids: dict[str, Any] = {}  # id_key -> the id itself
        self._shapes: dict[frozenset, dict[str, Any]] = {}  # a dict id's keys -> {id_key: id} with those keys
        self.types: dict[str, str] = {}  # id_key -> component type
        self.callbacks: list[Callback] = []
        self.layout_bytes = 0
        # (id_key, prop) -> fn(value) -> [(component id, {prop: value})]: what a clientside callback
        # or the component itself does in the browser when that prop changes
        self.emulations: dict[tuple[str, str], Any] = {}

    def emulate(self, cid: Any, prop: str, fn) -> None:
        """When `prop` of `cid` changes, apply fn(new value)'s prop changes as the browser would."""
        self.emulations[(id_key(cid), prop)] = fn

    def _emulated(self, changed: set[tuple[str, str]]) -> set[tuple[str, str]]:
        more: set[tuple[str, str]] = set()
        for key, prop in list(changed):
            fn = self.emulations.get((key, prop))
            if fn is None:
                continue
            for cid, props in fn(self.props.get(key, {}).get(prop)) or []:
                self.set(cid, **props)
                more |= {(id_key(cid), p) for p in props}
        return more

    # -- page load ---------------------------------------------------------------------------
    def load(self, initial_callbacks: bool = True) -> Cascade:
        r = self.http.get(self.base + "/", timeout=self.timeout)
        r.raise_for_status()
        r = self.http.get(self.base + "/_dash-layout", timeout=self.timeout)
        r.raise_for_status()
        self.layout_bytes = len(r.content)
        layout = r.json()
        r = self.http.get(self.base + "/_dash-dependencies", timeout=self.timeout)
        r.raise_for_status()
        self.callbacks = [Callback.from_json(d) for d in r.json()]
        new = self._register(layout)
        if not initial_callbacks:
            return Cascade()
        return self._run(self._initial_for(new, first=True), Cascade())

    def _know(self, key: str, cid: Any) -> None:
        self.ids[key] = cid
        if isinstance(cid, dict):
            self._shapes.setdefault(frozenset(cid), {})[key] = cid

    def _register(self, tree: Any) -> set[str]:
        """Walk components in `tree`, remember their props; return the ids found."""
        found: set[str] = set()
        stack = [tree]
        while stack:
            node = stack.pop()
            if isinstance(node, list):
                stack.extend(node)
            elif isinstance(node, dict):
                if "props" in node and "type" in node and isinstance(node["props"], dict):
                    props = node["props"]
                    if "id" in props:
                        key = id_key(props["id"])
                        self.props[key] = props
                        self._know(key, props["id"])
                        self.types[key] = node["type"]
                        found.add(key)
                    stack.extend(v for v in props.values() if isinstance(v, (list, dict)))
        return found

    def _initial_for(self, new_ids: set[str], first: bool = False) -> list[tuple[Callback, list[str]]]:
        """Callbacks that fire because components appeared (page load or new children)."""
        out = []
        for cb in self.callbacks:
            if cb.clientside or cb.prevent_initial_call:
                continue
            touched = [d for d in cb.inputs + cb.outputs if self._present(d, new_ids)]
            if not touched and not first:
                continue
            if not all(self._present(d) or d.is_pattern for d in cb.inputs):
                continue
            if not all(self._present(d) for d in cb.outputs if not d.is_pattern):
                continue
            if first and not all(self._present(d) or d.is_pattern for d in cb.outputs):
                continue
            out.append((cb, []))
        return out

    def _present(self, dep: Dep, among: set[str] | None = None) -> bool:
        keys = among if among is not None else self.props.keys()
        if not dep.is_pattern:
            return id_key(dep.id) in keys
        return any(dep.matches(self.ids[k]) for k in keys if k in self.ids)

    # -- user actions --------------------------------------------------------------------------
    def get(self, cid: Any, prop: str, default: Any = None) -> Any:
        return self.props.get(id_key(cid), {}).get(prop, default)

    def has(self, cid: Any) -> bool:
        return id_key(cid) in self.props

    def find(self, pred) -> list[Any]:
        """Ids of components for which pred(id, type, props) is true."""
        return [self.ids[k] for k in list(self.props) if pred(self.ids[k], self.types.get(k), self.props[k])]

    def set(self, cid: Any, **props: Any) -> None:
        """Change props without firing callbacks (what a clientside callback would do)."""
        self.props.setdefault(id_key(cid), {}).update(props)
        if id_key(cid) not in self.ids:
            self._know(id_key(cid), cid)

    def act(self, cid: Any, **props: Any) -> Cascade:
        """A user changes props of one component: fire what depends on them, wait until settled."""
        key = id_key(cid)
        self.set(cid, **props)
        changed = {(key, p) for p in props}
        changed |= self._emulated(changed)
        cascade = Cascade(changed=set(changed))
        t0 = time.perf_counter()
        self._run(self._triggered(changed), cascade)
        cascade.seconds = time.perf_counter() - t0
        return cascade

    def listeners(self, cid: Any, prop: str) -> list[Callback]:
        key = id_key(cid)
        return [cb for cb, _ in self._triggered({(key, prop)})]

    # -- the renderer loop ----------------------------------------------------------------------
    def _triggered(self, changed: set[tuple[str, str]], by: dict | None = None) -> list[tuple[Callback, list[str]]]:
        """Callbacks with a changed input; `by` maps a change to the callback that made it (a callback
        is not re-run by its own outputs, as in the renderer)."""
        out = []
        by_prop: dict[str, list[str]] = {}  # the changes by property: an input only looks at its own
        for key, prop in changed:
            by_prop.setdefault(prop, []).append(key)
        for cb in self.callbacks:
            if cb.clientside:
                continue
            hits = []
            for d in cb.inputs:
                for key in by_prop.get(d.prop, ()):
                    if by and by.get((key, d.prop)) == cb.output:
                        continue
                    if key in self.ids and d.matches(self.ids[key]):
                        hits.append(f"{key}.{d.prop}")
            if hits:
                out.append((cb, hits))
        return out

    def _run(self, pending: list[tuple[Callback, list[str]]], cascade: Cascade) -> Cascade:
        t0 = time.perf_counter()
        queue = _merge(pending)
        while queue:
            # A callback waits while another queued callback will still change one of its inputs.
            ready = [
                (cb, ch)
                for cb, ch in queue
                if not any(
                    _overlaps(d, o)
                    for other, _ in queue
                    if other is not cb
                    for o in other.outputs
                    for d in cb.inputs
                )
            ] or queue
            rest = [item for item in queue if item not in ready]
            jobs = [job for cb, ch in ready for job in self._expand(cb, ch)]
            results = list(self.pool.map(lambda j: self._post(*j), jobs))
            changed: set[tuple[str, str]] = set()
            by: dict[tuple[str, str], str] = {}
            new_ids: set[str] = set()
            for (cb, _, _), (req, updates) in zip(jobs, results):
                cascade.requests.append(req)
                for key, props in updates.items():
                    if key not in self.props:
                        self.props[key] = {}
                        self._know(key, _parse_id(key))
                    self.props[key].update(props)
                    for p, v in props.items():
                        changed.add((key, p))
                        by[(key, p)] = cb.output
                        if isinstance(v, (list, dict)):
                            new_ids |= self._register(v)
            changed |= self._emulated(changed)
            cascade.changed |= changed
            nxt = self._triggered(changed, by) + (self._initial_for(new_ids) if new_ids else [])
            queue = _merge(rest + nxt)
        cascade.seconds = time.perf_counter() - t0
        return cascade

    def _expand(self, cb: Callback, changed: list[str]) -> list[tuple[Callback, list[str], dict | None]]:
        """MATCH callbacks run once per matched component; everything else runs once."""
        match_deps = [d for d in cb.inputs if d.wildcard() == "MATCH"]
        if not match_deps:
            return [(cb, changed, None)]
        d0 = match_deps[0]
        jobs = []
        keys = [k for k in self.ids if d0.matches(self.ids[k])]
        changed_keys = {c.rsplit(".", 1)[0] for c in changed}
        for k in keys:
            if changed and k not in changed_keys:
                continue
            cid = self.ids[k]
            mv = {kk: cid[kk] for kk, v in d0.id.items() if _is_wild(v)}
            jobs.append((cb, [c for c in changed if c.startswith(k + ".")], mv))
        return jobs

    def _values(self, deps: list[Dep], match: dict | None, with_value: bool = True) -> list:
        out = []
        for d in deps:
            w = d.wildcard()
            if w in ("ALL", "ALLSMALLER") or (w == "MATCH" and match is None):
                items = []
                for k, cid in list(self._shapes.get(frozenset(d.id), {}).items()):  # ids with its keys only
                    if k in self.props and d.matches(cid):
                        item = {"id": cid, "property": d.prop}
                        if with_value:
                            item["value"] = self.props[k].get(_clean_prop(d.prop))
                        items.append(item)
                out.append(items)
            else:
                cid = d.id
                if w == "MATCH":
                    cid = {k: (match[k] if _is_wild(v) else v) for k, v in d.id.items()}
                item = {"id": cid, "property": d.prop}
                if with_value:
                    item["value"] = self.props.get(id_key(cid), {}).get(_clean_prop(d.prop))
                out.append(item)
        return out

    def _post(self, cb: Callback, changed: list[str], match: dict | None) -> tuple[Request, dict]:
        outputs = self._values(cb.outputs, match, with_value=False)
        body = {
            "output": cb.output,
            "outputs": outputs if cb.multi else outputs[0],
            "inputs": self._values(cb.inputs, match),
            "state": self._values(cb.state, match),
            "changedPropIds": changed,
        }
        data = json.dumps(body, allow_nan=False).encode()
        t0 = time.perf_counter()
        try:
            r = self.http.post(
                self.base + "/_dash-update-component",
                data=data,
                headers={"Content-Type": "application/json", "Accept-Encoding": ACCEPT_ENCODING},
                timeout=self.timeout,
                stream=True,
            )
            wire = r.raw.read(decode_content=False)  # the bytes on the wire (compressed, if the app compresses)
            seconds = time.perf_counter() - t0
            content = _decode(wire, r.headers.get("Content-Encoding", ""))
            r.close()
        except requests.RequestException as e:
            return Request(cb.name, time.perf_counter() - t0, 0, 599, str(e)), {}
        req = Request(cb.name, seconds, len(wire), r.status_code, decoded_bytes=len(content))
        if r.status_code == 204 or not content:
            return req, {}
        if r.status_code >= 400:
            req.error = content[:300].decode("utf-8", "replace")
            return req, {}
        payload = json.loads(content)
        updates: dict[str, dict] = {}
        for key, props in (payload.get("response") or {}).items():
            updates.setdefault(key, {}).update(props)
        for key, props in (payload.get("sideUpdate") or {}).items():
            updates.setdefault(id_key(_parse_id(key)) if isinstance(key, str) else id_key(key), {}).update(props)
        return req, updates

    def close(self) -> None:
        self.pool.shutdown(wait=False)
        self.http.close()


def _overlaps(a: Dep, b: Dep) -> bool:
    """Can input `a` and output `b` name the same prop of the same component (wildcards included)?"""
    if _clean_prop(a.prop) != _clean_prop(b.prop):
        return False
    if not (isinstance(a.id, dict) and isinstance(b.id, dict)):
        return a.id == b.id
    if set(a.id) != set(b.id):
        return False
    return all(_is_wild(a.id[k]) or _is_wild(b.id[k]) or a.id[k] == b.id[k] for k in a.id)


def _merge(items: list[tuple[Callback, list[str]]]) -> list[tuple[Callback, list[str]]]:
    merged: dict[str, tuple[Callback, list[str]]] = {}
    for cb, ch in items:
        if cb.output in merged:
            merged[cb.output][1].extend(c for c in ch if c not in merged[cb.output][1])
        else:
            merged[cb.output] = (cb, list(ch))
    return list(merged.values())


def decode_array(value: Any):
    """A plotly trace array: a list, or plotly's base64 typed array {"dtype", "bdata"}."""
    import base64

    import numpy as np

    if isinstance(value, dict) and "bdata" in value:
        arr = np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"]))
        if "shape" in value:
            shape = value["shape"]
            arr = arr.reshape([int(s) for s in str(shape).split(",")] if isinstance(shape, str) else shape)
        return arr
    return np.asarray(value if value is not None else [], dtype=float)
