"""Faults: training killed (SIGKILL, SIGINT, in the middle of a checkpoint write), a read-only output folder,
a full disk, and dashboard callbacks that raise.

The training runs are real ``gantransfer train decoder`` processes with tiny settings; a resumed run must
reproduce an uninterrupted run's losses (``metrics.csv``) step for step, losing nothing but the steps since
its last checkpoint. A read-only folder and a full disk are real where this test may mount a small tmpfs
(root, as in CI; a read-only one gives EROFS even to root), and simulated (``OSError(ENOSPC)`` after a
partial write) where it may not, or where only a simulation can choose the moment.
"""
from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from gantransfer import cli
from gantransfer.pipeline import decoder_file
from gantransfer.training import checkpoints

TRAIN_ARGS = ["train", "decoder", "--batch", "1", "--crop", "32", "--width", "0.125", "--contents", "astronaut",
              "--styles", "waves", "--checkpoint-every", "1", "--quiet"]
STEPS = 8
RUN_TIMEOUT_S = 600
TMP_CHECKPOINT = re.compile(r"^(\d+)\.orbax-checkpoint-tmp")


# ---------------------------------------------------------------------------------------------------
# Helpers: a training process, its folder, small file systems.

def _start(workdir: Path, *extra: str, steps: int = STEPS) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "gantransfer.cli", *TRAIN_ARGS, "--workdir", str(workdir), "--steps", str(steps),
           *extra]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _finish(proc: subprocess.Popen, timeout: float = RUN_TIMEOUT_S) -> tuple[int, str, str]:
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        pytest.fail(f"training did not finish in {timeout} s:\n{err[-3000:]}")
    return proc.returncode, out, err


def _names(workdir: Path) -> set[str]:
    try:
        return {p.name for p in workdir.iterdir()}
    except FileNotFoundError:
        return set()


