"""Runs from one question file share a child only while that changes no result (see
fingerprint)."""

from __future__ import annotations

import os
import re
from dataclasses import replace
from pathlib import Path

import pytest

from gradquiz import locations
from gradquiz.format import load
from gradquiz.lab.client import (
    BATCH_RUNS,
    MALLOC_TUNABLES,
    TORCHVISION_BATCH_RUNS,
    Lab,
    in_batches,
    worker_environment,
)
from gradquiz.lab.protocol import RUN_THREADS, VariantRequest, VariantResult, requests_for
from tests.lab.test_engine import request

# Frames of gradquiz's own server in a traceback a run prints (anomaly mode prints the stack
# it was called from): they differ with where the child was forked, not with the run.
SERVER_FRAME = re.compile(r'  File "[^"]*gradquiz/lab/[^"]*", line \d+, in \w+\n    .*\n')


def comparable(result: VariantResult) -> tuple[object, ...]:
    # repr: a NaN in a trace equals the NaN of the other run.
    output = SERVER_FRAME.sub("", result.output)
    verify, answer = repr(result.verify), repr(result.answer)
    return (result.variant, repr(result.rows), result.columns, result.error, output, verify, answer)


def test_shared_runs_match_isolated_runs_over_the_bundled_bank(lab: Lab) -> None:
    """A sample of the bundled bank (every third file, runs without torchvision), each file's
    runs sent together against each run on its own."""
    library = load([locations.bundled_questions()])
    for file in library.files[::3]:
        requests = [
            r
            for q in library.questions
            if q.pack.file == file
            for r in requests_for(q)
            if not r.uses_torchvision
        ]
        shared = lab.run_batch(requests)
        alone = [lab.run(r) for r in requests]
        assert [comparable(r) for r in shared] == [comparable(r) for r in alone], file


def pids(results: list[VariantResult]) -> list[object]:
    return [r.rows[0].values["pid"] for r in results]


def variant(code: str, name: str) -> VariantRequest:
    return replace(request(code, watch={"pid": "__import__('os').getpid()"}), variant=name)


def test_runs_that_leave_nothing_share_one_child_and_one_that_prints_ends_it(lab: Lab) -> None:
    runs = [variant("x = 1\n", "A"), variant("y = 2\n", "B"), variant("print('hi')\n", "C")]
    runs.append(variant("z = 3\n", "D"))
    first, second, printing, after = lab.run_batch(runs)
    assert pids([first, second, printing]) == [first.rows[0].values["pid"]] * 3
    assert printing.output == "hi\n"
    assert after.rows[0].values["pid"] != first.rows[0].values["pid"]
    assert after.output == ""


def test_runs_whose_graph_is_taken_still_share_one_child(lab: Lab) -> None:
    """Taking the graph wraps autograd's engine for the run: put back after it, the next run
    finds torch as it was (and its own graph, not the previous run's)."""
    code = "w = torch.tensor(2.0, requires_grad=True)\nloss = {op}\nloss.backward()\n"
    runs = [variant(code.format(op="w * 3"), "A"), variant(code.format(op="w.sin()"), "B")]
    first, second = lab.run_batch(runs)
    assert pids([first, second]) == [first.rows[0].values["pid"]] * 2
    kinds = [[n.kind for n in r.rows[0].graph.nodes] for r in (first, second) if r.rows[0].graph]
    assert kinds == [["MulBackward0", "AccumulateGrad"], ["SinBackward0", "AccumulateGrad"]]


def test_runs_of_another_question_of_the_file_share_and_of_another_file_never(lab: Lab) -> None:
    runs = [variant("x = 1\n", "A"), replace(variant("x = 1\n", "A"), question="other")]
    elsewhere = replace(runs[0], code=replace(runs[0].code, file="other.yaml"))
    first, other, outside = pids(lab.run_batch([*runs, elsewhere]))
    assert first == other != outside


