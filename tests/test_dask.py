"""Scale-out on Dask (mlgeom_rs.distributed): a LocalCluster of 2 worker processes gives the same cells,
volumes, facets, ridges and adjacency (after relabelling by pattern) as the single-machine path, for
arrangements and ReLU networks, degenerate input and empty shards; killing a worker mid-run still gives the
complete, identical result with no half-written shard left. Skipped when dask.distributed is missing."""

from __future__ import annotations

import os
import pickle
import signal
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

distributed = pytest.importorskip("dask.distributed")
pytest.importorskip("pyarrow")

import mlgeom_rs as mg  # noqa: E402
from mlgeom_rs.distributed import ShardedPartition  # noqa: E402


@pytest.fixture(scope="module")
def client() -> Any:
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0", silence_logs=40
    )
    with distributed.Client(cluster) as c:
        yield c
    cluster.close()


def _relabel(ref: mg.Partition, sp: ShardedPartition) -> np.ndarray:
    """perm[g] = the single-machine id of the sharded cell g (cells matched by pattern)."""
    ref_rows = np.ascontiguousarray(ref.packed_patterns)
    index = {row.tobytes(): i for i, row in enumerate(ref_rows)}
    perm = np.array([index[row.tobytes()] for row in sp.packed_patterns], dtype=np.int64)
    assert np.array_equal(np.sort(perm), np.arange(ref.n_cells)), "cells differ"
    return perm


def _facets(cells: np.ndarray, areas: np.ndarray, normals: np.ndarray, box_face: np.ndarray) -> dict[Any, Any]:
    out: dict[Any, Any] = {}
    for (a, b), area, n, face in zip(cells.tolist(), areas.tolist(), normals.tolist(), box_face.tolist(), strict=True):
        key = (a, b, face) if b < 0 else (min(a, b), max(a, b), -1)
        out.setdefault(key, []).append((area, n if b < 0 or a < b else [-v for v in n]))
    return out


def assert_same(ref: mg.Partition, sp: ShardedPartition) -> None:
    assert sp.n_cells == ref.n_cells
    perm = _relabel(ref, sp)
    np.testing.assert_allclose(sp.volumes, ref.volumes[perm], rtol=1e-12, atol=1e-15)
    assert abs(sp.total_volume - ref.box.volume) <= 1e-9 * ref.box.volume
    A, B = sp.adjacency(), ref.adjacency()
    P = perm
    A_ref = B[P][:, P]  # ref adjacency in the sharded numbering
    assert A.nnz == A_ref.nnz
    assert abs(A - A_ref).max() <= 1e-12 if A.nnz else True
    # Facets: same cell pairs (and box faces), areas and normals.
    ft = sp.facet_table()
    cells = ft["cell_a"], ft["cell_b"]
    mapped = np.stack([P[cells[0]], np.where(cells[1] >= 0, P[np.maximum(cells[1], 0)], -1)], axis=1)
    got = _facets(mapped, ft["area"], ft["normal"], ft["box_face"])
    f = ref.facets
    want = _facets(np.asarray(f.cells), np.asarray(f.areas), np.asarray(f.normals), np.asarray(f.box_face))
    assert got.keys() == want.keys()
    for key, rows in want.items():
        for (a1, n1), (a2, n2) in zip(sorted(rows), sorted(got[key]), strict=True):
            assert abs(a1 - a2) <= 1e-12 * max(1.0, a1)
            np.testing.assert_allclose(n1, n2, atol=1e-12)
    # Ridges: per cell, the same dihedral angles.
    if ref.has_ridges:
        got_angles: dict[int, list[float]] = {}
        for offset, t in sp.iter_shards("ridges"):
            for cell, angle in zip(
                (np.asarray(t.column("cell")) + offset).tolist(), t.column("angle").to_pylist(), strict=True
            ):
                got_angles.setdefault(int(P[cell]), []).append(angle)
        r = ref.ridges
        want_angles: dict[int, list[float]] = {}
        for cell, angle in zip(np.asarray(r.cell).tolist(), np.asarray(r.angles).tolist(), strict=True):
            want_angles.setdefault(cell, []).append(angle)
        assert got_angles.keys() == want_angles.keys()
        for cell, angles in want_angles.items():
            np.testing.assert_allclose(sorted(got_angles[cell]), sorted(angles), atol=1e-10)


