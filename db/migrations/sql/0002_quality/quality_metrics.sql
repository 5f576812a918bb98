-- Data-quality and soil-quality metrics per gemeente, per source, and rolled up per omgevingsdienst
-- and for the province. Read by db/migrations/versions/0002_quality.py after assessment.sql;
-- undone by quality_downgrade.sql. Refreshed (in this order) by db.quality.refresh():
--   measurement_assessment, sample_assessment, location_assessment, quality_location,
--   quality_gemeente_parameter, quality_gemeente, quality_source.
--
-- Conventions
--   * n_*      counts (bigint). Every gemeente has a row; counts without data are 0, not NULL.
--   * share_*  fractions 0..1 of the count named in the comment (0 when that denominator is 0);
--              quarantine_rate likewise. Statistics without a meaningful zero (median age,
--              newest date, coordinate-decimal min/max, last load) stay NULL without data.
--   * ages     years of 365.25 days between a location's newest date and reference_date (the
--              date of the refresh): the newest of its samples' sample_date, its own and its
--              samples' investigation_date.
--   * quarantined locations have no gemeente: quarantine rows are attributed to the gemeente of
--     the dataset's source (source.gemeente_code); quarantines of multi-gemeente sources
--     (gemeente_code NULL) appear only in quality_source.
--   * position quarantine reasons: missing_coordinates, xy_swapped, outside_gemeente,
--     outside_province. share_position_quarantined = n_quarantined_position /
--     (n_locations + n_quarantined_position), i.e. of the location records delivered.
--   * BRO coverage: BRO objects (not deregistered) in the gemeente (bro_object.gemeente_code, else
--     the gemeente polygon containing it) and the share of locations with such an object within
--     100 m (n_locations_bro_100m / n_locations).
--   * top soil: samples with depth_to_m <= 0.5 (the sample lies within 0-0.5 m below surface);
--     lead (Pb) classes use the standardised value (bodemtype correction) of the worst Pb
--     measurement of the sample.
--   * Classes are judged against pre-Omgevingswet norms whose 2024+ status is NOT verified
--     (norms_verified = false).

CREATE FUNCTION safe_share(numerator numeric, denominator numeric) RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN denominator > 0 THEN (coalesce(numerator, 0) / denominator)::double precision ELSE 0 END
$$;
COMMENT ON FUNCTION safe_share(numeric, numeric) IS 'numerator / denominator, 0 when the denominator is 0';

CREATE FUNCTION quality_position_reasons() RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT ARRAY['missing_coordinates', 'xy_swapped', 'outside_gemeente', 'outside_province']
$$;

-- per location: the facts the gemeente metrics and the roll-ups aggregate ------------------------
CREATE MATERIALIZED VIEW quality_location AS
WITH samples AS (
    SELECT s.location_id,
           count(*) AS n_samples,
           max(s.sample_date) AS newest_sample_date,
           max(si.investigation_date) AS newest_sample_investigation_date
    FROM sample s
    LEFT JOIN investigation si ON si.id = s.investigation_id
    GROUP BY s.location_id
), measurements AS (
    SELECT s.location_id, sum(m.n) AS n_measurements
    FROM (SELECT sample_id, count(*) AS n FROM measurement GROUP BY sample_id) m
    JOIN sample s ON s.id = m.sample_id
    GROUP BY s.location_id
), links AS (
    SELECT location_id, count(*) AS n_links
    FROM (SELECT location_id_a AS location_id FROM location_link
          UNION ALL
          SELECT location_id_b FROM location_link) x
    GROUP BY location_id
)
SELECT l.id AS location_id,
       l.gemeente_code,
       l.dataset_id,
       d.source_id,
       l.investigation_id,
       coalesce(s.n_samples, 0) AS n_samples,
       coalesce(m.n_measurements, 0) AS n_measurements,
       greatest(s.newest_sample_date, s.newest_sample_investigation_date, i.investigation_date) AS newest_date,
       l.coord_decimals,
       coalesce(k.n_links, 0) AS n_links,
       l.id IN (  -- evaluated once, then looked up (a hashed subplan)
           SELECT near.id FROM bro_object b JOIN location near ON ST_DWithin(near.geom, b.geom, 100)
           WHERE b.status <> 'deregistered'
       ) AS bro_within_100m,
       EXISTS (SELECT 1 FROM bro_location_link bl WHERE bl.location_id = l.id) AS bro_linked
FROM location l
JOIN dataset d ON d.id = l.dataset_id
LEFT JOIN investigation i ON i.id = l.investigation_id
LEFT JOIN samples s ON s.location_id = l.id
LEFT JOIN measurements m ON m.location_id = l.id
LEFT JOIN links k ON k.location_id = l.id;

CREATE UNIQUE INDEX quality_location_location_id ON quality_location (location_id);
CREATE INDEX quality_location_gemeente ON quality_location (gemeente_code);
COMMENT ON MATERIALIZED VIEW quality_location IS
    'Per location: counts, newest date (currency), coordinate decimals, links, BRO nearby';

