"""predictions.client_request_id: the id a caller sent, kept beside the service's own key (not unique).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-06

Stores opened by nb2prod between this change and migrations gained the column (and its index) on
open, so both steps are skipped where already present.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    inspector = sa.inspect(op.get_bind())
    if "client_request_id" not in {c["name"] for c in inspector.get_columns("predictions")}:
        op.add_column("predictions", sa.Column("client_request_id", sa.String(length=64), nullable=True))
    if "ix_predictions_client_request_id" not in {i["name"] for i in inspector.get_indexes("predictions")}:
        op.create_index("ix_predictions_client_request_id", "predictions", ["client_request_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_predictions_client_request_id", table_name="predictions")
    with op.batch_alter_table("predictions") as batch:
        batch.drop_column("client_request_id")
