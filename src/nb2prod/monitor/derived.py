"""What drift compares for a datetime or a free-text input: derived columns, the same at training and live.

A raw timestamp is "always drifted" (every new day lies past the training range) and a count per
distinct text is no reference (every review is new). Drift is measured instead on what such a
column says about the population:

- a datetime column ``posted`` → ``posted.hour`` (``"00"``…``"23"``), ``posted.weekday`` (``"Mon"``…)
  and ``posted.month`` (``"Jan"``…), categorical, each kept only when it varies in the training data
  (dates without a time of day have no ``.hour``);
- a text column ``review`` → ``review.chars`` and ``review.words`` (lengths), numeric, and, when the
  deployment keeps a training vocabulary (:func:`vocabulary_of`, the commonest words of the training
  column), ``review.oov``: the share of each row's words outside it — what moves when texts arrive in
  another language or name new products while their lengths stay the same.

The same functions derive the training sketches (:func:`derived_frame`, at deploy) and the live
values folded into the per-minute profiles (:func:`derived_inputs`, at write time, where requests
carry ISO-8601 strings), so both sides name and bin the parts identically. A training row's ``.oov``
is measured held out (:func:`held_out_oov_shares`), as every live row is; a deployment without a
vocabulary (deployed before it was kept) simply has no ``.oov`` column.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "DATETIME_PARTS", "TEXT_PARTS", "VOCABULARY_SIZE", "derived_frame", "derived_inputs", "derived_of", "held_out_oov_shares",
    "oov_shares", "vocabulary_of",
]

DATETIME_PARTS = ("hour", "weekday", "month")
TEXT_PARTS = ("chars", "words", "oov")
#: the training vocabulary keeps at most this many words, each seen at least twice (a word seen once is
#: as likely a typo or a name as vocabulary, and would make every training row look fully known)
VOCABULARY_SIZE = 2000
_FOLDS = 10  # held-out folds of the training rows' ``.oov``
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$")
_WORD = re.compile(r"\S+")
_TOKEN = re.compile(r"\w+")  # vocabulary words: letters and digits, lower-cased, punctuation apart


def _parts(moment: datetime | None) -> tuple[str, str, str] | None:
    if moment is None:
        return None
    if moment.tzinfo is not None:  # the service reads an offset as UTC wall time (naive training values are UTC): so do the parts
        moment = moment.astimezone(UTC)
    return f"{moment.hour:02d}", _WEEKDAYS[moment.weekday()], _MONTHS[moment.month - 1]


def _parse(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value == value else None  # pandas' NaT is a datetime that equals nothing
    if isinstance(value, str) and _ISO.match(value):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    return None


def _is_text(values: Sequence[Any]) -> bool:
    """Free text, as the schema decides it: most values hold three words or more (judged on the batch's first 64,
    so the write path's cost per label column stays small)."""
    counts = sorted(len(v.split()) for v in values[:64] if isinstance(v, str))
    return bool(counts) and counts[len(counts) // 2] >= 3


def _tokens(value: Any) -> list[str]:
    return _TOKEN.findall(value.lower()) if isinstance(value, str) else []


def _top(counts: Counter[str], size: int) -> list[str]:
    return sorted((w for w, c in counts.items() if c >= 2), key=lambda w: (-counts[w], w))[:size]


def vocabulary_of(values: Iterable[Any], size: int = VOCABULARY_SIZE) -> list[str]:
    """The training vocabulary of a text column: its ``size`` commonest words seen at least twice (ties by word)."""
    return _top(Counter(token for v in values for token in _tokens(v)), size)


def held_out_oov_shares(values: Sequence[Any], size: int = VOCABULARY_SIZE) -> list[float | None]:
    """Each training value's out-of-vocabulary share against the vocabulary of the *other* rows (row ``i`` in
    fold ``i % 10``), as a live value, never seen when the vocabulary was built, is measured.

    Measured in-sample, a row's own rarer words count as known: on natural text (a long tail of rare
    words) same-population live texts then look drifted in every window.
    """
    tokens = [_tokens(v) for v in values]
    folds: list[Counter[str]] = [Counter() for _ in range(_FOLDS)]
    for index, words in enumerate(tokens):
        folds[index % _FOLDS].update(words)
    total: Counter[str] = sum(folds, Counter())
    shares: list[float | None] = [None] * len(tokens)
    for fold, counts in enumerate(folds):
        known = frozenset(_top(total - counts, size))
        for index in range(fold, len(tokens), _FOLDS):
            words = tokens[index]
            shares[index] = sum(t not in known for t in words) / len(words) if words else None
    return shares


def oov_shares(values: Iterable[Any], vocabulary: Collection[str]) -> list[float | None]:
    """Per value, the share of its words outside ``vocabulary``; missing for a non-text or a text without words."""
    known = vocabulary if isinstance(vocabulary, (set, frozenset)) else frozenset(vocabulary)
    shares: list[float | None] = []
    for value in values:
        tokens = _tokens(value)
        shares.append(sum(t not in known for t in tokens) / len(tokens) if tokens else None)
    return shares


def derived_inputs(columns: Sequence[tuple[str, Sequence[Any]]],
                   vocabularies: Mapping[str, Collection[str]] | None = None) -> list[tuple[str, list[Any]]]:
    """The derived live columns of a batch of request inputs (``[(column, values)]``, values as received).

    A column whose first text value is an ISO-8601 date yields its parts; free text yields its lengths;
    numbers and short labels yield nothing. A value that is not a date or a text is a missing part.
    A column with a training vocabulary in ``vocabularies`` also yields ``.oov`` (decided by the
    vocabulary, not by the batch, so every batch of the column derives it alike).
    """
    derived: list[tuple[str, list[Any]]] = []
    vocabularies = vocabularies or {}
    for name, values in columns:
        first = next((v for v in values if v is not None), None)
        if isinstance(first, datetime) or (isinstance(first, str) and _ISO.match(first)):
            parts = [_parts(_parse(v)) for v in values]
            for index, part in enumerate(DATETIME_PARTS):
                derived.append((f"{name}.{part}", [None if p is None else p[index] for p in parts]))
        elif isinstance(first, str) and _is_text(values):
            derived.append((f"{name}.chars", [len(v) if isinstance(v, str) else None for v in values]))
            derived.append((f"{name}.words", [len(_WORD.findall(v)) if isinstance(v, str) else None for v in values]))
        if name in vocabularies:
            derived.append((f"{name}.oov", oov_shares(values, vocabularies[name])))
    return derived


def derived_frame(frame: pd.DataFrame, datetimes: Sequence[str], texts: Sequence[str], *,
                  oov: bool = False) -> tuple[pd.DataFrame, list[str]]:
    """``(the training frame's derived columns, the categorical ones)``: datetime parts that vary, text lengths,
    and with ``oov`` each text's held-out out-of-vocabulary share (its vocabulary is :func:`vocabulary_of`)."""
    import pandas as pd

    out: dict[str, Any] = {}
    categorical: list[str] = []
    for name in datetimes:
        moments = pd.to_datetime(frame[name], errors="coerce")
        parts = [_parts(None if pd.isna(m) else m.to_pydatetime()) for m in moments]
        for index, part in enumerate(DATETIME_PARTS):
            values = pd.Series([None if p is None else p[index] for p in parts], index=frame.index, dtype=object)
            if values.nunique(dropna=True) > 1:  # a part that never changed in training says nothing live
                out[f"{name}.{part}"] = values
                categorical.append(f"{name}.{part}")
    for name in texts:
        text = frame[name].where(frame[name].map(lambda v: isinstance(v, str)))
        out[f"{name}.chars"] = text.map(len, na_action="ignore").astype(float)
        out[f"{name}.words"] = text.map(lambda v: len(_WORD.findall(v)), na_action="ignore").astype(float)
        if oov:
            shares = held_out_oov_shares(frame[name].tolist())
            out[f"{name}.oov"] = pd.Series([float("nan") if v is None else v for v in shares], index=frame.index, dtype=float)
    return pd.DataFrame(out, index=frame.index), categorical


def derived_of(current: pd.DataFrame, features: Sequence[str],
               vocabularies: Mapping[str, Collection[str]] | None = None) -> pd.DataFrame:
    """``current`` (live inputs as received) with the derived ``features`` it lacks added from their columns
    (``.oov`` against ``vocabularies``, the reference's)."""
    wanted = {f.rsplit(".", 1)[0] for f in features
              if f not in current.columns and "." in f and f.rsplit(".", 1)[0] in current.columns}
    if not wanted:
        return current
    extra = derived_inputs([(name, current[name].tolist()) for name in sorted(wanted)], vocabularies)
    added = {name: values for name, values in extra if name in features}
    return current.assign(**added) if added else current
