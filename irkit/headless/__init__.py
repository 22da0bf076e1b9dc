"""Headless runs (``irkit run``): papermill executions, run folders, parameters, scrubbing.

``run`` (run_notebooks, HeadlessRun), ``execute`` (one notebook), ``folder`` (run folders and S3),
``params`` (-p / -f parameters), ``scrub`` (secrets out of saved notebooks).
"""

from __future__ import annotations

from irkit.headless.run import (  # noqa: F401
    CHAINED_JOB,
    CHAINED_WORKDIR,
    ENV_NOTEBOOKS_DIR,
    EXIT_INTERRUPTED,
    REPORT_NAME,
    WALK_PATTERN,
    HeadlessRun,
    default_notebooks_dir,
    resolve_baseline,
    run_notebooks,
    walk_notebooks,
)
