"""Every length the API accepts fits its column: one definition (nb2prod.limits) for both."""

from __future__ import annotations

import os
import re
import time
import uuid
from pathlib import Path

import pytest
from pydantic import ValidationError

from nb2prod.models import AuditEvent, Feedback, Override
from nb2prod.runtime.schema import REQUEST_ID_PATTERN, build_schema
from nb2prod.runtime.spec import DeploymentSpec, FeatureSpec, Task
from nb2prod.store import Store
from nb2prod.store import tables as t


def _schema():
    spec = DeploymentSpec(
        folder=Path("unused"), name="credit", version_id="credit-v1", task=Task.BINARY, classes=(0, 1),
        features=(FeatureSpec(name="age", dtype="int"),),
    )  # fmt: skip
    return build_schema(spec)


def _max_length(model, field: str) -> int:
    schema = model.model_json_schema()["properties"][field]
    options = schema.get("anyOf", [schema])
    return max(o.get("maxLength", 0) for o in options)


def test_the_api_never_accepts_more_than_the_column_holds() -> None:
    schema = _schema()
    assert _max_length(schema.feedback_body, "source") == t.feedback.c.source.type.length
    assert _max_length(schema.override_body, "operator") == t.overrides.c.operator.type.length
    longest_id = int(re.search(r"\{0,(\d+)\}", REQUEST_ID_PATTERN).group(1)) + 1
    for column in (t.predictions.c.request_id, t.predictions.c.client_request_id, t.feedback.c.request_id, t.overrides.c.request_id):
        assert longest_id == column.type.length


def test_an_over_long_source_or_operator_is_a_400_not_a_database_error() -> None:
    schema = _schema()
    length = t.feedback.c.source.type.length
    with pytest.raises(ValidationError, match="source"):
        schema.feedback_body.model_validate({"request_id": "r1", "label": 1, "source": "s" * (length + 1)})
    with pytest.raises(ValidationError, match="operator"):
        schema.override_body.model_validate({"request_id": "r1", "decision": 1, "operator": "o" * (length + 1), "reason": "x"})
    schema.feedback_body.model_validate({"request_id": "r1", "label": 1, "source": "s" * length})


@pytest.mark.postgres
def test_the_longest_accepted_values_are_stored_on_postgresql() -> None:
    url = os.environ.get("NB2PROD_TEST_PG_URL")
    if not url:
        pytest.skip("NB2PROD_TEST_PG_URL not set (.ci/run starts a PostgreSQL server and sets it)")
    schema = _schema()
    rid = uuid.uuid4().hex.ljust(64, "p")  # unique per run: the database outlives the test
    body = schema.feedback_body.model_validate({"request_id": rid, "label": 1, "source": "s" * _max_length(schema.feedback_body, "source")})
    over = schema.override_body.model_validate(
        {"request_id": rid, "decision": 0, "operator": "o" * _max_length(schema.override_body, "operator"), "reason": "r" * 256}
    )
    with Store.open(url) as store:
        store.audit.write([AuditEvent(request_id=rid, client_request_id="c" * 64, name="limits", version_id="v", ts=time.time(), inputs={})])
        store.audit.add_feedback([Feedback(request_id=rid, label=body.label, source=body.source)])
        store.audit.add_override(Override(request_id=rid, decision=over.decision, operator=over.operator, reason=over.reason))
        assert [f.source for f in store.audit.feedback([rid])] == [body.source]
        assert [o.operator for o in store.audit.overrides([rid])] == [over.operator]


def test_the_store_refuses_an_over_long_value_from_any_caller(tmp_path: Path) -> None:
    from nb2prod.errors import InvalidInputError

    length = t.feedback.c.source.type.length
    with Store.open(f"sqlite:///{tmp_path / 'audit.db'}") as store:
        with pytest.raises(InvalidInputError, match="source is 129 characters"):
            store.audit.add_feedback([Feedback(request_id="r1", label=1, source="s" * (length + 1))])
        with pytest.raises(InvalidInputError, match="operator"):
            store.audit.add_override(Override(request_id="r1", decision=1, operator="o" * (length + 1), reason="x"))
        assert store.audit.add_feedback([Feedback(request_id="r1", label=1, source="s" * length)]) == 1
