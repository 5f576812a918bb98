#!/usr/bin/python3
"""Render the gemeenten choropleth of a soil-quality metric with a real (headless) QGIS.

Reads Grondslag's OGC API – Features through QGIS's "WFS / OGC API – Features" provider (`oapif`),
draws the 26 gemeenten graduated by `share_lead_topsoil_above_wonen` (share of top-soil lead samples
above the Wonen class; gemeenten without lead samples in grey), labels them, puts the `locations`
collection on top as small points, and exports a QgsLayout (title, map in EPSG:28992, legend, scale
bar, source line) to a PNG.

Runs with Debian's QGIS (`apt-get install python3-qgis qgis-providers`) and the SYSTEM python:

    QT_QPA_PLATFORM=offscreen /usr/bin/python3 scripts/qgis_choropleth.py \
        --url http://127.0.0.1:8099/ogc --out docs/img/qgis_gemeenten_lead_wonen.png [-v]

(`--url` defaults to http://127.0.0.1:8099/ogc; `make demo` serves on port 8000.)

Exit codes: 0 written; 1 a layer did not load or had the wrong number of features, or the export
failed; 2 QGIS is not importable.
"""

from __future__ import annotations

import argparse
import os
import sys

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

try:
    from qgis.core import (
        Qgis,
        QgsApplication,
        QgsCoordinateReferenceSystem,
        QgsCoordinateTransform,
        QgsFeatureRequest,
        QgsFillSymbol,
        QgsGraduatedSymbolRenderer,
        QgsLayout,
        QgsLayoutExporter,
        QgsLayoutItemLabel,
        QgsLayoutItemLegend,
        QgsLayoutItemMap,
        QgsLayoutItemScaleBar,
        QgsLayoutPoint,
        QgsLayoutSize,
        QgsLegendStyle,
        QgsMarkerSymbol,
        QgsNetworkAccessManager,
        QgsNetworkRequestParameters,
        QgsPalLayerSettings,
        QgsProject,
        QgsProperty,
        QgsProviderRegistry,
        QgsRectangle,
        QgsRendererRange,
        QgsSingleSymbolRenderer,
        QgsTextBackgroundSettings,
        QgsTextBufferSettings,
        QgsTextFormat,
        QgsUnitTypes,
        QgsVectorLayer,
        QgsVectorLayerSimpleLabeling,
    )
    from qgis.PyQt.QtCore import QSize, QSizeF, qInstallMessageHandler
    from qgis.PyQt.QtGui import QColor, QFont
except ImportError as exc:  # pragma: no cover - depends on the machine
    print(
        f"error: QGIS's Python bindings are not importable ({exc}).\n"
        "Install them with `apt-get install -y --no-install-recommends python3-qgis qgis-providers` "
        "and run this script with /usr/bin/python3 (not the project's .venv).",
        file=sys.stderr,
    )
    sys.exit(2)

METRIC = "share_lead_topsoil_above_wonen"
COUNT = "n_lead_topsoil_samples"
TITLE = "Share of top-soil lead samples above Wonen — Grondslag OGC API"
EXPECTED_GEMEENTEN = 26
RD_NEW = "EPSG:28992"
# Province of Utrecht in RD New, generously: a layer whose extent falls outside this after reprojection
# has its axes or CRS wrong.
RD_SANITY = QgsRectangle(100_000, 400_000, 190_000, 500_000)

