"""Keep AWS credentials out of everything a headless run writes.

A :class:`Scrubber` replaces, in text and in nested values:

- AWS access key ids (``AKIA...``, ``ASIA...`` and the other IAM id prefixes, 20 characters);
- STS session tokens by their well-known prefixes (``IQoJb3JpZ2luX2Vj...``, ``FwoGZXIvYXdz...``);
- any value written next to a credential name (``aws_secret_access_key = ...``,
  ``"SecretAccessKey": "..."``, ``AWS_SESSION_TOKEN=...``);
- the literal values of secret ``AWS_*`` environment variables (``AWS_SECRET_ACCESS_KEY``,
  ``AWS_SESSION_TOKEN``, ``AWS_SECURITY_TOKEN``, ``AWS_ACCESS_KEY_ID``, and any ``AWS_*`` name with
  SECRET, TOKEN, PASSWORD or CREDENTIAL in it), at least ``MIN_SECRET_LENGTH`` characters long;
- the values of parameters whose *name* looks secret (``secret``, ``token``, ``password``,
  ``access_key``, ``credential``, ``api_key``), wherever those values show up.

Every match becomes ``REDACTED``. The scrubber is pure: it never reads files or the network.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from typing import Any

REDACTED = "***REDACTED***"
MIN_SECRET_LENGTH = 8

# IAM unique-id prefixes: access keys (AKIA long-term, ASIA temporary) and the other id kinds
ACCESS_KEY_ID_RE = re.compile(r"(?<![A-Z0-9])(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AIPA|ANPA|ANVA|AROA|APKA)[A-Z0-9]{16}(?![A-Z0-9])")
SESSION_TOKEN_RE = re.compile(r"(?:IQoJb3JpZ2luX2Vj|FwoGZXIvYXdz|FQoGZXIvYXdz)[A-Za-z0-9/+=]{20,}")
# a credential name, then up to a few quote/escape/space/:/= characters, then the value
_CREDENTIAL_NAMES = (
    r"aws_secret_access_key|secret_access_key|secretaccesskey|aws_session_token|session_token|"
    r"sessiontoken|aws_security_token|security_token"
)
NAMED_SECRET_RE = re.compile(
    rf"(?i)((?:{_CREDENTIAL_NAMES})[\\\"'\s]*[:=][\\\"'\s]*)([A-Za-z0-9/+=]{{{MIN_SECRET_LENGTH},}})"
)
SECRET_ENV_RE = re.compile(r"^AWS_(?:.*(?:SECRET|TOKEN|PASSWORD|CREDENTIAL).*|ACCESS_KEY_ID)$")
SECRET_NAME_RE = re.compile(r"(?i)secret|token|passw|credential|access_key|api_key|apikey")


def is_secret_name(name: str) -> bool:
    """True for a parameter or key name that holds a credential (``aws_secret_access_key``...)."""
    return bool(SECRET_NAME_RE.search(name))


def secret_env_values(environ: Mapping[str, str] | None = None) -> list[str]:
    """The values of secret ``AWS_*`` variables in ``environ`` (default: this process's)."""
    env = os.environ if environ is None else environ
    return [v for k, v in env.items() if SECRET_ENV_RE.match(k) and len(v) >= MIN_SECRET_LENGTH]


def secret_values(values: Any) -> list[str]:
    """Strings held under secret-looking names anywhere in a nested mapping/list."""
    found: list[str] = []

    def walk(value: Any, secret: bool) -> None:
        if isinstance(value, Mapping):
            for key, item in value.items():
                walk(item, secret or is_secret_name(str(key)))
        elif isinstance(value, (list, tuple)):
            for item in value:
                walk(item, secret)
        elif secret and isinstance(value, str) and len(value) >= 4:
            found.append(value)

    walk(values, False)
    return found


class Scrubber:
    """Replaces credentials in strings and nested values. ``literals`` are extra exact secrets."""

    def __init__(self, literals: Iterable[str] = ()) -> None:
        # longest first, so a secret that contains another is replaced whole
        self.literals = sorted({s for s in literals if s}, key=len, reverse=True)

    @classmethod
    def for_run(cls, parameters: Any = None, environ: Mapping[str, str] | None = None) -> Scrubber:
        """A scrubber for a run: the environment's AWS secrets plus secret-named parameter values."""
        return cls([*secret_env_values(environ), *secret_values(parameters or {})])

    def text(self, text: str) -> str:
        for literal in self.literals:
            if literal in text:
                text = text.replace(literal, REDACTED)
        text = ACCESS_KEY_ID_RE.sub(REDACTED, text)
        text = SESSION_TOKEN_RE.sub(REDACTED, text)
        return NAMED_SECRET_RE.sub(lambda m: m.group(1) + REDACTED, text)

    def value(self, value: Any, *, _secret: bool = False) -> Any:
        """A copy of ``value`` with secrets replaced; values under secret-looking keys become REDACTED."""
        if isinstance(value, Mapping):
            return {k: self.value(v, _secret=_secret or is_secret_name(str(k))) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.value(v, _secret=_secret) for v in value]
        if isinstance(value, str):
            return REDACTED if _secret and value else self.text(value)
        return value

    def contains_secret(self, text: str) -> bool:
        return self.text(text) != text