-- per gemeente and parameter: distribution of the standardised values and counts per class -------
CREATE MATERIALIZED VIEW quality_gemeente_parameter AS
SELECT gemeente_code,
       parameter_code,
       count(DISTINCT sample_id) AS n_samples,
       count(*) AS n_measurements,
       count(*) FILTER (WHERE derived) AS n_derived,
       count(*) FILTER (WHERE below_detection_limit) AS n_below_detection_limit,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY value_std) AS median,
       percentile_cont(0.9) WITHIN GROUP (ORDER BY value_std) AS p90,
       max(value_std) AS max,
       count(*) FILTER (WHERE klasse = 'achtergrondwaarde') AS n_achtergrondwaarde,
       count(*) FILTER (WHERE klasse = 'wonen') AS n_wonen,
       count(*) FILTER (WHERE klasse = 'industrie') AS n_industrie,
       count(*) FILTER (WHERE klasse = 'niet_toepasbaar') AS n_niet_toepasbaar,
       count(*) FILTER (WHERE above_interventiewaarde) AS n_above_interventiewaarde,
       bool_and(norms_verified) AS norms_verified,
       now() AS refreshed_at
FROM measurement_assessment
WHERE gemeente_code IS NOT NULL
GROUP BY gemeente_code, parameter_code;

CREATE UNIQUE INDEX quality_gemeente_parameter_key ON quality_gemeente_parameter (gemeente_code, parameter_code);
COMMENT ON MATERIALIZED VIEW quality_gemeente_parameter IS
    'Per gemeente and normed parameter: median, p90, max of the standardised value (value_std, '
    'mg/kg ds) and measurements per class (pre-Omgevingswet norms, not verified for 2024+)';

