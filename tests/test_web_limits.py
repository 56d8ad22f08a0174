"""The web server's limits (issue 22, item 4): clients that hold connections open — sending
nothing, their headers a byte at a time, or a body that never ends — are closed in bounded
time, and never stop the bot answering. Raw sockets and httpx against the real server
(`channels.server.serve` on uvicorn) on 127.0.0.1, with the limits shrunk so each case takes
a second or two; and one real `servicebot run` process under a 256-descriptor limit."""

from __future__ import annotations

import contextlib
import logging
import resource
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest

from servicebot.channels.web_limits import ACCEPT_BACKLOG, BATCHES_IN_FLIGHT, RESERVED_FDS, WebLimits

from support.processes import process_env
from support.webserver import ServerThread, free_port

pytestmark = pytest.mark.slow

LIMITS = WebLimits(max_connections=20, read_timeout=0.5, keep_alive=5)
BOUND = 5.0  # seconds any single wait below may take


@pytest.fixture
def server(mini_faq, make_settings):
    settings = make_settings(mini_faq, reload_interval=0, flood_messages=100, web_address_messages=1000)
    with ServerThread(settings, web_limits=LIMITS) as running:
        yield running


def connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=BOUND)
    sock.settimeout(BOUND)
    return sock


def closed_within(sock: socket.socket, seconds: float) -> tuple[bool, bytes]:
    """(whether the server closed `sock` within `seconds`, what it sent before closing)."""
    sock.settimeout(seconds)
    received = b""
    try:
        while chunk := sock.recv(4096):
            received += chunk
    except TimeoutError:
        return False, received
    except ConnectionResetError:
        pass
    return True, received


def ask(base_url: str, text: str = "低保怎么申请") -> httpx.Response:
    with httpx.Client(base_url=base_url, timeout=BOUND) as http:
        return http.post("/api/ask", json={"session": secrets.token_hex(16), "text": text})


@contextlib.contextmanager
def sockets(port: int, count: int) -> Iterator[list[socket.socket]]:
    opened = [connect(port) for _ in range(count)]
    try:
        yield opened
    finally:
        for sock in opened:
            sock.close()


def test_a_connection_that_sends_nothing_is_closed_after_the_read_timeout(server):
    with sockets(server.port, 1) as (sock,):
        started = time.monotonic()
        closed, said = closed_within(sock, BOUND)
    assert closed and time.monotonic() - started < BOUND
    assert said.startswith(b"HTTP/1.1 408 ") and b"x-content-type-options: nosniff" in said


def test_headers_sent_a_byte_at_a_time_are_cut_off(server):
    request = b"POST /api/ask HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nX-Pad: " + b"a" * 100
    with sockets(server.port, 1) as (sock,):
        started, sent = time.monotonic(), 0
        with contextlib.suppress(OSError):
            while sent < len(request) and time.monotonic() - started < BOUND:
                sock.send(request[sent : sent + 1])
                sent += 1
                time.sleep(0.05)
        closed, said = closed_within(sock, BOUND)
    assert closed and sent < len(request)  # cut off long before the headers were done
    assert said.startswith(b"HTTP/1.1 408 ")


def test_a_body_that_never_ends_is_cut_off_and_the_handler_is_not_an_error(server, caplog):
    head = b"POST /api/ask HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 400\r\n\r\n"
    with caplog.at_level(logging.WARNING), sockets(server.port, 1) as (sock,):
        sock.sendall(head + b'{"session": ')
        closed, _ = closed_within(sock, BOUND)
        assert closed
        assert ask(server.base_url).status_code == 200
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_many_idle_connections_do_not_stop_answers(server):
    """Three times the connection limit held open and idle: each newcomer closes the one idle
    longest, and residents' questions are answered at once, not after the read timeout."""
    with sockets(server.port, 3 * LIMITS.max_connections) as idle:
        for _ in range(10):
            started = time.monotonic()
            assert ask(server.base_url).status_code == 200
            assert time.monotonic() - started < LIMITS.read_timeout  # not waiting for idle ones to time out
        closed = sum(closed_within(sock, 0.01)[0] for sock in idle)
    assert closed >= 2 * LIMITS.max_connections


def test_when_every_connection_is_busy_a_newcomer_gets_503_with_the_security_headers(server):
    head = b"POST /api/ask HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 400\r\n\r\n{"
    with sockets(server.port, LIMITS.max_connections) as busy:
        for sock in busy:
            sock.sendall(head)  # a request being read: its handler waits for the body
        time.sleep(0.1)  # not a timing assertion: lets the server take them in before the newcomer
        with sockets(server.port, 1) as (late,):
            closed, said = closed_within(late, BOUND)
    assert closed and said.startswith(b"HTTP/1.1 503 ") and b"content-security-policy:" in said


def test_the_connection_limit_leaves_room_for_the_rest_of_the_process():
    room = RESERVED_FDS + BATCHES_IN_FLIGHT * ACCEPT_BACKLOG
    for descriptors, connections in ((1024, 1024 - room), (room + 300, 300), (4096, 500), (256, 16)):
        assert WebLimits.for_process(descriptors).max_connections == connections, descriptors
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    assert WebLimits.for_process() == WebLimits.for_process(soft)


def test_a_real_process_under_a_256_descriptor_limit_answers_through_1000_idle_connections(tmp_path, mini_faq):
    """The probe's case, scaled down: more idle connections than the process has descriptors."""
    port = free_port()
    env = process_env(tmp_path, mini_faq, SERVICEBOT_WEB_PORT=str(port), SERVICEBOT_RELOAD_INTERVAL="0")
    limit = "import resource; resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256)); "
    command = [sys.executable, "-c", limit + "from servicebot.cli import main; raise SystemExit(main(['run']))"]
    log_path = tmp_path / "bot.log"
    with log_path.open("w") as log:  # a file, not a pipe nobody reads while the test runs
        process = subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL, stderr=log)
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(base_url + "/healthz", timeout=1).status_code == 200:
                    break
            assert process.poll() is None and time.monotonic() < deadline, "the bot did not start"
            time.sleep(0.1)
        idle: list[socket.socket] = []
        try:
            for _ in range(1000):
                with contextlib.suppress(OSError):
                    idle.append(connect(port))
            answered = sum(ask(base_url).status_code == 200 for _ in range(20))
        finally:
            for sock in idle:
                sock.close()
        assert answered == 20
        assert httpx.get(base_url + "/healthz", timeout=BOUND).status_code == 200
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    stderr = log_path.read_text(encoding="utf-8")
    assert "Traceback" not in stderr and "Too many open files" not in stderr
