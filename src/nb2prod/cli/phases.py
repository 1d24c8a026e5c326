"""The live phase display of ``nb2prod deploy``: which phase runs, how long each took (on stderr)."""

from __future__ import annotations

import threading
import time
from types import TracebackType
from typing import Any

__all__ = ["PhaseDisplay", "phase_of"]

# progress line (its start) → the phase it belongs to; the deploy's own steps report these lines
_PHASES: tuple[tuple[str, str], ...] = (
    ("running the notebook", "run notebook"),
    ("finishing the notebook run", "run notebook"),
    ("checking", "check + capture"),
    ("measuring", "check + capture"),
    ("capturing", "check + capture"),
    ("proving", "proof + build"),
    ("building", "proof + build"),
    ("waiting for the fresh-process proof", "proof + build"),
    ("loading the model from MLflow", "load from MLflow"),
    ("logging the version to MLflow", "log to MLflow"),
    ("registering", "register"),
    ("starting the service", "serve"),
    ("waiting for /readyz", "serve"),
)


def phase_of(message: str) -> str:
    """The phase a progress line belongs to (the line itself when it names none)."""
    for start, phase in _PHASES:
        if message.startswith(start):
            return phase
    return message


class PhaseDisplay:
    """``with PhaseDisplay() as show: … show.say(line) …``; ``parts`` holds each phase's seconds, in order.

    On a terminal a rich live view shows every phase (done ones with their time, the current one
    with a spinner); elsewhere one line per phase goes to stderr. ``enabled=False`` only times.
    """

    def __init__(self, *, enabled: bool = True) -> None:
        from rich.console import Console

        self.console = Console(stderr=True)
        self.enabled = enabled
        self.parts: dict[str, float] = {}
        self.current: str | None = None
        self.detail = ""
        self.started_at = time.perf_counter()
        self._since = self.started_at
        self._lock = threading.Lock()
        self._live: Any = None

    def _render(self) -> Any:
        from rich.spinner import Spinner
        from rich.table import Table

        table = Table.grid(padding=(0, 1))
        for phase, seconds in self.parts.items():
            if phase != self.current:
                table.add_row("[green]✓[/green]", phase, f"[dim]{seconds:.1f} s[/dim]")
        if self.current is not None:
            elapsed = time.perf_counter() - self._since + self.parts.get(self.current, 0.0)
            table.add_row(Spinner("dots"), f"[bold]{self.current}[/bold]", f"[dim]{elapsed:.1f} s  {self.detail}[/dim]")
        return table

    def say(self, message: str) -> None:
        with self._lock:
            phase = phase_of(message)
            self.detail = message
            if phase == self.current:
                return
            self._close_current()
            self.current = phase
            self.parts.setdefault(phase, 0.0)
            if self.enabled and self._live is None:
                self.console.print(f"[dim]…[/dim] {phase}: {message}", highlight=False)

    def _close_current(self) -> None:
        now = time.perf_counter()
        if self.current is not None:
            self.parts[self.current] = self.parts.get(self.current, 0.0) + now - self._since
        self._since = now

    def finish(self) -> float:
        """Close the running phase; the wall time since the display started."""
        with self._lock:
            self._close_current()
            self.current = None
        return time.perf_counter() - self.started_at

    def __enter__(self) -> PhaseDisplay:
        if self.enabled and self.console.is_terminal:
            from rich.live import Live

            self._live = Live(get_renderable=self._render, console=self.console, refresh_per_second=8, transient=False)
            self._live.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.finish()
        if self._live is not None:
            self._live.stop()
            self._live = None
