-- Soil-quality assessment (toetsing) against the norms in soil_norm, set-based.
--
-- Read by db/migrations/versions/0002_quality.py; undone by quality_downgrade.sql.
--
-- CAVEAT: the norms (soil_norm) and bodemtype-correction constants (soil_type_correction) are the
-- pre-Omgevingswet values (Regeling bodemkwaliteit, Circulaire bodemsanering 2013). Whether the
-- Omgevingsregeling (2024+) kept them unchanged is NOT verified (soil_norm.verified = false); every
-- assessment row carries norms_verified so the uncertainty travels with the result.
--
-- Rules (db/reference/SOURCES.md sections 4, 4b, 4c):
--   * below the detection limit: 0.7 x detection limit (detection_limit, else the stored value,
--     which then holds the limit); the row keeps below_detection_limit = true.
--   * sum parameters (PAK10, PCB7) delivered as a sum are assessed as delivered; otherwise the sum
--     is computed from the members measured in the sample (members below the limit at 0.7 x limit,
--     a member measured twice counts with its mean). Such rows have derived = true and
--     measurement_id NULL (there is no stored measurement).
--   * bodemtype correction to standard soil (25 % lutum, 10 % organic matter):
--       G_st = G_used x (A + B*25 + C*10) / (A + B*L + C*H)
--     with A, B, C from soil_type_correction: a metal's own row; PAK10 and PAK members the row
--     'PAK' (A=0, B=0, C=1, H clamped 10..30); PCB, minerale olie and other organic compounds the
--     row 'ORG' (H clamped 2..30); anything else 'OVERIG' (A=1, B=C=0: no correction).
--     L and H are clamped to the row's min/max (metals: L >= 2, H >= 2, no maximum).
--     L, H: the sample's lutum_pct / organic_matter_pct, else its measured 'lutum' /
--     'organische_stof'. When missing, the standard-soil value (25 / 10) is used, which makes that
--     term neutral, and correction = 'default'. correction = 'measured' when every input the
--     formula needs was measured, 'none' when the substance has no correction (B = C = 0).
--   * class of a value: 'achtergrondwaarde' (<= AW), 'wonen' (<= maximaal wonen), 'industrie'
--     (<= maximaal industrie), 'niet_toepasbaar' (> maximaal industrie). Equal to a limit is within
--     that class (compared with a relative tolerance of 1e-9 against floating-point noise).
--     above_interventiewaarde = value_std > interventiewaarde, flagged separately.
--   * per sample / location: the worst class over its substances (klasse_rank) and the substances
--     that reach it (deciding_parameters).
--   * measurement_assessment holds the measurements of the substances that have norms today (the
--     standard package: As, Cd, Co, Cu, Hg, Pb, Mo, Ni, Zn, PAK10, PCB7, OLIE) and the sums
--     computed from members. Barium (its norms are withdrawn: empty), the soil properties (lutum,
--     organische_stof) and the members of the sums are not assessed: no row.

-- class order ----------------------------------------------------------------------------------
CREATE FUNCTION klasse_rank(klasse text) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE klasse
        WHEN 'achtergrondwaarde' THEN 1
        WHEN 'wonen' THEN 2
        WHEN 'industrie' THEN 3
        WHEN 'niet_toepasbaar' THEN 4
    END
$$;
COMMENT ON FUNCTION klasse_rank(text) IS
    'Order of the quality classes: achtergrondwaarde 1, wonen 2, industrie 3, niet_toepasbaar 4';

CREATE FUNCTION klasse_name(rank integer) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT (ARRAY['achtergrondwaarde', 'wonen', 'industrie', 'niet_toepasbaar'])[rank]
$$;
COMMENT ON FUNCTION klasse_name(integer) IS 'Inverse of klasse_rank';

CREATE FUNCTION klasse_of(
    value_std double precision,
    achtergrondwaarde double precision,
    maximaal_wonen double precision,
    maximaal_industrie double precision
) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN value_std IS NULL OR achtergrondwaarde IS NULL THEN NULL
        WHEN value_std <= achtergrondwaarde * (1 + 1e-9) THEN 'achtergrondwaarde'
        WHEN value_std <= coalesce(maximaal_wonen, achtergrondwaarde) * (1 + 1e-9) THEN 'wonen'
        WHEN value_std <= coalesce(maximaal_industrie, maximaal_wonen, achtergrondwaarde) * (1 + 1e-9)
            THEN 'industrie'
        ELSE 'niet_toepasbaar'
    END
$$;
COMMENT ON FUNCTION klasse_of(double precision, double precision, double precision, double precision) IS
    'Quality class of a standardised value; equal to a limit is within that class';

