"""the framing a render used (layout, slide and speaker regions) on its task and on the rendered snippet

Revision ID: 0008
Revises: 0007
Create Date: 2027-02-01 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    for table in ("render_tasks", "snippets"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("framing", sa.JSON(), nullable=True))


def downgrade() -> None:
    for table in ("snippets", "render_tasks"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("framing")
