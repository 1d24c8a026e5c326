"""Datetime and free-text inputs drift by what they say, not by their raw values: the reference keeps
a datetime's hour/weekday/month (the parts that vary in training) and a text's lengths and
out-of-vocabulary share; the live requests' ISO-8601 strings and texts are folded into the same
derived columns at write time; the profile path and the row path agree. Uses the reviews notebook of
the test corpus (TfidfVectorizer + LogisticRegression on a text column, an hourly timestamp over a year)."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from nb2prod.monitor.derived import derived_inputs, oov_shares, vocabulary_of
from nb2prod.monitor.drift import compute_drift
from nb2prod.monitor.drift_profile import compute_drift_profile
from nb2prod.monitor.profile import Profile
from nb2prod.package.deploy.folder import reference_for
from nb2prod.package.schema import drift_columns, infer_schema

NOTEBOOK = Path(__file__).resolve().parents[1] / "package" / "notebooks" / "reviews_text_dates.ipynb"


@pytest.fixture(scope="module")
def trained() -> dict[str, Any]:
    import nbformat

    namespace: dict[str, Any] = {}
    with contextlib.redirect_stdout(io.StringIO()):
        for cell in nbformat.read(NOTEBOOK, as_version=4).cells:
            if cell.cell_type == "code":
                exec(compile(cell.source, str(NOTEBOOK), "exec"), namespace)
    frame = namespace["X_train"]
    schema = infer_schema(frame)
    columns, categorical = drift_columns(schema)
    datetimes = [f["name"] for f in schema if f.get("dtype") == "datetime"]
    texts = [f["name"] for f in schema if f.get("text")]
    reference = json.loads(json.dumps(reference_for(frame[[*columns, *datetimes, *texts]], categorical,
                                                    datetimes=datetimes, texts=texts)))
    return {"ns": namespace, "reference": reference, "datetimes": datetimes, "texts": texts}


def _rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Audit rows as the service stores them: the request's JSON values (timestamps as ISO-8601 strings)."""
    rows = []
    for i, record in enumerate(frame.to_dict("records")):
        inputs = {k: (v.isoformat() if isinstance(v, pd.Timestamp) else None if isinstance(v, float) and np.isnan(v) else v)
                  for k, v in record.items()}
        rows.append({"ts": 1_700_000_000.0 + i, "inputs": inputs, "output": "happy", "score": 0.7, "latency_ms": 2.0})
    return rows


def _drift(reference: dict[str, Any], frame: pd.DataFrame) -> dict[str, tuple[bool, int]]:
    rows = _rows(frame)
    profile = Profile()
    profile.fold(rows, {k: frozenset(v) for k, v in reference.get("vocabularies", {}).items()})  # as the store's writer
    by_profile = compute_drift_profile(reference, profile)
    by_rows = compute_drift(reference, pd.DataFrame([r["inputs"] for r in rows]))
    seen = {f.feature: (f.drifted, f.n_current) for f in by_profile.features}
    assert seen == {f.feature: (f.drifted, f.n_current) for f in by_rows.features}  # both paths derive the same parts
    return seen


