"""HTTP feature server benchmark: ``pitstop serve`` against a raw-ASGI floor
and Feast 0.67's ``feast serve``, side by side in one run, on the same data.

A bounded closed-loop client (blocking sockets, HTTP/1.1 keep-alive, one
connection, on 127.0.0.1) sends Feast-format ``POST /get-online-features``
requests: single entities and batches of 100, three views, 11 features
(``bench/bench_online.py``'s data and project). Servers run in their own
processes, one uvicorn worker each, and are measured in interleaved blocks so
that machine noise hits them alike. Reported per server: p50/p90/p99/max
latency, requests per second (one connection, and ``--connections`` client
processes), and stalls (requests over one second).

Rows:

* ``null server``: a socket server answering a canned response without
  parsing HTTP: the client's own overhead plus loopback;
* ``raw ASGI floor``: uvicorn + uvloop + httptools, orjson-parses the body and
  returns a canned response of Pitstop's size (the floor of the stack);
* ``pitstop``, ``pitstop + token``: ``pitstop serve`` (SQLite store), without
  and with an API token;
* ``feast serve``: Feast 0.67 with its defaults (``bench/feast/serve.py`` builds
  and materializes the repository in ``bench/.feast-venv``).

Usage::

    .venv/bin/python bench/bench_server.py                  # the full run (~30 min)
    .venv/bin/python bench/bench_server.py --quick          # a few seconds, no Feast

Results: a Markdown report (``--out``, default ``bench/results/server.md``;
``--quick`` writes none unless given) and one JSON line on stdout.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
FEAST_VENV = BENCH / ".feast-venv"
TOKEN = "bench-token-0123456789"

# -- the floor app (imported by its own uvicorn process) --------------------------------


def _floor_responses() -> tuple[bytes, bytes]:
    single = Path(os.environ.get("FLOOR_SINGLE", "/dev/null")).read_bytes() or b"{}"
    batch = Path(os.environ.get("FLOOR_BATCH", "/dev/null")).read_bytes() or b"{}"
    return single, batch


async def floor_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Raw ASGI: read the body, parse it, answer a canned response of Pitstop's size."""
    import orjson

    if scope["type"] != "http":
        return
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            break
    request = orjson.loads(b"".join(chunks))
    single, batch = _FLOOR
    body = single if len(request["entities"]["customer_id"]) == 1 else batch
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json"),
                        (b"content-length", str(len(body)).encode())],
        }
    )  # fmt: skip
    await send({"type": "http.response.body", "body": body})


_FLOOR = _floor_responses() if os.environ.get("FLOOR_SINGLE") else (b"{}", b"{}")

NULL_SERVER = r"""
import asyncio, sys, uvloop
body = open(sys.argv[2], "rb").read()
head = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n"
reply = head % len(body) + body
class P(asyncio.Protocol):
    def connection_made(self, t): self.t, self.buf = t, b""
    def data_received(self, data):
        self.buf += data
        while True:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0: return
            head = self.buf[:end].lower()
            i = head.find(b"content-length:")
            n = int(head[i + 15:].split(b"\r\n", 1)[0]) if i >= 0 else 0
            if len(self.buf) < end + 4 + n: return
            self.buf = self.buf[end + 4 + n:]
            self.t.write(reply)
async def main():
    server = await asyncio.get_running_loop().create_server(P, "127.0.0.1", int(sys.argv[1]))
    await server.serve_forever()
uvloop.run(main())
"""


