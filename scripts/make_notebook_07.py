"""Write notebooks/07_multi_model.ipynb (clean: no outputs, one `parameters` cell). Run from the repo root."""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

OUT = Path(__file__).resolve().parents[1] / "notebooks" / "07_multi_model.ipynb"

CELLS = [
    ("md", """# 07 · Multi-model endpoint: a Zipf load over three models

Inference Recommender cannot load test a multi-model endpoint (MME). irkit can: the local server
serves a folder of `*.tar.gz` with SageMaker's MME semantics (`X-Amzn-SageMaker-Target-Model`
routes a request; a model loads on its first request), and the spec's `target_models` spreads the
load over the models with a popularity you choose. Results come per model, with **cold** requests
(the model had to load) apart from **warm** ones, and the cache hit rate: the figures that size an
MME's instance and memory. The same spec benchmarks a real endpoint with
`irkit recommend SPEC --backend sagemaker --endpoint-name NAME` (docs/multi-model.md)."""),
    ("params", """workdir = "irkit-work"  # holds model.tar.gz (notebook 02 writes it; built here when missing)
weights = "auto"  # used only when the model must be built here
job_name = None  # None: a fresh unique name
instance_type = "local.cpu1"
copies = 3  # how many copies of the packaged model the endpoint serves
distribution = "zipf"  # "zipf", "uniform" or "weights"
exponent = 1.2  # Zipf: model k gets a share proportional to 1 / k**exponent
weights_per_model = None  # with distribution "weights": one number per model
stairs = {"duration_in_seconds": 20, "number_of_steps": 3, "users_per_step": 1}"""),
    ("code", """import shutil
from pathlib import Path

import irkit
from irkit.package import build as packaging
from irkit.model import load_model

work = Path(workdir)
work.mkdir(parents=True, exist_ok=True)
model_tar, payload_tar = work / "model.tar.gz", work / "payload.tar.gz"
if not model_tar.exists():  # notebook 02 normally builds these
    packaging.build_model_tarball(load_model(weights), model_tar)
if not payload_tar.exists():
    packaging.build_payload_tarball(payload_tar)
mme_dir = work / "mme"
mme_dir.mkdir(exist_ok=True)
models = [f"model-{i + 1}.tar.gz" for i in range(copies)]
for name in models:  # the endpoint's model folder: one tarball per model, named as TargetModel
    if not (mme_dir / name).exists():
        shutil.copy(model_tar, mme_dir / name)
sorted(p.name for p in mme_dir.glob("*.tar.gz"))"""),
    ("md", """## The spec: which models, how popular

`target_models` lists the models (the tarball names) and their popularity. With Zipf the first
model gets the most requests; the chart shows the share each model will get."""),
    ("code", """from irkit.results.charts.models import popularity_bars
from irkit.spec.popularity import Popularity

target_models = {"models": models, "distribution": distribution}
if distribution == "zipf":
    target_models["exponent"] = exponent
if distribution == "weights":
    target_models["weights"] = weights_per_model
spec = irkit.JobSpec.from_dict({
    "job_name": job_name,
    "sample_payload_url": str(payload_tar),
    "supported_content_types": ["application/json"],
    "supported_instance_types": [instance_type],
    "stairs": stairs,
    "target_models": target_models,
}).with_job_name("multi-model")
popularity = Popularity.from_spec(spec.target_models)
popularity_bars(popularity.probabilities(), title="Share of requests each model will get")"""),
    ("md", """## Run the load test

`--model` is the folder: the local backend serves it as a multi-model endpoint. The pre-flight
request goes to the first model, which is then unloaded (`DELETE /models/<name>`), so every model starts cold."""),
    ("code", """handle = irkit.submit(spec, backend="local", model=mme_dir, payload=payload_tar)
result = irkit.wait(handle)
print(result["Status"], result.get("FailureReason") or "")"""),
    ("md", """## Per model

One row per model over the whole run: its share of requests, latency percentiles, cold requests
(the model was not loaded: the request loaded it or waited for its load) and the hit rate."""),
    ("code", """from irkit.results.per_model import model_summary

summary = model_summary(result)
summary[["target", "requests", "share", "errors", "p50_ms", "p99_ms", "cold_requests", "cold_p50_ms",
         "warm_p50_ms", "hit_rate", "loads", "load_ms_mean"]]"""),
    ("code", """from irkit.results.charts.models import model_charts

charts = model_charts(result)
charts["model_latency"]"""),
    ("code", """charts["cold_warm"]  # cold answers pay the model load; warm ones only the inference"""),
    ("code", """charts["hit_rate"]"""),
    ("md", """## Did the load follow the popularity?

Bars: the share the spec asked for. Dots: the share each model got."""),
    ("code", """observed = dict(zip(summary["target"], summary["share"], strict=True))
popularity_bars(popularity.probabilities(), observed=observed, title="Asked for (bars) and got (dots)")"""),
    ("code", """import json

out = work / f"{result['JobName']}.json"
out.write_text(json.dumps(result, indent=2, default=str))
out"""),
]


def build() -> nbformat.NotebookNode:
    cells = []
    for kind, source in CELLS:
        if kind == "md":
            cells.append(new_markdown_cell(source, metadata={"tags": []}))
        else:
            tags = ["parameters"] if kind == "params" else []
            cells.append(new_code_cell(source, metadata={"tags": tags}))
    nb = new_notebook(cells=cells)
    nb.metadata = {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
                   "language_info": {"name": "python"}, "papermill": {}}
    return nb


if __name__ == "__main__":
    nbformat.write(build(), OUT)
    print(OUT)
