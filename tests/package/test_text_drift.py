"""Text drift by length and vocabulary: the same population is not drifted, longer texts or new words are."""

from __future__ import annotations

import json

import numpy as np

from nb2prod.monitor.text_drift import text_drift, text_reference

GOOD = ["great", "fast", "friendly", "excellent", "love"]
BAD = ["slow", "broken", "rude", "late", "refund"]
NEUTRAL = ["order", "parcel", "item", "delivery", "box", "today", "the", "was"]


def _reviews(n: int, seed: int, words: list[str], low: int = 3, high: int = 12) -> list[str]:
    rng = np.random.default_rng(seed)
    return [" ".join(rng.choice(words, size=rng.integers(low, high))) for _ in range(n)]


def test_same_population_is_not_drifted_and_the_reference_is_json() -> None:
    reference = json.loads(json.dumps(text_reference([*_reviews(800, 0, GOOD + BAD + NEUTRAL), None])))
    assert reference["n"] == 800 and reference["oov_rate"] == 0.0
    result = text_drift(reference, _reviews(300, 1, GOOD + BAD + NEUTRAL))
    assert result["status"] == "ok" and result["ks_words"] < 0.2 and result["oov_rate"] == 0.0


def test_longer_texts_or_new_words_are_drifted_and_few_rows_are_insufficient() -> None:
    reference = text_reference(_reviews(800, 0, GOOD + BAD + NEUTRAL))
    longer = text_drift(reference, _reviews(300, 2, GOOD + BAD + NEUTRAL, low=20, high=40))
    assert longer["status"] == "drifted" and longer["ks_words"] > 0.5
    foreign = text_drift(reference, _reviews(300, 3, ["sehr", "gut", "paket", "heute", "schnell"]))
    assert foreign["status"] == "drifted" and foreign["oov_rate"] == 1.0
    assert text_drift(reference, _reviews(10, 4, GOOD))["status"] == "insufficient"
