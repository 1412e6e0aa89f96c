"""Every bad input named in DESIGN.md §3 raises the documented exception class, with a useful message."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

import mlgeom_rs as mg
from mlgeom_rs import exceptions

FIG1_W = np.array([[1.0, 0.0], [0.0, 1.0]])
FIG1_C = np.array([-0.3, -0.6])
UNIT_SQUARE = mg.Box(0, 1, dim=2)


def fig1(**kw):
    return mg.partition_hyperplanes(FIG1_W, FIG1_C, UNIT_SQUARE, **kw)


# --- the hierarchy
def test_hierarchy():
    assert issubclass(mg.MlgeomError, Exception)
    assert issubclass(mg.InvalidInputError, mg.MlgeomError)
    assert issubclass(mg.InvalidInputError, ValueError)
    assert issubclass(mg.TooManyCellsError, mg.MlgeomError)
    assert issubclass(mg.NumericalError, mg.MlgeomError)
    assert not issubclass(mg.TooManyCellsError, ValueError)
    assert not issubclass(mg.NumericalError, ValueError)


def test_exception_names_are_shared_with_the_exceptions_module():
    for name in ("MlgeomError", "InvalidInputError", "TooManyCellsError", "NumericalError"):
        assert getattr(mg, name) is getattr(exceptions, name)
        assert name in mg.__all__ and name in exceptions.__all__


def test_exceptions_pickle():
    err = pickle.loads(pickle.dumps(mg.InvalidInputError("bad W")))
    assert type(err) is mg.InvalidInputError and str(err) == "bad W"


def test_except_value_error_catches_invalid_input():
    with pytest.raises(ValueError):
        mg.partition_hyperplanes(FIG1_W, [np.nan, 0.0], UNIT_SQUARE)
    try:
        mg.Box(1, 0)
    except ValueError as exc:
        assert isinstance(exc, mg.InvalidInputError)
    else:  # pragma: no cover
        pytest.fail("Box(1, 0) did not raise")


# --- non-finite numbers
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("where", [(0, 0), (1, 1)])
def test_nonfinite_W(bad, where):
    W = FIG1_W.copy()
    W[where] = bad
    with pytest.raises(mg.InvalidInputError, match="W contains NaN or infinity"):
        mg.partition_hyperplanes(W, FIG1_C, UNIT_SQUARE)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nonfinite_c(bad):
    with pytest.raises(mg.InvalidInputError, match="c contains NaN or infinity"):
        mg.partition_hyperplanes(FIG1_W, [-0.3, bad], UNIT_SQUARE)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nonfinite_box(bad):
    with pytest.raises(mg.InvalidInputError, match="NaN or infinity"):
        mg.Box([0.0, bad], [1.0, 1.0])
    with pytest.raises(mg.InvalidInputError, match="NaN or infinity"):
        mg.Box(0.0, [1.0, bad])
    with pytest.raises(mg.InvalidInputError, match="NaN or infinity"):
        mg.partition_hyperplanes(FIG1_W, FIG1_C, (0.0, bad))


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nonfinite_locate_points(bad):
    part = fig1()
    with pytest.raises(mg.InvalidInputError, match="X contains NaN or infinity"):
        part.locate([[0.5, 0.5], [bad, 0.5]])


# --- shapes
@pytest.mark.parametrize(
    ("W", "c", "match"),
    [
        ([1.0, 0.0], [-0.3], "W must be a 2-D array"),  # 1-D: ambiguous, refused
        (np.ones((2, 2, 1)), [0.0, 0.0], "W must be a 2-D array"),
        (np.ones((2, 3)), [0.0, 0.0], "W has 3 columns but the box is 2-dimensional"),
        (np.ones((2, 1)), [0.0, 0.0], "W has 1 columns but the box is 2-dimensional"),
        (np.ones((2, 0)), [0.0, 0.0], "at least one column"),
        (FIG1_W, [-0.3], r"c must have shape \(2,\)"),
        (FIG1_W, [-0.3, -0.6, 0.1], r"c must have shape \(2,\)"),
        (FIG1_W, [[-0.3], [-0.6]], r"c must have shape \(2,\)"),
        (FIG1_W, -0.3, r"c must have shape \(2,\)"),
        ([[1.0, 0.0], [0.0]], [0.0, 0.0], "could not be read"),  # ragged
    ],
)
def test_bad_shapes(W, c, match):
    with pytest.raises(mg.InvalidInputError, match=match):
        mg.partition_hyperplanes(W, c, UNIT_SQUARE)


@pytest.mark.parametrize(
    "X",
    [[0.5, 0.5], [[0.5, 0.5, 0.5]], np.zeros((2, 2, 2)), [[0.5], [0.5]]],
)
def test_locate_bad_shapes(X):
    with pytest.raises(mg.InvalidInputError, match="X"):
        fig1().locate(X)


# --- dtypes
@pytest.mark.parametrize(
    "W",
    [
        FIG1_W.astype(complex),
        FIG1_W.astype(object),
        np.array([["1", "0"], ["0", "1"]]),
        np.array([[True, False], [False, True]]),
        np.array([[None, 1.0], [0.0, 1.0]]),
    ],
    ids=["complex", "object", "str", "bool", "None"],
)
def test_bad_dtypes_W(W):
    with pytest.raises(mg.InvalidInputError, match="W must hold real numbers"):
        mg.partition_hyperplanes(W, FIG1_C, UNIT_SQUARE)


@pytest.mark.parametrize("c", [FIG1_C.astype(complex), np.array(["a", "b"]), np.array([True, False])])
def test_bad_dtypes_c(c):
    with pytest.raises(mg.InvalidInputError, match="c must hold real numbers"):
        mg.partition_hyperplanes(FIG1_W, c, UNIT_SQUARE)


def test_bad_dtype_locate():
    with pytest.raises(mg.InvalidInputError, match="X must hold real numbers"):
        fig1().locate(np.array([[0.5 + 1j, 0.5]]))


def test_integer_and_low_precision_inputs_are_accepted():
    ref = mg.partition_hyperplanes([[10, 0], [0, 10]], [-3, -6], UNIT_SQUARE)
    for W, c in [
        (np.array([[10, 0], [0, 10]], dtype=np.int32), np.array([-3, -6], dtype=np.int64)),
        (np.array([[10, 0], [0, 10]], dtype=np.uint8), np.array([-3.0, -6.0], dtype=np.float32)),
        (np.array([[10, 0], [0, 10]], dtype=np.float16), [-3, -6]),
    ]:
        part = mg.partition_hyperplanes(W, c, mg.Box(np.int64(0), 1, dim=2))
        assert part.labels == ref.labels
        np.testing.assert_allclose(part.volumes, ref.volumes, rtol=1e-12)


# --- boxes
@pytest.mark.parametrize(
    ("lo", "hi", "dim", "match"),
    [
        (1.0, 0.0, None, "empty or inverted on axis 0"),
        (0.0, 0.0, 2, "empty or inverted on axis 0"),
        ([0.0, 1.0], [1.0, 1.0], None, "empty or inverted on axis 1"),
        ([0.0, 0.0], [1.0, 1.0, 1.0], None, "different lengths"),
        ([0.0, 0.0], 1.0, 3, "length 2 but dim=3"),
        ([[0.0, 0.0]], [[1.0, 1.0]], None, "scalar or a 1-D array"),
        ([], [], None, "at least one dimension"),
        (0.0, 1.0, 0, "dim must be a positive integer"),
        (0.0, 1.0, 1.5, "dim must be a positive integer"),
        (0.0, 1.0, True, "dim must be a positive integer"),
        (0.0, 1j, None, "hi must hold real numbers"),
        (False, 1.0, None, "lo must hold real numbers"),
    ],
)
def test_bad_box(lo, hi, dim, match):
    with pytest.raises(mg.InvalidInputError, match=match):
        mg.Box(lo, hi, dim)


@pytest.mark.parametrize("box", [None, "unit", (0.0, 1.0, 2.0), 1.0, {"lo": 0}])
def test_box_argument_of_wrong_type(box):
    with pytest.raises(mg.InvalidInputError):
        mg.partition_hyperplanes(FIG1_W, FIG1_C, box)


def test_empty_box_in_partition():
    with pytest.raises(mg.InvalidInputError, match="empty or inverted"):
        mg.partition_hyperplanes(FIG1_W, FIG1_C, (1.0, 1.0))
    with pytest.raises(mg.InvalidInputError, match="empty or inverted"):
        mg.partition_hyperplanes(FIG1_W, FIG1_C, ([0.0, 1.0], [1.0, 0.0]))


@pytest.mark.parametrize(
    ("X", "margin", "match"),
    [
        (np.zeros((0, 2)), 0.05, "non-empty 2-D"),
        ([1.0, 2.0, 3.0], 0.05, "non-empty 2-D"),
        ([[0.0, np.nan]], 0.05, "NaN or infinity"),
        ([[0.0, 1.0]], -0.1, "margin"),
        ([[0.0, 1.0]], np.inf, "margin"),
        ([[0.0, 1.0]], "5%", "margin"),
    ],
)
def test_bad_from_data(X, margin, match):
    with pytest.raises(mg.InvalidInputError, match=match):
        mg.Box.from_data(X, margin=margin)


def test_box_contains_bad_points():
    with pytest.raises(mg.InvalidInputError, match="3 columns but the domain is 2-dimensional"):
        UNIT_SQUARE.contains([[0.5, 0.5, 0.5]])


# --- hyperplanes
def test_zero_normal_and_zero_offset_is_an_error():
    with pytest.raises(mg.InvalidInputError, match="hyperplane 1 has a zero normal and a zero offset"):
        mg.partition_hyperplanes([[1.0, 0.0], [0.0, 0.0]], [-0.3, 0.0], UNIT_SQUARE)


@pytest.mark.parametrize(("offset", "bit"), [(2.0, True), (-2.0, False)])
def test_zero_normal_with_nonzero_offset_is_a_constant_bit(offset, bit):
    part = mg.partition_hyperplanes([[1.0, 0.0], [0.0, 0.0]], [-0.3, offset], UNIT_SQUARE)
    assert part.n_cells == 2
    assert (part.patterns[:, 1] == bit).all()


# --- options
@pytest.mark.parametrize("n_threads", [0, -1, 1.5, "2", True])
def test_bad_n_threads(n_threads):
    with pytest.raises(mg.InvalidInputError, match="n_threads"):
        fig1(n_threads=n_threads)


@pytest.mark.parametrize("value", ["zero", "0", "-2", "1.5"])
def test_bad_thread_env_var(monkeypatch, value):
    monkeypatch.setenv("MLGEOM_NUM_THREADS", value)
    with pytest.raises(mg.InvalidInputError, match="MLGEOM_NUM_THREADS"):
        fig1()
    # an explicit argument wins over the environment
    assert fig1(n_threads=1).n_cells == 4


@pytest.mark.parametrize("max_cells", [0, -5, 2.0, True, "10", None])
def test_bad_max_cells(max_cells):
    with pytest.raises(mg.InvalidInputError, match="max_cells"):
        fig1(max_cells=max_cells)


def test_bad_ridges_flag():
    with pytest.raises(mg.InvalidInputError, match="ridges"):
        fig1(ridges="yes")


def test_too_many_cells():
    assert fig1(max_cells=4).n_cells == 4
    with pytest.raises(mg.TooManyCellsError) as info:
        fig1(max_cells=3)
    message = str(info.value)
    assert "3" in message and "max_cells" in message  # states the limit and how to raise it
    assert not isinstance(info.value, ValueError)


def test_too_many_cells_in_a_large_arrangement():
    rng = np.random.default_rng(1)
    W = rng.standard_normal((30, 2))
    c = -np.einsum("ij,ij->i", W, rng.uniform(0, 1, (30, 2)))
    with pytest.raises(mg.TooManyCellsError, match="max_cells"):
        mg.partition_hyperplanes(W, c, UNIT_SQUARE, max_cells=50)


# --- Partition methods
def test_bad_adjacency_weight():
    with pytest.raises(mg.InvalidInputError, match="weight must be 'area' or 'count'"):
        fig1().adjacency(weight="length")


def test_ridges_not_computed():
    part = fig1(ridges=False)
    assert not part.has_ridges
    with pytest.raises(mg.InvalidInputError, match="ridges=True"):
        _ = part.ridges
    assert len(part.facets) == 12  # facets are still available


@pytest.mark.parametrize(("index", "error"), [(4, IndexError), (-5, IndexError), (1.0, TypeError), ("0", TypeError)])
def test_bad_cell_index(index, error):
    part = fig1()
    with pytest.raises(error):
        part.vertices(index)
    with pytest.raises(error):
        part.label(index)


def test_results_are_read_only():
    part = fig1()
    for arr in (
        part.volumes,
        part.centroids,
        part.patterns,
        part.facets.areas,
        part.ridges.angles,
        part.vertices(0),
    ):
        with pytest.raises(ValueError, match="read-only"):
            arr[0] = 0
    with pytest.raises(AttributeError):
        part.box.lo = np.zeros(2)  # type: ignore[misc]
    with pytest.raises(ValueError, match="read-only"):
        part.box.lo[0] = -1.0
