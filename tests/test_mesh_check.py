"""python -m gantransfer.training.mesh_check on a tiny batch, in this process (one CPU device).

Notebook 06 runs it in a fresh Python with 4 simulated devices; tests/test_parallel.py checks the
4-device arithmetic itself.
"""
import jax
import numpy as np
import pytest

from gantransfer.training import batches, mesh_check


def test_main_on_a_tiny_batch(tmp_path, capsys, rng):
    path = tmp_path / "batch.npz"
    np.savez(path, content=rng.random((2, 32, 32, 3)).astype(np.float32),
             style=rng.random((2, 32, 32, 3)).astype(np.float32))
    assert mesh_check.main([str(path)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("devices: ") and "global batch (2, 32, 32, 3)" in out
    result = mesh_check.parse_result(out)
    n = jax.device_count()
    assert [(s["start"], s["stop"]) for s in result["shards"]] == [(i * 2 // n, (i + 1) * 2 // n) for i in range(n)]
    one, every = result["one device"], result["all devices"]
    assert one["params_on_devices"] == 1 and every["params_on_devices"] == n
    assert np.isfinite(one["loss"]) and one["loss"] > 0 and one["grad_norm"] > 0
    assert every["loss"] == pytest.approx(one["loss"], rel=1e-5)
    assert result["n_params"] > 1000 and result["largest_update"] > 0
    assert result["largest_difference"] <= 1e-3 * result["largest_update"]
    assert 0 <= result["fraction_off_by_1pc"] <= 0.01


def test_parse_result_and_bad_batches():
    assert mesh_check.parse_result('devices: [cpu]\nRESULT {"n_params": 3}\n') == {"n_params": 3}
    with pytest.raises(ValueError, match="RESULT"):
        mesh_check.parse_result("Traceback ...")
    with pytest.raises(ValueError, match=r"\[B, crop, crop, 3\]"):
        mesh_check.compare_meshes(batches.Batch(np.zeros((2, 32, 32, 3)), np.zeros((2, 40, 40, 3))), log=lambda _: None)
