"""Small notebooks and recorded jobs for the headless tests (built with nbformat in tmp_path)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

RECORDED_RESULT = Path(__file__).parents[1] / "results" / "data" / "local_result.json"


def write_notebook(path: Path, parameters: str, *cells: str) -> Path:
    """A notebook with one ``parameters`` cell and the given code cells."""
    nb = new_notebook(
        cells=[new_markdown_cell(f"# {path.stem}"),
               new_code_cell(parameters, metadata={"tags": ["parameters"]}),
               *(new_code_cell(c) for c in cells)],
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def recorded_result(throughput_factor: float = 1.0, latency_factor: float = 1.0,
                    job_name: str = "demo-local") -> dict[str, Any]:
    """The recorded local result, with every MaxInvocations/ModelLatency scaled."""
    result = copy.deepcopy(json.loads(RECORDED_RESULT.read_text()))
    result["JobName"] = job_name
    for rec in result["InferenceRecommendations"]:
        rec["Metrics"]["MaxInvocations"] = round(rec["Metrics"]["MaxInvocations"] * throughput_factor)
        rec["Metrics"]["ModelLatency"] = round(rec["Metrics"]["ModelLatency"] * latency_factor)
    return result


RECORD_JOB_CELL = """\
import json
from irkit.store import Store

store = Store()
job_id = store.create_job(job_name, "local", {"job_name": job_name})
store.save_result(job_id, json.loads(open(result_file).read()))
print("recorded", job_id)
"""


def recording_notebook(path: Path) -> Path:
    """A notebook that records a finished job (the result in ``result_file``) in the job store."""
    return write_notebook(path, 'job_name = "nightly"\nresult_file = "result.json"', RECORD_JOB_CELL)
