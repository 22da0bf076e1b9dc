"""environment.yml's pip section is exactly pyproject's dependencies plus the aws, app and dev extras."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement

tomllib = pytest.importorskip("tomllib")  # Python 3.11+

ROOT = Path(__file__).resolve().parents[2]
EXTRAS = ("aws", "app", "dev")


def expand(project: dict, extras: tuple[str, ...]) -> list[str]:
    """Dependencies plus the extras, with ``irkit[...]`` self-references expanded."""
    out: list[str] = list(project["dependencies"])
    todo, seen = list(extras), set()
    while todo:
        extra = todo.pop(0)
        if extra in seen:
            continue
        seen.add(extra)
        for requirement in project["optional-dependencies"][extra]:
            parsed = Requirement(requirement)
            if parsed.name == project["name"]:
                todo.extend(sorted(parsed.extras))
            else:
                out.append(requirement)
    return out


def normalized(requirement: str) -> str:
    parsed = Requirement(requirement)
    name = re.sub(r"[-_.]+", "-", parsed.name).lower()
    extras = f"[{','.join(sorted(parsed.extras))}]" if parsed.extras else ""
    specifier = ",".join(sorted(str(s) for s in parsed.specifier))
    marker = f"; {parsed.marker}" if parsed.marker else ""
    return f"{name}{extras}{specifier}{marker}"


def test_environment_pip_section_matches_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    environment = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert environment["name"] == "irkit"
    conda = [d for d in environment["dependencies"] if isinstance(d, str)]
    assert "pip" in conda and any(d.replace(" ", "").startswith("python=3.11") for d in conda)
    (pip_block,) = [d["pip"] for d in environment["dependencies"] if isinstance(d, dict)]
    assert not [line for line in pip_block if line.strip().startswith("-e")]
    expected = [normalized(r) for r in expand(project, EXTRAS)]
    listed = [normalized(r) for r in pip_block]
    assert len(listed) == len(set(listed)), "environment.yml lists a requirement twice"
    assert sorted(listed) == sorted(set(expected)), (
        f"missing from environment.yml: {sorted(set(expected) - set(listed))}; "
        f"not in pyproject: {sorted(set(listed) - set(expected))}"
    )
