"""``irkit predict``, ``irkit package`` and ``irkit inspect``.

- ``irkit predict [IMAGE] [--weights imagenet|auto|none|PATH] [--top K] [--json]``
- ``irkit package --out DIR [--weights ...] [--image IMAGE] [--framework-version V] [--samples KINDS]``
- ``irkit inspect PATH [--framework-version V] [--json]``: exit 0 when valid, 1 with the reason if not.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from irkit.errors import EXIT_FAILURE, EXIT_OK

if TYPE_CHECKING:
    from irkit.package.inspection import InspectionReport

WEIGHTS_HELP = (
    "imagenet (Keras cache, downloads when online), auto (imagenet, else random with a warning), "
    "none (random weights: meaningless labels, representative timings), or PATH to a weights file"
)


def register(sub: argparse._SubParsersAction) -> None:
    predict = sub.add_parser("predict", help="ResNet50 top-k labels for an image (default: the sample)")
    predict.add_argument("image", nargs="?", help="image file (default: scikit-image's 'chelsea' photo)")
    predict.add_argument("--weights", default="imagenet", help=WEIGHTS_HELP)
    predict.add_argument("--top", type=int, default=5, help="how many labels (default 5)")
    predict.add_argument("--json", action="store_true", help="print JSON instead of text")
    predict.set_defaults(func=run_predict)

    package = sub.add_parser("package", help="write DIR/model.tar.gz and DIR/payload.tar.gz, then inspect")
    package.add_argument("--out", required=True, help="output folder")
    package.add_argument("--weights", default="imagenet", help=WEIGHTS_HELP)
    package.add_argument("--image", help="image for the sample payload (default: the sample photo)")
    package.add_argument("--framework-version", help="TF version of the SageMaker container (default 2.19)")
    package.add_argument("--samples", default="list",
                         help="comma-separated payload kinds: list, instances, npy, jpeg (default: list)")
    package.set_defaults(func=run_package)

    inspect = sub.add_parser("inspect", help="check a model.tar.gz, payload.tar.gz or a folder with both")
    inspect.add_argument("path", help="model.tar.gz, payload.tar.gz, or a folder holding both")
    inspect.add_argument("--framework-version", help="TF version of the SageMaker container (default 2.19)")
    inspect.add_argument("--json", action="store_true", help="print the report as JSON")
    inspect.set_defaults(func=run_inspect)


def run_predict(args: argparse.Namespace) -> int:
    from irkit import model as model_lib

    image = args.image or model_lib.sample_image()
    model = load_model_noting_warnings(args.weights)
    predictions = model_lib.predict(model, model_lib.preprocess(image), top=args.top)
    warning = model_lib.weights_warning(model)
    if args.json:
        out: dict[str, object] = {
            "predictions": [{"label": p.label, "probability": p.probability} for p in predictions],
            "weights": model_lib.weights_of(model),
            "image": str(image),
        }
        if warning:
            out["warning"] = warning
        print(json.dumps(out, indent=2))
    else:
        print(f"top-{args.top} for {image} (weights: {model_lib.weights_of(model)})")
        print(model_lib.format_predictions(predictions, model))
    if warning and args.json:
        print(warning, file=sys.stderr)
    return EXIT_OK


def load_model_noting_warnings(weights: str) -> object:
    """``load_model`` with its warnings printed as ``irkit: warning: ...`` lines on stderr."""
    import warnings

    from irkit.model import load_model

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = load_model(weights)
    for warning in caught:
        if issubclass(warning.category, UserWarning):
            print(f"irkit: warning: {warning.message}", file=sys.stderr)
    return model


def run_package(args: argparse.Namespace) -> int:
    from irkit.package import build as packaging

    out = Path(args.out)
    samples = tuple(kind.strip() for kind in args.samples.split(",") if kind.strip())
    model = load_model_noting_warnings(args.weights)
    model_tar = packaging.build_model_tarball(model, out / packaging.MODEL_TARBALL)
    payload_tar = packaging.build_payload_tarball(out / packaging.PAYLOAD_TARBALL, samples=samples, image=args.image)
    print(f"wrote {model_tar} ({model_tar.stat().st_size} bytes)")
    print(f"wrote {payload_tar} ({payload_tar.stat().st_size} bytes); content types: "
          f"{', '.join(packaging.payload_content_types(samples))}")
    return _report(packaging.inspect(out, framework_version=args.framework_version), as_json=False)


def run_inspect(args: argparse.Namespace) -> int:
    from irkit.package import build as packaging

    report = packaging.inspect(args.path, framework_version=args.framework_version)
    return _report(report, as_json=args.json)


def _report(report: InspectionReport, as_json: bool) -> int:
    print(json.dumps(report.to_dict(), indent=2) if as_json else report)
    if report.valid:
        return EXIT_OK
    print(f"irkit: error: {report.path} is not valid: {'; '.join(report.problems)}", file=sys.stderr)
    return EXIT_FAILURE
