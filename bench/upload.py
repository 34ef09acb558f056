"""Upload throughput: through the app under gunicorn vs. boto3 straight to the same bucket.

    .venv/bin/python bench/upload.py [--size-mb 1024] [--rounds 3]

Starts a private SeaweedFS on loopback ports (tests/support/seaweed.py) with an object-lock
bucket, a migrated SQLite instance in a temporary folder with one town, one officer, an API
token and one case, and gunicorn (gthread, one worker) serving the app on a free loopback
port. Then, alternately, `rounds` times each: (a) boto3's upload_file of the file straight to
the bucket (its default transfer settings) and (b) the app's upload protocol (POST the upload,
PUT the bytes in one streamed request). Prints per-round figures and, as the last line,

    upload_ratio=… app_mb_s=… boto3_mb_s=… worker_peak_rss_mb=…

ratio = the app's MB/s over boto3's (medians); the worker's peak RSS is its VmHWM after all
rounds. Targets: ratio ≥ 0.9, peak RSS < 150 MB. MB is 10^6 bytes.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.seaweed import seaweed_server  # noqa: E402

BUCKET = "bench-records"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def make_file(path: Path, size: int) -> str:
    """An MP4 header then random bytes (incompressible), written once; returns their SHA-256."""
    digest = hashlib.sha256()
    block = os.urandom(8 * 1024 * 1024)
    ftyp = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2"
    header = ftyp + (size - len(ftyp)).to_bytes(4, "big") + b"mdat"
    with path.open("wb") as out:
        left = size
        n = 0
        while left > 0:
            chunk = block[: min(left, len(block))]
            chunk = n.to_bytes(8, "big") + chunk[8:] if len(chunk) >= 8 else chunk
            if n == 0:
                chunk = header + chunk[len(header):]
            out.write(chunk)
            digest.update(chunk)
            left -= len(chunk)
            n += 1
    return digest.hexdigest()


def prepare_instance(folder: Path, env: dict) -> tuple[str, int]:
    """Migrate the database and create the town, an officer with a token and a case. Returns (token, case id)."""
    script = r"""
import json
from datetime import date, timedelta
from app import create_app
from flask_migrate import upgrade
from enforcement.extensions import db
from enforcement.models import Role
from enforcement.services import audit, cases, catalogue, people
from enforcement.services.cases import PartyData
app = create_app()
with app.app_context():
    upgrade()
    audit.ensure_head()
    body = people.create_body(actor=None, name="基准镇人民政府", short_name="基准", area="基准镇")
    def user(name, role):
        u = people.create_user(actor=None, username=name, name=name, body=body, password="Bench-2026-pass", roles=[role])
        if role == Role.OFFICER:
            people.add_certificate(actor=None, user=u, number="B" + name, issuer="测试", category="城乡建设",
                                   area=body.area, valid_from=date(2024, 1, 1), valid_until=date(2030, 12, 31))
        return u
    a, b, head = user("officer1", Role.OFFICER), user("officer2", Role.OFFICER), user("head1", Role.HEAD)
    matter = catalogue.create_matter(actor=None, body=body, code="B001", name="基准事项", category="penalty",
                                     enforcement_category="城乡建设", legal_basis="基准", route="planning")
    today = date.today()
    case = cases.file_case(actor=a, body=body, matter=matter, route="planning", source="grid_patrol",
        source_detail="", party=PartyData(kind="person", name="张三"), village="东村", place_detail="",
        summary="基准", act_began_on=today - timedelta(days=10), act_ended_on=None,
        discovered_on=today - timedelta(days=1), filed_on=today - timedelta(days=1), officer_ids=[a.id, b.id])
    cases.approve_filing(case, actor=head)
    _, token = people.create_api_token(a, actor=a, name="bench")
    db.session.commit()
    print(json.dumps({"token": token, "case": case.id}))
"""
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env={**env, "MIGRATIONS_IN_PROCESS": "1"},
                         check=True, capture_output=True, text=True)
    answer = json.loads(out.stdout.strip().splitlines()[-1])
    return answer["token"], answer["case"]


def wait_http(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except Exception:  # noqa: BLE001
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer")


def worker_pids(master: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{master}/task/{master}/children").read_text().split()]
    except OSError:
        return []


def peak_rss_mb(pid: int, field: str = "VmHWM") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def upload_through_app(port: int, token: str, case_id: int, path: Path, size: int) -> float:
    """The app's protocol with the standard library: POST the upload, then PUT the file streamed in 1 MiB writes."""
    import http.client

    auth = {"Authorization": f"Bearer {token}"}
    started = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=3600)
    details = json.dumps({"filename": "DSJ_bench.mp4", "size": size, "type_code": "body_camera_video",
                          "av_method": "执法记录仪", "av_maker": "基准", "av_proves": "基准测试"})
    conn.request("POST", f"/api/v1/cases/{case_id}/uploads", body=details.encode(),
                 headers={**auth, "Content-Type": "application/json"})
    begun = conn.getresponse()
    answer = json.loads(begun.read())
    if begun.status != 201:
        raise RuntimeError(f"app upload refused: {begun.status} {answer}")
    conn.putrequest("PUT", f"/api/v1/uploads/{answer['id']}?offset=0")
    for name, value in {**auth, "Content-Type": "application/octet-stream", "Content-Length": str(size)}.items():
        conn.putheader(name, value)
    conn.endheaders()
    with path.open("rb") as body:
        while chunk := body.read(1024 * 1024):
            conn.send(chunk)
    done = conn.getresponse()
    text = done.read()
    elapsed = time.perf_counter() - started
    conn.close()
    if done.status != 201:
        raise RuntimeError(f"app upload failed: {done.status} {text[:300]!r}")
    return elapsed