-- members of the sum parameters: by code (parameter.sum_of, sum_parameter_member.member_code) or CAS
CREATE VIEW sum_member_parameter AS
SELECT spm.sum_code, p.code AS member_code
FROM sum_parameter_member spm
JOIN parameter p ON p.code = spm.member_code OR (p.cas = spm.cas AND spm.cas <> '')
UNION
SELECT s.code, m.member_code
FROM parameter s
CROSS JOIN LATERAL unnest(s.sum_of) AS m(member_code)
JOIN parameter p ON p.code = m.member_code;
COMMENT ON VIEW sum_member_parameter IS 'Member parameter codes of each sum parameter (PAK10, PCB7)';

-- per parameter: which correction constants and which norms apply (on the current date)
CREATE VIEW assessment_parameter AS
WITH correction AS (
    SELECT DISTINCT ON (parameter_code) *
    FROM soil_type_correction
    WHERE valid_from <= current_date
    ORDER BY parameter_code, valid_from DESC
), norm AS (
    SELECT DISTINCT ON (parameter_code) *
    FROM soil_norm
    WHERE valid_from <= current_date AND (valid_to IS NULL OR current_date < valid_to)
    ORDER BY parameter_code, valid_from DESC
), grouped AS (
    SELECT p.code AS parameter_code,
           CASE
               WHEN EXISTS (SELECT 1 FROM correction c WHERE c.parameter_code = p.code) THEN p.code
               WHEN p.code = 'PAK10' OR lower(p."group") = 'pak'
                    OR p.code IN (SELECT member_code FROM sum_member_parameter WHERE sum_code = 'PAK10')
                   THEN 'PAK'
               WHEN p.code IN ('PCB7', 'OLIE') OR lower(p."group") IN ('pcb', 'organisch', 'minerale olie')
                    OR p.code IN (SELECT member_code FROM sum_member_parameter WHERE sum_code = 'PCB7')
                   THEN 'ORG'
               ELSE 'OVERIG'
           END AS correction_group
    FROM parameter p
)
SELECT g.parameter_code,
       g.correction_group,
       coalesce(c.a, 1) AS a,
       coalesce(c.b, 0) AS b,
       coalesce(c.c, 0) AS c,
       c.lutum_min,
       c.lutum_max,
       c.organic_matter_min,
       c.organic_matter_max,
       n.id AS norm_id,
       n.achtergrondwaarde,
       n.maximaal_wonen,
       n.maximaal_industrie,
       n.interventiewaarde,
       n.verified AS norm_verified
FROM grouped g
LEFT JOIN correction c ON c.parameter_code = g.correction_group
LEFT JOIN norm n ON n.parameter_code = g.parameter_code;
COMMENT ON VIEW assessment_parameter IS
    'Correction constants (A, B, C, clamps) and norms that apply to each parameter today. '
    'Norms are pre-Omgevingswet values; carry-over into the Omgevingsregeling (2024+) not verified.';