def test_the_reference_sketches_parts_and_lengths_never_the_raw_columns(trained: dict[str, Any]) -> None:
    features = trained["reference"]["features"]
    assert trained["datetimes"] == ["posted"] and trained["texts"] == ["review"]
    assert "posted" not in features and "review" not in features
    assert {features[f"posted.{p}"]["kind"] for p in ("hour", "weekday", "month")} == {"categorical"}
    assert set(features["posted.weekday"]["counts"]) == {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"}
    assert len(features["posted.hour"]["counts"]) == 24 and features["review.words"]["kind"] == "numeric"
    assert features["review.words"]["min"] >= 3 and features["store"]["kind"] == "categorical"


def test_a_part_that_never_varies_in_training_is_left_out() -> None:
    frame = pd.DataFrame({"day": pd.date_range("2024-01-01", periods=90, freq="D"), "x": np.arange(90.0)})
    features = reference_for(frame, [], datetimes=["day"])["features"]
    assert "day.hour" not in features and {"day.weekday", "day.month", "x"} <= set(features)


def test_later_dates_of_the_same_population_are_not_drifted(trained: dict[str, Any]) -> None:
    test = trained["ns"]["X_test"].copy()
    test["posted"] = test["posted"] + pd.Timedelta(days=364)  # a year later: every raw timestamp is new, the parts are not
    seen = _drift(trained["reference"], test)
    assert seen["posted.hour"] == (False, len(test)) and not seen["posted.weekday"][0] and not seen["posted.month"][0]
    assert not seen["review.chars"][0] and not seen["review.words"][0]
    assert seen["review.oov"] == (False, len(test))  # held-out reviews of the same shop: the same words


def test_requests_all_at_night_and_longer_texts_are_drifted(trained: dict[str, Any]) -> None:
    test = trained["ns"]["X_test"].copy()
    test["posted"] = test["posted"].dt.normalize() + pd.Timedelta(hours=3)
    test["review"] = test["review"] + " " + test["review"] + " " + test["review"]
    seen = _drift(trained["reference"], test)
    assert seen["posted.hour"][0] and not seen["posted.month"][0]
    assert seen["review.words"][0] and seen["review.chars"][0] and not seen["store"][0]


def test_derived_inputs_leave_numbers_and_labels_alone_and_missing_parts_missing() -> None:
    derived = dict(derived_inputs([
        ("posted", ["2024-03-04T05:06:07Z", None, "2024-12-31T23:00:00+02:00"]),
        ("store", ["rome", "paris", "rome"]),
        ("basket", [1.5, None, 3.0]),
        ("note", ["a very long note", "three words here", None]),
    ]))
    # an offset is read as the service reads it: UTC wall time (23:00+02:00 is 21:00)
    assert derived["posted.hour"] == ["05", None, "21"] and derived["posted.weekday"] == ["Mon", None, "Tue"]
    assert derived["posted.month"] == ["Mar", None, "Dec"]
    assert derived["note.words"] == [4, 3, None] and derived["note.chars"] == [16, 16, None]
    assert not any(k.startswith(("store.", "basket.")) for k in derived)


def test_parsed_timestamps_and_nat_derive_like_iso_strings() -> None:
    moments = pd.Series(pd.to_datetime(["2024-03-04T05:06:07", None]))
    derived = dict(derived_inputs([("posted", moments.tolist())]))
    assert derived["posted.hour"] == ["05", None] and derived["posted.month"] == ["Mar", None]


GERMAN = {"great": "toll", "fast": "schnell", "friendly": "freundlich", "excellent": "ausgezeichnet", "love": "liebe",
          "slow": "langsam", "broken": "kaputt", "rude": "unhöflich", "late": "spät", "refund": "erstattung",
          "order": "bestellung", "parcel": "paket", "item": "artikel", "delivery": "lieferung", "box": "karton",
          "today": "heute", "the": "die", "was": "war"}


def _translated(test: pd.DataFrame, words: dict[str, str]) -> pd.DataFrame:
    """The same reviews, word for word, in other words: the word counts stay, the vocabulary does not."""
    out = test.copy()
    out["review"] = out["review"].map(lambda text: " ".join(words.get(w, w) for w in text.split()))
    return out


def test_reviews_in_another_language_drift_on_the_vocabulary_alone(trained: dict[str, Any]) -> None:
    reference = trained["reference"]
    assert "the" in reference["vocabularies"]["review"] and reference["features"]["review.oov"]["kind"] == "numeric"
    assert reference["features"]["review.oov"]["max"] == 0.0  # every training word is in the training vocabulary here
    seen = _drift(reference, _translated(trained["ns"]["X_test"], GERMAN))
    assert seen["review.oov"] == (True, len(trained["ns"]["X_test"]))
    assert not seen["review.words"][0] and not seen["store"][0]  # as many words as before: only the vocabulary moved
    # why it matters and nothing else shows it: the model answers as if every review were empty (TfidfVectorizer
    # maps unknown words to nothing), with no error and no guardrail tripped
    model, test = trained["ns"]["model"], trained["ns"]["X_test"]
    assert (model.predict(_translated(test, GERMAN)) == model.predict(test.assign(review=""))).all()


def test_new_product_names_drift_and_a_few_unknown_words_do_not(trained: dict[str, Any]) -> None:
    test = trained["ns"]["X_test"]
    products = {"parcel": "zenphone", "item": "airpod", "box": "pixelbook"}  # the shop starts selling new things
    assert _drift(trained["reference"], _translated(test, products))["review.oov"][0]
    typos = test.copy()
    typos.iloc[:3, typos.columns.get_loc("review")] = typos["review"].iloc[:3] + " thx"
    assert not _drift(trained["reference"], typos)["review.oov"][0]


def test_a_reference_without_a_vocabulary_still_monitors_without_oov(trained: dict[str, Any]) -> None:
    old = json.loads(json.dumps(trained["reference"]))
    del old["vocabularies"], old["features"]["review.oov"]
    for row in old["sample"]:
        row.pop("review.oov", None)
    seen = _drift(old, _translated(trained["ns"]["X_test"], GERMAN))
    assert "review.oov" not in seen and not seen["review.words"][0] and seen["store"] == (False, len(trained["ns"]["X_test"]))


def test_vocabulary_and_oov_share_per_row() -> None:
    texts = ["The box, the BOX!", "box item", "once only", None, "...", 3.5]
    assert vocabulary_of(texts) == ["box", "the"]  # lower-cased words seen twice or more, commonest first
    assert oov_shares(texts, ["box", "the"]) == [0.0, 0.5, 1.0, None, None, None]
    derived = dict(derived_inputs([("note", texts[:3])], {"note": frozenset(["box", "the"])}))
    assert derived["note.oov"] == [0.0, 0.5, 1.0] and "note.oov" not in dict(derived_inputs([("note", texts[:3])]))


@pytest.fixture
def store(any_store_url: str) -> Any:
    from nb2prod.store import Store

    s = Store.open(any_store_url)
    yield s
    s.close()


def test_every_writer_folds_the_oov_share_from_the_registered_record(trained: dict[str, Any], store: Any) -> None:
    """The service's write path: rows reach the store, which folds ``review.oov`` against the vocabulary of the
    version's record; the monitored profile then agrees with the exact row path. A version whose record has no
    vocabulary (deployed before it was kept) folds without one."""
    import uuid

    from nb2prod.models import AuditEvent, VersionRecord

    reference, name = trained["reference"], f"reviews-{uuid.uuid4().hex[:8]}"
    vocabularies = {"vocabularies": reference["vocabularies"]}
    for version, extra in ((f"{name}-v1", vocabularies), (f"{name}-v0", {})):
        store.registry.add_version(VersionRecord(version_id=version, name=name, created_at="2026-12-06T00:00:00",
                                                 model_hash="x", extra=extra))
    foreign = _translated(trained["ns"]["X_test"], GERMAN)
    rows = _rows(foreign)
    events = [AuditEvent(request_id=f"{version}-{i}", name=name, version_id=version, ts=row["ts"], inputs=row["inputs"],
                         output=row["output"], score=row["score"], latency_ms=row["latency_ms"])
              for version in (f"{name}-v1", f"{name}-v0", f"{name}-v9") for i, row in enumerate(rows)]  # v9: not registered
    import sqlalchemy as sa

    read: list[str] = []  # the version ids whose record the fold looked up

    def count(conn: Any, cursor: Any, statement: str, parameters: Any, *args: Any) -> None:
        if "versions.record" in statement:
            values = parameters.values() if isinstance(parameters, dict) else parameters
            read.extend(str(v) for v in values if str(v).startswith(name))

    sa.event.listen(store.audit._engine, "before_cursor_execute", count)
    try:
        for start in range(0, len(events), 40):  # in batches, as the audit writer sends them
            store.audit.write(events[start:start + 40])
    finally:
        sa.event.remove(store.audit._engine, "before_cursor_execute", count)
    # the write path is hot: a registered version's record is read once, not per batch; the unregistered v9 again
    assert read.count(f"{name}-v1") == 1 and read.count(f"{name}-v0") == 1 and read.count(f"{name}-v9") > 1
    merged: dict[str, Profile] = {}
    for bucket in store.audit.profiles.buckets(name):
        merged.setdefault(bucket.version_id, Profile()).merge(bucket.profile)
    assert "review.oov" not in merged[f"{name}-v0"].columns and "review.oov" not in merged[f"{name}-v9"].columns
    by_profile = {f.feature: (f.drifted, f.n_current) for f in compute_drift_profile(reference, merged[f"{name}-v1"]).features}
    by_rows = {f.feature: (f.drifted, f.n_current) for f in compute_drift(reference, pd.DataFrame([r["inputs"] for r in rows])).features}
    assert by_profile == by_rows and by_profile["review.oov"] == (True, len(rows))


def _zipf_texts(n: int, seed: int, prefix: str = "w") -> list[str]:
    """Texts of 5–20 words drawn from a 20,000-word Zipf vocabulary: natural text's long tail of rare words."""
    rng = np.random.default_rng(seed)
    weights = 1.0 / np.arange(1, 20_001)
    ids = rng.choice(20_000, size=n * 20, p=weights / weights.sum())
    lengths = rng.integers(5, 21, size=n)
    return [" ".join(f"{prefix}{i}" for i in ids[k * 20:k * 20 + length]) for k, length in enumerate(lengths)]


def test_a_long_tail_of_rare_words_is_no_drift_and_a_new_vocabulary_is() -> None:
    """Each training row's share is measured held out, as a live row's is: in-sample, its own rare words would
    count as known and every same-population window would look drifted."""
    reference = reference_for(pd.DataFrame({"note": _zipf_texts(3000, 0)}), [], texts=["note"])
    assert reference["features"]["note.oov"]["mean"] > 0.05  # rare words outside the kept 2,000 in training too

    def drifted(texts: list[str]) -> bool:
        rows = [{"ts": 1_700_000_000.0 + i, "inputs": {"note": t}, "output": 1} for i, t in enumerate(texts)]
        profile = Profile()
        profile.fold(rows, {"note": frozenset(reference["vocabularies"]["note"])})
        by_profile = {f.feature: f.drifted for f in compute_drift_profile(reference, profile).features}
        assert by_profile == {f.feature: f.drifted for f in compute_drift(reference, pd.DataFrame({"note": texts})).features}
        return by_profile["note.oov"]

    assert not any(drifted(_zipf_texts(n, seed)) for n, seed in ((300, 1), (2000, 2)))
    mixed = [a if i % 4 else b for i, (a, b) in enumerate(zip(_zipf_texts(2000, 3), _zipf_texts(2000, 4, prefix="x"), strict=True))]
    assert drifted(mixed)  # a quarter of the texts in words never seen


def test_the_store_keeps_the_vocabularies_of_its_recent_versions_only(store: Any) -> None:
    """A long-lived writer (a rebuild walks every version) keeps a bounded number of versions' vocabularies;
    a version pushed out is read again from its record, with the same words."""
    import uuid

    from nb2prod.models import VersionRecord
    from nb2prod.store.profiles import VOCABULARY_VERSIONS

    name = f"vocab-{uuid.uuid4().hex[:8]}"
    versions = [f"{name}-v{i}" for i in range(VOCABULARY_VERSIONS + 5)]
    for i, version in enumerate(versions):
        store.registry.add_version(VersionRecord(version_id=version, name=name, created_at="2026-12-06T00:00:00",
                                                 model_hash="x", extra={"vocabularies": {"review": [f"word{i}", "common"]}}))
    profiles = store.audit.profiles
    with store.audit._engine.connect() as conn:
        for version in versions:
            assert profiles._vocabularies_of(conn, [version])[version] == {"review": frozenset({f"word{versions.index(version)}", "common"})}
        kept = list(profiles._vocabularies)
        assert len(kept) == VOCABULARY_VERSIONS and kept[-1] == versions[-1] and versions[0] not in kept
        assert profiles._vocabularies_of(conn, [versions[0]]) == {versions[0]: {"review": frozenset({"word0", "common"})}}
        assert list(profiles._vocabularies)[-1] == versions[0] and len(profiles._vocabularies) == VOCABULARY_VERSIONS
