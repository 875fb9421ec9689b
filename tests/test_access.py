"""Access: the app binds 127.0.0.1 by default, and with a login configured no data route answers without it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path

import pytest

from benchmarks.common import free_port, stop

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]


def _status(url: str, method: str = "GET", data: bytes | None = None, opener=None) -> int:
    request = urllib.request.Request(url, method=method, data=data)
    try:
        with (opener or urllib.request.build_opener()).open(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as err:
        return err.code


@pytest.fixture(scope="module")
def guarded_app(shipped_index, tmp_path_factory):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "GRADIO_SERVER_NAME"}
    env.update({"PA_INDEX__DATA_DIR": str(shipped_index.data_dir), "GRADIO_SERVER_PORT": str(port),
                "PA_APP__USERNAME": "consejero", "PA_APP__PASSWORD": "clave-de-prueba",
                "GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_OFFLINE": "1"})
    log = tmp_path_factory.mktemp("guarded") / "app.log"
    with log.open("w") as out:
        proc = subprocess.Popen([sys.executable, str(ROOT / "app.py")], cwd=ROOT, env=env, stdout=out,
                                stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 120
    while _status_or_none(base + "/") is None:
        if proc.poll() is not None or time.time() > deadline:
            proc.kill()
            pytest.fail(f"app did not start: {log.read_text()[-2000:]}")
        time.sleep(1)
    yield base, port, proc
    stop(proc, timeout_s=20)


def _status_or_none(url: str) -> int | None:
    try:
        return _status(url)
    except OSError:
        return None


def test_binds_loopback_only_by_default(guarded_app):
    _, port, proc = guarded_app
    listening = subprocess.run(["ss", "-ltnpH"], capture_output=True, text=True, check=True).stdout
    lines = [ln for ln in listening.splitlines() if f":{port} " in ln and f"pid={proc.pid}," in ln]
    assert lines, listening
    assert all("127.0.0.1:" in ln for ln in lines)


def test_no_data_route_answers_without_login(guarded_app, shipped_index):
    base, _, _ = guarded_app
    some_file = shipped_index.data_dir / "index.json"
    for path, method in [("/config", "GET"), ("/gradio_api/info", "GET"), (f"/gradio_api/file={some_file}", "GET"),
                         ("/gradio_api/upload", "POST"), ("/gradio_api/queue/join", "POST"),
                         ("/gradio_api/api/predict", "POST"), ("/gradio_api/run/predict", "POST")]:
        assert _status(base + path, method, data=b"{}" if method == "POST" else None) in {401, 403}, path
    with urllib.request.urlopen(base + "/", timeout=10) as response:
        page = response.read().decode("utf-8", "replace")
    assert "PMM Objetivo" not in page and "Bendezú" not in page


def test_login_opens_the_routes(guarded_app):
    base, _, _ = guarded_app
    jar = CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    bad = urllib.parse.urlencode({"username": "consejero", "password": "otra"}).encode()
    assert _status(base + "/login", "POST", bad, opener) in {400, 401, 403}
    assert _status(base + "/config", opener=opener) == 401
    good = urllib.parse.urlencode({"username": "consejero", "password": "clave-de-prueba"}).encode()
    assert _status(base + "/login", "POST", good, opener) == 200
    assert _status(base + "/config", opener=opener) == 200
