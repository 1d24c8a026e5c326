"""Drift of a free-text input column, from length and vocabulary statistics.

A count per distinct text is no reference for text (every review is new), so a text column is
summarised by what changes when its population changes: the length in characters and words (a
KS statistic against the training quantiles) and the share of words outside the training
vocabulary (new products, another language, a broken upstream template). ``text_reference``
runs on the training column at deploy time (JSON-ready); ``text_drift`` on a window of live values.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

__all__ = ["MIN_ROWS", "text_drift", "text_reference"]

_WORD = re.compile(r"\w+", re.UNICODE)
_LEVELS = np.linspace(0.0, 1.0, 101)
#: fewer live texts than this: "insufficient", never "drifted"
MIN_ROWS = 30


def _stats(values: Iterable[Any]) -> tuple[np.ndarray, np.ndarray, list[list[str]]]:
    texts = [v for v in values if isinstance(v, str)]
    words = [_WORD.findall(t.lower()) for t in texts]
    return np.array([len(t) for t in texts], dtype=float), np.array([len(w) for w in words], dtype=float), words


def _oov(words: list[list[str]], vocabulary: set[str]) -> float:
    total = sum(len(w) for w in words)
    return sum(1 for ws in words for w in ws if w not in vocabulary) / total if total else 0.0


def text_reference(values: Iterable[Any], *, vocabulary_size: int = 2000) -> dict[str, Any]:
    """Training quantiles of length (characters, words), the ``vocabulary_size`` commonest words, their OOV rate."""
    chars, counts, words = _stats(values)
    vocabulary = [w for w, _ in Counter(w for ws in words for w in ws).most_common(vocabulary_size)]
    return {
        "kind": "text",
        "n": int(chars.size),
        "chars": np.quantile(chars, _LEVELS).tolist() if chars.size else [],
        "words": np.quantile(counts, _LEVELS).tolist() if counts.size else [],
        "vocabulary": vocabulary,
        "oov_rate": _oov(words, set(vocabulary)),
    }


def _ks(reference_quantiles: list[float], live: np.ndarray) -> float:
    """KS statistic between the reference (its quantiles at 0, 0.01 … 1) and the live values."""
    grid = np.asarray(reference_quantiles, dtype=float)
    live = np.sort(live)
    live_cdf = np.searchsorted(live, grid, side="right") / live.size
    reference_cdf = np.searchsorted(grid, grid, side="right") / grid.size
    return float(np.max(np.abs(live_cdf - reference_cdf)))


def text_drift(reference: Mapping[str, Any], values: Iterable[Any], *, ks_threshold: float = 0.2,
               oov_increase: float = 0.1, min_rows: int = MIN_ROWS) -> dict[str, Any]:
    """``{"status": "ok" | "drifted" | "insufficient", "n", "ks_chars", "ks_words", "oov_rate", "reference_oov_rate"}``.

    Drifted when the length in characters or words moved by more than ``ks_threshold`` (KS) or the
    share of out-of-vocabulary words rose by more than ``oov_increase``.
    """
    chars, counts, words = _stats(values)
    result: dict[str, Any] = {"n": int(chars.size), "reference_oov_rate": reference.get("oov_rate", 0.0)}
    if chars.size < min_rows or not reference.get("chars"):
        return {**result, "status": "insufficient", "ks_chars": None, "ks_words": None, "oov_rate": None}
    ks_chars, ks_words = _ks(reference["chars"], chars), _ks(reference["words"], counts)
    oov = _oov(words, set(reference.get("vocabulary") or ()))
    drifted = ks_chars > ks_threshold or ks_words > ks_threshold or oov - float(reference.get("oov_rate", 0.0)) > oov_increase
    return {**result, "status": "drifted" if drifted else "ok", "ks_chars": ks_chars, "ks_words": ks_words, "oov_rate": oov}
