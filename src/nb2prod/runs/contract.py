"""The data contract: new training data checked against the schema and guardrails recorded at deploy.

A version's ``schema["features"]`` (names, dtypes, nullability, numeric ``min``/``max``, known
``categories``) is its contract. Before a retrain starts a kernel, the new data must have every
feature with a compatible type, no missing values where training had none, and no more than
``max_share`` of rows outside the recorded ranges (widened by ``tolerance`` × the span) or in
unseen categories. Extra columns are reported only when ``allow_extra`` is false; the target
column is always allowed.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nb2prod.errors import GateRefusedError, InvalidInputError
from nb2prod.models import ContractReport, ContractViolation, VersionRecord

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["check_contract", "enforce_contract", "load_table"]


def load_table(data: Any, *, what: str = "data") -> pd.DataFrame:
    """``data`` as a DataFrame: a DataFrame as is, or a CSV / Parquet / JSON-lines file path."""
    import pandas as pd

    if isinstance(data, pd.DataFrame):
        return data
    if not isinstance(data, (str, Path)):
        raise InvalidInputError(f"{what} is a {type(data).__name__}, not a table or a file", fix="pass a DataFrame or a CSV path")
    path = Path(data).expanduser()
    if not path.is_file():
        raise InvalidInputError(f"{what} file {path} does not exist", fix="give the path of a CSV or Parquet file")
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            return pd.read_parquet(path)
        if suffix in {".jsonl", ".ndjson"}:
            return pd.read_json(path, lines=True)
        return pd.read_csv(path)
    except Exception as exc:  # pandas raises many parser errors
        raise InvalidInputError(f"cannot read {path.name}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}",
                                fix="give a well-formed CSV (header row first) or Parquet file") from exc


def _share(mask: Any, n: int) -> float:
    return round(float(mask.sum()) / n, 4) if n else 0.0


def check_contract(
    record: VersionRecord,
    data: Any,
    *,
    target: str | None = None,
    tolerance: float = 0.1,
    max_share: float = 0.01,
    allow_extra: bool = True,
) -> ContractReport:
    """Every way ``data`` breaks ``record``'s recorded schema and guardrails (an empty report when it does not)."""
    import pandas as pd

    frame = load_table(data)
    features: Sequence[dict[str, Any]] = record.schema.get("features") or []
    if not features:
        raise InvalidInputError(f"{record.version_id} has no recorded schema", fix="redeploy it with %deploy to record one")
    target = target if target is not None else record.extra.get("target")
    n = len(frame)
    found: list[ContractViolation] = []
    if n == 0:
        found.append(ContractViolation("*", "rows", "the data has no rows"))
    known = {f["name"] for f in features}
    for name in frame.columns:
        if name not in known and name != target and not allow_extra:
            found.append(ContractViolation(str(name), "extra", "column not in the contract"))
    for feature in features:
        name = feature["name"]
        if name not in frame.columns:
            found.append(ContractViolation(name, "missing", "column is missing"))
            continue
        series = frame[name]
        dtype = feature.get("dtype")
        nulls = series.isna()
        if not feature.get("nullable", False) and nulls.any():
            found.append(ContractViolation(name, "nulls", f"{int(nulls.sum())} missing value(s) where training had none",
                                           _share(nulls, n)))
        values = series.dropna()
        if dtype in {"int", "float"}:
            numbers = pd.to_numeric(values, errors="coerce")
            bad = numbers.isna()
            if bad.any():
                example = str(values[bad].iloc[0])[:40]
                found.append(ContractViolation(name, "dtype", f"expected {dtype}, got non-numeric values such as {example!r}",
                                               _share(bad, n)))
                continue
            if dtype == "int" and len(numbers) and not (numbers == numbers.round()).all():
                found.append(ContractViolation(name, "dtype", "expected whole numbers, got fractions"))
            low, high = feature.get("min"), feature.get("max")
            if low is not None and high is not None and len(numbers):
                slack = tolerance * max(float(high) - float(low), abs(float(high)) * 1e-9, 1e-12)
                outside = (numbers < float(low) - slack) | (numbers > float(high) + slack)
                share = _share(outside, n)
                if share > max_share:
                    found.append(ContractViolation(
                        name, "range",
                        f"{share:.1%} of rows outside the recorded range [{low}, {high}] (±{tolerance:.0%}); "
                        f"seen {numbers.min():g}..{numbers.max():g}", share))
        elif dtype == "bool":
            if not values.isin([True, False, 0, 1]).all():
                found.append(ContractViolation(name, "dtype", "expected booleans"))
        elif dtype == "category":
            categories = set(feature.get("categories") or [])
            texts = values.astype(str)
            unseen = ~texts.isin(categories)
            share = _share(unseen, n)
            if categories and share > max_share:
                examples = ", ".join(sorted(set(texts[unseen].head(200)))[:5])
                found.append(ContractViolation(name, "category", f"{share:.1%} of rows in unseen categories ({examples})", share))
    return ContractReport(name=record.name, version_id=record.version_id, rows=n, violations=tuple(found))


def enforce_contract(record: VersionRecord, data: Any, **options: Any) -> ContractReport:
    """:func:`check_contract`, raising :class:`GateRefusedError` with the report when the data breaks the contract."""
    report = check_contract(record, data, **options)
    if not report.ok:
        first = report.violations[0]
        raise GateRefusedError(
            f"data contract of {record.version_id}: {len(report.violations)} violation(s), e.g. {first.feature}: {first.message}",
            fix="fix the data (or its pipeline) and retry; `nb2prod contract NAME DATA` prints the full report",
            evidence=report.to_dict(),
        )
    return report
