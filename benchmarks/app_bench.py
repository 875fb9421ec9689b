"""The web app as a user meets it: `python app.py` on a free loopback port, its own peak RSS (VmHWM), and
concurrent chat sessions through `gradio_client` (one Client, hence one Gradio session, per simulated user)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

from benchmarks.common import ROOT, children_of, free_port, mib, proc_status, stop, summary_ms, wait_http
from benchmarks.index_bench import BASE_IGNORE

CHAT_API = "/respond"


class App:
    def __init__(self, data_dir: Path, log_path: Path):
        self.data_dir = data_dir
        self.log_path = log_path
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> App:
        env = {**os.environ, "PA_INDEX__DATA_DIR": str(self.data_dir), "GRADIO_SERVER_NAME": "127.0.0.1",
               "GRADIO_SERVER_PORT": str(self.port), "HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False"}
        for key in ("PA_APP__USERNAME", "PA_APP__PASSWORD"):  # the load test logs in as nobody
            env.pop(key, None)
        self.log_file = self.log_path.open("wb")
        t0 = time.perf_counter()
        self.proc = subprocess.Popen([sys.executable, str(ROOT / "app.py")], cwd=str(ROOT), env=env,
                                     stdout=self.log_file, stderr=subprocess.STDOUT)
        if not wait_http(self.url, 240, self.proc):
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

    def client(self):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from gradio_client import Client

        return Client(self.url, verbose=False)

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


def sessions_load(app: App, questions: list[str], sessions: int, duration_s: float, grace_s: float = 120,
                  turns_per_conversation: int = 3) -> dict:
    """`sessions` users, each in its own Gradio session, asking back to back for `duration_s`; a request in
    flight at the deadline is allowed to finish (within `grace_s`) and counted."""
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    ready: list[int] = []
    go = threading.Event()
    deadline_box: dict[str, float] = {}

    def user(n: int) -> None:
        try:
            client = app.client()
        except Exception as exc:
            with lock:
                errors.append(f"connect: {type(exc).__name__}: {str(exc)[:120]}")
                ready.append(n)
            return
        with lock:
            ready.append(n)
        go.wait()
        history: list = []
        i = n * 7
        while time.monotonic() < deadline_box["end"]:
            question = questions[i % len(questions)]
            i += 1
            if len(history) >= 2 * turns_per_conversation:  # a new conversation, like pressing «Limpiar»
                history = []
            t = time.perf_counter()
            try:
                history = ask(client, question, history)
                with lock:
                    latencies.append((time.perf_counter() - t) * 1000)
            except Exception as exc:
                with lock:
                    errors.append(f"{type(exc).__name__}: {str(exc)[:120]}")
                history = []

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
    with App(data_dir, work / "app.log") as app:
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
        log(f"  {sessions} sessions × {duration_s:.0f} s: {load['completed']} answers, {load['errors']} errors, "
            f"p50 {load['latency_ms']['p50']:.0f} ms p95 {load['latency_ms']['p95']:.0f} ms; "
            f"VmHWM {after_load['hwm_mib']:.0f} MiB")
        alive = app.proc.poll() is None
    return {"startup_s": app.startup_s, "memory_after_start": after_start, "memory_after_questions": after_questions,
            "memory_after_load": after_load, "single_session_ms": summary_ms(single), "load": load,
            "app_alive_after_load": alive}
