"""OGC API – Features (Parts 1–3) and Tiles under ``/ogc``."""
