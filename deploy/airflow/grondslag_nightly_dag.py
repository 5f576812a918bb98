"""Example Airflow DAG: Grondslag's nightly ETL at 02:30 Europe/Amsterdam.

An example to copy into an Airflow deployment's dags/ folder, not a part of Grondslag: nothing in
the project imports it and Airflow is not a dependency. Written for Airflow 2.4+ and 3.x.

The task runs the CLI of a Grondslag checkout on the worker (GRONDSLAG_HOME, default /opt/grondslag,
with its .venv and .env) and maps its exit codes:

    0   done                                   -> success
    75  another run holds the advisory lock    -> skipped (AirflowSkipException): not an error
    2   usage or configuration error           -> failed without retries (AirflowFailException)
    1   a dataset failed / store unreachable   -> failed (retried per `retries`)

The CLI writes JSON log lines on stderr when it has no terminal; they go into the task log.

With BashOperator alone (Airflow 2.6+) the same without the distinction between 1 and 2:
    BashOperator(task_id="etl_run_all", cwd=HOME, skip_on_exit_code=75,
                 bash_command=f"{HOME}/.venv/bin/grondslag etl run --all --format json </dev/null")
"""

from __future__ import annotations

import logging
import os
import subprocess
from datetime import timedelta

import pendulum
from airflow.exceptions import AirflowFailException, AirflowSkipException

try:  # Airflow 3
    from airflow.providers.standard.operators.python import PythonOperator
    from airflow.sdk import DAG
except ImportError:  # Airflow 2
    from airflow import DAG
    from airflow.operators.python import PythonOperator

HOME = os.environ.get("GRONDSLAG_HOME", "/opt/grondslag")
CLI = os.path.join(HOME, ".venv", "bin", "grondslag")
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_LOCKED = 0, 1, 2, 75

log = logging.getLogger(__name__)


def run_grondslag(*args: str) -> None:
    """Run `grondslag ARGS` without a terminal, stream its output into the task log, map the exit code."""
    proc = subprocess.Popen(
        [CLI, *args],
        cwd=HOME,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    for line in proc.stdout or ():
        log.info("%s", line.rstrip("\n"))
    code = proc.wait()
    if code == EXIT_OK:
        return
    if code == EXIT_LOCKED:
        raise AirflowSkipException("another Grondslag ETL run holds the lock; nothing done (not an error)")
    if code == EXIT_USAGE:
        raise AirflowFailException("grondslag: usage or configuration error (exit 2); retrying will not help")
    raise RuntimeError(f"grondslag exited {code}: a dataset failed or the store was unreachable (see above)")


with DAG(
    dag_id="grondslag_nightly",
    description="Grondslag: load every configured source (grondslag etl run --all)",
    schedule="30 2 * * *",
    start_date=pendulum.datetime(2025, 1, 1, tz="Europe/Amsterdam"),
    catchup=False,
    max_active_runs=1,
    default_args={"retries": 1, "retry_delay": timedelta(minutes=30)},
    tags=["grondslag", "etl"],
) as dag:
    PythonOperator(
        task_id="etl_run_all",
        python_callable=run_grondslag,
        op_args=["etl", "run", "--all", "--format", "json"],
        execution_timeout=timedelta(hours=6),
    )
