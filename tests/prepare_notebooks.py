"""Copy notebooks with short, offline parameters injected (papermill's own parameterizer).

Usage: python tests/prepare_notebooks.py SRC_DIR DEST_DIR
The parameters per notebook come from tests/notebook_params.yaml ("*" applies to all).
nbval then runs the copies with --nbval-lax.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
import yaml
from papermill.parameterize import parameterize_notebook

HERE = Path(__file__).parent


def main(src: str, dest: str) -> int:
    params_all = yaml.safe_load((HERE / "notebook_params.yaml").read_text()) or {}
    out = Path(dest)
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.ipynb"):
        old.unlink()
    for nb_path in sorted(Path(src).glob("*.ipynb")):
        nb = nbformat.read(nb_path, as_version=4)
        # papermill reads cell.metadata.tags and nb.metadata.papermill without defaults
        for cell in nb.cells:
            cell.metadata.setdefault("tags", [])
        nb.metadata.setdefault("papermill", {})
        params = {**params_all.get("*", {}), **params_all.get(nb_path.stem, {})}
        nb = parameterize_notebook(nb, params, report_mode=False, kernel_name="python3")
        # papermill marks the injected cell; nbval-lax checks only cells tagged nbval-check-output
        nbformat.write(nb, out / nb_path.name)
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
