"""Hostile packs and directories: nothing runs that should not, nothing outlives its run.

Every test here is bounded in time and processes and cleans up after itself when it fails:
`leftovers` kills whatever a test's snippets left behind before it asserts they are gone.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import site
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from gradquiz.lab import client, enclosure
from gradquiz.lab.client import Lab
from gradquiz.lab.protocol import Limits, Snippet, VariantRequest
from gradquiz.lab.sandbox import StepCell
from tests.conftest import write

GRADQUIZ = Path(sys.executable).parent / "gradquiz"
TAG = "GRADQUIZ_HOSTILE_TEST"


def pack(body: str, *, watch: str = "{n: step}", timeout: float = 5, extra: str = "") -> str:
    """One question whose experiment runs `body`; `extra` adds keys to the question."""
    code = "\n".join(f"        {line}" for line in body.splitlines())
    return f"""\
pack:
  title: Hostile
questions:
  - id: hostile
    type: numeric
    title: Hostile
    prompt: What is n?
    topic: hostile
    experiment:
      timeout: {timeout}
      code: |
{code}
      watch: {watch}
{extra}    answer: {{expr: "1", value: 1}}
"""


def tagged_processes(tag: str) -> list[int]:
    """Processes whose environment carries `tag` (every process our snippets start does)."""
    found = []
    needle = f"{TAG}={tag}".encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if needle in (entry / "environ").read_bytes().split(b"\0"):
                state = (entry / "stat").read_bytes().rsplit(b")", 1)[1].split()[0]
                if state != b"Z":
                    found.append(int(entry.name))
        except OSError:
            continue
    return found


@pytest.fixture
def leftovers(request: pytest.FixtureRequest) -> Iterator[str]:
    """A tag for this test's processes; whatever carries it at the end is killed."""
    tag = f"{os.getpid()}-{request.node.name}"
    yield tag
    for pid in tagged_processes(tag):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)


