"""Upload size limits (issue 5 item 2).

The limit is Settings.max_upload_mb (CSI_MAX_UPLOAD_MB, default 200) for the FILE; the Flask server's
MAX_CONTENT_LENGTH leaves room for dcc.Upload's base64 encoding inside the JSON request, so a file just
under the limit loads. Bigger requests get 413 before the app reads them and the server stays up; a file
over the limit that fits in a request is refused by the upload callback with a message; the browser
checks the size first (a clientside callback fed with the limit) and shows the message without sending.
"""
from __future__ import annotations

import pytest
import requests

from live_server import DashClient, LiveServer, data_url, is_alert, response_props, text_of

pytestmark = pytest.mark.slow

LIMIT_MB = 2
MiB = 1024 * 1024


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    s = LiveServer(tmp_path_factory.mktemp("limits"), env={"CSI_MAX_UPLOAD_MB": str(LIMIT_MB)}).start()
    yield s
    s.stop()


def csv_of_size(size: int, seed: int = 0) -> bytes:
    """A valid customer CSV of exactly `size` bytes (the last line padded with a note column)."""
    header = b"customer_id,age,income,spending,note\n"
    lines, total, i = [header], len(header), 0
    while True:
        line = f"{seed * 10_000_000 + i},{20 + i % 50},{15 + (i * 7) % 120},{1 + (i * 13) % 99},x\n".encode()
        if total + len(line) > size - 40:
            break
        lines.append(line)
        total += len(line)
        i += 1
    pad = size - total - len(f"{seed * 10_000_000 + i},30,50,50,\n")
    lines.append(f"{seed * 10_000_000 + i},30,50,50,{'y' * pad}\n".encode())
    data = b"".join(lines)
    assert len(data) == size
    return data


def upload(client: DashClient, content: bytes, filename: str) -> requests.Response:
    return client.call("upload-alert.children", {
        "upload-gate.data": {"ok": True, "t": 1}, "upload.contents": data_url(content),
        "upload.filename": filename, "rfm-switch.value": False,
    }, input="upload-gate.data")


def serving(server: LiveServer) -> bool:
    r = DashClient(server.url).call("dataset-picker.options", {"url.pathname": "/"}, input="url.pathname")
    return r.status_code == 200 and server.running()


def test_default_limit_is_200_mb(monkeypatch):
    from core.config import Settings

    monkeypatch.delenv("CSI_MAX_UPLOAD_MB", raising=False)
    assert Settings().max_upload_mb == 200
    monkeypatch.setenv("CSI_MAX_UPLOAD_MB", "7")
    assert Settings().max_upload_mb == 7


def test_server_limit_leaves_room_for_base64(server):
    """The server's request limit is at least the base64 size of a file at the limit (plus the JSON)."""
    import app

    from core.config import Settings

    limit = app.request_limit_bytes(Settings(max_upload_mb=LIMIT_MB))
    assert limit >= LIMIT_MB * MiB * 4 / 3 + 1000
    assert limit <= LIMIT_MB * MiB * 2  # but not far beyond it
    assert app.request_limit_bytes(Settings(max_upload_mb=200)) >= 200 * MiB * 4 / 3


def test_request_over_the_limit_gets_413_and_the_server_stays_up(server):
    body = b'{"output": "x", "pad": "' + b"a" * (4 * LIMIT_MB * MiB) + b'"}'
    r = requests.post(server.url + "/_dash-update-component", data=body,
                      headers={"Content-Type": "application/json"}, timeout=60)
    assert r.status_code == 413
    assert serving(server)


def test_chunked_request_without_length_is_cut_at_the_limit(server):
    """A client that streams a body without Content-Length cannot get past the limit either."""
    def chunks():
        yield b'{"output": "x", "pad": "'
        for _ in range(6 * LIMIT_MB):
            yield b"a" * MiB
        yield b'"}'

    try:
        r = requests.post(server.url + "/_dash-update-component", data=chunks(),
                          headers={"Content-Type": "application/json"}, timeout=60)
        assert r.status_code in (400, 413), r.status_code
    except requests.ConnectionError:
        pass  # the server may also close the connection on an oversized stream
    assert serving(server)


def test_file_just_under_the_limit_loads(server):
    client = DashClient(server.url)
    content = csv_of_size(LIMIT_MB * MiB - 2048, seed=1)
    r = upload(client, content, "just-under.csv")
    assert r.status_code == 200, r.text[:300]
    props = response_props(r)
    alert = props["upload-alert"]["children"]
    assert is_alert(alert, "success"), text_of(alert)
    assert isinstance(props["dataset-picker"]["value"], str)
    assert serving(server)


def test_file_just_over_the_limit_is_refused_with_a_message(server):
    client = DashClient(server.url)
    before = response_props(client.call("dataset-picker.options", {"url.pathname": "/"}, input="url.pathname"))
    content = csv_of_size(LIMIT_MB * MiB + 2048, seed=2)
    r = upload(client, content, "just-over.csv")
    assert r.status_code == 200, r.text[:300]
    props = response_props(r)
    message = text_of(props["upload-alert"]["children"])
    assert is_alert(props["upload-alert"]["children"], "danger")
    assert "larger than the upload limit" in message and f"{LIMIT_MB} MB" in message, message
    assert "dataset-picker" not in props or props["dataset-picker"].get("value") is None
    after = response_props(client.call("dataset-picker.options", {"url.pathname": "/"}, input="url.pathname"))
    assert after["dataset-picker"]["options"] == before["dataset-picker"]["options"]
    assert serving(server)


def test_the_page_checks_the_size_before_sending(server):
    """The layout carries the limit, and a clientside callback compares the file with it and shows the
    message in the page (so the browser never sends a file the server would refuse)."""
    layout = requests.get(server.url + "/_dash-layout", timeout=30).json()
    found = []

    def walk(node):
        if isinstance(node, dict):
            props = node.get("props", {})
            if props.get("id") == "upload-limit":
                found.append(props.get("data"))
            for v in props.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(layout)
    assert found == [LIMIT_MB * MiB]
    deps = requests.get(server.url + "/_dash-dependencies", timeout=30).json()
    checks = [d for d in deps if d.get("clientside_function")
              and any(s["id"] == "upload-limit" for s in d.get("state", []))]
    assert len(checks) == 1
    check = checks[0]
    assert "upload-client-alert.children" in check["output"]
    assert "upload-gate.data" in check["output"]  # the server callback only runs when the gate opens
    page = requests.get(server.url + "/", timeout=30).text  # inline clientside functions live in the page
    assert "larger than the upload limit" in page


def test_server_boots_with_data_dir_outside_the_project(tmp_path):
    """The README's CSI_DATA_DIR pointing to any folder: the app must boot (and load its sample)."""
    s = LiveServer(tmp_path / "elsewhere", via_data_dir=True)
    try:
        s.start(timeout=120)
        assert serving(s)
        assert s.db_path.exists()
    except RuntimeError as e:
        reasons = [line for line in str(e).splitlines() if "Error:" in line] or str(e).splitlines()[-1:]
        pytest.fail(f"the app does not boot with CSI_DATA_DIR={s.data_dir}: {reasons[0].strip()}")
    finally:
        s.stop()
