"""Pydantic request/response models built from a deployment's ``features`` list.

The generated service declares its endpoints with these models, so BentoML validates every
request before the runtime sees it and the OpenAPI spec names every field; the runtime uses the
same models to validate in-process calls. Types are strict: a string is never coerced into a
number, NaN/inf are refused, unknown fields are refused (a typo is a clear 400, not a silent
default), and an integral float (``3.0``) is accepted for an integer column.
"""

from __future__ import annotations

import keyword
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, Strict, TypeAdapter, ValidationError, create_model

from nb2prod.errors import InvalidInputError
from nb2prod.limits import ACTOR_LENGTH, REQUEST_ID_LENGTH, TEXT_LENGTH

if TYPE_CHECKING:
    from nb2prod.runtime.spec import DeploymentSpec, FeatureSpec

__all__ = [
    "MAX_MAGNITUDE",
    "REQUEST_ID_PATTERN",
    "Actor",
    "NonEmptyText",
    "Outcome",
    "RequestId",
    "RequestKey",
    "ServiceSchema",
    "build_schema",
    "validation_message",
]

REQUEST_ID_PATTERN = rf"^[A-Za-z0-9][A-Za-z0-9_.:\-]{{0,{REQUEST_ID_LENGTH - 1}}}$"
RequestId = Annotated[str, Field(pattern=REQUEST_ID_PATTERN, description="a prediction's request id")]
MAX_TEXT = TEXT_LENGTH
# The hard bound on a numeric feature's magnitude: every integer up to it (and its neighbours) is
# exact as a float64, so a stored value can always be decoded, compared and summed by monitoring (a
# 401-digit integer would raise OverflowError there and break every later drift report), and a
# client compares a value with the bound the same way as an integer or a float.
MAX_MAGNITUDE = 10**15


