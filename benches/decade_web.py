#!/usr/bin/env python3
"""The web page, the API, the daemon's memory and the printer's idle time on
a decade database (issue 16), measured against a running release daemon.

    cargo run --release --example decade -- --out /tmp/decade
    cargo build --release
    python3 benches/decade_web.py --db /tmp/decade/legitka.db --bin target/release/legitka

It copies the database (the original is left as it was), starts `legitka
daemon` on the copy with the built-in simulator printing the 5,000 waiting
cards, logs in as an admin, fetches every page and every /api/v1 endpoint
`--rounds` times while the batch prints, samples the daemon's RSS, then reads
the idle gaps between cards from the simulator's feeder.jsonl (next card's
`printing_ms` less this card's `done_ms`). Needs an MQTT broker (--mqtt,
default the machine's Mosquitto at 127.0.0.1:1883). Python's standard
library only.
"""

import argparse
import http.cookiejar
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request

PAGES = [
    "/",
    "/kolejka",
    "/sprawdzenie",
    "/rejestr",
    "/rejestr?q=nowak",
    "/rejestr?q=4a",
    "/rejestr/1",
    "/hologramy",
    "/druki",
    "/raporty",
    "/drukarka",
    "/konta",
    "/dziennik",
    "/dziennik?strona=100",
    "/api/v1/state",
    "/api/v1/orders",
    "/api/v1/orders?page=20",
    "/api/v1/cards",
    "/api/v1/cards?page=100",
    "/api/v1/batches",
    "/api/v1/holograms",
    "/api/v1/blanks",
    "/api/v1/audit",
    "/api/v1/me",
]


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def rss_kb(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return 0
    return 0


def p95(xs):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(0.95 * (len(xs) - 1))))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", required=True)
    ap.add_argument("--bin", required=True)
    ap.add_argument("--mqtt", default="mqtt://127.0.0.1:1883")
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--card-seconds", type=float, default=0.5)
    ap.add_argument("--cards", type=int, default=40,
                    help="cards printed with nobody on the page, for the idle gaps")
    a = ap.parse_args()

    work = tempfile.mkdtemp(prefix="decade-web-")
    db = os.path.join(work, "legitka.db")
    shutil.copy(a.db, db)
    port = free_port()
    sim = os.path.join(work, "sim")
    config = os.path.join(work, "legitka.toml")
    with open(config, "w") as f:
        f.write(
            f"""school = "12345"
station = "decade-bench"
data_dir = "{work}"
[mqtt]
url = "{a.mqtt}"
prefix = "legitka-bench/{port}"
[printer]
uri = "sim"
sim_card_seconds = {a.card_seconds}
sim_out_dir = "{sim}"
operator = "auto"
[queue]
mode = "batch"
[http]
listen = "127.0.0.1:{port}"
"""
        )
    env = dict(os.environ, LEGITKA_LOG="warn")
    subprocess.run(
        [a.bin, "user", "add", "--login", "bench", "--name", "Bench Admin", "--role", "admin",
         "--password-stdin", "--config", config],
        input=b"a long bench password\n", check=True, env=env, stdout=subprocess.DEVNULL,
    )
    log = open(os.path.join(work, "daemon.log"), "w")
    started = time.monotonic()
    daemon = subprocess.Popen([a.bin, "daemon", "--config", config], stdout=log, stderr=log, env=env)
    base = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.1)
    else:
        sys.exit(f"the daemon never served; see {work}/daemon.log")
    up = time.monotonic() - started

    peak = [0]
    done = threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], rss_kb(daemon.pid))
            time.sleep(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()

    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    form = opener.open(f"{base}/logowanie").read().decode()
    csrf = re.search(r'name="_csrf" value="([^"]+)"', form).group(1)
    body = urllib.parse.urlencode(
        {"_csrf": csrf, "login": "bench", "password": "a long bench password"}
    ).encode()
    opener.open(f"{base}/logowanie", data=body).read()

    rows = []
    for path in PAGES:
        times, sizes, status = [], [], None
        for _ in range(a.rounds):
            t = time.perf_counter()
            try:
                r = opener.open(base + path)
                n = len(r.read())
                status = r.status
            except urllib.error.HTTPError as e:
                n = len(e.read())
                status = e.code
            times.append(time.perf_counter() - t)
            sizes.append(n)
        rows.append((path, status, statistics.median(times), p95(times), max(sizes)))

    # The printer's idle time between cards: while the pages were fetched,
    # then with nobody on the page.
    feeder = os.path.join(sim, "feeder.jsonl")

    def feeder_lines():
        try:
            with open(feeder) as f:
                return [json.loads(l) for l in f if l.strip()]
        except OSError:
            return []

    busy_until = len(feeder_lines())
    deadline = time.monotonic() + 600
    lines = []
    while time.monotonic() < deadline:
        lines = feeder_lines()
        if len(lines) >= busy_until + a.cards:
            break
        time.sleep(0.5)
    done.set()
    daemon.send_signal(signal.SIGTERM)
    daemon.wait(timeout=120)

    def gaps_of(ls):
        return [
            (b["printing_ms"] - x["done_ms"])
            for x, b in zip(ls, ls[1:])
            if b.get("printing_ms") is not None
        ]

    busy_gaps = gaps_of(lines[: busy_until + 1])
    gaps = gaps_of(lines[busy_until:])
    print(f"database {a.db} ({os.path.getsize(a.db) / 1e6:.1f} MB), binary {a.bin}")
    print(f"daemon serving after {up:.1f} s")
    print(f"{'path':34} {'status':>6} {'median ms':>10} {'p95 ms':>8} {'bytes':>10}")
    for path, status, med, p, size in rows:
        print(f"{path:34} {status:>6} {med * 1000:>10.1f} {p * 1000:>8.1f} {size:>10}")
    worst = max(rows, key=lambda r: r[3])
    biggest = max(rows, key=lambda r: r[4])
    print(f"slowest p95: {worst[0]} {worst[3] * 1000:.1f} ms; largest answer: {biggest[0]} {biggest[4]} bytes")
    print(f"daemon peak RSS: {peak[0] / 1024:.1f} MB")
    if busy_gaps:
        print(
            f"idle gap between cards while the pages were fetched ({len(busy_gaps)} gaps, "
            f"simulator's clock): median {statistics.median(busy_gaps)} ms, max {max(busy_gaps)} ms"
        )
    if gaps:
        print(
            f"idle gap between cards with nobody on the page ({len(gaps)} gaps): median "
            f"{statistics.median(gaps)} ms, max {max(gaps)} ms"
        )
    else:
        print(f"no cards printed: see {work}/daemon.log")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