WATCH_STATE = {
    "grad": "torch.is_grad_enabled()",
    "dtype": "str(torch.get_default_dtype())",
    "threads": "torch.get_num_threads()",
    "backward": "callable(torch.Tensor.backward)",
    "linear": "nn.Linear.forward.__name__",
    "hooks": "len(torch.nn.modules.module._global_forward_hooks)",
    "files": "sorted(__import__('os').listdir('.'))",
    "module": "'json.tool' in __import__('sys').modules",
    "anomaly": "torch.is_anomaly_enabled()",
    "denormal": "torch.tensor([1e-40]).item() == 0",
}


@pytest.mark.parametrize(
    "leak",
    [
        "torch.set_grad_enabled(False)",
        "torch.set_default_dtype(torch.float64)",
        "torch.set_num_threads(2)",
        "torch.Tensor.backward = None",
        "nn.Linear.forward = lambda self, x: x",
        "nn.modules.module.register_module_forward_hook(lambda m, i, o: o)",
        "open('left-behind.txt', 'w').close()",
        "import os; os.symlink('nowhere', 'dangling')",
        "import json.tool",
        "torch.autograd.set_detect_anomaly(True)",
        "torch.set_flush_denormal(True)",
    ],
)
def test_a_run_that_changes_global_state_leaks_nothing_into_the_next(lab: Lab, leak: str) -> None:
    """The leak at module level (setup) of one variant; the next variant of the same question
    sees the state a fresh child has."""
    leaky = replace(request("pass\n", setup=f"{leak}\n"), variant="leaky")
    probe = replace(request("pass\n", watch=WATCH_STATE), variant="probe")
    first, after = lab.run_batch([leaky, probe])
    fresh = lab.run(probe)
    assert first.error is None, first.error
    assert after.error is None and after.rows[0].values == fresh.rows[0].values
    assert fresh.rows[0].values["grad"] is True
    assert fresh.rows[0].values["threads"] == RUN_THREADS  # as the kept results' key says
    assert fresh.rows[0].values["files"] == "['.gradquiz-output']"


def test_a_finalizer_left_in_a_runs_garbage_runs_before_the_fingerprint(lab: Lab) -> None:
    """A run's cycles are collected as it ends: a finalizer that changes state then ends the
    child, rather than running in the middle of the next run."""
    setup = (
        "class Leak:\n"
        "    def __del__(self):\n"
        "        torch.set_grad_enabled(False)\n"
        "leak = Leak()\n"
        "leak.me = leak\n"
    )
    leaky = replace(request("pass\n", setup=setup), variant="leaky")
    probe = replace(
        request("import gc\ngc.collect()\n", watch={"grad": "torch.is_grad_enabled()"}),
        variant="probe",
    )
    after = lab.run_batch([leaky, probe])[1]
    assert after.error is None and after.rows[0].values["grad"] is True


def test_what_owns_a_runs_threads_is_not_collected_in_the_run(lab: Lab) -> None:
    """A process group's finalizer waits for its threads: collected as the run ends, it kept
    DDP runs waiting past their timeout now and then. A run that leaves threads ends its
    child anyway, uncollected."""
    setup = (
        "import threading\n"
        "worker = threading.Thread(target=threading.Event().wait, args=(60,), daemon=True)\n"
        "worker.start()\n"
        "class Owner:\n"
        "    def __del__(self):\n"
        "        worker.join()\n"
        "owner = Owner()\n"
        "owner.me = owner\n"
    )
    result = lab.run(request("pass\n", setup=setup, timeout=5))
    assert result.error is None, result.error


def test_the_workers_allocator_keeps_what_runs_free(lab: Lab) -> None:
    result = lab.run(
        request("pass\n", watch={"tunables": "__import__('os').environ['GLIBC_TUNABLES']"})
    )
    assert result.rows[0].values["tunables"] == MALLOC_TUNABLES


