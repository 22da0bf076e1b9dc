"""One job, one recommendation: `irkit recommend`'s summary, `irkit jobs show`, `irkit jobs list`,
`irkit report`'s HTML and the app's results view all name the same configuration, and say which
importances they ranked with."""

from __future__ import annotations

import html
import re

import pytest
from results_data import LOCAL_FILE

from irkit.cli import main
from irkit.cli.recommend import print_summary
from irkit.results import COST_PER_INFERENCE, history, recommendations, to_frame
from irkit.results.ranking import DEFAULT_IMPORTANCES, importance_text, recommend
from irkit.store import Store

LINE = re.compile(r"^recommended: (\S+) \((\S+)\), ranked with (importance .*\(1-5\))", re.M)


@pytest.fixture
def recorded(tmp_path):
    """tests/results/data/local_result.json imported into a fresh store: (db path, job id, result)."""
    db = tmp_path / "fresh.db"
    job_id = history.import_result(LOCAL_FILE, Store(db))
    return db, job_id, Store(db).result(job_id)


def _line(text: str) -> tuple[str, str, str]:
    found = LINE.search(text)
    assert found, f"no 'recommended:' line in:\n{text}"
    return found.group(1), found.group(2), found.group(3)


def test_every_door_gives_the_same_recommendation(recorded, tmp_path, capsys):
    db, job_id, result = recorded
    defaults = importance_text(DEFAULT_IMPORTANCES)
    frame = to_frame(result)
    cheapest = recommendations(frame).sort_values(COST_PER_INFERENCE).iloc[0]["config"]

    print_summary(result)  # what `irkit recommend` prints when the job ends
    via_recommend = _line(capsys.readouterr().out)

    assert main(["jobs", "--db", str(db), "show", job_id]) == 0
    via_show = _line(capsys.readouterr().out)

    assert main(["jobs", "--db", str(db), "list", "--json"]) == 0
    listed = history.list_jobs(Store(db)).set_index("job_id").loc[job_id, "best_config"]
    capsys.readouterr()

    out = tmp_path / "report"
    assert main(["report", job_id, "--db", str(db), "--out", str(out), "--no-png"]) == 0
    page = (out / "report.html").read_text()
    via_report = html.unescape(re.search(r"<div class='pick'>(.*?)</div>", page).group(1))
    assert f"ranked with {html.escape(defaults)}" in page

    from irkit.widgets import ResultsExplorer

    explorer = ResultsExplorer(result, show_charts=False)  # the app's results view
    card = explorer.card_html.value
    via_app = html.unescape(re.search(r"<span class='irkit-pick'>(.*?)</span>", card).group(1))
    assert html.escape(defaults) in card

    pick = via_recommend[0]
    assert via_show[0] == listed == via_report == via_app == pick
    assert via_recommend[1] == via_show[1] == explorer.best_id  # the same RecommendationId too
    assert via_recommend[2] == via_show[2] == defaults
    # the old `irkit recommend` rule (lowest cost per inference) gave another answer on this job
    assert pick == "local.cpu2+OMP_NUM_THREADS=2" and cheapest != pick
    explorer.close()


def test_moved_importances_move_every_door_together(recorded, tmp_path, capsys):
    db, job_id, result = recorded
    cost_first = recommend(to_frame(result), cost=5, latency=1, throughput=1).iloc[0]["config"]
    assert main(["jobs", "--db", str(db), "show", job_id, "--cost", "5", "--latency", "1",
                 "--throughput", "1"]) == 0
    config, _, said = _line(capsys.readouterr().out)
    assert config == cost_first and said == "importance cost 5, latency 1, throughput 1 (1-5)"
    assert main(["report", job_id, "--db", str(db), "--out", str(tmp_path / "r"), "--no-png",
                 "--cost", "5", "--latency", "1", "--throughput", "1"]) == 0
    assert f"<div class='pick'>{cost_first}</div>" in (tmp_path / "r" / "report.html").read_text()
    from irkit.widgets import ResultsExplorer

    explorer = ResultsExplorer(result, show_charts=False)
    explorer.cost_slider.value, explorer.latency_slider.value, explorer.throughput_slider.value = 5, 1, 1
    assert f"<span class='irkit-pick'>{cost_first}</span>" in explorer.card_html.value
    assert "importance cost 5, latency 1, throughput 1" in explorer.card_html.value
    explorer.close()
