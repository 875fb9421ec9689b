"""Access: the app binds 127.0.0.1 by default; with accounts, no data route answers without a login; with no
account it is open on loopback only, and another address is refused with a clear message."""

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

from assistant.accounts import Accounts

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def _status(url: str, method: str = "GET", data: bytes | None = None, opener=None) -> int:
    request = urllib.request.Request(url, method=method, data=data)
    try:
        with (opener or urllib.request.build_opener(_NoRedirect)).open(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as err:
        return err.code


@pytest.fixture(scope="module")
def guarded_app(small_index, tmp_path_factory, app_server, private_index):
    root = tmp_path_factory.mktemp("guarded")
    index = private_index(small_index, root / "data")
    Accounts(index.data_dir / "accounts.sqlite").add("consejero", "reader", "clave-de-prueba")
    app = app_server(index, root / "app.log").start()
    yield app
    app.stop()


def test_binds_loopback_only_by_default(guarded_app):
    listening = subprocess.run(["ss", "-ltnpH"], capture_output=True, text=True, check=True).stdout
    lines = [ln for ln in listening.splitlines() if f":{guarded_app.port} " in ln and f"pid={guarded_app.proc.pid}," in ln]
    assert lines, listening
    assert all("127.0.0.1:" in ln for ln in lines)


def test_no_data_route_answers_without_login(guarded_app):
    base = guarded_app.url
    some_file = guarded_app.index.data_dir / "index.json"
    for path, method in [("/config", "GET"), ("/gradio_api/info", "GET"), (f"/gradio_api/file={some_file}", "GET"),
                         ("/gradio_api/upload", "POST"), ("/gradio_api/queue/join", "POST"),
                         ("/gradio_api/api/predict", "POST"), ("/gradio_api/run/predict", "POST"),
                         ("/api/conversations", "GET"), ("/v1/models", "GET"), ("/source/informe_consular", "GET")]:
        assert _status(base + path, method, data=b"{}" if method == "POST" else None) in {401, 403}, path
    assert _status(base + "/") == 303  # to the login page
    with urllib.request.urlopen(base + "/", timeout=10) as response:
        page = response.read().decode("utf-8", "replace")
    assert response.url.endswith("/login") and "name='password'" in page
    assert "PMM Objetivo" not in page and "consular" not in page


def test_login_opens_the_routes_and_logout_closes_them(guarded_app):
    base = guarded_app.url
    jar = CookieJar()
    opener = urllib.request.build_opener(_NoRedirect, urllib.request.HTTPCookieProcessor(jar))
    bad = urllib.parse.urlencode({"username": "consejero", "password": "otra"}).encode()
    assert _status(base + "/login", "POST", bad, opener) == 401
    assert _status(base + "/config", opener=opener) == 401
    good = urllib.parse.urlencode({"username": "consejero", "password": "clave-de-prueba"}).encode()
    assert _status(base + "/login", "POST", good, opener) == 303
    assert [c.name for c in jar] == ["pa_session"] and all(c.has_nonstandard_attr("HttpOnly") for c in jar)
    for path in ("/config", "/", "/api/conversations", "/v1/models"):
        assert _status(base + path, opener=opener) == 200, path
    stolen = next(iter(jar)).value
    assert _status(base + "/logout", opener=opener) == 303
    replay = urllib.request.Request(base + "/config", headers={"Cookie": f"pa_session={stolen}"})
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(replay, timeout=10)
    assert err.value.code == 401  # the session ended on the server, not only in the browser


def test_without_accounts_it_is_open_on_loopback(small_index, tmp_path, app_server, private_index):
    app = app_server(private_index(small_index, tmp_path / "data"), tmp_path / "app.log").start()
    try:
        for path in ("/", "/config", "/api/conversations"):
            assert _status(app.url + path) == 200, path
    finally:
        app.stop()


def test_another_address_without_accounts_is_refused(small_index, tmp_path):
    env = {**os.environ, "PA_INDEX__DATA_DIR": str(small_index.data_dir), "GRADIO_SERVER_NAME": "0.0.0.0",
           "GRADIO_SERVER_PORT": "1", "HF_HUB_OFFLINE": "1"}
    started = time.monotonic()
    done = subprocess.run([sys.executable, str(ROOT / "app.py")], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 2
    assert "127.0.0.1" in done.stderr and "users add" in done.stderr
    assert time.monotonic() - started < 60
    assert not (small_index.data_dir / "accounts.sqlite").exists()  # asking created no accounts file
