"""The store as released before migrations existed: registry, traffic, history, audit log, runs, alerts.

Revision ID: 0001
Revises:
Create Date: 2026-11-23

Written from the tables of the first release (unchanged until 2026-12-06); a store created by it has
no revision table and is stamped with this revision when nb2prod first opens it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    # a first open that died half way through create_all left some of these tables: create the rest
    existing = set(sa.inspect(op.get_bind()).get_table_names())
    if "versions" not in existing:
        op.create_table(
            "versions",
            sa.Column("version_id", sa.String(length=64), nullable=False),
            sa.Column("name", sa.String(length=64), nullable=False),
            sa.Column("created_at", sa.String(length=40), nullable=False),
            sa.Column("state", sa.String(length=16), nullable=False),
            sa.Column("record", sa.JSON(), nullable=False),
            sa.PrimaryKeyConstraint("version_id"),
        )
        op.create_index("ix_versions_name", "versions", ["name"], unique=False)
    if "traffic" not in existing:
        op.create_table(
            "traffic",
            sa.Column("name", sa.String(length=64), nullable=False),
            sa.Column("live", sa.String(length=64), nullable=True),
            sa.Column("shadow", sa.String(length=64), nullable=True),
            sa.Column("shadow_percent", sa.Float(), nullable=False),
            sa.Column("canary", sa.String(length=64), nullable=True),
            sa.Column("canary_percent", sa.Float(), nullable=False),
            sa.Column("control", sa.String(length=64), nullable=True),
            sa.Column("control_percent", sa.Float(), nullable=False),
            sa.Column("updated_at", sa.Float(), nullable=False),
            sa.PrimaryKeyConstraint("name"),
        )
    if "events" not in existing:
        op.create_table(
            "events",
            sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("name", sa.String(length=64), nullable=False),
            sa.Column("action", sa.String(length=32), nullable=False),
            sa.Column("version_id", sa.String(length=64), nullable=True),
            sa.Column("actor", sa.String(length=128), nullable=False),
            sa.Column("reason", sa.Text(), nullable=False),
            sa.Column("evidence", sa.JSON(), nullable=False),
            sa.Column("ts", sa.Float(), nullable=False),
            sa.PrimaryKeyConstraint("id"),
        )
        op.create_index("ix_events_name", "events", ["name"], unique=False)
    if "predictions" not in existing:
        op.create_table(
            "predictions",
            sa.Column("request_id", sa.String(length=64), nullable=False),
            sa.Column("name", sa.String(length=64), nullable=False),
            sa.Column("version_id", sa.String(length=64), nullable=False),
            sa.Column("ts", sa.Float(), nullable=False),
            sa.Column("inputs", sa.JSON(), nullable=False),
            sa.Column("output", sa.JSON(), nullable=True),
            sa.Column("score", sa.Float(), nullable=True),
            sa.Column("probabilities", sa.JSON(), nullable=True),
            sa.Column("latency_ms", sa.Float(), nullable=True),
            sa.Column("fallback", sa.Boolean(), nullable=False),
            sa.Column("fallback_reason", sa.Text(), nullable=True),
            sa.Column("violations", sa.JSON(), nullable=True),
            sa.Column("arm", sa.String(length=16), nullable=False),
            sa.Column("shadow_version", sa.String(length=64), nullable=True),
            sa.Column("shadow_output", sa.JSON(), nullable=True),
            sa.Column("shadow_score", sa.Float(), nullable=True),
            sa.Column("shadow_error", sa.Text(), nullable=True),
            sa.Column("explanation", sa.JSON(), nullable=True),
            sa.Column("confidence", sa.String(length=32), nullable=True),
            sa.Column("error", sa.Text(), nullable=True),
            sa.PrimaryKeyConstraint("request_id"),
        )
        op.create_index("ix_predictions_name_ts", "predictions", ["name", "ts"], unique=False)
    if "feedback" not in existing:
        op.create_table(
            "feedback",
            sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("request_id", sa.String(length=64), nullable=False),
            sa.Column("label", sa.JSON(), nullable=True),
            sa.Column("outcome", sa.Float(), nullable=True),
            sa.Column("ts", sa.Float(), nullable=False),
            sa.Column("source", sa.String(length=128), nullable=True),
            sa.PrimaryKeyConstraint("id"),
        )
        op.create_index("ix_feedback_request_id", "feedback", ["request_id"], unique=False)
    if "overrides" not in existing:
        op.create_table(
            "overrides",
            sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("request_id", sa.String(length=64), nullable=False),
            sa.Column("decision", sa.JSON(), nullable=True),
            sa.Column("operator", sa.String(length=128), nullable=False),
            sa.Column("reason", sa.Text(), nullable=False),
            sa.Column("ts", sa.Float(), nullable=False),
            sa.PrimaryKeyConstraint("id"),
        )
        op.create_index("ix_overrides_request_id", "overrides", ["request_id"], unique=False)
    if "runs" not in existing:
        op.create_table(
            "runs",
            sa.Column("run_id", sa.String(length=64), nullable=False),
            sa.Column("notebook", sa.Text(), nullable=False),
            sa.Column("output", sa.Text(), nullable=False),
            sa.Column("parameters", sa.JSON(), nullable=False),
            sa.Column("status", sa.String(length=16), nullable=False),
            sa.Column("started_at", sa.Float(), nullable=False),
            sa.Column("duration_s", sa.Float(), nullable=True),
            sa.Column("data_fingerprints", sa.JSON(), nullable=True),
            sa.Column("error", sa.Text(), nullable=True),
            sa.Column("result", sa.JSON(), nullable=True),
            sa.PrimaryKeyConstraint("run_id"),
        )
    if "alerts" not in existing:
        op.create_table(
            "alerts",
            sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("name", sa.String(length=64), nullable=False),
            sa.Column("rule", sa.String(length=128), nullable=False),
            sa.Column("metric", sa.String(length=64), nullable=False),
            sa.Column("value", sa.Float(), nullable=False),
            sa.Column("threshold", sa.Float(), nullable=False),
            sa.Column("window", sa.String(length=64), nullable=False),
            sa.Column("ts", sa.Float(), nullable=False),
            sa.Column("delivered", sa.Boolean(), nullable=False),
            sa.PrimaryKeyConstraint("id"),
        )
        op.create_index("ix_alerts_name", "alerts", ["name"], unique=False)


def downgrade() -> None:
    for table in ("alerts", "runs", "overrides", "feedback", "predictions", "events", "traffic", "versions"):
        op.drop_table(table)
