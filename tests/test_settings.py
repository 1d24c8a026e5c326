from __future__ import annotations

from pathlib import Path

from nb2prod.settings import Settings


def test_settings_come_from_the_given_mapping_only(tmp_path: Path) -> None:
    s = Settings.from_env({"NB2PROD_HOME": str(tmp_path / "h")})
    assert s.home == (tmp_path / "h").resolve()
    assert s.resolved_store_url == f"sqlite:///{tmp_path / 'h' / 'nb2prod.db'}"
    assert s.resolved_bentoml_home == s.home / "bentoml"


def test_explicit_home_wins_and_store_url_is_kept(tmp_path: Path) -> None:
    env = {"NB2PROD_HOME": "/elsewhere", "NB2PROD_STORE_URL": "postgresql+psycopg://u@h/db", "BENTOML_HOME": str(tmp_path / "b")}
    s = Settings.from_env(env, home=tmp_path)
    assert s.home == tmp_path.resolve()
    assert s.resolved_store_url == "postgresql+psycopg://u@h/db"
    assert s.resolved_bentoml_home == (tmp_path / "b").resolve()


def test_default_home_is_in_the_user_folder() -> None:
    assert Settings.from_env({}).home == (Path.home() / ".nb2prod").resolve()
