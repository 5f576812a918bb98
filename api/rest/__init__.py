"""REST routers for analysts: one module per resource, GeoJSON by default, CSV on request."""
