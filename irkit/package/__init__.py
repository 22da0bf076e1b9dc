"""Packaging: ``model.tar.gz`` in TF Serving layout, ``payload.tar.gz``, and their checks.

``build`` (SavedModel export, tarballs), ``inspection`` (InspectionReport), ``archive`` (safe
extraction), ``payload`` (reading a payload tarball's samples).
"""

from __future__ import annotations

from irkit.package.build import (  # noqa: F401
    CONTAINER_TF_MAX,
    JSON_DECIMALS,
    MODEL_TARBALL,
    PAYLOAD_TARBALL,
    SERVING_SIGNATURE,
    SampleKind,
    build_model_tarball,
    build_payload_tarball,
    export_savedmodel,
    inspect,
    payload_content_types,
    sample_bodies,
)
from irkit.package.inspection import InspectionReport  # noqa: F401
