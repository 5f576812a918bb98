"""The query layer: the registry resolved against the database, and pages built in PostGIS."""