-- measurement level -------------------------------------------------------------------------------
CREATE MATERIALIZED VIEW measurement_assessment AS
WITH normed_parameter AS (
    SELECT parameter_code FROM assessment_parameter
    WHERE coalesce(achtergrondwaarde, maximaal_wonen, maximaal_industrie, interventiewaarde) IS NOT NULL
), soil AS (
    SELECT sample_id,
           avg(value) FILTER (WHERE parameter_code = 'lutum') AS lutum,
           avg(value) FILTER (WHERE parameter_code = 'organische_stof') AS organic_matter
    FROM measurement
    WHERE parameter_code IN ('lutum', 'organische_stof')
    GROUP BY sample_id
), delivered_sum AS (
    -- (= ANY of an array computed once lets the planner use the parameter_code index)
    SELECT DISTINCT sample_id, parameter_code AS sum_code
    FROM measurement
    WHERE parameter_code = ANY ((SELECT array_agg(DISTINCT sum_code) FROM sum_member_parameter)::text[])
), member AS (
    -- members of a sum that was not delivered as a sum in the same sample; a duplicate member
    -- (measured twice in one sample) counts once, with its mean
    SELECT m.sample_id,
           smp.sum_code,
           avg(CASE WHEN m.below_detection_limit THEN 0.7 * coalesce(m.detection_limit, m.value)
                    ELSE m.value END) AS value_used,
           bool_and(m.below_detection_limit) AS below_detection_limit
    FROM measurement m
    JOIN sum_member_parameter smp ON smp.member_code = m.parameter_code
    WHERE m.parameter_code = ANY ((SELECT array_agg(member_code) FROM sum_member_parameter)::text[])
      AND NOT EXISTS (
        SELECT 1 FROM delivered_sum d WHERE d.sample_id = m.sample_id AND d.sum_code = smp.sum_code
    )
    GROUP BY m.sample_id, smp.sum_code, m.parameter_code
), assessed AS (
    SELECT m.id AS measurement_id,
           m.sample_id,
           m.parameter_code,
           m.value,
           CASE WHEN m.below_detection_limit THEN 0.7 * coalesce(m.detection_limit, m.value)
                ELSE m.value END AS value_used,
           m.below_detection_limit,
           false AS derived,
           NULL::integer AS n_sum_members
    FROM measurement m
    WHERE m.parameter_code = ANY ((SELECT array_agg(parameter_code) FROM normed_parameter)::text[])
    UNION ALL
    SELECT NULL, sample_id, sum_code, sum(value_used), sum(value_used), bool_and(below_detection_limit),
           true, count(*)::integer
    FROM member
    WHERE sum_code IN (SELECT parameter_code FROM normed_parameter)
    GROUP BY sample_id, sum_code
), sample_soil AS MATERIALIZED (
    -- per sample (small): location, gemeente and the lutum / organic matter measured
    SELECT s.id AS sample_id,
           s.location_id,
           l.gemeente_code,
           coalesce(s.lutum_pct, so.lutum) AS lutum_measured,
           coalesce(s.organic_matter_pct, so.organic_matter) AS organic_matter_measured
    FROM sample s
    JOIN location l ON l.id = s.location_id
    LEFT JOIN soil so ON so.sample_id = s.id
), inputs AS (
    SELECT x.*,
           ss.location_id,
           ss.gemeente_code,
           ss.lutum_measured,
           ss.organic_matter_measured,
           ap.a, ap.b, ap.c,
           ap.lutum_min, ap.lutum_max, ap.organic_matter_min, ap.organic_matter_max,
           ap.achtergrondwaarde, ap.maximaal_wonen, ap.maximaal_industrie,
           ap.interventiewaarde, ap.norm_verified
    FROM assessed x
    JOIN sample_soil ss ON ss.sample_id = x.sample_id
    LEFT JOIN assessment_parameter ap ON ap.parameter_code = x.parameter_code
), clamped AS (
    SELECT i.*,
           CASE WHEN i.b = 0 AND i.c = 0 THEN 'none'
                WHEN (i.b <> 0 AND i.lutum_measured IS NULL)
                     OR (i.c <> 0 AND i.organic_matter_measured IS NULL) THEN 'default'
                ELSE 'measured' END AS correction,
           least(greatest(coalesce(i.lutum_measured, 25), coalesce(i.lutum_min, '-infinity')),
                 coalesce(i.lutum_max, 'infinity')) AS lutum_used,
           least(greatest(coalesce(i.organic_matter_measured, 10), coalesce(i.organic_matter_min, '-infinity')),
                 coalesce(i.organic_matter_max, 'infinity')) AS organic_matter_used
    FROM inputs i
), standardised AS (
    -- OFFSET 0 keeps this step from being flattened into the next, so value_std is computed once
    SELECT c.*,
           CASE WHEN c.b = 0 AND c.c = 0 THEN c.value_used
                ELSE c.value_used * (c.a + c.b * 25 + c.c * 10)
                     / (c.a + c.b * c.lutum_used + c.c * c.organic_matter_used)
           END AS value_std
    FROM clamped c
    OFFSET 0
)
SELECT measurement_id,
       sample_id,
       location_id,
       gemeente_code,
       parameter_code,
       value,
       value_used,
       value_std,
       below_detection_limit,
       derived,
       n_sum_members,
       correction,
       CASE WHEN b = 0 THEN NULL ELSE lutum_used END AS lutum_used,
       CASE WHEN c = 0 THEN NULL ELSE organic_matter_used END AS organic_matter_used,
       klasse_of(value_std, achtergrondwaarde, maximaal_wonen, maximaal_industrie) AS klasse,
       coalesce(value_std > interventiewaarde * (1 + 1e-9), false) AS above_interventiewaarde,
       norm_verified AS norms_verified
FROM standardised;