-- per gemeente -------------------------------------------------------------------------------------
CREATE MATERIALIZED VIEW quality_gemeente AS
WITH ref AS (
    SELECT current_date AS reference_date, now() AS refreshed_at
), loc AS (
    SELECT q.gemeente_code,
           count(*) AS n_locations,
           sum(q.n_measurements) AS n_measurements,
           count(*) FILTER (WHERE q.investigation_id IS NOT NULL) AS n_locations_with_investigation,
           count(q.newest_date) AS n_locations_dated,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY (ref.reference_date - q.newest_date) / 365.25::double precision)
               AS median_age_years,
           count(*) FILTER (WHERE (ref.reference_date - q.newest_date) / 365.25 > 5) AS n_locations_older_5y,
           count(*) FILTER (WHERE (ref.reference_date - q.newest_date) / 365.25 > 10) AS n_locations_older_10y,
           max(q.newest_date) AS newest_date,
           count(q.coord_decimals) AS n_locations_coord_decimals_known,
           min(q.coord_decimals)::integer AS coord_decimals_min,
           max(q.coord_decimals)::integer AS coord_decimals_max,
           count(*) FILTER (WHERE q.coord_decimals <= 0) AS n_locations_coord_decimals_0,
           count(*) FILTER (WHERE q.n_links > 0) AS n_locations_linked,
           count(*) FILTER (WHERE q.bro_within_100m) AS n_locations_bro_100m,
           count(*) FILTER (WHERE q.bro_linked) AS n_locations_bro_linked
    FROM quality_location q
    CROSS JOIN ref
    WHERE q.gemeente_code IS NOT NULL
    GROUP BY q.gemeente_code
), coord AS (
    SELECT gemeente_code, jsonb_object_agg(decimals, n) AS coord_decimals_counts
    FROM (SELECT gemeente_code, coalesce(coord_decimals::text, 'unknown') AS decimals, count(*) AS n
          FROM quality_location
          WHERE gemeente_code IS NOT NULL
          GROUP BY 1, 2) x
    GROUP BY gemeente_code
), soil_props AS (
    SELECT sample_id,
           bool_or(parameter_code = 'lutum') AS has_lutum,
           bool_or(parameter_code = 'organische_stof') AS has_organic_matter
    FROM measurement
    WHERE parameter_code IN ('lutum', 'organische_stof')
    GROUP BY sample_id
), smp AS (
    SELECT l.gemeente_code,
           count(*) AS n_samples,
           count(*) FILTER (WHERE s.sample_date IS NOT NULL) AS n_samples_with_date,
           count(*) FILTER (WHERE s.depth_from_m IS NOT NULL AND s.depth_to_m IS NOT NULL) AS n_samples_with_depth,
           count(*) FILTER (WHERE s.lutum_pct IS NOT NULL OR sp.has_lutum) AS n_samples_with_lutum,
           count(*) FILTER (WHERE s.organic_matter_pct IS NOT NULL OR sp.has_organic_matter)
               AS n_samples_with_organic_matter
    FROM sample s
    JOIN location l ON l.id = s.location_id
    LEFT JOIN soil_props sp ON sp.sample_id = s.id
    WHERE l.gemeente_code IS NOT NULL
    GROUP BY l.gemeente_code
), inv AS (
    SELECT x.gemeente_code,
           count(*) AS n_investigations,
           count(i.investigation_date) AS n_investigations_with_date
    FROM (SELECT gemeente_code, investigation_id FROM location
          WHERE investigation_id IS NOT NULL AND gemeente_code IS NOT NULL
          UNION
          SELECT l.gemeente_code, s.investigation_id FROM sample s JOIN location l ON l.id = s.location_id
          WHERE s.investigation_id IS NOT NULL AND l.gemeente_code IS NOT NULL) x
    JOIN investigation i ON i.id = x.investigation_id
    GROUP BY x.gemeente_code
), quar AS (
    SELECT src.gemeente_code,
           count(*) AS n_quarantined,
           count(*) FILTER (WHERE q.reason = 'missing_coordinates') AS n_quarantined_missing_coordinates,
           count(*) FILTER (WHERE q.reason = 'xy_swapped') AS n_quarantined_xy_swapped,
           count(*) FILTER (WHERE q.reason = 'outside_gemeente') AS n_quarantined_outside_gemeente,
           count(*) FILTER (WHERE q.reason = ANY (quality_position_reasons())) AS n_quarantined_position
    FROM quarantine q
    JOIN dataset d ON d.id = q.dataset_id
    JOIN source src ON src.id = d.source_id
    WHERE src.gemeente_code IS NOT NULL
    GROUP BY src.gemeente_code
), rows_ AS (
    SELECT src.gemeente_code,
           sum(d.rows_read) AS n_rows_read,
           sum(d.rows_quarantined) AS n_rows_quarantined
    FROM dataset d
    JOIN source src ON src.id = d.source_id
    WHERE src.gemeente_code IS NOT NULL
    GROUP BY src.gemeente_code
), bro AS (
    SELECT coalesce(b.gemeente_code, g.code) AS gemeente_code, count(*) AS n_bro_objects
    FROM bro_object b
    LEFT JOIN LATERAL (
        SELECT gm.code FROM gemeente gm
        WHERE b.gemeente_code IS NULL AND ST_Intersects(gm.geom, b.geom)
        ORDER BY gm.code LIMIT 1
    ) g ON true
    WHERE b.status <> 'deregistered'
    GROUP BY 1
), loads AS (
    SELECT x.gemeente_code, max(d.loaded_at) AS last_loaded_at
    FROM (SELECT src.gemeente_code, d.id AS dataset_id FROM dataset d JOIN source src ON src.id = d.source_id
          UNION
          SELECT gemeente_code, dataset_id FROM location
          UNION
          SELECT gemeente_code, dataset_id FROM bro_object) x
    JOIN dataset d ON d.id = x.dataset_id
    LEFT JOIN etl_run r ON r.id = d.run_id
    WHERE x.gemeente_code IS NOT NULL AND (r.status IS NULL OR r.status <> 'dry-run')
    GROUP BY x.gemeente_code
), links AS (
    SELECT a.gemeente_code, count(*) AS n_linked_duplicates
    FROM location_link k
    JOIN location a ON a.id = k.location_id_a
    WHERE a.gemeente_code IS NOT NULL
    GROUP BY a.gemeente_code
), cls AS (
    SELECT gemeente_code,
           count(*) AS n_locations_assessed,
           count(*) FILTER (WHERE klasse = 'achtergrondwaarde') AS n_locations_achtergrondwaarde,
           count(*) FILTER (WHERE klasse = 'wonen') AS n_locations_wonen,
           count(*) FILTER (WHERE klasse = 'industrie') AS n_locations_industrie,
           count(*) FILTER (WHERE klasse = 'niet_toepasbaar') AS n_locations_niet_toepasbaar,
           count(*) FILTER (WHERE above_interventiewaarde) AS n_locations_above_interventiewaarde
    FROM location_assessment
    WHERE gemeente_code IS NOT NULL
    GROUP BY gemeente_code
), lead_sample AS (
    SELECT ma.gemeente_code,
           ma.sample_id,
           max(klasse_rank(ma.klasse)) AS rank,
           bool_or(ma.above_interventiewaarde) AS above_interventiewaarde
    FROM measurement_assessment ma
    JOIN sample s ON s.id = ma.sample_id
    WHERE ma.parameter_code = 'Pb' AND ma.klasse IS NOT NULL AND s.depth_to_m <= 0.5
          AND ma.gemeente_code IS NOT NULL
    GROUP BY ma.gemeente_code, ma.sample_id
), lead AS (
    SELECT gemeente_code,
           count(*) AS n_lead_topsoil_samples,
           count(*) FILTER (WHERE rank >= 2) AS n_lead_topsoil_above_achtergrondwaarde,
           count(*) FILTER (WHERE rank >= 3) AS n_lead_topsoil_above_wonen,
           count(*) FILTER (WHERE rank >= 4) AS n_lead_topsoil_above_industrie,
           count(*) FILTER (WHERE above_interventiewaarde) AS n_lead_topsoil_above_interventiewaarde
    FROM lead_sample
    GROUP BY gemeente_code
), base AS (
    SELECT g.code AS gemeente_code,
           g.name AS gemeente_name,
           g.area_km2,
           coalesce(loc.n_locations, 0) AS n_locations,
           coalesce(inv.n_investigations, 0) AS n_investigations,
           coalesce(smp.n_samples, 0) AS n_samples,
           coalesce(loc.n_measurements, 0) AS n_measurements,
           coalesce(bro.n_bro_objects, 0) AS n_bro_objects,
           coalesce(smp.n_samples_with_date, 0) AS n_samples_with_date,
           coalesce(smp.n_samples_with_depth, 0) AS n_samples_with_depth,
           coalesce(smp.n_samples_with_lutum, 0) AS n_samples_with_lutum,
           coalesce(smp.n_samples_with_organic_matter, 0) AS n_samples_with_organic_matter,
           coalesce(inv.n_investigations_with_date, 0) AS n_investigations_with_date,
           coalesce(loc.n_locations_with_investigation, 0) AS n_locations_with_investigation,
           ref.reference_date,
           coalesce(loc.n_locations_dated, 0) AS n_locations_dated,
           loc.median_age_years,
           coalesce(loc.n_locations_older_5y, 0) AS n_locations_older_5y,
           coalesce(loc.n_locations_older_10y, 0) AS n_locations_older_10y,
           loc.newest_date,
           coalesce(quar.n_quarantined_missing_coordinates, 0) AS n_quarantined_missing_coordinates,
           coalesce(quar.n_quarantined_xy_swapped, 0) AS n_quarantined_xy_swapped,
           coalesce(quar.n_quarantined_outside_gemeente, 0) AS n_quarantined_outside_gemeente,
           coalesce(quar.n_quarantined_position, 0) AS n_quarantined_position,
           coalesce(loc.n_locations_coord_decimals_known, 0) AS n_locations_coord_decimals_known,
           loc.coord_decimals_min,
           loc.coord_decimals_max,
           coalesce(loc.n_locations_coord_decimals_0, 0) AS n_locations_coord_decimals_0,
           coalesce(coord.coord_decimals_counts, '{}'::jsonb) AS coord_decimals_counts,
           coalesce(links.n_linked_duplicates, 0) AS n_linked_duplicates,
           coalesce(loc.n_locations_linked, 0) AS n_locations_linked,
           coalesce(rows_.n_rows_read, 0) AS n_rows_read,
           coalesce(rows_.n_rows_quarantined, 0) AS n_rows_quarantined,
           coalesce(quar.n_quarantined, 0) AS n_quarantined,
           coalesce(loc.n_locations_bro_100m, 0) AS n_locations_bro_100m,
           coalesce(loc.n_locations_bro_linked, 0) AS n_locations_bro_linked,
           loads.last_loaded_at,
           coalesce(cls.n_locations_assessed, 0) AS n_locations_assessed,
           coalesce(cls.n_locations_achtergrondwaarde, 0) AS n_locations_achtergrondwaarde,
           coalesce(cls.n_locations_wonen, 0) AS n_locations_wonen,
           coalesce(cls.n_locations_industrie, 0) AS n_locations_industrie,
           coalesce(cls.n_locations_niet_toepasbaar, 0) AS n_locations_niet_toepasbaar,
           coalesce(cls.n_locations_above_interventiewaarde, 0) AS n_locations_above_interventiewaarde,
           coalesce(lead.n_lead_topsoil_samples, 0) AS n_lead_topsoil_samples,
           coalesce(lead.n_lead_topsoil_above_achtergrondwaarde, 0) AS n_lead_topsoil_above_achtergrondwaarde,
           coalesce(lead.n_lead_topsoil_above_wonen, 0) AS n_lead_topsoil_above_wonen,
           coalesce(lead.n_lead_topsoil_above_industrie, 0) AS n_lead_topsoil_above_industrie,
           coalesce(lead.n_lead_topsoil_above_interventiewaarde, 0) AS n_lead_topsoil_above_interventiewaarde,
           coalesce((SELECT bool_and(verified) FROM soil_norm), false) AS norms_verified,
           ref.refreshed_at
    FROM gemeente g
    CROSS JOIN ref
    LEFT JOIN loc ON loc.gemeente_code = g.code
    LEFT JOIN coord ON coord.gemeente_code = g.code
    LEFT JOIN smp ON smp.gemeente_code = g.code
    LEFT JOIN inv ON inv.gemeente_code = g.code
    LEFT JOIN quar ON quar.gemeente_code = g.code
    LEFT JOIN rows_ ON rows_.gemeente_code = g.code
    LEFT JOIN bro ON bro.gemeente_code = g.code
    LEFT JOIN loads ON loads.gemeente_code = g.code
    LEFT JOIN links ON links.gemeente_code = g.code
    LEFT JOIN cls ON cls.gemeente_code = g.code
    LEFT JOIN lead ON lead.gemeente_code = g.code
)
SELECT gemeente_code,
       gemeente_name,
       area_km2,
       -- volume
       n_locations::bigint,
       n_investigations::bigint,
       n_samples::bigint,
       n_measurements::bigint,
       n_bro_objects::bigint,
       safe_share(n_locations, area_km2::numeric) AS locations_per_km2,
       safe_share(n_samples, area_km2::numeric) AS samples_per_km2,
       safe_share(n_measurements, area_km2::numeric) AS measurements_per_km2,
       safe_share(n_bro_objects, area_km2::numeric) AS bro_objects_per_km2,
       -- completeness
       n_samples_with_date::bigint,
       n_samples_with_depth::bigint,
       n_samples_with_lutum::bigint,
       n_samples_with_organic_matter::bigint,
       n_investigations_with_date::bigint,
       n_locations_with_investigation::bigint,
       safe_share(n_samples_with_date, n_samples) AS share_samples_with_date,
       safe_share(n_samples_with_depth, n_samples) AS share_samples_with_depth,
       safe_share(n_samples_with_lutum, n_samples) AS share_samples_with_lutum,
       safe_share(n_samples_with_organic_matter, n_samples) AS share_samples_with_organic_matter,
       safe_share(n_investigations_with_date, n_investigations) AS share_investigations_with_date,
       safe_share(n_locations_with_investigation, n_locations) AS share_locations_with_investigation,
       -- currency (share_*: of n_locations_dated)
       reference_date,
       n_locations_dated::bigint,
       median_age_years,
       n_locations_older_5y::bigint,
       n_locations_older_10y::bigint,
       safe_share(n_locations_older_5y, n_locations_dated) AS share_locations_older_5y,
       safe_share(n_locations_older_10y, n_locations_dated) AS share_locations_older_10y,
       newest_date,
       -- position
       n_quarantined_missing_coordinates::bigint,
       n_quarantined_xy_swapped::bigint,
       n_quarantined_outside_gemeente::bigint,
       n_quarantined_position::bigint,
       safe_share(n_quarantined_position, n_locations + n_quarantined_position) AS share_position_quarantined,
       n_locations_coord_decimals_known::bigint,
       coord_decimals_min,
       coord_decimals_max,
       n_locations_coord_decimals_0::bigint,
       safe_share(n_locations_coord_decimals_0, n_locations_coord_decimals_known) AS share_coord_decimals_0,
       coord_decimals_counts,
       -- duplicates and quarantine
       n_linked_duplicates::bigint,
       n_locations_linked::bigint,
       n_rows_read::bigint,
       n_rows_quarantined::bigint,
       n_quarantined::bigint,
       safe_share(n_rows_quarantined, n_rows_read) AS quarantine_rate,
       -- BRO coverage and loads
       n_locations_bro_100m::bigint,
       safe_share(n_locations_bro_100m, n_locations) AS share_locations_bro_100m,
       n_locations_bro_linked::bigint,
       last_loaded_at,
       -- soil quality: worst class per location (shares of n_locations_assessed)
       n_locations_assessed::bigint,
       n_locations_achtergrondwaarde::bigint,
       n_locations_wonen::bigint,
       n_locations_industrie::bigint,
       n_locations_niet_toepasbaar::bigint,
       n_locations_above_interventiewaarde::bigint,
       safe_share(n_locations_achtergrondwaarde, n_locations_assessed) AS share_locations_achtergrondwaarde,
       safe_share(n_locations_wonen, n_locations_assessed) AS share_locations_wonen,
       safe_share(n_locations_industrie, n_locations_assessed) AS share_locations_industrie,
       safe_share(n_locations_niet_toepasbaar, n_locations_assessed) AS share_locations_niet_toepasbaar,
       safe_share(n_locations_above_interventiewaarde, n_locations_assessed)
           AS share_locations_above_interventiewaarde,
       -- lead in the top soil (shares of n_lead_topsoil_samples)
       n_lead_topsoil_samples::bigint,
       n_lead_topsoil_above_achtergrondwaarde::bigint,
       n_lead_topsoil_above_wonen::bigint,
       n_lead_topsoil_above_industrie::bigint,
       n_lead_topsoil_above_interventiewaarde::bigint,
       safe_share(n_lead_topsoil_above_achtergrondwaarde, n_lead_topsoil_samples)
           AS share_lead_topsoil_above_achtergrondwaarde,
       safe_share(n_lead_topsoil_above_wonen, n_lead_topsoil_samples) AS share_lead_topsoil_above_wonen,
       safe_share(n_lead_topsoil_above_industrie, n_lead_topsoil_samples) AS share_lead_topsoil_above_industrie,
       safe_share(n_lead_topsoil_above_interventiewaarde, n_lead_topsoil_samples)
           AS share_lead_topsoil_above_interventiewaarde,
       norms_verified,
       refreshed_at
