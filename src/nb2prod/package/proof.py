"""The fresh-process proof: load the saved model in a new interpreter, predict the sample rows,
and compare with what the kernel predicted — before a deploy is declared good.

The child process starts in the deployment folder (so nothing from the notebook's folder is
importable by accident), loads through :func:`nb2prod.package.artifact.load_model` (the loader the
service uses), rebuilds the rows from JSON exactly as the service does, and prints its answers.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nb2prod.errors import InvalidInputError
from nb2prod.runtime.answer_match import same_answer
from nb2prod.runtime.predictor import jsonable

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["ProofJob", "compare_predictions", "frame_from_rows", "sample_rows", "start_proof"]


def _plain(value: Any) -> Any:
    """One cell as JSON holds it, losslessly: numpy → Python, NaN/NaT/NA → None, datetimes → ISO."""
    import pandas as pd

    try:
        missing = value is None or bool(pd.isna(value))
    except (TypeError, ValueError):  # a list or array in a cell: not a scalar missing value
        missing = False
    if missing:
        return None
    if hasattr(value, "isoformat"):
        return value.isoformat()
    item = getattr(value, "item", None)
    value = item() if callable(item) else value
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def sample_rows(frame: pd.DataFrame, n: int = 200, seed: int = 0) -> list[dict[str, Any]]:
    """Up to ``n`` rows as JSON-ready dicts (NaN → null, numpy → Python, datetimes → ISO).

    Floats keep every digit (``to_json`` would round them to 10): the rows are the very values the
    kernel predicted, and a client sending them gets the same answers.
    """
    chosen = frame.sample(n=min(n, len(frame)), random_state=seed) if len(frame) > n else frame
    columns = [str(c) for c in chosen.columns]
    return [{c: _plain(v) for c, v in zip(columns, row, strict=True)} for row in chosen.itertuples(index=False, name=None)]


def frame_from_rows(rows: Sequence[dict[str, Any]], features: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """The DataFrame a service builds from request rows: the schema's columns, in order."""
    from pathlib import Path

    from nb2prod.runtime.predictor import make_frame
    from nb2prod.runtime.spec import FeatureSpec

    specs = [FeatureSpec.parse(f, Path("."), i) for i, f in enumerate(features)]
    return make_frame(rows, [f.name for f in specs], specs)


def compare_predictions(expected: dict[str, Any], actual: dict[str, Any]) -> dict[str, Any]:
    """Row-by-row comparison of two ``{"predictions": [...], "scores": [...]}`` answers."""
    exp_d, act_d = expected.get("predictions", []), actual.get("predictions", [])
    exp_s, act_s = expected.get("scores", []), actual.get("scores", [])
    if len(exp_d) != len(act_d):
        return {"rows": len(exp_d), "mismatched": len(exp_d), "max_abs_diff": None, "first_mismatch": None, "ok": False}
    mismatched = [i for i, (a, b) in enumerate(zip(exp_d, act_d, strict=True)) if not same_answer(a, b)]
    diffs = [abs(float(a) - float(b)) for a, b in zip(exp_s, act_s, strict=False) if a is not None and b is not None]
    mismatched += [
        i for i, (a, b) in enumerate(zip(exp_s, act_s, strict=False)) if i not in mismatched and not same_answer(a, b)
    ]
    first = None
    if mismatched:
        i = min(mismatched)
        first = {
            "row": i,
            "expected": exp_d[i],
            "actual": act_d[i],
            "expected_score": exp_s[i] if i < len(exp_s) else None,
            "actual_score": act_s[i] if i < len(act_s) else None,
        }
    return {
        "rows": len(exp_d),
        "mismatched": len(mismatched),
        "max_abs_diff": max(diffs) if diffs else 0.0,
        "first_mismatch": first,
        "ok": not mismatched,
    }


def _proven_path(expected: dict[str, Any], answer: dict[str, Any]) -> dict[str, Any]:
    """The path the fresh process would serve with: the compiled one only if its answers equal the notebook's too."""
    path = answer.get("predict_path") or {"predict_path": "sklearn", "reason": "no compiled path reported"}
    if path.get("predict_path") != "numpy":
        return path
    fast = compare_predictions(expected, {"predictions": answer.get("fast_predictions") or [], "scores": answer.get("fast_scores") or []})
    if not fast["ok"]:
        return {"predict_path": "sklearn", "reason": f"the compiled path differs from the notebook on {fast['mismatched']} of {fast['rows']} sample rows"}
    return {"predict_path": "numpy", "reason": f"{path.get('reason')}; equal to the notebook's predictions in a fresh process"}


