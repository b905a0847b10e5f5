"""A real tf.data service for one run: a dispatcher and N worker processes on localhost.

TensorFlow 2.21's servers listen on every interface (``*:PORT``) and take no address to
bind to. So a run that starts its own service first moves into a network namespace of
its own whose only interface is loopback: the dispatcher and workers it starts inherit
it and nothing outside the run can reach them. Where the kernel refuses a namespace the
run says so in its record and goes on with the host's network.

The nodes are children of the measured process, in its process group: the harness's
reaper kills them with it on a crash, a timeout or Ctrl-C, and their ports go with them.
"""

from __future__ import annotations

import ctypes
import fcntl
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from loadbench.loaders.errors import OptionsError

PROCESSING_MODES = ("parallel_epochs", "distributed_epoch")
START_TIMEOUT_S = 120.0  # a node imports TensorFlow before it listens
CLONE_NEWUSER = 0x10000000
CLONE_NEWNET = 0x40000000
SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP = 0x8913, 0x8914, 0x1


def parse_service(text: str | None) -> list[str]:
    """``--service``: worker counts (``0`` = no service, ``1,2``) or ``grpc://host:port``."""
    if not text:
        return []
    if text.startswith("grpc://"):
        host, _, port = text[len("grpc://") :].rpartition(":")
        if not host or not port.isdigit():
            raise OptionsError(f"--service {text!r}: expected grpc://HOST:PORT")
        return [text]
    try:
        counts = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        counts = []
    if not counts or any(c < 0 or c > 64 for c in counts):
        raise OptionsError(
            f"--service {text!r}: expected worker counts such as 2 or 0,1,2 (0 = no service), "
            "or grpc://HOST:PORT of a dispatcher you run"
        )
    return [str(c) for c in dict.fromkeys(counts)]


def isolate_network() -> str:
    """Move this (still single-threaded) process into a new network namespace with only
    loopback up; return what the run's network is, for the record."""
    libc = ctypes.CDLL(None, use_errno=True)
    uid, gid = os.getuid(), os.getgid()
    if libc.unshare(CLONE_NEWNET) != 0:  # needs CAP_SYS_ADMIN: root, or else a user ns
        if libc.unshare(CLONE_NEWUSER | CLONE_NEWNET) != 0:
            return f"host network: no namespace ({os.strerror(ctypes.get_errno())})"
        Path("/proc/self/setgroups").write_text("deny")
        Path("/proc/self/uid_map").write_text(f"{uid} {uid} 1")
        Path("/proc/self/gid_map").write_text(f"{gid} {gid} 1")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        request = struct.pack("16sH14s", b"lo", 0, b"")
        flags = struct.unpack("16sH14s", fcntl.ioctl(probe, SIOCGIFFLAGS, request))[1]
        fcntl.ioctl(probe, SIOCSIFFLAGS, struct.pack("16sH14s", b"lo", flags | IFF_UP, b""))
    return "loopback only (a network namespace of the run's own)"


@dataclass
class LocalService:
    """A dispatcher and its workers, each a process; ``target`` is the dispatcher."""

    target: str
    dispatcher: subprocess.Popen
    workers: list[subprocess.Popen] = field(default_factory=list)
    scratch: Path | None = None  # where the nodes reported their ports

    @property
    def worker_pids(self) -> list[int]:
        return [w.pid for w in self.workers]

    def stop(self) -> None:
        for node in [*self.workers, self.dispatcher]:
            node.kill()
        for node in [*self.workers, self.dispatcher]:
            node.wait()
        if self.scratch:
            shutil.rmtree(self.scratch, ignore_errors=True)


def start(workers: int, log_dir: Path | None = None) -> LocalService:
    """Start a dispatcher and ``workers`` worker processes on localhost, free ports."""
    if log_dir is not None:
        log_dir.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="loadbench-service-"))
    started: list[subprocess.Popen] = []
    try:
        dispatcher = _node(["dispatcher"], scratch / "dispatcher.port", log_dir, started)
        port = _wait_port(scratch / "dispatcher.port", dispatcher)
        address = f"localhost:{port}"
        nodes = [
            _node(["worker", address], scratch / f"worker-{i}.port", log_dir, started, i)
            for i in range(workers)
        ]
        for index, node in enumerate(nodes):
            _wait_port(scratch / f"worker-{index}.port", node)
        return LocalService(
            target=f"grpc://{address}", dispatcher=dispatcher, workers=nodes, scratch=scratch
        )
    except BaseException:
        for node in started:
            node.kill()
            node.wait()
        shutil.rmtree(scratch, ignore_errors=True)
        raise


def _node(args, port_file: Path, log_dir, started: list, index: int | None = None):
    name = args[0] if index is None else f"{args[0]}-{index}"
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2")}
    command = [
        sys.executable,
        "-m",
        "loadbench.harness.child.data_service_node",
        *args,
        str(port_file),
    ]
    if log_dir is None:
        node = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, env=env
        )
    else:
        with open(log_dir / f"{name}.log", "wb") as log:  # the node keeps its own descriptor
            node = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
    started.append(node)
    return node


def _wait_port(port_file: Path, node: subprocess.Popen[bytes]) -> int:
    name = " ".join(str(part) for part in list(node.args)[3:5])  # type: ignore[arg-type]
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if port_file.is_file():
            return int(port_file.read_text())
        if node.poll() is not None:
            raise RuntimeError(f"tf.data service node {name} exited ({node.returncode})")
        time.sleep(0.05)
    raise RuntimeError(f"tf.data service node {name} did not start in time")
