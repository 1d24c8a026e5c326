"""SQLAlchemy Core tables of the store: version registry, traffic, history, audit log, runs."""

from __future__ import annotations

import sqlalchemy as sa

__all__ = ["alerts", "events", "feedback", "metadata", "overrides", "predictions", "runs", "traffic", "versions"]

metadata = sa.MetaData()

versions = sa.Table(
    "versions",
    metadata,
    sa.Column("version_id", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(64), nullable=False, index=True),
    sa.Column("created_at", sa.String(40), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("record", sa.JSON, nullable=False),
)

traffic = sa.Table(
    "traffic",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("live", sa.String(64)),
    sa.Column("shadow", sa.String(64)),
    sa.Column("shadow_percent", sa.Float, nullable=False, default=100.0),
    sa.Column("canary", sa.String(64)),
    sa.Column("canary_percent", sa.Float, nullable=False, default=0.0),
    sa.Column("control", sa.String(64)),
    sa.Column("control_percent", sa.Float, nullable=False, default=0.0),
    sa.Column("updated_at", sa.Float, nullable=False),
)

events = sa.Table(
    "events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(64), nullable=False, index=True),
    sa.Column("action", sa.String(32), nullable=False),
    sa.Column("version_id", sa.String(64)),
    sa.Column("actor", sa.String(128), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("evidence", sa.JSON, nullable=False),
    sa.Column("ts", sa.Float, nullable=False),
)

predictions = sa.Table(
    "predictions",
    metadata,
    sa.Column("request_id", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(64), nullable=False),
    sa.Column("version_id", sa.String(64), nullable=False),
    sa.Column("ts", sa.Float, nullable=False),
    sa.Column("inputs", sa.JSON, nullable=False),
    sa.Column("output", sa.JSON),
    sa.Column("score", sa.Float),
    sa.Column("probabilities", sa.JSON),
    sa.Column("latency_ms", sa.Float),
    sa.Column("fallback", sa.Boolean, nullable=False, default=False),
    sa.Column("fallback_reason", sa.Text),
    sa.Column("violations", sa.JSON),
    sa.Column("arm", sa.String(16), nullable=False, default="live"),
    sa.Column("shadow_version", sa.String(64)),
    sa.Column("shadow_output", sa.JSON),
    sa.Column("shadow_score", sa.Float),
    sa.Column("shadow_error", sa.Text),
    sa.Column("explanation", sa.JSON),
    sa.Column("confidence", sa.String(32)),
    sa.Column("error", sa.Text),
    sa.Index("ix_predictions_name_ts", "name", "ts"),
)

feedback = sa.Table(
    "feedback",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("request_id", sa.String(64), nullable=False, index=True),
    sa.Column("label", sa.JSON),
    sa.Column("outcome", sa.Float),
    sa.Column("ts", sa.Float, nullable=False),
    sa.Column("source", sa.String(128)),
)

overrides = sa.Table(
    "overrides",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("request_id", sa.String(64), nullable=False, index=True),
    sa.Column("decision", sa.JSON),
    sa.Column("operator", sa.String(128), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("ts", sa.Float, nullable=False),
)

runs = sa.Table(
    "runs",
    metadata,
    sa.Column("run_id", sa.String(64), primary_key=True),
    sa.Column("notebook", sa.Text, nullable=False),
    sa.Column("output", sa.Text, nullable=False),
    sa.Column("parameters", sa.JSON, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("started_at", sa.Float, nullable=False),
    sa.Column("duration_s", sa.Float),
    sa.Column("data_fingerprints", sa.JSON),
    sa.Column("error", sa.Text),
    sa.Column("result", sa.JSON),
)

alerts = sa.Table(
    "alerts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(64), nullable=False, index=True),
    sa.Column("rule", sa.String(128), nullable=False),
    sa.Column("metric", sa.String(64), nullable=False),
    sa.Column("value", sa.Float, nullable=False),
    sa.Column("threshold", sa.Float, nullable=False),
    sa.Column("window", sa.String(64), nullable=False),
    sa.Column("ts", sa.Float, nullable=False),
    sa.Column("delivered", sa.Boolean, nullable=False, default=False),
)