def _wait_until(proc: subprocess.Popen, workdir: Path, condition, timeout: float = RUN_TIMEOUT_S) -> set[str]:
    """Poll ``workdir`` every 2 ms until ``condition(names)``; fail if the process ends first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        names = _names(workdir)
        if condition(names):
            return names
        if proc.poll() is not None:
            _, err = proc.communicate()
            pytest.fail(f"training ended (code {proc.returncode}) before the moment to interrupt it; "
                        f"folder: {sorted(names)}\n{err[-3000:]}")
        time.sleep(0.002)
    proc.kill()
    pytest.fail(f"timed out waiting in {workdir}: {sorted(_names(workdir))}")


def _signal_during_a_checkpoint_write(workdir: Path, signum: int) -> tuple[subprocess.Popen, int]:
    """Start a run, send ``signum`` as soon as a checkpoint of step 2 or later is being written (its orbax
    temporary folder exists); returns the process and that step. The write lasts ~0.1 s, so the signal
    almost always lands inside it; the caller checks whether it did."""
    proc = _start(workdir)
    names = _wait_until(proc, workdir, lambda names: any(
        (m := TMP_CHECKPOINT.match(n)) and int(m.group(1)) >= 2 for n in names))
    proc.send_signal(signum)
    return proc, max(int(m.group(1)) for n in names if (m := TMP_CHECKPOINT.match(n)))


def _complete_steps(names: set[str]) -> list[int]:
    return sorted(int(n) for n in names if n.isdigit())


def _log_lines(workdir: Path) -> list[str]:
    path = workdir / "metrics.csv"
    return path.read_text().splitlines() if path.is_file() else []


def _assert_same_losses(workdir: Path, reference: dict) -> None:
    log = checkpoints.read_metrics(workdir)
    np.testing.assert_array_equal(log["step"], np.arange(1, STEPS + 1))
    for name in reference:
        if name not in ("step", "seconds"):
            np.testing.assert_allclose(log[name], reference[name], rtol=1e-5, err_msg=name)


def _resume_and_check(workdir: Path, reference: dict) -> None:
    """Resume the interrupted run to the end; it must start after its newest checkpoint and match ``reference``."""
    last = checkpoints.latest_step(workdir)
    assert last is not None and last >= 1
    lines_before = len(_log_lines(workdir))
    code, out, err = _finish(_start(workdir, "--resume"))
    assert code == 0, err[-3000:]
    assert f"step {STEPS}:" in out and "Traceback" not in err
    new_steps = [int(line.split(",")[0]) for line in _log_lines(workdir)[lines_before:]]
    assert new_steps == list(range(last + 1, STEPS + 1)), (last, new_steps)   # only the steps since were redone
    _assert_same_losses(workdir, reference)


@contextlib.contextmanager
def _tmpfs(path: Path, options: str):
    """Mount a tmpfs with ``options`` on ``path``; yields False (nothing mounted) where that is not allowed."""
    path.mkdir(parents=True, exist_ok=True)
    mounted = False
    if os.geteuid() == 0 and shutil.which("mount"):
        mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)],
                                 capture_output=True).returncode == 0
    try:
        yield mounted
    finally:
        if mounted and subprocess.run(["umount", str(path)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(path)], capture_output=True)


@pytest.fixture
def readonly_dir(tmp_path):
    """A folder nobody can write into, root included: a read-only tmpfs as root, chmod 555 otherwise."""
    folder = tmp_path / "readonly"
    with _tmpfs(folder, "ro,size=64k") as mounted:
        if not mounted:
            if os.geteuid() == 0:
                pytest.skip("running as root without permission to mount a read-only tmpfs: chmod cannot stop "
                            "root, so there is no real read-only folder to test with")
            folder.chmod(0o555)
        try:
            yield folder
        finally:
            if not mounted:
                folder.chmod(0o755)


def _cli(argv, capsys):
    try:
        code = cli.main(argv)
    except SystemExit as exit_:
        code = exit_.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _assert_one_line_error(code, err, *needles):
    assert code == 2, err
    assert "Traceback" not in err
    lines = [line for line in err.strip().splitlines() if line.startswith("gantransfer: error:")]
    assert len(lines) == 1, err
    for needle in needles:
        assert re.search(needle, lines[0]), (needle, lines[0])


# ---------------------------------------------------------------------------------------------------
# Training interrupted at any point resumes from the last checkpoint.

@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The losses of an uninterrupted run (the same command, never stopped)."""
    workdir = tmp_path_factory.mktemp("reference") / "run"
    code, out, err = _finish(_start(workdir))
    assert code == 0, err[-3000:]
    assert _complete_steps(_names(workdir))[-1] == STEPS
    return checkpoints.read_metrics(workdir)


def test_sigkill_after_a_checkpoint_then_resume(reference, tmp_path):
    workdir = tmp_path / "run"
    proc = _start(workdir)
    _wait_until(proc, workdir, lambda names: "3" in names)
    proc.send_signal(signal.SIGKILL)
    proc.wait(60)
    assert proc.returncode == -signal.SIGKILL
    assert checkpoints.latest_step(workdir) >= 3
    _resume_and_check(workdir, reference)


def test_sigkill_in_the_middle_of_a_checkpoint_write_then_resume(reference, tmp_path):
    for attempt in range(3):    # the write lasts ~0.1 s: the kill almost always lands inside it at once
        workdir = tmp_path / f"run{attempt}"
        proc, writing = _signal_during_a_checkpoint_write(workdir, signal.SIGKILL)
        proc.wait(60)
        if any(TMP_CHECKPOINT.match(n) for n in _names(workdir)):   # killed with the write unfinished
            break
    else:
        pytest.fail("three kills all missed the checkpoint write")
    assert checkpoints.latest_step(workdir) == writing - 1   # the half-written checkpoint does not count
    _resume_and_check(workdir, reference)


def test_sigint_ends_cleanly_then_resume(reference, tmp_path):
    workdir = tmp_path / "run"
    proc = _start(workdir)
    _wait_until(proc, workdir, lambda names: "3" in names)
    proc.send_signal(signal.SIGINT)
    code, _, err = _finish(proc, 120)
    assert code == 130, err[-3000:]
    assert "gantransfer: interrupted" in err and "Traceback" not in err
    _resume_and_check(workdir, reference)


