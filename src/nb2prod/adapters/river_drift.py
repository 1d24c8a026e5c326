"""river adapter (the only module importing river): ADWIN change detection on a stream."""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["adwin_detections"]


def adwin_detections(values: Iterable[float], *, delta: float = 0.002, grace_period: int = 30) -> list[int]:
    """Positions in ``values`` where ADWIN (river) detects a change in the mean.

    ``delta`` is ADWIN's confidence (smaller: fewer false alarms, later detections).

    ``river.drift.ADWIN`` is a thin wrapper of river's Rust detector, but importing ``river.drift``
    runs that package, which imports its datasets and through them scikit-learn, pandas and scipy
    (~1.7 s: most of a fresh process's first monitoring read). The detector alone imports in
    milliseconds; it is driven here as the wrapper drives it (river's defaults, a fresh detector
    after each detection). A river without it gets the public class.
    """
    try:
        from river._river_rust.drift import AdaptiveWindowing
    except ImportError:  # pragma: no cover - a river release that moved it
        return _public_adwin(values, delta=delta, grace_period=grace_period)

    def fresh() -> AdaptiveWindowing:  # river.drift.ADWIN's defaults for the rest
        return AdaptiveWindowing(delta=delta, clock=32, max_buckets=5, min_window_length=5, grace_period=grace_period)

    detector = fresh()
    found: list[int] = []
    for i, value in enumerate(values):
        if detector.update(float(value)):
            found.append(i)
            detector = fresh()
    return found


def _public_adwin(values: Iterable[float], *, delta: float, grace_period: int) -> list[int]:
    from river.drift import ADWIN

    detector = ADWIN(delta=delta, grace_period=grace_period)
    found: list[int] = []
    for i, value in enumerate(values):
        detector.update(float(value))
        if detector.drift_detected:
            found.append(i)
    return found
