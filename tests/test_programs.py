"""Compiled programs kept on disk (gantransfer.core.programs): same results, no tracing when found, safe when damaged."""
import json
import os
import subprocess
import sys
import textwrap
import time

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gantransfer.core import programs

TRACES = []


def _scaled_sum(x, y, *, scale):
    TRACES.append(scale)              # runs only while JAX traces the function
    return {"sum": x * scale + y["b"], "norm": jnp.sum(x ** 2)}


def _resized(image, height, width):
    TRACES.append((height, width))
    return jax.image.resize(image, (image.shape[0], height, width, image.shape[3]), "linear")


@pytest.fixture
def folder(tmp_path):
    programs.enable(tmp_path)
    TRACES.clear()
    yield tmp_path
    programs.disable()


def _new_process_view(fn, **kwargs):
    # A fresh wrapper with JAX's in-memory caches emptied: the same function as a new process sees it.
    jax.clear_caches()
    return programs.jit(fn, **kwargs)


def test_off_it_is_jax_jit():
    programs.disable()
    f = programs.jit(_scaled_sum, static_argnames="scale")
    out = f(jnp.arange(3.0), {"b": jnp.ones(3)}, scale=2.0)
    np.testing.assert_allclose(out["sum"], np.arange(3.0) * 2 + 1)
    np.testing.assert_allclose(out["norm"], 5.0)



def test_each_shape_and_static_value_is_its_own_program(folder):
    f = _new_process_view(_resized, static_argnames=("height", "width"))
    image = jnp.ones((1, 4, 4, 3))
    assert f(image, 8, 6).shape == (1, 8, 6, 3)              # static by position
    assert f(image, height=8, width=6).shape == (1, 8, 6, 3)  # the same values by name: the same program
    assert f(image, 2, 2).shape == (1, 2, 2, 3)
    assert f(jnp.ones((1, 5, 5, 3)), 8, 6).shape == (1, 8, 6, 3)
    assert TRACES == [(8, 6), (2, 2), (8, 6)] and len({f._path(key) for key in f._loaded}) == 3
    # The files are those programs' (in a test worker that compiled the same fusions before, the check before
    # writing may keep some back: _runs_when_loaded; a new process writes them all, test_a_new_process_loads_…)
    assert set(folder.glob("*/*.jaxexe")) <= {f._path(key) for key in f._loaded}


def test_the_jit_api_is_kept(folder):
    f = programs.jit(_scaled_sum, static_argnames="scale")
    assert "mul" in f.lower(jnp.ones(2), {"b": jnp.ones(2)}, scale=2.0).as_text()
    assert f.eval_shape(jnp.ones(2), {"b": jnp.ones(2)}, scale=2.0)["sum"].shape == (2,)
    assert f.__name__ == "_scaled_sum"


def test_python_scalars_are_arguments_not_constants(folder):
    f = programs.jit(lambda x, w: x * w)
    np.testing.assert_allclose(f(jnp.ones(2), 2.0), [2.0, 2.0])
    np.testing.assert_allclose(f(jnp.ones(2), 5.0), [5.0, 5.0])       # the same program, another value
    assert len(f._loaded) == 1 and len(list(folder.glob("*/*.jaxexe"))) <= 1


def test_a_damaged_file_is_compiled_again(folder):
    x, y = jnp.arange(3.0), {"b": jnp.zeros(3)}
    f = _new_process_view(_scaled_sum, static_argnames="scale")
    f(x, y, scale=2.0)
    (path,) = [f._path(key) for key in f._loaded]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"not an executable")
    out = _new_process_view(_scaled_sum, static_argnames="scale")(x, y, scale=2.0)
    np.testing.assert_allclose(out["sum"], np.arange(3.0) * 2)
    # Compiled again; the damaged file is gone, written anew when the new executable passed the check before
    # writing (in a test worker that compiled the same program before it may not: _runs_when_loaded)
    assert len(TRACES) == 2 and (not path.exists() or path.read_bytes() != b"not an executable")


