"""The worker runs real PyTorch: numbers here are checked against values computed by hand."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from gradquiz.format import load
from gradquiz.lab.client import Lab
from gradquiz.lab.protocol import Limits, Snippet, VariantRequest, VariantResult, requests_for
from tests.conftest import PACKS
from tests.lab.test_sandbox import TAG, settled, tagged_processes


def request(
    code: str,
    setup: str = "",
    steps: int = 1,
    watch: dict[str, str] | None = None,
    timeout: float = 10,
    memory_mb: int = 2048,
    output_chars: int = 64 * 1024,
    seed: int = 0,
) -> VariantRequest:
    return VariantRequest(
        question="q",
        variant="v",
        code=Snippet(code, "q.yaml", 20),
        setup=(Snippet(setup, "q.yaml", 10),) if setup else (),
        seed=seed,
        steps=steps,
        watch=None
        if watch is None
        else tuple((k, Snippet(v, "q.yaml", 5)) for k, v in watch.items()),
        limits=Limits(timeout, memory_mb, output_chars),
    )


def column(result: VariantResult, label: str) -> list[object]:
    return [row.values[label] for row in result.rows]


def run_batch(lab: Lab, question_id: str) -> dict[str, VariantResult]:
    question = load([PACKS / "good.yaml"]).get(question_id)
    assert question is not None
    return {r.variant: r for r in lab.run_all(requests_for(question))}


def test_bce_gradient_piles_up_without_zero_grad(lab: Lab) -> None:
    results = run_batch(lab, "accumulate")
    cleared = [g[0][0] for g in column(results["A"], "w.grad")]  # type: ignore[index]
    piled = [g[0][0] for g in column(results["B"], "w.grad")]  # type: ignore[index]
    assert cleared[:3] == pytest.approx([-0.587940, -0.585088, -0.582244], abs=1e-6)
    assert piled[:3] == pytest.approx([-0.587940, -1.173027, -1.752409], abs=1e-6)
    assert len(piled) == 10
    # dL/dw for BCE after a sigmoid is (sigmoid(w + b) - 1) * x.
    assert results["A"].rows[0].step == 1 and results["A"].error is None


def test_sgd_step_is_x_minus_lr_grad(lab: Lab) -> None:
    main = run_batch(lab, "step-rule")["main"]
    assert column(main, "x.grad") == [[100.0, 100.0], [200.0, 200.0]]
    first_x = column(main, "x")[0]
    assert first_x == pytest.approx([0.9, 1.9], abs=1e-6)
    assert main.answer is not None and main.answer.value == pytest.approx(0.7, abs=1e-6)


def test_eye_backward_twice_then_zero(lab: Lab) -> None:
    code = """\
out.backward(torch.ones_like(out), retain_graph=True)
record()
out.backward(torch.ones_like(out), retain_graph=True)
record()
inp.grad.zero_()
out.backward(torch.ones_like(out), retain_graph=True)
record()
"""
    setup = "inp = torch.eye(4, 5, requires_grad=True)\nout = (inp + 1).pow(2).t()\n"
    result = lab.run(request(code, setup, watch={"g": "inp.grad"}))
    grads = column(result, "g")
    expected = [(4.0, 2.0), (8.0, 4.0), (4.0, 2.0)]
    for grad, (diagonal, other) in zip(grads, expected, strict=True):
        assert isinstance(grad, list)
        assert grad[0][0] == diagonal and grad[0][1] == other and grad[3][4] == other
    assert [row.step for row in result.rows] == [1, 1, 1]


def test_default_watch_names_parameters_then_loss(lab: Lab) -> None:
    setup = "model = nn.Linear(1, 1)\nwith torch.no_grad():\n    model.weight.fill_(2.0)\n"
    setup += "    model.bias.fill_(0.5)\n"
    code = "loss = model(torch.ones(1, 1)).sum()\nloss.backward()\n"
    result = lab.run(request(code, setup))
    assert result.columns == ["weight.grad", "weight", "bias.grad", "bias", "loss"]
    assert result.rows[0].values == {
        "weight.grad": [[1.0]],
        "weight": [[2.0]],
        "bias.grad": [1.0],
        "bias": [0.5],
        "loss": 2.5,
    }


def test_errors_are_results_with_step_and_file_line(lab: Lab) -> None:
    setup = "x = torch.tensor(2.0, requires_grad=True)\ny = x * x\n"
    result = lab.run(request("y.backward()\n", setup, steps=3, watch={"g": "x.grad"}))
    assert column(result, "g") == [4.0]
    assert result.error is not None
    assert result.error.type == "RuntimeError"
    assert "backward through the graph a second time" in result.error.message
    assert (result.error.step, result.error.line) == (2, 20)


def test_watch_values_keep_kinds_and_full_precision(lab: Lab) -> None:
    watch = {
        "third": "torch.tensor(1.0) / 3",
        "n": "7",
        "flag": "x.requires_grad",
        "nothing": "x.grad",
        "name": "'hi'",
        "other": "object",
        "ints": "torch.arange(3)",
    }
    result = lab.run(request("pass\n", "x = torch.zeros(1, requires_grad=True)\n", watch=watch))
    values = result.rows[0].values
    assert values["third"] == float(
        __import__("numpy").float32(1.0) / __import__("numpy").float32(3)
    )
    assert values["n"] == 7 and values["flag"] is True and values["nothing"] is None
    assert values["name"] == "hi" and values["other"] == "<class 'object'>"
    assert values["ints"] == [0, 1, 2]


def test_seed_makes_runs_repeatable_and_differs_by_seed(lab: Lab) -> None:
    runs = [lab.run(request("pass\n", watch={"r": "torch.rand(2)"}, seed=s)) for s in (3, 3, 4)]
    values = [r.rows[0].values["r"] for r in runs]
    assert values[0] == values[1] != values[2]


def test_no_state_leaks_into_the_next_variant(lab: Lab) -> None:
    leak = """\
