"""Process-wide settings: the malloc setting that lets XLA:CPU reuse its scratch space."""
import os
import platform
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

# A jitted function whose 64 MiB intermediate (the product, read twice) lives in XLA's scratch space;
# prints the minor page faults of its later calls, per call.
_PROBE = textwrap.dedent("""
    import resource
    from gantransfer.core import runtime
    runtime.keep_freed_memory()
    import jax, jax.numpy as jnp
    f = jax.jit(lambda x, w: jnp.sum(jnp.tanh(x @ w) * (x @ w).sum(0)))
    x, w = jnp.ones((65536, 256)), jnp.ones((256, 256)) / 256
    for _ in range(2):
        f(x, w).block_until_ready()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(4):
        f(x, w).block_until_ready()
    print((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 4)
""")


def _faults_per_call(system_malloc: bool) -> float:
    env = dict(os.environ, GANTRANSFER_SYSTEM_MALLOC="1" if system_malloc else "0")
    out = subprocess.run([sys.executable, "-c", _PROBE], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    return float(out.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(platform.system() != "Linux" or platform.libc_ver()[0] != "glibc",
                    reason="the setting is glibc's mallopt; elsewhere keep_freed_memory returns False")
def test_scratch_space_is_reused_instead_of_faulted_in_again():
    assert _faults_per_call(system_malloc=False) < 2000
    # 64 MiB is 16,384 pages: with the system's malloc each call maps it afresh and faults it all in
    # (unless the kernel backs every mapping with 2 MiB pages: transparent huge pages set to "always").
    thp = Path("/sys/kernel/mm/transparent_hugepage/enabled")
    if not (thp.is_file() and "[always]" in thp.read_text()):
        assert _faults_per_call(system_malloc=True) > 8000


def test_opt_out_leaves_malloc_alone(monkeypatch):
    from gantransfer.core import runtime

    monkeypatch.setattr(runtime, "_freed_memory_kept", False)
    monkeypatch.setenv("GANTRANSFER_SYSTEM_MALLOC", "1")
    assert runtime.keep_freed_memory() is False


def test_the_command_line_applies_it_first(monkeypatch):
    from gantransfer import cli
    from gantransfer.core import runtime

    calls = []
    monkeypatch.setattr(runtime, "keep_freed_memory", lambda: calls.append(True) or True)
    monkeypatch.setattr(sys, "argv", ["gantransfer", "--help"])
    with pytest.raises(SystemExit):
        cli.main()
    assert calls == [True]
    calls.clear()                      # an in-process call (a test's) leaves the process's malloc alone
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    assert calls == []


@pytest.mark.parametrize("value, off_by_default, on_by_default", [
    (None, False, True), ("", False, True), ("0", False, False), ("OFF", False, False), ("no", False, False),
    ("1", True, True), ("Yes", True, True), ("maybe", False, True),
])
def test_env_flag_reads_opt_in_and_opt_out_settings(monkeypatch, value, off_by_default, on_by_default):
    from gantransfer.core.runtime import env_flag

    if value is None:
        monkeypatch.delenv("GANTRANSFER_TEST_FLAG", raising=False)
    else:
        monkeypatch.setenv("GANTRANSFER_TEST_FLAG", value)
    assert env_flag("GANTRANSFER_TEST_FLAG") is off_by_default
    assert env_flag("GANTRANSFER_TEST_FLAG", default=True) is on_by_default