NO_DATA_COLOR = "#d0d0d0"
# (lower, upper, label, colour): share as a fraction; the first class is the "no lead samples" one,
# selected by the classification expression below (-1 for gemeenten without lead samples).
CLASSES = [
    (-1.0, -1.0, "no top-soil lead samples", NO_DATA_COLOR),
    (0.0, 0.05, "0 – 5 %", "#fee5d9"),
    (0.05, 0.10, "5 – 10 %", "#fcae91"),
    (0.10, 0.20, "10 – 20 %", "#fb6a4a"),
    (0.20, 0.35, "20 – 35 %", "#de2d26"),
    (0.35, 1.0, "35 – 100 %", "#a50f15"),
]
CLASSIFY = f'CASE WHEN coalesce("{COUNT}", 0) = 0 THEN -1 ELSE "{METRIC}" END'
LABEL = (
    f'"name" || CASE WHEN coalesce("{COUNT}", 0) > 0 THEN '
    f"'\\n' || format_number(100 * \"{METRIC}\", 1) || ' %  (n = ' || \"{COUNT}\" || ')' ELSE '' END"
)


# What the providers log (QgsMessageLog); the reason an oapif layer is invalid is only told there.
# (Calling layer.error() or dataProvider().error() on an invalid oapif layer segfaults QGIS 3.22.)
LOG: list[str] = []


def oapif_layer(url: str, collection: str, title: str) -> QgsVectorLayer:
    """An oapif layer; exits with the provider's own message when it is not valid."""
    # QGIS 3.22's oapif provider reads the WFS-style URI: url= the landing page, typename= the
    # collection id. restrictToRequestBBOX='0' downloads the whole collection once (following the
    # "next" links) instead of one bbox request per map view; pageSize is kept under the API's max.
    uri = f"url='{url}' typename='{collection}' restrictToRequestBBOX='0' pageSize='1000'"
    LOG.clear()
    layer = QgsVectorLayer(uri, title, "oapif")
    QgsApplication.processEvents()
    if not layer.isValid():
        why = "; ".join(LOG) or "no message from the provider"
        fail(
            f"the oapif layer {collection!r} at {url} is not valid: {why} (is `grondslag serve` running there?)"
        )
    return layer


def _qt_messages(_mode, _context, message: str) -> None:
    # Headless, the oapif downloader of QGIS 3.22 tries to hook a progress dialog that does not exist
    # and Qt warns "QObject::connect(QProgressDialog, QgsOapifFeatureDownloaderImpl): invalid nullptr
    # parameter": harmless, dropped. Everything else goes to stderr as Qt would print it.
    if "QgsOapifFeatureDownloaderImpl" not in message:
        print(message, file=sys.stderr)


def fail(msg: str) -> None:
    print(f"error: {msg}", file=sys.stderr)
    sys.exit(1)


def counted(layer: QgsVectorLayer) -> tuple[int, int]:
    """(featureCount() as the provider reports it, features actually iterated)."""
    reported = layer.featureCount()
    iterated = sum(1 for _ in layer.getFeatures(QgsFeatureRequest().setNoAttributes()))
    QgsApplication.processEvents()  # delivers the queued network signals that --verbose prints
    return reported, iterated


def gemeenten_renderer() -> QgsGraduatedSymbolRenderer:
    ranges = []
    for lower, upper, label, colour in CLASSES:
        sym = QgsFillSymbol.createSimple(
            {"color": colour, "outline_color": "#ffffff", "outline_width": "0.35", "outline_width_unit": "MM"}
        )
        ranges.append(QgsRendererRange(lower, upper, sym, label))
    return QgsGraduatedSymbolRenderer(CLASSIFY, ranges)  # manual ranges: the "custom" method


