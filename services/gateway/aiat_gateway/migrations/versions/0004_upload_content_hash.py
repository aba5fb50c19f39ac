"""one session per uploaded file: the content hash of a file uploaded to the gateway

Revision ID: 0004
Revises: 0003
Create Date: 2027-01-20 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable: Drive sessions have none, and NULLs never collide in a unique index.
    op.add_column("sessions", sa.Column("content_sha256", sa.String(64), nullable=True))
    op.create_index("ix_sessions_content_sha256", "sessions", ["content_sha256"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_sessions_content_sha256", table_name="sessions")
    with op.batch_alter_table("sessions") as batch:
        batch.drop_column("content_sha256")
