// Grondslag map page: the API's vector tiles and REST documents drawn with MapLibre GL JS (vendored).
// No base map from the internet: the gemeenten and omgevingsdiensten are the base map.
/* global maplibregl */

// The API root is the folder the page is served from (/map → /, /prefix/map → /prefix/).
const API = location.origin + location.pathname.replace(/[^/]*$/, "").replace(/static\/$/, "");
const tiles = (id) => `${API}ogc/collections/${id}/tiles/WebMercatorQuad/{z}/{x}/{y}`;
const PROVINCE = [
  [4.79, 51.85],
  [5.63, 52.31],
];
const POINT_MINZOOM = 11;
const NO_DATA = "#c9ccd1";

// Choropleth metrics: attributes of the gemeenten tiles (quality_gemeente). A gemeente whose `base`
// count is 0 (or whose value is null) has no data for the metric and is drawn grey.
const RAMPS = {
  volume: ["#deebf7", "#9ecae1", "#6baed6", "#3182bd", "#08519c"],
  concern: ["#ffffb2", "#fecc5c", "#fd8d3c", "#e31a1c", "#800026"],
};
const METRICS = [
  { key: "n_samples", label: "Samples", base: "n_samples", fmt: "int", ramp: "volume" },
  { key: "samples_per_km2", label: "Samples per km²", base: "n_samples", fmt: "dec", ramp: "volume" },
  {
    key: "median_age_years",
    label: "Median age of the data (years)",
    base: "n_locations_dated",
    fmt: "dec",
    ramp: "concern",
  },
  {
    key: "quarantine_rate",
    label: "Quarantine rate (rows rejected)",
    base: "n_rows_read",
    fmt: "pct",
    ramp: "concern",
  },
  {
    key: "share_lead_topsoil_above_wonen",
    label: "Lead in top soil above ‘wonen’",
    base: "n_lead_topsoil_samples",
    fmt: "pct",
    ramp: "concern",
  },
  {
    key: "share_locations_niet_toepasbaar",
    label: "Locations ‘niet toepasbaar’",
    base: "n_locations_assessed",
    fmt: "pct",
    ramp: "concern",
  },
  { key: "n_bro_objects", label: "BRO objects", base: "n_bro_objects", fmt: "int", ramp: "volume" },
];
// Assessment classes (Besluit bodemkwaliteit), mildest first.
const KLASSEN = [
  ["achtergrondwaarde", "#1a9850", "Achtergrondwaarde", "#fff"],
  ["wonen", "#f2c12e", "Wonen", "#1f2933"],
  ["industrie", "#f46d43", "Industrie", "#fff"],
  ["niet_toepasbaar", "#a50026", "Niet toepasbaar", "#fff"],
];
const UNASSESSED = "#9e9e9e";
const BRO_ID = /^[A-Z]{3}\d{12}$/; // a registered BRO object (CPT000000155283); others have local ids
const OD_COLOURS = { ODRU: "#6a3d9a", RUDU: "#1f78b4", ODU: "#2b2d42" };
const LAYER_GROUPS = {
  gemeenten: ["gemeenten-fill", "gemeenten-line", "gemeenten-selected"],
  omgevingsdiensten: ["od-line"],
  samples: ["samples"],
  locations: ["locations"],
  bro_cpt: ["bro-cpt"],
};

const $ = (sel) => document.querySelector(sel);
const num = (v, digits = 0) =>
  Number(v).toLocaleString(undefined, { maximumFractionDigits: digits, minimumFractionDigits: digits });

function format(value, fmt, digits = 1) {
  if (value === null || value === undefined || value === "") return "–";
  if (fmt === "int") return num(value);
  if (fmt === "pct") return `${num(value * 100, digits)} %`;
  if (fmt === "dec") return num(value, 1);
  return String(value);
}

