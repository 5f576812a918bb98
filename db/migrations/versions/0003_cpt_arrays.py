"""CPT measurement tables stored as one row of arrays per CPT (``bro_cpt_data``).

A CPT holds thousands of depth steps of up to 25 quantities. Stored one row per depth step, every
CPT cost as many heap tuples and index entries, and that bound the load (benchmarks/bro_bench.py).
Stored as one row per CPT with a ``float8[]`` per quantity (uncompressed TOAST: float data hardly
compresses and compressing costs CPU), the load writes one tuple per CPT. Readers keep the
relational shape: ``bro_cpt_measurement`` becomes a view that unnests the arrays (one row per
``seq``), so ``WHERE bro_id = ...`` queries and the API are unchanged. The CPT row now cascades
with its ``bro_object`` through an ordinary foreign key (one check per CPT, not per depth step).

Revision ID: 0003_cpt_arrays
Revises: 0002_quality
Create Date: 2026-11-25
"""

from alembic import op

revision = "0003_cpt_arrays"
down_revision = "0002_quality"
branch_labels = None
depends_on = None

# frozen copy of etl.records.CPT_COLUMNS as of this revision (migrations do not import the ETL)
COLUMNS = (
    "penetration_length",
    "depth",
    "elapsed_time",
    "cone_resistance",
    "corrected_cone_resistance",
    "net_cone_resistance",
    "magnetic_field_strength_x",
    "magnetic_field_strength_y",
    "magnetic_field_strength_z",
    "magnetic_field_strength_total",
    "electrical_conductivity",
    "inclination_ew",
    "inclination_ns",
    "inclination_x",
    "inclination_y",
    "inclination_resultant",
    "magnetic_inclination",
    "magnetic_declination",
    "local_friction",
    "pore_ratio",
    "temperature",
    "pore_pressure_u1",
    "pore_pressure_u2",
    "pore_pressure_u3",
    "friction_ratio",
)

VIEW = f"""
CREATE VIEW bro_cpt_measurement AS
SELECT d.bro_id, u.seq::integer AS seq, {", ".join(f"u.{c}" for c in COLUMNS)},
       CASE WHEN d.extra IS NOT NULL THEN (
           SELECT jsonb_object_agg(e.key, e.value -> (u.seq::integer - 1))
           FROM jsonb_each(d.extra) e
           WHERE jsonb_typeof(e.value -> (u.seq::integer - 1)) NOT IN ('null')
       ) END AS extra
FROM bro_cpt_data d
CROSS JOIN LATERAL unnest({", ".join(f"d.{c}" for c in COLUMNS)})
     WITH ORDINALITY AS u({", ".join(COLUMNS)}, seq);
COMMENT ON VIEW bro_cpt_measurement IS
    'CPT measurement table, one row per depth step (unnested from bro_cpt_data); units as in IMBRO: '
    'lengths m, resistances/pressures MPa, friction ratio %, inclination degrees, elapsed time s';
"""


def upgrade() -> None:
    op.execute(
        f"""
CREATE TABLE bro_cpt_data (
    bro_id text PRIMARY KEY REFERENCES bro_object (bro_id) ON DELETE CASCADE,
    n_rows integer NOT NULL CHECK (n_rows >= 0),
    {", ".join(f"{c} double precision[]" for c in COLUMNS)},
    -- quantities outside the 25 IMBRO ones (GEF): {{name: [value per row]}}
    extra  jsonb
);
COMMENT ON TABLE bro_cpt_data IS
    'CPT measurement table, one row per CPT, one array per quantity (element i = depth step i, sorted '
    'on penetration length; NULL element = void). Read it through the view bro_cpt_measurement.';
{"".join(f"ALTER TABLE bro_cpt_data ALTER COLUMN {c} SET STORAGE EXTERNAL;" for c in COLUMNS)}
INSERT INTO bro_cpt_data (bro_id, n_rows, {", ".join(COLUMNS)}, extra)
SELECT m.bro_id, count(*), {", ".join(f"array_agg({c} ORDER BY seq)" for c in COLUMNS)},
       CASE WHEN bool_or(extra IS NOT NULL) THEN (
           SELECT jsonb_object_agg(k, vals) FROM (
               SELECT k, jsonb_agg(x.extra -> k ORDER BY x.seq) AS vals
               FROM bro_cpt_measurement x, (SELECT DISTINCT jsonb_object_keys(extra) AS k
                                            FROM bro_cpt_measurement WHERE bro_id = m.bro_id) keys
               WHERE x.bro_id = m.bro_id GROUP BY k) per_key
       ) END
FROM bro_cpt_measurement m
WHERE EXISTS (SELECT 1 FROM bro_object b WHERE b.bro_id = m.bro_id)
GROUP BY m.bro_id;
DROP TABLE bro_cpt_measurement;
DROP TRIGGER bro_object_delete_cpt_rows ON bro_object;
DROP FUNCTION bro_object_delete_cpt_rows();
{VIEW}
"""
    )


def downgrade() -> None:
    op.execute(
        """
CREATE TABLE bro_cpt_measurement_rows AS SELECT * FROM bro_cpt_measurement;
DROP VIEW bro_cpt_measurement;
DROP TABLE bro_cpt_data;
ALTER TABLE bro_cpt_measurement_rows RENAME TO bro_cpt_measurement;
ALTER TABLE bro_cpt_measurement ALTER COLUMN bro_id SET NOT NULL, ALTER COLUMN seq SET NOT NULL,
    ADD PRIMARY KEY (bro_id, seq);
CREATE FUNCTION bro_object_delete_cpt_rows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM bro_cpt_measurement m USING gone g WHERE m.bro_id = g.bro_id;
    RETURN NULL;
END $$;
CREATE TRIGGER bro_object_delete_cpt_rows AFTER DELETE ON bro_object
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION bro_object_delete_cpt_rows();
COMMENT ON TABLE bro_cpt_measurement IS
    'CPT measurement table; units as in IMBRO: lengths m, resistances/pressures MPa, friction ratio %, '
    'inclination degrees, elapsed time s';
"""
    )
