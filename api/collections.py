"""Declarative registry of the feature collections (OGC API and the REST lists built on them).

Each :class:`Collection` names its relation (aliased ``t``), id, geometry, properties, datetime and
optional :class:`Extension` joins to the quality views of migration 0002. Extensions are probed at
start-up (and after every data change); absent ones are left out, so the API works before 0002.
Generic extensions take every column of the view, so new metric columns appear without code changes.
Only names in this registry ever become SQL identifiers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: daterange of a membership row contains a date placeholder ``{on_date}``
MEMBERSHIP_ON = (
    "daterange(coalesce(m.valid_from, '-infinity'::date), coalesce(m.valid_to, 'infinity'::date))"
    " @> {on_date}"
)
BRO_PROPS = (
    ("object_type", "t.object_type", "string"),
    ("status", "t.status", "string"),
    ("gemeente_code", "t.gemeente_code", "string"),
    ("quality_regime", "t.quality_regime", "string"),
    ("research_report_date", "t.research_report_date", "date"),
    ("registration_date", "t.registration_date", "date"),
    ("delivery_accountable_party", "t.delivery_accountable_party", "string"),
    ("final_depth", "t.final_depth", "number"),
    ("vertical_datum", "t.vertical_datum", "string"),
    ("offset", 't."offset"', "number"),
    ("dataset_id", "t.dataset_id", "integer"),
)
SOURCE_FILTER = (
    "t.dataset_id IN (SELECT d.id FROM dataset d JOIN source s ON s.id = d.source_id WHERE s.name = {value})"
)


@dataclass(frozen=True)
class Prop:
    """One property: output name, SQL expression over the collection's relations, JSON kind."""

    name: str
    expr: str
    kind: str = "string"  # string | integer | number | boolean | date | datetime | array


def props(*rows: tuple[str, str, str]) -> tuple[Prop, ...]:
    return tuple(Prop(*r) for r in rows)


@dataclass(frozen=True)
class Extension:
    """An optional relation (view or set-returning function), LEFT JOINed when it exists.

    ``wanted`` lists the columns to take (those present); empty means every column but ``drop``.
    """

    probe: str  # FROM-item used to test existence and read the columns, e.g. ``quality_gemeente``
    alias: str
    on: str
    wanted: tuple[str, ...] = ()
    drop: tuple[str, ...] = ()
    source: str | None = None  # FROM-item in the join when it differs from ``probe``

    @property
    def join(self) -> str:
        return f"LEFT JOIN {self.source or self.probe} {self.alias} ON {self.on}"


@dataclass(frozen=True)
class Collection:
    id: str
    title: str
    description: str
    from_: str
    id_expr: str
    id_kind: str  # integer | string
    geom: str
    geometry_type: str
    props: tuple[Prop, ...]
    datetime: str | None = None
    where: str | None = None  # fixed condition (literal SQL from this file only)
    extensions: tuple[Extension, ...] = ()
    ogc: bool = True
    tiles: bool = False
    on_date: bool = False  # ``{on_date}`` in from_: datetime/date picks the membership date
    parameter_filter: str | None = None  # template with ``{value}``
    source_filter: str | None = None
    keywords: tuple[str, ...] = field(default_factory=tuple)


GEMEENTEN = Collection(
    id="gemeenten",
    title="Gemeenten",
    description="The 26 gemeenten of the province of Utrecht with their current omgevingsdienst and "
    "quality metrics (quality_gemeente) as attributes, for choropleth maps.",
    from_="gemeente t LEFT JOIN LATERAL (SELECT m.omgevingsdienst_code FROM omgevingsdienst_membership m "
    "WHERE m.gemeente_code = t.code AND "
    + MEMBERSHIP_ON.format(on_date="CURRENT_DATE")
    + " LIMIT 1) od ON true",
    id_expr="t.code",
    id_kind="string",
    geom="t.geom",
    geometry_type="MultiPolygon",
    props=props(
        ("code", "t.code", "string"),
        ("name", "t.name", "string"),
        ("area_km2", "t.area_km2", "number"),
        ("omgevingsdienst", "od.omgevingsdienst_code", "string"),
    ),
    extensions=(
        Extension(
            "quality_gemeente",
            "q",
            "q.gemeente_code = t.code",
            drop=("gemeente_code", "gemeente_name", "area_km2"),
        ),
    ),
    tiles=True,
)

OMGEVINGSDIENSTEN = Collection(
    id="omgevingsdiensten",
    title="Omgevingsdiensten",
    description="Omgevingsdiensten as the dissolved area of their member gemeenten on a date (today, or "
    "?datetime=YYYY-MM-DD), with their metrics (quality_omgevingsdienst).",
    from_="(SELECT o.code, o.name, ST_Multi(ST_Union(g.geom)) AS geom, "
    "array_agg(m.gemeente_code ORDER BY m.gemeente_code) AS members, count(g.code) AS n_gemeenten "
    "FROM omgevingsdienst o JOIN omgevingsdienst_membership m ON m.omgevingsdienst_code = o.code AND "
    + MEMBERSHIP_ON
    + " LEFT JOIN gemeente g ON g.code = m.gemeente_code GROUP BY o.code, o.name) t",
    id_expr="t.code",
    id_kind="string",
    geom="t.geom",
    geometry_type="MultiPolygon",
    props=props(
        ("code", "t.code", "string"),
        ("name", "t.name", "string"),
        ("members", "t.members", "array"),
        ("n_gemeenten", "t.n_gemeenten", "integer"),
    ),
    extensions=(
        Extension(
            "quality_omgevingsdienst(CURRENT_DATE)",
            "q",
            "q.area_code = t.code",
            drop=("area_level", "area_code", "area_name", "n_gemeenten"),
            source="quality_omgevingsdienst({on_date})",
        ),
    ),
    on_date=True,
)

