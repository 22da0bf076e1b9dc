"""Panel tests without a browser: set .value, .click(), assert the spec and the calls on a fake backend."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from widget_fakes import FakeBackend, fake_result

from irkit.errors import SpecError
from irkit.spec import JobSpec
from irkit.widgets import (
    HyperparameterPanel,
    InstancePicker,
    JobPanel,
    ResultsExplorer,
    RightSizeApp,
    StoppingPanel,
    TargetModelsEditor,
    TrafficPanel,
)
from irkit.widgets.instance_picker import MAX_INSTANCE_TYPES


def test_instance_picker_filters_by_family_and_keeps_hidden_choices():
    picker = InstancePicker("sagemaker")
    labels = [label for label, _ in picker.select.options]
    assert any("vCPU" in lab and "GiB" in lab and "$" in lab for lab in labels)
    picker.family = "c5"
    assert {v for _, v in picker.select.options} and all(
        v.startswith("ml.c5.") for _, v in picker.select.options
    )
    picker.select.value = ("ml.c5.xlarge",)
    picker.family_dropdown.value = "m5"
    picker.select.value = ("ml.m5.large",)
    assert picker.selected == ("ml.c5.xlarge", "ml.m5.large")
    picker.close()


def test_instance_picker_caps_at_ten():
    picker = InstancePicker("sagemaker")
    picker.select.value = tuple(v for _, v in picker.select.options[: MAX_INSTANCE_TYPES + 3])
    assert len(picker.selected) == MAX_INSTANCE_TYPES
    assert "At most 10" in picker.message_html.value


def test_instance_picker_local_types_and_backend_switch():
    picker = InstancePicker("sagemaker", selected=["ml.c5.xlarge"])
    picker.backend = "local"
    assert picker.selected == ()  # an ml.* choice means nothing locally
    names = [v for _, v in picker.select.options]
    assert names and all(n.startswith("local.cpu") for n in names)
    assert "estimate" in picker.select.options[0][0]


def test_hyperparameter_panel_add_remove_and_validation():
    panel = HyperparameterPanel()
    assert panel.env_ranges == {} and panel.errors == []
    row = panel.add_row()
    assert row.name.value == "OMP_NUM_THREADS"  # the first suggestion
    row.values.value = "1, 2"
    assert panel.env_ranges == {"OMP_NUM_THREADS": ["1", "2"]}
    row.values.value = "1,2,3,4"
    assert panel.errors and "at most 3" in panel.errors[0]
    assert "at most 3" in panel.message_html.value
    row.values.value = "1"
    bad = panel.add_row("9BAD", "1")
    assert any("not a valid variable name" in e for e in panel.errors)
    bad.remove.click()
    assert panel.errors == [] and len(panel.rows) == 1
    for i in range(5):
        panel.add_row(f"VAR_{i}", "a")
    assert any("at most 5" in e for e in panel.errors)


def test_traffic_panel_phases_and_stairs_build_spec_fields():
    panel = TrafficPanel(preview=False)
    panel.type_toggle.value = "STAIRS"
    assert panel.spec_fields()["traffic_type"] == "STAIRS"
    panel.step_users.value = 2
    assert panel.spec_fields()["stairs"]["users_per_step"] == 2
    panel.type_toggle.value = "PHASES"
    panel.add_button.click()
    panel.phase_rows[1].spawn_rate.value = 7
    fields = panel.spec_fields()
    assert fields["phases"][1]["spawn_rate"] == 7 and len(fields["phases"]) == 2
    spec = JobSpec.from_dict({"supported_instance_types": ["local.cpu1"], **fields})
    assert spec.traffic().traffic_type == "PHASES" and len(spec.traffic().phases) == 2
    for row in panel.phase_rows:
        row.remove.click()
    assert panel.errors == ["Add at least one phase."]
    assert "at least one phase" in panel.message_html.value


def test_traffic_panel_knee_search_is_the_local_default_with_the_demo_settings():
    import yaml

    panel = TrafficPanel(preview=False)
    labels = [label for label, _ in panel.type_toggle.options]
    assert labels[0] == "Find the peak (knee search)" and panel.traffic_type == "KNEE_SEARCH"
    demo = yaml.safe_load((Path(__file__).resolve().parents[2] / "examples" / "demo-local.yaml").read_text())
    assert panel.spec_fields() == {"knee_search": demo["knee_search"]}
    assert panel.knee_box.layout.display is None and panel.stairs_box.layout.display == "none"
    assert panel.phases_box.layout.display == "none"
    panel.knee_users.value, panel.knee_window.value, panel.knee_level_cap.value = 16, 2, 12
    spec = JobSpec.from_dict({"supported_instance_types": ["local.cpu1"], **panel.spec_fields()})
    assert spec.traffic() is None and spec.phases == () and spec.stairs is None
    assert (spec.knee_search.max_users, spec.knee_search.window_seconds, spec.knee_search.max_level_seconds) == (
        16, 2, 12)
    with pytest.raises(SpecError, match="knee_search"):
        spec.validate(target="sagemaker")
    text = panel.preview_html.value  # no users-over-time chart: what the search will do, in words
    assert "<svg" not in text and "1, 2, 4, 8, 16 users" in text and "windows of 2 s" in text
    assert "at most 12 s" in text and "95% interval" in text
    panel.knee_window.value = 5  # 3 windows of 5 s do not fit in 12 s per level
    assert panel.errors and "max_level_seconds" in panel.errors[0] and panel.preview_html.value == ""
    panel.knee_window.value = 2
    panel.type_toggle.value = "PHASES"  # another choice clears knee_search
    assert "knee_search" not in panel.spec_fields() and panel.knee_box.layout.display == "none"


def test_traffic_panel_falls_back_to_stairs_where_the_backend_refuses_a_knee_search():
    cloud = TrafficPanel(backend="sagemaker", preview=False)
    assert [v for _, v in cloud.type_toggle.options] == ["STAIRS", "PHASES"]
    assert cloud.traffic_type == "STAIRS" and "this machine only" in cloud.note_html.value
    cloud.traffic_type = "KNEE_SEARCH"  # even set from code
    assert cloud.spec_fields()["traffic_type"] == "STAIRS"
    panel = TrafficPanel(preview=False)
    panel.backend = "sagemaker"  # the app's "Run on" selector
    assert panel.traffic_type == panel.type_toggle.value == "STAIRS"
    assert "KNEE_SEARCH" not in [v for _, v in panel.type_toggle.options]
    panel.step_duration.value = 120  # SageMaker's shortest step
    JobSpec.from_dict({"supported_instance_types": ["ml.c5.xlarge"], **panel.spec_fields()}).validate(
        target="sagemaker")
    panel.backend = "local"  # the knee search comes back, as it was chosen
    assert panel.traffic_type == "KNEE_SEARCH" and panel.note_html.value == ""
    panel.type_toggle.value = "PHASES"
    panel.backend, panel.backend = "sagemaker", "local"  # a choice SageMaker runs stays
    assert panel.traffic_type == "PHASES"


def test_traffic_preview_draws_users_over_time():
    panel = TrafficPanel()
    panel.type_toggle.value = "STAIRS"
    assert "<svg" in panel.preview_html.value
    before = panel.preview_html.value
    panel.step_count.value = 7
    assert panel.preview_html.value != before


def test_stopping_panel_fields():
    panel = StoppingPanel()
    panel.threshold_box.value = 250
    panel.percentile_box.value = "P99"
    panel.max_box.value = 0
    fields = panel.spec_fields()
    assert fields["model_latency_thresholds"] == [
        {"percentile": "P99", "value_in_milliseconds": 250}
    ]
    assert "max_invocations" not in fields
    panel.threshold_box.value = 0
    assert "model_latency_thresholds" not in panel.spec_fields()


def _spec():
    return JobSpec.from_dict(
        {
            "supported_instance_types": ["local.cpu1"],
            "stairs": {"duration_in_seconds": 5, "number_of_steps": 2, "users_per_step": 1},
        }
    )


def test_job_panel_runs_without_blocking_and_gets_the_result():
    backend = FakeBackend()
    backend.release.clear()
    panel = JobPanel(_spec, backend, submit_kwargs={"model": "m.tar.gz"}, poll_s=0.01)
    started = time.monotonic()
    panel.run_button.click()
    assert time.monotonic() - started < 1.0  # the click returns while the job runs
    deadline = time.monotonic() + 5
    while panel.status != "IN_PROGRESS" and time.monotonic() < deadline:
        time.sleep(0.01)
    assert panel.running and panel.run_button.disabled and not panel.stop_button.disabled
    backend.release.set()
    panel.wait(5)
    assert panel.status == "COMPLETED" and not panel.running
    assert backend.call_names()[0] == "submit" and backend.call_names()[-1] == "results"
    assert backend.calls[0][2] == {"model": "m.tar.gz"}
    assert panel.result["InferenceRecommendations"]
    assert panel.progress.value == panel.progress.max == 1


def test_job_panel_stop_calls_backend():
    backend = FakeBackend()
    backend.release.clear()
    panel = JobPanel(_spec, backend, poll_s=0.01)
    panel.run()
    deadline = time.monotonic() + 5
    while panel.handle is None and time.monotonic() < deadline:
        time.sleep(0.01)
    panel.stop_button.click()
    panel.wait(5)
    assert "stop" in backend.call_names() and panel.status == "STOPPED"


def test_job_panel_errors_become_messages():
    def broken_spec():
        return JobSpec.from_dict({"supported_instance_types": ["ml.c5.xlarge"]})

    panel = JobPanel(broken_spec, FakeBackend())
    assert panel.run() is False
    assert "local" in panel.error_html.value and "Traceback" not in panel.error_html.value
    failing = FakeBackend(fail="the server did not answer /ping")
    panel = JobPanel(_spec, failing, poll_s=0.01)
    panel.run()
    panel.wait(5)
    assert panel.status == "FAILED" and "did not answer /ping" in panel.error_html.value
    panel = JobPanel(_spec, FakeBackend(submit_error=RuntimeError("disk full")), poll_s=0.01)
    panel.run()
    panel.wait(5)
    assert "disk full" in panel.error_html.value and not panel.running


def test_results_explorer_reranks_live():
    rows = [("local.cpu1", 0.05, 600.0, 40.0), ("local.cpu2", 0.10, 3000.0, 10.0)]
    explorer = ResultsExplorer(fake_result("j", rows), show_charts=False)
    explorer.cost_slider.value, explorer.latency_slider.value, explorer.throughput_slider.value = (
        1,
        5,
        1,
    )
    assert explorer.best_id == "j/1"  # the faster one
    rows = [("local.cpu1", 0.05, 600.0, 40.0), ("local.cpu2", 0.50, 700.0, 35.0)]
    explorer.result = fake_result("k", rows)
    explorer.latency_slider.value, explorer.cost_slider.value = 1, 5
    assert explorer.best_id == "k/0"  # the cheaper one per inference
    assert (
        "local.cpu1" in explorer.card_html.value and "requests/min" in explorer.card_html.value
    )
    assert explorer.table_html.value.index("local.cpu1") < explorer.table_html.value.index(
        "local.cpu2"
    )
    assert explorer.deploy_button.layout.display == "none"  # local backend: no Deploy


def test_results_explorer_report_download():
    explorer = ResultsExplorer(
        fake_result("j", [("local.cpu1", 0.05, 600.0, 40.0)]), show_charts=False
    )
    assert explorer.download_html.value == ""
    explorer.make_report()
    assert (
        "data:text/html;base64" in explorer.download_html.value
        and "j-report.html" in explorer.download_html.value
    )
    explorer.cost_slider.value = 5
    assert explorer.download_html.value == ""  # stale after a re-rank


def test_results_explorer_charts_and_empty_states():
    explorer = ResultsExplorer()
    assert "appears here" in explorer.card_html.value and explorer.table_html.value == ""
    assert explorer.sliders.layout.display == "none"
    explorer.result = fake_result("j", [("local.cpu1", 0.05, 600.0, 40.0)])
    assert explorer.charts_html.value.count("<svg") >= 2
    assert explorer.sliders.layout.display is None
    explorer.result = {
        "JobName": "x",
        "Status": "FAILED",
        "FailureReason": "no config finished",
        "InferenceRecommendations": [],
    }
    assert "no config finished" in explorer.message_html.value


def test_results_explorer_deploy_only_for_sagemaker():
    class Deployer(FakeBackend):
        name = "sagemaker"

        def deploy(self, recommendation_id, job=None):
            self.calls.append(("deploy", recommendation_id, job))
            return "ep-1"

    backend = Deployer()
    explorer = ResultsExplorer(
        fake_result("j", [("ml.c5.xlarge", 0.2, 600.0, 40.0)]), backend, show_charts=False
    )
    assert explorer.deploy_button.layout.display is None
    explorer.deploy_button.click()
    assert backend.calls[-1] == ("deploy", "j/0", "j") and "ep-1" in explorer.message_html.value


def test_right_size_app_end_to_end_with_fake_backend(tmp_path):
    backend = FakeBackend()
    app = RightSizeApp(
        backend,
        workdir=tmp_path,
        model_path=str(tmp_path / "m.tar.gz"),
        payload_path=str(tmp_path / "p.json"),
        poll_s=0.01,
    )
    (tmp_path / "m.tar.gz").write_bytes(b"x")
    (tmp_path / "p.json").write_text("[[0]]")
    app.instances.select.value = ("local.cpu1",)
    app.hyperparameters.add_row("OMP_NUM_THREADS", "1, 2")
    assert app.spec.knee_search.max_users == 16 and app.spec.stairs is None  # the local default
    app.traffic.type_toggle.value = "STAIRS"
    app.traffic.step_duration.value = 3
    spec = app.spec
    assert [c.config_id for c in spec.configurations()] == [
        "local.cpu1+OMP_NUM_THREADS=1",
        "local.cpu1+OMP_NUM_THREADS=2",
    ]
    assert spec.stairs.duration_in_seconds == 3
    app.job.run_button.click()
    app.job.wait(5)
    assert app.job.status == "COMPLETED"
    submitted = backend.calls[0]
    assert submitted[2] == {
        "model": str(tmp_path / "m.tar.gz"),
        "payload": str(tmp_path / "p.json"),
    }
    assert app.results.best_id and "Recommendation" in app.results.card_html.value
    app.close()


def test_right_size_app_reports_missing_choices(tmp_path):
    app = RightSizeApp(FakeBackend(), workdir=tmp_path)
    app.instances.select.value = ()
    assert app.job.run() is False
    assert "instance type" in app.job.error_html.value
    app.model.source = "upload"
    with pytest.raises(Exception, match="model archive"):
        app.to_spec()


def test_right_size_app_run_on_selector_offers_the_knee_search_locally_only(tmp_path):
    app = RightSizeApp(FakeBackend(), workdir=tmp_path)
    assert app.traffic.traffic_type == "KNEE_SEARCH"
    app.job.backend_dropdown.value = "sagemaker"
    assert app.traffic.backend == "sagemaker" and app.traffic.traffic_type == "STAIRS"
    assert "KNEE_SEARCH" not in [v for _, v in app.traffic.type_toggle.options]
    app.instances.select.value = ("ml.c5.xlarge",)
    app.traffic.step_duration.value = 120
    app.spec.validate(target="sagemaker")  # no local-only key reaches the SageMaker request
    app.job.backend_dropdown.value = "local"
    app.instances.select.value = ("local.cpu1",)
    assert app.traffic.traffic_type == "KNEE_SEARCH" and app.spec.knee_search is not None
    app.close()


def test_right_size_app_sagemaker_options_split_between_spec_and_submit(tmp_path):
    class CloudFake(FakeBackend):
        name = "sagemaker"

        def deploy(self, recommendation_id, job=None):
            return "ep"

    backend = CloudFake()
    options = {
        "sample_payload_url": "s3://bucket/payload.tar.gz",
        "role_arn": "arn:aws:iam::111122223333:role/r",
        "model_package_version_arn": "arn:aws:sagemaker:us-east-1:111122223333:model-package/g/1",
    }
    app = RightSizeApp(backend, workdir=tmp_path, sagemaker_options=options, poll_s=0.01)
    assert all(v.startswith("ml.") for _, v in app.instances.select.options)
    app.instances.select.value = ("ml.c5.xlarge",)
    assert app.traffic.traffic_type == "STAIRS"  # no knee search on SageMaker
    app.traffic.step_duration.value = 120
    assert app.spec.sample_payload_url == "s3://bucket/payload.tar.gz"
    app.job.run()
    app.job.wait(5)
    assert app.job.status == "COMPLETED", app.job.error
    assert set(backend.calls[0][2]) == {"role_arn", "model_package_version_arn"}
    assert app.results.deploy_button.layout.display is None


def test_model_source_upload_saves_files(tmp_path):
    import datetime

    from irkit.widgets import ModelSourcePanel

    NOW = datetime.datetime.now(datetime.timezone.utc)  # noqa: N806
    panel = ModelSourcePanel(tmp_path)
    panel.source_toggle.value = "upload"
    assert len(panel.errors) == 2 and panel.upload_box.layout.display is None
    panel.image_upload.value = (
        {
            "name": "cat.jpg",
            "type": "image/jpeg",
            "size": 3,
            "content": memoryview(b"jpg"),
            "last_modified": NOW,
        },
    )
    panel.model_upload.value = (
        {
            "name": "my-model.tar.gz",
            "type": "application/gzip",
            "size": 2,
            "content": memoryview(b"gz"),
            "last_modified": NOW,
        },
    )
    assert panel.errors == []
    files = panel.files()
    assert open(files["payload"], "rb").read() == b"jpg" and files["payload"].endswith("cat.jpg")
    assert open(files["model"], "rb").read() == b"gz"


def test_app_multi_model_serves_copies_of_the_model(tmp_path):
    backend = FakeBackend()
    app = RightSizeApp(backend, workdir=tmp_path, model_path=str(tmp_path / "m.tar.gz"),
                       payload_path=str(tmp_path / "p.json"), poll_s=0.01)
    (tmp_path / "m.tar.gz").write_bytes(b"model bytes")
    (tmp_path / "p.json").write_text("[[0]]")
    app.instances.select.value = ("local.cpu1",)
    app.targets.models_text.value = "a\nb.tar.gz, c"
    app.targets.distribution_dropdown.value = "zipf"
    spec = app.spec
    assert spec.target_models.models == ("a.tar.gz", "b.tar.gz", "c.tar.gz")
    assert spec.target_models.distribution == "zipf"
    app.job.run_button.click()
    app.job.wait(5)
    assert app.job.status == "COMPLETED"
    folder = Path(backend.calls[0][2]["model"])
    assert sorted(p.name for p in folder.iterdir()) == ["a.tar.gz", "b.tar.gz", "c.tar.gz"]
    assert all(p.read_bytes() == b"model bytes" for p in folder.iterdir())
    app.targets.weights_text.value = "1, x"  # a bad entry blocks Run with a message naming the field
    app.targets.distribution_dropdown.value = "weights"
    with pytest.raises(SpecError, match="target_models"):
        app.to_spec()
    app.close()


def test_controls_do_not_share_layouts():
    """One Layout model shared by several controls hides them all when one is hidden (it did)."""
    editor, traffic = TargetModelsEditor(preview=False), TrafficPanel(preview=False)
    controls = [editor.models_text, editor.containers_text, editor.distribution_dropdown, editor.exponent_text,
                editor.weights_text, traffic.step_duration, traffic.step_count, traffic.step_users,
                traffic.knee_users, traffic.knee_window, traffic.knee_level_cap]
    controls += [c for row in traffic.phase_rows for c in (row.users, row.spawn_rate, row.duration)]
    explorer = ResultsExplorer(show_charts=False)
    controls += [explorer.cost_slider, explorer.latency_slider, explorer.throughput_slider]
    assert len({id(c.layout) for c in controls}) == len(controls)
    editor.distribution = "uniform"  # hides the weights and exponent fields only
    assert editor.weights_text.layout.display == "none" and editor.models_text.layout.display is None


def test_results_explorer_shows_intervals_ties_and_flags():
    import json

    measured = Path(__file__).resolve().parents[1] / "results" / "data" / "measured_result.json"
    explorer = ResultsExplorer(json.loads(measured.read_text()), show_charts=False)
    card, table = explorer.card_html.value, explorer.table_html.value
    assert "558 requests/min</b> (95% interval 541\u2013575)" in card
    assert "tied within measurement noise" in card and "lower model latency" in card
    assert "558 [541\u2013575]" in table and "<th>Notes</th>" in table
    assert "unstable; generator on server cores (38% CPU)" in table and "tied with #1" in table
    explorer.cost_slider.value, explorer.throughput_slider.value = 1, 1  # latency decides: no noise tie
    assert "tied within measurement noise" not in explorer.card_html.value
    plain = ResultsExplorer(fake_result("j", [("local.cpu1", 0.05, 600.0, 40.0)]), show_charts=False)
    assert "95% interval" not in plain.card_html.value and "Notes" not in plain.table_html.value
