"""Quality: soil-quality assessment (toetsing) and data-quality metrics as materialized views.

The SQL is a frozen copy in ``db/migrations/sql/0002_quality/`` (never edited: a later change to a
view is a new migration carrying its own SQL): ``assessment.sql`` (klasse_rank, measurement/sample/location
assessment), ``quality_metrics.sql`` (quality_location, quality_gemeente_parameter,
quality_gemeente, quality_source, the roll-up functions per omgevingsdienst and province) and
``quality_downgrade.sql``. Refresh with ``db.quality.refresh`` / ``grondslag quality refresh``.

Revision ID: 0002_quality
Revises: 0001_foundation
Create Date: 2026-11-26
"""

from pathlib import Path

from alembic import context, op

revision = "0002_quality"
down_revision = "0001_foundation"
branch_labels = None
depends_on = None

SQL_DIR = Path(__file__).resolve().parents[1] / "sql" / "0002_quality"


def _run(name: str) -> None:
    """Execute one SQL file as it is: on the DBAPI cursor, so no bind-parameter parsing of ``%``/``:``."""
    sql = (SQL_DIR / name).read_text(encoding="utf-8")
    if context.is_offline_mode():
        op.execute(sql)
        return
    cursor = op.get_bind().connection.cursor()
    try:
        cursor.execute(sql)
    finally:
        cursor.close()


def upgrade() -> None:
    # the views are filled (WITH DATA) here: JIT only slows these plans down
    op.execute("SET LOCAL jit = off")
    _run("assessment.sql")
    _run("quality_metrics.sql")


def downgrade() -> None:
    _run("quality_downgrade.sql")