def log(message: str) -> None:
    print(f"[bench_server {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# -- the client -------------------------------------------------------------------------


class Client:
    """A minimal HTTP/1.1 keep-alive client on a blocking socket (microseconds
    of overhead, unlike httpx's ~300 µs); reconnects when the server closes."""

    def __init__(self, port: int, path: str, headers: dict[str, str] | None = None) -> None:
        self.port = port
        extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
        self.head = (
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Content-Type: application/json\r\n{extra}"
        ).encode()
        self.sock: socket.socket | None = None
        self.reconnects = 0

    def _connect(self) -> socket.socket:
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=60)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = sock
        return sock

    def request(self, body: bytes) -> tuple[int, bytes]:
        for attempt in (1, 2):
            sock = self.sock or self._connect()
            try:
                return self._exchange(sock, body)
            except (ConnectionError, OSError):
                # the server closed the connection (e.g. a worker restart)
                sock.close()
                self.sock = None
                self.reconnects += 1
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _exchange(self, sock: socket.socket, body: bytes) -> tuple[int, bytes]:
        sock.sendall(self.head + b"Content-Length: %d\r\n\r\n" % len(body) + body)
        buf = b""
        while b"\r\n\r\n" not in buf:
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed")
            buf += chunk
        head, _, rest = buf.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = int(lines[0].split(b" ", 2)[1])
        length = 0
        close = False
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"connection" and value.strip().lower() == b"close":
                close = True
        while len(rest) < length:
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed")
            rest += chunk
        if close:
            sock.close()
            self.sock = None
        return status, rest[:length]

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None


class HttpxClient:
    """The issue's reference client (httpx, one keep-alive connection): the
    targets were set with it; its own overhead is ~0.3 ms per request."""

    def __init__(self, port: int, path: str, headers: dict[str, str] | None = None) -> None:
        import httpx

        self.url = f"http://127.0.0.1:{port}{path}"
        self.client = httpx.Client(
            headers={"Content-Type": "application/json", **(headers or {})}, timeout=60
        )
        self.reconnects = 0

    def request(self, body: bytes) -> tuple[int, bytes]:
        response = self.client.post(self.url, content=body)
        return response.status_code, response.content

    def close(self) -> None:
        self.client.close()


def timed(client: Client | HttpxClient, bodies: list[bytes], count: int, offset: int) -> list[int]:
    """``count`` closed-loop requests; latencies in ns; any non-200 aborts the run."""
    clock = time.perf_counter_ns
    out = []
    n = len(bodies)
    for i in range(count):
        body = bodies[(offset + i) % n]
        began = clock()
        status, payload = client.request(body)
        out.append(clock() - began)
        if status != 200:
            raise RuntimeError(f"HTTP {status}: {payload[:300]!r}")
    return out


def _throughput_worker(args: tuple[int, str, dict[str, str], list[bytes], float]) -> int:
    port, path, headers, bodies, seconds = args
    client = Client(port, path, headers)
    done = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        status, _ = client.request(bodies[done % len(bodies)])
        if status != 200:
            raise RuntimeError(f"HTTP {status}")
        done += 1
    client.close()
    return done


def throughput(port: int, path: str, headers: dict[str, str], bodies: list[bytes],
               connections: int, seconds: float) -> float:  # fmt: skip
    """Requests per second with ``connections`` closed-loop client processes."""
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(connections) as pool:
        began = time.monotonic()
        counts = pool.map(
            _throughput_worker,
            [(port, path, headers, bodies[i::connections] or bodies, seconds)
             for i in range(connections)],
        )  # fmt: skip
        elapsed = time.monotonic() - began
    return sum(counts) / max(elapsed, seconds)


# -- servers ----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start(name: str, command: list[str], env: dict[str, str], port: int, work: Path,
          timeout: float = 180) -> subprocess.Popen[bytes]:  # fmt: skip
    logfile = (work / f"{name.replace(' ', '_')}.log").open("wb")
    process = subprocess.Popen(command, env=env, stdout=logfile, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited; see {logfile.name}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
        except OSError:
            if time.monotonic() > deadline:
                process.kill()
                raise RuntimeError(f"{name} did not start; see {logfile.name}") from None
            time.sleep(0.2)
    return process


def percentile(ordered: list[int], q: float) -> float:
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))] / 1e3