def test_a_runs_new_memory_comes_in_huge_pages_even_after_a_flood() -> None:
    """40 MB of weights fault in 2 MiB at a time: tens of faults, not 9,766 of 4 KiB. Also
    after a run that flooded the worker with rows: kept, the memory they took once decoded
    would be handed to every later child, which copies it page by page instead."""
    if "[never]" in Path("/sys/kernel/mm/transparent_hugepage/enabled").read_text():
        pytest.skip("this kernel gives no transparent huge pages")
    libc = os.confstr("CS_GNU_LIBC_VERSION") or ""
    if not libc.startswith("glibc ") or tuple(map(int, libc[6:].split(".")[:2])) < (2, 35):
        pytest.skip(f"{libc or 'this C library'} has no glibc.malloc.hugetlb")
    code = (
        "import resource\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt\n"
        "w = torch.ones(10_000_000)\n"
        "faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before\n"
    )
    flood = request("for _ in range(10_000):\n    record()\n", watch={"big": "torch.zeros(20_000)"})
    with Lab(1) as lab:
        before = lab.run(request(code, watch={"faults": "faults"}))
        flooded = lab.run(replace(flood, code=replace(flood.code, file="flood.yaml")))
        after = lab.run(request(code, watch={"faults": "faults"}))
    assert flooded.error is not None and flooded.error.type == "TraceTooLarge"
    assert before.rows[0].values["faults"] < 1_000
    assert after.rows[0].values["faults"] < 1_000


