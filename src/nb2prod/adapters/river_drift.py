"""river adapter (the only module importing river): ADWIN change detection on a stream."""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["adwin_detections"]


def adwin_detections(values: Iterable[float], *, delta: float = 0.002, grace_period: int = 30) -> list[int]:
    """Positions in ``values`` where ADWIN (river) detects a change in the mean.

    ``delta`` is ADWIN's confidence (smaller: fewer false alarms, later detections).
    """
    from river.drift import ADWIN

    detector = ADWIN(delta=delta, grace_period=grace_period)
    found: list[int] = []
    for i, value in enumerate(values):
        detector.update(float(value))
        if detector.drift_detected:
            found.append(i)
    return found
