"""The store's tables as earlier releases created them (vendored: tables.py moves on, these must not).

``metadata_at("0001")`` is the first release's schema (2026-11-23, unchanged until 2026-12-06),
``"0002"`` adds ``predictions.client_request_id`` (commit ebc1366), ``"0003"`` the profile tables
(e525eb3), ``"0004"`` the hour rollups and ``label_profiles.updates`` (7dbe917: the schema of the
release before migrations, a9c81b0), ``"0005"`` leases (bd412c5). Each old release created these with
``metadata.create_all`` and had no revision table.
"""

from __future__ import annotations

import sqlalchemy as sa

__all__ = ["RELEASES", "metadata_at"]

RELEASES = ("0001", "0002", "0003", "0004", "0005")


def metadata_at(release: str) -> sa.MetaData:
    """The tables a store created by ``release`` has (see the module docstring)."""
    step = RELEASES.index(release)
    md = sa.MetaData()
    sa.Table(
        "versions", md,
        sa.Column("version_id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(64), nullable=False, index=True),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("record", sa.JSON, nullable=False),
    )
    sa.Table(
        "traffic", md,
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
    sa.Table(
        "events", md,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(64), nullable=False, index=True),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("version_id", sa.String(64)),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("evidence", sa.JSON, nullable=False),
        sa.Column("ts", sa.Float, nullable=False),
    )
    prediction_columns = [
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
    ]
    if step >= 1:
        prediction_columns += [
            sa.Column("client_request_id", sa.String(64)),
            sa.Index("ix_predictions_client_request_id", "client_request_id"),
        ]
    sa.Table("predictions", md, *prediction_columns)
    sa.Table(
        "feedback", md,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("request_id", sa.String(64), nullable=False, index=True),
        sa.Column("label", sa.JSON),
        sa.Column("outcome", sa.Float),
        sa.Column("ts", sa.Float, nullable=False),
        sa.Column("source", sa.String(128)),
    )
    sa.Table(
        "overrides", md,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("request_id", sa.String(64), nullable=False, index=True),
        sa.Column("decision", sa.JSON),
        sa.Column("operator", sa.String(128), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("ts", sa.Float, nullable=False),
    )
    sa.Table(
        "runs", md,
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
    sa.Table(
        "alerts", md,
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
    if step >= 2:
        sa.Table(
            "profiles", md,
            sa.Column("name", sa.String(64), primary_key=True),
            sa.Column("version_id", sa.String(64), primary_key=True),
            sa.Column("arm", sa.String(16), primary_key=True),
            sa.Column("bucket", sa.BigInteger, primary_key=True, autoincrement=False),
            sa.Column("writer", sa.String(128), primary_key=True),
            sa.Column("n", sa.Integer, nullable=False),
            sa.Column("data", sa.LargeBinary, nullable=False),
            sa.Index("ix_profiles_name_bucket", "name", "bucket"),
        )
        label_columns = [
            sa.Column("name", sa.String(64), primary_key=True),
            sa.Column("version_id", sa.String(64), primary_key=True),
            sa.Column("arm", sa.String(16), primary_key=True),
            sa.Column("bucket", sa.BigInteger, primary_key=True, autoincrement=False),
            sa.Column("data", sa.LargeBinary, nullable=False),
            sa.Index("ix_label_profiles_name_bucket", "name", "bucket"),
        ]
        if step >= 3:
            label_columns.append(sa.Column("updates", sa.Integer))
        sa.Table("label_profiles", md, *label_columns)
    if step >= 3:
        sa.Table(
            "profile_rollups", md,
            sa.Column("name", sa.String(64), primary_key=True),
            sa.Column("version_id", sa.String(64), primary_key=True),
            sa.Column("arm", sa.String(16), primary_key=True),
            sa.Column("hour", sa.BigInteger, primary_key=True, autoincrement=False),
            sa.Column("signature", sa.String(128), nullable=False),
            sa.Column("data", sa.LargeBinary, nullable=False),
            sa.Column("labels", sa.LargeBinary),
        )
    if step >= 4:
        sa.Table(
            "leases", md,
            sa.Column("name", sa.String(128), primary_key=True),
            sa.Column("holder", sa.String(128), nullable=False),
            sa.Column("expires_at", sa.Float, nullable=False),
            sa.Column("token", sa.BigInteger, nullable=False),
        )
    return md
