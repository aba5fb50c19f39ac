"""a session's course vocabulary, requested language and speech model, and the keep-plan flag of a re-transcription

Revision ID: 0005
Revises: 0004
Create Date: 2027-01-21 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("sessions") as batch:
        batch.add_column(sa.Column("vocabulary", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("requested_language", sa.String(16), nullable=True))
        batch.add_column(sa.Column("transcriber_model", sa.String(32), nullable=True))
        batch.add_column(sa.Column("keep_plan", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("sessions") as batch:
        batch.drop_column("keep_plan")
        batch.drop_column("transcriber_model")
        batch.drop_column("requested_language")
        batch.drop_column("vocabulary")
