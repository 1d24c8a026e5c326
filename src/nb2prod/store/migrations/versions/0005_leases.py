"""Leases: one holder at a time across replicas for the decisions only one may take.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # created by create_all in the few commits between leases and migrations
    if not sa.inspect(op.get_bind()).has_table("leases"):
        op.create_table(
            "leases",
            sa.Column("name", sa.String(length=128), nullable=False),
            sa.Column("holder", sa.String(length=128), nullable=False),
            sa.Column("expires_at", sa.Float(), nullable=False),
            sa.Column("token", sa.BigInteger(), nullable=False),
            sa.PrimaryKeyConstraint("name"),
        )


def downgrade() -> None:
    op.drop_table("leases")
