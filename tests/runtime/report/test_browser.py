"""The report page in Debian's headless Chromium (installed by .ci/run when missing): it loads
offline, every image decodes (naturalWidth > 0), the configurations table holds the run's rows.

A copy of the page gets one inline script that, at the load event, writes what it finds into
the DOM; `--dump-dom` prints that DOM (with a virtual-time budget, so the load has happened);
the host resolver maps every name to nothing, so any network access would fail. The browser
runs in its own process group, bounded by a timeout, and is stopped by its pid."""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
from pathlib import Path

import pytest

import runtime
import spec_lang
from runtime.report.page import write_report
from runtime.report.compare import load_runs, write_comparison

BROWSER = shutil.which("chromium")
TIMEOUT_S = 90
PROBE = """<script>window.addEventListener('load', function () {
  var images = Array.prototype.map.call(document.images, function (i) {
    var box = i.getBoundingClientRect();
    return {id: i.alt, width: i.naturalWidth, complete: i.complete,
            shown: Math.round(box.width), top: Math.round(box.top)}; });
  var rows = {};
  Array.prototype.forEach.call(document.querySelectorAll('table[id]'), function (t) {
    rows[t.id] = t.tBodies.length ? t.tBodies[0].rows.length : t.rows.length; });
  var page = document.querySelector('section').getBoundingClientRect().width;
  var folded = document.documentElement.scrollHeight;
  Array.prototype.forEach.call(document.querySelectorAll('details'), function (d) {
    d.open = true; });
  var out = document.createElement('pre');
  out.id = 'probe';
  out.textContent = JSON.stringify({images: images, rows: rows, page: Math.round(page),
      folded: folded, unfolded: document.documentElement.scrollHeight});
  document.body.appendChild(out);
});</script>"""

SPEC = """\
experiment browse
data digits
network
    dense $width relu
train
    sgd lr $lr momentum 0.9
    batch 64
    epochs 3
search grid
    lr in 0.01, 0.1
    width in 8, 16
seeds 1
"""

# Outside CI a missing browser skips; .ci/run installs it and sets NNSPEC_REQUIRE_BROWSER.
pytestmark = pytest.mark.skipif(BROWSER is None and not os.environ.get("NNSPEC_REQUIRE_BROWSER"),
                                reason="chromium is not installed (.ci/run installs it: "
                                       "apt-get install -y chromium)")


def probe(page: Path, tmp: Path, width: int = 800) -> dict:
    """Open a probed copy of `page` in headless Chromium, its window `width` px wide; what the
    probe wrote."""
    assert BROWSER, "chromium is required here (apt-get install -y chromium)"
    copy = tmp / f"probed-{page.name}"
    copy.write_text(page.read_text(encoding="utf-8").replace("</body>", PROBE + "</body>"),
                    encoding="utf-8")
    command = [BROWSER, "--headless", "--no-sandbox", "--disable-gpu",
               "--disable-background-networking", "--host-resolver-rules=MAP * ~NOTFOUND",
               f"--user-data-dir={tmp / 'profile'}", "--virtual-time-budget=5000",
               f"--window-size={width},900",
               "--dump-dom", copy.as_uri()]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            text=True, start_new_session=True)
    try:
        dom, _ = proc.communicate(timeout=TIMEOUT_S)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)     # its own group: the browser's children
            proc.wait()
    found = re.search(r"<pre id=\"probe\">(.*?)</pre>", dom, re.S)
    assert found, f"the probe did not run; chromium printed: {dom[:300]}"
    return json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&"))


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("browse")
    (tmp / "browse.spec").write_text(SPEC)
    runtime.run(spec_lang.load(tmp / "browse.spec"), out=tmp / "run", jobs=1)
    return tmp / "run"


def test_the_report_loads_offline_with_every_image_decoded(run_dir: Path, tmp_path: Path
                                                           ) -> None:
    page = write_report(run_dir)
    found = probe(page, tmp_path)
    ids = [i["id"] for i in found["images"]]
    assert {"all-curves", "chosen-curves", "param-lr", "param-width", "parallel",
            "hist-weights", "filters"} <= set(ids)
    assert all(i["complete"] and i["width"] > 0 for i in found["images"]), found["images"]
    assert found["rows"]["configurations-table"] == 4       # the run's 4 configurations
    assert found["rows"]["states"] == 2                      # header and counts


def test_the_plots_use_the_page_width_and_the_long_sections_fold(run_dir: Path,
                                                                 tmp_path: Path) -> None:
    """At 1,400 px a wide figure spans the page and two plots share a row, the whole width
    between them; at 800 px each plot is as wide as the page; the folded sections (the
    networks, the table, the spec) make the page shorter than when they are opened."""
    page = write_report(run_dir)
    wide = probe(page, tmp_path, 1400)
    shown = {i["id"]: i for i in wide["images"]}
    assert shown["all-curves"]["shown"] == wide["page"] > 1000
    lr, width = shown["param-lr"], shown["param-width"]
    assert lr["top"] == width["top"] and lr["shown"] + width["shown"] > 0.9 * wide["page"]
    assert wide["folded"] < 0.8 * wide["unfolded"]
    narrow = probe(page, tmp_path, 800)
    assert all(i["shown"] == narrow["page"] for i in narrow["images"]), narrow


def test_the_comparison_page_loads_with_its_rows(run_dir: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    shutil.copytree(run_dir, other)
    page = write_comparison(load_runs([run_dir, other]), tmp_path / "compare.html")
    found = probe(page, tmp_path)
    assert [i["id"] for i in found["images"]] == ["test-scores"]
    assert found["images"][0]["width"] > 0
    best = json.loads((run_dir / "best.json").read_text())
    params = len(best["params"])
    assert found["rows"]["compare"] >= 4 + params + 4         # headers, params, test scores
