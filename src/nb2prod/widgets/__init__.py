"""Inline ipywidgets for the notebook: the live monitor and the deployment card."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nb2prod.widgets.card import DeploymentCard
    from nb2prod.widgets.monitor import MonitorWidget

__all__ = ["MonitorWidget", "deployment_card", "monitor_widget"]


def deployment_card(result: Any, **kwargs: Any) -> DeploymentCard:
    """The ipywidgets card ``%deploy`` shows for a deploy result (``DeployResult`` or its dict)."""
    from nb2prod.widgets.card import deployment_card as build

    return build(result, **kwargs)


def monitor_widget(workspace: Any, name: str, **kwargs: Any) -> MonitorWidget:
    """A live-updating monitor widget for deployment ``name``."""
    from nb2prod.widgets.monitor import MonitorWidget

    return MonitorWidget(workspace, name, **kwargs)


def __getattr__(attr: str) -> Any:
    if attr == "MonitorWidget":
        from nb2prod.widgets.monitor import MonitorWidget

        return MonitorWidget
    raise AttributeError(attr)
