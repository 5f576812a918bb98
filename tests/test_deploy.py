"""Deployment files: docker/, deploy/ and .dockerignore, checked without a Docker engine.

Static checks (compose file, Dockerfile, systemd units, crontab, Airflow DAG) cross-check every file,
path and command they name against the repository and the `grondslag` CLI; the shell scripts are run
with fake commands and a fake clock; the container's entry point is run for real against a
throw-away PostGIS (no image is built: this machine has no Docker engine).
"""

from __future__ import annotations

import ast
import configparser
import fnmatch
import json
import os
import py_compile
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
import tomllib
import urllib.parse
from datetime import UTC, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pytest
import yaml
from typer.testing import CliRunner

from grondslag.cli import app

REPO = Path(__file__).resolve().parents[1]
DOCKER = REPO / "docker"
DEPLOY = REPO / "deploy"
COMPOSE = DOCKER / "compose.yaml"
DOCKERFILE = DOCKER / "Dockerfile"
SHELL_SCRIPTS = [DOCKER / "entrypoint.sh", DOCKER / "nightly.sh", DEPLOY / "grondslag-nightly.sh"]
AMSTERDAM = "Europe/Amsterdam"


# ---------------------------------------------------------------- helpers


def cli_accepts(*args: str) -> None:
    """`grondslag ARGS --help` succeeds: the sub-command and every option named in ARGS exist."""
    result = CliRunner().invoke(app, [*args, "--help"])
    assert result.exit_code == 0, f"grondslag {' '.join(args)}: {result.output}"


def console_scripts() -> dict[str, str]:
    return tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]


def expand_defaults(value: str) -> str:
    """Compose interpolation with the defaults: ${VAR:-default} / ${VAR-default} -> default, ${VAR} -> ''."""
    value = re.sub(r"\$\{[A-Za-z_][A-Za-z0-9_]*(?::?[-?])([^}]*)\}", r"\1", value)
    return re.sub(r"\$\{[A-Za-z_][A-Za-z0-9_]*\}", "", value)


def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def dockerfile_instructions(path: Path = DOCKERFILE) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    out: list[tuple[str, str]] = []
    buf = ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            buf += line[:-1] + " "
            continue
        instruction, _, args = (buf + line).partition(" ")
        out.append((instruction.upper(), args.strip()))
        buf = ""
    assert not buf, "Dockerfile ends inside a continuation line"
    return out


def dockerfile_stages() -> list[list[tuple[str, str]]]:
    stages: list[list[tuple[str, str]]] = []
    for instruction, args in dockerfile_instructions():
        if instruction == "FROM":
            stages.append([])
        if stages:
            stages[-1].append((instruction, args))
    return stages


def global_args() -> dict[str, str]:
    args = {}
    for instruction, rest in dockerfile_instructions():
        if instruction == "FROM":
            break
        if instruction == "ARG" and "=" in rest:
            name, _, default = rest.partition("=")
            args[name] = default
    return args


def copies(stage: list[tuple[str, str]]) -> list[tuple[list[str], str, dict[str, str]]]:
    """(sources, destination, flags) of the COPY instructions of a stage."""
    out = []
    for instruction, rest in stage:
        if instruction != "COPY":
            continue
        tokens = shlex.split(rest)
        flags = dict(t[2:].split("=", 1) for t in tokens if t.startswith("--"))
        paths = [t for t in tokens if not t.startswith("--")]
        out.append((paths[:-1], paths[-1], flags))
    return out


def apt_packages(stage: list[tuple[str, str]]) -> set[str]:
    packages: set[str] = set()
    for instruction, rest in stage:
        if instruction != "RUN":
            continue
        for command in re.split(r"&&|;", rest):
            words = command.split()
            if "apt-get" in words and "install" in words:
                packages |= {w for w in words[words.index("install") + 1 :] if not w.startswith("-")}
    return packages


def dockerignore_patterns() -> list[str]:
    lines = (REPO / ".dockerignore").read_text().splitlines()
    return [ln.strip() for ln in lines if ln.strip() and not ln.strip().startswith("#")]