-- measurement_id is NULL on derived sums and n_sum_members on stored measurements, so no row is
-- entirely non-NULL: that keeps the duplicate check of REFRESH ... CONCURRENTLY trivial (it only
-- looks at complete rows). The unique index on measurement_id allows the concurrent refresh.
CREATE UNIQUE INDEX measurement_assessment_measurement_id ON measurement_assessment (measurement_id);
CREATE INDEX measurement_assessment_sample ON measurement_assessment (sample_id);
CREATE INDEX measurement_assessment_location ON measurement_assessment (location_id);
COMMENT ON MATERIALIZED VIEW measurement_assessment IS
    'Every measurement of a normed substance (and every sum computed from its members: derived, '
    'measurement_id NULL) standardised to standard soil and classed against the pre-Omgevingswet '
    'norms (not verified for 2024+). value_used = value, or 0.7 x detection limit below it.';
COMMENT ON COLUMN measurement_assessment.correction IS
    'measured: lutum/OM the formula needs were measured; default: standard soil (25 % lutum, '
    '10 % OM) used for a missing one; none: substance has no bodemtype correction';

-- sample level -------------------------------------------------------------------------------------
-- interventiewaarde_parameters: the substances above the interventiewaarde, NULL when there are
-- none (a NULL column also keeps the duplicate check of a concurrent refresh off these rows)
CREATE MATERIALIZED VIEW sample_assessment AS
WITH ranked AS (
    SELECT sample_id, location_id, gemeente_code, parameter_code, above_interventiewaarde, norms_verified,
           klasse_rank(klasse) AS rank,
           max(klasse_rank(klasse)) OVER (PARTITION BY sample_id) AS worst
    FROM measurement_assessment
    WHERE klasse IS NOT NULL
)
SELECT sample_id,
       min(location_id) AS location_id,
       min(gemeente_code) AS gemeente_code,
       klasse_name(min(worst)) AS klasse,
       bool_or(above_interventiewaarde) AS above_interventiewaarde,
       array_agg(DISTINCT parameter_code ORDER BY parameter_code) FILTER (WHERE rank = worst)
           AS deciding_parameters,
       array_agg(DISTINCT parameter_code ORDER BY parameter_code) FILTER (WHERE above_interventiewaarde)
           AS interventiewaarde_parameters,
       count(*)::integer AS n_assessed,
       bool_and(norms_verified) AS norms_verified
FROM ranked
GROUP BY sample_id;

CREATE UNIQUE INDEX sample_assessment_sample_id ON sample_assessment (sample_id);
CREATE INDEX sample_assessment_location ON sample_assessment (location_id);
COMMENT ON MATERIALIZED VIEW sample_assessment IS
    'Worst class per sample over its assessed substances, the substances deciding it and those above '
    'the interventiewaarde (NULL: none) (pre-Omgevingswet norms, not verified for 2024+)';

-- location level -----------------------------------------------------------------------------------
CREATE MATERIALIZED VIEW location_assessment AS
WITH ranked AS (
    SELECT s.location_id, s.gemeente_code, s.sample_id, s.above_interventiewaarde, s.norms_verified,
           s.deciding_parameters, s.interventiewaarde_parameters,
           klasse_rank(s.klasse) AS rank,
           max(klasse_rank(s.klasse)) OVER (PARTITION BY s.location_id) AS worst
    FROM sample_assessment s
), deciding AS (
    SELECT r.location_id, array_agg(DISTINCT p ORDER BY p) AS deciding_parameters
    FROM ranked r CROSS JOIN LATERAL unnest(r.deciding_parameters) AS p
    WHERE r.rank = r.worst
    GROUP BY r.location_id
), intervention AS (
    SELECT r.location_id, array_agg(DISTINCT p ORDER BY p) AS interventiewaarde_parameters
    FROM ranked r CROSS JOIN LATERAL unnest(r.interventiewaarde_parameters) AS p
    GROUP BY r.location_id
)
SELECT r.location_id,
       min(r.gemeente_code) AS gemeente_code,
       klasse_name(min(r.worst)) AS klasse,
       bool_or(r.above_interventiewaarde) AS above_interventiewaarde,
       min(d.deciding_parameters) AS deciding_parameters,
       min(i.interventiewaarde_parameters) AS interventiewaarde_parameters,
       count(*)::integer AS n_samples,
       bool_and(r.norms_verified) AS norms_verified
FROM ranked r
JOIN deciding d ON d.location_id = r.location_id
LEFT JOIN intervention i ON i.location_id = r.location_id
GROUP BY r.location_id;

CREATE UNIQUE INDEX location_assessment_location_id ON location_assessment (location_id);
CREATE INDEX location_assessment_gemeente ON location_assessment (gemeente_code);
COMMENT ON MATERIALIZED VIEW location_assessment IS
    'Worst class per location over its assessed samples, the substances deciding it and those above '
    'the interventiewaarde (NULL: none); n_samples = assessed samples (pre-Omgevingswet norms, not '
    'verified for 2024+)';
