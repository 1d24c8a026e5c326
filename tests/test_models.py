"""The models package's public surface, and the deploy card's words (rendered by the widgets front)."""

import dataclasses
import importlib

import nb2prod.models as models
from nb2prod.models import DeployResult
from nb2prod.widgets.render import deploy_result_html


def test_shadow_deploy_card_says_what_it_shadows() -> None:
    base = {"name": "credit", "version_id": "credit-v2", "deployment_dir": "/d", "bento_tag": None, "model_tag": None, "parent": "credit-v1"}
    shadow = deploy_result_html(DeployResult(**base, shadow_percent=100.0))
    assert "shadows" in shadow and "replaces" not in shadow and "use --serve" not in shadow
    assert "100% of the requests sent to the live version credit-v1" in shadow
    live = DeployResult(**base)
    assert "replaces" in deploy_result_html(live) and "not served (use --serve)" in deploy_result_html(live)


def test_shadow_deploy_text_summary_says_it_is_a_shadow() -> None:
    base = {"name": "credit", "version_id": "credit-v2", "deployment_dir": "/d", "bento_tag": None, "model_tag": None, "parent": "credit-v1"}
    headline = DeployResult(**base, shadow_percent=100.0).summary().splitlines()[0]
    assert headline == "deployed credit-v2 in 0.0s as a shadow of credit-v1 (100% of its requests)"
    assert "shadow" not in DeployResult(**base).summary()


def test_all_lists_every_public_record_once() -> None:
    public = {name for name, value in vars(models).items() if isinstance(value, type) and value.__module__.startswith("nb2prod.models.")}
    assert sorted(models.__all__) == sorted(public)
    assert len(models.__all__) == len(set(models.__all__))
    for name in models.__all__:
        value = getattr(models, name)
        # each record lives in its feature module and names it as its home
        assert name in importlib.import_module(value.__module__).__all__
        if name not in {"Record", "Severity", "VersionState"}:
            assert dataclasses.is_dataclass(value), name
