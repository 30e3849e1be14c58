"""A view you can share: the current dataset, run and filter spec as a compact, URL-safe query string
(`?v=` + base64url of compact JSON), and its strict reader. The reader only checks the link's shape;
whether the dataset and run still exist and whether the spec fits the run is decided by the caller
(core.views.parse_spec validates the spec like any client-sent one)."""
from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from core.errors import InputError
from core.store import check_id

PARAM = "v"
VERSION = 1
MAX_LINK_CHARS = 8_000  # a lasso of 32 corners and a few ranges fit in well under 2,000


@dataclass(frozen=True)
class ViewLink:
    dataset_id: str
    run_id: str | None
    spec: dict | None  # FilterSpec.to_dict() of run_id, unvalidated against the run


def encode_view(dataset_id: str, run_id: str | None, spec: dict | None) -> str:
    """'?v=...' for the view; the spec's run must be the link's run."""
    check_id(dataset_id, "dataset")
    body: dict[str, Any] = {"n": VERSION, "d": dataset_id}
    if run_id is not None:
        body["r"] = check_id(run_id, "run")
        if spec and spec.get("run_id") == run_id:
            body["f"] = {k: v for k, v in spec.items() if k != "run_id"}  # the run id once, not twice
    raw = json.dumps(body, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()
    return f"?{PARAM}=" + base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_view(search: Any) -> ViewLink | None:
    """The view of a query string; None when it carries none; InputError when it is damaged or forged."""
    if not search:
        return None
    if not isinstance(search, str) or len(search) > MAX_LINK_CHARS:
        raise InputError("this link is too long or damaged; open the dashboard without it")
    values = parse_qs(search.lstrip("?")).get(PARAM)
    if not values:
        return None
    token = values[0]
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        body = json.loads(raw.decode("utf-8"), parse_constant=_refuse)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise InputError("this link is damaged (it could not be read); open the dashboard without it") from None
    if not isinstance(body, dict) or body.get("n") != VERSION or not set(body) <= {"n", "d", "r", "f"}:
        raise InputError("this link was not made by this dashboard; open the dashboard without it")
    dataset_id = check_id(body.get("d"), "dataset")
    run_id = None if body.get("r") is None else check_id(body["r"], "run")
    spec = body.get("f")
    if spec is not None:
        if run_id is None or not isinstance(spec, dict) or "run_id" in spec:
            raise InputError("this link's filter is damaged; open the dashboard without it")
        spec = {"run_id": run_id, **spec}
    return ViewLink(dataset_id, run_id, spec)


def _refuse(name: str):
    raise ValueError(f"{name} is not a number")
