#!/usr/bin/env bash
# Nightly ETL for cron (see deploy/cron/grondslag-etl.cron): runs `grondslag etl run --all` of the
# checkout this script lives in, appends its JSON log lines to a log file and says what the exit
# code means. No flock: the ETL takes a PostgreSQL advisory lock itself and exits 75 when another
# run holds it.
#
#   exit code of the run   logged as   this script exits   alert
#   0  run completed       info        0                   none
#   75 another run active  info        0                   none: not an error, the next night runs again
#   1  a dataset failed    error       1                   yes (its data untouched; or store unreachable)
#   2  usage/config error  error       2                   yes (fix sources/ or the settings)
#   other (killed, crash)  error       that code           yes
#
# An alert is: a message on stderr (cron mails it to MAILTO), a syslog line via `logger` when there
# is one, and GRONDSLAG_ALERT_CMD when set (called with the message as its last argument, e.g. a
# script that posts to a chat channel). Success prints nothing, so cron mails only on trouble.
#
# Settings (environment; the database URL etc. also from .env in the checkout, as for every command):
#   GRONDSLAG_HOME         the checkout (default: the folder above this script)
#   GRONDSLAG_BIN          the CLI (default: $GRONDSLAG_HOME/.venv/bin/grondslag)
#   GRONDSLAG_ETL_LOG      JSON-lines log, appended (default: $GRONDSLAG_HOME/.grondslag/log/etl.jsonl)
#   GRONDSLAG_ETL_SUMMARY  the last run's JSON summary, replaced (default: etl-last-summary.json beside it)
#   GRONDSLAG_ALERT_CMD    command to call on an alert (optional)
set -uo pipefail

GRONDSLAG_HOME=${GRONDSLAG_HOME:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
GRONDSLAG_BIN=${GRONDSLAG_BIN:-$GRONDSLAG_HOME/.venv/bin/grondslag}
LOG=${GRONDSLAG_ETL_LOG:-$GRONDSLAG_HOME/.grondslag/log/etl.jsonl}
SUMMARY=${GRONDSLAG_ETL_SUMMARY:-$(dirname "$LOG")/etl-last-summary.json}

json_escape() {
  local s=$1
  s=${s//\\/\\\\}
  s=${s//\"/\\\"}
  s=${s//$'\t'/\\t}
  s=${s//$'\r'/\\r}
  s=${s//$'\n'/\\n}
  printf '%s' "$s"
}

# log EVENT LEVEL MESSAGE [KEY=NUMBER...]: one JSON line appended to the log file
log() {
  local event=$1 level=$2 message=$3 extra="" kv
  shift 3
  for kv in "$@"; do
    extra+=", \"${kv%%=*}\": ${kv#*=}"
  done
  printf '{"ts": "%s", "event": "%s", "level": "%s", "message": "%s"%s}\n' \
    "$(date -u +%Y-%m-%dT%H:%M:%S.%3N+00:00)" "$event" "$level" "$(json_escape "$message")" "$extra" >>"$LOG"
}

alert() {
  local message
  message="grondslag nightly ETL on $(uname -n): $1"
  printf '%s\n' "$message" >&2
  if command -v logger >/dev/null 2>&1; then
    logger -t grondslag-etl -p user.err -- "$message" || true
  fi
  if [ -n "${GRONDSLAG_ALERT_CMD:-}" ]; then
    # word-split on purpose: GRONDSLAG_ALERT_CMD may carry arguments
    # shellcheck disable=SC2086
    $GRONDSLAG_ALERT_CMD "$message" || printf 'alert command failed: %s\n' "$GRONDSLAG_ALERT_CMD" >&2
  fi
}

if ! mkdir -p "$(dirname "$LOG")" || ! touch "$LOG"; then
  printf 'grondslag nightly ETL: cannot write the log file %s\n' "$LOG" >&2
  exit 2
fi
if [ ! -x "$GRONDSLAG_BIN" ]; then
  log nightly_config error "$GRONDSLAG_BIN is not an executable (set GRONDSLAG_BIN or run 'make install')"
  alert "$GRONDSLAG_BIN is not an executable"
  exit 2
fi
cd "$GRONDSLAG_HOME" || exit 2

log nightly_run_started info "running: $GRONDSLAG_BIN etl run --all"
stderr_file=$(mktemp "${TMPDIR:-/tmp}/grondslag-etl.XXXXXX") || exit 2
trap 'rm -f "$stderr_file"' EXIT

# stdin from /dev/null: the CLI never waits for input; stdout (the JSON summary) to its own file
"$GRONDSLAG_BIN" etl run --all --format json </dev/null >"$SUMMARY.tmp" 2>"$stderr_file"
code=$?
mv -f "$SUMMARY.tmp" "$SUMMARY"

# The run's stderr: JSON lines as they are (without a terminal the CLI logs only JSON, errors
# included); any other line (e.g. an interpreter crash) wrapped as {"event": "stderr", ...} so the
# log file stays one JSON object per line.
error_text=""
while IFS= read -r line || [ -n "$line" ]; do
  if [[ $line == \{*\} ]]; then
    printf '%s\n' "$line" >>"$LOG"
  elif [ -n "$line" ]; then
    log stderr info "$line"
    if [ -z "$error_text" ] || [[ $line == error:* && $error_text != error:* ]]; then
      error_text=$line
    fi
  fi
done <"$stderr_file"

case $code in
  0)
    log nightly_run_finished info "run completed" "exit_code=$code"
    exit 0
    ;;
  75)
    log nightly_run_finished info "another ETL run holds the lock: not an error, the next night runs again" \
      "exit_code=$code"
    exit 0
    ;;
  1) meaning="at least one dataset failed (its data untouched) or the store was unreachable; see $LOG and $SUMMARY" ;;
  2) meaning="usage or configuration error (sources folder, mapping files, settings)${error_text:+: $error_text}" ;;
  *) meaning="unexpected exit code $code (killed or crashed?); see $LOG" ;;
esac
log nightly_run_finished error "$meaning" "exit_code=$code"
alert "$meaning"
exit "$code"
