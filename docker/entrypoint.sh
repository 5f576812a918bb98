#!/usr/bin/env bash
# Entry point of the Grondslag image (installed as /usr/local/bin/grondslag-entrypoint).
#
# With GRONDSLAG_MIGRATE_ON_START=1 (docker/compose.yaml sets it for the api service only) it first
# prepares the store named by GRONDSLAG_DATABASE_URL, waiting up to GRONDSLAG_DB_WAIT_SECONDS (60)
# for it to answer:
#   grondslag db up       with GRONDSLAG_DATABASE_URL set: only ensures the postgis extension
#   grondslag db migrate  Alembic migrations to head
#   grondslag db seed     reference data (idempotent)
# and then replaces itself with the command (default: the API server, see the Dockerfile's CMD).
# Run migrations from one container only: Alembic takes no lock of its own.
set -euo pipefail

log() { printf 'grondslag-entrypoint: %s\n' "$*" >&2; }

if [ $# -eq 0 ]; then
  set -- grondslag --help
fi

if [ "${GRONDSLAG_MIGRATE_ON_START:-0}" = "1" ]; then
  if [ -z "${GRONDSLAG_DATABASE_URL:-}" ]; then
    log "error: GRONDSLAG_MIGRATE_ON_START=1 needs GRONDSLAG_DATABASE_URL (a container has no local cluster)"
    exit 2
  fi
  wait_seconds=${GRONDSLAG_DB_WAIT_SECONDS:-60}
  deadline=$((SECONDS + wait_seconds))
  until grondslag db up; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      log "error: the database did not answer within ${wait_seconds}s"
      exit 1
    fi
    log "database not ready yet; retrying in 2s"
    sleep 2
  done
  grondslag db migrate
  grondslag db seed
  log "store ready (migrated and seeded)"
fi

exec "$@"
