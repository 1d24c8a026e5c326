from __future__ import annotations

import pytest

from nb2prod import errors

ALL = [getattr(errors, n) for n in errors.__all__]


@pytest.mark.parametrize("cls", ALL)
def test_every_error_knows_its_status_and_exit_code(cls: type[errors.Nb2prodError]) -> None:
    err = cls("something\nis wrong", fix="do  this")
    assert 400 <= err.http_status < 600
    assert err.exit_code >= 1
    text = str(err)
    assert "\n" not in text
    assert text == "something is wrong — do this"
    body = err.to_dict()
    assert body["message"] == "something is wrong" and body["fix"] == "do this" and body["error"] == err.code


def test_client_mistakes_are_4xx_and_exit_codes_distinct() -> None:
    for cls in (errors.UsageError, errors.NotFoundError, errors.ConflictError, errors.InvalidInputError, errors.NotebookError, errors.GateRefusedError):
        assert 400 <= cls.http_status < 500
    codes = [cls.exit_code for cls in ALL if cls is not errors.Nb2prodError]
    assert len(codes) == len(set(codes))


def test_gate_refusal_carries_evidence() -> None:
    err = errors.GateRefusedError("roc_auc 0.61 < 0.70", fix="improve the model", evidence={"roc_auc": 0.61})
    assert err.to_dict()["evidence"] == {"roc_auc": 0.61}
