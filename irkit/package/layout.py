"""What the tarballs look like: the names and limits both building (build) and checking (inspection) use.

Kept apart so that ``build`` and ``inspection`` share them without importing each other.
"""

from __future__ import annotations

MODEL_TARBALL = "model.tar.gz"
PAYLOAD_TARBALL = "payload.tar.gz"
SERVING_SIGNATURE = "serving_default"
# Newest TensorFlow inference image SageMaker (Python SDK 2.257) knows; local TF is newer.
CONTAINER_TF_MAX = "2.19"
MAX_BODY_BYTES = 6 * 1024 * 1024  # SageMaker real-time invocation payload limit
# A payload file's content type, from its suffix (inspection, and the local job's guess).
CONTENT_TYPES_BY_SUFFIX = {
    ".json": "application/json",
    ".npy": "application/x-npy",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
}
