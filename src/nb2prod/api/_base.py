"""The workspace's settings and the store they point at, opened on first use; helpers every part shares."""

from __future__ import annotations

import os
from functools import cached_property
from typing import TYPE_CHECKING

from nb2prod.settings import Settings

if TYPE_CHECKING:
    from nb2prod.store import Store

__all__ = ["WorkspaceBase"]


class WorkspaceBase:
    """The workspace's settings and the store they point at, opened on first use; helpers every part shares."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @cached_property
    def store(self) -> Store:
        from nb2prod.store import Store

        store = Store.open(self.settings.resolved_store_url)
        os.environ.setdefault("BENTOML_DO_NOT_TRACK", "True")
        return store

    def close(self) -> None:
        if "store" in self.__dict__:
            self.store.close()
            del self.__dict__["store"]


def _ref(ref: str) -> str:
    from nb2prod.package.names import split_ref

    split_ref(ref)
    return ref


def _user() -> str:
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
