"""BRO fetcher for nightly runs: BRO's public REST services -> download dir -> the BRO ETL path.

``settings`` (GRONDSLAG_BRO_*), ``endpoints`` (service paths per object type), ``area`` (WGS84 boxes
from a bbox or the gemeente polygons), ``transport`` (rate limit, retries, Retry-After),
``characteristics`` (search body and answer), ``state`` (resumable fetch state beside the files),
``fetcher`` (search, split, plan, download), ``load`` (EtlRunner + bro_object.status) and
``pipeline`` (all of it, for ``grondslag etl fetch-bro``).
"""

from etl.bro_fetch.area import Area, BBox
from etl.bro_fetch.fetcher import BroFetcher, FetchResult
from etl.bro_fetch.pipeline import AreaRequest, FetchReport, fetch_bro
from etl.bro_fetch.settings import BroFetchSettings
from etl.bro_fetch.state import FetchState, StateLocked
from etl.bro_fetch.transport import FetchError

__all__ = [
    "Area",
    "AreaRequest",
    "BBox",
    "BroFetchSettings",
    "BroFetcher",
    "FetchError",
    "FetchReport",
    "FetchResult",
    "FetchState",
    "StateLocked",
    "fetch_bro",
]
