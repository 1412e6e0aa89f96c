"""The command line (mlgeom_rs.cli), run as a subprocess: demo pictures, analyze of saved models, errors."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys

import numpy as np
import pytest


def _run(*args: str, cwd=None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mlgeom_rs", *args], capture_output=True, text=True, timeout=300, cwd=cwd
    )


def _has(module: str) -> bool:
    try:
        __import__(module)
    except ImportError:
        return False
    return True


@pytest.fixture
def net(tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "net.npz"
    np.savez(
        path, W0=rng.standard_normal((6, 2)), b0=0.3 * rng.standard_normal(6), W1=rng.standard_normal((1, 6)), b1=[0.1]
    )
    return path


@pytest.mark.parametrize("command", [(), ("demo",), ("analyze",)])
def test_help(command):
    proc = _run(*command, "--help")
    assert proc.returncode == 0, proc.stderr
    assert "usage" in proc.stdout


@pytest.mark.skipif(not _has("matplotlib"), reason="needs matplotlib")
def test_demo_writes_a_picture(tmp_path):
    out = tmp_path / "demo.png"
    proc = _run("demo", "--plot", str(out))
    assert proc.returncode == 0, proc.stderr
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert f"picture: {out}" in proc.stdout
    # The default is a file in the current directory.
    proc = _run("demo", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "mlgeom-demo.png").is_file()


def test_demo_no_plot(tmp_path):
    proc = _run("demo", "--no-plot", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "picture" not in proc.stdout and not list(tmp_path.iterdir())


def test_analyze_npz_network(net, tmp_path):
    X = np.random.default_rng(1).uniform(-1, 1, (40, 2))
    np.save(tmp_path / "X.npy", X)
    args = [
        "analyze",
        str(net),
        "--box",
        "-1",
        "1",
        "--data",
        str(tmp_path / "X.npy"),
        "--json",
        str(tmp_path / "o.json"),
    ]
    if _has("matplotlib"):
        args += ["--plot", str(tmp_path / "o.png")]
    if _has("pyarrow"):
        args += ["--parquet", str(tmp_path / "o.parquet")]
    proc = _run(*args)
    assert proc.returncode == 0, proc.stderr
    for piece in ("cells", "volumes", "adjacency", "edges", "40 points"):
        assert piece in proc.stdout
    report = json.loads((tmp_path / "o.json").read_text())
    assert report["dim"] == 2 and report["n_cells"] == len(report["cells"]) > 1
    assert report["volumes"]["sum"] == pytest.approx(4.0)
    assert report["data"]["outside_box"] == 0
    assert "prediction" in report["cells"][0]
    assert report["curvature"]["kind"] == "forman" and report["curvature"]["min"] <= report["curvature"]["max"]
    assert "curvature" in proc.stdout
    if _has("matplotlib"):
        assert (tmp_path / "o.png").stat().st_size > 1000
    if _has("pyarrow"):
        import pyarrow.parquet as pq

        table = pq.read_table(tmp_path / "o.parquet")
        assert table.num_rows == report["n_cells"]
        assert set(table.column_names) >= {"label", "volume", "centroid", "prediction"}


def test_analyze_hyperplanes_with_vector_box(tmp_path):
    path = tmp_path / "h.npz"
    np.savez(path, W=[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], c=[-0.5, 0.0])
    proc = _run("analyze", str(path), "--box", "0,-1,0", "1,1,2")
    assert proc.returncode == 0, proc.stderr
    assert "cells         4" in proc.stdout


def test_analyze_data_box(net, tmp_path):
    np.savetxt(tmp_path / "X.csv", np.random.default_rng(2).uniform(0, 1, (10, 2)), delimiter=",")
    proc = _run("analyze", str(net), "--data", str(tmp_path / "X.csv"))
    assert proc.returncode == 0, proc.stderr
    assert "10 points" in proc.stdout


@pytest.mark.skipif(not _has("sklearn"), reason="needs scikit-learn")
def test_analyze_pickled_sklearn(tmp_path):
    from sklearn.tree import DecisionTreeClassifier

    rng = np.random.default_rng(3)
    X = rng.uniform(0, 1, (100, 2))
    model = DecisionTreeClassifier(max_depth=3, random_state=0).fit(X, (X[:, 0] > X[:, 1]).astype(int))
    path = tmp_path / "tree.pkl"
    path.write_bytes(pickle.dumps(model))
    proc = _run("analyze", str(path), "--box", "0", "1")  # refused: unpickling runs code from the file
    assert proc.returncode == 1 and not proc.stdout
    assert "arbitrary" in proc.stderr and "--trust-pickle" in proc.stderr and ".npz" in proc.stderr
    proc = _run("analyze", str(path), "--box", "0", "1", "--trust-pickle")
    assert proc.returncode == 0, proc.stderr
    assert "DecisionTreeClassifier" in proc.stdout
    assert "can run any code" in proc.stderr  # the unpickling warning


def test_refused_pickle_runs_nothing(tmp_path):
    """A malicious pickle is not opened without the flag: its payload (creating a file) never runs."""
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    path = tmp_path / "evil.joblib"
    path.write_bytes(pickle.dumps(Payload()))
    proc = _run("analyze", str(path), "--box", "0", "1")
    assert proc.returncode == 1 and "--trust-pickle" in proc.stderr
    assert not marker.exists()


def test_help_documents_the_flag():
    proc = _run("analyze", "--help")
    assert proc.returncode == 0
    text = " ".join(proc.stdout.split())
    assert "--trust-pickle" in text and "arbitrary code" in text and "weights_only=True" in text


@pytest.mark.skipif(not _has("torch"), reason="needs torch")
@pytest.mark.filterwarnings("ignore:.*torch.jit")
def test_analyze_torch_files(tmp_path):
    import torch

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(2, 5), torch.nn.ReLU(), torch.nn.Linear(5, 1))
    torch.save(model, tmp_path / "m.pt")
    torch.jit.script(model).save(str(tmp_path / "m_script.pt"))
    torch.save(model.state_dict(), tmp_path / "state.pt")
    # A full module is a pickle: refused without the flag, with the reason and the safe alternatives.
    proc = _run("analyze", str(tmp_path / "m.pt"), "--box", "-1", "1")
    assert proc.returncode == 1 and not proc.stdout
    assert "--trust-pickle" in proc.stderr and "arbitrary" in proc.stderr and "state_dict()" in proc.stderr
    outs = []
    for name, flags in (("m.pt", ["--trust-pickle"]), ("m_script.pt", []), ("state.pt", [])):
        out = tmp_path / f"{name}.json"
        proc = _run("analyze", str(tmp_path / name), "--box", "-1", "1", "--json", str(out), *flags)
        assert proc.returncode == 0, proc.stderr
        assert ("can run any code" in proc.stderr) == bool(flags)
        outs.append(json.loads(out.read_text()))
    for other in outs[1:]:  # TorchScript and state_dict (safe, no flag) give the module's cells
        assert other["n_cells"] == outs[0]["n_cells"]
        assert [c["label"] for c in other["cells"]] == [c["label"] for c in outs[0]["cells"]]
    # A state_dict that is not a Linear/ReLU stack is refused with a clear message.
    torch.save(torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.BatchNorm1d(3)).state_dict(), tmp_path / "bn.pt")
    proc = _run("analyze", str(tmp_path / "bn.pt"), "--box", "-1", "1")
    assert proc.returncode == 1 and "Linear layers" in proc.stderr
    torch.save({"weights": [1, 2]}, tmp_path / "other.pt")
    proc = _run("analyze", str(tmp_path / "other.pt"), "--box", "-1", "1")
    assert proc.returncode == 1 and "state_dict" in proc.stderr


def test_analyze_errors(net, tmp_path):
    proc = _run("analyze", str(tmp_path / "missing.npz"), "--box", "0", "1")
    assert proc.returncode == 1 and "does not exist" in proc.stderr
    (tmp_path / "model.txt").write_text("hello")
    proc = _run("analyze", str(tmp_path / "model.txt"), "--box", "0", "1")
    assert proc.returncode == 1 and "unknown model file type" in proc.stderr
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    proc = _run("analyze", str(tmp_path / "bad.npz"), "--box", "0", "1")
    assert proc.returncode == 1 and "cannot read" in proc.stderr
    np.savez(tmp_path / "other.npz", A=np.ones(3))
    proc = _run("analyze", str(tmp_path / "other.npz"), "--box", "0", "1")
    assert proc.returncode == 1 and "W0, b0" in proc.stderr
    (tmp_path / "thing.pkl").write_bytes(pickle.dumps({"not": "a model"}))
    proc = _run("analyze", str(tmp_path / "thing.pkl"), "--box", "0", "1", "--trust-pickle")
    assert proc.returncode == 1 and "cannot partition" in proc.stderr
    # Boxes: inverted, wrong dimension, unreadable, missing.
    proc = _run("analyze", str(net), "--box", "1", "0")
    assert proc.returncode == 1 and "inverted" in proc.stderr
    proc = _run("analyze", str(net), "--box", "0,0,0", "1,1,1")
    assert proc.returncode == 1 and "length 3" in proc.stderr
    proc = _run("analyze", str(net), "--box", "zero", "1")
    assert proc.returncode == 2 and "comma-separated" in proc.stderr
    proc = _run("analyze", str(net))
    assert proc.returncode == 1 and "--box" in proc.stderr
