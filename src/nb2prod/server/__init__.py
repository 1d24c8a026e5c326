"""jupyter_server extension: the REST API the JupyterLab panels talk to.

Every route is ``@tornado.web.authenticated``; every error goes through one mapping
(:mod:`nb2prod.server.handlers`).
"""

from __future__ import annotations

from typing import Any

__all__ = ["_load_jupyter_server_extension"]


def _load_jupyter_server_extension(serverapp: Any) -> None:
    from nb2prod.server.handlers import setup_handlers

    setup_handlers(serverapp)
    serverapp.log.info("nb2prod server extension loaded")
