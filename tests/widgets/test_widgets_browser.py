"""The Voila app in a real browser: pick a local instance type, run a short knee search, see the result.

Playwright drives Debian's chromium. The job runs on the real local backend end to end: background
job process, ``irkit serve`` with a tiny ResNet-shaped SavedModel, Locust in a subprocess, the store
and the results. IRKIT_APP_TEST_MODEL / IRKIT_APP_TEST_PAYLOAD point it at another model (ResNet50).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is missing: apt-get install -y chromium"
    ),
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_http(url: str, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"irkit app exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f"{url} did not answer in {timeout} s")


@pytest.fixture
def app_url(tmp_path, request):
    if os.environ.get("IRKIT_APP_TEST_MODEL"):
        model = Path(os.environ["IRKIT_APP_TEST_MODEL"])
        payload = Path(os.environ["IRKIT_APP_TEST_PAYLOAD"])
    else:
        model = request.getfixturevalue("tiny_model_tarball")
        payload = request.getfixturevalue("resnet_payload_tarball")
    port = _free_port()
    env = dict(os.environ)
    log = open(tmp_path / "voila.log", "wb")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "irkit",
            "app",
            "--port",
            str(port),
            "--no-browser",
            "--model",
            str(model),
            "--payload",
            str(payload),
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        _wait_http(f"http://127.0.0.1:{port}/", proc)
        yield f"http://127.0.0.1:{port}/"
    finally:
        os.killpg(proc.pid, 15)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
            proc.wait()
        log.close()


def _field(page, label: str):
    return page.locator(f".widget-inline-hbox:has(label:text-is('{label}')) input")


def _fill(page, values) -> None:
    for label, value in values:
        field = _field(page, label)
        field.fill(value)
        field.press("Tab")


def test_app_runs_a_local_job_to_a_recommendation(app_url):
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.goto(app_url, timeout=120_000)
            page.get_by_text("Right-size your model").wait_for(timeout=120_000)
            assert page.locator("text=Traceback").count() == 0
            assert page.locator(".jp-InputArea").count() == 0  # sources stripped
            select = page.locator("select[multiple]").first
            labels = select.locator("option").all_inner_texts()
            select.select_option(
                label=next(lab for lab in labels if lab.split()[0] == "local.cpu1")
            )
            page.get_by_text("1 chosen").wait_for(timeout=10_000)
            page.get_by_text("Container settings to compare (optional)").click()
            page.get_by_role("button", name="Add variable").click()
            page.get_by_placeholder("values, comma separated: 1, 2").fill("1")
            knee_plan = page.locator(".irkit-knee-plan")  # the default: find the peak, explained
            knee_plan.wait_for(timeout=30_000)
            assert "doubles (1, 2, 4, 8, 16 users)" in knee_plan.inner_text()
            page.get_by_role("button", name="Stairs: add users step by step").click()
            _fill(page, (("Step length (s)", "3"), ("Steps", "2")))
            knee_plan.wait_for(state="detached", timeout=10_000)
            page.locator(".irkit-chart svg").first.wait_for(timeout=30_000)  # users over time
            page.get_by_role("button", name="Find the peak (knee search)").click()
            _field(page, "Steps").wait_for(state="hidden", timeout=10_000)  # the stairs fields go away
            _fill(page, (("Max users", "2"), ("Max seconds per level", "3")))  # levels 1 and 2, 3 s each
            page.get_by_text("doubles (1, 2 users)").wait_for(timeout=10_000)
            page.get_by_text("When to stop a test (optional)").click()
            page.get_by_role("button", name="Run").click()
            page.locator(".irkit-recommendation").wait_for(timeout=120_000)
            card = page.locator(".irkit-recommendation").inner_text()
            assert "local.cpu1" in card and "OMP_NUM_THREADS=1" in card
            assert "95% interval" in card  # the knee search's MaxInvocations interval
            page.locator(".irkit-chart svg").nth(1).wait_for(timeout=30_000)
            assert page.get_by_text("Completed").count() >= 1
            page.get_by_role("button", name="Make the report").click()
            page.get_by_text("-report.html").wait_for(timeout=60_000)
            run_button = page.get_by_role("button", name="Run")
            deadline = time.monotonic() + 30
            while not run_button.is_enabled() and time.monotonic() < deadline:
                time.sleep(0.2)
            assert run_button.is_enabled()  # the job is over: Run is offered again
            height = page.evaluate(
                "Math.max(...[...document.querySelectorAll('*')].map(e => e.scrollHeight))"
            )
            page.set_viewport_size({"width": 1200, "height": min(int(height) + 40, 6000)})
            page.evaluate(
                "window.scrollTo(0, 0); document.querySelectorAll('*').forEach(e => e.scrollTop = 0)"
            )
            page.screenshot(path=str(ARTIFACTS / "app.png"), full_page=True)
        finally:
            browser.close()