FROM base;

CREATE UNIQUE INDEX quality_gemeente_code ON quality_gemeente (gemeente_code);
COMMENT ON MATERIALIZED VIEW quality_gemeente IS
    'Data- and soil-quality metrics of every gemeente (zeros where there is no data). Classes use the '
    'pre-Omgevingswet norms; their 2024+ status is not verified.';

-- per source ---------------------------------------------------------------------------------------
CREATE MATERIALIZED VIEW quality_source AS
WITH ds AS (
    SELECT d.source_id,
           count(*) AS n_datasets,
           sum(d.rows_read) AS rows_read,
           sum(d.rows_loaded) AS rows_loaded,
           sum(d.rows_quarantined) AS rows_quarantined,
           max(d.loaded_at) FILTER (WHERE r.status IS NULL OR r.status <> 'dry-run') AS last_loaded_at
    FROM dataset d
    LEFT JOIN etl_run r ON r.id = d.run_id
    GROUP BY d.source_id
), reasons AS (
    SELECT source_id, jsonb_object_agg(reason, n) AS quarantined_by_reason
    FROM (SELECT d.source_id, q.reason, count(*) AS n
          FROM quarantine q JOIN dataset d ON d.id = q.dataset_id
          GROUP BY 1, 2) x
    GROUP BY source_id
), loc AS (
    SELECT source_id, count(*) AS n_locations, sum(n_samples) AS n_samples, sum(n_measurements) AS n_measurements
    FROM quality_location
    GROUP BY source_id
)
SELECT s.id AS source_id,
       s.name AS source_name,
       s.kind,
       s.gemeente_code,
       coalesce(ds.n_datasets, 0)::bigint AS n_datasets,
       coalesce(ds.rows_read, 0)::bigint AS rows_read,
       coalesce(ds.rows_loaded, 0)::bigint AS rows_loaded,
       coalesce(ds.rows_quarantined, 0)::bigint AS rows_quarantined,
       safe_share(ds.rows_quarantined, ds.rows_read) AS quarantine_rate,
       ds.last_loaded_at,
       coalesce(reasons.quarantined_by_reason, '{}'::jsonb) AS quarantined_by_reason,
       coalesce(loc.n_locations, 0)::bigint AS n_locations,
       coalesce(loc.n_samples, 0)::bigint AS n_samples,
       coalesce(loc.n_measurements, 0)::bigint AS n_measurements,
       now() AS refreshed_at