@dataclass
class ProofJob:
    """A child process loading and predicting the saved model."""

    process: subprocess.Popen[str]
    folder: Path

    def wait(self, expected: dict[str, Any], timeout_s: float = 300.0) -> dict[str, Any]:
        """Compare the child's predictions with ``expected``; raise :class:`InvalidInputError` if they differ."""
        try:
            out, err = self.process.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.communicate()
            raise InvalidInputError(
                f"the saved model did not load and predict within {timeout_s:.0f}s in a fresh process", fix="check the model size"
            ) from None
        answer = None
        for line in reversed(out.splitlines()):
            if line.startswith("NB2PROD_PROOF "):
                answer = json.loads(line[len("NB2PROD_PROOF ") :])
                break
        if answer is None or "error" in answer:
            detail = (answer or {}).get("error") or next((ln for ln in reversed(err.splitlines()) if ln.strip()), "no output")
            raise InvalidInputError(
                f"the saved model fails in a fresh process: {detail}"[:400],
                fix=(answer or {}).get("fix") or "define the classes/functions the model needs in the notebook (or install their module), then %deploy again",
            )
        result = compare_predictions(expected, answer)
        result["seconds"] = answer.get("seconds")
        result["predict_path"] = _proven_path(expected, answer)
        if not result["ok"]:
            first = result["first_mismatch"] or {}
            raise InvalidInputError(
                f"the saved model predicts differently in a fresh process: {result['mismatched']} of {result['rows']} sample rows differ "
                f"(row {first.get('row')}: kernel {first.get('expected')!r}/{first.get('expected_score')}, "
                f"fresh {first.get('actual')!r}/{first.get('actual_score')})",
                fix="the model depends on state outside it (globals, random state, a redefined class): refit and %deploy again",
            )
        return result

    def cancel(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.communicate()


def start_proof(folder: Path) -> ProofJob:
    """Start loading ``folder``'s model in a fresh interpreter that predicts ``sample.json``'s rows."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONSTARTUP"}
    process = subprocess.Popen(
        [sys.executable, "-c", "from nb2prod.package.proof import _proof_main; _proof_main()", str(folder)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=str(folder),
        env=env,
        text=True,
    )
    return ProofJob(process=process, folder=folder)


def _fast_path_answer(predictor: Any, spec: Any, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The compiled predict path's own answers on the sample rows, as the service would select and use it."""
    from nb2prod.runtime.schema import build_schema

    try:
        valid = build_schema(spec).validate_rows([{k: r.get(k) for k in spec.feature_names} for r in rows])
        path = predictor.use_fast_path(valid)
        if path.name == "sklearn":
            return {"predict_path": path.to_dict()}
        fast = predictor.predict_rows(valid)
    except Exception as exc:  # the plain path answered; only the faster one is not proven
        return {"predict_path": {"predict_path": "sklearn", "reason": f"not proven: {type(exc).__name__}: {exc}"[:300]}}
    return {"predict_path": path.to_dict(), "fast_predictions": [jsonable(d) for d in fast.decisions],
            "fast_scores": [jsonable(v) for v in fast.scores]}


def _proof_main() -> None:  # runs in the fresh child process
    import time

    started = time.perf_counter()
    folder = Path(sys.argv[1])
    try:
        from nb2prod.errors import Nb2prodError
        from nb2prod.package.artifact import load_model
        from nb2prod.runtime.loading import load_sample
        from nb2prod.runtime.predictor import Predictor
        from nb2prod.runtime.spec import load_spec

        try:  # the service's own path: its spec parser, loader, row → frame rebuild and scoring
            spec = load_spec(folder)
            sample = load_sample(spec.path(spec.sample_file))
            model = load_model(folder)
        except Nb2prodError as exc:
            print("NB2PROD_PROOF " + json.dumps({"error": exc.message, "fix": exc.fix}), flush=True)
            return
        frame = frame_from_rows(sample["rows"], spec.raw["features"])
        predictor = Predictor(model, spec)
        result = predictor.predict_frame(frame)
        answer = {"predictions": [jsonable(d) for d in result.decisions], "scores": [jsonable(v) for v in result.scores],
                  "seconds": round(time.perf_counter() - started, 3)}
        answer.update(_fast_path_answer(predictor, spec, sample["rows"]))
    except Exception as exc:  # report any failure as one line to the parent
        answer = {"error": f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"}
    print("NB2PROD_PROOF " + json.dumps(answer), flush=True)
