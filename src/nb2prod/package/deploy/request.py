"""``DeployRequest``: every deploy option, declared once, built by every front.

``%deploy``, ``nb2prod deploy``, :meth:`Workspace.deploy` and the notebook deploy all build one of
these; :data:`DEPLOY_OPTIONS` describes the command-line flags of each field so the CLI and the
magic generate their parsers from the same table (a flag one front has, the other has too).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from nb2prod.errors import UsageError

__all__ = ["DEPLOY_OPTIONS", "DeployOption", "DeployRequest", "default_of", "options_for", "parse_json_value"]

LintLevel = Literal["error", "warning", "info", "never"]


@dataclass(frozen=True, slots=True)
class DeployRequest:
    """What to deploy and how; the model and data themselves travel separately (:class:`DeployInputs`)."""

    name: str
    # notebook variable names: what the notebook deploy reads and what rebuild/retrain re-read later
    model_var: str | None = None
    data_var: str | None = None
    target_var: str | None = None
    holdout_vars: tuple[str, str] | None = None
    # the service
    protected: tuple[str, ...] = ()
    fallback: str = "baseline"
    guardrails: str | None = None  # "warn" (default) | "fallback", for all features or "age=fallback,income=warn"
    min_metric: tuple[str, ...] = ()  # "metric=value" gate thresholds
    tolerance: float = 0.01
    allow_schema_change: bool = False
    threshold: float | None = None  # None: the decision is model.predict; a number: P(positive) >= it
    favorable: Any = None  # the decision that benefits the subject (fairness); default: the positive class
    shadow: float | None = None  # percent of live requests the new version shadows; None = it goes live
    serve: bool = False
    port: int | None = None
    wheels: tuple[str, ...] = ()
    data_files: tuple[str, ...] = ()
    sample_size: int = 200
    timeout_ms: int = 250
    image: str | None = None
    notebook: str | None = None
    # the notebook's parameters: injected by a notebook run; None: read from its parameters cell
    parameters: Mapping[str, Any] | None = None
    actor: str = "nb2prod"
    # MLflow: where the model comes from (models:/NAME/VERSION, runs:/ID/PATH) and whether to log the version there
    source: str | None = None
    mlflow: bool = False
    mlflow_uri: str | None = None  # tracking URI; None: MLFLOW_TRACKING_URI, else SQLite in the workspace
    # only when nb2prod runs the notebook itself (``nb2prod deploy NOTEBOOK``)
    timeout_s: float | None = None  # per-cell timeout
    lint_fail_on: LintLevel = "error"
    cell: int | None = None  # capture after this code cell (1-based), not at the end
    upto: str | None = None  # capture after the first cell tagged this

    def __post_init__(self) -> None:
        # fronts pass lists; a frozen request keeps tuples so it can be compared and serialised
        for name in ("protected", "min_metric", "wheels", "data_files"):
            value = getattr(self, name)
            if isinstance(value, Mapping):  # {"roc_auc": 0.7} → ("roc_auc=0.7",)
                value = tuple(f"{k}={v}" for k, v in value.items())
            elif isinstance(value, (str, Path)):
                value = (value,)
            object.__setattr__(self, name, tuple(str(v) for v in value or ()))
        if isinstance(self.guardrails, Mapping):  # {"age": "fallback"} from Python → "age=fallback"
            object.__setattr__(self, "guardrails", ",".join(f"{k}={v}" for k, v in self.guardrails.items()))
        if self.holdout_vars is not None:
            if len(self.holdout_vars) != 2:
                raise UsageError("holdout needs two variables", fix="e.g. --holdout X_test y_test")
            object.__setattr__(self, "holdout_vars", (str(self.holdout_vars[0]), str(self.holdout_vars[1])))
        if self.notebook is not None:
            object.__setattr__(self, "notebook", str(self.notebook))
        if self.lint_fail_on not in ("error", "warning", "info", "never"):
            raise UsageError(f"unknown lint level {self.lint_fail_on!r}", fix="use --lint-fail-on error, warning, info or never")
        if self.cell is not None and self.upto is not None:
            raise UsageError("--cell and --upto both say where to capture", fix="pass one of them")
        if self.cell is not None and self.cell < 1:
            raise UsageError(f"--cell counts code cells from 1, got {self.cell}", fix="e.g. --cell 5")

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> DeployRequest:
        """Build from keyword options, refusing an unknown one in a line that lists the known ones."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(options) - known)
        if unknown:
            raise UsageError(f"unknown deploy option {unknown[0]!r}", fix="known options: " + ", ".join(sorted(known)))
        if "name" not in options:
            raise UsageError("a deploy needs a name", fix="pass --name NAME (name=... from Python)")
        return cls(**options)

    def replace(self, **changes: Any) -> DeployRequest:
        return dataclasses.replace(self, **changes)

    @property
    def variables(self) -> dict[str, str]:
        """``{"model": …, "data": …, "target": …, "holdout_data": …, "holdout_target": …}`` for the names given."""
        found = {"model": self.model_var, "data": self.data_var, "target": self.target_var}
        if self.holdout_vars is not None:
            found["holdout_data"], found["holdout_target"] = self.holdout_vars
        return {k: v for k, v in found.items() if v}

    def to_json(self) -> str:
        """JSON the notebook deploy hands to the kernel it starts (values must be JSON: parameters, favorable)."""
        try:
            return json.dumps(dataclasses.asdict(self))
        except TypeError as exc:
            raise UsageError(f"a deploy option is not a plain value: {exc}",
                             fix="pass numbers, strings, lists and dicts (e.g. favorable=0, not numpy.int64(0))") from None

    @classmethod
    def from_json(cls, text: str) -> DeployRequest:
        data = json.loads(text)
        if data.get("holdout_vars") is not None:
            data["holdout_vars"] = tuple(data["holdout_vars"])
        return cls(**data)