FROM source s
LEFT JOIN ds ON ds.source_id = s.id
LEFT JOIN reasons ON reasons.source_id = s.id
LEFT JOIN loc ON loc.source_id = s.id;

CREATE UNIQUE INDEX quality_source_source_id ON quality_source (source_id);
COMMENT ON MATERIALIZED VIEW quality_source IS
    'Per source: datasets, rows read/loaded/quarantined, quarantine rate, quarantines per reason';

-- roll-ups: omgevingsdienst on a date, province ---------------------------------------------------
-- The row type of a roll-up: area key columns, then the metric columns of quality_gemeente.
CREATE TYPE quality_area AS (
    area_level text,
    area_code text,
    area_name text,
    on_date date,
    n_gemeenten integer,
    gemeente_codes text[],
    area_km2 double precision,
    n_locations bigint,
    n_investigations bigint,
    n_samples bigint,
    n_measurements bigint,
    n_bro_objects bigint,
    locations_per_km2 double precision,
    samples_per_km2 double precision,
    measurements_per_km2 double precision,
    bro_objects_per_km2 double precision,
    n_samples_with_date bigint,
    n_samples_with_depth bigint,
    n_samples_with_lutum bigint,
    n_samples_with_organic_matter bigint,
    n_investigations_with_date bigint,
    n_locations_with_investigation bigint,
    share_samples_with_date double precision,
    share_samples_with_depth double precision,
    share_samples_with_lutum double precision,
    share_samples_with_organic_matter double precision,
    share_investigations_with_date double precision,
    share_locations_with_investigation double precision,
    reference_date date,
    n_locations_dated bigint,
    median_age_years double precision,
    n_locations_older_5y bigint,
    n_locations_older_10y bigint,
    share_locations_older_5y double precision,
    share_locations_older_10y double precision,
    newest_date date,
    n_quarantined_missing_coordinates bigint,
    n_quarantined_xy_swapped bigint,
    n_quarantined_outside_gemeente bigint,
    n_quarantined_position bigint,
    share_position_quarantined double precision,
    n_locations_coord_decimals_known bigint,
    coord_decimals_min integer,
    coord_decimals_max integer,
    n_locations_coord_decimals_0 bigint,
    share_coord_decimals_0 double precision,
    coord_decimals_counts jsonb,
    n_linked_duplicates bigint,
    n_locations_linked bigint,
    n_rows_read bigint,
    n_rows_quarantined bigint,
    n_quarantined bigint,
    quarantine_rate double precision,
    n_locations_bro_100m bigint,
    share_locations_bro_100m double precision,
    n_locations_bro_linked bigint,
    last_loaded_at timestamptz,
    n_locations_assessed bigint,
    n_locations_achtergrondwaarde bigint,
    n_locations_wonen bigint,
    n_locations_industrie bigint,
    n_locations_niet_toepasbaar bigint,
    n_locations_above_interventiewaarde bigint,
    share_locations_achtergrondwaarde double precision,
    share_locations_wonen double precision,
    share_locations_industrie double precision,
    share_locations_niet_toepasbaar double precision,
    share_locations_above_interventiewaarde double precision,
    n_lead_topsoil_samples bigint,
    n_lead_topsoil_above_achtergrondwaarde bigint,
    n_lead_topsoil_above_wonen bigint,
    n_lead_topsoil_above_industrie bigint,
    n_lead_topsoil_above_interventiewaarde bigint,
    share_lead_topsoil_above_achtergrondwaarde double precision,
    share_lead_topsoil_above_wonen double precision,
    share_lead_topsoil_above_industrie double precision,
    share_lead_topsoil_above_interventiewaarde double precision,
    norms_verified boolean,
    refreshed_at timestamptz
);