def summary(samples: list[int]) -> dict[str, Any]:
    ordered = sorted(samples)
    return {
        "requests": len(ordered),
        "p50_us": round(percentile(ordered, 0.50), 1),
        "p90_us": round(percentile(ordered, 0.90), 1),
        "p99_us": round(percentile(ordered, 0.99), 1),
        "max_us": round(ordered[-1] / 1e3, 1),
        "mean_us": round(statistics.fmean(ordered) / 1e3, 1),
        "rps_one_connection": round(len(ordered) / (sum(ordered) / 1e9), 1),
        "over_1s": sum(1 for s in ordered if s > 1_000_000_000),
    }


# -- the run ----------------------------------------------------------------------------


def prepare(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    """bench_online's data and project, materialized into SQLite; request bodies."""
    sys.path.insert(0, str(BENCH))
    import bench_online
    import orjson
    import pyarrow.parquet as pq

    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "False")
    data = bench_online.write_data(work, args.rows, args.entities)
    project = bench_online.write_project(work)
    env = {
        "PITSTOP_PROJECT_DIR": str(project),
        "DBT_PROFILES_DIR": str(project),
        "PITSTOP_DUCKDB_PATH": str(work / "offline.duckdb"),
        "PITSTOP_ONLINE_STORE": f"sqlite:{work / 'online.sqlite'}",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
        "DO_NOT_TRACK": "1",
        "MLFLOW_DISABLE_TELEMETRY": "true",
    }
    os.environ.update(env)
    os.environ.pop("DBT_TARGET_PATH", None)
    log("materialize (SQLite)")
    materialized = bench_online.run_materialize(project, full=True)
    refs = []
    for name, spec in bench_online.VIEWS.items():
        skip = {spec["key"], "feature_at", spec["created"]}
        refs += [f"{name}:{c}" for c, _ in spec["columns"] if c not in skip]
    pairs = pq.read_table(work / "entity_rows.parquet").to_pylist()
    rng = random.Random(42)

    def body(rows: list[dict[str, int]]) -> bytes:
        return orjson.dumps(
            {
                "features": refs,
                "entities": {
                    "customer_id": [r["customer_id"] for r in rows],
                    "merchant_id": [r["merchant_id"] for r in rows],
                },
                "full_feature_names": True,
            }
        )

    single = [body([rng.choice(pairs)]) for _ in range(5000)]
    batch = [body(rng.sample(pairs, 100)) for _ in range(200)]
    return {"project": project, "env": env, "data": data, "materialize": materialized,
            "refs": refs, "single": single, "batch": batch, "pairs": pairs}  # fmt: skip


