"""The real app in a subprocess, and a client that speaks to it as the Dash renderer does.

`LiveServer` starts the app the way the README documents production serving
(`gunicorn app:server -w 1 --threads N -b 127.0.0.1:PORT`, settings from CSI_* variables, the database
under a private CSI_DATA_DIR), waits until the page answers, and stops it (SIGTERM, or SIGKILL of the
process group it started for the crash tests).

`DashClient` reads `/_dash-dependencies` and posts the same `/_dash-update-component` payloads the
browser sends, so tests can drive real callbacks, or forge them, over HTTP.
"""
from __future__ import annotations

import base64
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import requests

from core.config import PROJECT_DIR

READY_TIMEOUT = 240  # first start loads and segments the bundled sample


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def gunicorn_command(port: int, threads: int = 8) -> list[str]:
    exe = Path(sys.executable).with_name("gunicorn")
    base = [str(exe)] if exe.exists() else [sys.executable, "-m", "gunicorn"]
    return base + ["app:server", "-w", "1", "--threads", str(threads), "-b", f"127.0.0.1:{port}",
                   "--timeout", "300", "--graceful-timeout", "10",
                   "--no-control-socket"]  # several test servers at once: no shared ~/.gunicorn socket


class LiveServer:
    """One gunicorn (or `python app.py`) process tree serving the app on 127.0.0.1."""

    def __init__(self, data_dir: Path, *, env: dict[str, str] | None = None, threads: int = 8,
                 kind: str = "gunicorn", via_data_dir: bool = True) -> None:
        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.threads = threads
        self.kind = kind
        # via_data_dir: CSI_DATA_DIR=<folder>, the README's setting (the database is
        # <folder>/segmentation.duckdb). Otherwise CSI_DB=<folder>/segmentation.duckdb.
        self.via_data_dir = via_data_dir
        self.extra_env = dict(env or {})
        self.port = 0
        self.proc: subprocess.Popen | None = None
        self.log_path = self.data_dir / "server.log"
        self.starts = 0

    @property
    def db_path(self) -> Path:
        return self.data_dir / "segmentation.duckdb"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def environment(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("CSI_")}
        if self.via_data_dir:
            env["CSI_DATA_DIR"] = str(self.data_dir)
        else:
            env["CSI_DB"] = str(self.db_path)
        env.update(
            CSI_DUCKDB_MEMORY="1GB",
            CSI_DUCKDB_THREADS="2",
            PYTHONUNBUFFERED="1",
        )
        env.update(self.extra_env)
        return env

    def start(self, timeout: float = READY_TIMEOUT) -> "LiveServer":
        assert self.proc is None or self.proc.poll() is not None, "already running"
        self.port = free_port()
        env = self.environment()
        if self.kind == "gunicorn":
            cmd = gunicorn_command(self.port, self.threads)
        else:
            env.update(HOST="127.0.0.1", PORT=str(self.port))
            cmd = [sys.executable, "app.py"]
        log = open(self.log_path, "a")
        log.write(f"\n=== start {self.starts + 1}: {' '.join(cmd)}\n")
        log.flush()
        # own process group: stop() and kill() reach the gunicorn master and its worker, nothing else
        self.proc = subprocess.Popen(cmd, cwd=PROJECT_DIR, env=env, stdout=log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        log.close()
        self.starts += 1
        self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout: float = READY_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                if requests.get(self.url + "/_dash-layout", timeout=5).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.25)
        self.kill()
        raise RuntimeError(f"server not ready after {timeout:.0f} s:\n{self.log_tail()}")

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def healthy(self) -> bool:
        """Still up and still serving the page."""
        if not self.running():
            return False
        try:
            return requests.get(self.url + "/_dash-layout", timeout=30).status_code == 200
        except requests.RequestException:
            return False

    def stop(self, timeout: float = 30) -> None:
        if not self.running():
            return
        os.kill(self.proc.pid, signal.SIGTERM)  # gunicorn master: graceful shutdown of its worker
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
        self._reap_group()

    def kill(self) -> None:
        """SIGKILL the whole process group this object started (master and worker at once)."""
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(30)
        self._reap_group()

    def _reap_group(self) -> None:
        # a worker orphaned by a killed master would keep the database locked; wait until it is gone
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                os.killpg(self.proc.pid, 0)
            except ProcessLookupError:
                return
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                return
            time.sleep(0.1)

    def log_tail(self, lines: int = 60) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def __enter__(self) -> "LiveServer":
        return self.start() if not self.running() else self

    def __exit__(self, *exc) -> None:
        self.stop()


# -- the renderer's side of /_dash-update-component --------------------------------------------
def clean_prop(prop: str) -> str:
    return prop.split("@", 1)[0]  # allow_duplicate outputs carry "@<hash>"


def parse_id(s: str) -> Any:
    return json.loads(s) if s.startswith("{") else s