@dataclass(frozen=True, slots=True)
class DeployOption:
    """One command-line flag of a :class:`DeployRequest` field.

    ``kind``: ``value`` (one value), ``flag`` (on/off), ``many`` (repeatable), ``pair`` (two values),
    ``optional`` (a value that may be left out: ``const`` then). ``fronts``: where it makes sense —
    ``magic`` (in a live kernel), ``cli`` (nb2prod runs the notebook), or both.
    """

    field: str
    flags: tuple[str, ...]
    help: str
    kind: Literal["value", "flag", "many", "pair", "optional"] = "value"
    type: Literal["str", "int", "float", "json"] = "str"
    metavar: str | None = None
    const: Any = None
    choices: tuple[str, ...] | None = None
    fronts: frozenset[str] = frozenset({"magic", "cli"})


_CLI = frozenset({"cli"})
_MAGIC = frozenset({"magic"})

DEPLOY_OPTIONS: tuple[DeployOption, ...] = (
    DeployOption("name", ("--name",), "Deployment name (lower-case letters, digits, dashes)."),
    DeployOption("model_var", ("--model",), "Notebook variable holding the fitted model.", metavar="MODEL", fronts=_CLI),
    DeployOption("data_var", ("--data",), "Variable holding the training frame.", metavar="X_TRAIN"),
    DeployOption("target_var", ("--target",), "Variable holding the training target ('' for none).", metavar="Y_TRAIN"),
    DeployOption("holdout_vars", ("--holdout",), "Variables holding the holdout frame and target.", kind="pair",
                 metavar="X_TEST Y_TEST"),
    DeployOption("protected", ("--protected",), "Protected attribute column (repeatable).", kind="many", metavar="COLUMN"),
    DeployOption("fallback", ("--fallback",), "baseline | constant:VALUE | previous | none.", metavar="STRATEGY"),
    DeployOption("guardrails", ("--guardrails",),
                 "What a value outside the training range does: warn (answer with the model, flag the row; default) or "
                 "fallback — for every feature, or per feature: age=fallback,income=warn.", metavar="POLICY"),
    DeployOption("min_metric", ("--min-metric",), "Gate threshold, e.g. roc_auc=0.7 (repeatable).", kind="many",
                 metavar="METRIC=VALUE"),
    DeployOption("tolerance", ("--tolerance",), "Allowed drop of the primary metric vs live.", type="float"),
    DeployOption("allow_schema_change", ("--allow-schema-change",), "Accept an input schema that differs from the live version's.",
                 kind="flag"),
    DeployOption("threshold", ("--threshold",),
                 "Decide P(positive) >= THRESHOLD (binary models with predict_proba); default: the model's own predict().",
                 type="float"),
    DeployOption("favorable", ("--favorable",), "The decision that benefits the subject, for fairness (JSON, e.g. 0).",
                 type="json", metavar="VALUE"),
    DeployOption("shadow", ("--shadow",),
                 "Run the new version as a shadow of the live one on PERCENT of requests (default 100) instead of making it live.",
                 kind="optional", type="float", metavar="PERCENT", const=100.0),
    DeployOption("serve", ("--serve",), "Start the service on 127.0.0.1 when built.", kind="flag"),
    DeployOption("port", ("--port",), "Port for --serve (default: first free from 3000).", type="int"),
    DeployOption("wheels", ("--wheel",),
                 "A wheel the Bento installs instead of the index (repeatable), for packages installed from a local folder.",
                 kind="many", metavar="PATH"),
    DeployOption("data_files", ("--data-file",), "A data file to fingerprint in the version record (repeatable).",
                 kind="many", metavar="PATH"),
    DeployOption("sample_size", ("--sample-size",), "Sample rows the fresh-process proof compares.", type="int"),
    DeployOption("image", ("--image",), "Container image name for the Kubernetes manifests (default NAME:VERSION).",
                 metavar="IMAGE"),
    DeployOption("mlflow", ("--mlflow",), "Also log the version to MLflow (params, metrics, gate, lint, version record, "
                 "the model, registered under NAME).", kind="flag"),
    DeployOption("mlflow_uri", ("--mlflow-uri",), "MLflow tracking URI for --mlflow and for models:/ or runs:/ sources "
                 "(default: $MLFLOW_TRACKING_URI, else SQLite in the workspace).", metavar="URI"),
    DeployOption("notebook", ("--notebook",), "The notebook file this kernel runs, when nb2prod cannot tell.", metavar="PATH",
                 fronts=_MAGIC),
    DeployOption("timeout_s", ("--timeout",), "Per-cell timeout in seconds for the notebook run.", type="float", fronts=_CLI),
    DeployOption("lint_fail_on", ("--lint-fail-on",), "Lint severity that stops the deploy before the notebook runs.",
                 choices=("error", "warning", "info", "never"), fronts=_CLI),
    DeployOption("cell", ("--cell",), "Capture the variables after code cell N (1-based) instead of at the end; later cells do not run.",
                 type="int", metavar="N", fronts=_CLI),
    DeployOption("upto", ("--upto",), "Capture the variables after the first cell tagged TAG; later cells do not run.",
                 metavar="TAG", fronts=_CLI),
)


def default_of(field: str) -> Any:
    """The :class:`DeployRequest` default of ``field`` (what a front shows as its default)."""
    for f in dataclasses.fields(DeployRequest):
        if f.name == field:
            return None if f.default is dataclasses.MISSING else f.default
    raise KeyError(field)


def options_for(front: str) -> list[DeployOption]:
    return [o for o in DEPLOY_OPTIONS if front in o.fronts]


def parse_json_value(raw: str) -> Any:
    """``--favorable 0`` → 0, ``--favorable no`` → "no": JSON when it parses, else the text."""
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return raw