def feast_config(work: Path, refs: list[str]) -> Path:
    sys.path.insert(0, str(BENCH))
    import bench_online

    config = {
        "entity_rows": str(work / "entity_rows.parquet"),
        "feature_views": [
            {
                "name": name,
                "path": str(work / f"{name}.parquet"),
                "entities": [spec["key"]],
                "timestamp_column": "feature_at",
                "created_timestamp_column": spec["created"],
                "ttl_seconds": 30 * 86_400,
                "features": [r.split(":", 1)[1] for r in refs if r.startswith(name + ":")],
            }
            for name, spec in bench_online.VIEWS.items()
        ],
    }
    path = work / "feast_serve_config.json"
    path.write_text(json.dumps(config))
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--entities", type=int, default=100_000)
    parser.add_argument(
        "--requests",
        type=int,
        default=100_000,
        help="single-entity requests per server (the stall check counts these)",
    )
    parser.add_argument("--batch-requests", type=int, default=3_000)
    parser.add_argument(
        "--feast-requests",
        type=int,
        default=20_000,
        help="single-entity requests to Feast (it is ~10x slower)",
    )
    parser.add_argument("--warmup", type=int, default=2_000)
    parser.add_argument("--blocks", type=int, default=10, help="interleaved blocks per server")
    parser.add_argument(
        "--connections", type=int, default=4, help="client processes of the throughput run"
    )
    parser.add_argument("--throughput-seconds", type=float, default=10.0)
    parser.add_argument(
        "--clients", default="raw,httpx", help="client kinds, comma-separated: raw (sockets), httpx"
    )
    parser.add_argument(
        "--httpx-share",
        type=float,
        default=0.2,
        help="the httpx run sends this share of the raw run's requests",
    )
    parser.add_argument("--no-feast", action="store_true")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="tiny data and request counts, no Feast: checks the script runs",
    )
    parser.add_argument("--work", default=str(Path(tempfile.gettempdir()) / "pitstop-bench-server"))
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)  # fmt: skip
    if args.quick:
        args.rows, args.entities = 20_000, 2_000
        args.requests, args.batch_requests, args.feast_requests = 2_000, 200, 500
        args.warmup, args.blocks, args.connections, args.throughput_seconds = 200, 2, 2, 1.0
        args.no_feast = True
        args.work = args.work + "-quick"
    args.clients = [c.strip() for c in args.clients.split(",") if c.strip()]
    if not set(args.clients) <= {"raw", "httpx"}:
        parser.error("--clients takes raw and/or httpx")
    out = args.out or (None if args.quick else str(BENCH / "results" / "server.md"))
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{work / 'online.sqlite'}{suffix}").unlink(missing_ok=True)

    prep = prepare(args, work)
    env = {**os.environ, **prep["env"]}
    env.pop("PITSTOP_SERVE_TOKENS", None)
    env.pop("PITSTOP_SERVE_TOKENS_FILE", None)
    python = sys.executable
    servers: dict[str, dict[str, Any]] = {}
    processes: list[subprocess.Popen[bytes]] = []
    path = "/get-online-features"
    try:
        port = free_port()
        log("starting pitstop serve")
        processes.append(start("pitstop", [python, "-m", "pitstop", "serve", "--port", str(port)],
                               env, port, work))  # fmt: skip
        servers["pitstop"] = {"port": port, "headers": {}}
        port = free_port()
        from pitstop.serving.auth import hash_token

        auth_env = {**env, "PITSTOP_SERVE_TOKENS": f"bench {hash_token(TOKEN)} *"}
        processes.append(start("pitstop + token",
                               [python, "-m", "pitstop", "serve", "--port", str(port)],
                               auth_env, port, work))  # fmt: skip
        servers["pitstop + token"] = {"port": port, "headers": {"Authorization": f"Bearer {TOKEN}"}}

        # the floor answers exactly Pitstop's responses, canned
        probe = Client(servers["pitstop"]["port"], path)
        status, single_response = probe.request(prep["single"][0])
        assert status == 200, single_response
        _, batch_response = probe.request(prep["batch"][0])
        probe.close()
        present = json.loads(batch_response)
        statuses = [s for r in present["results"][2:] for s in r["statuses"]]
        found = statuses.count("PRESENT") / max(1, len(statuses))
        (work / "floor_single.json").write_bytes(single_response)
        (work / "floor_batch.json").write_bytes(batch_response)
        port = free_port()
        floor_env = {**env, "FLOOR_SINGLE": str(work / "floor_single.json"),
                     "FLOOR_BATCH": str(work / "floor_batch.json")}  # fmt: skip
        processes.append(start("raw ASGI floor", [
            python, "-m", "uvicorn", "bench_server:floor_app", "--app-dir", str(BENCH),
            "--host", "127.0.0.1", "--port", str(port), "--loop", "uvloop", "--http", "httptools",
            "--no-access-log", "--lifespan", "off", "--log-level", "warning",
        ], floor_env, port, work))  # fmt: skip
        servers["raw ASGI floor"] = {"port": port, "headers": {}}
        port = free_port()
        null = [python, "-c", NULL_SERVER, str(port), str(work / "floor_single.json")]
        processes.append(start("null server", null, env, port, work))
        servers["null server"] = {"port": port, "headers": {}, "single_only": True}

        feast: dict[str, Any] | None = None
        if not args.no_feast:
            feast = start_feast(work, prep, env)
            if feast is not None:
                processes.append(feast.pop("process"))
                servers["feast serve"] = feast

        results = measure(args, prep, servers, path)
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
    results_all = {
        "when": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{os.cpu_count()} cores, {platform.python_implementation()} "
        f"{platform.python_version()}",
        "argv": " ".join(argv if argv is not None else sys.argv[1:]),
        "load": [round(x, 1) for x in os.getloadavg()],
        "data": prep["data"],
        "features": len(prep["refs"]),
        "connections": args.connections,
        "clients": args.clients,
        "present_fraction_batch": round(found, 4),
        "servers": results,
    }
    text = report(results_all)
    print(text, file=sys.stderr)
    if out:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text(text)
        log(f"report written to {out}")
    print(json.dumps(results_all, default=str))
    return 0