def _random_arrangement(m: int, d: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    W = rng.normal(size=(m, d))
    c = -(W * rng.uniform(0.1, 0.9, size=(m, d))).sum(axis=1)
    return W, c


@pytest.mark.parametrize(("m", "d", "seed"), [(14, 2, 0), (9, 3, 1)])
def test_balanced_shards_of_an_arrangement(client: Any, m: int, d: int, seed: int) -> None:
    W, c = _random_arrangement(m, d, seed)
    box = mg.Box(0, 1, dim=d)
    sp = mg.partition_hyperplanes(W, c, box, client=client, shards=5)
    assert 1 < sp.n_shards <= 5 and np.all(sp.plan.estimates > 0)
    assert_same(mg.partition_hyperplanes(W, c, box), sp)


def test_degenerate_arrangement_with_empty_shards(client: Any, tmp_path: Path) -> None:
    # Concurrent lines, a flipped coincident copy (bit 3 = not bit 0), a line outside the box (bit 4), a line
    # along a box face and a constant bit: 6 of the 8 shards on bits (0, 3, 4) are empty.
    W = np.array([[1, 1], [1, -1], [0, 1], [-2, -2], [1, 0], [0, 1], [0, 0]], dtype=float)
    c = np.array([-1, 0, -0.5, 2, -3, 0, 1.0])
    box = mg.Box(0, 1, dim=2)
    sp = mg.partition_hyperplanes(W, c, box, client=client, out=tmp_path / "deg", shards=[0, 3, 4])
    assert sp.n_shards == 8 and int((sp.shard_sizes == 0).sum()) == 6
    ref = mg.partition_hyperplanes(W, c, box)
    assert_same(ref, sp)
    reopened = ShardedPartition.open(tmp_path / "deg")
    assert_same(ref, reopened)
    X = np.random.default_rng(3).uniform(0, 1, (500, 2))
    perm = _relabel(ref, reopened)
    np.testing.assert_array_equal(perm[reopened.locate(X, client=client)], ref.locate(X))
    # Points on the concurrent lines and on the doubly covered line x + y = 1 still get a cell containing them.
    on = np.array([[0.5, 0.5], [0.3, 0.7], [0.9, 0.1], [0.25, 0.25]])
    cells = reopened.locate(on)
    assert (cells >= 0).all()
    for x, cell in zip(on, perm[cells], strict=True):
        v = ref.vertices(int(cell))
        assert (x >= v.min(axis=0) - 1e-9).all() and (x <= v.max(axis=0) + 1e-9).all()


def _net(widths: list[int], seed: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    rng = np.random.default_rng(seed)
    ws = [rng.normal(size=(b, a)) / np.sqrt(a) for a, b in zip(widths[:-1], widths[1:], strict=True)]
    bs = [rng.uniform(-0.3, 0.3, size=b) for b in widths[1:]]
    return ws, bs


def test_relu_network_written_to_parquet(client: Any, tmp_path: Path) -> None:
    ws, bs = _net([2, 8, 6, 2], 5)
    box = mg.Box(-1, 1, dim=2)
    ref = mg.partition_relu(ws, bs, box)
    sp = mg.partition_relu(ws, bs, box, client=client, out=tmp_path / "relu", shards=4)
    assert_same(ref, sp)
    assert sorted(os.listdir(tmp_path / "relu"))[:2] == ["_manifest.json", "_model.npz"]
    # locate: routed by first-layer signs; its cell's pattern is the network's pattern at the point.
    X = np.random.default_rng(1).uniform(-1.2, 1.2, (800, 2))
    got = sp.locate(X)
    perm = _relabel(ref, sp)
    np.testing.assert_array_equal(np.where(got >= 0, perm[got], -1), ref.locate(X))
    # prediction column: the network output at the interior point.
    offset, cells = next((o, t) for o, t in sp.iter_shards("cells") if t.num_rows)
    pts = np.asarray(cells.column("interior_point").combine_chunks().flatten()).reshape(-1, 2)
    pred = np.asarray(cells.column("prediction").combine_chunks().flatten()).reshape(-1, 2)
    np.testing.assert_allclose(pred, ref.evaluate(pts), atol=1e-10)


def test_without_client_the_options_are_refused() -> None:
    with pytest.raises(mg.InvalidInputError, match="client"):
        mg.partition_hyperplanes([[1.0, 0.0]], [-0.5], mg.Box(0, 1, dim=2), out="x")
    with pytest.raises(mg.InvalidInputError, match="dask.distributed.Client"):
        mg.partition_relu([[[1.0, 0.0]], [[1.0]]], [[0.0], [0.0]], mg.Box(0, 1, dim=2), client=object())


def test_bad_shards_are_refused(client: Any, tmp_path: Path) -> None:
    box = mg.Box(0, 1, dim=2)
    with pytest.raises(mg.InvalidInputError, match="distinct bit indices"):
        mg.partition_hyperplanes([[1.0, 0.0]], [-0.5], box, client=client, shards=[0, 0])
    with pytest.raises(mg.InvalidInputError, match="at least 1"):
        mg.partition_hyperplanes([[1.0, 0.0]], [-0.5], box, client=client, shards=0)
    mg.partition_hyperplanes([[1.0, 0.0]], [-0.5], box, client=client, out=tmp_path / "done")
    with pytest.raises(mg.InvalidInputError, match="already holds"):
        mg.partition_hyperplanes([[1.0, 0.0]], [-0.5], box, client=client, out=tmp_path / "done")


def test_killing_a_worker_mid_run_gives_the_complete_result(client: Any, tmp_path: Path) -> None:
    ws, bs = _net([3, 32, 32, 1], 11)  # ~25k cells, ~0.7 s of work on one core, in 16 shards
    box = mg.Box(-1, 1, dim=3)
    out = tmp_path / "fault"
    result: dict[str, Any] = {}

    def run() -> None:
        try:
            result["sp"] = mg.partition_relu(ws, bs, box, client=client, out=out, shards=16, ridges=False)
        except BaseException as exc:  # reported below
            result["error"] = exc

    pids = list(client.run(os.getpid).values())
    worker = threading.Thread(target=run)
    worker.start()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (
        out.exists() and any(p.name.startswith("shard-") for p in out.iterdir())
    ):
        time.sleep(0.01)
    os.kill(pids[0], signal.SIGKILL)  # a worker dies while shards are still running or queued
    assert "sp" not in result and "error" not in result, "the run ended before the worker was killed"
    worker.join(timeout=120)
    assert not worker.is_alive(), "the run did not finish after a worker was killed"
    assert "error" not in result, result.get("error")
    sp = result["sp"]
    assert not [p.name for p in out.iterdir() if p.name.startswith(".tmp")], "a partial shard was left behind"
    assert all((out / f"shard-{s:05d}" / "meta.json").is_file() for s in range(sp.n_shards))
    assert_same(mg.partition_relu(ws, bs, box, ridges=False), ShardedPartition.open(out))
    client.wait_for_workers(2, timeout=30)


def test_an_unfinished_directory_is_refused(tmp_path: Path) -> None:
    (tmp_path / "shard-00000").mkdir()
    with pytest.raises(mg.InvalidInputError, match="no finished sharded partition"):
        ShardedPartition.open(tmp_path)


@pytest.mark.parametrize(("widths", "n"), [([2, 8, 8, 1], 20_000), ([4, 10, 10, 2], 6_000)])
def test_data_cells_of_a_dask_array(client: Any, widths: list[int], n: int) -> None:
    import dask.array as da

    ws, bs = _net(widths, 2)
    X = np.random.default_rng(4).uniform(-1, 1, (n, widths[0]))
    box = mg.Box(-1, 1, dim=widths[0])
    ref = mg.data_cells((ws, bs), X, box)
    dc = mg.data_cells((ws, bs), da.from_array(X, chunks=(n // 7, widths[0])), box, client=client)
    assert dc.n_cells == ref.n_cells
    np.testing.assert_array_equal(dc.packed_patterns, ref.packed_patterns)
    np.testing.assert_array_equal(dc.counts, ref.counts)
    np.testing.assert_array_equal(dc.representatives, ref.representatives)
    np.testing.assert_array_equal(dc.point_cell.compute(), ref.point_cell)
    got, want = dc.edges, ref.edges
    np.testing.assert_array_equal(got.cells, want.cells)
    np.testing.assert_array_equal(got.bits, want.bits)
    np.testing.assert_array_equal(got.by_lp, want.by_lp)
    np.testing.assert_allclose(got.witnesses, want.witnesses, atol=1e-12)
    assert dc.shuffle_bytes > 0 and (dc.adjacency() != ref.adjacency()).nnz == 0
    for got_map, want_map in zip(dc.affine_maps, ref.affine_maps, strict=True):
        np.testing.assert_allclose(got_map, want_map, rtol=1e-12, atol=1e-12)
    for i in (0, dc.n_cells // 2, dc.n_cells - 1):
        for a, b in zip(dc.pullback(i), ref.pullback(i), strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def test_model_partition_on_the_cluster(client: Any) -> None:
    ws, bs = _net([2, 6, 5, 1], 8)
    box = mg.Box(-1, 1, dim=2)
    assert_same(mg.partition_relu(ws, bs, box), mg.partition((ws, bs), box, client=client, shards=3))
    sklearn = pytest.importorskip("sklearn.linear_model")
    X = np.random.default_rng(0).normal(size=(40, 2))
    linear = sklearn.LogisticRegression().fit(X, X[:, 0] > 0)
    with pytest.raises(mg.UnsupportedModelError, match="client="):
        mg.partition(linear, box, client=client)


def test_ollivier_curvature_on_the_cluster(client: Any) -> None:
    W, c = _random_arrangement(16, 2, 3)
    box = mg.Box(0, 1, dim=2)
    sp = mg.partition_hyperplanes(W, c, box, client=client, shards=4)
    ref = mg.partition_hyperplanes(W, c, box)
    perm = _relabel(ref, sp)
    lengths = sp.centroid_distances()
    # The sharded cell graph with centroid distances is the single-machine one, relabelled.
    f = ref.facets
    inner = np.asarray(f.cells)[f.interior]
    cen = np.asarray(ref.centroids)
    want = np.linalg.norm(cen[inner[:, 0]] - cen[inner[:, 1]], axis=1)
    got = lengths[np.argsort(perm)][:, np.argsort(perm)]
    np.testing.assert_allclose(got[inner[:, 0], inner[:, 1]], want, rtol=1e-12)
    edge, node = mg.ollivier_ricci(lengths, alpha=0.3, client=client)
    edge_ref, node_ref = mg.ollivier_ricci(lengths, alpha=0.3)
    np.testing.assert_array_equal(edge.data, edge_ref.data)  # each edge solved once, the same way
    np.testing.assert_allclose(node, node_ref, rtol=1e-14)


@pytest.mark.parametrize("weights", ["area", "finite_volume", "count"])
@pytest.mark.parametrize("form", ["combinatorial", "random_walk", "symmetric"])
def test_graph_laplacian_of_a_sharded_partition(client: Any, weights: str, form: str) -> None:
    W, c = _random_arrangement(10, 2, 6)
    box = mg.Box(0, 1, dim=2)
    ref = mg.partition_hyperplanes(W, c, box)
    sp = mg.partition_hyperplanes(W, c, box, client=client, shards=[2, 5])
    inv = np.argsort(_relabel(ref, sp))
    got = sp.graph_laplacian(weights, form)[inv][:, inv]
    want = mg.RiemannianComplex(ref).graph_laplacian(weights, form)
    assert abs(got - want).max() <= 1e-12 * max(1.0, abs(want).max())
    assert abs(got @ np.ones(ref.n_cells)).max() <= 1e-12 * max(1.0, abs(want).max()) or form == "symmetric"


def test_exact_mode_shards(client: Any) -> None:
    W = np.array([[1, 1], [1, -1], [0, 1], [-2, -2], [1, 0], [0, 1], [0, 0], [1, 2]], dtype=float)
    c = np.array([-1, 0, -0.5, 2, -3, 0, 1.0, -1.5])
    box = mg.Box(0, 1, dim=2)
    assert_same(
        mg.partition_hyperplanes(W, c, box, exact=True),
        mg.partition_hyperplanes(W, c, box, client=client, shards=[0, 3, 7], exact=True),
    )
    ws, bs = _net([2, 6, 5, 1], 0)
    assert_same(
        mg.partition_relu(ws, bs, box, exact=True), mg.partition_relu(ws, bs, box, client=client, shards=3, exact=True)
    )


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    m=st.integers(1, 9),
    d=st.integers(1, 3),
    seed=st.integers(0, 2**16),
    bits=st.lists(st.integers(0, 8), min_size=1, max_size=3, unique=True),
)
def test_any_sharding_bits_give_the_same_partition(client: Any, m: int, d: int, seed: int, bits: list[int]) -> None:
    """Property: for any arrangement and any sharding bits, the shards hold exactly the single-machine cells,
    facets and ridges (after relabelling); pickling keeps the result and drops what was read."""
    W, c = _random_arrangement(m, d, seed)
    box = mg.Box(0, 1, dim=d)
    sp = mg.partition_hyperplanes(W, c, box, client=client, shards=[j for j in bits if j < m] or [0])
    assert_same(mg.partition_hyperplanes(W, c, box), sp)
    again = pickle.loads(pickle.dumps(sp))
    assert "volumes" not in again.__dict__ and again.n_cells == sp.n_cells
    np.testing.assert_array_equal(again.volumes, sp.volumes)


def test_snapped_decisions_of_the_shards_are_summed_and_warned(client: Any) -> None:
    # Lines through (1/2, 1/2), offsets perturbed far below the tolerance: float mode snaps them to concurrent.
    W = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [1.0, -1.0], [1.0, 2.0]])
    c = -(W @ [0.5, 0.5]) + np.array([0.0, 1e-13, -1e-13, 2e-13, 1e-13])
    box = mg.Box(0, 1, dim=2)
    with pytest.warns(mg.ToleranceWarning):
        single = mg.partition_hyperplanes(W, c, box)
    with pytest.warns(mg.ToleranceWarning, match="exact=True"):
        sp = mg.partition_hyperplanes(W, c, box, client=client, shards=[0, 1])
    assert single.snapped > 0 and sp.snapped > 0
    assert sp.n_cells == single.n_cells
    exact = mg.partition_hyperplanes(W, c, box, client=client, shards=[0, 1], exact=True)
    assert exact.snapped == 0 and exact.n_cells == mg.partition_hyperplanes(W, c, box, exact=True).n_cells