def dockerignored(path: str, patterns: list[str]) -> bool:
    """Whether .dockerignore excludes ``path`` or one of its parents (no '!' exceptions are used)."""
    parts = Path(path).parts
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    for pattern in patterns:
        pattern = pattern.strip("/")
        for candidate in candidates:
            if fnmatch.fnmatch(candidate, pattern):
                return True
            if pattern.startswith("**/") and fnmatch.fnmatch(candidate.rsplit("/", 1)[-1], pattern[3:]):
                return True
    return False


def runtime_executables() -> dict[str, str]:
    """Commands the runtime image provides: COPY destination basename -> source in the repo."""
    runtime = dockerfile_stages()[-1]
    provided = {}
    for sources, dest, flags in copies(runtime):
        if "from" not in flags and len(sources) == 1:
            provided[Path(dest).name] = sources[0]
    return provided


def json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


# ---------------------------------------------------------------- compose


def test_compose_has_db_api_etl_on_postgis_with_named_volumes() -> None:
    doc = compose()
    services = doc["services"]
    assert {"db", "api", "etl"} <= set(services)
    db = services["db"]
    assert db["image"] == "postgis/postgis:15-3.4"
    assert "pg_isready" in json.dumps(db["healthcheck"]["test"])
    declared = set(doc.get("volumes") or {})
    assert declared, "no named volume declared"
    used = set()
    for name, service in services.items():
        for volume in service.get("volumes", []):
            source = expand_defaults(volume).split(":")[0]
            if not source.startswith((".", "/", "~")):
                assert source in declared, f"{name}: volume {source!r} is not declared under volumes:"
                used.add(source)
    assert any(v.endswith(":/var/lib/postgresql/data") for v in db["volumes"])
    assert used == declared, f"declared but unused volumes: {declared - used}"


def test_compose_services_are_wired_to_the_db_and_each_other() -> None:
    services = compose()["services"]
    assert services["api"]["depends_on"]["db"]["condition"] == "service_healthy"
    assert services["etl"]["depends_on"]["db"]["condition"] == "service_healthy"
    assert services["api"]["image"] == services["etl"]["image"], "api and etl run the same image"
    for name in ("api", "etl"):
        env = services[name]["environment"]
        url = urllib.parse.urlparse(expand_defaults(env["GRONDSLAG_DATABASE_URL"]))
        assert url.scheme.startswith("postgres") and url.hostname == "db" and url.port == 5432
        assert url.path.lstrip("/") == expand_defaults(services["db"]["environment"]["POSTGRES_DB"])
    assert services["api"]["environment"]["GRONDSLAG_MIGRATE_ON_START"] == "1"
    assert services["etl"]["environment"].get("GRONDSLAG_MIGRATE_ON_START", "0") == "0", "only api migrates"
    assert re.fullmatch(
        r"\d\d:\d\d", expand_defaults(services["etl"]["environment"]["GRONDSLAG_ETL_SCHEDULE"])
    )
    ports = [expand_defaults(p) for p in services["api"]["ports"]]
    assert any(p.endswith(":8000") for p in ports)


def test_compose_files_and_paths_exist() -> None:
    services = compose()["services"]
    for name in ("api", "etl"):
        build = services[name]["build"]
        context = (DOCKER / build["context"]).resolve()
        assert context == REPO, "the build context is the repository root"
        assert (context / build["dockerfile"]).resolve() == DOCKERFILE
    sources_mounted = False
    for name, service in services.items():
        for volume in service.get("volumes", []):
            source, target, *mode = expand_defaults(volume).split(":")
            if source.startswith((".", "/")):
                assert (DOCKER / source).exists(), f"{name}: {source} does not exist"
                if target == "/app/sources":
                    sources_mounted = True
                    assert mode == ["ro"], "the sources folder is mounted read-only"
                    assert (DOCKER / source).resolve() == REPO / "sources"
    assert sources_mounted


def test_compose_commands_exist_in_the_image() -> None:
    """Every command of a service is the grondslag CLI (valid arguments) or a script the image installs."""
    provided = runtime_executables()
    for name in ("api", "etl"):
        command = services_command = compose()["services"][name]["command"]
        while command and command[0] in provided:
            script = REPO / provided[command[0]]
            assert script.exists(), f"{name}: {command[0]} comes from missing {script}"
            command = command[1:]
        assert command[0] in console_scripts(), f"{name}: {services_command} does not end in the CLI"
        cli_accepts(*command[1:])


# ---------------------------------------------------------------- Dockerfile


