"""a session's slides from the analyzer (start, OCR'd title, thumbnail file) for the API, studio and chapters

Revision ID: 0009
Revises: 0008
Create Date: 2027-02-02 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "slides",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("start", sa.Float(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("thumbnail", sa.String(length=120), nullable=False),
        sa.ForeignKeyConstraint(
            ["session_id"], ["sessions.id"], name=op.f("fk_slides_session_id_sessions"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_slides")),
    )
    op.create_index(op.f("ix_slides_session_id"), "slides", ["session_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_slides_session_id"), table_name="slides")
    op.drop_table("slides")