torch.set_grad_enabled(False)
torch.set_default_dtype(torch.float64)
torch.set_num_threads(1)
torch.Tensor.backward = None
import random; random.seed(99)
open('left-behind.txt', 'w').write('x')
"""
    lab.run(request(leak))
    watch = {
        "grad": "torch.is_grad_enabled()",
        "dtype": "str(torch.get_default_dtype())",
        "backward": "callable(torch.Tensor.backward)",
        "files": "sorted(os.listdir('.'))",
        "rand": "torch.rand(1).item()",
    }
    after = lab.run(request("import os\n", watch=watch))
    fresh = lab.run(request("import os\n", watch=watch))
    assert after.rows[0].values == fresh.rows[0].values
    assert after.rows[0].values["grad"] is True
    assert after.rows[0].values["dtype"] == "torch.float32"
    assert after.rows[0].values["backward"] is True
    assert after.rows[0].values["files"] == "['.gradquiz-output']"


def test_runs_in_a_temporary_directory_that_is_removed(lab: Lab) -> None:
    result = lab.run(request("import os\n", watch={"cwd": "os.getcwd()"}))
    cwd = result.rows[0].values["cwd"]
    assert isinstance(cwd, str) and Path(cwd).parent.name.startswith("gradquiz-lab-")
    # The worker answers first and cleans up while gradquiz reads the answer.
    deadline = time.monotonic() + 5
    while Path(cwd).exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not Path(cwd).exists()


def test_output_is_captured_and_capped(lab: Lab) -> None:
    result = lab.run(request("print('x' * 5000)\nprint('tail')\n", output_chars=100))
    assert result.output.startswith("x" * 100)
    assert "[output cut: 4,906 more characters not kept]" in result.output
    assert result.error is None


def test_a_timeout_is_reported_and_the_next_variant_runs(lab: Lab) -> None:
    # What a timeout costs in seconds is measured by `make bench`, not asserted here.
    result = lab.run(request("while True:\n    pass\n", steps=5, timeout=1.0))
    assert result.error is not None
    assert (result.error.type, result.error.message) == ("Timeout", "timed out after 1 s")
    assert result.error.step == 1
    after = lab.run(request("pass\n", watch={"ok": "1 + 1"}))
    assert after.rows[0].values == {"ok": 2}


def test_rows_before_a_timeout_are_kept(lab: Lab) -> None:
    code = "if step == 3:\n    while True:\n        pass\n"
    result = lab.run(request(code, steps=5, watch={"s": "step"}, timeout=1.0))
    assert column(result, "s") == [1, 2]
    assert result.error is not None and result.error.step == 3


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("import os\nos._exit(3)\n", "the experiment's process exited with code 3"),
        (
            "import ctypes\nctypes.string_at(0)\n",
            "the experiment's process was killed by SIGSEGV (signal 11)",
        ),
        (
            "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)\n",
            "the experiment's process was killed by SIGKILL (signal 9)",
        ),
    ],
)
def test_a_dying_experiment_is_reported(lab: Lab, code: str, message: str) -> None:
    result = lab.run(request(code, steps=2, watch={"s": "step"}))
    assert result.error is not None
    assert (result.error.type, result.error.message, result.error.step) == (
        "WorkerDied",
        message,
        1,
    )
    assert lab.run(request("pass\n", watch={"ok": "True"})).rows[0].values == {"ok": True}


def test_sys_exit_is_an_ordinary_error(lab: Lab) -> None:
    result = lab.run(request("import sys\nsys.exit(4)\n"))
    assert result.error is not None and (result.error.type, result.error.message) == (
        "SystemExit",
        "4",
    )


def test_memory_cap_turns_a_huge_allocation_into_an_error(lab: Lab) -> None:
    result = lab.run(request("x = torch.ones(2**30)\n", memory_mb=512))  # 4 GiB of float32
    assert result.error is not None
    assert result.error.type == "RuntimeError"
    assert "can't allocate memory" in result.error.message


def test_processes_a_snippet_starts_are_killed(lab: Lab, tmp_path: Path) -> None:
    # Known by a tag in their environment: the pids a snippet sees are its namespace's.
    tag = f"killed-{tmp_path.name}"
    code = (
        "import os, subprocess\n"
        f"subprocess.Popen(['sleep', '300'], env={{**os.environ, {TAG!r}: {tag!r}}})\n"
    )
    assert lab.run(request(code)).error is None
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and tagged_processes(tag):
        time.sleep(0.05)
    assert tagged_processes(tag) == []


def _alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/stat").read_text().split()[2]
    except OSError:
        return False
    return status != "Z"


def test_torchvision_imports_on_cpu_torch(lab: Lab) -> None:
    code = """\
