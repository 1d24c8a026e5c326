"""Hour rollups of the minute profiles (profile_rollups) and label_profiles.updates, their freshness counter.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06

A store written by the release before migrations (commit a9c81b0) is at this revision. Stores opened
by it may hold the rollups table without the column (it was added on open after create_all), so the
column is added only where missing.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    inspector = sa.inspect(op.get_bind())
    if not inspector.has_table("profile_rollups"):
        op.create_table(
            "profile_rollups",
            sa.Column("name", sa.String(length=64), nullable=False),
            sa.Column("version_id", sa.String(length=64), nullable=False),
            sa.Column("arm", sa.String(length=16), nullable=False),
            sa.Column("hour", sa.BigInteger(), autoincrement=False, nullable=False),
            sa.Column("signature", sa.String(length=128), nullable=False),
            sa.Column("data", sa.LargeBinary(), nullable=False),
            sa.Column("labels", sa.LargeBinary(), nullable=True),
            sa.PrimaryKeyConstraint("name", "version_id", "arm", "hour"),
        )
    if "updates" not in {c["name"] for c in inspector.get_columns("label_profiles")}:
        op.add_column("label_profiles", sa.Column("updates", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("label_profiles") as batch:
        batch.drop_column("updates")
    op.drop_table("profile_rollups")