-- Aggregate quality_gemeente over areas. The three arrays are parallel: (area code, area name,
-- member gemeente code). Counts are summed, shares recomputed from the summed counts, the median
-- age taken over the member gemeenten's locations (quality_location), min/max/newest/last of the
-- members. Reads only the materialized views; nothing is recomputed from the base tables.
CREATE FUNCTION quality_rollup(
    level text, on_date date, area_codes text[], area_names text[], gemeente_codes text[]
) RETURNS SETOF quality_area
LANGUAGE sql STABLE AS $$
WITH m AS (
    SELECT DISTINCT u.area_code, u.area_name, u.gemeente_code
    FROM unnest(quality_rollup.area_codes, quality_rollup.area_names, quality_rollup.gemeente_codes)
         AS u(area_code, area_name, gemeente_code)
    JOIN quality_gemeente q ON q.gemeente_code = u.gemeente_code
), age AS (
    SELECT m.area_code,
           percentile_cont(0.5) WITHIN GROUP (
               ORDER BY (r.reference_date - ql.newest_date) / 365.25::double precision
           ) AS median_age_years
    FROM m
    JOIN quality_location ql ON ql.gemeente_code = m.gemeente_code
    CROSS JOIN (SELECT max(reference_date) AS reference_date FROM quality_gemeente) r
    WHERE ql.newest_date IS NOT NULL
    GROUP BY m.area_code
), coord AS (
    SELECT area_code, jsonb_object_agg(decimals, n) AS coord_decimals_counts
    FROM (SELECT m.area_code, e.key AS decimals, sum(e.value::bigint) AS n
          FROM m
          JOIN quality_gemeente q ON q.gemeente_code = m.gemeente_code
          CROSS JOIN LATERAL jsonb_each_text(q.coord_decimals_counts) e
          GROUP BY 1, 2) x
    GROUP BY area_code
), s AS (
    SELECT m.area_code,
           min(m.area_name) AS area_name,
           count(*)::integer AS n_gemeenten,
           array_agg(q.gemeente_code ORDER BY q.gemeente_code) AS gemeente_codes,
           sum(q.area_km2) AS area_km2,
           sum(q.n_locations) AS n_locations,
           sum(q.n_investigations) AS n_investigations,
           sum(q.n_samples) AS n_samples,
           sum(q.n_measurements) AS n_measurements,
           sum(q.n_bro_objects) AS n_bro_objects,
           sum(q.n_samples_with_date) AS n_samples_with_date,
           sum(q.n_samples_with_depth) AS n_samples_with_depth,
           sum(q.n_samples_with_lutum) AS n_samples_with_lutum,
           sum(q.n_samples_with_organic_matter) AS n_samples_with_organic_matter,
           sum(q.n_investigations_with_date) AS n_investigations_with_date,
           sum(q.n_locations_with_investigation) AS n_locations_with_investigation,
           max(q.reference_date) AS reference_date,
           sum(q.n_locations_dated) AS n_locations_dated,
           sum(q.n_locations_older_5y) AS n_locations_older_5y,
           sum(q.n_locations_older_10y) AS n_locations_older_10y,
           max(q.newest_date) AS newest_date,
           sum(q.n_quarantined_missing_coordinates) AS n_quarantined_missing_coordinates,
           sum(q.n_quarantined_xy_swapped) AS n_quarantined_xy_swapped,
           sum(q.n_quarantined_outside_gemeente) AS n_quarantined_outside_gemeente,
           sum(q.n_quarantined_position) AS n_quarantined_position,
           sum(q.n_locations_coord_decimals_known) AS n_locations_coord_decimals_known,
           min(q.coord_decimals_min) AS coord_decimals_min,
           max(q.coord_decimals_max) AS coord_decimals_max,
           sum(q.n_locations_coord_decimals_0) AS n_locations_coord_decimals_0,
           sum(q.n_linked_duplicates) AS n_linked_duplicates,
           sum(q.n_locations_linked) AS n_locations_linked,
           sum(q.n_rows_read) AS n_rows_read,
           sum(q.n_rows_quarantined) AS n_rows_quarantined,
           sum(q.n_quarantined) AS n_quarantined,
           sum(q.n_locations_bro_100m) AS n_locations_bro_100m,
           sum(q.n_locations_bro_linked) AS n_locations_bro_linked,
           max(q.last_loaded_at) AS last_loaded_at,
           sum(q.n_locations_assessed) AS n_locations_assessed,
           sum(q.n_locations_achtergrondwaarde) AS n_locations_achtergrondwaarde,
           sum(q.n_locations_wonen) AS n_locations_wonen,
           sum(q.n_locations_industrie) AS n_locations_industrie,
           sum(q.n_locations_niet_toepasbaar) AS n_locations_niet_toepasbaar,
           sum(q.n_locations_above_interventiewaarde) AS n_locations_above_interventiewaarde,
           sum(q.n_lead_topsoil_samples) AS n_lead_topsoil_samples,
           sum(q.n_lead_topsoil_above_achtergrondwaarde) AS n_lead_topsoil_above_achtergrondwaarde,
           sum(q.n_lead_topsoil_above_wonen) AS n_lead_topsoil_above_wonen,
           sum(q.n_lead_topsoil_above_industrie) AS n_lead_topsoil_above_industrie,
           sum(q.n_lead_topsoil_above_interventiewaarde) AS n_lead_topsoil_above_interventiewaarde,
           bool_and(q.norms_verified) AS norms_verified,
           max(q.refreshed_at) AS refreshed_at
    FROM m
    JOIN quality_gemeente q ON q.gemeente_code = m.gemeente_code
    GROUP BY m.area_code
)
SELECT quality_rollup.level,
       s.area_code,
       s.area_name,
       quality_rollup.on_date,
       s.n_gemeenten,
       s.gemeente_codes,
       s.area_km2,
       s.n_locations::bigint,
       s.n_investigations::bigint,
       s.n_samples::bigint,
       s.n_measurements::bigint,
       s.n_bro_objects::bigint,
       safe_share(s.n_locations, s.area_km2::numeric),
       safe_share(s.n_samples, s.area_km2::numeric),
       safe_share(s.n_measurements, s.area_km2::numeric),
       safe_share(s.n_bro_objects, s.area_km2::numeric),
       s.n_samples_with_date::bigint,
       s.n_samples_with_depth::bigint,
       s.n_samples_with_lutum::bigint,
       s.n_samples_with_organic_matter::bigint,
       s.n_investigations_with_date::bigint,
       s.n_locations_with_investigation::bigint,
       safe_share(s.n_samples_with_date, s.n_samples),
       safe_share(s.n_samples_with_depth, s.n_samples),
       safe_share(s.n_samples_with_lutum, s.n_samples),
       safe_share(s.n_samples_with_organic_matter, s.n_samples),
       safe_share(s.n_investigations_with_date, s.n_investigations),
       safe_share(s.n_locations_with_investigation, s.n_locations),
       s.reference_date,
       s.n_locations_dated::bigint,
       age.median_age_years,
       s.n_locations_older_5y::bigint,
       s.n_locations_older_10y::bigint,
       safe_share(s.n_locations_older_5y, s.n_locations_dated),
       safe_share(s.n_locations_older_10y, s.n_locations_dated),
       s.newest_date,
       s.n_quarantined_missing_coordinates::bigint,
       s.n_quarantined_xy_swapped::bigint,
       s.n_quarantined_outside_gemeente::bigint,
       s.n_quarantined_position::bigint,
       safe_share(s.n_quarantined_position, s.n_locations + s.n_quarantined_position),
       s.n_locations_coord_decimals_known::bigint,
       s.coord_decimals_min,
       s.coord_decimals_max,
       s.n_locations_coord_decimals_0::bigint,
       safe_share(s.n_locations_coord_decimals_0, s.n_locations_coord_decimals_known),
       coalesce(coord.coord_decimals_counts, '{}'::jsonb),
       s.n_linked_duplicates::bigint,
       s.n_locations_linked::bigint,
       s.n_rows_read::bigint,
       s.n_rows_quarantined::bigint,
       s.n_quarantined::bigint,
       safe_share(s.n_rows_quarantined, s.n_rows_read),
       s.n_locations_bro_100m::bigint,
       safe_share(s.n_locations_bro_100m, s.n_locations),
       s.n_locations_bro_linked::bigint,
       s.last_loaded_at,
       s.n_locations_assessed::bigint,
       s.n_locations_achtergrondwaarde::bigint,
       s.n_locations_wonen::bigint,
       s.n_locations_industrie::bigint,
       s.n_locations_niet_toepasbaar::bigint,
       s.n_locations_above_interventiewaarde::bigint,
       safe_share(s.n_locations_achtergrondwaarde, s.n_locations_assessed),
       safe_share(s.n_locations_wonen, s.n_locations_assessed),
       safe_share(s.n_locations_industrie, s.n_locations_assessed),
       safe_share(s.n_locations_niet_toepasbaar, s.n_locations_assessed),
       safe_share(s.n_locations_above_interventiewaarde, s.n_locations_assessed),
       s.n_lead_topsoil_samples::bigint,
       s.n_lead_topsoil_above_achtergrondwaarde::bigint,
       s.n_lead_topsoil_above_wonen::bigint,
       s.n_lead_topsoil_above_industrie::bigint,
       s.n_lead_topsoil_above_interventiewaarde::bigint,
       safe_share(s.n_lead_topsoil_above_achtergrondwaarde, s.n_lead_topsoil_samples),
       safe_share(s.n_lead_topsoil_above_wonen, s.n_lead_topsoil_samples),
       safe_share(s.n_lead_topsoil_above_industrie, s.n_lead_topsoil_samples),
       safe_share(s.n_lead_topsoil_above_interventiewaarde, s.n_lead_topsoil_samples),
       s.norms_verified,
       s.refreshed_at