def test_dockerfile_is_multi_stage_on_python_311_slim() -> None:
    stages = dockerfile_stages()
    assert len(stages) >= 2
    base = global_args()
    images = []
    for stage in stages:
        image = stage[0][1].split()[0]
        images.append(re.sub(r"\$\{(\w+)\}", lambda m: base[m.group(1)], image))
    assert all(re.fullmatch(r"python:3\.11-slim(-\w+)?", image) for image in images), images
    builder, runtime = stages[0], stages[-1]
    assert "build-essential" in apt_packages(builder)
    runtime_apt = apt_packages(runtime)
    assert "postgresql-client" in runtime_apt, "pg_dump/pg_restore for grondslag db backup|restore"
    assert not runtime_apt & {"gdal-bin", "build-essential", "gcc", "libpq-dev", "curl"}
    assert any(flags.get("from") for _, _, flags in copies(runtime)), "runtime copies the build result"


def test_dockerfile_copy_sources_exist_and_are_in_the_build_context() -> None:
    patterns = dockerignore_patterns()
    seen = 0
    for stage in dockerfile_stages():
        for sources, _dest, flags in copies(stage):
            if "from" in flags:
                continue
            for source in sources:
                seen += 1
                assert (REPO / source).exists(), f"COPY {source}: not in the repository"
                assert not dockerignored(source, patterns), f"COPY {source}: excluded by .dockerignore"
    assert seen


def test_dockerignore_keeps_local_state_and_secrets_out() -> None:
    patterns = dockerignore_patterns()
    for path in (".venv", ".grondslag", ".git", ".env", "tests", "grondslag.egg-info", "api/__pycache__"):
        assert dockerignored(path, patterns), f"{path} is not in .dockerignore"
    for path in ("pyproject.toml", "README.md", "api/app.py", "db/migrations/env.py", "docker/nightly.sh"):
        assert not dockerignored(path, patterns), f"{path} must stay in the build context"


def test_dockerfile_runs_as_non_root_user() -> None:
    runtime = dockerfile_stages()[-1]
    users = [rest.split(":")[0] for instruction, rest in runtime if instruction == "USER"]
    assert users and users[-1] not in ("root", "0"), "the runtime stage ends as a non-root USER"
    assert users[-1] == "grondslag"
    assert any(
        "useradd" in rest and "grondslag" in rest for instruction, rest in runtime if instruction == "RUN"
    )


def test_dockerfile_healthcheck_calls_health_with_python() -> None:
    checks = [rest for instruction, rest in dockerfile_stages()[-1] if instruction == "HEALTHCHECK"]
    assert len(checks) == 1
    command = json.loads(checks[0].split(" CMD ", 1)[1])
    assert command[:2] == ["python", "-c"]
    code = command[2]
    ast.parse(code)
    assert "urllib" in code and "/health" in code and ":8000" in code
    assert "curl" not in checks[0]


def test_dockerfile_entrypoint_and_cmd_exist() -> None:
    runtime = dockerfile_stages()[-1]
    cmd = json.loads(next(rest for instruction, rest in runtime if instruction == "CMD"))
    assert cmd == ["grondslag", "serve", "--host", "0.0.0.0", "--port", "8000"]
    assert console_scripts()["grondslag"] == "grondslag.cli:app"
    cli_accepts(*cmd[1:])
    entrypoint = json.loads(next(rest for instruction, rest in runtime if instruction == "ENTRYPOINT"))
    provided = runtime_executables()
    apt = apt_packages(runtime)
    for word in entrypoint:
        if word.startswith("-"):
            continue
        assert word in provided or word in apt, f"ENTRYPOINT {word}: neither installed nor copied"
        if word in provided:
            assert (REPO / provided[word]).exists()
    assert ("EXPOSE", "8000") in runtime


@pytest.mark.parametrize(
    "args",
    [("serve",), ("db", "up"), ("db", "migrate"), ("db", "seed"), ("db", "backup"), ("etl", "run", "--all")],
)
def test_cli_commands_used_by_the_deployment_exist(args: tuple[str, ...]) -> None:
    cli_accepts(*args)


# ---------------------------------------------------------------- shell scripts


