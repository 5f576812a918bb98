"""Foundation schema: reference, provenance, harmonised soil model, BRO, quarantine.

All geometries are EPSG:28992 (RD New) with GiST indexes. Every harmonised row carries its
``dataset_id`` so each value can be traced back to the file (and row) it came from.

Revision ID: 0001_foundation
Revises:
Create Date: 2026-11-25
"""

from alembic import op

revision = "0001_foundation"
down_revision = None
branch_labels = None
depends_on = None

UPGRADE = """
CREATE EXTENSION IF NOT EXISTS postgis;
CREATE EXTENSION IF NOT EXISTS btree_gist;

-- reference ---------------------------------------------------------------
CREATE TABLE gemeente (
    code        text PRIMARY KEY CHECK (code ~ '^GM[0-9]{4}$'),
    name        text NOT NULL,
    provincie   text NOT NULL DEFAULT 'Utrecht',
    area_km2    double precision,
    source      text,
    geom        geometry(MultiPolygon, 28992) NOT NULL
);
CREATE INDEX gemeente_geom_gist ON gemeente USING gist (geom);
COMMENT ON TABLE gemeente IS
    'Gemeenten of the province of Utrecht (CBS code GMxxxx), generalised CBS boundaries';

CREATE TABLE gemeente_history (
    id          serial PRIMARY KEY,
    code        text NOT NULL,
    name        text NOT NULL,
    provincie   text,
    valid_from  date,
    valid_to    date,
    predecessors text[] NOT NULL DEFAULT '{}',
    successor   text,
    event       text,
    source      text
);

CREATE TABLE omgevingsdienst (
    code        text PRIMARY KEY,
    name        text NOT NULL,
    source      text
);

-- participant: a gemeente (GMxxxx) or the province itself (PV26). valid_to is exclusive and
-- NULL while open; valid_from NULL means the start is not known (kept visible as unknown).
CREATE TABLE omgevingsdienst_membership (
    id                   serial PRIMARY KEY,
    gemeente_code        text NOT NULL CHECK (gemeente_code ~ '^(GM[0-9]{4}|PV[0-9]{2})$'),
    omgevingsdienst_code text NOT NULL REFERENCES omgevingsdienst (code),
    valid_from           date,
    valid_to             date,
    source               text,
    CHECK (valid_from IS NULL OR valid_to IS NULL OR valid_from < valid_to),
    EXCLUDE USING gist (
        gemeente_code WITH =,
        daterange(coalesce(valid_from, '-infinity'::date), coalesce(valid_to, 'infinity'::date)) WITH &&
    )
);
CREATE INDEX omgevingsdienst_membership_od ON omgevingsdienst_membership (omgevingsdienst_code);

CREATE TABLE parameter (
    code           text PRIMARY KEY,
    name_nl        text NOT NULL,
    name_en        text,
    cas            text,
    aquo_code      text,
    "group"        text NOT NULL,
    canonical_unit text NOT NULL,
    aliases        text[] NOT NULL DEFAULT '{}',
    sum_of         text[]
);

CREATE TABLE soil_norm (
    id                 serial PRIMARY KEY,
    parameter_code     text NOT NULL REFERENCES parameter (code),
    valid_from         date NOT NULL,
    valid_to           date,
    unit               text NOT NULL,
    achtergrondwaarde  double precision,
    maximaal_wonen     double precision,
    maximaal_industrie double precision,
    interventiewaarde  double precision,
    verified           boolean NOT NULL DEFAULT false,
    note               text,
    source             text,
    UNIQUE (parameter_code, valid_from)
);

CREATE TABLE soil_type_correction (
    id                 serial PRIMARY KEY,
    parameter_code     text NOT NULL,
    valid_from         date NOT NULL,
    a                  double precision NOT NULL,
    b                  double precision NOT NULL,
    c                  double precision NOT NULL,
    organic_matter_min double precision,
    organic_matter_max double precision,
    lutum_min          double precision,
    lutum_max          double precision,
    note               text,
    source             text,
    UNIQUE (parameter_code, valid_from)
);

CREATE TABLE sum_parameter_member (
    sum_code    text NOT NULL,
    member_name text NOT NULL,
    cas         text NOT NULL,
    member_code text,
    source      text,
    PRIMARY KEY (sum_code, cas)
);

-- provenance --------------------------------------------------------------
CREATE TABLE source (
    id            serial PRIMARY KEY,
    name          text NOT NULL UNIQUE,
    kind          text NOT NULL,
    gemeente_code text,
    mapping_path  text,
    config        jsonb,
    created_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE etl_run (
    id            bigserial PRIMARY KEY,
    started_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
    finished_at   timestamptz,
    status        text NOT NULL DEFAULT 'running'
                  CHECK (status IN ('running', 'succeeded', 'failed', 'partial', 'dry-run')),
    command       text,
    n_datasets    integer NOT NULL DEFAULT 0,
    n_read        bigint NOT NULL DEFAULT 0,
    n_loaded      bigint NOT NULL DEFAULT 0,
    n_quarantined bigint NOT NULL DEFAULT 0,
    n_skipped     integer NOT NULL DEFAULT 0,
    n_failed      integer NOT NULL DEFAULT 0,
    error         text,
    summary       jsonb
);

CREATE TABLE dataset (
    id               bigserial PRIMARY KEY,
    source_id        integer NOT NULL REFERENCES source (id) ON DELETE CASCADE,
    run_id           bigint REFERENCES etl_run (id) ON DELETE SET NULL,
    path             text NOT NULL,
    sha256           char(64) NOT NULL,
    format           text NOT NULL,
    rows_read        integer NOT NULL DEFAULT 0,
    rows_loaded      integer NOT NULL DEFAULT 0,
    rows_quarantined integer NOT NULL DEFAULT 0,
    loaded_at        timestamptz NOT NULL DEFAULT clock_timestamp(),
    UNIQUE (source_id, path)
);
CREATE INDEX dataset_sha256 ON dataset (sha256);

-- harmonised soil model ---------------------------------------------------
CREATE TABLE investigation (
    id                 bigserial PRIMARY KEY,
    dataset_id         bigint NOT NULL REFERENCES dataset (id) ON DELETE CASCADE,
    external_id        text NOT NULL,
    investigation_date date,
    investigation_type text,
    report_id          text,
    UNIQUE (dataset_id, external_id)
);

CREATE TABLE location (
    id               bigserial PRIMARY KEY,
    dataset_id       bigint NOT NULL REFERENCES dataset (id) ON DELETE CASCADE,
    investigation_id bigint REFERENCES investigation (id) ON DELETE SET NULL,
    external_id      text NOT NULL,
    name             text,
    status           text,
    gemeente_code    text REFERENCES gemeente (code),
    coord_decimals   smallint,
    locator          text,
    attributes       jsonb,
    geom             geometry(Geometry, 28992) NOT NULL,
    UNIQUE (dataset_id, external_id)
);
CREATE INDEX location_geom_gist ON location USING gist (geom);
CREATE INDEX location_gemeente ON location (gemeente_code);

CREATE TABLE sample (
    id                 bigserial PRIMARY KEY,
    dataset_id         bigint NOT NULL REFERENCES dataset (id) ON DELETE CASCADE,
    location_id        bigint NOT NULL REFERENCES location (id) ON DELETE CASCADE,
    investigation_id   bigint REFERENCES investigation (id) ON DELETE SET NULL,
    external_id        text NOT NULL,
    depth_from_m       double precision,
    depth_to_m         double precision,
    sample_date        date,
    lutum_pct          double precision,
    organic_matter_pct double precision,
    locator            text,
    CHECK (depth_from_m IS NULL OR depth_to_m IS NULL OR depth_from_m <= depth_to_m)
);
CREATE INDEX sample_location ON sample (location_id);
CREATE INDEX sample_dataset ON sample (dataset_id);

CREATE TABLE measurement (
    id                    bigserial PRIMARY KEY,
    sample_id             bigint NOT NULL REFERENCES sample (id) ON DELETE CASCADE,
    -- no FK here: the row already cascades with its sample (dataset -> sample -> measurement), and a
    -- second per-row FK check costs a third of the bulk-load time. The loader sets it from the sample.
    dataset_id            bigint NOT NULL,
    -- validated against `parameter` by the loader in the same transaction (etl/load.py); a per-row FK
    -- check here would cost about a quarter of the bulk-load time of a million measurements
    parameter_code        text NOT NULL,
    value                 double precision NOT NULL,
    unit                  text NOT NULL,
    below_detection_limit boolean NOT NULL DEFAULT false,
    detection_limit       double precision,
    reported_value        text,
    reported_unit         text,
    locator               text
);
CREATE INDEX measurement_sample ON measurement (sample_id);
CREATE INDEX measurement_dataset ON measurement (dataset_id);
CREATE INDEX measurement_parameter ON measurement (parameter_code);

-- the same place delivered by two sources: linked, not duplicated
CREATE TABLE location_link (
    location_id_a bigint NOT NULL REFERENCES location (id) ON DELETE CASCADE,
    location_id_b bigint NOT NULL REFERENCES location (id) ON DELETE CASCADE,
    distance_m    double precision NOT NULL,
    method        text NOT NULL,
    PRIMARY KEY (location_id_a, location_id_b),
    CHECK (location_id_a < location_id_b)
);

-- BRO ----------------------------------------------------------------------
CREATE TABLE bro_object (
    bro_id                     text PRIMARY KEY,
    object_type                text NOT NULL,
    dataset_id                 bigint REFERENCES dataset (id) ON DELETE CASCADE,
    source_format              text NOT NULL DEFAULT 'IMBRO-XML',
    status                     text NOT NULL DEFAULT 'registered'
                               CHECK (status IN ('registered', 'corrected', 'deregistered')),
    gemeente_code              text REFERENCES gemeente (code),
    source_crs                 text,
    quality_regime             text,
    research_report_date       date,
    registration_date          date,
    delivery_accountable_party text,
    final_depth                double precision,
    vertical_datum             text,
    "offset"                   double precision,
    raw                        jsonb,
    loaded_at                  timestamptz NOT NULL DEFAULT clock_timestamp(),
    geom                       geometry(Point, 28992)
);
CREATE INDEX bro_object_geom_gist ON bro_object USING gist (geom);
CREATE INDEX bro_object_type ON bro_object (object_type);
CREATE INDEX bro_object_gemeente ON bro_object (gemeente_code);

-- Millions of rows: no per-row FK check on load (it cost half of the CPT load time). Integrity on
-- delete is kept by the statement-level trigger below (set-based, via the transition table); rows are
-- only inserted by the loader, right after their bro_object in the same transaction.
CREATE TABLE bro_cpt_measurement (
    bro_id                        text NOT NULL,
    seq                           integer NOT NULL,
    penetration_length            double precision,
    depth                         double precision,
    elapsed_time                  double precision,
    cone_resistance               double precision,
    corrected_cone_resistance     double precision,
    net_cone_resistance           double precision,
    magnetic_field_strength_x     double precision,
    magnetic_field_strength_y     double precision,
    magnetic_field_strength_z     double precision,
    magnetic_field_strength_total double precision,
    electrical_conductivity       double precision,
    inclination_ew                double precision,
    inclination_ns                double precision,
    inclination_x                 double precision,
    inclination_y                 double precision,
    inclination_resultant         double precision,
    magnetic_inclination          double precision,
    magnetic_declination          double precision,
    local_friction                double precision,
    pore_ratio                    double precision,
    temperature                   double precision,
    pore_pressure_u1              double precision,
    pore_pressure_u2              double precision,
    pore_pressure_u3              double precision,
    friction_ratio                double precision,
    extra                         jsonb,
    PRIMARY KEY (bro_id, seq)
);
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

CREATE TABLE bro_cpt_dissipation (
    bro_id  text NOT NULL REFERENCES bro_object (bro_id) ON DELETE CASCADE,
    test_no integer NOT NULL,
    penetration_length double precision,
    data    jsonb NOT NULL,
    PRIMARY KEY (bro_id, test_no)
);

CREATE TABLE bro_borehole_layer (
    bro_id           text NOT NULL REFERENCES bro_object (bro_id) ON DELETE CASCADE,
    seq              integer NOT NULL,
    upper_boundary   double precision,
    lower_boundary   double precision,
    soil_name        text,
    classification   text,
    admixtures       jsonb,
    colour           text,
    description_kind text,
    PRIMARY KEY (bro_id, seq)
);

CREATE TABLE bro_well_tube (
    bro_id        text NOT NULL REFERENCES bro_object (bro_id) ON DELETE CASCADE,
    tube_number   integer NOT NULL,
    screen_top    double precision,
    screen_bottom double precision,
    tube_top      double precision,
    tube_type     text,
    attributes    jsonb,
    PRIMARY KEY (bro_id, tube_number)
);

-- a municipal location and a BRO object at (nearly) the same place and date
CREATE TABLE bro_location_link (
    location_id bigint NOT NULL REFERENCES location (id) ON DELETE CASCADE,
    bro_id      text NOT NULL REFERENCES bro_object (bro_id) ON DELETE CASCADE,
    distance_m  double precision NOT NULL,
    PRIMARY KEY (location_id, bro_id)
);

-- quarantine ---------------------------------------------------------------
CREATE TABLE quarantine (
    id             bigserial PRIMARY KEY,
    run_id         bigint REFERENCES etl_run (id) ON DELETE SET NULL,
    dataset_id     bigint REFERENCES dataset (id) ON DELETE CASCADE,
    locator        text NOT NULL,
    field          text,
    reason         text NOT NULL,
    unit           text NOT NULL DEFAULT 'row',
    message        text NOT NULL,
    raw            jsonb,
    created_at     timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX quarantine_dataset ON quarantine (dataset_id);
CREATE INDEX quarantine_run ON quarantine (run_id);
CREATE INDEX quarantine_reason ON quarantine (reason);
"""

