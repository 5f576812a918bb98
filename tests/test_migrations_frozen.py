"""Migrations are frozen history: a store migrated at any past head and then to head has exactly the
schema of a fresh store, and no migration reads a file that can still change."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory

from db import store
from db.cluster import LocalCluster
from db.settings import StoreSettings

VERSIONS = Path(store.__file__).resolve().parent / "migrations" / "versions"
SQL_ROOT = VERSIONS.parent / "sql"

# the schema as the catalogue holds it, each object as one comparable text
_SCHEMA_SQL = {
    "columns": """
        SELECT table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable
               || ' ' || coalesce(column_default, '')
        FROM information_schema.columns WHERE table_schema = 'public'""",
    "indexes": "SELECT indexdef FROM pg_indexes WHERE schemaname = 'public'",
    "constraints": """
        SELECT conrelid::regclass::text || ' ' || conname || ' ' || pg_get_constraintdef(oid)
        FROM pg_constraint WHERE connamespace = 'public'::regnamespace""",
    "views": """
        SELECT c.relname || ' ' || c.relkind::text || ' ' || pg_get_viewdef(c.oid)
        FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('v', 'm')""",
    "functions": """
        SELECT pg_get_functiondef(p.oid) FROM pg_proc p
        WHERE p.pronamespace = 'public'::regnamespace AND p.prokind IN ('f', 'p')
          AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass
                          AND d.objid = p.oid AND d.deptype = 'e')""",
    "triggers": """
        SELECT pg_get_triggerdef(t.oid) FROM pg_trigger t
        JOIN pg_class c ON c.oid = t.tgrelid
        WHERE c.relnamespace = 'public'::regnamespace AND NOT t.tgisinternal""",
}


def _revisions() -> list[str]:
    """Every revision id, oldest first."""
    script = ScriptDirectory.from_config(store.alembic_config(StoreSettings()))
    return [r.revision for r in reversed(list(script.walk_revisions()))]


def _schema(settings: StoreSettings) -> dict[str, list[str]]:
    eng = store.make_engine(settings)
    try:
        with eng.connect() as conn:
            return {k: sorted(conn.execute(sa.text(q)).scalars()) for k, q in _SCHEMA_SQL.items()}
    finally:
        eng.dispose()


def _store(pg_cluster: LocalCluster, name: str) -> StoreSettings:
    s = StoreSettings(data_dir=pg_cluster.data_dir, pg_port=pg_cluster.port, db_name=name)
    store.ensure_database(s)
    return s


def test_store_migrated_from_every_past_head_matches_a_fresh_store(pg_cluster: LocalCluster) -> None:
    if pg_cluster is None:
        pytest.skip("needs the test cluster (GRONDSLAG_TEST_DATABASE_URL is one database only)")
    fresh = _store(pg_cluster, "grondslag_frozen_fresh")
    store.migrate(fresh)
    expected = _schema(fresh)
    assert expected["views"], "a fresh store has the quality views"
    revisions = _revisions()
    assert len(revisions) >= 6, revisions
    for i, revision in enumerate(revisions[:-1]):
        s = _store(pg_cluster, f"grondslag_frozen_{i}")
        store.migrate(s, revision)
        store.migrate(s)
        got = _schema(s)
        for kind, objects in expected.items():
            missing = sorted(set(objects) - set(got[kind]))
            extra = sorted(set(got[kind]) - set(objects))
            assert not missing and not extra, (
                f"a store at {revision} migrated to head differs from a fresh store in {kind}: "
                f"missing {missing[:3]}, extra {extra[:3]}"
            )


def _opened_paths(tree: ast.Module) -> list[str]:
    """The string constants a migration module builds paths from (``Path(...) / 'x'``)."""
    return [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.endswith(".sql")
    ]


@pytest.mark.parametrize("path", sorted(VERSIONS.glob("0*.py")), ids=lambda p: p.stem)
def test_migration_reads_only_its_own_frozen_files(path: Path) -> None:
    """No import of the project's live code (etl, api, db modules), and SQL files only from the
    migration's own folder under db/migrations/sql/<revision>/."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom | ast.Import):
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
            for name in names:
                assert name.split(".")[0] not in {"etl", "api", "db", "grondslag"}, (
                    f"{path.name} imports {name}: a migration must not execute code that can still change"
                )
    sql_files = _opened_paths(tree)
    if sql_files:
        own = SQL_ROOT / path.stem
        assert own.is_dir(), f"{path.name} reads SQL files but has no frozen folder {own}"
        for name in sql_files:
            assert (own / name).is_file(), f"{path.name}: {name} is not in its frozen folder {own}"
    assert not (VERSIONS.parents[1] / "sql").exists(), "db/sql/ is gone: SQL lives with its migration"