@pytest.mark.parametrize("script", SHELL_SCRIPTS, ids=lambda p: str(p.relative_to(REPO)))
def test_shell_script_syntax(script: Path) -> None:
    assert script.read_text().startswith("#!/usr/bin/env bash\n")
    assert os.access(script, os.X_OK), f"{script} is not executable"
    proc = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def _reference_next_run(now: datetime, hhmm: str) -> datetime:
    """The documented rule, with zoneinfo: first HH:MM (fold=0) strictly after ``now``."""
    tz = ZoneInfo(AMSTERDAM)
    hour, minute = map(int, hhmm.split(":"))
    day = now.astimezone(tz).date()
    for offset in range(3):
        candidate = datetime.combine(day + timedelta(days=offset), dtime(hour, minute), tzinfo=tz)
        if candidate.timestamp() > now.timestamp():
            return datetime.fromtimestamp(candidate.timestamp(), UTC)
    raise AssertionError("no next run")


def _utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("now", "schedule"),
    [
        (_utc(2025, 6, 15, 0, 0), "02:30"),  # summer, before the time
        (_utc(2025, 6, 15, 0, 30), "02:30"),  # exactly at it: the next day
        (_utc(2025, 6, 15, 12, 0), "02:30"),  # after it
        (_utc(2025, 1, 15, 1, 29, 59), "02:30"),  # winter
        (_utc(2025, 3, 29, 12, 0), "02:30"),  # 02:30 does not exist on 30 March: 03:30 CEST
        (_utc(2025, 3, 30, 1, 0), "02:30"),  # after the change, before 03:30 CEST
        (_utc(2025, 10, 25, 12, 0), "02:30"),  # 02:30 happens twice on 26 October: the first
        (_utc(2025, 10, 26, 0, 45), "02:30"),  # between the two: not again that day
        (_utc(2025, 12, 31, 23, 59), "02:30"),  # year boundary
        (_utc(2025, 6, 15, 21, 59), "00:00"),
        (_utc(2025, 6, 15, 21, 59), "23:59"),
        (_utc(2025, 6, 15, 21, 59), "2:05"),
    ],
)
def test_nightly_next_run_time(now: datetime, schedule: str) -> None:
    try:
        ZoneInfo(AMSTERDAM)
    except ZoneInfoNotFoundError:
        pytest.skip("no tz database on this machine")
    if not Path("/usr/share/zoneinfo", AMSTERDAM).exists():
        pytest.skip("no /usr/share/zoneinfo for GNU date")
    env = dict(
        os.environ,
        GRONDSLAG_NIGHTLY_NOW=str(int(now.timestamp())),
        GRONDSLAG_ETL_SCHEDULE=schedule,
        GRONDSLAG_ETL_TZ=AMSTERDAM,
    )
    proc = subprocess.run(
        ["bash", str(DOCKER / "nightly.sh"), "--next"], env=env, capture_output=True, text=True, timeout=30
    )
    assert proc.returncode == 0, proc.stderr
    got = datetime.fromisoformat(proc.stdout.strip())
    assert got.tzinfo is not None
    expected = _reference_next_run(now, schedule)
    assert got.timestamp() == expected.timestamp(), f"{got} != {expected.astimezone(ZoneInfo(AMSTERDAM))}"
    local = got.astimezone(ZoneInfo(AMSTERDAM))
    assert local.date() - now.astimezone(ZoneInfo(AMSTERDAM)).date() <= timedelta(days=1)


@pytest.mark.parametrize(
    ("schedule", "tz"),
    [("25:00", AMSTERDAM), ("2h30", AMSTERDAM), ("02:3", AMSTERDAM), ("02:30", "Mars/Base")],
)
def test_nightly_rejects_a_bad_schedule(schedule: str, tz: str) -> None:
    env = dict(os.environ, GRONDSLAG_ETL_SCHEDULE=schedule, GRONDSLAG_ETL_TZ=tz)
    proc = subprocess.run(
        ["bash", str(DOCKER / "nightly.sh"), "--next"], env=env, capture_output=True, text=True, timeout=30
    )
    assert proc.returncode == 2
    (line,) = json_lines(proc.stderr)
    assert line["level"] == "error" and line["event"] == "nightly_config"