def test_the_users_own_malloc_tunables_come_last(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GLIBC_TUNABLES", "glibc.malloc.arena_max=1")
    tunables = worker_environment()["GLIBC_TUNABLES"]
    assert tunables == f"{MALLOC_TUNABLES}:glibc.malloc.arena_max=1"


CHANGES = {
    "torch.set_grad_enabled(False)": "grad mode",
    "torch.set_default_dtype(torch.float64)": "default dtype",
    "torch.set_num_threads(2)": "threads",
    "torch.autograd.set_detect_anomaly(True)": "anomaly mode",
    "torch.use_deterministic_algorithms(True)": "deterministic algorithms",
    "torch.set_float32_matmul_precision('medium')": "matmul precision",
    "torch.set_flush_denormal(True)": "denormals",
    "torch.set_printoptions(precision=2)": "print options",
    "torch.Tensor.backward = None": "torch attributes",
    "F.relu = abs": "torch attributes",
    "optim.SGD.step = None": "torch attributes",
    "nn.modules.module.register_module_forward_hook(lambda m, i, o: o)": "global hooks",
    "nn.modules.module._global_forward_hooks = {0: print}": "torch attributes",
    "import os; os.environ['HOME'] = '/elsewhere'": "environment",
    "import json.tool": "imported modules",
    "import sys; sys.modules['json'] = type(sys)('json')": "imported modules",
    "import sys; sys.modules = dict(sys.modules)": "imported modules",
    "import warnings; warnings.simplefilter('error')": "python settings",
    "import sys; sys.setrecursionlimit(500)": "python settings",
    "import os; os.environ['LEAK'] = '1'": "environment",
    "import signal; signal.signal(signal.SIGUSR1, lambda *a: None)": "signals",
    "import resource; resource.setrlimit(resource.RLIMIT_CORE, (0, 0))": "resource limits",
    "import threading; threading.Thread(target=__import__('time').sleep, args=(9,)).start()": (
        "threads and processes"
    ),
    "import subprocess; subprocess.Popen(['sleep', '9'])": "threads and processes",
    "kept = open('/dev/null')": "open files",
    "open('left-behind.txt', 'w').close()": "files and output",
    "import os; os.symlink('nowhere', 'dangling')": "files and output",
    "print('hello')": "files and output",
}


# Without version tags (another interpreter), namespaces are compared entry by entry.
UNTAGGED = "fingerprint._ATTRIBUTES.tags = fingerprint._MODULES.tags = None\n"


def fingerprint_changes(lab: Lab, change: str, tags: str = "", before: str = "") -> object:
    """The probes that see `change`, made in a run after `before` (which they do not see)."""
    code = (
        "from gradquiz.lab import fingerprint\n"
        "import sys\n"
        f"{tags}{before}"
        "taken = fingerprint.take('.')\n"
        f"{change}\n"
        "changed = fingerprint.changes(taken, fingerprint.take('.'))\n"
    )
    result = lab.run(request(code, watch={"changed": "', '.join(changed)"}))
    assert result.error is None, result.error
    return result.rows[0].values["changed"]


@pytest.mark.parametrize("tags", ["", UNTAGGED], ids=["tagged", "untagged"])
@pytest.mark.parametrize(("change", "probe"), CHANGES.items())
def test_the_fingerprint_names_each_kind_of_change(
    lab: Lab, change: str, probe: str, tags: str
) -> None:
    changed = fingerprint_changes(lab, change, tags)
    assert isinstance(changed, str) and probe in changed.split(", ")


def test_a_run_that_changes_nothing_has_an_unchanged_fingerprint(lab: Lab) -> None:
    change = "model = nn.Linear(2, 1); model(torch.ones(2)).sum().backward()"
    assert fingerprint_changes(lab, change) == ""


@pytest.mark.parametrize("tags", ["", UNTAGGED], ids=["tagged", "untagged"])
def test_a_namespace_written_back_with_what_it_held_is_unchanged(lab: Lab, tags: str) -> None:
    change = (
        "F.relu = F.relu; nn.Linear.forward = nn.Linear.forward\n"
        "sys.modules['json'] = sys.modules['json']"
    )
    assert fingerprint_changes(lab, change, tags) == ""


@pytest.mark.parametrize("tags", ["", UNTAGGED], ids=["tagged", "untagged"])
def test_a_namespace_that_differs_already_still_shows_the_next_change(lab: Lab, tags: str) -> None:
    changed = fingerprint_changes(
        lab, "F.gelu = abs\nimport xml.dom.minidom", tags, before="F.relu = abs\nimport json.tool\n"
    )
    assert changed == "torch attributes, imported modules"


def test_the_worker_reads_namespaces_by_their_version_tags(lab: Lab) -> None:
    """The cheap comparison is the one the worker uses here (CPython 3.11 to 3.13)."""
    code = "from gradquiz.lab import fingerprint\n"
    watch = {"tagged": "fingerprint._ATTRIBUTES.tags is not None and fingerprint._tags_work()"}
    result = lab.run(request(code, watch=watch))
    assert result.rows[0].values["tagged"] is True


def test_a_shared_childs_runs_each_get_their_own_timeout(lab: Lab) -> None:
    quick = variant("pass\n", "A")
    slow = replace(
        variant("while True:\n    pass\n", "B"), limits=replace(quick.limits, timeout=1.0)
    )
    first, stuck, last = lab.run_batch([quick, slow, replace(quick, variant="C")])
    assert stuck.error is not None and stuck.error.type == "Timeout"
    assert first.error is None and last.error is None
    assert last.rows[0].values["pid"] != first.rows[0].values["pid"]


def test_the_comparison_drops_only_gradquizs_own_frames() -> None:
    text = '  File "/x/gradquiz/lab/server.py", line 3, in loop\n    self.run()\n'
    text += '  File "q.yaml", line 4, in <module>\n    y = x\n'
    assert SERVER_FRAME.sub("", text) == '  File "q.yaml", line 4, in <module>\n    y = x\n'


def test_run_all_sends_a_files_runs_together_when_there_is_work_for_every_worker(
    lab: Lab,
) -> None:
    runs = [variant("x = 1\n", "A"), variant("x = 2\n", "B")]
    others = [replace(r, code=replace(r.code, file="other.yaml")) for r in runs]
    results = lab.run_all([*runs, *others])
    assert [r.variant for r in results] == ["A", "B", "A", "B"]
    assert pids(results)[0] == pids(results)[1] and pids(results)[2] == pids(results)[3]


def test_batches_keep_files_apart_and_cap_their_size_torchvision_runs_too() -> None:
    plain = [replace(variant("x = 1\n", str(n)), question=f"q{n}") for n in range(BATCH_RUNS + 4)]
    vision = replace(variant("import torchvision\n", "tv"), question="tv")
    other = replace(plain[0], code=replace(plain[0].code, file="other.yaml"))
    visions = [vision] * (TORCHVISION_BATCH_RUNS + 1)
    batches = in_batches([*plain, other, *visions], workers=2)
    assert [len(b) for b in batches] == [BATCH_RUNS, 4, 1, TORCHVISION_BATCH_RUNS, 1]
    assert in_batches(plain[:2], workers=2) == [[plain[0]], [plain[1]]]
