"""Bodies are strict and a 400 reads as one line per bad field; the service log gets no traceback per 400."""

from __future__ import annotations

from typing import Any

import httpx
from runtime_folder import sample_rows
from service_proc import SERVICE_TOKEN, Served

AUTH = {"authorization": f"Bearer {SERVICE_TOKEN}"}


def _post(served: Served, path: str, body: Any) -> httpx.Response:
    return httpx.post(f"{served.url}{path}", json=body, headers=AUTH, timeout=30)


def test_lax_bodies_are_refused_with_one_readable_line(served: Served) -> None:
    row = sample_rows(served.folder)[0]
    answer = _post(served, "/predict", {"features": row}).json()
    log_before = served.log.read_text(errors="replace")
    cases = [
        ("/predict", {"features": row, "explian": True}, "explian: unknown field"),
        ("/predict", {"features": row, "explain": "yes"}, "explain: Input should be a valid boolean"),
        ("/predict_batch", {"rows": [row], "debug": 1}, "debug: unknown field"),
        ("/feedback", {"request_id": answer["request_id"], "label": True}, "label: Value error, a boolean is not a class label"),
        ("/feedback", {"request_id": answer["request_id"], "label": 1, "note": "x"}, "note: unknown field"),
        ("/override", {"request_id": answer["request_id"], "decision": True, "operator": "ann", "reason": "x"}, "decision: Value error"),
        ("/predict", {"features": {**row, "age": "forty"}, "explain": 1}, "features.age: Input should be a valid integer; explain:"),
    ]
    for path, body, expected in cases:
        reply = _post(served, path, body)
        assert reply.status_code == 400, (path, body, reply.text)
        data = reply.json()
        assert data["error"] == "invalid_input" and "\n" not in data["message"], data
        assert expected in data["message"], (expected, data["message"])
        assert "validation error for" not in data["message"] and "https://" not in data["message"]
        assert isinstance(data["detail"], list) and data["detail"][0]["loc"], data  # structured detail kept
    new_log = served.log.read_text(errors="replace")[len(log_before):]
    assert "Traceback" not in new_log
    assert len([line for line in new_log.splitlines() if line.strip()]) <= len(cases)
    assert _post(served, "/feedback", {"request_id": answer["request_id"], "label": 1}).status_code == 200  # the valid form works


def test_the_rewrite_keeps_other_400s_and_names_every_field() -> None:
    from nb2prod.runtime.asgi import readable_validation_error

    ours = b'{"error": "invalid_input", "message": "x", "fix": "y"}'
    assert readable_validation_error(ours) == ours
    bento = (
        b'{"error": "2 validation errors for Input", "detail": [{"loc": ["features", "age"], "msg": "Input should be a valid integer",'
        b' "type": "int_type"}, {"loc": ["features", "income"], "msg": "Field required", "type": "missing"}]}'
    )
    import json

    data = json.loads(readable_validation_error(bento))
    assert data["message"] == "features.age: Input should be a valid integer; features.income: required"
    assert [d["loc"] for d in data["detail"]] == [["features", "age"], ["features", "income"]]
