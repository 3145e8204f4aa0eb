"""The benchmark runs end to end and prints its figures (a short smoke run, so it cannot rot)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_benchmark_prints_every_figure_and_the_targets(tmp_path):
    figures_file = tmp_path / "figures.json"
    run = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench.py"), "--quick", "--loader", "python",
                          "--seconds", "0.2", "--messages", "1000", "--json", str(figures_file)],
                         capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert run.returncode == 0, run.stderr[-2000:]
    report = run.stdout
    assert report.startswith("Machine: ") and "Python 3." in report and " cores (" in report
    for row in ("valid SMS: accepted/s", "Messenger image: accepted/s", "failover workflow: accepted/s",
                "invalid bodies: rejected/s", "status webhooks on: messages/s end to end", "RSS per stored message",
                "first 202 after process start", "store full", "| Target (issue 7) | measured | met |",
                "100 accounts in round robin: accepted/s", "RSS per empty account"):
        assert row in report, row
    figures = json.loads(figures_file.read_text())
    for name, row in figures["scenarios"].items():
        assert row["mock"]["rate"] > 0 and row["bare"]["rate"] > 0, name
        assert 0 < row["mock"]["p50_ms"] <= row["mock"]["p99_ms"], name
        assert row["ratio"]["rate"] > 0 and row["ratio"]["p99"] > 0, name
    assert figures["webhooks"]["all_delivered"] and figures["webhooks"]["end_to_end_rate"] > 0
    assert figures["memory"]["messages"] == 1000 and figures["memory"]["bytes_per_message"] > 0
    assert figures["memory"]["full_store_rate"] > 0
    assert figures["memory"]["accounts"]["bytes_per_account"] > 0
    assert 0 < figures["first_202_s"]["mock"] < 30
