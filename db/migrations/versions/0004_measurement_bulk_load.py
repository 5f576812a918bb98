"""Measurements: bulk-load friendly constraints (no per-row foreign-key check, one index fewer).

A municipal dataset can bring a million measurements in one transaction. The per-row check of
``measurement.sample_id -> sample`` cost about 45 % of inserting them; the loader sets
``sample_id`` from the sample it inserted a moment earlier in the same transaction, so the check
can never fail there. Deleting stays consistent: a statement-level trigger on ``sample`` (set-based,
through the transition table) deletes the measurements of deleted samples, which is what the
``ON DELETE CASCADE`` did (samples go with their location or dataset). ``measurement_dataset`` was
never used by a query (deletes go through samples, readers through samples or parameters).

Revision ID: 0004_measurement_bulk_load
Revises: 0003_cpt_arrays
Create Date: 2026-11-25
"""

from alembic import op

revision = "0004_measurement_bulk_load"
down_revision = "0003_cpt_arrays"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
ALTER TABLE measurement DROP CONSTRAINT measurement_sample_id_fkey;
DROP INDEX measurement_dataset;
CREATE FUNCTION sample_delete_measurements() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM measurement m USING gone g WHERE m.sample_id = g.id;
    RETURN NULL;
END $$;
CREATE TRIGGER sample_delete_measurements AFTER DELETE ON sample
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION sample_delete_measurements();
COMMENT ON COLUMN measurement.sample_id IS
    'sample of this measurement; set by the loader in the same transaction (no per-row FK check), '
    'deleted with its sample by the trigger sample_delete_measurements';
"""
    )


def downgrade() -> None:
    op.execute(
        """
DROP TRIGGER sample_delete_measurements ON sample;
DROP FUNCTION sample_delete_measurements();
COMMENT ON COLUMN measurement.sample_id IS NULL;
DELETE FROM measurement m WHERE NOT EXISTS (SELECT 1 FROM sample s WHERE s.id = m.sample_id);
ALTER TABLE measurement ADD CONSTRAINT measurement_sample_id_fkey
    FOREIGN KEY (sample_id) REFERENCES sample (id) ON DELETE CASCADE;
CREATE INDEX measurement_dataset ON measurement (dataset_id);
"""
    )