def _integral(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


# The bounds before the validator, so the JSON schema says minimum/maximum (not pydantic's ge/le).
Int = Annotated[int, Strict(), Field(ge=-MAX_MAGNITUDE, le=MAX_MAGNITUDE), BeforeValidator(_integral)]
Float = Annotated[float, Strict(), Field(allow_inf_nan=False, ge=-MAX_MAGNITUDE, le=MAX_MAGNITUDE)]
Bool = Annotated[bool, Strict()]
Flag = Annotated[bool, Strict(), Field(description="true or false (a JSON boolean, not a string)")]
Text = Annotated[str, Strict(), Field(max_length=MAX_TEXT)]
NonEmptyText = Annotated[str, Strict(), Field(min_length=1, max_length=MAX_TEXT)]
Actor = Annotated[str, Strict(), Field(min_length=1, max_length=ACTOR_LENGTH)]
Outcome = Annotated[float, Strict(), Field(allow_inf_nan=False, description="a business outcome (e.g. loss amount)")]
RequestKey = Annotated[
    str,
    Strict(),
    Field(min_length=1, max_length=MAX_TEXT, description="routing key (e.g. customer id): the same key stays on the same canary/control arm"),
]


def _category_type(feature: FeatureSpec) -> Any:
    kinds = {type(c) for c in feature.categories or ()}
    if not kinds or kinds <= {str}:
        return Text
    options: list[Any] = [Text]
    if kinds & {int, bool}:
        options.append(Int)
    if float in kinds:
        options.append(Float)
    union: Any = options[0]
    for option in options[1:]:
        union = union | option
    return union


def _field_type(feature: FeatureSpec) -> Any:
    base: Any = {"int": Int, "float": Float, "bool": Bool, "str": Text}.get(feature.dtype)
    if base is None:
        base = _category_type(feature)
    return base


def _describe(feature: FeatureSpec) -> str:
    if feature.categories is not None:
        shown = ", ".join(map(str, feature.categories[:20]))
        return f"{feature.dtype}; seen in training: {shown}{' …' if len(feature.categories) > 20 else ''}"
    if feature.min is not None or feature.max is not None:
        return f"{feature.dtype}; training range [{feature.min}, {feature.max}]"
    return feature.dtype


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", protected_namespaces=(), populate_by_name=False)


def _identifier(name: str, index: int) -> str | None:
    """``None`` when ``name`` can be a pydantic field name as is, else a safe identifier (the name becomes its alias)."""
    if name.isidentifier() and not keyword.iskeyword(name) and not name.startswith("_"):
        return None
    return f"f{index}_" + re.sub(r"\W", "_", name).strip("_")


@dataclass(frozen=True)
class ServiceSchema:
    """The models of one deployment's API."""

    features: type[BaseModel]
    rows: Any
    label: Any
    prediction: type[BaseModel]
    batch: type[BaseModel]
    feedback: type[BaseModel]
    override: type[BaseModel]
    _rows_adapter: TypeAdapter[Any]
    # Whole request bodies, strict: an unknown top-level field, ``explain: "yes"`` or ``label: true``
    # for an integer class is a 400 naming the field, never a silent default or coercion.
    predict_body: type[BaseModel] | None = None
    batch_body: type[BaseModel] | None = None
    feedback_body: type[BaseModel] | None = None
    override_body: type[BaseModel] | None = None

    def validate_rows(self, rows: Any) -> list[dict[str, Any]]:
        """Validate in-process input (a list of dicts); raise :class:`InvalidInputError` naming the fields."""
        try:
            models = self._rows_adapter.validate_python(rows)
        except ValidationError as exc:
            raise InvalidInputError(validation_message(exc), fix="send the fields listed in the service's OpenAPI spec") from exc
        return [m.model_dump(by_alias=True) for m in models]


def validation_message(exc: ValidationError, *, limit: int = 5) -> str:
    """One line naming each failing field: ``rows.0.age: Input should be a valid integer``."""
    parts = []
    for err in exc.errors(include_url=False, include_input=False)[:limit]:
        where = ".".join(str(p) for p in err["loc"]) or "body"
        parts.append(f"{where}: {err['msg']}")
    more = exc.error_count() - limit
    return "; ".join(parts) + (f" (+{more} more)" if more > 0 else "")


def build_schema(spec: DeploymentSpec) -> ServiceSchema:
    """Build the request and response models for ``spec``'s features and task."""
    fields: dict[str, Any] = {}
    for index, feature in enumerate(spec.features):
        kind = _field_type(feature)
        ident = _identifier(feature.name, index)
        alias = feature.name if ident else None
        if feature.nullable:
            fields[ident or feature.name] = (kind | None, Field(default=None, description=_describe(feature), alias=alias))
        elif feature.accepts_missing:  # no nulls in training, but the model takes them: required, may be null
            fields[ident or feature.name] = (kind | None, Field(description=_describe(feature), alias=alias))
        else:
            fields[ident or feature.name] = (kind, Field(description=_describe(feature), alias=alias))
    model_name = "".join(part.capitalize() for part in spec.name.replace("-", "_").split("_") if part) or "Model"
    features = create_model(f"{model_name}Features", __base__=_Strict, **fields)
    rows = Annotated[list[features], Field(min_length=1, max_length=spec.max_rows)]  # type: ignore[valid-type]
    label_type: Any = Any
    prediction = create_model(
        "Prediction",
        request_id=(str, Field(description="the service's id for this answer: send it with /feedback and /override")),
        client_request_id=(str | None, Field(default=None, description="the request_id the caller sent, echoed (stored beside, not unique)")),
        version_id=(str, ...),
        prediction=(label_type, Field(description="the decision (class label) or the predicted value")),
        probability=(float | None, Field(default=None, description="positive-class probability (binary) or the decision's (multiclass), from predict_proba")),
        probabilities=(dict[str, float] | None, Field(default=None, description="probability per class (predict_proba)")),
        score=(float | None, Field(default=None, description="the number behind the decision (see score_source)")),
        score_source=(str | None, Field(default=None, description="predict_proba | decision_function | predict (a regression's value) | null")),
        interval=(list[float] | None, Field(default=None, description="regression: [low, high] from the holdout residuals")),
        confidence=(str, Field(description="high | low (near the decision boundary) | out_of_range | fallback")),
        fallback=(bool, ...),
        fallback_reason=(str | None, None),
        violations=(list[str], Field(default_factory=list)),
        latency_ms=(float, ...),
        explanation=(dict[str, float] | None, None),
    )
    batch = create_model("BatchPrediction", predictions=(list[prediction], ...))  # type: ignore[valid-type]
    feedback = create_model("FeedbackStored", request_id=(str, ...), label=(Any, None), outcome=(float | None, None), ts=(float, ...))
    override = create_model(
        "OverrideStored", request_id=(str, ...), decision=(Any, ...), operator=(str, ...), reason=(str, ...), ts=(float, ...)
    )
    if spec.task == "regression" or not spec.classes:
        label: Any = Annotated[float, Strict(), Field(allow_inf_nan=False, description="the observed value")]
    elif any(isinstance(c, bool) for c in spec.classes):
        label = Annotated[Literal[tuple(spec.classes)], Field(description="one of the model's classes")]
    else:  # true == 1 in Python: without this a JSON boolean would silently become class 1
        label = Annotated[Literal[tuple(spec.classes)], BeforeValidator(_not_a_boolean), Field(description="one of the model's classes")]
    bodies = _bodies(model_name, features, rows, label)
    return ServiceSchema(
        features=features,
        rows=rows,
        label=label,
        prediction=prediction,
        batch=batch,
        feedback=feedback,
        override=override,
        _rows_adapter=TypeAdapter(rows),
        **bodies,
    )


def _not_a_boolean(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError(f"a boolean is not a class label; send the class itself (e.g. {int(value)})")
    return value


def _bodies(model_name: str, features: type[BaseModel], rows: Any, label: Any) -> dict[str, type[BaseModel]]:
    """The four endpoints' request bodies (field names are the endpoint methods' parameter names)."""
    client_id = Annotated[
        str, Strict(), Field(pattern=REQUEST_ID_PATTERN, description="your own id for this request: echoed and stored beside the service's request_id")
    ]
    answer_id = Annotated[str, Strict(), Field(pattern=REQUEST_ID_PATTERN, description="the request_id a prediction returned")]
    return {
        "predict_body": create_model(
            f"{model_name}PredictRequest",
            __base__=_Strict,
            features=(features, Field(description="one row: the model's input columns")),
            explain=(Flag, False),
            request_id=(client_id | None, None),
            key=(RequestKey | None, None),
        ),
        "batch_body": create_model(
            f"{model_name}BatchRequest",
            __base__=_Strict,
            rows=(rows, Field(description="the rows to predict, each audited under its own request id")),
            explain=(Flag, False),
            keys=(list[RequestKey] | None, Field(default=None, description="one routing key per row")),
        ),
        "feedback_body": create_model(
            f"{model_name}FeedbackRequest",
            __base__=_Strict,
            request_id=(answer_id, ...),
            label=(label | None, None),
            outcome=(Outcome | None, None),
            source=(Actor | None, Field(default=None, description="who or what reports it")),
        ),
        "override_body": create_model(
            f"{model_name}OverrideRequest",
            __base__=_Strict,
            request_id=(answer_id, ...),
            decision=(label, ...),
            operator=(Actor, Field(description="who decides")),
            reason=(NonEmptyText, Field(description="why")),
        ),
    }
