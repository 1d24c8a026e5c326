"""deployment.json parsing, request models built from ``features``, guardrails — no model needed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from nb2prod.errors import InvalidInputError, NotFoundError
from nb2prod.runtime import build_schema, load_spec
from nb2prod.runtime.guardrails import Guardrails
from nb2prod.runtime.spec import DeploymentSpec

FEATURES = [
    {"name": "age", "dtype": "int", "nullable": False, "min": 21, "max": 75},
    {"name": "income", "dtype": "float", "nullable": False, "min": 1000.0, "max": 500000.0},
    {"name": "purpose", "dtype": "category", "nullable": False, "categories": ["car", "education"]},
    {"name": "note", "dtype": "str", "nullable": True},
    {"name": "loan amount", "dtype": "float", "nullable": False},
    {"name": "model_score", "dtype": "float", "nullable": False},
]


def spec_of(tmp_path: Path, **overrides: Any) -> DeploymentSpec:
    raw = {"name": "credit", "version_id": "credit-v1", "task": "binary", "classes": [0, 1], "features": FEATURES, **overrides}
    (tmp_path / "deployment.json").write_text(json.dumps(raw))
    return load_spec(tmp_path)


def good_row(**changes: Any) -> dict[str, Any]:
    row = {"age": 30, "income": 40000.0, "purpose": "car", "note": None, "loan amount": 5000.0, "model_score": 0.5}
    row.update(changes)
    return row


def test_spec_defaults_and_store_url_precedence(tmp_path: Path) -> None:
    spec = spec_of(tmp_path, store_url="sqlite:////x/y.db")
    assert spec.positive_class == 1 and spec.threshold is None and spec.fallback_strategy == "constant"  # None: model.predict decides
    assert spec.score_method == "predict_proba"  # folders written before the score method was recorded
    assert spec.resolved_store_url({}) == "sqlite:////x/y.db"
    assert spec.resolved_store_url({"NB2PROD_STORE_URL": "postgresql+psycopg://h/db"}) == "postgresql+psycopg://h/db"
    bare = spec_of(tmp_path)
    assert bare.resolved_store_url({}) == f"sqlite:///{tmp_path.resolve() / 'audit.db'}"


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"task": "ranking"}, "task"),
        ({"features": []}, "features"),
        ({"features": [{"name": "a", "dtype": "complex"}]}, "features[0].dtype"),
        ({"classes": [0, 1, 2]}, "classes"),
        ({"positive_class": 7}, "positive_class"),
        ({"fallback": {"strategy": "pray"}}, "fallback.strategy"),
        ({"threshold": 1.5}, "threshold"),
        ({"guardrails": {"max_violations": -1}}, "guardrails.max_violations"),
        ({"explain": {"method": "lime"}}, "explain.method"),
    ],
)
def test_bad_deployment_json_names_the_field(tmp_path: Path, overrides: dict[str, Any], named: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        spec_of(tmp_path, **overrides)
    assert named in str(info.value) and info.value.fix


def test_missing_folder_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError):
        load_spec(tmp_path / "nowhere")


def test_request_model_is_strict_and_names_fields(tmp_path: Path) -> None:
    schema = build_schema(spec_of(tmp_path))
    [row] = schema.validate_rows([good_row(age=30.0)])  # an integral float is an integer
    assert row["age"] == 30 and isinstance(row["age"], int) and row["loan amount"] == 5000.0
    cases = {
        "0.age": good_row(age="30"),  # no string → number coercion
        "0.income": good_row(income=float("nan")),
        "0.purpose": good_row(purpose=3),
        "0.typo": {**good_row(), "typo": 1},  # unknown fields are refused, not ignored
    }
    for where, bad in cases.items():
        with pytest.raises(InvalidInputError) as info:
            schema.validate_rows([bad])
        assert where in str(info.value), str(info.value)
    missing = good_row()
    del missing["income"]
    with pytest.raises(InvalidInputError, match=r"0\.income: Field required"):
        schema.validate_rows([missing])
    with pytest.raises(InvalidInputError):
        schema.validate_rows([])


def test_openapi_schema_documents_features(tmp_path: Path) -> None:
    schema = build_schema(spec_of(tmp_path))
    props = schema.features.model_json_schema(by_alias=True)["properties"]
    assert set(props) == {f["name"] for f in FEATURES}
    assert "training range [21.0, 75.0]" in props["age"]["description"]
    assert "car" in props["purpose"]["description"]


def test_guardrails_flag_out_of_range_and_unseen() -> None:
    spec = DeploymentSpec.parse(
        {"name": "c", "version_id": "v", "task": "binary", "classes": [0, 1], "features": FEATURES}, Path("/tmp")
    )
    rails = Guardrails(spec.features)
    assert rails.check(good_row()) == []
    found = rails.check(good_row(age=90, income=10.0, purpose="boat"))
    assert found == [
        "age: 90 above training max 75",
        "income: 10.0 below training min 1000",
        "purpose: 'boat' not seen in training",
    ]
    assert [Guardrails.feature_of(v) for v in found] == ["age", "income", "purpose"]


def test_request_guard_token_protects_feedback_and_override_only() -> None:
    import asyncio

    import httpx

    from nb2prod.runtime.asgi import RequestGuard

    reached: list[str] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        reached.append(scope["path"])
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": b"{}"})

    async def calls(guard: RequestGuard) -> list[int]:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=guard), base_url="http://t") as client:
            return [
                (await client.post("/predict", json={})).status_code,
                (await client.post("/feedback", json={})).status_code,
                (await client.post("/override", json={}, headers={"authorization": "Bearer nope"})).status_code,
                (await client.post("/feedback", json={}, headers={"authorization": "Bearer secret"})).status_code,
            ]

    assert asyncio.run(calls(RequestGuard(app, token="secret"))) == [200, 401, 401, 200]
    assert reached == ["/predict", "/feedback"]
    reached.clear()
    assert asyncio.run(calls(RequestGuard(app))) == [200, 401, 401, 401]  # no token set: closed (secure by default)
    assert reached == ["/predict"]
