"""Turning mapping files and paths into ETL jobs (what to read, how to load it)."""

from __future__ import annotations

import time
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import psycopg

from etl.errors import ConfigError, RecordError, SourceError
from etl.files import expand_paths
from etl.harmonise.parameters import Catalogue
from etl.harmonise.pipeline import harmonise_source
from etl.load import insert_quarantine, load_batch, replace_dataset
from etl.load_bro import link_bro_to_locations, load_objects
from etl.mapping import Mapping, load_mapping, mapping_from_dict
from etl.readers.bro_detect import detect, read_bro
from etl.records import QuarantineRecord
from etl.run import DatasetSummary, Job

if TYPE_CHECKING:
    from etl.readahead import ReadAhead

__all__ = ["Job", "jobs_for_sources", "jobs_for_paths", "municipal_job", "bro_job"]


@cache
def _catalogue() -> Catalogue:
    return Catalogue.load()


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path.resolve())


def municipal_job(mapping: Mapping, *, source: str | None = None) -> Job:
    """A job loading the file a mapping describes (CSV, XLSX, vector, SIKB0101)."""
    path = mapping.file_path
    if not path.exists():
        raise SourceError(str(path), f"file named in {mapping.label} does not exist")
    display = _display(path)

    def load(conn: psycopg.Connection, source_id: int, run_id: int | None, sha: str) -> DatasetSummary:
        started = time.perf_counter()
        batch = harmonise_source(mapping, _catalogue())
        harmonised = time.perf_counter() - started
        dataset_id = replace_dataset(
            conn, source_id=source_id, run_id=run_id, path=display, sha256=sha, fmt=mapping.reader.kind
        )
        res = load_batch(
            conn,
            batch,
            dataset_id=dataset_id,
            run_id=run_id,
            gemeente_code=mapping.gemeente,
            tolerance_m=mapping.tolerance_m,
        )
        link_bro_to_locations(conn)
        return DatasetSummary(
            source=source or mapping.name,
            file=display,
            status="loaded",
            format=mapping.reader.kind,
            rows_read=batch.rows_read,
            locations=res.locations,
            samples=res.samples,
            measurements=res.measurements,
            quarantined=res.quarantined,
            phases={"read_harmonise": harmonised, **res.phases},
            dataset_id=dataset_id,
        )

    return Job(
        source=source or mapping.name,
        path=path,
        display=display,
        kind="municipal",
        load=load,
        source_kind="municipal" if not mapping.multi else "multi",
        gemeente_code=mapping.gemeente,
        mapping_path=str(mapping.path) if mapping.path else None,
    )


def bro_job(path: Path, *, source: str = "bro", kind: str | None = None) -> Job:
    """A job loading one BRO IMBRO XML or GEF file (type detected from its content)."""
    display = _display(path)
    if kind is None:
        try:
            kind = detect(path)
        except SourceError as exc:  # reported as this file's failure; the other files still load
            error = exc

            def fail(
                conn: psycopg.Connection, source_id: int, run_id: int | None, sha: str
            ) -> DatasetSummary:
                raise error

            return Job(source=source, path=path, display=display, kind="bro", load=fail, source_kind="bro")
    if kind == "SAD":  # SAD embeds IMSIKB0101: same harmonised model as municipal data
        mapping = mapping_from_dict(
            {"name": source, "multi": True, "reader": {"type": "sikb0101", "file": str(path.resolve())}}
        )
        job = municipal_job(mapping, source=source)
        job.source_kind = "bro"
        return job

    readahead: list[ReadAhead] = []

    def prefetch(ahead: ReadAhead) -> None:
        if not readahead:
            readahead.append(ahead)
        ahead.submit(path, kind)

    def load(conn: psycopg.Connection, source_id: int, run_id: int | None, sha: str) -> DatasetSummary:
        rejected: list[QuarantineRecord] = []
        counter = {"read": 0}
        parsed = readahead[0].take(path, sha) if readahead else None

        def good_objects():  # streamed: one object in memory at a time (or the few read ahead)
            for item in parsed if parsed is not None else read_bro(path, kind):
                counter["read"] += 1
                if isinstance(item, RecordError):
                    rejected.append(
                        QuarantineRecord(item.locator, item.reason, item.field, str(item), {}, unit="object")
                    )
                else:
                    yield item

        dataset_id = replace_dataset(
            conn, source_id=source_id, run_id=run_id, path=display, sha256=sha, fmt=kind
        )
        res = load_objects(conn, good_objects(), dataset_id=dataset_id, sha256=sha, file_name=path.name)
        rows_read = counter["read"]
        insert_quarantine(conn, dataset_id, run_id, rejected)
        link_bro_to_locations(conn, res.bro_ids)
        conn.execute(
            "UPDATE dataset SET rows_read = %s, rows_loaded = %s, rows_quarantined = %s WHERE id = %s",
            (rows_read, res.loaded, len(rejected), dataset_id),
        )
        quarantined: dict[str, int] = {}
        for q in rejected:
            quarantined[q.reason] = quarantined.get(q.reason, 0) + 1
        return DatasetSummary(
            source=source,
            file=display,
            status="loaded",
            format=kind,
            rows_read=rows_read,
            bro_objects=res.loaded,
            quarantined=quarantined,
            dataset_id=dataset_id,
        )

    return Job(
        source=source, path=path, display=display, kind="bro", load=load, source_kind="bro", prefetch=prefetch
    )


def jobs_for_sources(sources_dir: Path, names: list[str] | None) -> list[Job]:
    """Jobs for the mapping files in ``sources_dir`` (all, or those named)."""
    files = sorted(p for p in Path(sources_dir).glob("*.y*ml") if p.suffix in (".yaml", ".yml"))
    if not files:
        raise ConfigError(f"{sources_dir}: no mapping files (*.yaml) found")
    mappings = [load_mapping(p) for p in files]
    if names:
        known = {m.name: m for m in mappings} | {p.stem: m for p, m in zip(files, mappings, strict=True)}
        missing = [n for n in names if n not in known]
        if missing:
            raise ConfigError(f"unknown source(s) {missing}; known: {sorted(m.name for m in mappings)}")
        mappings = list({id(known[n]): known[n] for n in names}.values())
    return [municipal_job(m) for m in mappings]


def jobs_for_paths(
    paths: list[Path], *, mapping: Path | None, source: str | None, workdir: Path
) -> list[Job]:
    """Jobs for ad-hoc files: with a mapping (municipal), else BRO/GEF/SAD by detection."""
    if mapping is not None:
        m = load_mapping(mapping)
        jobs = []
        for p in expand_paths(paths, workdir):
            mp = m.model_copy(update={"reader": m.reader.model_copy(update={"file": str(p.resolve())})})
            mp._path = m.path
            jobs.append(municipal_job(mp, source=source))
        return jobs
    return [
        bro_job(p, source=source or "bro") for p in expand_paths(paths, workdir) if not p.name.startswith(".")
    ]
