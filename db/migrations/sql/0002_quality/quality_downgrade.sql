-- Undo assessment.sql and quality_metrics.sql (db/migrations/versions/0002_quality.py downgrade).
DROP FUNCTION IF EXISTS quality_provincie();
DROP FUNCTION IF EXISTS quality_omgevingsdienst(date);
DROP FUNCTION IF EXISTS quality_rollup(text, date, text[], text[], text[]);
DROP TYPE IF EXISTS quality_area;
DROP MATERIALIZED VIEW IF EXISTS quality_source;
DROP MATERIALIZED VIEW IF EXISTS quality_gemeente;
DROP MATERIALIZED VIEW IF EXISTS quality_gemeente_parameter;
DROP MATERIALIZED VIEW IF EXISTS quality_location;
DROP FUNCTION IF EXISTS quality_position_reasons();
DROP FUNCTION IF EXISTS safe_share(numeric, numeric);
DROP MATERIALIZED VIEW IF EXISTS location_assessment;
DROP MATERIALIZED VIEW IF EXISTS sample_assessment;
DROP MATERIALIZED VIEW IF EXISTS measurement_assessment;
DROP VIEW IF EXISTS assessment_parameter;
DROP VIEW IF EXISTS sum_member_parameter;
DROP FUNCTION IF EXISTS klasse_of(double precision, double precision, double precision, double precision);
DROP FUNCTION IF EXISTS klasse_name(integer);
DROP FUNCTION IF EXISTS klasse_rank(text);
