"""The model cache of the local multi-model server: lazy loads, LRU eviction, cold-load timing.

Every ``*.tar.gz`` in the served folder is a model, named by its file name (SageMaker's
``TargetModel``). A model is extracted and loaded on its first request; that load is timed. When a
load would go past ``max_loaded`` models or ``memory_budget_mb`` (the sum of the loaded models'
sizes: each model's extracted SavedModel on disk, an estimate of its weights in memory), the least
recently used models are evicted first. An evicted model stays extracted on disk, as on SageMaker,
so its next load only reloads it.

Loads run one at a time (they are CPU bound, and the budget then holds at every moment). A request
that finds its model loaded is a *hit*; one that had to wait for a load is a *miss*, and the one
that ran the load also gets ``load_ms``. A model that fails to load is remembered as failed until
its file changes, and the other models keep serving.

The cache knows nothing of HTTP or TensorFlow: ``loader(savedmodel_dir)`` builds the served
object (anything with ``close()``), so tests can use a fake one.
"""

from __future__ import annotations

import gc
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from irkit.errors import BackendError, IrkitError

MODEL_SUFFIX = ".tar.gz"
CACHE_HIT = "hit"
CACHE_MISS = "miss"
BYTES_PER_MB = 1024 * 1024
# what serve.main hands to each uvicorn worker; IRKIT_MME_MAX_LOADED / IRKIT_MME_MEMORY_MB may also be
# set by the user (or a job's hyperparameter_ranges) in place of --max-loaded / --memory-mb
MME_DIR_ENV = "IRKIT_MME_DIR"
MAX_LOADED_ENV = "IRKIT_MME_MAX_LOADED"
MEMORY_MB_ENV = "IRKIT_MME_MEMORY_MB"
MME_WORK_DIR_ENV = "IRKIT_MME_WORK_DIR"

Loader = Callable[[Path], Any]


class ModelRoutingError(BackendError):
    """A request's target model cannot be served; ``status`` is the HTTP answer (404, 500, 507)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


def folder_size_mb(folder: Path) -> float:
    total = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    return round(total / BYTES_PER_MB, 3)


def default_preparer(tarball: Path, extract_to: Path) -> Path:
    """Extract ``tarball`` (safely) into ``extract_to`` and return its SavedModel folder."""
    from irkit.serve.modelhost import resolve_savedmodel

    return resolve_savedmodel(tarball, extract_to=extract_to)


@dataclass
class ModelEntry:
    """One model of the folder and its counters (what ``GET /models`` lists)."""

    name: str
    path: Path
    served: Any = None  # the loader's object while loaded
    savedmodel: Path | None = None  # extracted folder, kept after eviction
    size_mb: float | None = None
    loads: int = 0
    evictions: int = 0
    hits: int = 0
    misses: int = 0
    last_load_ms: float | None = None
    last_used: int = 0  # cache tick of the last request (LRU order)
    in_use: int = 0  # requests holding a lease
    retired: list[Any] = field(default_factory=list)  # evicted while in use: closed on last release
    failure: tuple[tuple[int, int], str, int] | None = None  # (file stamp, message, status)

    @property
    def loaded(self) -> bool:
        return self.served is not None

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "loaded": self.loaded, "loads": self.loads, "evictions": self.evictions,
                "hits": self.hits, "misses": self.misses, "last_load_ms": self.last_load_ms,
                "size_mb": self.size_mb}


@dataclass
class Lease:
    """A request's hold on a loaded model; ``release()`` (or leaving the ``with``) gives it back."""

    owner: ModelCache
    entry: ModelEntry
    served: Any
    cache: str  # "hit" | "miss"
    load_ms: float | None = None  # set when this request ran the load
    _released: bool = False

    def release(self) -> None:
        if not self._released:
            self._released = True
            self.owner._release(self)

    def __enter__(self) -> Lease:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _file_stamp(path: Path) -> tuple[int, int]:
    try:
        stat = path.stat()
    except OSError:
        return (-1, -1)
    return (stat.st_mtime_ns, stat.st_size)


