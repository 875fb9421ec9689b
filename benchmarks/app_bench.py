"""The web app as its users meet it: `python app.py` on a free loopback port with one account per simulated
user, its own peak RSS (VmHWM), concurrent chat sessions through `gradio_client` (one Client, hence one Gradio
session, per user, logged in with a session cookie), and concurrent API sessions (`POST /api/ask` with a Bearer
token, each carrying its conversation for three turns)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

from benchmarks.common import ROOT, children_of, free_port, mib, proc_status, stop, summary_ms, wait_http
from benchmarks.index_bench import BASE_IGNORE

CHAT_API = "/respond"


class App:
    def __init__(self, data_dir: Path, log_path: Path, users: int = 0):
        self.data_dir = data_dir
        self.log_path = log_path
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.proc: subprocess.Popen | None = None
        self.sessions: list[str] = []  # a web-session cookie and an API token per simulated user
        self.tokens: list[str] = []
        if users:
            from assistant.accounts import Accounts

            accounts = Accounts(data_dir / "accounts.sqlite")
            for n in range(users):
                accounts.add(f"bench{n:02d}", "reader", f"clave-bench-{n:02d}")
                self.sessions.append(accounts.new_token(f"bench{n:02d}", "session", hours=6))
                self.tokens.append(accounts.new_token(f"bench{n:02d}"))

    def __enter__(self) -> App:
        env = {**os.environ, "PA_INDEX__DATA_DIR": str(self.data_dir), "GRADIO_SERVER_NAME": "127.0.0.1",
               "GRADIO_SERVER_PORT": str(self.port), "HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False"}
        self.log_file = self.log_path.open("wb")
        t0 = time.perf_counter()
        self.proc = subprocess.Popen([sys.executable, str(ROOT / "app.py")], cwd=str(ROOT), env=env,
                                     stdout=self.log_file, stderr=subprocess.STDOUT)
        if not wait_http(self.url + "login", 240, self.proc):
            self.__exit__()
            raise RuntimeError(f"app.py did not answer on {self.url}: "
                               + self.log_path.read_text(errors="replace")[-1500:])
        self.startup_s = time.perf_counter() - t0
        return self

    def memory(self) -> dict:
        own = proc_status(self.proc.pid)
        kids = children_of(self.proc.pid)
        return {"pid": self.proc.pid, "hwm_mib": mib(own.get("VmHWM", 0)), "rss_mib": mib(own.get("VmRSS", 0)),
                "children": len(kids),
                "children_rss_mib": sum(mib(proc_status(k).get("VmRSS", 0)) for k in kids)}

    def client(self, user: int = 0):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from gradio_client import Client

        headers = {"Cookie": f"pa_session={self.sessions[user]}"} if self.sessions else None
        return Client(self.url, verbose=False, headers=headers)

    def api_ask(self, user: int, question: str, conversation_id: str | None) -> str:
        """One `POST /api/ask`; returns the conversation id the answer was saved in."""
        body = {"question": question, **({"conversation_id": conversation_id} if conversation_id else {})}
        headers = {"Content-Type": "application/json"}
        if self.tokens:
            headers["Authorization"] = f"Bearer {self.tokens[user]}"
        request = urllib.request.Request(self.url + "api/ask", data=json.dumps(body).encode(), headers=headers)
        with urllib.request.urlopen(request, timeout=300) as response:  # noqa: S310 (loopback only)
            reply = json.loads(response.read())
        if not reply.get("answer"):
            raise RuntimeError("no answer in the reply")
        return reply["conversation_id"]

    def __exit__(self, *exc) -> None:
        if self.proc is not None:
            stop(self.proc)
        self.log_file.close()


def ask(client, question: str, history: list) -> list:
    out = client.predict(question, history, [], [], [], api_name=CHAT_API)
    history = out[0] if isinstance(out, (list, tuple)) else out
    if not history or history[-1].get("role") != "assistant":
        raise RuntimeError("no assistant message in the reply")
    return history


def web_session(app: App, n: int, turns_per_conversation: int = 3) -> Callable[[str], None]:
    """A chat user: its own Gradio session; the chat history carried, a new conversation every few turns."""
    client = app.client(n)
    state = {"history": []}

    def ask_one(question: str) -> None:
        if len(state["history"]) >= 2 * turns_per_conversation:  # a new conversation, like «Nueva conversación»
            state["history"] = []
        try:
            state["history"] = ask(client, question, state["history"])
        except Exception:
            state["history"] = []
            raise

    return ask_one


def api_session(app: App, n: int, turns_per_conversation: int = 3) -> Callable[[str], None]:
    """An API client: its own token; each conversation continued for a few turns, then a new one."""
    state = {"conversation": None, "turns": 0}

    def ask_one(question: str) -> None:
        if state["turns"] >= turns_per_conversation:
            state["conversation"], state["turns"] = None, 0
        state["conversation"] = app.api_ask(n, question, state["conversation"])
        state["turns"] += 1

    return ask_one


def sessions_load(app: App, questions: list[str], sessions: int, duration_s: float, grace_s: float = 120,
                  connect: Callable[[App, int], Callable[[str], None]] = web_session) -> dict:
    """`sessions` users, each asking back to back for `duration_s`; a request in flight at the deadline is
    allowed to finish (within `grace_s`) and counted."""
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    ready: list[int] = []
    go = threading.Event()
    deadline_box: dict[str, float] = {}

    def user(n: int) -> None:
        try:
            ask_one = connect(app, n)
        except Exception as exc:
            with lock:
                errors.append(f"connect: {type(exc).__name__}: {str(exc)[:120]}")
                ready.append(n)
            return
        with lock:
            ready.append(n)
        go.wait()
        i = n * 7
        while time.monotonic() < deadline_box["end"]:
            question = questions[i % len(questions)]
            i += 1
            t = time.perf_counter()
            try:
                ask_one(question)
                with lock:
                    latencies.append((time.perf_counter() - t) * 1000)
            except Exception as exc:
                with lock:
                    errors.append(f"{type(exc).__name__}: {str(exc)[:120]}")

    threads = [threading.Thread(target=user, args=(n,), daemon=True) for n in range(sessions)]
    for t in threads:
        t.start()
    # The clock starts once every session has connected (Client() fetches the app's config first).
    connect_deadline = time.monotonic() + 120
    while len(ready) < sessions and time.monotonic() < connect_deadline:
        time.sleep(0.05)
    started = time.monotonic()
    deadline_box["end"] = started + duration_s
    go.set()
    for t in threads:
        t.join(timeout=max(0.0, started + duration_s + grace_s - time.monotonic()))
    elapsed = time.monotonic() - started
    stuck = sum(t.is_alive() for t in threads)
    if stuck:
        errors.append(f"{stuck} session(s) still waiting {grace_s:.0f} s after the deadline")
    return {"sessions": sessions, "duration_s": duration_s, "elapsed_s": elapsed, "completed": len(latencies),
            "errors": len(errors), "error_samples": sorted(set(errors))[:5], "latency_ms": summary_ms(latencies),
            "throughput_per_s": len(latencies) / elapsed if elapsed else float("nan")}


def app_benchmark(base: Path, work: Path, questions: list[str], sessions: int, duration_s: float, log=print) -> dict:
    data_dir = work / "app_data"
    if data_dir.exists():
        shutil.rmtree(data_dir)
    shutil.copytree(base, data_dir, ignore=BASE_IGNORE)
    with App(data_dir, work / "app.log", users=sessions) as app:
        after_start = app.memory()
        log(f"  app up in {app.startup_s:.1f} s (pid {app.proc.pid}), RSS {after_start['rss_mib']:.0f} MiB")
        client = app.client()
        history: list = []
        single: list[float] = []
        for question in questions[:5]:
            t = time.perf_counter()
            history = ask(client, question, history)
            single.append((time.perf_counter() - t) * 1000)
        after_questions = app.memory()
        log(f"  5 questions in one session: p50 {summary_ms(single)['p50']:.0f} ms; "
            f"VmHWM {after_questions['hwm_mib']:.0f} MiB")
        load = sessions_load(app, questions, sessions, duration_s)
        after_load = app.memory()
        log(f"  web chat, {sessions} sessions × {duration_s:.0f} s: {load['completed']} answers, {load['errors']} "
            f"errors, p50 {load['latency_ms']['p50']:.0f} ms p95 {load['latency_ms']['p95']:.0f} ms; "
            f"VmHWM {after_load['hwm_mib']:.0f} MiB")
        api_load = sessions_load(app, questions, sessions, duration_s, connect=api_session)
        log(f"  API /api/ask, {sessions} sessions × {duration_s:.0f} s: {api_load['completed']} answers, "
            f"{api_load['errors']} errors, p50 {api_load['latency_ms']['p50']:.0f} ms "
            f"p95 {api_load['latency_ms']['p95']:.0f} ms")
        after_load = app.memory()
        alive = app.proc.poll() is None
    return {"startup_s": app.startup_s, "memory_after_start": after_start, "memory_after_questions": after_questions,
            "memory_after_load": after_load, "single_session_ms": summary_ms(single), "load": load,
            "api_load": api_load, "app_alive_after_load": alive}