def gemeenten_labels() -> QgsVectorLayerSimpleLabeling:
    fmt = QgsTextFormat()
    fmt.setFont(QFont("DejaVu Sans"))
    fmt.setSize(7.5)
    fmt.setColor(QColor("#202020"))
    buf = QgsTextBufferSettings()
    buf.setEnabled(True)
    buf.setSize(0.7)
    buf.setSizeUnit(QgsUnitTypes.RenderMillimeters)
    buf.setColor(QColor("#ffffff"))
    fmt.setBuffer(buf)
    # A white box behind the labels of the gemeenten with samples, so the two lines stay readable over
    # the dense sample points (data-defined: drawn only where there are lead samples).
    box = QgsTextBackgroundSettings()
    box.setEnabled(True)
    box.setType(QgsTextBackgroundSettings.ShapeRectangle)
    box.setSizeType(QgsTextBackgroundSettings.SizeBuffer)
    box.setSize(QSizeF(1.2, 0.8))
    box.setSizeUnit(QgsUnitTypes.RenderMillimeters)
    box.setRadii(QSizeF(0.8, 0.8))
    box.setFillColor(QColor(255, 255, 255, 225))
    box.setStrokeColor(QColor("#707070"))
    box.setStrokeWidth(0.2)
    fmt.setBackground(box)
    pal = QgsPalLayerSettings()
    pal.isExpression = True
    pal.fieldName = LABEL
    pal.setFormat(fmt)
    pal.placement = QgsPalLayerSettings.OverPoint
    pal.multilineAlign = QgsPalLayerSettings.MultiCenter
    pal.centroidInside = True
    pal.displayAll = True  # small gemeenten (Renswoude, Eemnes) too
    props = pal.dataDefinedProperties()
    props.setProperty(
        QgsPalLayerSettings.ShapeDraw, QgsProperty.fromExpression(f'coalesce("{COUNT}", 0) > 0')
    )
    pal.setDataDefinedProperties(props)
    return QgsVectorLayerSimpleLabeling(pal)


def add_label(
    layout: QgsLayout,
    text: str,
    x: float,
    y: float,
    w: float,
    h: float,
    size: float,
    bold: bool = False,
    colour: str = "#000000",
) -> None:
    item = QgsLayoutItemLabel(layout)
    item.setText(text)
    font = QFont("DejaVu Sans")
    font.setPointSizeF(size)
    font.setBold(bold)
    item.setFont(font)  # QGIS 3.22: setFont/setFontColor (setTextFormat came in 3.24)
    item.setFontColor(QColor(colour))
    item.attemptMove(QgsLayoutPoint(x, y, QgsUnitTypes.LayoutMillimeters))
    item.attemptResize(QgsLayoutSize(w, h, QgsUnitTypes.LayoutMillimeters))
    layout.addLayoutItem(item)