def test_sigint_in_the_middle_of_a_checkpoint_write_finishes_it(reference, tmp_path):
    """Ctrl-C while orbax is writing: the write completes, then the run stops (orbax's threads, interrupted
    mid-write, used to print tracebacks at shutdown and once kept the process from exiting)."""
    for attempt in range(3):    # the write lasts ~0.1 s: the signal almost always lands inside it at once
        workdir = tmp_path / f"run{attempt}"
        proc, writing = _signal_during_a_checkpoint_write(workdir, signal.SIGINT)
        code, _, err = _finish(proc, 120)
        assert code == 130, err[-3000:]
        assert "gantransfer: interrupted" in err and "Traceback" not in err and "ERROR" not in err, err[-3000:]
        assert not any(TMP_CHECKPOINT.match(n) for n in _names(workdir))   # no half-written checkpoint left
        if checkpoints.latest_step(workdir) == writing:   # the signal landed inside the write, which was finished
            break
    else:
        pytest.fail("three interrupts all missed the checkpoint write")
    _resume_and_check(workdir, reference)


def test_interrupts_held_raises_after_the_block():
    """In-process: a SIGINT inside the block does not cut it; KeyboardInterrupt comes at its end."""
    finished = False
    with pytest.raises(KeyboardInterrupt):
        with checkpoints._interrupts_held():
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.05)   # the handler runs between bytecodes: give it the chance to
            finished = True
    assert finished and signal.getsignal(signal.SIGINT) is signal.default_int_handler
    with checkpoints._interrupts_held():   # nothing received: nothing raised
        pass


def test_two_interruptions_in_one_run(reference, tmp_path):
    """Killed, resumed, interrupted again, resumed again: still the uninterrupted run's losses."""
    workdir = tmp_path / "run"
    proc = _start(workdir)
    _wait_until(proc, workdir, lambda names: "2" in names)
    proc.send_signal(signal.SIGKILL)
    proc.wait(60)
    proc = _start(workdir, "--resume")
    _wait_until(proc, workdir, lambda names: "5" in names)
    proc.send_signal(signal.SIGINT)
    assert _finish(proc, 120)[0] == 130
    _resume_and_check(workdir, reference)


# ---------------------------------------------------------------------------------------------------
# A read-only output folder: one clear line, exit code 2, nothing written.

def test_read_only_folder_for_every_output(readonly_dir, tmp_path, capsys, monkeypatch):
    small = ["--size", "32", "--steps", "1", "--quiet"]
    cases = [
        (["stylize", *small, "-o", str(readonly_dir / "out.png")], "out.png"),
        (["stylize", *small, "-o", str(readonly_dir / "sub" / "out.png")], "out.png"),
        (["styles", "-o", str(readonly_dir / "sheet.png")], "sheet.png"),
        ([*TRAIN_ARGS, "--steps", "1", "--workdir", str(readonly_dir / "run")], "run"),
        ([*TRAIN_ARGS, "--steps", "1", "--workdir", str(readonly_dir)], "readonly"),
    ]
    for argv, name in cases:
        code, _, err = _cli(argv, capsys)
        _assert_one_line_error(code, err, re.escape(name), r"Read-only file system|Permission denied")
    # export after a successful run elsewhere
    workdir = tmp_path / "run"
    code, _, err = _cli([*TRAIN_ARGS, "--steps", "1", "--workdir", str(workdir), "--export",
                         str(readonly_dir / "decoder.npz")], capsys)
    _assert_one_line_error(code, err, r"Read-only file system|Permission denied")
    assert checkpoints.latest_step(workdir) == 1      # the training itself was kept
    assert list(readonly_dir.iterdir()) == []


