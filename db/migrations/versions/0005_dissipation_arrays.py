"""CPT dissipation tests: the measured series as arrays, like the CPT itself (``bro_cpt_data``).

A dissipation test held its whole series (elapsed time and pore pressures, up to thousands of
steps) inside one ``jsonb`` document; PostgreSQL had to build that document on every load, and
nothing could query the series. Now each quantity of BRO's DissipationTestResultRecord
is a ``float8[]`` (element *i* = step *i*, NULL = void), GEF quantities outside those five go to
``extra`` ({name: [values]}), and ``data`` keeps only what is left (e.g. attributes of a GEF file).

Revision ID: 0005_dissipation_arrays
Revises: 0004_measurement_bulk_load
Create Date: 2026-11-25
"""

from alembic import op

revision = "0005_dissipation_arrays"
down_revision = "0004_measurement_bulk_load"
branch_labels = None
depends_on = None

# frozen copy of etl.records.DISSIPATION_COLUMNS as of this revision
COLUMNS = ("elapsed_time", "cone_resistance", "pore_pressure_u1", "pore_pressure_u2", "pore_pressure_u3")
MOVED = ("columns", "penetration_length", "phenomenon_time", "n_rows")


def _from_json(c: str) -> str:
    return (
        f"{c} = (SELECT array_agg(e::double precision ORDER BY i) "
        f"FROM jsonb_array_elements_text(data -> 'columns' -> '{c}') WITH ORDINALITY AS a(e, i))"
    )


def upgrade() -> None:
    op.execute(
        f"""
ALTER TABLE bro_cpt_dissipation
    ADD COLUMN phenomenon_time text,
    ADD COLUMN n_rows integer,
    {", ".join(f"ADD COLUMN {c} double precision[]" for c in COLUMNS)},
    ADD COLUMN extra jsonb,
    ALTER COLUMN data DROP NOT NULL;
{"".join(f"ALTER TABLE bro_cpt_dissipation ALTER COLUMN {c} SET STORAGE EXTERNAL;" for c in COLUMNS)}
UPDATE bro_cpt_dissipation SET
    phenomenon_time = data ->> 'phenomenon_time',
    n_rows = (data ->> 'n_rows')::integer,
    {", ".join(_from_json(c) for c in COLUMNS)},
    extra = nullif((data -> 'columns') {" ".join(f"- '{c}'" for c in COLUMNS)}, '{{}}'::jsonb),
    data = nullif(data {" ".join(f"- '{k}'" for k in MOVED)}, '{{}}'::jsonb);
COMMENT ON TABLE bro_cpt_dissipation IS
    'CPT dissipation tests: one row per test, one array per quantity (element i = step i, NULL = void; '
    'elapsed time s, resistance/pressures MPa); extra: other quantities {{name: [values]}}';
"""
    )


def downgrade() -> None:
    series = ", ".join(f"'{c}', to_jsonb({c})" for c in COLUMNS)
    op.execute(
        f"""
UPDATE bro_cpt_dissipation SET data = coalesce(data, '{{}}'::jsonb) || jsonb_build_object(
    'penetration_length', penetration_length, 'phenomenon_time', phenomenon_time, 'n_rows', n_rows,
    'columns', coalesce(extra, '{{}}'::jsonb) || jsonb_strip_nulls(jsonb_build_object({series})));
ALTER TABLE bro_cpt_dissipation
    {", ".join(f"DROP COLUMN {c}" for c in (*COLUMNS, "extra", "n_rows", "phenomenon_time"))},
    ALTER COLUMN data SET NOT NULL;
COMMENT ON TABLE bro_cpt_dissipation IS NULL;
"""
    )