def upload_with_boto3(client, path: Path, key: str) -> float:
    started = time.perf_counter()
    client.upload_file(str(path), BUCKET, key)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=1024, help="file size in MiB (default 1024)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=8, help="gunicorn threads of the one worker")
    parser.add_argument("--concurrency", type=int, default=None,
                        help="parts the store sends at once (default: the store's default)")
    parser.add_argument("--part-mb", type=int, default=None,
                        help="the store's part size in MiB (default: the store's default)")
    args = parser.parse_args()
    size = args.size_mb * 1024 * 1024

    from storage import store_from_url

    with tempfile.TemporaryDirectory(prefix="bench-upload-") as tmp, seaweed_server() as weed:
        tmp = Path(tmp)
        extra = {"part_size": args.part_mb * 1024 * 1024} if args.part_mb else {}
        if args.concurrency:
            extra["concurrency"] = args.concurrency
        url = weed.store_url(BUCKET, lock_days=1, **extra)
        store_from_url(url).ensure_bucket(object_lock=True)
        print(f"file: {args.size_mb} MiB of random bytes …", file=sys.stderr)
        data = tmp / "video.bin"
        make_file(data, size)
        env = {**os.environ, "APP_ENV": "production", "SECRET_KEY": "bench-secret", "SESSION_COOKIE_SECURE": "0",
               "INSTANCE_PATH": str(tmp / "instance"), "DATABASE_URL": f"sqlite:///{tmp / 'bench.sqlite3'}",
               "STORAGE_URL": url, "MAX_UPLOAD_MB": str(args.size_mb + 1), "PYTHONPATH": str(ROOT)}
        token, case_id = prepare_instance(tmp, env)
        port = free_port()
        gunicorn = subprocess.Popen(
            [str(Path(sys.executable).with_name("gunicorn")), "--worker-class", "gthread", "--workers", "1",
             "--threads", str(args.threads), "--timeout", "3600", "--bind", f"127.0.0.1:{port}",
             "--log-level", "warning", "app:create_app()"],
            cwd=ROOT, env=env, start_new_session=True)
        base = f"http://127.0.0.1:{port}"
        try:
            wait_http(f"{base}/api/v1/openapi.json")
            client = weed.client()
            warm = urllib.request.Request(f"{base}/api/v1/cases/{case_id}/records",
                                          headers={"Authorization": f"Bearer {token}"})
            urllib.request.urlopen(warm, timeout=30).read()
            idle = max((peak_rss_mb(p, "VmRSS") for p in worker_pids(gunicorn.pid)), default=float("nan"))
            print(f"worker RSS after a first request: {idle:.0f} MB", file=sys.stderr)
            app_times, boto_times = [], []
            for n in range(1, args.rounds + 1):
                boto_times.append(upload_with_boto3(client, data, f"bench/direct-{n}"))
                app_times.append(upload_through_app(port, token, case_id, data, size))
                peak = max((peak_rss_mb(p) for p in worker_pids(gunicorn.pid)), default=float("nan"))
                print(f"round {n}: boto3 {size / boto_times[-1] / 1e6:.1f} MB/s, "
                      f"app {size / app_times[-1] / 1e6:.1f} MB/s, worker peak RSS {peak:.0f} MB", file=sys.stderr)
            workers = worker_pids(gunicorn.pid)
            rss = max((peak_rss_mb(p) for p in workers), default=float("nan"))
        finally:
            os.killpg(gunicorn.pid, signal.SIGTERM)
            gunicorn.wait(timeout=30)
        app_mb_s = size / statistics.median(app_times) / 1e6
        boto_mb_s = size / statistics.median(boto_times) / 1e6
        print(f"upload_ratio={app_mb_s / boto_mb_s:.2f} app_mb_s={app_mb_s:.1f} boto3_mb_s={boto_mb_s:.1f} "
              f"worker_peak_rss_mb={rss:.0f}")


if __name__ == "__main__":
    main()