def test_a_program_that_fails_when_loaded_back_is_not_written(folder, monkeypatch):
    # The check before writing (programs._runs_when_loaded) says no: the call still runs, nothing is kept.
    monkeypatch.setattr(programs, "_runs_when_loaded", lambda data, leaves, tree: False)
    out = _new_process_view(_scaled_sum, static_argnames="scale")(jnp.arange(3.0), {"b": jnp.zeros(3)}, scale=2.0)
    np.testing.assert_allclose(out["sum"], np.arange(3.0) * 2)
    assert not list(folder.glob("*/*.jaxexe"))


_INCOMPLETE = textwrap.dedent("""
    import pickle, jax, jax.numpy as jnp
    from jax.experimental import serialize_executable
    from gantransfer.core import programs, runtime
    runtime.enable_compilation_cache()
    body = lambda x: jnp.clip(jnp.sin(x) * 3.0 + 1.0, 0.0, 2.0)
    x = jnp.linspace(0.0, 1.0, 1000).reshape(10, 100)
    leaves, tree = jax.tree.flatten(((x,), {}))
    results = []
    for _ in range(2):    # the first compiles into JAX's persistent cache, the second takes it from there
        jax.clear_caches()
        compiled = jax.jit(body).lower(x).compile()
        results.append(programs._runs_when_loaded(programs._serialized(compiled), leaves, tree))
    jax.config.update("jax_enable_compilation_cache", False)
    fresh = jax.jit(body).lower(x).compile(programs.FRESH_COMPILE_OPTIONS)
    results.append(programs._runs_when_loaded(programs._serialized(fresh), leaves, tree))
    print(results)
""")