def test_unwritable_output_is_refused_before_stylising(readonly_dir, monkeypatch, capsys):
    from gantransfer.methods import optimize

    def stylise(*args, **kwargs):
        raise AssertionError("the optimisation started before the output folder was checked")

    monkeypatch.setattr(optimize, "stylize_iter", stylise)
    code, _, err = _cli(["stylize", "--size", "32", "--steps", "1", "--quiet", "-o", str(readonly_dir / "out.png")],
                        capsys)
    _assert_one_line_error(code, err, "out.png", r"Read-only file system|Permission denied")


def test_read_only_folder_in_a_real_process(readonly_dir):
    proc = _start(readonly_dir / "run", steps=1)
    code, out, err = _finish(proc, 300)
    assert code == 2 and "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith("gantransfer: error:") and "run" in err


# ---------------------------------------------------------------------------------------------------
# A full disk.

@pytest.fixture
def full_disk(tmp_path):
    """A 5 MiB tmpfs: room for the run's first two checkpoints (~2.2 MB each at width 0.125), not a third."""
    folder = tmp_path / "small_disk"
    with _tmpfs(folder, "size=5m") as mounted:
        if not mounted:
            pytest.skip("cannot mount a small tmpfs here (needs root): the simulated disk-full tests below still run")
        yield folder


def test_disk_full_during_training_keeps_the_last_checkpoint(full_disk, reference, tmp_path):
    workdir = full_disk / "run"
    code, out, err = _finish(_start(workdir))
    assert code == 2, err[-3000:]
    assert err.strip().splitlines()[-1].startswith("gantransfer: error:") and "No space left on device" in err
    last = checkpoints.latest_step(workdir)
    assert last is not None and last < STEPS          # the checkpoints written before the disk filled are whole
    moved = tmp_path / "moved"                        # "free some space": continue the run on a bigger disk
    shutil.copytree(workdir, moved)
    _resume_and_check(moved, reference)


def test_disk_full_during_training_is_one_clear_line(full_disk):
    workdir = full_disk / "run"
    code, out, err = _finish(_start(workdir))
    assert code == 2 and "Traceback" not in err, err[-3000:]
    assert err.strip().count("\n") == 0 and "No space left on device" in err and "checkpoint" in err
    assert not any(TMP_CHECKPOINT.match(n) for n in _names(workdir))


def test_disk_full_while_saving_a_checkpoint_simulated(tmp_path, monkeypatch):
    """Where no tmpfs can be mounted: tensorstore's RESOURCE_EXHAUSTED after a partial write becomes one
    ``OSError(ENOSPC)`` naming the checkpoint; the partial folder goes, the checkpoint before it stays."""
    import jax.numpy as jnp
    import orbax.checkpoint as ocp

    checkpoints.save_checkpoint(tmp_path, 1, {"x": jnp.ones(8)})

    def save(self, step, *args, **kwargs):
        (tmp_path / f"{step}.orbax-checkpoint-tmp" / "default").mkdir(parents=True)   # what a cut write leaves
        raise ValueError(f'RESOURCE_EXHAUSTED: Error writing "x/0" in OCDBT database at local file "{tmp_path}": '
                         "Failed to write 585716 bytes to file 7: No space left on device [os_error_code='28']")

    monkeypatch.setattr(ocp.CheckpointManager, "save", save)
    with pytest.raises(OSError, match=r"checkpoint 2 in .*: No space left on device") as info:
        checkpoints.save_checkpoint(tmp_path, 2, {"x": jnp.ones(8)})
    assert info.value.errno == errno.ENOSPC and "\n" not in str(info.value)
    assert _names(tmp_path) == {"1"} and checkpoints.latest_step(tmp_path) == 1


def test_disk_full_for_a_stylised_image(full_disk, capsys):
    filler = full_disk / "filler"
    with open(filler, "wb") as f:                     # fill the disk to the last few bytes
        with contextlib.suppress(OSError):
            f.write(b"\0" * (5 * 2**20 - 2048))
    out = full_disk / "out.png"
    code, _, err = _cli(["stylize", "--size", "64", "--steps", "1", "--quiet", "-o", str(out)], capsys)
    _assert_one_line_error(code, err, "out.png", "No space left on device")
    assert sorted(p.name for p in full_disk.iterdir()) == ["filler"]


