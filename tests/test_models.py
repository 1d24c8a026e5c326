"""The deploy card's words (DeployResult's HTML rendering)."""

def test_shadow_deploy_card_says_what_it_shadows() -> None:
    from nb2prod.models import DeployResult

    base = {"name": "credit", "version_id": "credit-v2", "deployment_dir": "/d", "bento_tag": None, "model_tag": None, "parent": "credit-v1"}
    shadow = DeployResult(**base, shadow_percent=100.0)._repr_html_()
    assert "shadows" in shadow and "replaces" not in shadow and "use --serve" not in shadow
    assert "100% of the requests sent to the live version credit-v1" in shadow
    live = DeployResult(**base)._repr_html_()
    assert "replaces" in live and "not served (use --serve)" in live