def start_feast(work: Path, prep: dict[str, Any], env: dict[str, str]) -> dict[str, Any] | None:
    python = FEAST_VENV / "bin" / "python"
    if not python.exists():
        log("setting up the Feast venv (bench/feast/setup.sh)")
        subprocess.run([str(BENCH / "feast" / "setup.sh")], check=True)
    repo = work / "feast_repo"
    if not (repo / "feature_store.yaml").exists():
        log("Feast 0.67: register and materialize (minutes)")
        done = subprocess.run(
            [str(python), str(BENCH / "feast" / "serve.py"),
             str(feast_config(work, prep["refs"])), str(repo)],
            capture_output=True, text=True,
        )  # fmt: skip
        if done.returncode != 0:
            log(f"Feast setup failed:\n{done.stderr[-3000:]}")
            return None
    port = free_port()
    feast_env = {**env, "FEAST_USAGE": "False", "DO_NOT_TRACK": "1"}
    process = start("feast serve", [
        str(FEAST_VENV / "bin" / "feast"), "-c", str(repo), "serve",
        "-h", "127.0.0.1", "-p", str(port), "--no-access-log",
    ], feast_env, port, work, timeout=300)  # fmt: skip
    # Feast's names: the same requests (view:feature refs, full names) work unchanged
    return {"port": port, "headers": {}, "process": process, "feast": True}