FROM s
LEFT JOIN age ON age.area_code = s.area_code
LEFT JOIN coord ON coord.area_code = s.area_code
ORDER BY s.area_code
$$;
COMMENT ON FUNCTION quality_rollup(text, date, text[], text[], text[]) IS
    'quality_gemeente aggregated over areas given as parallel arrays (area code, area name, gemeente)';

-- Every omgevingsdienst with member gemeenten on on_date (valid_from NULL = member since ever,
-- valid_to exclusive). Participants that are not a gemeente of quality_gemeente (the province PV26,
-- the former gemeente Vianen GM0620) add nothing.
CREATE FUNCTION quality_omgevingsdienst(on_date date DEFAULT current_date) RETURNS SETOF quality_area
LANGUAGE sql STABLE AS $$
SELECT r.*
FROM (
    SELECT array_agg(od.code) AS codes, array_agg(od.name) AS names, array_agg(m.gemeente_code) AS gemeenten
    FROM omgevingsdienst_membership m
    JOIN omgevingsdienst od ON od.code = m.omgevingsdienst_code
    JOIN gemeente g ON g.code = m.gemeente_code
    WHERE (m.valid_from IS NULL OR m.valid_from <= $1) AND (m.valid_to IS NULL OR $1 < m.valid_to)
) a
CROSS JOIN LATERAL quality_rollup('omgevingsdienst', $1, a.codes, a.names, a.gemeenten) r
$$;
COMMENT ON FUNCTION quality_omgevingsdienst(date) IS
    'quality_gemeente summed per omgevingsdienst over its member gemeenten on the date';

-- The province of Utrecht (PV26): all gemeenten.
CREATE FUNCTION quality_provincie() RETURNS SETOF quality_area
LANGUAGE sql STABLE AS $$
SELECT r.*
FROM (
    SELECT array_agg('PV26'::text) AS codes, array_agg(g.provincie) AS names, array_agg(g.code) AS gemeenten
    FROM gemeente g
) a
CROSS JOIN LATERAL quality_rollup('provincie', NULL, a.codes, a.names, a.gemeenten) r
$$;
COMMENT ON FUNCTION quality_provincie() IS 'quality_gemeente summed over all gemeenten of the province (PV26)';
