"""core/view_link.py: a view's link round-trips, stays compact, and damaged or forged links are refused."""
from __future__ import annotations

import base64
import json

import pytest

from core.errors import InputError
from core.view_link import decode_view, encode_view

DS, RUN = "0123456789ab", "abcdef012345"
SPEC = {"run_id": RUN, "segments": [1, 3], "ranges": {"Age": [20.5, 40]}, "categories": {"Gender": ["Female"]},
        "region": {"kind": "lasso", "points": [[0.1, 0.2], [1, 2], [3, -1]]}, "poor_fit": True,
        "transition": {"run": "ffffffffffff", "from": 2, "to": 1}}


def _token(body) -> str:
    return "?v=" + base64.urlsafe_b64encode(json.dumps(body).encode()).decode().rstrip("=")


def test_a_view_round_trips_and_stays_short():
    search = encode_view(DS, RUN, SPEC)
    link = decode_view(search)
    assert (link.dataset_id, link.run_id, link.spec) == (DS, RUN, SPEC)
    assert search.startswith("?v=") and len(search) < 400 and "=" not in search[3:]
    assert decode_view(encode_view(DS, None, None)).run_id is None
    assert decode_view("") is None and decode_view("?other=1") is None


@pytest.mark.parametrize("search, message", [
    ("?v=%%%", "damaged"),
    ("?v=" + "A" * 9000, "too long"),
    (_token([1, 2]), "not made by this dashboard"),
    (_token({"n": 2, "d": DS}), "not made by this dashboard"),
    (_token({"n": 1, "d": DS, "x": 1}), "not made by this dashboard"),
    (_token({"n": 1, "d": "'; DROP TABLE datasets; --"}), "dataset"),
    (_token({"n": 1, "d": DS, "r": "../etc/passwd"}), "run"),
    (_token({"n": 1, "d": DS, "f": {"segments": [1]}}), "filter is damaged"),
    (_token({"n": 1, "d": DS, "r": RUN, "f": {"run_id": "ffffffffffff"}}), "filter is damaged"),
    ("?v=" + base64.urlsafe_b64encode(b'{"n":1,"d":"0123456789ab","r":"abcdef012345","f":{"ranges":{"A":[NaN,1]}}}').decode(),
     "damaged"),
    (12345, "damaged"),
])
def test_damaged_and_forged_links_are_refused(search, message):
    with pytest.raises(InputError, match=message):
        decode_view(search)