def measure(args: argparse.Namespace, prep: dict[str, Any], servers: dict[str, dict[str, Any]],
            path: str) -> dict[str, Any]:  # fmt: skip
    """Per client kind (raw sockets, httpx) and server: interleaved blocks of
    single-entity and 100-entity requests; then the multi-connection throughput."""
    results: dict[str, Any] = {name: {} for name in servers}
    for kind in args.clients:
        make = Client if kind == "raw" else HttpxClient
        clients = {name: make(s["port"], path, s["headers"]) for name, s in servers.items()}
        share = 1.0 if kind == "raw" else args.httpx_share
        log(f"{kind} client: warm-up")
        for name, client in clients.items():
            count = args.warmup if not servers[name].get("feast") else min(args.warmup, 500)
            timed(client, prep["single"], count, 0)
            if not servers[name].get("single_only"):
                timed(client, prep["batch"], max(count // 20, 5), 0)
        singles: dict[str, list[int]] = {name: [] for name in servers}
        batches: dict[str, list[int]] = {name: [] for name in servers}
        for block in range(args.blocks):
            for name, client in clients.items():
                feast = servers[name].get("feast")
                total = int((args.feast_requests if feast else args.requests) * share)
                count = max(total // args.blocks, 1)
                singles[name] += timed(client, prep["single"], count, block * count)
                if not servers[name].get("single_only"):
                    batch_count = max(int(args.batch_requests * share) // args.blocks, 2)
                    if feast:
                        batch_count = max(batch_count // 5, 2)
                    batches[name] += timed(client, prep["batch"], batch_count, block * batch_count)
            log(f"{kind} client: block {block + 1}/{args.blocks} done")
        for name, client in clients.items():
            client.close()
            results[name][kind] = {
                "single": summary(singles[name]),
                "batch_100": summary(batches[name]) if batches[name] else None,
                "reconnects": client.reconnects,
            }
    log(f"throughput: {args.connections} client processes x {args.throughput_seconds:g} s")
    for name, server in servers.items():
        results[name]["rps_connections"] = round(
            throughput(server["port"], path, server["headers"], prep["single"][:1000],
                       args.connections, args.throughput_seconds), 1,
        )  # fmt: skip
    return results


def report(results: dict[str, Any]) -> str:
    servers = results["servers"]
    lines = [
        "# HTTP feature server benchmark",
        "",
        f"{results['when']}, {results['machine']}, load {results['load']}; "
        f"`bench/bench_server.py {results['argv']}`.",
        f"Data: {results['data'].get('counts')}; {results['features']} features in 3 views; "
        f"{results['present_fraction_batch']:.0%} of batch values PRESENT.",
        "",
        "Closed loop, one keep-alive connection on 127.0.0.1, Feast-format "
        "`POST /get-online-features`; latencies in µs; `raw`: a socket client of a few "
        "µs overhead, `httpx`: the client the issue's targets were set with.",
    ]
    for kind in results["clients"]:
        lines += [
            "",
            f"### {kind} client",
            "",
            "| server | single p50 | p90 | p99 | max | req/s (1 conn) | batch-100 p50 | "
            "batch-100 p99 | >1 s | requests |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for name, r in servers.items():
            s, b = r[kind]["single"], r[kind]["batch_100"]
            lines.append(
                f"| {name} | {s['p50_us']} | {s['p90_us']} | {s['p99_us']} | {s['max_us']} | "
                f"{s['rps_one_connection']} | {b['p50_us'] if b else ''} | "
                f"{b['p99_us'] if b else ''} | {s['over_1s']} | {s['requests']:,} |"
            )
    rates = ", ".join(f"{n} {r['rps_connections']:,.0f} req/s" for n, r in servers.items())
    lines += ["", f"Throughput, {results['connections']} client processes (raw client): {rates}"]
    pit, floor = servers.get("pitstop"), servers.get("raw ASGI floor")
    null, feast = servers.get("null server"), servers.get("feast serve")
    lines += ["", "Targets (single entity, 3 views, one worker):", ""]
    for kind in results["clients"]:
        if not (pit and floor):
            break
        ps, fs = pit[kind]["single"], floor[kind]["single"]
        ratio = ps["p50_us"] / fs["p50_us"]
        b50 = pit[kind]["batch_100"]["p50_us"]
        lines.append(
            f"- {kind}: p50 {ratio:.2f}x the raw-ASGI floor (target ≤ 1.25x): "
            f"{'met' if ratio <= 1.25 else 'missed'}; p99 {ps['p99_us']:,.0f} µs "
            f"(target ≤ 2,000): {'met' if ps['p99_us'] <= 2000 else 'missed'}; "
            f"100 entities p50 {b50 / 1000:.2f} ms "
            f"(target ≤ 3): {'met' if b50 <= 3000 else 'missed'}"
        )
    if pit and "raw" in results["clients"]:
        stalls = pit["raw"]["single"]["over_1s"]
        lines.append(
            f"- requests over 1 s: {stalls} of {pit['raw']['single']['requests']:,} "
            f"(target 0): {'met' if stalls == 0 else 'missed'}"
        )
    if pit and feast:
        ratio = pit["rps_connections"] / max(feast["rps_connections"], 1e-9)
        lines.append(
            f"- requests per second {ratio:.1f}x Feast's with {results['connections']} "
            f"connections (target ≥ 6x): {'met' if ratio >= 6 else 'missed'}"
        )
        for kind in results["clients"]:
            one = (
                pit[kind]["single"]["rps_one_connection"]
                / feast[kind]["single"]["rps_one_connection"]
            )
            restarts = feast[kind]["reconnects"]
            lines.append(
                f"- {kind}, one connection: {one:.1f}x Feast's requests per second; "
                f"Feast reconnects (worker restarts): {restarts}"
            )
    elif pit:
        lines.append("- Feast not run (`--no-feast` or `--quick`): no requests-per-second ratio")
    if null:
        for kind in results["clients"]:
            n = null[kind]["single"]
            lines.append(
                f"- client overhead, {kind} (null server: canned reply, no HTTP "
                f"parsing, loopback included): p50 {n['p50_us']} µs, "
                f"p99 {n['p99_us']} µs"
            )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
