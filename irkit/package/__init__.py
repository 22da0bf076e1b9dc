"""Packaging: ``model.tar.gz`` in TF Serving layout, ``payload.tar.gz``, and their checks.

``layout`` (tarball names, signature, limits: shared by the others), ``build`` (SavedModel export,
tarballs, sample bodies), ``inspection`` (``inspect``, InspectionReport), ``archive`` (safe
extraction), ``payload`` (reading a payload tarball's sample). Imports point one way:
build -> inspection -> archive, layout.
"""

from __future__ import annotations

from irkit.package.build import (  # noqa: F401
    JSON_DECIMALS,
    SampleKind,
    build_model_tarball,
    build_payload_tarball,
    export_savedmodel,
    payload_content_types,
    sample_bodies,
)
from irkit.package.inspection import InspectionReport, inspect  # noqa: F401
from irkit.package.layout import (  # noqa: F401
    CONTAINER_TF_MAX,
    MODEL_TARBALL,
    PAYLOAD_TARBALL,
    SERVING_SIGNATURE,
)