class ModelCache:
    """The models of one folder, loaded on demand and evicted least recently used first."""

    def __init__(self, model_dir: str | Path, loader: Loader, *, max_loaded: int | None = None,
                 memory_budget_mb: float | None = None, work_dir: str | Path | None = None,
                 preparer: Callable[[Path, Path], Path] = default_preparer) -> None:
        self.model_dir = Path(model_dir).expanduser()
        if not self.model_dir.is_dir():
            raise BackendError(f"--multi-model {str(self.model_dir)!r} is not a folder")
        if max_loaded is not None and max_loaded < 1:
            raise BackendError(f"--max-loaded {max_loaded} must be at least 1")
        if memory_budget_mb is not None and memory_budget_mb <= 0:
            raise BackendError(f"--memory-mb {memory_budget_mb} must be more than 0")
        self.loader = loader
        self.preparer = preparer
        self.collect_garbage = True  # gc.collect() after evictions (outside the timed load)
        self.max_loaded = max_loaded
        self.memory_budget_mb = memory_budget_mb
        self._own_work_dir = work_dir is None
        self.work_dir = Path(work_dir) if work_dir else Path(tempfile.mkdtemp(prefix="irkit-mme-"))
        self._entries: dict[str, ModelEntry] = {}
        self._lock = threading.Lock()  # entries and counters
        self._load_lock = threading.Lock()  # one load at a time
        self._tick = 0
        self.scan()

    # -- discovery ------------------------------------------------------------------------------
    def scan(self) -> list[str]:
        """Add the folder's new ``*.tar.gz`` files; returns every known name, sorted."""
        found = sorted(p for p in self.model_dir.iterdir() if p.name.endswith(MODEL_SUFFIX) and p.is_file())
        with self._lock:
            for path in found:
                self._entries.setdefault(path.name, ModelEntry(path.name, path))
            return sorted(self._entries)

    def _entry(self, name: str) -> ModelEntry:
        with self._lock:
            entry = self._entries.get(name)
        if entry is not None:
            return entry
        bad_name = not name or "/" in name or "\\" in name or name.startswith(".") or not name.endswith(MODEL_SUFFIX)
        if bad_name or not (self.model_dir / name).is_file():
            raise ModelRoutingError(
                f"model {name!r} not found: the target model must be a {MODEL_SUFFIX} file name in "
                f"{str(self.model_dir)!r} (have {self.scan()})", 404)
        self.scan()
        with self._lock:
            return self._entries[name]

    # -- leases ---------------------------------------------------------------------------------
    def _lease(self, entry: ModelEntry, cache: str, load_ms: float | None = None) -> Lease:
        # caller holds self._lock and entry.served is set
        self._tick += 1
        entry.last_used = self._tick
        entry.in_use += 1
        if cache == CACHE_HIT:
            entry.hits += 1
        else:
            entry.misses += 1
        return Lease(self, entry, entry.served, cache, load_ms)

    def lease_if_loaded(self, name: str) -> Lease | None:
        """A hit lease without blocking, or None when the model must be loaded (or is unknown)."""
        with self._lock:
            entry = self._entries.get(name)
            if entry is None or entry.served is None:
                return None
            return self._lease(entry, CACHE_HIT)

    def acquire(self, name: str) -> Lease:
        """Lease ``name``, loading it first if needed (blocks). ModelRoutingError: 404, 500 or 507."""
        lease = self.lease_if_loaded(name)
        if lease is not None:
            return lease
        entry = self._entry(name)
        with self._load_lock:
            with self._lock:
                if entry.served is not None:  # loaded while this request waited
                    return self._lease(entry, CACHE_MISS)
                stamp = _file_stamp(entry.path)
                if entry.failure is not None and entry.failure[0] == stamp:
                    entry.misses += 1
                    raise ModelRoutingError(entry.failure[1], entry.failure[2])
            try:
                served, load_ms = self._load(entry)
            except ModelRoutingError as exc:
                with self._lock:
                    entry.misses += 1
                    if exc.status != 507:
                        entry.failure = (stamp, str(exc), exc.status)
                raise
            with self._lock:
                entry.failure = None
                entry.served = served
                entry.loads += 1
                entry.last_load_ms = load_ms
                return self._lease(entry, CACHE_MISS, load_ms)

    def _load(self, entry: ModelEntry) -> tuple[Any, float]:
        """Extract (first time), make room, load; the load time covers extraction and loading only."""
        started = time.perf_counter()
        try:
            if entry.savedmodel is None or not entry.savedmodel.exists():
                target = self.work_dir / entry.name[: -len(MODEL_SUFFIX)]
                shutil.rmtree(target, ignore_errors=True)
                entry.savedmodel = self.preparer(entry.path, target)
                entry.size_mb = folder_size_mb(target)
        except (IrkitError, OSError, EOFError, ValueError) as exc:
            entry.savedmodel = None
            raise ModelRoutingError(f"model {entry.name!r} cannot be loaded: {exc}", 500) from exc
        extract_s = time.perf_counter() - started
        self._make_room(entry)
        started = time.perf_counter()
        try:
            served = self.loader(entry.savedmodel)
        except Exception as exc:  # noqa: BLE001 - any loader failure is this model's failure, not the server's
            raise ModelRoutingError(f"model {entry.name!r} cannot be loaded: {type(exc).__name__}: {exc}",
                                    500) from exc
        return served, round((extract_s + time.perf_counter() - started) * 1000.0, 3)

    def _make_room(self, entry: ModelEntry) -> None:
        """Evict LRU models (idle ones first) until ``entry`` fits the count and memory limits."""
        size = entry.size_mb or 0.0
        if self.memory_budget_mb is not None and size > self.memory_budget_mb:
            raise ModelRoutingError(f"model {entry.name!r} needs {size} MB, over the whole memory budget "
                                    f"(--memory-mb {self.memory_budget_mb})", 507)
        evicted = False
        with self._lock:
            while True:
                loaded = [e for e in self._entries.values() if e.served is not None and e is not entry]
                used = sum(e.size_mb or 0.0 for e in loaded)
                too_many = self.max_loaded is not None and len(loaded) + 1 > self.max_loaded
                too_big = self.memory_budget_mb is not None and used + size > self.memory_budget_mb
                if not loaded or not (too_many or too_big):
                    break
                victim = min(loaded, key=lambda e: (e.in_use > 0, e.last_used))
                self._evict(victim)
                evicted = True
        if evicted and self.collect_garbage:
            gc.collect()  # a SavedModel holds reference cycles; free its memory before the next load

    def unload(self, name: str) -> bool:
        """Unload ``name`` now (the MME container contract's ``DELETE /models/<name>``), not counted as an
        eviction; False when it was not loaded. ModelRoutingError 404 for an unknown model."""
        entry = self._entry(name)
        with self._lock:
            if entry.served is None:
                return False
            self._evict(entry, counted=False)
        if self.collect_garbage:
            gc.collect()
        return True

    def _evict(self, entry: ModelEntry, counted: bool = True) -> None:
        # caller holds self._lock
        served, entry.served = entry.served, None
        entry.evictions += int(counted)
        if entry.in_use:
            entry.retired.append(served)
        else:
            _close(served)

    def _release(self, lease: Lease) -> None:
        retired: list[Any] = []
        with self._lock:
            entry = lease.entry
            entry.in_use -= 1
            if entry.in_use == 0 and entry.retired:
                retired, entry.retired = entry.retired, []
        for served in retired:
            _close(served)

    # -- reporting / shutdown -------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        """``GET /models``: every model with its counters, and the limits."""
        self.scan()
        with self._lock:
            models = [self._entries[name].as_dict() for name in sorted(self._entries)]
        return {"models": models, "max_loaded": self.max_loaded, "memory_budget_mb": self.memory_budget_mb}

    def loaded_names(self) -> list[str]:
        with self._lock:
            return sorted(name for name, e in self._entries.items() if e.served is not None)

    def close(self) -> None:
        with self._lock:
            entries = list(self._entries.values())
            for entry in entries:
                if entry.served is not None:
                    _close(entry.served)
                    entry.served = None
                for served in entry.retired:
                    _close(served)
                entry.retired = []
        if self._own_work_dir:
            shutil.rmtree(self.work_dir, ignore_errors=True)


def _close(served: Any) -> None:
    close = getattr(served, "close", None)
    if callable(close):
        try:
            close()
        except Exception:  # noqa: BLE001 - closing an evicted model must not fail a request
            pass


def cache_settings_from_env(env: dict[str, str] | None = None) -> dict[str, Any]:
    """``max_loaded`` / ``memory_budget_mb`` from the env serve.main hands to each worker."""
    env = dict(os.environ) if env is None else env
    out: dict[str, Any] = {"max_loaded": None, "memory_budget_mb": None}
    if env.get(MAX_LOADED_ENV, "").strip():
        out["max_loaded"] = int(env[MAX_LOADED_ENV])
    if env.get(MEMORY_MB_ENV, "").strip():
        out["memory_budget_mb"] = float(env[MEMORY_MB_ENV])
    return out