def test_the_check_before_writing_finds_an_executable_without_its_code(tmp_path):
    # XLA:CPU's executable taken from JAX's persistent cache serialises without its fusions' code (loading it
    # fails with "Function broadcast_clamp_fusion not found"): the check must say no to it, yes to a fresh one.
    env = dict(os.environ, GANTRANSFER_CACHE=str(tmp_path), GANTRANSFER_PROGRAM_CACHE="0")
    done = subprocess.run([sys.executable, "-c", _INCOMPLETE], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "[True, False, True]"


def test_inside_another_jit_it_is_traced_as_usual(folder):
    f = programs.jit(_scaled_sum, static_argnames="scale")
    outer = jax.jit(lambda x: f(x, {"b": x}, scale=2.0)["sum"])
    np.testing.assert_allclose(outer(jnp.ones(2)), [3.0, 3.0])
    np.testing.assert_allclose(jax.grad(lambda x: f(x, {"b": x}, scale=2.0)["norm"])(jnp.ones(2)), [2.0, 2.0])
    assert not list(folder.glob("*/*.jaxexe"))


def test_another_environment_is_another_folder_and_old_ones_are_pruned(folder, monkeypatch):
    f = programs.jit(_scaled_sum, static_argnames="scale")
    key = (jax.tree.structure(((jnp.ones(2), {"b": jnp.ones(2)}), {})), (("scale", 2.0),), ())
    stale, recent = folder / "stale-generation", folder / "recent-generation"
    for old in (stale, recent):
        old.mkdir()
        (old / "f.jaxexe").write_bytes(b"x")
    week_ago = time.time() - programs.STALE_SECONDS - 60
    os.utime(stale, (week_ago, week_ago))
    before = f._path(key)
    assert not stale.exists() and recent.exists()
    monkeypatch.setattr(programs, "_environment", lambda: ("another jaxlib or another library source",))
    assert f._path(key).parent != before.parent and f._path(key).name == before.name


def test_source_digest_is_stable_hex():
    assert programs.source_digest() == programs.source_digest()
    assert len(programs.source_digest()) == 64 and int(programs.source_digest(), 16) >= 0


def test_remembered_values_are_made_once(folder):
    calls = []

    def expensive():
        calls.append(1)
        return {"graph": (1, 2, 3)}

    assert programs.remembered(expensive)() == {"graph": (1, 2, 3)}
    assert programs.remembered(expensive)() == {"graph": (1, 2, 3)} and len(calls) == 1
    programs.disable()
    assert programs.remembered(expensive)() == {"graph": (1, 2, 3)} and len(calls) == 2




_MIXED = textwrap.dedent("""
    import sys, jax, jax.numpy as jnp
    from gantransfer.core import programs, runtime
    runtime.enable_compilation_cache()                   # JAX's persistent cache and the programs, in GANTRANSFER_CACHE
    body = lambda x: jnp.clip(jnp.sin(x) * 3.0 + 1.0, 0.0, 2.0)
    x = jnp.linspace(0.0, 1.0, 1000).reshape(10, 100)
    if sys.argv[1] != "load":
        programs.disable()
        print(float(jax.jit(body)(x).sum()))             # plain jit: into (then from) JAX's persistent cache
        programs.enable(runtime.cache_dir() / "programs")
    if sys.argv[1] != "jit":
        print(float(programs.jit(body)(x).sum()))
""")


def test_a_program_first_compiled_by_plain_jit_is_stored_whole(tmp_path):
    # An executable JAX took from its persistent cache serialises without the code of its fused parts; the
    # programs must be compiled afresh even when plain jit already holds the same program in memory.
    env = dict(os.environ, GANTRANSFER_CACHE=str(tmp_path))
    run = lambda mode: subprocess.run([sys.executable, "-c", _MIXED, mode], env=env, capture_output=True,  # noqa: E731
                                      text=True, timeout=300)
    for mode in ("jit", "jit-then-programs", "load"):   # the second finds JAX's cache warm, the third loads
        done = run(mode)
        assert done.returncode == 0, done.stderr[-2000:]
        assert abs(float(done.stdout.split()[-1]) - float(np.sum(np.clip(np.sin(np.linspace(0, 1, 1000)) * 3 + 1, 0, 2)))) < 1e-2



_FRESH = textwrap.dedent("""
    import json, jax, jax.numpy as jnp
    from jax import monitoring
    from gantransfer.core import programs, runtime
    programs.enable(runtime.cache_dir() / "programs")
    traces, events = [], []
    monitoring.register_event_time_span_listener(lambda event, t0, t1, **_: events.append(event))
    def scaled_sum(x, y, *, scale):
        traces.append(scale)
        return {"sum": x * scale + y["b"], "norm": jnp.sum(x ** 2)}
    out = programs.jit(scaled_sum, static_argnames="scale")(jnp.arange(4.0), {"b": jnp.full(4, 0.5)}, scale=3.0)
    step = programs.jit(lambda x: x + 1.0, donate_argnums=0)
    x = jnp.zeros(3)
    stepped = step(x)
    print(json.dumps({"traces": len(traces), "sum": out["sum"].tolist(), "norm": float(out["norm"]),
                      "stepped": stepped.tolist(), "donated": x.is_deleted(),
                      "loads": events.count(programs.LOAD_EVENT)}))
""")


def test_a_new_process_loads_instead_of_tracing(tmp_path):
    # Real processes: within one, XLA:CPU may share compiled fusions between executables (docs/speed.md).
    from gantransfer.tools import bench_startup

    env = dict(os.environ, GANTRANSFER_CACHE=str(tmp_path))
    runs = []
    for _ in range(2):
        done = subprocess.run([sys.executable, "-c", _FRESH], env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-2000:]
        runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
    first, second = runs
    assert first["traces"] == 1 and first["loads"] == 0               # compiled, written
    assert second["traces"] == 0 and second["loads"] == 2             # both programs loaded, nothing traced
    for run in runs:
        np.testing.assert_allclose(run["sum"], np.arange(4.0) * 3 + 0.5)
        np.testing.assert_allclose(run["norm"], np.sum(np.arange(4.0) ** 2))
        np.testing.assert_allclose(run["stepped"], [1.0, 1.0, 1.0])
        assert run["donated"]
    assert programs.LOAD_EVENT in bench_startup.COMPILE_EVENTS
