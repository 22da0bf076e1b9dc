"""The per-configuration loop of a local job: serve, pre-flight, load, find the plateau, reap.

``run_config`` tests one (instance type x env combination); ``run_endpoint`` benchmarks a server
irkit did not start. Both return a ``ConfigOutcome``. The server and the load generator are
injected (``server_factory``, ``load_fn``), so the loop is tested with fakes as well as for real.
The load test and the plateau are ``irkit.load.drive.drive_load`` (the endpoint benchmark's too).
"""

from __future__ import annotations

import logging
import os
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from irkit.errors import BackendError, ProcessDiedError, exit_description
from irkit.load.drive import ConfigOutcome, LoadSettings, StepCallback, drive_load

log = logging.getLogger(__name__)

PREFLIGHT_TIMEOUT_S = 60.0
SERVER_POLL_S = 0.5  # how often the server's process is checked during a load test


def send_preflight(url: str, body: bytes, content_type: str, timeout: float = PREFLIGHT_TIMEOUT_S,
                   headers: Mapping[str, str] | None = None) -> float:
    """POST the sample payload once; return its latency in ms or raise BackendError with the answer."""
    request = urllib.request.Request(
        url.rstrip("/") + "/invocations", data=body, method="POST",
        headers={"Content-Type": content_type, "Accept": "application/json", **(headers or {})},
    )
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            response.read()
    except urllib.error.HTTPError as exc:
        detail = exc.read()[:300].decode("utf-8", "replace")
        raise BackendError(f"pre-flight request to {url}/invocations got HTTP {exc.code}: {detail}") from exc
    except (urllib.error.URLError, OSError) as exc:
        raise BackendError(f"pre-flight request to {url}/invocations failed: {exc}") from exc
    return (time.perf_counter() - started) * 1000


def _unload_preflight_model(url: str, settings: LoadSettings) -> None:
    """Multi-model: unload the model the pre-flight loaded, so every model starts the test cold."""
    tm = settings.target_models
    if tm is None or not tm.models or tm.containers:
        return
    name = urllib.parse.quote(tm.models[0])
    request = urllib.request.Request(f"{url.rstrip('/')}/models/{name}", method="DELETE")
    try:
        with urllib.request.urlopen(request, timeout=PREFLIGHT_TIMEOUT_S) as response:
            response.read()
    except (urllib.error.URLError, OSError) as exc:  # a server without the unload API: start warm, say so
        log.warning("could not unload %s after the pre-flight (%s): it starts the test loaded", tm.models[0], exc)


def _preflight_headers(settings: LoadSettings) -> dict[str, str]:
    """Multi-model: the pre-flight goes to the first listed model/container (so that one starts warm)."""
    tm = settings.target_models
    if tm is None:
        return {}
    from irkit.load.model_tally import target_headers

    return target_headers(tm.models[0] if tm.models else None, tm.containers[0] if tm.containers else None)


def check_target_folder(target_models: Any, model_path: str | os.PathLike[str]) -> Path:
    """The folder a local multi-model job serves: every listed model (or container) has its tarball.

    Raises SpecError naming ``model`` or ``target_models.<key>[i]``.
    """
    from irkit.errors import SpecError

    folder = Path(model_path)
    if not folder.is_dir():
        raise SpecError("model", f"with target_models the model must be a folder of *.tar.gz (one per model), "
                                 f"got {str(folder)!r}")
    if target_models.containers and target_models.models:
        raise SpecError("target_models.containers", "the local backend serves models or containers, not both "
                                                    "(benchmark such an endpoint with --endpoint-url)")
    key, names = (("models", target_models.models) if target_models.models
                  else ("containers", [f"{host}.tar.gz" for host in target_models.containers]))
    for i, name in enumerate(names):
        if not (folder / name).is_file():
            raise SpecError(f"target_models.{key}[{i}]", f"{name!r} is not in the model folder {str(folder)!r}")
    return folder


def _server_kwargs(model_path: str | Path, settings: LoadSettings) -> tuple[str | Path | None, dict[str, Any]]:
    """How ServerProcess serves a multi-model job: a folder of tarballs, or one server per container."""
    tm = settings.target_models
    if tm is None:
        return model_path, {}
    folder = check_target_folder(tm, model_path)
    if tm.containers:
        return None, {"containers": {host: folder / f"{host}.tar.gz" for host in tm.containers}}
    return folder, {"multi_model": True}


def _reset_usage(server: Any) -> None:
    """Start the server's CPU average here, so the first step's figure excludes the model load."""
    try:
        server.usage()
    except Exception:  # noqa: BLE001 - a usage failure never fails the test
        pass


def _default_server_factory() -> Callable[..., Any]:
    from irkit.serve.process import ServerProcess

    return ServerProcess


def _default_load_fn() -> Callable[..., Any]:
    from irkit.load.generator import run_load

    return run_load