import torchvision
from torchvision import datasets, models, transforms
data = datasets.FakeData(size=2, image_size=(3, 8, 8), num_classes=10,
                         transform=transforms.ToTensor())
image, label = data[0]
net = models.resnet18(weights=None)
"""
    watch = {"shape": "list(image.shape)", "fc": "net.fc.out_features"}
    result = lab.run(request(code, watch=watch, timeout=60))
    assert result.error is None, result.error
    assert result.rows[0].values == {"shape": [3, 8, 8], "fc": 1000}


def test_a_killed_worker_is_replaced() -> None:
    with Lab(1) as lab:
        worker = lab.workers[0]
        worker.wait_ready()
        assert worker.process is not None
        os.killpg(worker.process.pid, 9)
        result = lab.run(request("pass\n"))
        assert result.error is not None and result.error.type == "WorkerDied"
        assert result.error.message.startswith(
            "the worker was killed by SIGKILL; a new worker was started"
        )
        again = lab.run(request("pass\n", watch={"ok": "2"}))
        assert again.rows[0].values == {"ok": 2}
        pid = worker.process.pid
    assert not _alive(pid)


def test_closing_the_lab_mid_run_leaves_no_process(tmp_path: Path) -> None:
    import threading

    tag = f"closing-{tmp_path.name}"
    code = "import subprocess\nsubprocess.Popen(['sleep', '300'])\nwhile True:\n    pass\n"
    os.environ[TAG] = tag  # the worker, the run and what it starts carry it
    try:
        lab = Lab(1)
    finally:
        del os.environ[TAG]
    results: list[VariantResult] = []
    runner = threading.Thread(target=lambda: results.append(lab.run(request(code, timeout=60))))
    runner.start()
    deadline = time.monotonic() + 60
    # The worker's three processes (outside, init, server), the spare running, the sleeper.
    while not any(_command(pid) == b"sleep" for pid in tagged_processes(tag)):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    lab.close()
    runner.join(timeout=10)
    assert not runner.is_alive()
    assert results[0].error is not None and results[0].error.type == "Closed"
    assert settled(tag) == []


def _command(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/comm").read_bytes().strip()
    except OSError:
        return b""


def test_servers_share_one_torch_import_and_all_stop() -> None:
    with Lab(2) as lab:
        first, second = lab.workers
        assert first.wait_ready() == second.wait_ready()
        assert first.process is not None and second.process is None
        assert first.pid is not None and second.pid is not None
        assert first.pid != second.pid
        results = lab.run_all([request("pass\n", watch={"n": str(n)}) for n in range(6)])
        assert [r.rows[0].values["n"] for r in results] == list(range(6))
        pids = [first.pid, second.pid]
    assert [pid for pid in pids if _alive(pid)] == []


@pytest.mark.parametrize("torchvision", [True, False])
def test_a_lab_started_before_it_knows_imports_torchvision_when_told(torchvision: bool) -> None:
    """`check` starts its workers before it reads the packs; the Prepare frame it sends once
    it knows decides what every child starts with."""
    with Lab(1, torchvision=None) as lab:
        lab.prepare(torchvision)
        lab.prepare(not torchvision)  # only the first word counts
        result = lab.run(
            request("pass\n", setup="import sys\n", watch={"tv": "'torchvision' in sys.modules"})
        )
    assert result.rows[0].values == {"tv": torchvision}


def test_a_worker_told_nothing_exits_on_its_own_when_gradquiz_goes() -> None:
    lab = Lab(1, torchvision=None)
    process = lab.workers[0].process
    assert process is not None
    lab.close(wait=False)
    assert process.wait(timeout=120) == 0
