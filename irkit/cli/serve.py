"""``irkit serve MODEL [--port P] [--host 127.0.0.1] [--instance-type local.cpuN]``: the local model server.

It speaks SageMaker's container contract (GET /ping, POST /invocations) and reads the TF Serving
container's env knobs; see docs/local-server.md. Runs in the foreground until Ctrl-C.
``irkit serve --multi-model DIR [--max-loaded N] [--memory-mb MB]`` serves a multi-model endpoint and
``irkit serve --container HOST=MODEL ...`` a multi-container one (docs/multi-model.md).
"""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "serve", help="serve a SavedModel or model.tar.gz with SageMaker's container contract",
        description="Serve a model locally: GET /ping, POST /invocations (JSON, npy, JPEG, PNG). "
        "Env knobs: SAGEMAKER_TFS_ENABLE_BATCHING, SAGEMAKER_TFS_MAX_BATCH_SIZE, "
        "SAGEMAKER_TFS_BATCH_TIMEOUT_MICROS, SAGEMAKER_GUNICORN_WORKERS, OMP_NUM_THREADS, "
        "TF_NUM_INTRAOP_THREADS, TF_NUM_INTEROP_THREADS; the runtime: IRKIT_RUNTIME=tensorflow|openvino, "
        "IRKIT_PRECISION=fp32|bf16 (docs/runtimes.md). Multi-model: --multi-model DIR routes by "
        "X-Amzn-SageMaker-Target-Model; multi-container: --container HOST=MODEL (repeat) routes by "
        "X-Amzn-SageMaker-Target-Container-Hostname.",
    )
    from irkit.serve.main import add_arguments

    add_arguments(parser)
    parser.set_defaults(func=run_serve)


def run_serve(args: argparse.Namespace) -> int:
    from irkit.serve.main import serve

    return serve(args)