DOWNGRADE = """
DROP TABLE IF EXISTS quarantine;
DROP TABLE IF EXISTS bro_location_link;
DROP TABLE IF EXISTS bro_well_tube;
DROP TABLE IF EXISTS bro_borehole_layer;
DROP TABLE IF EXISTS bro_cpt_dissipation;
DROP TABLE IF EXISTS bro_cpt_measurement;
DROP TABLE IF EXISTS bro_object;
DROP FUNCTION IF EXISTS bro_object_delete_cpt_rows();
DROP TABLE IF EXISTS location_link;
DROP TABLE IF EXISTS measurement;
DROP TABLE IF EXISTS sample;
DROP TABLE IF EXISTS location;
DROP TABLE IF EXISTS investigation;
DROP TABLE IF EXISTS dataset;
DROP TABLE IF EXISTS etl_run;
DROP TABLE IF EXISTS source;
DROP TABLE IF EXISTS sum_parameter_member;
DROP TABLE IF EXISTS soil_type_correction;
DROP TABLE IF EXISTS soil_norm;
DROP TABLE IF EXISTS parameter;
DROP TABLE IF EXISTS omgevingsdienst_membership;
DROP TABLE IF EXISTS omgevingsdienst;
DROP TABLE IF EXISTS gemeente_history;
DROP TABLE IF EXISTS gemeente;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