def gradquiz_in(
    cwd: Path, *args: str, tag: str = "", timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """The installed command, started in `cwd` as a learner would start it there."""
    env = {**os.environ, TAG: tag}
    return subprocess.run(
        [str(GRADQUIZ), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def settled(tag: str, seconds: float = 5) -> list[int]:
    """The tagged processes still alive once `seconds` have passed (or none are left)."""
    deadline = time.monotonic() + seconds
    while (alive := tagged_processes(tag)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return alive


def test_modules_in_the_current_directory_never_run(tmp_path: Path, leftovers: str) -> None:
    marker = tmp_path / "ran"
    for name in ("json", "struct", "torch", "gradquiz"):
        write(tmp_path, f"{name}.py", f"open({str(marker)!r}, 'a').write('{name} ')\n")
    write(tmp_path, "course/q.yaml", pack("x = 1"))
    done = gradquiz_in(tmp_path, "run", "--questions", "course/q.yaml", "hostile", tag=leftovers)
    assert done.returncode == 0, done.stderr
    assert "hostile" in done.stdout and "1" in done.stdout
    assert not marker.exists(), marker.read_text()


# Each leaves processes behind in its own way; each keeps the result pipe open too.
DAEMON = """\
import os, time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        time.sleep(300)
    os._exit(0)
"""
SLEEPERS = """\
import os, time
if os.fork() == 0:
    os.setsid()
    for _ in range(200):
        if os.fork() == 0:
            time.sleep(300)
            os._exit(0)
    time.sleep(300)
"""
HOLDER = """\
import os, time
if os.fork() == 0:
    os.setsid()
    time.sleep(300)
"""


# Forges a final frame into its result pipe, then goes on as if nothing happened.
FORGER = """\
import os, stat
for fd in map(int, os.listdir('/proc/self/fd')):
    try:
        if fd > 2 and stat.S_ISFIFO(os.fstat(fd).st_mode):
            os.write(fd, b'\\x00\\x00\\x00\\x0b{"done": 5}')
    except OSError:
        pass
"""


def hostile_bank(directory: Path) -> Path:
    text = pack(DAEMON)
    for name, body in (("sleepers", SLEEPERS), ("holder", HOLDER), ("forger", FORGER)):
        question = pack(body).split("questions:\n", 1)[1].replace("id: hostile", f"id: {name}")
        text += question
    return write(directory, "hostile.yaml", text)


@pytest.mark.parametrize("question", ["hostile", "sleepers", "holder"])
def test_run_leaves_no_process_and_does_not_wait_for_the_pipe(
    tmp_path: Path, leftovers: str, question: str
) -> None:
    bank = hostile_bank(tmp_path)
    started = time.monotonic()
    done = gradquiz_in(tmp_path, "run", "--questions", str(bank), question, tag=leftovers)
    elapsed = time.monotonic() - started
    assert done.returncode == 0, done.stderr
    assert "error" not in done.stdout.lower(), done.stdout
    assert settled(leftovers) == []
    # The run itself is well under its 5 s timeout; the rest is the worker's start.
    assert elapsed < 5 + 30


def test_check_leaves_no_process_and_reports_the_forgery(tmp_path: Path, leftovers: str) -> None:
    bank = hostile_bank(tmp_path)
    done = gradquiz_in(tmp_path, "check", str(bank), tag=leftovers)
    assert "4 questions in 1 file," in done.stderr, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert (
        f"{bank}:57:5: variant main: BrokenResult: the experiment sent a broken result: "
        "a frame of no known kind (None)"
    ) in done.stdout
    assert settled(leftovers) == []


def test_closing_the_apps_lab_mid_run_leaves_no_process(leftovers: str) -> None:
    from gradquiz.tui.labpool import SharedLab

    os.environ[TAG] = leftovers  # what the worker and its runs inherit
    try:
        shared = SharedLab(1)
        code = SLEEPERS.removesuffix("    time.sleep(300)\n") + "while True:\n    pass\n"
        runner = threading.Thread(target=shared.run_all, args=([hostile(code, timeout=60)],))
        runner.start()
        deadline = time.monotonic() + 60
        while len(tagged_processes(leftovers)) < 50:
            assert time.monotonic() < deadline, "the sleepers never started"
            time.sleep(0.05)
        shared.close()
        runner.join(timeout=30)
        assert not runner.is_alive()
    finally:
        del os.environ[TAG]
    assert settled(leftovers) == []


@pytest.mark.skipif(not enclosure.available(), reason="no unprivileged user + PID namespaces")
@pytest.mark.parametrize("victim", ["worker", "server"])
def test_a_worker_killed_with_sigkill_takes_the_runs_daemons_with_it(
    leftovers: str, victim: str
) -> None:
    """Killed mid-run, before the server could sweep: the namespace's end takes the daemon.
    `worker` is the process gradquiz started, `server` the one it talks to inside."""
    os.environ[TAG] = leftovers
    try:
        lab = Lab(1)
        worker = lab.workers[0]
        lab.torch_version  # noqa: B018 (started: the server has said its pid)
        assert worker.process is not None and worker.pid is not None
        before = set(tagged_processes(leftovers))
        runner = threading.Thread(
            target=lab.run, args=(hostile(DAEMON + "while True:\n    pass\n", timeout=60),)
        )
        runner.start()
        deadline = time.monotonic() + 30
        while not set(tagged_processes(leftovers)) - before:
            assert time.monotonic() < deadline, "the daemon never started"
            time.sleep(0.05)
        os.kill(worker.process.pid if victim == "worker" else worker.pid, signal.SIGKILL)
        runner.join(timeout=60)
        assert not runner.is_alive()
        lab.close()
    finally:
        del os.environ[TAG]
    assert settled(leftovers) == []


def test_a_run_holds_no_capabilities_and_cannot_mount(lab: Lab) -> None:
    """In the worker's user namespace a run must not get the capabilities it grants: a
    mount over /proc would blind the sweep that ends what the run leaves behind."""
    code = """\
import ctypes, os
capabilities = [l.split()[1] for l in open('/proc/self/status') if l.startswith('CapEff')][0]
libc = ctypes.CDLL(None, use_errno=True)
mounted = libc.mount(b'none', os.getcwd().encode(), b'tmpfs', 0, None)
errno = ctypes.get_errno()
"""
    result = lab.run(hostile(code, watch={"caps": "capabilities", "mount": "[mounted, errno]"}))
    assert result.error is None, result.error
    assert result.rows[0].values == {"caps": "0000000000000000", "mount": [-1, 1]}  # EPERM


def test_a_run_ends_at_its_timeout_whatever_its_children_do(tmp_path: Path, leftovers: str) -> None:
    body = HOLDER + "else:\n    while True:\n        pass\n"
    write(tmp_path, "q.yaml", pack(body, timeout=2))
    started = time.monotonic()
    done = gradquiz_in(tmp_path, "run", "--questions", "q.yaml", "hostile", "--json", tag=leftovers)
    elapsed = time.monotonic() - started
    assert "timed out after 2 s" in done.stdout, done.stdout + done.stderr
    assert settled(leftovers) == []
    assert elapsed < 2 + 30


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the probes are Linux's")
def test_doctor_reports_what_this_machine_enforces(tmp_path: Path) -> None:
    done = gradquiz_in(tmp_path, "doctor", "--json")
    found = {f["name"]: f for f in json.loads(done.stdout)}
    subreaper = found["processes a snippet starts end with its run (child subreaper)"]
    assert subreaper["held"] is True
    assert "killed after each run" in subreaper["detail"]
    namespace = found[
        "a worker killed with SIGKILL takes its runs' processes with it (user + PID namespace)"
    ]
    assert namespace["held"] is enclosure.available()
    said = "ends as a whole" if namespace["held"] else "not enforced"
    assert said in namespace["detail"]
    # Root is exempt from RLIMIT_NPROC, and the report says so rather than claim the cap.
    nproc = found["a run's processes and threads are capped (RLIMIT_NPROC)"]
    assert nproc["held"] is (os.geteuid() != 0)
    assert found["what the worker reads from a run is bounded"]["held"] is True


def hostile(
    code: str,
    watch: dict[str, str] | None = None,
    verify: str | None = None,
    answer: str | None = None,
    timeout: float = 10,
    limits: Limits | None = None,
) -> VariantRequest:
    return VariantRequest(
        question="q",
        variant="v",
        code=Snippet(code, "q.yaml", 20),
        watch=None
        if watch is None
        else tuple((k, Snippet(v, "q.yaml", 5)) for k, v in watch.items()),
        verify=None if verify is None else Snippet(verify, "q.yaml", 30),
        answer=None if answer is None else Snippet(answer, "q.yaml", 31),
        limits=limits or Limits(timeout=timeout),
    )


# Writes `frame` (bytes) into every pipe the snippet can write to: the result pipe among them.
FORGE = """\
import os, stat
for fd in map(int, os.listdir('/proc/self/fd')):
    try:
        if stat.S_ISFIFO(os.fstat(fd).st_mode):
            os.write(fd, {frame!r})
    except OSError:
        pass
"""


def framed(payload: bytes) -> bytes:
    return len(payload).to_bytes(4, "big") + payload


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (framed(b"hello"), "a frame that is not JSON"),
        (framed(b"[]"), "a frame that is not a JSON object"),
        (framed(b'{"kind": "forged"}'), "a frame of no known kind ('forged')"),
        (
            framed(b'{"kind": "done", "error": 5, "verify": null, "answer": null}'),
            "done.error is int, not RunError or null",
        ),
        (framed(b'{"kind": "done", "error": null}'), "done has no 'verify'"),
        (framed(b'{"kind": "row", "row": {"step": true, "values": {}}}'), "row.row.step is bool"),
        (
            framed(b'{"kind": "ready", "pid": 1, "torch": "9"}'),
            "a 'ready' frame, which experiments do not send",
        ),
        (b"\x7f\xff\xff\xff", "over the"),
        (b"\x00\x00\x01\x00{", "stopped in the middle of a frame"),
    ],
)
def test_forged_frames_are_a_broken_result(lab: Lab, frame: bytes, message: str) -> None:
    started = time.monotonic()
    result = lab.run(hostile(FORGE.format(frame=frame), timeout=20))
    assert time.monotonic() - started < 10
    assert result.error is not None, result
    assert result.error.type == "BrokenResult"
    assert result.error.message.startswith("the experiment sent a broken result") or (
        "stopped in the middle" in result.error.message
    )
    assert message in result.error.message
    assert lab.run(hostile("x = 2", watch={"x": "x"})).rows[0].values == {"x": 2}


def test_an_output_file_replaced_by_a_fifo_does_not_hang(lab: Lab) -> None:
    code = (
        "import os\nprint('gone')\nos.remove('.gradquiz-output')\nos.mkfifo('.gradquiz-output')\n"
    )
    started = time.monotonic()
    result = lab.run(hostile(code, watch={"ok": "1"}, timeout=3))
    assert time.monotonic() - started < 2
    assert result.error is None and result.rows[0].values == {"ok": 1}
    assert result.output == "gone\n"


def test_exit_and_interrupt_in_watch_and_verify_are_values_and_errors(lab: Lab) -> None:
    result = lab.run(
        hostile(
            "x = 1",
            watch={"bye": "__import__('sys').exit(3)", "x": "x"},
            verify="(_ for _ in ()).throw(KeyboardInterrupt)",
            answer="__import__('sys').exit('no')",
        )
    )
    assert result.error is None
    assert result.rows[0].values == {"bye": "<SystemExit: 3>", "x": 1}
    assert result.verify is not None and result.verify.error == "KeyboardInterrupt"
    assert result.answer is not None and result.answer.error == "SystemExit: no"


def test_closing_its_own_descriptors_is_said_plainly(lab: Lab) -> None:
    result = lab.run(hostile("import os\nos.closerange(3, 1 << 16)\n", watch={"x": "1"}))
    assert result.error is not None
    assert result.error.message == (
        "the experiment closed the pipe its results go back through "
        "(does its code close file descriptors?)"
    )


def test_a_huge_integer_answer_is_an_error_and_a_huge_watch_is_text(lab: Lab) -> None:
    result = lab.run(hostile("n = 10**400", watch={"n": "n"}, answer="n"))
    assert result.answer is not None
    assert result.answer.error == "OverflowError: an integer of 401 digits is too large"
    assert result.rows[0].values["n"] == "1" + "0" * 400


def test_a_lone_surrogate_is_spelled_out(lab: Lab) -> None:
    result = lab.run(hostile("s = 'a\\udc80b'\nraise ValueError(s)\n", watch={"s": "s"}))
    assert result.error is not None and result.error.message == "a\\udc80b"


@pytest.mark.parametrize("fmt", ["text", "json", "markdown", "csv"])
def test_odd_values_print_in_every_run_format(tmp_path: Path, fmt: str) -> None:
    body = "s = 'a\\udc80b'\nbig = 10**400"
    question = pack(body, watch="{s: s, big: big}").replace('expr: "1"', 'expr: "big"')
    write(tmp_path, "q.yaml", question)
    done = gradquiz_in(tmp_path, "run", "--questions", "q.yaml", "hostile", "--format", fmt)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert "a\\udc80b" in done.stdout.replace("\\\\", "\\")
    check = gradquiz_in(tmp_path, "check", "q.yaml")
    assert "Traceback" not in check.stderr
    assert "OverflowError: an integer of 401 digits is too large" in check.stdout, check.stdout


def test_a_worker_that_cannot_start_is_restarted_up_to_the_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    starts = tmp_path / "starts"
    failing = (
        f"open({str(starts)!r}, 'a').write('x')\n"
        "import sys\n"
        "print('Traceback (most recent call last):', file=sys.stderr)\n"
        "print(\"ModuleNotFoundError: No module named 'torch'\", file=sys.stderr)\n"
        "sys.exit(1)\n"
    )
    monkeypatch.setattr(client, "worker_command", lambda _: [sys.executable, "-c", failing])
    with Lab(1) as lab:
        first = lab.run(hostile("x = 1"))
        assert first.error is not None and first.error.type == "WorkerDied"
        assert first.error.message == (
            "the worker exited with code 1; a new worker was started; its last words:\n"
            "Traceback (most recent call last):\n"
            "ModuleNotFoundError: No module named 'torch'"
        )
        for _ in range(client.RESTART_LIMIT):
            last = lab.run(hostile("x = 1"))
        assert last.error is not None
        assert last.error.message.startswith(
            f"the worker failed {client.RESTART_LIMIT + 1} times in a row and was not started "
            "again: the worker exited with code 1; its last words:\n"
        )
        assert last.error.message.endswith("No module named 'torch'")
        started = time.monotonic()
        dead = lab.run(hostile("x = 1"))
        assert time.monotonic() - started < 1
        assert dead.error is not None and dead.error.message == last.error.message
    assert starts.read_text() == "x" * (client.RESTART_LIMIT + 1)


def test_an_answer_resets_the_count_of_deaths(lab: Lab) -> None:
    worker = lab.workers[0]
    for _ in range(client.RESTART_LIMIT + 1):
        assert worker.process is not None
        worker.wait_ready()
        os.killpg(worker.process.pid, signal.SIGKILL)
        died = lab.run(hostile("x = 1"))
        assert died.error is not None and "a new worker was started" in died.error.message
        assert lab.run(hostile("x = 1", watch={"x": "x"})).rows[0].values == {"x": 1}
    assert worker.dead is None and worker.failures == 0


UNPRIVILEGED = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
BOMB = """\
import os, time
made = 0
for _ in range(200):
    try:
        pid = os.fork()
    except OSError:
        break
    if pid == 0:
        os.setsid()
        time.sleep(300)
        os._exit(0)
    made += 1
"""


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A directory an unprivileged user can read and write (pytest's tmp_path is root's)."""
    directory = Path(tempfile.mkdtemp(prefix="gradquiz-test-"))
    directory.chmod(0o777)
    yield directory
    shutil.rmtree(directory, ignore_errors=True)


def unprivileged(env: dict[str, str]) -> list[str] | None:
    """How to start gradquiz as `nobody` (root is exempt from RLIMIT_NPROC), or None.

    This interpreter may sit where `nobody` cannot reach (a pyenv under /root): then the
    system's Python of the same version, with our packages on its path, stands in."""
    if os.geteuid() != 0:
        return [str(GRADQUIZ)]
    if shutil.which("setpriv") is None:
        return None
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    for python in (sys.executable, f"/usr/bin/{version}", f"/usr/local/bin/{version}"):
        # It must start itself again, as it starts the worker.
        again = "import subprocess, sys; subprocess.run([sys.executable, '-c', ''], check=True)"
        probe = subprocess.run(
            [*UNPRIVILEGED, python, "-c", again], capture_output=True, check=False
        )
        if probe.returncode == 0:
            root = str(Path(__file__).resolve().parents[2])
            env["PYTHONPATH"] = os.pathsep.join([root, *site.getsitepackages()])
            return [*UNPRIVILEGED, python, "-m", "gradquiz"]
    return None


def test_a_bounded_fork_bomb_meets_the_process_cap(shared_dir: Path, leftovers: str) -> None:
    write(shared_dir, "q.yaml", pack(BOMB, watch="{made: made}", timeout=20))
    env = {**os.environ, TAG: leftovers, "GRADQUIZ_HOME": str(shared_dir / "home")}
    command = unprivileged(env)
    if command is None:
        pytest.skip("no way to run gradquiz as an unprivileged user here")
    done = subprocess.run(
        [*command, "run", "--questions", "q.yaml", "hostile", "--json"],
        cwd=shared_dir,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    variant = json.loads(done.stdout)["variants"][0]
    assert variant["error"] is None, (variant["error"], variant["output"][-500:])
    made = variant["rows"][0]["values"]["made"]
    # 64 on top of what the user ran when the worker counted: give or take the processes
    # that came and went since, far short of 200.
    assert Limits().processes - 8 < made <= Limits().processes + 8
    assert settled(leftovers) == []


def test_a_flood_of_rows_is_cut_at_the_trace_cap(lab: Lab) -> None:
    code = "for _ in range(100_000):\n    record()\n"
    result = lab.run(hostile(code, watch={"big": "torch.zeros(20_000)"}, timeout=60))
    assert result.error is not None and result.error.type == "TraceTooLarge"
    kept = len(result.rows)
    assert 0 < kept < 100_000
    assert result.error.message == (
        f"the trace is over the 32 MiB limit; the first {kept} rows are kept"
    )


def test_many_small_files_meet_the_directory_cap(lab: Lab) -> None:
    code = """\
import os
for n in range(10_000):
    with open(f'f{n}', 'wb') as f:
        f.write(os.urandom(1 << 20))
"""
    started = time.monotonic()
    result = lab.run(hostile(code, limits=Limits(timeout=30, disk_mb=16)))
    assert time.monotonic() - started < 10
    assert result.error is not None
    assert (result.error.type, result.error.message) == (
        "DiskLimit",
        "the experiment wrote more than 16 MiB of files",
    )


def test_memory_is_capped_for_all_of_a_runs_processes(lab: Lab) -> None:
    # Three forks of 160 MiB each: under the 256 MiB per process, over it together.
    code = """\
import os, time
for _ in range(3):
    if os.fork() == 0:
        block = bytearray(160 << 20)
        time.sleep(30)
        os._exit(0)
time.sleep(30)
"""
    started = time.monotonic()
    result = lab.run(hostile(code, limits=Limits(timeout=60, memory_mb=256)))
    assert time.monotonic() - started < 20
    assert result.error is not None
    assert (result.error.type, result.error.message) == (
        "MemoryLimit",
        "the experiment's processes used more than 256 MiB together",
    )


def test_a_killed_workers_directory_is_removed_at_the_next_start() -> None:
    with Lab(1) as first:
        cwd = first.run(hostile("import os", watch={"cwd": "os.getcwd()"})).rows[0].values["cwd"]
        assert isinstance(cwd, str)
        directory = Path(cwd).parent
        assert directory.name.startswith("gradquiz-lab-") and directory.exists()
        worker = first.workers[0].process
        assert worker is not None
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait()
        assert directory.exists()
    with Lab(1) as second:
        second.torch_version  # noqa: B018 (started)
        assert not directory.exists()


def test_the_step_a_run_is_in_is_kept_only_when_the_run_has_it() -> None:
    """The child writes its step into memory the server reads; a snippet can write there."""
    cell = StepCell()
    assert cell.get(steps=3) is None
    cell.set(2)
    assert cell.get(steps=3) == 2
    cell.set(4)
    assert cell.get(steps=3) is None
    cell.set(-1)
    assert cell.get(steps=3) is None
