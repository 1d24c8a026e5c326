"""The deployment card ``%deploy`` shows: the deploy result, plus buttons to monitor or stop the service.

The card is the deploy result's HTML (``widgets.render.deploy_result_html``, which static renderers such as
nbconvert show instead) with two actions below it. The magic still returns the ``DeployResult``;
``%load_ext nb2prod`` registers this card as its notebook display.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

import ipywidgets as w

from nb2prod.errors import Nb2prodError
from nb2prod.models import DeployResult
from nb2prod.widgets.render import deploy_result_html

if TYPE_CHECKING:
    from nb2prod.api import Workspace

__all__ = ["DeploymentCard", "deployment_card"]


class DeploymentCard(w.VBox):
    """A deploy result with *Monitor* (opens the live monitor widget below) and *Stop service*."""

    def __init__(self, result: DeployResult, *, workspace: Workspace | None = None) -> None:
        self.result = result
        self._workspace = workspace
        self.body = w.HTML(value=deploy_result_html(result))
        self.monitor_button = w.Button(description="Monitor", icon="line-chart", tooltip=f"drift, performance and fairness of {result.name}")
        self.stop_button = w.Button(
            description="Stop service",
            icon="stop",
            disabled=result.url is None,
            tooltip="stop the local service" if result.url else "not served (deploy with --serve, or `nb2prod serve`)",
        )
        self.status = w.HTML()
        self.below = w.VBox()
        self.monitor_button.on_click(lambda _b: self.toggle_monitor())
        self.stop_button.on_click(lambda _b: self.stop_service())
        super().__init__(children=[self.body, w.HBox([self.monitor_button, self.stop_button, self.status]), self.below])

    def workspace(self) -> Workspace:
        if self._workspace is None:
            from nb2prod.api import Workspace

            self._workspace = Workspace.open()
        return self._workspace

    def toggle_monitor(self) -> None:
        """Open the live monitor widget under the card, or close it when open."""
        if self.below.children:
            self._close_below()
            self.monitor_button.description = "Monitor"
            return
        from nb2prod.widgets.monitor import MonitorWidget

        try:
            self.below.children = [MonitorWidget(self.workspace(), self.result.name)]
        except Nb2prodError as exc:
            self._say(f"cannot monitor {self.result.name}: {exc}", error=True)
            return
        self.monitor_button.description = "Hide monitor"

    def stop_service(self) -> None:
        """Stop this version's local service."""
        ref = f"{self.result.name}:{self.result.version_id}"
        try:
            stopped = self.workspace().stop(ref)
        except Nb2prodError as exc:
            self._say(f"cannot stop {ref}: {exc}", error=True)
            return
        self.stop_button.disabled = True
        self._say(f"stopped {stopped[0].url}" if stopped else f"{ref} was not running")

    def close(self) -> None:
        self._close_below()
        super().close()

    def _close_below(self) -> None:
        for child in self.below.children:
            child.close()
        self.below.children = []

    def _say(self, text: str, *, error: bool = False) -> None:
        colour = "#d0021b" if error else "#555"
        self.status.value = f"<span style='color:{colour}'>{html.escape(text)}</span>"

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        bundle: dict[str, Any] = super()._repr_mimebundle_(**kwargs)
        bundle["text/plain"] = self.result.summary()
        bundle["text/html"] = deploy_result_html(self.result)  # for renderers without the widget state
        return bundle


def deployment_card(result: DeployResult | dict[str, Any], *, workspace: Workspace | None = None) -> DeploymentCard:
    """The card for a deploy result (a :class:`DeployResult` or its ``to_dict()``)."""
    return DeploymentCard(result if isinstance(result, DeployResult) else DeployResult.from_dict(result), workspace=workspace)