// h("td", {class: "x"}, "text", child…): a DOM element; text is never parsed as HTML.
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v !== null && v !== undefined && v !== false) el.setAttribute(k, v);
  }
  for (const c of children.flat()) {
    if (c !== null && c !== undefined && c !== false) el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

async function getJSON(path) {
  const response = await fetch(API + path, { headers: { Accept: "application/json, application/geo+json" } });
  if (!response.ok) {
    let detail = response.statusText;
    try {
      detail = (await response.json()).detail || detail;
    } catch {
      /* not a problem document */
    }
    throw new Error(`${response.status}: ${detail}`);
  }
  return response.json();
}

// ---------------------------------------------------------------------------------------------- map

const klasseColour = ["match", ["get", "klasse"], ...KLASSEN.flatMap(([k, c]) => [k, c]), UNASSESSED];
const klasseRank = ["match", ["get", "klasse"], ...KLASSEN.flatMap(([k], i) => [k, i + 1]), 0];

const style = {
  version: 8,
  sources: {
    gemeenten: {
      type: "vector",
      tiles: [tiles("gemeenten")],
      maxzoom: 14,
      promoteId: "code",
      attribution: "Gemeentegrenzen © CBS/Kadaster (CC BY 4.0)",
    },
    omgevingsdiensten: { type: "geojson", data: { type: "FeatureCollection", features: [] } },
    samples: { type: "vector", tiles: [tiles("samples")], minzoom: POINT_MINZOOM, maxzoom: 16 },
    locations: { type: "vector", tiles: [tiles("locations")], minzoom: POINT_MINZOOM, maxzoom: 16 },
    bro_cpt: {
      type: "vector",
      tiles: [tiles("bro_cpt")],
      minzoom: POINT_MINZOOM,
      maxzoom: 16,
      attribution: "BRO",
    },
    selected: { type: "geojson", data: { type: "FeatureCollection", features: [] } },
  },
  layers: [
    { id: "background", type: "background", paint: { "background-color": "#e8ecef" } },
    {
      id: "gemeenten-fill",
      type: "fill",
      source: "gemeenten",
      "source-layer": "gemeenten",
      paint: {
        "fill-color": NO_DATA,
        "fill-opacity": ["interpolate", ["linear"], ["zoom"], 10, 0.85, 13, 0.35],
      },
    },
    {
      id: "gemeenten-line",
      type: "line",
      source: "gemeenten",
      "source-layer": "gemeenten",
      paint: {
        "line-color": ["case", ["boolean", ["feature-state", "hover"], false], "#37474f", "#ffffff"],
        "line-width": ["case", ["boolean", ["feature-state", "hover"], false], 2, 1],
      },
    },
    {
      id: "gemeenten-selected",
      type: "line",
      source: "gemeenten",
      "source-layer": "gemeenten",
      filter: ["==", ["get", "code"], ""],
      paint: { "line-color": "#111", "line-width": 3 },
    },
    {
      id: "od-line",
      type: "line",
      source: "omgevingsdiensten",
      paint: {
        "line-color": ["match", ["get", "code"], ...Object.entries(OD_COLOURS).flat(), "#444"],
        "line-width": 2.5,
        "line-dasharray": [3, 1.5],
      },
    },
    {
      id: "samples",
      type: "circle",
      source: "samples",
      "source-layer": "samples",
      minzoom: POINT_MINZOOM,
      layout: { "circle-sort-key": klasseRank },
      paint: {
        "circle-color": klasseColour,
        "circle-radius": ["interpolate", ["linear"], ["zoom"], POINT_MINZOOM, 3, 16, 8],
        "circle-stroke-color": "#ffffff",
        "circle-stroke-width": 0.5,
      },
    },
    {
      id: "locations",
      type: "circle",
      source: "locations",
      "source-layer": "locations",
      minzoom: POINT_MINZOOM,
      paint: {
        "circle-color": "#263238",
        "circle-radius": ["interpolate", ["linear"], ["zoom"], POINT_MINZOOM, 1, 16, 3],
      },
    },
    {
      id: "bro-cpt",
      type: "circle",
      source: "bro_cpt",
      "source-layer": "bro_cpt",
      minzoom: POINT_MINZOOM,
      paint: {
        "circle-color": "#ffffff",
        "circle-stroke-color": "#7b3294",
        "circle-stroke-width": 2.5,
        "circle-radius": ["interpolate", ["linear"], ["zoom"], POINT_MINZOOM, 4, 16, 8],
      },
    },
    {
      id: "selected-point",
      type: "circle",
      source: "selected",
      paint: {
        "circle-color": "rgba(0, 0, 0, 0)",
        "circle-stroke-color": "#00b4d8",
        "circle-stroke-width": 3,
        "circle-radius": ["interpolate", ["linear"], ["zoom"], POINT_MINZOOM, 8, 16, 14],
      },
    },
  ],
};

const PADDING = { top: 20, bottom: 20, left: 340, right: 20 }; // room for the control card
const map = new maplibregl.Map({
  container: "map",
  style,
  bounds: PROVINCE,
  fitBoundsOptions: { padding: PADDING },
  hash: true,
  attributionControl: { compact: false },
});
window.grondslagMap = map;
map.addControl(new maplibregl.NavigationControl({ showCompass: false }), "top-right");
map.addControl(new maplibregl.ScaleControl({ unit: "metric" }), "bottom-right");
$("#home").addEventListener("click", () => map.fitBounds(PROVINCE, { padding: PADDING }));

// ---------------------------------------------------------------------------------- choropleth

const metricSelect = $("#metric");
const maxSeen = {}; // per metric: the largest value seen in the tiles so far (the legend only grows)

for (const m of METRICS) metricSelect.append(h("option", { value: m.key }, m.label));
const currentMetric = () => METRICS.find((m) => m.key === metricSelect.value) || METRICS[0];

function niceCeil(x) {
  if (!(x > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(x));
  return [1, 2, 2.5, 5, 10].map((f) => f * p).find((v) => v >= x * (1 - 1e-9));
}

function gemeenteFeatures() {
  const seen = new Map();
  for (const f of map.querySourceFeatures("gemeenten", { sourceLayer: "gemeenten" })) {
    if (!seen.has(f.properties.code)) seen.set(f.properties.code, f);
  }
  return [...seen.values()];
}

const hasData = (p, m) => Number(p[m.base]) > 0 && typeof p[m.key] === "number";

// Grow the colour domain of every metric to the features loaded; true when the current one changed.
function updateDomains() {
  let changed = false;
  for (const f of gemeenteFeatures()) {
    for (const m of METRICS) {
      if (hasData(f.properties, m) && f.properties[m.key] > (maxSeen[m.key] ?? 0)) {
        maxSeen[m.key] = f.properties[m.key];
        if (m === currentMetric()) changed = true;
      }
    }
  }
  return changed;
}

function fillColour(m) {
  const ramp = RAMPS[m.ramp];
  const top = niceCeil(maxSeen[m.key]);
  const stops = ramp.flatMap((c, i) => [(top * i) / (ramp.length - 1), c]);
  return [
    "case",
    ["all", [">", ["to-number", ["get", m.base], 0], 0], ["==", ["typeof", ["get", m.key]], "number"]],
    ["interpolate", ["linear"], ["to-number", ["get", m.key], 0], ...stops],
    NO_DATA,
  ];
}

function applyMetric() {
  const m = currentMetric();
  map.setPaintProperty("gemeenten-fill", "fill-color", fillColour(m));
  const top = niceCeil(maxSeen[m.key]);
  $("#legend-metric").replaceChildren(
    h("div", { class: "ramp", style: `background: linear-gradient(to right, ${RAMPS[m.ramp].join(", ")})` }),
    h(
      "div",
      { class: "ramp-labels" },
      ...[0, top / 2, top].map((v) => h("span", {}, format(v, m.fmt, top >= 0.1 ? 0 : 1))),
    ),
    h("div", { class: "item" }, h("span", { class: "swatch", style: `background:${NO_DATA}` }), "No data"),
  );
}

metricSelect.addEventListener("change", () => {
  applyMetric();
  const url = new URL(location.href);
  url.searchParams.set("metric", metricSelect.value);
  history.replaceState(null, "", url);
});
const fromUrl = new URL(location.href).searchParams.get("metric");
if (METRICS.some((m) => m.key === fromUrl)) metricSelect.value = fromUrl;

// ------------------------------------------------------------------------------ omgevingsdiensten

const odDate = $("#od-date");
let odFeatures = [];
const today = new Date(Date.now() - new Date().getTimezoneOffset() * 60_000); // local date, as ISO
odDate.value = today.toISOString().slice(0, 10);

async function loadOmgevingsdiensten() {
  try {
    const doc = await getJSON(`omgevingsdiensten?date=${encodeURIComponent(odDate.value)}`);
    odFeatures = doc.features.filter((f) => f.geometry);
  } catch (err) {
    odFeatures = [];
    console.warn("omgevingsdiensten:", err.message);
  }
  map.getSource("omgevingsdiensten")?.setData({ type: "FeatureCollection", features: odFeatures });
  $("#legend-od").replaceChildren(
    ...odFeatures.map((f) =>
      h(
        "div",
        { class: "item" },
        h("span", { class: "line", style: `border-color:${OD_COLOURS[f.properties.code] || "#444"}` }),
        `${f.properties.name} (${f.properties.code})`,
      ),
    ),
  );
}
odDate.addEventListener("change", loadOmgevingsdiensten);

function odOf(code) {
  return odFeatures.filter((f) => (f.properties.members || []).includes(code)).map((f) => f.properties);
}

// ------------------------------------------------------------------------------ layers and legend

for (const box of document.querySelectorAll("#layers input[data-layer]")) {
  box.addEventListener("change", () => {
    for (const id of LAYER_GROUPS[box.dataset.layer]) {
      map.setLayoutProperty(id, "visibility", box.checked ? "visible" : "none");
    }
  });
}

$("#legend-points").replaceChildren(
  h("div", { class: "legend-title" }, "Samples by klasse (worst on top)"),
  ...KLASSEN.map(([, c, label]) =>
    h("div", { class: "item" }, h("span", { class: "dot", style: `background:${c}` }), label),
  ),
  h("div", { class: "item" }, h("span", { class: "dot", style: `background:${UNASSESSED}` }), "Not assessed"),
  h("div", { class: "item" }, h("span", { class: "dot small", style: "background:#263238" }), "Location"),
  h("div", { class: "item" }, h("span", { class: "dot ring" }), "BRO CPT"),
);

function updateZoomHint() {
  const zoomedOut = map.getZoom() < POINT_MINZOOM;
  $("#zoom-hint").hidden = !zoomedOut;
  $("#layers").classList.toggle("zoomed-out", zoomedOut);
}
map.on("zoomend", updateZoomHint);

// ------------------------------------------------------------------------------------ side panel

const panel = $("#panel");
$("#panel-close").addEventListener("click", closePanel);

function select(gemeente = "", point = null) {
  map.setFilter("gemeenten-selected", ["==", ["get", "code"], gemeente]);
  const features = point
    ? [{ type: "Feature", geometry: { type: "Point", coordinates: point }, properties: {} }]
    : [];
  map.getSource("selected").setData({ type: "FeatureCollection", features });
}

function closePanel() {
  panel.hidden = true;
  select();
}

function showPanel(...children) {
  $("#panel-body").replaceChildren(...children.filter((c) => c !== null));
  panel.hidden = false;
}

const link = (path, text) => h("a", { href: API + path, target: "_blank", rel: "noopener" }, text);
const chip = (klasse) => {
  const k = KLASSEN.find(([key]) => key === klasse);
  const [, background, label, colour] = k || [null, UNASSESSED, "not assessed", "#fff"];
  return h("span", { class: "chip", style: `background:${background};color:${colour}` }, label);
};
const rows = (pairs) =>
  h(
    "table",
    { class: "kv" },
    pairs.map(([label, value, key, raw]) =>
      h("tr", {}, h("th", {}, label), h("td", { "data-metric": key, "data-value": raw ?? null }, value)),
    ),
  );

const KEY_METRICS = [
  ["Locations", "n_locations", "int"],
  ["Samples", "n_samples", "int"],
  ["Measurements", "n_measurements", "int"],
  ["BRO objects", "n_bro_objects", "int"],
  ["Median age (years)", "median_age_years", "dec"],
  ["Quarantine rate", "quarantine_rate", "pct"],
  ["Lead in top soil above ‘wonen’", "share_lead_topsoil_above_wonen", "pct"],
];

async function showGemeente(props) {
  const { code, name } = props;
  select(code);
  showPanel(h("h2", {}, name), h("p", { class: "muted" }, `${code} · loading metrics…`));
  let metrics;
  try {
    metrics = (await getJSON(`gemeenten/${encodeURIComponent(code)}/metrics`)).metrics || {};
  } catch (err) {
    showPanel(h("h2", {}, name), h("p", { class: "error" }, `Metrics could not be loaded (${err.message}).`));
    return;
  }
  const ods = odOf(code);
  const odText = ods.length
    ? ods.map((o) => `${o.name} (${o.code})`).join(", ")
    : props.omgevingsdienst || "–";
  const pairs = KEY_METRICS.map(([label, key, fmt]) => [label, format(metrics[key], fmt), key, metrics[key]]);
  const m = currentMetric();
  if (!KEY_METRICS.some(([, key]) => key === m.key))
    pairs.push([m.label, format(metrics[m.key], m.fmt), m.key, metrics[m.key]]);
  showPanel(
    h("h2", {}, name),
    h("p", { class: "muted" }, code),
    h(
      "p",
      { class: "od" },
      h("strong", {}, "Omgevingsdienst "),
      h("span", { id: "panel-od" }, odText),
      h("span", { class: "muted" }, ` (on ${odDate.value})`),
    ),
    metrics.n_locations
      ? null
      : h("p", { class: "note" }, "No municipal soil data loaded for this gemeente yet."),
    rows(pairs),
    h(
      "p",
      { class: "links" },
      link(`gemeenten/${code}/metrics`, "All metrics (JSON)"),
      " · ",
      link(`gemeenten/${code}/metrics?f=csv`, "per parameter (CSV)"),
      " · ",
      link(`gemeenten/${code}/locations?f=csv`, "locations (CSV)"),
    ),
  );
}

async function showLocation(id, point) {
  select("", point);
  showPanel(h("h2", {}, `Location ${id}`), h("p", { class: "muted" }, "loading…"));
  let doc;
  try {
    doc = await getJSON(`locations/${encodeURIComponent(id)}`);
  } catch (err) {
    showPanel(
      h("h2", {}, `Location ${id}`),
      h("p", { class: "error" }, `Could not be loaded (${err.message}).`),
    );
    return;
  }
  const p = doc.properties;
  const investigations = p.investigations.map(
    (i) => `${i.external_id || i.id}${i.investigation_date ? ` (${i.investigation_date})` : ""}`,
  );
  const depth = (s) => (s.depth_from_m ?? "?") + "–" + (s.depth_to_m ?? "?");
  showPanel(
    h("h2", {}, p.name || p.external_id || `Location ${id}`),
    h("p", { class: "muted" }, [p.external_id, p.gemeente_code].filter(Boolean).join(" · ")),
    h("p", {}, "Worst class: ", chip(p.assessment?.klasse)),
    rows([
      ["Investigation", investigations.join(", ") || "–"],
      ["Source", p.provenance.source.name],
    ]),
    h(
      "p",
      { class: "prov" },
      "From ",
      h("code", {}, p.provenance.dataset.path),
      ", ",
      p.provenance.locator || "",
    ),
    h("h3", {}, `Samples (${p.samples.length})`),
    h(
      "table",
      { class: "samples" },
      h(
        "tr",
        {},
        h("th", {}, "Sample"),
        h("th", {}, "Depth (m)"),
        h("th", {}, "Date"),
        h("th", {}, "Klasse"),
        h("th", { title: "Measurements" }, "Meas."),
      ),
      p.samples.map((s) =>
        h(
          "tr",
          {},
          h("td", {}, s.external_id || s.id),
          h("td", {}, depth(s)),
          h("td", {}, s.sample_date || "–"),
          h("td", {}, chip(s.assessment?.klasse)),
          h("td", {}, s.measurements.length),
        ),
      ),
    ),
    h(
      "p",
      { class: "links" },
      link(`locations/${id}?f=csv`, "Measurements (CSV)"),
      " · ",
      link(`locations/${id}`, "GeoJSON"),
    ),
  );
}

async function showBro(props, point, others = []) {
  select("", point);
  const id = props.bro_id;
  let p = props;
  let note = null;
  if (!BRO_ID.test(id)) {
    note = h("p", { class: "note" }, "Loaded from a local file, not (yet) a BRO registration.");
  } else {
    try {
      p = { ...props, ...(await getJSON(`bro/${encodeURIComponent(id)}`)).properties };
    } catch (err) {
      note = h("p", { class: "note" }, `Details from the map tile only (${err.message}).`);
    }
  }
  showPanel(
    h("h2", {}, id),
    h("p", { class: "muted" }, ["BRO", p.object_type, p.gemeente_code].filter(Boolean).join(" · ")),
    note,
    rows(
      [
        ["Status", p.status],
        ["Research report", p.research_report_date],
        ["Registered", p.registration_date],
        ["Final depth (m)", p.final_depth],
        ["Quality regime", p.quality_regime],
        ["File", p.provenance?.path],
      ].filter(([, value]) => value !== null && value !== undefined && value !== ""),
    ),
    others.length ? h("p", { class: "muted" }, `Also at this point: ${others.join(", ")}`) : null,
  );
}

const POINT_LAYERS = ["bro-cpt", "locations", "samples"];

// Point features within a few pixels of `point`, and the gemeente under it (visible layers only).
function featuresAt(point) {
  const box = [
    [point.x - 4, point.y - 4],
    [point.x + 4, point.y + 4],
  ];
  const points = map.queryRenderedFeatures(box, { layers: POINT_LAYERS.filter(visible) });
  const gemeente = map.queryRenderedFeatures(point, { layers: ["gemeenten-fill"].filter(visible) })[0];
  return { points, gemeente };
}

function visible(id) {
  return map.getLayer(id) && map.getLayoutProperty(id, "visibility") !== "none";
}

// A click picks the topmost thing under the pointer: a CPT, a location or sample, else a gemeente.
map.on("click", (e) => {
  const { points, gemeente } = featuresAt(e.point);
  const [cpt, loc, sample] = POINT_LAYERS.map((id) => points.find((f) => f.layer.id === id));
  if (cpt) {
    const others = new Set(points.filter((f) => f.layer.id === "bro-cpt").map((f) => f.properties.bro_id));
    others.delete(cpt.properties.bro_id);
    showBro(cpt.properties, cpt.geometry.coordinates, [...others]);
  } else if (loc) {
    showLocation(loc.id, loc.geometry.coordinates);
  } else if (sample) {
    showLocation(sample.properties.location_id, sample.geometry.coordinates);
  } else if (gemeente) {
    showGemeente(gemeente.properties);
  } else {
    closePanel();
  }
});

// Hover: outline the gemeente, name it in a tooltip, and show a pointer over clickable things.
let hovered = null;
map.on("mousemove", (e) => {
  const { points, gemeente: g } = featuresAt(e.point);
  const code = g ? g.properties.code : null;
  if (code !== hovered) {
    if (hovered)
      map.setFeatureState({ source: "gemeenten", sourceLayer: "gemeenten", id: hovered }, { hover: false });
    if (code)
      map.setFeatureState({ source: "gemeenten", sourceLayer: "gemeenten", id: code }, { hover: true });
    hovered = code;
  }
  const overPoint = points.length > 0;
  map.getCanvas().style.cursor = overPoint || g ? "pointer" : "";
  const m = currentMetric();
  const value = g && hasData(g.properties, m) ? format(g.properties[m.key], m.fmt) : "no data";
  map.getCanvas().title = g ? `${g.properties.name}: ${value}` : "";
});

// ------------------------------------------------------------------------------------------ start

map.on("load", () => {
  applyMetric();
  updateZoomHint();
  loadOmgevingsdiensten();
});

// Ready (for people and tests) once the gemeenten are drawn with the colour domain of their data.
map.on("idle", () => {
  if (!gemeenteFeatures().length) return;
  if (updateDomains()) {
    applyMetric(); // another idle follows once redrawn
    return;
  }
  document.body.dataset.ready = "1";
});
