"""`servicebot run` as operators start it: a real process, every configured channel, clean
stop on SIGTERM; `servicebot health` probing the web server; settings that were renamed."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from servicebot.cli import main as cli_main

from support.processes import process_env, servicebot_process
from support.webserver import free_port

pytestmark = pytest.mark.slow

SERVICEBOT = [sys.executable, "-m", "servicebot"]


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, ""


def _wait_healthy(url: str, process: subprocess.Popen, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stderr.read() if process.stderr else ""
        try:
            if _get(url)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.05)
    raise AssertionError(f"{url} did not become healthy within {timeout:g} s")


@pytest.mark.parametrize("argv", [["run"], []], ids=["run", "no command"])
def test_web_only_process_serves_passes_health_and_stops_cleanly_on_sigterm(tmp_path, mini_faq, argv):
    port = free_port()
    env = process_env(tmp_path, mini_faq, SERVICEBOT_WEB_PORT=str(port))
    with servicebot_process(env, *argv) as process:
        _wait_healthy(f"http://127.0.0.1:{port}/healthz", process)
        assert "在线问答" in _get(f"http://127.0.0.1:{port}/")[1]
        health = subprocess.run([*SERVICEBOT, "health"], env=env, capture_output=True, text=True, timeout=60)
        assert health.returncode == 0, health.stderr
        assert f"ok: web server answers http://127.0.0.1:{port}/healthz" in health.stdout.splitlines()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0
    assert process.stderr is not None
    log = process.stderr.read()
    assert "answering on: web" in log and "Traceback" not in log

    down = subprocess.run([*SERVICEBOT, "health"], env=env, capture_output=True, text=True, timeout=60)
    assert down.returncode == 1 and f"127.0.0.1:{port}/healthz does not answer" in down.stderr


def test_a_port_in_use_is_a_one_line_error(tmp_path, mini_faq, capsys, monkeypatch):
    import socket

    for key, value in process_env(tmp_path, mini_faq).items():
        monkeypatch.setenv(key, value)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code = cli_main(["run", "--web-port", str(port), "--web-listen", "127.0.0.1"])
    assert code == 2
    err = capsys.readouterr().err
    assert f"cannot listen on 127.0.0.1:{port}" in err and "Traceback" not in err


@pytest.mark.parametrize(
    "argv, env, name",
    [
        (["run", "--webhook-port", "8443"], {}, "webhook_port"),
        (["run"], {"SERVICEBOT_WEBHOOK_LISTEN": "0.0.0.0"}, "webhook_listen"),
    ],
)
def test_renamed_webhook_settings_stop_startup_naming_their_replacement(
    tmp_path, mini_faq, capsys, monkeypatch, argv, env, name
):
    for key, value in {**process_env(tmp_path, mini_faq), **env}.items():
        monkeypatch.setenv(key, value)
    assert cli_main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"servicebot: {name} was replaced by web_") and len(err.splitlines()) == 1


def test_webhook_mode_needs_the_web_server(tmp_path, mini_faq, capsys, monkeypatch):
    for key, value in process_env(tmp_path, mini_faq).items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("SERVICEBOT_TOKEN", "123456:" + "A" * 35)
    monkeypatch.setenv("SERVICEBOT_WEBHOOK_SECRET", "s3cret")
    assert cli_main(["run", "--webhook-url", "https://bot.example.org/telegram"]) == 2
    assert "SERVICEBOT_WEB_PORT" in capsys.readouterr().err


def test_the_listening_socket_is_tcp_so_asyncio_turns_nagle_off(make_settings, mini_faq):
    """With proto 0, asyncio leaves Nagle on for accepted connections and every keep-alive
    answer waited 40 ms for the client's delayed ACK (bench/load/web.py showed it)."""
    import socket

    from starlette.applications import Starlette

    from servicebot.channels.server import WebServer

    server = WebServer(Starlette(), make_settings(mini_faq, web_port=free_port(), web_listen="127.0.0.1"))
    server.bind()
    try:
        assert server.socket is not None and server.socket.proto == socket.IPPROTO_TCP
    finally:
        server.close()
