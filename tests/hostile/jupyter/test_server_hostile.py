"""A pathologically nested body is a 400, and no error echoes the server's absolute root."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import tornado.httpclient
from panel_seed import seed_registry


async def _error(jp_fetch: Any, *parts: str, **kwargs: Any) -> tuple[int, str]:
    with pytest.raises(tornado.httpclient.HTTPClientError) as err:
        await jp_fetch("nb2prod", "api", *parts, **kwargs)
    assert err.value.response is not None
    return err.value.code, err.value.response.body.decode()


async def test_a_50000_deep_body_on_promote_and_canary_is_a_400(jp_fetch: Any, jp_serverapp: Any) -> None:
    seed_registry(jp_serverapp.web_app.settings["nb2prod_workspace"])
    deep = "[" * 50_000 + "]" * 50_000
    for action in ("promote", "canary"):
        code, body = await _error(jp_fetch, "deployments", "credit", action, method="POST", body=deep)
        assert code == 400, body
        assert "nested too deeply" in json.loads(body)["message"]


async def test_linting_a_non_notebook_names_it_without_the_root(jp_fetch: Any, jp_root_dir: Path) -> None:
    (jp_root_dir / "notes").mkdir()
    (jp_root_dir / "notes" / "readme.txt").write_text("not a notebook")
    (jp_root_dir / "broken.ipynb").write_text("{not json")
    for path in ("notes/readme.txt", "broken.ipynb", "notes"):
        code, body = await _error(jp_fetch, "lint", params={"path": path})
        assert 400 <= code < 500, body
        assert str(jp_root_dir) not in body and str(jp_root_dir.resolve()) not in body, body
        assert Path(path).name in json.loads(body)["message"]