def split_output(output: str) -> list[tuple[Any, str]]:
    """'..a.b...c.d..' or 'a.b' -> [(id, prop), ...] (dict ids are JSON and may contain dots)."""
    parts = output[2:-2].split("...") if output.startswith("..") else [output]
    out = []
    for p in parts:
        cid, prop = p.rsplit(".", 1)
        out.append((parse_id(cid), prop))
    return out


class DashClient:
    """Posts callback requests for one browser session (one requests.Session)."""

    _deps_cache: dict[str, list] = {}

    def __init__(self, base_url: str, session: requests.Session | None = None, timeout: float = 300) -> None:
        self.base = base_url.rstrip("/")
        self.http = session or requests.Session()
        self.timeout = timeout
        self.timings: list[tuple[str, float, int]] = []  # (callback, seconds, status)

    # dependencies
    def dependencies(self) -> list[dict]:
        if self.base not in self._deps_cache:
            r = self.http.get(self.base + "/_dash-dependencies", timeout=self.timeout)
            r.raise_for_status()
            self._deps_cache[self.base] = r.json()
        return self._deps_cache[self.base]

    def callback(self, output: str, *, input: str | None = None) -> dict:
        """The callback whose outputs include `output` ("id.prop"), optionally with input `input`."""
        found = []
        for dep in self.dependencies():
            if dep.get("clientside_function"):
                continue
            outs = [f"{json.dumps(i) if isinstance(i, dict) else i}.{clean_prop(p)}"
                    for i, p in split_output(dep["output"])]
            ins = [f"{d['id']}.{d['property']}" for d in dep.get("inputs", [])]
            if output in outs and (input is None or input in ins):
                found.append(dep)
        if len(found) != 1:
            raise LookupError(f"{len(found)} server callbacks output {output} (input {input})")
        return found[0]

    def payload(self, dep: dict, values: dict[str, Any], changed: list[str] | None = None) -> dict:
        """The request body for `dep`, with values by "id.prop" (missing ones are None; a pattern
        (ALL) input takes a list of {"id": ..., "value": ...} or [] for no components)."""

        def items(deps: list[dict]) -> list:
            out = []
            for d in deps:
                key = f"{d['id']}.{d['property']}"
                v = values.get(key)
                if d["id"].startswith("{") and '["ALL"]' in d["id"].replace(" ", ""):
                    out.append([{"id": e["id"], "property": d["property"], "value": e.get("value")}
                                for e in (v or [])])
                else:
                    out.append({"id": parse_id(d["id"]), "property": d["property"], "value": v})
            return out

        outputs = []
        for cid, prop in split_output(dep["output"]):
            if isinstance(cid, dict) and any(v == ["ALL"] for v in cid.values()):
                outputs.append([])
            else:
                outputs.append({"id": cid, "property": prop})
        inputs = items(dep.get("inputs", []))
        if changed is None:
            changed = [f"{dep['inputs'][0]['id']}.{dep['inputs'][0]['property']}"] if dep.get("inputs") else []
        return {
            "output": dep["output"],
            "outputs": outputs if dep["output"].startswith("..") else outputs[0],
            "inputs": inputs,
            "state": items(dep.get("state", [])),
            "changedPropIds": changed,
        }

    def post(self, body: Any, *, raw: bool = False, name: str = "forged") -> requests.Response:
        # json.dumps, not requests' json=: forged bodies may hold NaN/Infinity, which Flask accepts
        data = body if raw else json.dumps(body)
        t0 = time.perf_counter()
        r = self.http.post(self.base + "/_dash-update-component", data=data,
                           headers={"Content-Type": "application/json"}, timeout=self.timeout)
        self.timings.append((name, time.perf_counter() - t0, r.status_code))
        return r

    def call(self, output: str, values: dict[str, Any], *, input: str | None = None,
             changed: list[str] | None = None, name: str | None = None) -> requests.Response:
        dep = self.callback(output, input=input)
        return self.post(self.payload(dep, values, changed), name=name or output)


def response_props(r: requests.Response) -> dict[str, dict]:
    """{component id (str): {prop (clean): value}} of a 200 callback response; {} for 204."""
    if r.status_code == 204:
        return {}
    data = r.json()
    out: dict[str, dict] = {}
    for cid, props in (data.get("response") or {}).items():
        out.setdefault(cid, {}).update({clean_prop(k): v for k, v in props.items()})
    return out


def data_url(content: bytes, mime: str = "text/csv") -> str:
    return f"data:{mime};base64," + base64.b64encode(content).decode("ascii")


def text_of(component: Any) -> str:
    """All the text inside a serialized component tree (an alert's message)."""
    if component is None:
        return ""
    if isinstance(component, (str, int, float)):
        return str(component)
    if isinstance(component, list):
        return " ".join(text_of(c) for c in component)
    if isinstance(component, dict):
        props = component.get("props", component)
        return text_of(props.get("children")) if isinstance(props, dict) else ""
    return ""


def is_alert(component: Any, color: str | None = None) -> bool:
    if not isinstance(component, dict) or component.get("type") != "Alert":
        return False
    return color is None or component.get("props", {}).get("color") == color
