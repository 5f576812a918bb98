"""Bulk loads and reloads: no per-row foreign-key check on measurements, indexes for every cascade.

A municipal dataset can bring a million measurements in one transaction. The per-row check of
``measurement.sample_id -> sample`` was a large part of inserting them; the loader sets
``sample_id`` from the sample it inserted a moment earlier in the same transaction, so the check
can never fail there. Deleting stays consistent: a row-level trigger on ``sample`` deletes the
measurements of each deleted sample, which is what the ``ON DELETE CASCADE`` did (samples go with
their location or dataset). Not a statement-level trigger: cascades from ``location`` delete samples
one statement per location, so a statement trigger would plan and run once per location. ``measurement_dataset`` was
never used by a query (deletes go through samples, readers through samples or parameters).

Reloading a changed dataset deletes the old one, and every ``ON DELETE`` action then looks up the
referencing rows by their foreign-key column: those columns that had no index made each deleted row
scan a whole table: a reload of a dataset whose locations were linked to another source was
quadratic in ``location_link`` alone.

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
    DELETE FROM measurement WHERE sample_id = OLD.id;
    RETURN NULL;
END $$;
CREATE TRIGGER sample_delete_measurements AFTER DELETE ON sample
    FOR EACH ROW EXECUTE FUNCTION sample_delete_measurements();
CREATE INDEX location_link_b ON location_link (location_id_b);
CREATE INDEX bro_location_link_bro ON bro_location_link (bro_id);
CREATE INDEX bro_object_dataset ON bro_object (dataset_id);
CREATE INDEX location_investigation ON location (investigation_id);
CREATE INDEX sample_investigation ON sample (investigation_id);
CREATE INDEX dataset_run ON dataset (run_id);
COMMENT ON COLUMN measurement.sample_id IS
    'sample of this measurement; set by the loader in the same transaction (no per-row FK check), '
    'deleted with its sample by the trigger sample_delete_measurements';
"""
    )


def downgrade() -> None:
    op.execute(
        """
DROP INDEX location_link_b, bro_location_link_bro, bro_object_dataset, location_investigation,
    sample_investigation, dataset_run;
DROP TRIGGER sample_delete_measurements ON sample;
DROP FUNCTION sample_delete_measurements();
COMMENT ON COLUMN measurement.sample_id IS NULL;
DELETE FROM measurement m WHERE NOT EXISTS (SELECT 1 FROM sample s WHERE s.id = m.sample_id);
ALTER TABLE measurement ADD CONSTRAINT measurement_sample_id_fkey
    FOREIGN KEY (sample_id) REFERENCES sample (id) ON DELETE CASCADE;
CREATE INDEX measurement_dataset ON measurement (dataset_id);
"""
    )
