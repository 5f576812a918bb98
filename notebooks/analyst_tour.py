# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Grondslag for GIS analysts: soil information per gemeente
#
# This notebook uses only Grondslag's **public REST and OGC API** (no database access), with `httpx` and
# `geopandas`. It
#
# 1. lists the gemeenten with their current omgevingsdienst,
# 2. loads one gemeente's locations and samples as GeoDataFrames,
# 3. draws a choropleth of a data-quality metric,
# 4. draws a choropleth of the share of top-soil lead samples above the *Wonen* norm,
# 5. exports everything to a GeoPackage for QGIS.
#
# Point `GRONDSLAG_API_URL` at your Grondslag (default: the demo at http://127.0.0.1:8000, started with
# `make demo`). The soil classes use the pre-2024 norms; whether the Omgevingsregeling kept them unchanged
# is not verified (see the README).

# %%
import os
from pathlib import Path

import geopandas as gpd
import httpx
import matplotlib

matplotlib.use("Agg")  # also runs headless (CI); in Jupyter the figures still show
import matplotlib.pyplot as plt
import pandas as pd

API = os.environ.get("GRONDSLAG_API_URL", "http://127.0.0.1:8000").rstrip("/")
OUT = Path(os.environ.get("GRONDSLAG_NOTEBOOK_OUT", "."))
client = httpx.Client(base_url=API, timeout=60)
client.get("/health").raise_for_status()


def features(path: str, **params) -> gpd.GeoDataFrame:
    """All features of a GeoJSON endpoint, following `next` links (pages of up to 10,000)."""
    params.setdefault("limit", 10_000)
    collected, url = [], path
    while url:
        page = client.get(url, params=params if url == path else None)
        page.raise_for_status()
        body = page.json()
        collected += body["features"]
        url = next((link["href"] for link in body.get("links", []) if link["rel"] == "next"), None)
    frame = gpd.GeoDataFrame.from_features(collected, crs="EPSG:4326")
    frame["id"] = [f.get("id") for f in collected]
    return frame


# %% [markdown]
# ## 1. Gemeenten and their omgevingsdienst
# `/gemeenten` returns every gemeente as a polygon with its current omgevingsdienst and headline metrics.

# %%
gemeenten = features("/gemeenten").to_crs("EPSG:28992")
overview = gemeenten[["code", "name", "omgevingsdienst", "n_locations", "n_samples", "n_measurements"]]
overview.sort_values("n_samples", ascending=False).head(10)

# %%
print(f"{len(gemeenten)} gemeenten; omgevingsdiensten today: {sorted(gemeenten['omgevingsdienst'].unique())}")
with_data = gemeenten[gemeenten["n_samples"] > 0]
print("gemeenten with soil data:", ", ".join(with_data["name"]))

# %% [markdown]
# ## 2. One gemeente's locations and samples
# The gemeente with the most samples. Locations come from the REST API, samples (with their soil-quality
# class) from the OGC API collection `samples`, filtered with CQL2.

# %%
code = with_data.sort_values("n_samples", ascending=False)["code"].iloc[0]
locations = features(f"/gemeenten/{code}/locations").to_crs("EPSG:28992")
samples = features("/ogc/collections/samples/items", filter=f"gemeente_code = '{code}'").to_crs("EPSG:28992")
print(f"{code}: {len(locations)} locations, {len(samples)} samples")
samples["klasse"].value_counts()

# %%
metrics = client.get(f"/gemeenten/{code}/metrics").json()
pd.Series(metrics["metrics"]).loc[
    ["n_locations", "n_samples", "median_age_years", "share_locations_older_10y", "quarantine_rate"]
]

# %% [markdown]
# ## 3. Choropleth: a data-quality metric
# The median age (years) of the newest investigation per location: how current is what we know?

# %%
ax = gemeenten.plot(
    column="median_age_years",
    cmap="viridis_r",
    legend=True,
    missing_kwds={"color": "#eeeeee"},
    edgecolor="white",
    linewidth=0.5,
    figsize=(8, 7),
)
ax.set_title("Median age of the newest investigation per location (years)")
ax.set_axis_off()
plt.savefig(OUT / "choropleth_median_age.png", dpi=100, bbox_inches="tight")

# %% [markdown]
# ## 4. Choropleth: lead in the top soil above *Wonen*
# Share of top-soil samples (0–0.5 m) whose lead value, corrected to standard soil, exceeds the Wonen norm.
# Gemeenten without data stay grey.

# %%
lead = gemeenten.copy()
lead.loc[lead["n_lead_topsoil_samples"] == 0, "share_lead_topsoil_above_wonen"] = None
ax = lead.plot(
    column="share_lead_topsoil_above_wonen",
    cmap="OrRd",
    legend=True,
    vmin=0,
    vmax=1,
    missing_kwds={"color": "#eeeeee"},
    edgecolor="grey",
    linewidth=0.4,
    figsize=(8, 7),
)
ax.set_title("Share of top-soil lead samples above Wonen")
ax.set_axis_off()
plt.savefig(OUT / "choropleth_lead_wonen.png", dpi=100, bbox_inches="tight")
lead.loc[
    lead["n_lead_topsoil_samples"] > 0, ["name", "n_lead_topsoil_samples", "share_lead_topsoil_above_wonen"]
]

# %% [markdown]
# ## 5. Export to a GeoPackage
# One file with three layers, in RD New, ready for QGIS.

# %%
gpkg = OUT / f"grondslag_{code}.gpkg"
gpkg.unlink(missing_ok=True)
gemeenten.drop(columns=["coord_decimals_counts"], errors="ignore").to_file(gpkg, layer="gemeenten")
locations.to_file(gpkg, layer="locations")
samples.assign(deciding_parameters=samples["deciding_parameters"].astype(str)).to_file(gpkg, layer="samples")
print(f"written {gpkg} with layers", gpd.list_layers(gpkg)["name"].tolist())