@pytest.mark.parametrize(
    ("code", "level"), [(0, "info"), (1, "error"), (2, "error"), (75, "info"), (3, "error")]
)
def test_nightly_once_logs_the_meaning_of_the_exit_code(code: int, level: str) -> None:
    proc = subprocess.run(
        ["bash", str(DOCKER / "nightly.sh"), "--once", "bash", "-c", f"echo summary; exit {code}"],
        capture_output=True,
        text=True,
        timeout=30,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == code
    assert proc.stdout == "summary\n"
    lines = json_lines(proc.stderr)
    assert [ln["event"] for ln in lines] == ["nightly_run_started", "nightly_run_finished"]
    assert lines[-1]["exit_code"] == code and lines[-1]["level"] == level
    if code == 75:
        assert "not an error" in lines[-1]["message"]


def test_nightly_loop_schedules_and_stops_on_sigterm() -> None:
    env = dict(os.environ, GRONDSLAG_ETL_SCHEDULE="02:30", GRONDSLAG_ETL_TZ=AMSTERDAM)
    proc = subprocess.Popen(
        ["bash", str(DOCKER / "nightly.sh"), "true"],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        events = []
        assert proc.stderr is not None
        while len(events) < 2:
            line = proc.stderr.readline()
            assert line, "the scheduler ended early"
            events.append(json.loads(line))
        assert [e["event"] for e in events] == ["nightly_started", "nightly_scheduled"]
        assert events[1]["next_run_epoch"] > time.time()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 143
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


# ---------------------------------------------------------------- cron wrapper


def _fake_cli(tmp_path: Path) -> Path:
    fake = tmp_path / "fake-grondslag"
    fake.write_text(
        "#!/usr/bin/env bash\n"
        'echo "$*" > "$FAKE_ARGS"\n'
        'echo \'{"ts": "t", "event": "run_started"}\' >&2\n'
        'if [ "$FAKE_CODE" = 2 ]; then printf "error: sources/x.yaml: not valid YAML\\n  in line 1\\n" >&2\n'
        "fi\n"
        'echo \'{"status": "x"}\'\n'
        'exit "$FAKE_CODE"\n'
    )
    fake.chmod(0o755)
    return fake


@pytest.mark.parametrize(
    ("code", "wrapper_code", "alerted"), [(0, 0, False), (75, 0, False), (1, 1, True), (2, 2, True)]
)
def test_cron_wrapper_maps_exit_codes(tmp_path: Path, code: int, wrapper_code: int, alerted: bool) -> None:
    alert_file = tmp_path / "alerts"
    alert = tmp_path / "alert.sh"
    alert.write_text(f'#!/usr/bin/env bash\nprintf "%s\\n" "$*" >> {alert_file}\n')
    alert.chmod(0o755)
    log = tmp_path / "log" / "etl.jsonl"
    env = dict(
        os.environ,
        GRONDSLAG_HOME=str(tmp_path),
        GRONDSLAG_BIN=str(_fake_cli(tmp_path)),
        GRONDSLAG_ETL_LOG=str(log),
        GRONDSLAG_ALERT_CMD=str(alert),
        FAKE_CODE=str(code),
        FAKE_ARGS=str(tmp_path / "args"),
        PATH="/usr/bin:/bin",  # no logger needed
    )
    proc = subprocess.run(
        ["bash", str(DEPLOY / "grondslag-nightly.sh")],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == wrapper_code
    assert (tmp_path / "args").read_text().split() == ["etl", "run", "--all", "--format", "json"]
    lines = json_lines(log.read_text())  # every line is JSON, the CLI's plain error line wrapped
    assert lines[0]["event"] == "nightly_run_started" and lines[-1]["event"] == "nightly_run_finished"
    assert lines[-1]["exit_code"] == code
    assert json.loads((log.parent / "etl-last-summary.json").read_text()) == {"status": "x"}
    if alerted:
        assert lines[-1]["level"] == "error"
        assert proc.stderr.strip(), "cron mails what the wrapper prints: trouble must print"
        assert alert_file.exists()
    else:
        assert lines[-1]["level"] == "info"
        assert proc.stderr == "" and proc.stdout == "", "success and 75 print nothing (no cron mail)"
        assert not alert_file.exists()
    if code == 2:
        assert any(ln["event"] == "stderr" and ln["message"].startswith("error: ") for ln in lines)
        assert "error: sources/x.yaml: not valid YAML" in proc.stderr


def _cron_jobs(path: Path) -> list[list[str]]:
    jobs = []
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#") or re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", line):
            continue
        jobs.append(line.split(None, 5))
    return jobs


def test_cron_line_calls_the_cli_through_the_wrapper() -> None:
    jobs = _cron_jobs(DEPLOY / "cron" / "grondslag-etl.cron")
    assert len(jobs) == 1, "one nightly job (a second would only meet the lock)"
    fields = jobs[0]
    assert len(fields) == 6, "5 time fields and a command"
    ranges = [(0, 59), (0, 23), (1, 31), (1, 12), (0, 7)]
    for value, (low, high) in zip(fields[:5], ranges, strict=True):
        for part in value.split(","):
            if part == "*":
                continue
            assert re.fullmatch(r"\d+", part) and low <= int(part) <= high, f"bad cron field {value}"
    assert "flock" not in fields[5], "the ETL's advisory lock is enough"
    assert "%" not in fields[5], "% is special in crontab lines"
    script = fields[5].split()[0]
    assert script.endswith("deploy/grondslag-nightly.sh")
    wrapper = (DEPLOY / "grondslag-nightly.sh").read_text()
    assert ".venv/bin/grondslag" in wrapper
    assert '"$GRONDSLAG_BIN" etl run --all' in wrapper
    cli_accepts("etl", "run", "--all", "--format", "json")


# ---------------------------------------------------------------- systemd


def _unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string((DEPLOY / "systemd" / name).read_text())
    return parser


def _exec_args(exec_start: str) -> list[str]:
    words = shlex.split(exec_start)
    assert words[0].endswith("/.venv/bin/grondslag"), words[0]
    return words[1:]


def test_systemd_etl_service_and_timer() -> None:
    service = _unit("grondslag-etl.service")
    assert service["Service"]["Type"] == "oneshot"
    assert service["Service"]["User"] == "grondslag"
    args = _exec_args(service["Service"]["ExecStart"])
    assert args[:3] == ["etl", "run", "--all"]
    cli_accepts(*args)
    assert "75" in service["Service"]["SuccessExitStatus"].split()
    assert service["Service"]["WorkingDirectory"].startswith("/")
    timer = _unit("grondslag-etl.timer")
    assert timer["Timer"]["OnCalendar"] == "*-*-* 02:30"
    assert timer["Timer"]["Persistent"] == "true"
    assert timer["Timer"].get("Unit", "grondslag-etl.service") == "grondslag-etl.service"
    assert timer["Install"]["WantedBy"] == "timers.target"


def test_systemd_api_service() -> None:
    service = _unit("grondslag-api.service")
    args = _exec_args(service["Service"]["ExecStart"])
    assert args[0] == "serve"
    cli_accepts(*args)
    assert _exec_args(service["Service"]["ExecStartPre"]) == ["db", "migrate"]
    assert service["Service"]["Restart"] == "on-failure"
    assert service["Service"]["User"] == "grondslag"
    assert service["Install"]["WantedBy"] == "multi-user.target"


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed")
def test_systemd_units_verify(tmp_path: Path) -> None:
    """systemd's own parser, on copies whose paths and user point at things that exist here."""
    bindir = Path(sys.executable).parent
    for unit in (DEPLOY / "systemd").iterdir():
        text = unit.read_text().replace("/opt/grondslag/.venv/bin", str(bindir))
        text = text.replace("/opt/grondslag", str(REPO)).replace("=grondslag\n", "=root\n")
        (tmp_path / unit.name).write_text(text)
    proc = subprocess.run(
        ["systemd-analyze", "verify", *sorted(str(p) for p in tmp_path.iterdir())],
        capture_output=True,
        text=True,
        timeout=60,
    )
    ours = [line for line in proc.stderr.splitlines() if str(tmp_path) in line]
    assert not ours, "\n".join(ours)


# ---------------------------------------------------------------- Airflow example


def test_airflow_dag_compiles_without_airflow(tmp_path: Path) -> None:
    dag = DEPLOY / "airflow" / "grondslag_nightly_dag.py"
    py_compile.compile(str(dag), cfile=str(tmp_path / "dag.pyc"), doraise=True)
    assert not dag.name.startswith("test_") and not dag.name.endswith("_test.py"), (
        "pytest must not collect it"
    )
    assert not (dag.parent / "__init__.py").exists()
    tree = ast.parse(dag.read_text())
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    constants = {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant)}
    assert {"AirflowSkipException", "AirflowFailException", "PythonOperator", "DAG"} <= names
    assert 75 in constants and "30 2 * * *" in constants and AMSTERDAM in constants
    assert {"etl", "run", "--all"} <= constants
    cli_accepts("etl", "run", "--all", "--format", "json")


# ---------------------------------------------------------------- the CLI without a terminal


def _grondslag() -> list[str]:
    script = Path(sys.executable).with_name("grondslag")
    return [str(script)] if script.exists() else [sys.executable, "-m", "grondslag.cli"]


@pytest.mark.parametrize("case", ["missing", "empty", "not-yaml", "invalid-mapping"])
def test_etl_run_without_terminal_and_bad_sources_exits_2_quickly(tmp_path: Path, case: str) -> None:
    sources = tmp_path / "sources"
    if case != "missing":
        sources.mkdir()
    if case == "not-yaml":
        (sources / "broken.yaml").write_text("name: [unclosed\n")
    if case == "invalid-mapping":
        (sources / "broken.yaml").write_text("name: broken\nreader: {type: csv}\n")
    env = dict(os.environ, GRONDSLAG_DATABASE_URL="postgresql://nobody@127.0.0.1:9/nothing")
    started = time.monotonic()
    proc = subprocess.run(
        [*_grondslag(), "etl", "run", "--all", "--sources-dir", str(sources)],
        stdin=subprocess.DEVNULL,
        capture_output=True,  # stdout and stderr are pipes: no terminal
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
    )
    assert proc.returncode == 2, proc.stderr
    assert time.monotonic() - started < 30
    assert proc.stdout == ""
    assert "\x1b[" not in proc.stderr, "no terminal colours or progress bars"
    # without a terminal every line is a JSON log object, the error included
    events = [json.loads(line) for line in proc.stderr.splitlines()]
    assert events[-1]["event"] == "error" and events[-1]["exit_code"] == 2
    assert str(sources) in events[-1]["message"]


# ---------------------------------------------------------------- the entry point, for real


def test_entrypoint_migrates_then_serves_and_the_healthcheck_passes(pg_cluster, tmp_path: Path) -> None:
    """docker/entrypoint.sh against a fresh database, then the Dockerfile's HEALTHCHECK command."""
    if pg_cluster is None:
        pytest.skip("GRONDSLAG_TEST_DATABASE_URL: no cluster to create a fresh database in")
    import sqlalchemy as sa

    from db.cluster import free_port
    from db.settings import StoreSettings

    admin = StoreSettings(data_dir=pg_cluster.data_dir, pg_port=pg_cluster.port, db_name="postgres")
    engine = sa.create_engine(admin.url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text("DROP DATABASE IF EXISTS grondslag_deploy"))
        conn.execute(sa.text("CREATE DATABASE grondslag_deploy"))
    engine.dispose()
    url = StoreSettings(
        data_dir=pg_cluster.data_dir, pg_port=pg_cluster.port, db_name="grondslag_deploy"
    ).libpq_url
    port = free_port()
    env = dict(
        os.environ,
        GRONDSLAG_DATABASE_URL=url,
        GRONDSLAG_MIGRATE_ON_START="1",
        PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}",
    )
    check = next(rest for instruction, rest in dockerfile_stages()[-1] if instruction == "HEALTHCHECK")
    healthcheck = [w.replace(":8000/", f":{port}/") for w in json.loads(check.split(" CMD ", 1)[1])]
    log = tmp_path / "entrypoint.log"
    with open(log, "w") as out:
        server = subprocess.Popen(
            [
                "bash",
                str(DOCKER / "entrypoint.sh"),
                "grondslag",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            env=env,
            cwd=tmp_path,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 120
            healthy = False
            while time.monotonic() < deadline and server.poll() is None:
                if subprocess.run(healthcheck, env=env, capture_output=True, timeout=30).returncode == 0:
                    healthy = True
                    break
                time.sleep(0.5)
            assert healthy, log.read_text()
            text = log.read_text()
            assert "Schema at head" in text and "store ready" in text
        finally:
            server.terminate()
            server.wait(timeout=30)
    assert subprocess.run(healthcheck, env=env, capture_output=True, timeout=30).returncode != 0
