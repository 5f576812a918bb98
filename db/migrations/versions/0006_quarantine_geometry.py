"""Quarantined locations keep their position, so that an analyst can see them on a map.

A location quarantined as ``outside_gemeente`` or ``outside_province`` has a position (it was
placed in PostGIS and found outside); ``quarantine.geom`` holds it (EPSG:28992; a polygon's point on
surface, the point the message names) and the OGC collection ``quarantined_locations`` serves those
rows to QGIS. Records without a position (missing coordinates, a bad value) keep ``geom`` NULL.

Revision ID: 0006_quarantine_geometry
Revises: 0005_dissipation_arrays
Create Date: 2026-11-25
"""

from alembic import op

revision = "0006_quarantine_geometry"
down_revision = "0005_dissipation_arrays"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
ALTER TABLE quarantine ADD COLUMN geom geometry(Point, 28992);
CREATE INDEX quarantine_geom_gist ON quarantine USING gist (geom);
COMMENT ON COLUMN quarantine.geom IS
    'Position of a location quarantined for where it lies (outside_gemeente, outside_province); NULL otherwise';
-- records of earlier loads: the position their message and raw values hold
UPDATE quarantine SET geom = ST_SetSRID(ST_MakePoint((raw ->> 'x')::float8, (raw ->> 'y')::float8), 28992)
WHERE reason IN ('outside_gemeente', 'outside_province') AND unit = 'location'
  AND jsonb_typeof(raw -> 'x') = 'number' AND jsonb_typeof(raw -> 'y') = 'number';
"""
    )


def downgrade() -> None:
    op.execute("ALTER TABLE quarantine DROP COLUMN geom")