def run_config(
    config: Any,
    model_path: str | Path,
    settings: LoadSettings,
    *,
    prices: Mapping[str, float] | None = None,
    stop_event: threading.Event | None = None,
    on_step: StepCallback | None = None,
    server_factory: Callable[..., Any] | None = None,
    load_fn: Callable[..., Any] | None = None,
) -> ConfigOutcome:
    """Test one configuration (``irkit.spec.Configuration``) end to end; the server is always stopped.

    Raises BackendError when the server does not start or the pre-flight request fails.
    """
    from irkit.instances import local_profile

    profile = local_profile(config.instance_type, prices)
    settings = generator_placement(settings, profile.cpus)
    outcome = ConfigOutcome(config.config_id, config.instance_type, dict(config.environment),
                            price_per_hour=profile.price_per_hour, price_is_estimate=profile.price_is_estimate)
    stop_event = stop_event or threading.Event()
    factory = server_factory or _default_server_factory()
    log_path = settings.log_path(f"server-{config.config_id}.log")
    served, serve_kwargs = _server_kwargs(model_path, settings)
    from irkit.serve.fidelity import ConfigFidelity

    fidelity = ConfigFidelity.for_config(  # IRKIT_RUNTIME other than TensorFlow: its reference answers first
        config.environment, served, settings.payload_path, settings.content_type, multi_model=bool(serve_kwargs),
        server_factory=factory, cpus=profile.cpus, log_path=settings.log_path(f"reference-{config.config_id}.log"))
    server = factory(served, port=0, env=dict(config.environment), cpus=profile.cpus, log_path=log_path,
                     **serve_kwargs)
    try:
        server.start()
        outcome.model_setup_time_s = server.setup_time_s
        if stop_event.is_set():
            return outcome
        send_preflight(server.url, Path(settings.payload_path).read_bytes(), settings.content_type,
                       headers=_preflight_headers(settings))
        if fidelity is not None:
            outcome.fidelity, warning = fidelity.record(server.url)
            outcome.warnings.extend([warning] if warning else [])
        _unload_preflight_model(server.url, settings)
        _reset_usage(server)
        with _ServerWatch(server, stop_event) as watch:
            drive_load(server.url, outcome, settings, stop_event, on_step, load_fn or _default_load_fn(),
                       server.usage)
        if watch.died:
            raise ProcessDiedError(watch.died)
    finally:
        server.stop()
    return outcome


def generator_placement(settings: LoadSettings, server_cpus: Any) -> LoadSettings:
    """The load generator goes on the cores the server does not use; when there are none it shares
    them, and the result says so (``irkit.configs[i].generator``)."""
    import dataclasses

    everything = tuple(sorted(os.sched_getaffinity(0)))
    free = tuple(c for c in everything if c not in set(server_cpus or ()))
    return dataclasses.replace(settings, generator_cores=free or everything, shares_server_cores=not free)


class _ServerWatch:
    """Polls the model server's process during the load test; if it dies (e.g. SIGKILL), says how and
    ends the test at once. A server object without ``process`` (a test double) is not watched."""

    def __init__(self, server: Any, stop_event: threading.Event, poll_s: float = SERVER_POLL_S) -> None:
        self.process: Any = getattr(server, "process", None)
        self.stop_event, self.poll_s = stop_event, poll_s
        self.died: str | None = None
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="irkit-server-watch", daemon=True)

    def __enter__(self) -> _ServerWatch:
        if self.process is not None and hasattr(self.process, "poll"):
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        if self._thread.is_alive():
            self._thread.join()
            self._check()  # it may have died just before the test ended on its own

    def _check(self) -> bool:
        code = self.process.poll()
        if code is not None and self.died is None:
            self.died = f"the model server (pid {self.process.pid}) {exit_description(code)} during the load test"
            self.stop_event.set()
        return code is not None

    def _watch(self) -> None:
        while not self._done.wait(self.poll_s):
            if self._check():
                return


def run_endpoint(
    url: str,
    settings: LoadSettings,
    *,
    endpoint_name: str | None = None,
    stop_event: threading.Event | None = None,
    on_step: StepCallback | None = None,
    load_fn: Callable[..., Any] | None = None,
) -> ConfigOutcome:
    """Benchmark a server irkit did not start (``--endpoint-url``): no setup time, no CPU figures."""
    from irkit.load.describe import ENDPOINT_CONFIG_ID, endpoint_name_for

    outcome = ConfigOutcome(ENDPOINT_CONFIG_ID, "endpoint", {}, url=url,
                            endpoint_name=endpoint_name or endpoint_name_for(url))
    stop_event = stop_event or threading.Event()
    send_preflight(url, Path(settings.payload_path).read_bytes(), settings.content_type,
                   headers=_preflight_headers(settings))
    drive_load(url, outcome, settings, stop_event, on_step, load_fn or _default_load_fn(), None)
    return outcome
