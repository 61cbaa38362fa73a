"""Load smoke test: the key console pages under concurrent use, against /healthz.

Builds a fresh demo municipality (``portal demo``: R residents, 12 months of usage and
scores), serves it with gunicorn (2 sync workers; the ``production`` extra installs it)
or, when gunicorn is missing, the threaded development server (``portal run``), signs
in as the demo manager and then, page by page, keeps C concurrent clients requesting
that page for S seconds (in R rounds that visit every page in turn, so that a drift in
the shared machine's speed touches every page alike). For each page it prints
requests/s, p50/p95 latency and the number of errors (any status other than 200, or
no answer), and the ratio of the page's p95 to the p95 of ``/healthz`` measured the
same way in the same run.
Target: 0 errors, and p95(page) ≤ 10 × p95(/healthz).

    python bench/load_smoke.py                          # SQLite, then PostgreSQL
    python bench/load_smoke.py --database sqlite --seconds 5

PostgreSQL: PORTAL_BENCH_DATABASE_URL (default postgresql+psycopg://postgres@127.0.0.1:5432/portal_bench,
created when missing; never point it at a database the tests use); its schema is
dropped and rebuilt. Only 127.0.0.1 is ever contacted, and every loop ends by itself.
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import create_engine, func, select
from sqlalchemy.engine import make_url

PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/portal_bench"
BIN = Path(sys.executable).parent
HOST = "127.0.0.1"
TARGET_RATIO = 10.0


@dataclass
class Stats:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    seconds: float = 0.0

    def quantile(self, q: float) -> float:
        ordered = sorted(self.latencies)
        if not ordered:
            return float("nan")
        return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


class Client:
    """A signed-in browser, reduced to its cookies (one connection per request)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, form: dict | None = None):
        conn = http.client.HTTPConnection(HOST, self.port, timeout=30)
        headers = {"Accept-Language": "en", "Host": f"{HOST}:{self.port}"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            text = response.read()
        finally:
            conn.close()
        return response, text

    def remember(self, response) -> None:
        for header in response.msg.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                self.cookies[name] = morsel.value

    def sign_in(self, email: str, password: str) -> None:
        response, page = self.request("GET", "/account/login")
        self.remember(response)
        tag = re.search(rb'<input[^>]*name="csrf_token"[^>]*>', page)
        token = re.search(rb'value="([^"]+)"', tag.group(0)).group(1).decode() if tag else ""
        response, _ = self.request("POST", "/account/login", {
            "csrf_token": token, "email": email, "password": password})
        if response.status != 302:
            raise RuntimeError(f"sign-in refused: HTTP {response.status}")
        self.remember(response)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def ensure_database(url: str) -> None:
    target = make_url(url)
    server = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with server.connect() as conn:
        exists = conn.exec_driver_sql("SELECT 1 FROM pg_database WHERE datname = %(n)s",
                                      {"n": target.database}).scalar()
        if not exists:
            conn.exec_driver_sql(f'CREATE DATABASE "{target.database}"')
    server.dispose()


def drop_schema(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP SCHEMA public CASCADE")
        conn.exec_driver_sql("CREATE SCHEMA public")
    engine.dispose()


def build(env: dict, residents: int) -> None:
    """The demo municipality, as ``make run`` builds it."""
    portal = str(BIN / "portal")
    for args in (["db", "upgrade"], ["seed"],
                 ["demo", "--residents", str(residents), "--months", "12", "--seed", "1"]):
        subprocess.run([portal, *args], env=env, check=True, capture_output=True)


def targets(url: str) -> dict[str, str]:
    """The resident and the service with the most usage: the heaviest pages."""
    import portal.models  # noqa: F401  (every model mapped)
    from portal.residents.models import Resident
    from portal.services.models import Service, UsageEvent

    engine = create_engine(url)
    with engine.connect() as conn:
        resident = conn.execute(select(Resident.id).join(UsageEvent)
                                .group_by(Resident.id)
                                .order_by(func.count().desc()).limit(1)).scalar()
        slug = conn.execute(select(Service.slug).join(UsageEvent).group_by(Service.slug)
                            .order_by(func.count().desc()).limit(1)).scalar()
    engine.dispose()
    return {"/healthz": "/healthz", "/services/": "/services/", "/admin/": "/admin/",
            "resident list": "/admin/residents/",
            "360° page": f"/admin/residents/{resident}",
            "engagement page": f"/admin/services/{slug}/engagement"}


def start_server(env: dict, port: int, log_path: Path) -> tuple[subprocess.Popen, str]:
    log = open(log_path, "wb")  # noqa: SIM115 - the server's log, closed with it
    gunicorn = BIN / "gunicorn"
    if gunicorn.exists():
        command = [str(gunicorn), "--workers", "2", "--bind", f"{HOST}:{port}",
                   "--error-logfile", "-", "portal:create_app()"]
        kind = "gunicorn, 2 sync workers"
    else:
        command = [str(BIN / "portal"), "run", "--host", HOST, "--port", str(port)]
        kind = "threaded development server (gunicorn not installed)"
    server = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while True:
        try:
            response, _ = Client(port).request("GET", "/healthz")
            if response.status == 200:
                return server, kind
        except OSError:
            pass
        if time.monotonic() > deadline or server.poll() is not None:
            server.kill()
            raise RuntimeError(log_path.read_text(errors="replace")[-3000:])
        time.sleep(0.3)


def hammer(client: Client, path: str, clients: int, seconds: float) -> Stats:
    """``clients`` threads request ``path`` until ``seconds`` have passed."""
    stats = Stats()
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def loop() -> None:
        while time.monotonic() < deadline:
            started = time.perf_counter()
            try:
                response, _ = client.request("GET", path)
                ok = response.status == 200
            except OSError:
                ok = False
            elapsed = time.perf_counter() - started
            with lock:
                stats.latencies.append(elapsed)
                stats.errors += not ok

    started = time.monotonic()
    threads = [threading.Thread(target=loop) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stats.seconds = time.monotonic() - started
    return stats


def run(label: str, url: str, args) -> bool:
    workdir = Path(tempfile.mkdtemp(prefix="load-smoke-"))
    port = free_port()
    env = {**os.environ, "PORTAL_INSTANCE_PATH": str(workdir), "PORTAL_DATABASE_URL": url,
           "PORTAL_REDIS_URL": "", "PORTAL_SMTP_HOST": "", "PORTAL_MAIL_SINK_DIR":
           str(workdir / "mail"), "PORTAL_ENV": "development"}
    started = time.perf_counter()
    build(env, args.residents)
    print(f"\n{label}: demo municipality of {args.residents:,} residents built in "
          f"{time.perf_counter() - started:.0f} s")
    pages = targets(url)
    serve_env = {**env, "PORTAL_ENV": "production",
                 "PORTAL_SECRET_KEY": secrets.token_urlsafe(48),
                 "PORTAL_BASE_URL": f"http://{HOST}:{port}"}
    server, kind = start_server(serve_env, port, workdir / "server.log")
    try:
        from portal.demo.generator import DEMO_DOMAIN, DEMO_PASSWORD

        client = Client(port)
        client.sign_in(f"manager@{DEMO_DOMAIN}", DEMO_PASSWORD)
        for path in pages.values():  # warm up every worker's caches
            for _ in range(4):
                client.request("GET", path)
        # interleaved rounds: on a shared machine the speed drifts over a minute, and a
        # baseline measured once at the start would be compared with other minutes
        results = {name: Stats() for name in pages}
        for _ in range(args.rounds):
            for name, path in pages.items():
                part = hammer(client, path, args.clients, args.seconds / args.rounds)
                results[name].latencies += part.latencies
                results[name].errors += part.errors
                results[name].seconds += part.seconds
    finally:
        server.terminate()
        server.wait(timeout=20)
    print(f"{label} — {kind}; {args.clients} clients × {args.seconds:g} s per page, "
          f"in {args.rounds} interleaved rounds")
    base = results["/healthz"].quantile(0.95)
    print(f"{'page':<18}{'req/s':>8}{'p50 ms':>9}{'p95 ms':>9}{'errors':>8}"
          f"{'p95/p95(healthz)':>18}")
    met = True
    for name, stats in results.items():
        p95 = stats.quantile(0.95)
        ratio = p95 / base
        if name != "/healthz":
            met &= stats.errors == 0 and ratio <= TARGET_RATIO
        print(f"{name:<18}{len(stats.latencies) / stats.seconds:>8.1f}"
              f"{stats.quantile(0.5) * 1000:>9.1f}{p95 * 1000:>9.1f}{stats.errors:>8}"
              f"{ratio:>18.1f}")
    errors = sum(stats.errors for stats in results.values())
    print(f"target: 0 errors, p95 ≤ {TARGET_RATIO:g} × p95(/healthz): "
          f"{'met' if met else 'NOT met'} ({errors} errors)")
    if errors:
        print("server log:", workdir / "server.log")
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    return met


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--residents", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=5,
                        help="split each page's seconds into this many rounds, taken in turn")
    args = parser.parse_args()
    if not 1 <= args.clients <= 64 or not 1 <= args.seconds <= 120 or not 1 <= args.rounds <= 20:
        parser.error("--clients 1–64, --seconds 1–120 and --rounds 1–20")
    met = True
    if args.database in ("sqlite", "both"):
        folder = Path(tempfile.mkdtemp(prefix="load-smoke-db-"))
        try:
            met &= run("SQLite", f"sqlite:///{folder / 'portal.db'}", args)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    if args.database in ("postgresql", "both"):
        url = os.environ.get("PORTAL_BENCH_DATABASE_URL", PG_DEFAULT)
        ensure_database(url)
        drop_schema(url)
        met &= run("PostgreSQL", url, args)
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
