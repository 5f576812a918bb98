#!/usr/bin/env bash
# Nightly scheduler of the etl container (installed as /usr/local/bin/grondslag-nightly).
#
#   grondslag-nightly [CMD ARGS...]         forever: sleep until the next GRONDSLAG_ETL_SCHEDULE (HH:MM,
#                                           default 02:30) in GRONDSLAG_ETL_TZ (default Europe/Amsterdam),
#                                           run CMD (default: grondslag etl run --all --format json),
#                                           log what its exit code means, repeat
#   grondslag-nightly --once [CMD ARGS...]  run CMD now, log, exit with its exit code
#   grondslag-nightly --next                print the next run time (ISO 8601) and exit
#
# The run's own JSON log lines (stderr) and summary (stdout) pass through; this script adds one JSON
# line per event on stderr. Exit codes of `grondslag etl run`: 0 done, 1 a dataset failed (its data
# untouched) or the store was unreachable, 2 usage/configuration error, 75 another run holds the
# advisory lock (not an error: the next night runs again). Runs never overlap: the ETL's lock sees to it.
#
# Clock: GNU date. Daylight saving: a time that does not exist that night (02:30 on the last Sunday
# of March) runs one hour later by the clock (03:30, the same instant as 02:30 winter time); a time
# that occurs twice (last Sunday of October) runs at its first occurrence. At most one run a day.
# GRONDSLAG_NIGHTLY_NOW (epoch seconds) replaces the clock for --next only (tests).
set -uo pipefail

TZ_NAME=${GRONDSLAG_ETL_TZ:-Europe/Amsterdam}
SCHEDULE=${GRONDSLAG_ETL_SCHEDULE:-02:30}
MAX_SLEEP=3600 # re-read the clock at least hourly (suspend, clock changes)

json_escape() {
  local s=$1
  s=${s//\\/\\\\}
  s=${s//\"/\\\"}
  s=${s//$'\t'/\\t}
  s=${s//$'\r'/\\r}
  s=${s//$'\n'/\\n}
  printf '%s' "$s"
}

# log EVENT LEVEL MESSAGE [KEY=NUMBER...]: one JSON object on stderr
log() {
  local event=$1 level=$2 message=$3 extra="" kv
  shift 3
  for kv in "$@"; do
    extra+=", \"${kv%%=*}\": ${kv#*=}"
  done
  printf '{"ts": "%s", "event": "%s", "level": "%s", "message": "%s"%s}\n' \
    "$(date -u +%Y-%m-%dT%H:%M:%S.%3N+00:00)" "$event" "$level" "$(json_escape "$message")" "$extra" >&2
}

die_usage() {
  log nightly_config error "$1"
  exit 2
}

if [[ ! $SCHEDULE =~ ^([01]?[0-9]|2[0-3]):([0-5][0-9])$ ]]; then
  die_usage "GRONDSLAG_ETL_SCHEDULE='$SCHEDULE' is not a time HH:MM (00:00-23:59)"
fi
HOUR=$((10#${BASH_REMATCH[1]}))
MINUTE=$((10#${BASH_REMATCH[2]}))
if [ ! -f "/usr/share/zoneinfo/$TZ_NAME" ]; then
  die_usage "GRONDSLAG_ETL_TZ='$TZ_NAME' is not a known time zone (is tzdata installed?)"
fi

now_epoch() {
  printf '%s' "${GRONDSLAG_NIGHTLY_NOW:-$(date +%s)}"
}

# wall_epoch DAY HOUR MINUTE: epoch of that wall-clock time in TZ_NAME (first occurrence; a time in
# the spring-forward gap is read with the offset before the change, i.e. one hour later by the clock)
wall_epoch() {
  local day=$1 h=$2 m=$3 t
  if t=$(TZ=$TZ_NAME date -d "$(printf '%s %02d:%02d' "$day" "$h" "$m")" +%s 2>/dev/null); then
    # GNU date takes the later of two occurrences; prefer the earlier one when it exists
    if [ "$(TZ=$TZ_NAME date -d "@$((t - 3600))" +%F%H%M)" = "$(printf '%s%02d%02d' "$day" "$h" "$m")" ]; then
      t=$((t - 3600))
    fi
  elif [ "$h" -gt 0 ] && t=$(TZ=$TZ_NAME date -d "$(printf '%s %02d:%02d' "$day" $((h - 1)) "$m")" +%s 2>/dev/null); then
    t=$((t + 3600))
  else
    return 1
  fi
  printf '%s' "$t"
}

# next_run NOW: epoch of the first scheduled time strictly after NOW
next_run() {
  local now=$1 today midnight_utc offset day t
  today=$(TZ=$TZ_NAME date -d "@$now" +%F)
  midnight_utc=$(date -u -d "$today 00:00" +%s)
  for offset in 0 1 2; do
    day=$(date -u -d "@$((midnight_utc + offset * 86400 + 43200))" +%F)
    t=$(wall_epoch "$day" "$HOUR" "$MINUTE") || continue
    if [ "$t" -gt "$now" ]; then
      printf '%s' "$t"
      return 0
    fi
  done
  return 1
}

iso() {
  TZ=$TZ_NAME date -d "@$1" +%Y-%m-%dT%H:%M:%S%:z
}

child=""
on_signal() {
  log nightly_stopping info "received a stop signal"
  if [ -n "$child" ]; then
    kill -TERM "$child" 2>/dev/null
    wait "$child" 2>/dev/null
  fi
  exit 143
}
trap on_signal TERM INT

# run_job CMD...: run it (in the background, so a stop signal reaches it), log the meaning of its exit code
run_job() {
  local code level meaning
  log nightly_run_started info "running: $*"
  "$@" </dev/null &
  child=$!
  wait "$child"
  code=$?
  child=""
  case $code in
    0) level=info meaning="run completed (quarantined records, if any, are in the run's report)" ;;
    1) level=error meaning="at least one dataset failed (its data left untouched) or the store was unreachable; see the JSON log above and 'grondslag etl runs'" ;;
    2) level=error meaning="usage or configuration error (sources folder, mapping files, settings): fix it, the next night will fail the same way" ;;
    75) level=info meaning="another ETL run holds the lock: not an error, nothing done; the next run is the next night" ;;
    *) level=error meaning="unexpected exit code (killed or crashed?)" ;;
  esac
  log nightly_run_finished "$level" "$meaning" "exit_code=$code"
  return "$code"
}

mode=loop
case ${1:-} in
  --next) mode=next; shift ;;
  --once) mode=once; shift ;;
esac
if [ $# -eq 0 ]; then
  set -- grondslag etl run --all --format json
fi
[ "$mode" = next ] || unset GRONDSLAG_NIGHTLY_NOW # the fake clock is for --next only

case $mode in
  next)
    t=$(next_run "$(now_epoch)") || die_usage "cannot compute the next run time"
    iso "$t"
    exit 0
    ;;
  once)
    run_job "$@"
    exit $?
    ;;
esac

log nightly_started info "scheduler started: every day at $(printf '%02d:%02d' "$HOUR" "$MINUTE") $TZ_NAME"
while true; do
  target=$(next_run "$(now_epoch)") || die_usage "cannot compute the next run time"
  log nightly_scheduled info "next run at $(iso "$target")" "next_run_epoch=$target"
  while now=$(now_epoch) && [ "$now" -lt "$target" ]; do
    remaining=$((target - now))
    sleep $((remaining < MAX_SLEEP ? remaining : MAX_SLEEP)) &
    child=$!
    wait "$child"
    child=""
  done
  run_job "$@" || true
done