def test_disk_full_while_exporting_a_decoder(tmp_path, monkeypatch):
    import jax

    from gantransfer.pipeline import generator

    params = generator.init_decoder(jax.random.key(0), width=0.125)

    def savez_compressed(file, *args, **kwargs):
        Path(file).write_bytes(b"PK\x03\x04 half a zip")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(np, "savez_compressed", savez_compressed)
    out = tmp_path / "exports" / "decoder.npz"
    with pytest.raises(OSError, match=r"decoder\.npz.*No space left on device"):
        decoder_file.export_decoder(params, out, width=0.125)
    assert list(out.parent.iterdir()) == []


def test_disk_full_while_writing_bench_json(tmp_path, monkeypatch, capsys):
    from gantransfer.tools import bench

    monkeypatch.setattr(bench, "run", lambda **kwargs: {"schema": 1, "quick": True})
    real = Path.write_text

    def write_text(self, data, *args, **kwargs):
        real(self, data[: len(data) // 2], *args, **kwargs)
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Path, "write_text", write_text)
    out = tmp_path / "bench.json"
    code, _, err = _cli(["bench", "--quick", "-o", str(out)], capsys)
    _assert_one_line_error(code, err, "bench.json", "No space left")
    assert list(tmp_path.iterdir()) == []


def test_metrics_log_survives_a_line_cut_by_a_full_disk(tmp_path):
    log = checkpoints.MetricsLog(tmp_path / "metrics.csv")
    log.append(1, {"total": 1.5, "style": 0.25}, seconds=0.1)
    with open(log.path, "a") as f:          # what a disk that filled mid-line leaves: no newline at the end
        f.write("2,0.1000,1.")
    log.append(2, {"total": 2.5, "style": 0.75}, seconds=0.1)   # the resumed run writes step 2 again
    log.append(3, {"total": 3.5, "style": 0.5}, seconds=0.1)
    table = checkpoints.read_metrics(log.path)
    np.testing.assert_array_equal(table["step"], [1, 2, 3])
    np.testing.assert_allclose(table["total"], [1.5, 2.5, 3.5])


def test_metrics_log_skips_a_line_cut_by_a_kill(tmp_path):
    path = tmp_path / "metrics.csv"
    path.write_text("step,seconds,total\n1,0.1,1.5\n2,0.1,2.5\n3,0.")   # the process died mid-line 3
    table = checkpoints.read_metrics(path)
    np.testing.assert_array_equal(table["step"], [1, 2])


# ---------------------------------------------------------------------------------------------------
# A dashboard callback that raises: the error is shown, the dashboard keeps working.

@pytest.fixture(scope="module")
def params():
    from gantransfer.pipeline import extractor

    return extractor.load_params()


def test_style_transfer_run_that_raises_mid_way_then_works_again(params, monkeypatch):
    from gantransfer.methods import optimize
    from gantransfer.notebook import dashboards

    dash = dashboards.StyleTransferDashboard(size=32, steps=2, report_every=1, params=params)
    real = optimize.stylize_iter

    def failing(*args, **kwargs):
        reports = real(*args, **kwargs)
        yield next(reports)
        raise RuntimeError("simulated failure in the middle of a run")

    monkeypatch.setattr(optimize, "stylize_iter", failing)
    for block in (True, False):                 # in this thread, and in the Run button's background thread
        if block:
            assert dash.run(block=True)
        else:
            dash.run_button.click()
            assert dash.wait(120)
        assert dash.error == "RuntimeError: simulated failure in the middle of a run"
        assert "⚠" in dash.status.value and "simulated failure" in dash.status.value
        assert not dash.running and not dash.run_button.disabled and dash.stop_button.disabled
        assert len(dash.history) == 1 and dash.image is not None   # what came before the failure stays shown
    monkeypatch.setattr(optimize, "stylize_iter", real)
    assert dash.run(block=True) and dash.error is None
    assert dash.history[-1]["step"] == 2 and dash.status.value.startswith("Done")


def test_fusion_slider_callback_that_raises_then_works_again(params, monkeypatch):
    import jax

    from gantransfer.notebook import dashboards
    from gantransfer.pipeline import generator

    dash = dashboards.FusionDashboard(generator.init_decoder(jax.random.key(0), width=0.125), width=0.125, size=32,
                                   params=params)
    assert dash.error is None
    first, renders = dash.image.copy(), dash.renders
    real = dash._render

    def failing(*args, **kwargs):
        raise RuntimeError("simulated decoder failure")

    monkeypatch.setattr(dash, "_render", failing)
    dash.alpha = 0.5                                  # the slider's observer raises inside
    assert dash.error == "RuntimeError: simulated decoder failure" and "⚠" in dash.status.value
    assert dash.renders == renders and np.array_equal(dash.image, first)   # the last good image stays
    monkeypatch.setattr(dash, "_render", real)
    dash.alpha = 0.25
    assert dash.error is None and dash.renders == renders + 1 and "⚠" not in dash.status.value
    assert np.abs(dash.image - first).max() > 1e-4


def _raise(*args, **kwargs):
    raise RuntimeError("simulated failure in a callback")


@pytest.mark.parametrize("which", ["feature_browser", "texture", "style_preview"])
def test_observer_callbacks_that_raise_show_the_error(which, params, monkeypatch):
    from gantransfer.core import samples
    from gantransfer.notebook import dashboards, plots

    if which == "feature_browser":
        dash = dashboards.FeatureMapBrowser(content="chelsea", size=48, params=params, per_page=4)
        monkeypatch.setattr(plots, "feature_grid", _raise)
        control, value = dash.layer, "relu2_1"
    elif which == "texture":
        dash = dashboards.TextureDashboard(size=32, steps=1, params=params)
        monkeypatch.setattr(samples, "style_image", _raise)
        control, value = dash.style, "mondrian"
    else:
        dash = dashboards.StyleTransferDashboard(size=32, steps=1, params=params)
        monkeypatch.setattr(plots, "show_images", _raise)
        control, value = dash.style, "mondrian"
    control.value = value                       # must not raise out of the observer
    assert "simulated failure" in (getattr(dash, "error", None) or "")
    monkeypatch.undo()
    control.value = control.options[0]          # and the next change works again
    assert getattr(dash, "error", None) is None


def test_only_orbax_reports_are_dropped_after_an_orbax_failure(monkeypatch):
    """After a failed orbax write or read, the errors of the tasks and coroutines orbax abandoned come back
    whenever the garbage collector meets them; those (and only those) are dropped."""
    import logging
    import types

    def record(message, error):
        return logging.LogRecord("asyncio", logging.ERROR, __file__, 1, message, None,
                                 (type(error), error, None))

    tensorstore_error = ValueError('RESOURCE_EXHAUSTED: Error writing "x/0" in OCDBT database at local file "/d"')
    other_error = ValueError("a bug of someone else's")
    for message in ("Task exception was never retrieved", "Future exception was never retrieved",
                    "_GatheringFuture exception was never retrieved"):
        assert checkpoints._drop_abandoned_orbax_tasks(record(message, tensorstore_error)) is False
        assert checkpoints._drop_abandoned_orbax_tasks(record(message, other_error)) is True
    assert checkpoints._drop_abandoned_orbax_tasks(record("something else", tensorstore_error)) is True

    seen = []
    quieter = checkpoints._without_closed_event_loop_reports(seen.append)
    report = lambda error: types.SimpleNamespace(exc_value=error, exc_traceback=None, object=None)
    monkeypatch.setattr(checkpoints, "_orbax_failed", False)
    quieter(report(RuntimeError("Event loop is closed")))
    quieter(report(tensorstore_error))                       # no orbax failure yet: reported
    monkeypatch.setattr(checkpoints, "_orbax_failed", True)
    quieter(report(tensorstore_error))                       # after one: dropped
    quieter(report(other_error))                             # never dropped
    assert [r.exc_value for r in seen] == [tensorstore_error, other_error]