LOCATIONS = Collection(
    id="locations",
    title="Locations",
    description="Soil investigation locations (boreholes, sample points) from all municipal sources.",
    from_="location t LEFT JOIN investigation i ON i.id = t.investigation_id",
    id_expr="t.id",
    id_kind="integer",
    geom="t.geom",
    geometry_type="Point",
    props=props(
        ("external_id", "t.external_id", "string"),
        ("name", "t.name", "string"),
        ("status", "t.status", "string"),
        ("gemeente_code", "t.gemeente_code", "string"),
        ("dataset_id", "t.dataset_id", "integer"),
        ("investigation_id", "t.investigation_id", "integer"),
        ("investigation_date", "i.investigation_date", "date"),
        ("locator", "t.locator", "string"),
    ),
    datetime="i.investigation_date",
    extensions=(
        Extension(
            "location_assessment", "la", "la.location_id = t.id", wanted=("klasse", "above_interventiewaarde")
        ),
    ),
    tiles=True,
    parameter_filter="EXISTS (SELECT 1 FROM sample s JOIN measurement m ON m.sample_id = s.id "
    "WHERE s.location_id = t.id AND m.parameter_code = {value})",
    source_filter=SOURCE_FILTER,
)

SAMPLES = Collection(
    id="samples",
    title="Samples",
    description="Soil samples at their location's point, with their assessment class (klasse).",
    from_="sample t JOIN location l ON l.id = t.location_id",
    id_expr="t.id",
    id_kind="integer",
    geom="l.geom",
    geometry_type="Point",
    props=props(
        ("external_id", "t.external_id", "string"),
        ("location_id", "t.location_id", "integer"),
        ("gemeente_code", "l.gemeente_code", "string"),
        ("dataset_id", "t.dataset_id", "integer"),
        ("depth_from_m", "t.depth_from_m", "number"),
        ("depth_to_m", "t.depth_to_m", "number"),
        ("sample_date", "t.sample_date", "date"),
        ("lutum_pct", "t.lutum_pct", "number"),
        ("organic_matter_pct", "t.organic_matter_pct", "number"),
        ("locator", "t.locator", "string"),
    ),
    datetime="t.sample_date",
    extensions=(
        Extension(
            "sample_assessment",
            "sa",
            "sa.sample_id = t.id",
            wanted=("klasse", "above_interventiewaarde", "deciding_parameters"),
        ),
    ),
    tiles=True,
    parameter_filter="EXISTS (SELECT 1 FROM measurement m WHERE m.sample_id = t.id "
    "AND m.parameter_code = {value})",
    source_filter=SOURCE_FILTER,
)


QUARANTINED_LOCATIONS = Collection(
    id="quarantined_locations",
    title="Quarantined locations",
    description="Locations the ETL did not load because of where they lie (outside_gemeente: more than "
    "the tolerance outside the delivering gemeente; outside_province), at the position the file gives "
    "(a polygon's point on surface), with the reason and message. For checking a new export on the map.",
    from_="quarantine t LEFT JOIN dataset d ON d.id = t.dataset_id LEFT JOIN source s ON s.id = d.source_id",
    id_expr="t.id",
    id_kind="integer",
    geom="t.geom",
    geometry_type="Point",
    props=props(
        ("reason", "t.reason", "string"),
        ("message", "t.message", "string"),
        ("locator", "t.locator", "string"),
        ("source", "s.name", "string"),
        ("dataset_id", "t.dataset_id", "integer"),
        ("run_id", "t.run_id", "integer"),
        ("quarantined_at", "t.created_at", "datetime"),
    ),
    datetime="t.created_at::date",
    where="t.geom IS NOT NULL",
    source_filter=SOURCE_FILTER,
)


def _bro(
    cid: str, title: str, types: tuple[str, ...], *, ogc: bool = True, tiles: bool = False
) -> Collection:
    listed = ", ".join("'" + t + "'" for t in types)  # literals from this file only
    return Collection(
        id=cid,
        title=title,
        description=f"BRO objects of type {', '.join(types)} (Basisregistratie Ondergrond).",
        from_="bro_object t",
        id_expr="t.bro_id",
        id_kind="string",
        geom="t.geom",
        geometry_type="Point",
        props=props(("bro_id", "t.bro_id", "string"), *BRO_PROPS),
        datetime="coalesce(t.research_report_date, t.registration_date)",
        where=f"t.object_type IN ({listed})",
        ogc=ogc,
        tiles=tiles,
        source_filter=SOURCE_FILTER,
    )


BRO_TYPES = ("CPT", "BHR-GT", "BHR-P", "BHR-G", "GMW")
COLLECTIONS: dict[str, Collection] = {
    c.id: c
    for c in (
        GEMEENTEN,
        OMGEVINGSDIENSTEN,
        LOCATIONS,
        SAMPLES,
        _bro("bro_cpt", "BRO cone penetration tests (CPT)", ("CPT",), tiles=True),
        _bro("bro_boreholes", "BRO boreholes (BHR-GT, BHR-P, BHR-G)", ("BHR-GT", "BHR-P", "BHR-G")),
        _bro("bro_wells", "BRO groundwater monitoring wells (GMW)", ("GMW",)),
        QUARANTINED_LOCATIONS,
        _bro("bro_objects", "All BRO objects", BRO_TYPES, ogc=False),
    )
}
