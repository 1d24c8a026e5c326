"""Monitoring profiles: per-minute summaries of predictions (profiles) and of their labels (label_profiles).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06

Stores opened by nb2prod between this change and migrations got these tables from create_all, one
table at a time, so each is created only where missing.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    inspector = sa.inspect(op.get_bind())
    if not inspector.has_table("profiles"):
        _create_profiles()
    if not inspector.has_table("label_profiles"):
        _create_label_profiles()


def _create_profiles() -> None:
    op.create_table(
        "profiles",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("version_id", sa.String(length=64), nullable=False),
        sa.Column("arm", sa.String(length=16), nullable=False),
        sa.Column("bucket", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("writer", sa.String(length=128), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("name", "version_id", "arm", "bucket", "writer"),
    )
    op.create_index("ix_profiles_name_bucket", "profiles", ["name", "bucket"], unique=False)


def _create_label_profiles() -> None:
    op.create_table(
        "label_profiles",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("version_id", sa.String(length=64), nullable=False),
        sa.Column("arm", sa.String(length=16), nullable=False),
        sa.Column("bucket", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("name", "version_id", "arm", "bucket"),
    )
    op.create_index("ix_label_profiles_name_bucket", "label_profiles", ["name", "bucket"], unique=False)


def downgrade() -> None:
    op.drop_table("label_profiles")
    op.drop_table("profiles")
