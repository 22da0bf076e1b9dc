"""The MME model cache on its own: lazy loads, LRU eviction, budgets, failures, leases (no TensorFlow)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from irkit.serve.model_cache import CACHE_HIT, CACHE_MISS, ModelCache, ModelRoutingError

pytestmark = pytest.mark.fast  # pure: no server, Locust or kernel

MB = 1024 * 1024


class FakeModel:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.closed = False

    def close(self) -> None:
        self.closed = True


def make_folder(tmp_path: Path, sizes_mb: dict[str, float]) -> Path:
    folder = tmp_path / "models"
    folder.mkdir()
    for name, size in sizes_mb.items():
        (folder / name).write_bytes(b"x" * int(size * MB))  # the fake preparer copies this size
    return folder


def fake_preparer(tarball: Path, target: Path) -> Path:
    """'Extract' a tarball: a folder holding a file as big as the tarball (so size_mb is known)."""
    data = tarball.read_bytes()
    if data.startswith(b"BROKEN"):
        raise OSError(f"{tarball.name} is not a tarball")
    target.mkdir(parents=True)
    (target / "variables.data").write_bytes(data)
    return target


def model_cache(folder: Path, **kw) -> tuple[ModelCache, list[str]]:
    loads: list[str] = []

    def loader(savedmodel: Path) -> FakeModel:
        loads.append(savedmodel.name)
        return FakeModel(savedmodel)

    cache = ModelCache(folder, loader, preparer=fake_preparer, work_dir=folder.parent / "work", **kw)
    return cache, loads


def use(cache: ModelCache, name: str):
    lease = cache.acquire(name)
    lease.release()
    return lease


def test_first_request_loads_and_times_then_hits(tmp_path):
    cache, loads = model_cache(make_folder(tmp_path, {"a.tar.gz": 0.01, "b.tar.gz": 0.01}))
    first, second = use(cache, "a.tar.gz"), use(cache, "a.tar.gz")
    assert (first.cache, second.cache) == (CACHE_MISS, CACHE_HIT)
    assert first.load_ms is not None and first.load_ms >= 0 and second.load_ms is None
    assert loads == ["a"]
    snap = {m["name"]: m for m in cache.snapshot()["models"]}
    assert snap["a.tar.gz"] == {"name": "a.tar.gz", "loaded": True, "loads": 1, "evictions": 0, "hits": 1,
                                "misses": 1, "last_load_ms": first.load_ms, "size_mb": 0.01}
    assert snap["b.tar.gz"]["loaded"] is False and snap["b.tar.gz"]["size_mb"] is None


def test_lru_eviction_order_with_max_loaded_2(tmp_path):
    names = {f"{n}.tar.gz": 0.01 for n in "abcd"}
    cache, loads = model_cache(make_folder(tmp_path, names), max_loaded=2)
    for name in ["a", "b", "a", "c"]:  # b is least recently used when c comes
        use(cache, f"{name}.tar.gz")
    assert cache.loaded_names() == ["a.tar.gz", "c.tar.gz"]
    use(cache, "d.tar.gz")  # now a is the LRU one
    assert cache.loaded_names() == ["c.tar.gz", "d.tar.gz"]
    again = use(cache, "b.tar.gz")  # evicted before: a cold load again
    assert again.cache == CACHE_MISS and again.load_ms is not None
    assert loads == ["a", "b", "c", "d", "b"]
    snap = {m["name"]: m for m in cache.snapshot()["models"]}
    assert [snap[f"{n}.tar.gz"]["evictions"] for n in "abcd"] == [1, 1, 1, 0]
    assert snap["b.tar.gz"]["loads"] == 2


def test_memory_budget_evicts_until_the_new_model_fits(tmp_path):
    cache, _ = model_cache(make_folder(tmp_path, {"big.tar.gz": 0.6, "s1.tar.gz": 0.3, "s2.tar.gz": 0.3}),
                      memory_budget_mb=1.0)
    use(cache, "s1.tar.gz")
    use(cache, "s2.tar.gz")
    assert cache.loaded_names() == ["s1.tar.gz", "s2.tar.gz"]  # 0.6 MB of 1.0
    use(cache, "big.tar.gz")  # 0.6 + 0.6 > 1.0: s1 (LRU) goes, 0.3 + 0.6 fits
    assert cache.loaded_names() == ["big.tar.gz", "s2.tar.gz"]


def test_model_bigger_than_the_whole_budget_is_507_and_others_keep_serving(tmp_path):
    cache, _ = model_cache(make_folder(tmp_path, {"huge.tar.gz": 0.5, "ok.tar.gz": 0.1}), memory_budget_mb=0.3)
    use(cache, "ok.tar.gz")
    with pytest.raises(ModelRoutingError, match="huge.tar.gz") as caught:
        cache.acquire("huge.tar.gz")
    assert caught.value.status == 507
    assert cache.loaded_names() == ["ok.tar.gz"]  # nothing was evicted for a model that cannot fit
    assert use(cache, "ok.tar.gz").cache == CACHE_HIT


@pytest.mark.parametrize("name", ["nope.tar.gz", "../models/a.tar.gz", "a.tar", "", ".hidden.tar.gz",
                                  "sub/a.tar.gz"])
def test_unknown_or_outside_names_are_404_naming_them(tmp_path, name):
    cache, loads = model_cache(make_folder(tmp_path, {"a.tar.gz": 0.01}))
    with pytest.raises(ModelRoutingError) as caught:
        cache.acquire(name)
    assert caught.value.status == 404 and repr(name) in str(caught.value)
    assert loads == []


def test_a_file_added_later_is_found(tmp_path):
    folder = make_folder(tmp_path, {"a.tar.gz": 0.01})
    cache, _ = model_cache(folder)
    (folder / "late.tar.gz").write_bytes(b"x" * 100)
    assert use(cache, "late.tar.gz").cache == CACHE_MISS
    assert "late.tar.gz" in {m["name"] for m in cache.snapshot()["models"]}


def test_broken_model_fails_clearly_is_remembered_and_retried_after_a_fix(tmp_path):
    folder = make_folder(tmp_path, {"ok.tar.gz": 0.01})
    (folder / "bad.tar.gz").write_bytes(b"BROKEN")
    cache, loads = model_cache(folder)
    for _ in range(2):
        with pytest.raises(ModelRoutingError, match="'bad.tar.gz' cannot be loaded") as caught:
            cache.acquire("bad.tar.gz")
        assert caught.value.status == 500
    assert use(cache, "ok.tar.gz").cache == CACHE_MISS
    assert {m["name"]: m["misses"] for m in cache.snapshot()["models"]}["bad.tar.gz"] == 2
    (folder / "bad.tar.gz").write_bytes(b"fixed now, and a different size")
    assert use(cache, "bad.tar.gz").cache == CACHE_MISS
    assert loads == ["ok", "bad"]


def test_loader_exception_is_the_models_error(tmp_path):
    folder = make_folder(tmp_path, {"a.tar.gz": 0.01})

    def loader(path: Path):
        raise RuntimeError("graph is corrupt")

    cache = ModelCache(folder, loader, preparer=fake_preparer, work_dir=tmp_path / "w")
    with pytest.raises(ModelRoutingError, match=r"'a.tar.gz'.*RuntimeError: graph is corrupt"):
        cache.acquire("a.tar.gz")


def test_concurrent_first_requests_load_once_and_only_the_loader_gets_load_ms(tmp_path):
    folder = make_folder(tmp_path, {"a.tar.gz": 0.01})
    started = threading.Event()
    loads = []

    def slow_loader(path: Path) -> FakeModel:
        loads.append(path.name)
        started.set()
        time.sleep(0.2)
        return FakeModel(path)

    cache = ModelCache(folder, slow_loader, preparer=fake_preparer, work_dir=tmp_path / "w")
    leases = []

    def request() -> None:
        lease = cache.acquire("a.tar.gz")
        leases.append(lease)
        lease.release()

    threads = [threading.Thread(target=request) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert loads == ["a"]
    assert [lease.cache for lease in leases] == [CACHE_MISS] * 4
    assert sum(lease.load_ms is not None for lease in leases) == 1


def test_a_model_evicted_while_in_use_is_closed_only_after_its_last_release(tmp_path):
    cache, _ = model_cache(make_folder(tmp_path, {"a.tar.gz": 0.01, "b.tar.gz": 0.01}), max_loaded=1)
    held = cache.acquire("a.tar.gz")
    use(cache, "b.tar.gz")  # a is evicted although a request still holds it
    assert cache.loaded_names() == ["b.tar.gz"]
    assert held.served.closed is False
    held.release()
    assert held.served.closed is True
    held.release()  # idempotent


def test_bad_limits_and_folder_are_refused(tmp_path):
    with pytest.raises(Exception, match="max-loaded"):
        model_cache(make_folder(tmp_path, {}), max_loaded=0)
    with pytest.raises(Exception, match="not a folder"):
        ModelCache(tmp_path / "missing", FakeModel)


def test_a_lease_granted_after_the_request_was_cancelled_is_released(tmp_path):
    import asyncio

    from irkit.serve.mme_server import acquire_in_thread

    folder = make_folder(tmp_path, {"a.tar.gz": 0.01})

    def slow_loader(path: Path) -> FakeModel:
        time.sleep(0.3)
        return FakeModel(path)

    cache = ModelCache(folder, slow_loader, preparer=fake_preparer, work_dir=tmp_path / "w")

    async def client_goes_away() -> None:
        task = asyncio.ensure_future(acquire_in_thread(cache, "a.tar.gz"))
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await asyncio.sleep(0.6)  # the load finishes in its thread

    asyncio.run(client_goes_away())
    entry = cache._entries["a.tar.gz"]
    assert entry.loaded and entry.loads == 1 and entry.in_use == 0


def test_unload_frees_the_model_without_counting_an_eviction(tmp_path):
    cache, loads = model_cache(make_folder(tmp_path, {"a.tar.gz": 0.01}))
    use(cache, "a.tar.gz")
    assert cache.unload("a.tar.gz") is True and cache.loaded_names() == []
    assert cache.unload("a.tar.gz") is False  # already unloaded
    again = use(cache, "a.tar.gz")
    assert again.cache == CACHE_MISS and again.load_ms is not None and loads == ["a", "a"]
    snap = {m["name"]: m for m in cache.snapshot()["models"]}["a.tar.gz"]
    assert snap["evictions"] == 0 and snap["loads"] == 2
    with pytest.raises(ModelRoutingError, match="nope.tar.gz") as info:
        cache.unload("nope.tar.gz")
    assert info.value.status == 404