def build_layout(
    project: QgsProject, gem: QgsVectorLayer, loc: QgsVectorLayer | None, extent: QgsRectangle, url: str
) -> QgsLayout:
    page_w, page_h = 250.0, 190.0
    layout = QgsLayout(project)
    layout.initializeDefaults()
    layout.pageCollection().page(0).setPageSize(QgsLayoutSize(page_w, page_h, QgsUnitTypes.LayoutMillimeters))

    add_label(layout, TITLE, 8, 5, page_w - 16, 10, 15, bold=True)
    add_label(
        layout,
        "Gemeenten of the province of Utrecht, read through QGIS's “WFS / OGC API – Features” "
        "provider. Label: share above Wonen (n = top-soil lead samples).",
        8,
        14,
        page_w - 16,
        8,
        8.5,
        colour="#444444",
    )

    map_x, map_y, map_w, map_h = 8.0, 23.0, 170.0, 155.0
    item = QgsLayoutItemMap(layout)
    item.setCrs(QgsCoordinateReferenceSystem(RD_NEW))
    item.setLayers([lyr for lyr in (loc, gem) if lyr is not None])
    item.setFrameEnabled(True)
    item.setFrameStrokeColor(QColor("#909090"))
    # Order matters in QGIS 3.22: moving a map item whose extent is still empty turns its extent into
    # NaN (a blank map and a runaway scale bar). Size it, zoom, and only then move it.
    item.attemptResize(QgsLayoutSize(map_w, map_h, QgsUnitTypes.LayoutMillimeters))
    e = QgsRectangle(extent)
    e.scale(1.04)
    item.zoomToExtent(e)
    item.attemptMove(QgsLayoutPoint(map_x, map_y, QgsUnitTypes.LayoutMillimeters))
    layout.addLayoutItem(item)
    if item.extent().isEmpty():
        fail(f"the layout map has an empty extent after zooming to {e.toString(0)}")

    legend = QgsLayoutItemLegend(layout)
    legend.setTitle("Top-soil lead samples\nabove Wonen")
    legend.setLinkedMap(item)
    legend.setAutoUpdateModel(False)
    root = legend.model().rootGroup()
    root.clear()
    root.addLayer(gem)
    if loc is not None:
        root.addLayer(loc)
    for style, size, bold in (
        (QgsLegendStyle.Title, 10, True),
        (QgsLegendStyle.Subgroup, 8.5, True),
        (QgsLegendStyle.SymbolLabel, 8.5, False),
    ):
        font = QFont("DejaVu Sans")
        font.setPointSizeF(size)
        font.setBold(bold)
        legend.setStyleFont(style, font)
    legend.setSymbolWidth(8)
    legend.setSymbolHeight(5)
    legend.attemptMove(QgsLayoutPoint(map_x + map_w + 5, map_y, QgsUnitTypes.LayoutMillimeters))
    layout.addLayoutItem(legend)
    legend.adjustBoxSize()

    bar = QgsLayoutItemScaleBar(layout)
    bar.setStyle("Single Box")
    bar.setLinkedMap(item)
    bar.setUnits(QgsUnitTypes.DistanceKilometers)
    bar.setUnitLabel("km")
    bar.setUnitsPerSegment(5)
    bar.setNumberOfSegments(2)
    bar.setNumberOfSegmentsLeft(0)
    bar.setHeight(2.5)
    bar.setBackgroundEnabled(True)
    bar_font = QFont("DejaVu Sans")
    bar_font.setPointSizeF(8)
    bar.setTextFormat(QgsTextFormat.fromQFont(bar_font))
    bar.attemptMove(QgsLayoutPoint(map_x + 4, map_y + map_h - 14, QgsUnitTypes.LayoutMillimeters))
    layout.addLayoutItem(bar)

    add_label(
        layout,
        f"Source: Grondslag OGC API – Features ({url}), gemeente boundaries CBS/Kadaster "
        f"(CC BY 4.0). Map: EPSG:28992 (RD New). QGIS {Qgis.version()}.",
        8,
        page_h - 9,
        page_w - 16,
        6,
        7,
        colour="#555555",
    )
    return layout


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--url", default="http://127.0.0.1:8099/ogc", help="OGC API landing page")
    ap.add_argument("--out", default="docs/img/qgis_gemeenten_lead_wonen.png", help="PNG to write")
    ap.add_argument("--width", type=int, default=1400, help="PNG width in pixels (default 1400)")
    ap.add_argument("--no-locations", action="store_true", help="leave the locations points out")
    ap.add_argument("-v", "--verbose", action="store_true", help="print every HTTP request QGIS makes")
    args = ap.parse_args(argv)

    qInstallMessageHandler(_qt_messages)
    QgsApplication.setPrefixPath("/usr", True)
    app = QgsApplication([], False)
    app.initQgis()
    QgsApplication.messageLog().messageReceived.connect(lambda msg, tag, level: LOG.append(f"{tag}: {msg}"))
    try:
        print(f"QGIS {Qgis.version()}")
        if args.verbose:
            # Emitted on the main thread's manager for requests of every thread, delivered queued.
            QgsNetworkAccessManager.instance().requestAboutToBeCreated[QgsNetworkRequestParameters].connect(
                lambda r: print(f"  GET {r.request().url().toString()}")
            )
        if not _has_provider("oapif"):
            fail("QGIS has no 'oapif' provider: install Debian's qgis-providers")

        project = QgsProject.instance()
        rd = QgsCoordinateReferenceSystem(RD_NEW)
        project.setCrs(rd)

        gem = oapif_layer(args.url, "gemeenten", "Gemeenten")
        reported, n_gem = counted(gem)
        print(f"gemeenten: layer CRS {gem.crs().authid()}, featureCount() {reported}, features read {n_gem}")
        if reported != EXPECTED_GEMEENTEN or n_gem != EXPECTED_GEMEENTEN:
            fail(
                f"expected {EXPECTED_GEMEENTEN} gemeenten, featureCount() gave {reported}, "
                f"iteration gave {n_gem}"
            )
        if gem.fields().indexOf(METRIC) < 0 or gem.fields().indexOf(COUNT) < 0:
            fail(f"gemeenten has no field {METRIC!r} or {COUNT!r}; fields: {gem.fields().names()}")
        with_lead = [
            (f["name"], f[COUNT], f[METRIC])
            for f in gem.getFeatures()
            if not _is_null(f[COUNT]) and f[COUNT] > 0
        ]
        print(f"gemeenten with top-soil lead samples: {len(with_lead)}")
        for name, n, share in sorted(with_lead):
            print(f"  {name}: {n} samples, {100 * share:.1f} % above Wonen")

        loc = None
        if not args.no_locations:
            loc = oapif_layer(args.url, "locations", "Locations (sample points)")
            reported, n_loc = counted(loc)
            print(
                f"locations: layer CRS {loc.crs().authid()}, featureCount() {reported}, features read {n_loc}"
            )
            if n_loc == 0:
                fail("the locations collection returned no features")
            loc.setRenderer(
                QgsSingleSymbolRenderer(
                    QgsMarkerSymbol.createSimple(
                        {
                            "name": "circle",
                            "color": "31,59,90,170",
                            "outline_style": "no",
                            "size": "0.55",
                            "size_unit": "MM",
                        }
                    )
                )
            )

        gem.setRenderer(gemeenten_renderer())
        gem.setLabeling(gemeenten_labels())
        gem.setLabelsEnabled(True)
        project.addMapLayer(gem)
        if loc is not None:
            project.addMapLayer(loc)

        # The oapif provider of QGIS 3.22 reads features in CRS84 (it does not ask for crs=EPSG:28992);
        # QGIS reprojects on the fly. Check the reprojected extent is where Utrecht is in RD New.
        xform = QgsCoordinateTransform(gem.crs(), rd, project.transformContext())
        extent = xform.transformBoundingBox(gem.extent())
        print(f"gemeenten extent in {RD_NEW}: {extent.toString(0)}")
        if not RD_SANITY.contains(extent):
            fail(
                f"gemeenten extent in {RD_NEW} ({extent.toString(0)}) is not around Utrecht: "
                "axis order or CRS of the oapif layer is wrong"
            )

        layout = build_layout(project, gem, loc, extent, args.url)
        page_mm = layout.pageCollection().page(0).pageSize().width()
        dpi = args.width / (page_mm / 25.4)
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        # renderPageToImage + QImage.save rather than exportToImage: QGIS 3.22's exportToImage then
        # opens the PNG with GDAL in update mode to georeference it, which PNG does not support
        # ("ERROR 6: The PNG driver does not support update access").
        image = QgsLayoutExporter(layout).renderPageToImage(0, QSize(), dpi)
        if image.isNull() or not image.save(args.out, "PNG"):
            fail(f"could not render the layout or write {args.out}")
        print(f"wrote {args.out} ({image.width()}×{image.height()} px, {dpi:.1f} dpi)")
        return 0
    finally:
        QgsProject.instance().clear()
        app.exitQgis()


def _is_null(v) -> bool:
    return v is None or (hasattr(v, "isNull") and v.isNull())


def _has_provider(key: str) -> bool:
    # QGIS 3.22 registers the provider as "OAPIF"; layer creation matches the key case-insensitively.
    return key.lower() in (k.lower() for k in QgsProviderRegistry.instance().providerList())


if __name__ == "__main__":
    sys.exit(main())
