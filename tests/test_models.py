"""Model adapters: ``mg.partition(model, box)`` for numpy pairs, torch Sequentials and scikit-learn models.

Every adapter is checked the same way: the per-cell ``predictions`` equal the model's own output at the
interior points, and ``predict(X)`` (or, where the prediction is constant per cell, ``predictions[locate(X)]``)
equals the model's output at many random points of the box. torch and scikit-learn tests skip cleanly
when the package is absent.
"""

from __future__ import annotations

import itertools
import subprocess
import sys
import types
import warnings

import numpy as np
import pytest

import mlgeom_rs as mg
from mlgeom_rs.exceptions import InvalidInputError, MlgeomError, NumericalError, UnsupportedModelError

BOX2 = mg.Box(-1, 1, dim=2)
BOX3 = mg.Box(-1, 1, dim=3)


def points_in(box: mg.Box, n: int = 2000, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.uniform(box.lo, box.hi, size=(n, box.dim))


def random_net(widths: list[int], seed: int = 0) -> tuple[list[np.ndarray], list[np.ndarray]]:
    rng = np.random.default_rng(seed)
    ws = [rng.normal(0, 1 / np.sqrt(a), size=(b, a)) for a, b in itertools.pairwise(widths)]
    bs = [rng.normal(0, 0.5, size=b) for b in widths[1:]]
    return ws, bs


def forward(ws: list[np.ndarray], bs: list[np.ndarray], X: np.ndarray, *, output_layer: bool = True) -> np.ndarray:
    h = X
    for k, (w, b) in enumerate(zip(ws, bs, strict=True)):
        h = h @ w.T + b
        if k < len(ws) - 1 or not output_layer:
            h = np.maximum(h, 0.0)
    return h


def blobs(n_classes: int, d: int = 2, n: int = 120, seed: int = 0, labels=None) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian blobs inside [-1, 1]^d, one per class."""
    rng = np.random.default_rng(seed)
    centres = rng.uniform(-0.6, 0.6, size=(n_classes, d))
    y = np.arange(n) % n_classes
    X = centres[y] + rng.normal(0, 0.25, size=(n, d))
    if labels is not None:
        y = np.asarray(labels)[y]
    return X, y


def fit_quietly(model, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning of the short fits
        return model.fit(X, y)


def assert_cellwise(part: mg.ModelPartition, predict, box: mg.Box, seed: int = 1) -> None:
    """The prediction is constant per cell: predictions[locate(X)] equals the model at random points."""
    assert part.constant_per_cell
    X = points_in(box, seed=seed)
    np.testing.assert_array_equal(part.predictions[part.locate(X)], predict(X))
    np.testing.assert_array_equal(part.predict(X), predict(X))


def assert_regions_connected(part: mg.ModelPartition) -> None:
    """Decision regions are convex, so the cells of one class form a connected subgraph."""
    import networkx as nx

    graph = part.to_networkx()
    for label in np.unique(part.predictions):
        cells = np.flatnonzero(part.predictions == label).tolist()
        assert nx.is_connected(graph.subgraph(cells)), f"class {label!r} is split: cells {cells}"


# ------------------------------------------------------------------------------------------------ numpy pairs
def test_numpy_pair_activation_regions():
    ws, bs = random_net([2, 6, 5, 3], seed=3)
    part = mg.partition((ws, bs), BOX2)
    assert isinstance(part, mg.ReluModelPartition)
    assert isinstance(part, mg.ReluPartition) and isinstance(part, mg.Partition) and isinstance(part, mg.ModelPartition)
    assert part.regions == "activation" and part.model_type == "(weights, biases)" and part.classes is None
    assert not part.constant_per_cell
    assert part.layer_sizes == (6, 5)
    np.testing.assert_allclose(part.predictions, forward(ws, bs, part.interior_points), rtol=1e-9, atol=1e-9)
    X = points_in(BOX2)
    np.testing.assert_allclose(part.predict(X), forward(ws, bs, X), rtol=1e-9, atol=1e-9)
    plain = mg.partition_relu(ws, bs, BOX2)
    assert part.labels == plain.labels
    np.testing.assert_allclose(part.volumes, plain.volumes)


def test_numpy_pair_without_output_layer():
    ws, bs = random_net([3, 5, 4], seed=4)
    part = mg.partition((ws, bs), BOX3, output_layer=False)
    assert part.layer_sizes == (5, 4)
    X = points_in(BOX3, 500)
    np.testing.assert_allclose(part.predict(X), forward(ws, bs, X, output_layer=False), rtol=1e-9, atol=1e-9)


def test_numpy_single_layer_is_one_cell():
    w, b = np.array([[1.0, -2.0], [0.5, 0.0]]), np.array([0.1, -0.3])
    part = mg.partition(([w], [b]), BOX2)
    assert isinstance(part, mg.LinearModelPartition)
    assert part.n_cells == 1 and part.regions == "box"
    X = points_in(BOX2, 100)
    np.testing.assert_allclose(part.predict(X), X @ w.T + b)
    np.testing.assert_allclose(part.affine_maps.jacobians[0], w)


def test_numpy_pair_tuple_of_tuples_and_options():
    ws, bs = random_net([2, 4, 1], seed=5)
    part = mg.partition((tuple(ws), tuple(bs)), (np.zeros(2), np.ones(2)), n_threads=1, ridges=False)
    assert not part.has_ridges
    with pytest.raises(InvalidInputError, match="output_layer"):
        mg.partition(object(), BOX2, output_layer=False)
    with pytest.raises(InvalidInputError, match="regions"):
        mg.partition((ws, bs), BOX2, regions="decision")
    with pytest.raises(InvalidInputError, match="check"):
        mg.partition((ws, bs), BOX2, check="yes")
    with pytest.raises(InvalidInputError):  # the box has the wrong dimension
        mg.partition((ws, bs), BOX3)


def test_predict_refuses_points_outside_the_box():
    ws, bs = random_net([2, 4, 1], seed=6)
    part = mg.partition((ws, bs), BOX2)
    with pytest.raises(InvalidInputError, match="outside the box"):
        part.predict([[0.0, 0.0], [2.0, 0.0]])


def test_summary_and_repr_mention_the_model():
    ws, bs = random_net([2, 4, 1], seed=7)
    part = mg.partition((ws, bs), BOX2)
    assert "ReluModelPartition(model=(weights, biases)" in repr(part)
    text = part.summary()
    assert "model" in text and "predictions" in text and "cells" in text


# ------------------------------------------------------------------------------------------------ unsupported
@pytest.mark.parametrize("model", [object(), "net", 42, {"weights": []}, None])
def test_unsupported_objects(model):
    with pytest.raises(UnsupportedModelError, match="supported") as info:
        mg.partition(model, BOX2)
    assert isinstance(info.value, TypeError) and isinstance(info.value, MlgeomError)


def test_array_pair_points_to_partition_hyperplanes():
    with pytest.raises(UnsupportedModelError, match="partition_hyperplanes"):
        mg.partition((np.eye(2), np.zeros(2)), BOX2)


def test_import_does_not_load_torch_or_sklearn():
    code = (
        "import sys, mlgeom_rs\n"
        "loaded = [m for m in sys.modules if m.split('.')[0] in ('torch', 'sklearn')]\n"
        "assert not loaded, loaded\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# ------------------------------------------------------------------------------------------------ attach/hook
def test_attach_predictions_on_a_plain_partition():
    part = mg.partition_hyperplanes([[1.0, 0.0]], [0.0], BOX2)
    out = mg.models.attach_predictions(
        part, np.array(["left", "right"]), model_type="toy", regions="leaves", constant_per_cell=True
    )
    assert out is part and type(out) is mg.ModelPartition
    assert out.predict([[-0.5, 0.0], [0.5, 0.3]]).tolist() == ["left", "right"]
    with pytest.raises(InvalidInputError, match="one row per cell"):
        mg.models.attach_predictions(
            mg.partition_hyperplanes([[1.0, 0.0]], [0.0], BOX2),
            [1, 2, 3],
            model_type="toy",
            regions="leaves",
            constant_per_cell=True,
        )


class _FakeLinearClassifier:
    """Duck-typed linear classifier (no scikit-learn) whose predict can be made to lie."""

    def __init__(self, lie: bool = False) -> None:
        self.coef_ = np.array([[1.0, -1.0]])
        self.intercept_ = np.array([0.2])
        self.classes_ = np.array(["neg", "pos"])
        self.lie = lie

    def predict(self, X):
        positive = (np.asarray(X) @ self.coef_.T + self.intercept_)[:, 0] > 0
        return self.classes_[(positive ^ self.lie).astype(int)]


def test_duck_typed_linear_classifier_and_the_check():
    part = mg.partition(_FakeLinearClassifier(), BOX2)
    assert part.n_cells == 2 and sorted(part.predictions.tolist()) == ["neg", "pos"]
    assert_cellwise(part, _FakeLinearClassifier().predict, BOX2)
    with pytest.raises(NumericalError, match="disagrees"):
        mg.partition(_FakeLinearClassifier(lie=True), BOX2)
    unchecked = mg.partition(_FakeLinearClassifier(lie=True), BOX2, check=False)
    assert unchecked.n_cells == 2


# ------------------------------------------------------------------------------------------------ torch
@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch")


def test_torch_sequential(torch):
    nn = torch.nn
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Flatten(),
        nn.Linear(2, 8),
        nn.ReLU(),
        nn.Identity(),
        nn.Linear(8, 6),
        nn.ReLU(inplace=True),
        nn.Dropout(0.5),
        nn.Linear(6, 3),
    ).eval()
    part = mg.partition(model, BOX2)
    assert isinstance(part, mg.ReluModelPartition)
    assert part.layer_sizes == (8, 6) and part.model_type == "torch.nn.modules.container.Sequential"
    X = points_in(BOX2)
    with torch.no_grad():
        expected = model(torch.as_tensor(X, dtype=torch.float32)).double().numpy()
    np.testing.assert_allclose(part.predict(X), expected, rtol=1e-4, atol=1e-5)  # float32 model
    ws = [m.weight.detach().double().numpy() for m in model if isinstance(m, nn.Linear)]
    bs = [m.bias.detach().double().numpy() for m in model if isinstance(m, nn.Linear)]
    plain = mg.partition_relu(ws, bs, BOX2)
    assert part.labels == plain.labels


def test_torch_trailing_relu_and_nesting_float64(torch):
    nn = torch.nn
    torch.manual_seed(1)
    model = nn.Sequential(nn.Sequential(nn.Linear(3, 5), nn.ReLU()), nn.Linear(5, 4), nn.ReLU()).double()
    part = mg.partition(model, BOX3)
    assert part.layer_sizes == (5, 4)  # output_layer=False: the last Linear's neurons are bits too
    X = points_in(BOX3, 800)
    with torch.no_grad():
        expected = model(torch.as_tensor(X)).numpy()
    np.testing.assert_allclose(part.predict(X), expected, rtol=1e-9, atol=1e-9)


def test_torch_single_linear_without_bias(torch):
    layer = torch.nn.Linear(2, 2, bias=False)
    part = mg.partition(layer, BOX2)
    assert part.n_cells == 1 and isinstance(part, mg.LinearModelPartition)
    np.testing.assert_allclose(part.coef, layer.weight.detach().double().numpy())
    np.testing.assert_array_equal(part.intercept, [0.0, 0.0])


@pytest.mark.parametrize(
    "build",
    [
        lambda nn: nn.Sequential(nn.Conv2d(1, 1, 3), nn.ReLU(), nn.Linear(2, 1)),
        lambda nn: nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 1)),
        lambda nn: nn.Sequential(nn.Linear(2, 4), nn.Linear(4, 1)),
        lambda nn: nn.Sequential(nn.ReLU(), nn.Linear(2, 1)),
        lambda nn: nn.Sequential(nn.Linear(2, 4), nn.ReLU(), nn.ReLU(), nn.Linear(4, 1)),
        lambda nn: nn.Sequential(),
        lambda nn: nn.Sequential(nn.Flatten(0), nn.Linear(2, 1)),
        lambda nn: nn.Tanh(),
    ],
    ids=["conv2d", "tanh", "linear-linear", "leading-relu", "relu-relu", "empty", "flatten-batch", "bare-tanh"],
)
def test_torch_unsupported(torch, build):
    with pytest.raises(UnsupportedModelError, match="Linear"):
        mg.partition(build(torch.nn), BOX2)


def test_torch_custom_module_and_training_dropout(torch):
    nn = torch.nn

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(2, 1)

        def forward(self, x):
            return self.fc(x)

    with pytest.raises(UnsupportedModelError, match="Sequential"):
        mg.partition(Net(), BOX2)
    model = nn.Sequential(nn.Linear(2, 4), nn.ReLU(), nn.Dropout(0.3), nn.Linear(4, 1))
    with pytest.raises(InvalidInputError, match="eval"):
        mg.partition(model.train(), BOX2)
    assert mg.partition(model.eval(), BOX2).n_cells >= 1


# ------------------------------------------------------------------------------------------------ sklearn MLP
@pytest.fixture(scope="module")
def sklearn():
    return pytest.importorskip("sklearn")


@pytest.mark.parametrize("n_classes", [2, 3])
def test_sklearn_mlp_classifier(sklearn, n_classes):
    from sklearn.neural_network import MLPClassifier

    X, y = blobs(n_classes, labels=["a", "b", "c"][:n_classes])
    model = fit_quietly(MLPClassifier(hidden_layer_sizes=(8, 6), max_iter=300, random_state=0), X, y)
    part = mg.partition(model, BOX2)
    assert isinstance(part, mg.ReluModelPartition) and part.layer_sizes == (8, 6)
    assert part.model_type == "sklearn.neural_network.MLPClassifier"
    np.testing.assert_array_equal(part.classes, model.classes_)
    np.testing.assert_array_equal(part.predictions, model.predict(part.interior_points))
    X_test = points_in(BOX2)
    np.testing.assert_array_equal(part.predict(X_test), model.predict(X_test))
    plain = mg.partition_relu([c.T for c in model.coefs_], model.intercepts_, BOX2)
    assert part.labels == plain.labels


def test_sklearn_mlp_multilabel(sklearn):
    from sklearn.neural_network import MLPClassifier

    X, _ = blobs(2, n=80)
    Y = np.column_stack([X[:, 0] > 0, X[:, 1] > X[:, 0]]).astype(int)
    model = fit_quietly(MLPClassifier(hidden_layer_sizes=(6,), max_iter=300, random_state=0), X, Y)
    part = mg.partition(model, BOX2)
    X_test = points_in(BOX2)
    np.testing.assert_array_equal(part.predict(X_test), model.predict(X_test))


@pytest.mark.parametrize("n_targets", [1, 2])
def test_sklearn_mlp_regressor(sklearn, n_targets):
    from sklearn.neural_network import MLPRegressor

    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, size=(100, 3))
    Y = np.column_stack([np.abs(X[:, 0]) + X[:, 1], X[:, 2] - X[:, 0]])[:, :n_targets]
    model = fit_quietly(MLPRegressor(hidden_layer_sizes=(6,), max_iter=200, random_state=0), X, Y.squeeze())
    part = mg.partition(model, BOX3)
    assert part.predictions.shape == ((part.n_cells,) if n_targets == 1 else (part.n_cells, 2))
    X_test = points_in(BOX3, 800)
    np.testing.assert_allclose(part.predict(X_test), model.predict(X_test), rtol=1e-9, atol=1e-9)


def test_sklearn_mlp_rejects_other_activations_and_unfitted(sklearn):
    from sklearn.neural_network import MLPClassifier

    X, y = blobs(2)
    model = fit_quietly(MLPClassifier(hidden_layer_sizes=(4,), activation="tanh", max_iter=50, random_state=0), X, y)
    with pytest.raises(UnsupportedModelError, match="relu"):
        mg.partition(model, BOX2)
    with pytest.raises(InvalidInputError, match="fit"):
        mg.partition(MLPClassifier(), BOX2)


# ------------------------------------------------------------------------------------------------ sklearn linear
def _classifiers():
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
    from sklearn.linear_model import LogisticRegression, Perceptron, RidgeClassifier, SGDClassifier
    from sklearn.svm import LinearSVC

    return {
        "logistic": lambda: LogisticRegression(),
        "linear-svc": lambda: LinearSVC(),
        "sgd": lambda: SGDClassifier(random_state=0),
        "perceptron": lambda: Perceptron(random_state=0),
        "ridge": lambda: RidgeClassifier(),
        "lda": lambda: LinearDiscriminantAnalysis(),
    }


CLASSIFIERS = ["logistic", "linear-svc", "sgd", "perceptron", "ridge", "lda"]


@pytest.mark.parametrize("name", CLASSIFIERS)
def test_sklearn_binary_linear(sklearn, name):
    X, y = blobs(2, seed=2, labels=[-1, 7])
    model = fit_quietly(_classifiers()[name](), X, y)
    part = mg.partition(model, BOX2)
    assert isinstance(part, mg.LinearModelPartition) and part.regions == "decision"
    assert part.n_hyperplanes == 1 and part.n_cells in (1, 2)
    assert_cellwise(part, model.predict, BOX2)
    X_test = points_in(BOX2, 200)
    np.testing.assert_allclose(part.evaluate(X_test)[:, 0], model.decision_function(X_test), rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("n_classes", [3, 4])
@pytest.mark.parametrize("name", CLASSIFIERS)
def test_sklearn_multiclass_decision_regions(sklearn, name, n_classes):
    X, y = blobs(n_classes, seed=n_classes)
    model = fit_quietly(_classifiers()[name](), X, y)
    part = mg.partition(model, BOX2)
    assert part.regions == "decision" and part.n_hyperplanes == n_classes * (n_classes - 1) // 2
    assert_cellwise(part, model.predict, BOX2)
    assert_regions_connected(part)
    assert set(part.predictions.tolist()) <= set(model.classes_.tolist())


@pytest.mark.parametrize("name", ["logistic", "linear-svc"])
def test_sklearn_multiclass_ovr_arrangement(sklearn, name):
    X, y = blobs(3, d=3, seed=5)
    model = fit_quietly(_classifiers()[name](), X, y)
    part = mg.partition(model, BOX3, regions="ovr")
    assert part.regions == "ovr" and part.n_hyperplanes == 3 and not part.constant_per_cell
    np.testing.assert_array_equal(part.predictions, model.predict(part.interior_points))
    X_test = points_in(BOX3)
    np.testing.assert_array_equal(part.predict(X_test), model.predict(X_test))
    # bit k of a cell is 1 iff class k's one-vs-rest score is positive there
    scores = model.decision_function(part.interior_points)
    np.testing.assert_array_equal(part.patterns, scores > 0)


def test_sklearn_linear_svc_ovo(sklearn):
    from sklearn.svm import SVC

    X, y = blobs(3, seed=8)
    model = SVC(kernel="linear").fit(X, y)
    part = mg.partition(model, BOX2)
    assert part.n_hyperplanes == 3 and part.regions == "decision"
    assert_cellwise(part, model.predict, BOX2)
    with pytest.raises(UnsupportedModelError, match="kernel"):
        mg.partition(SVC(kernel="rbf").fit(X, y), BOX2)


@pytest.mark.parametrize("n_targets", [1, 2])
def test_sklearn_linear_regression(sklearn, n_targets):
    from sklearn.linear_model import LinearRegression, Ridge

    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 3))
    Y = (X @ rng.normal(size=(3, n_targets)) + 0.3).squeeze()
    for model in (LinearRegression().fit(X, Y), Ridge(alpha=0.1).fit(X, Y)):
        part = mg.partition(model, BOX3)
        assert part.n_cells == 1 and part.regions == "box" and part.classes is None and not part.constant_per_cell
        X_test = points_in(BOX3, 300)
        np.testing.assert_allclose(part.predict(X_test), model.predict(X_test), rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(part.affine_maps.jacobians[0], np.atleast_2d(model.coef_))
        assert part.predictions.shape == ((1,) if n_targets == 1 else (1, 2))


def test_sklearn_linear_options_and_errors(sklearn):
    from sklearn.linear_model import LinearRegression, LogisticRegression

    X, y = blobs(3)
    model = LogisticRegression().fit(X, y)
    with pytest.raises(InvalidInputError, match="regions"):
        mg.partition(model, BOX2, regions="activation")
    with pytest.raises(InvalidInputError, match="regions"):
        mg.partition(LinearRegression().fit(X, y), BOX2, regions="ovr")
    with pytest.raises(InvalidInputError, match="fit"):
        mg.partition(LogisticRegression(), BOX2)
    with pytest.raises(InvalidInputError):
        mg.partition(model, BOX3)  # fitted on 2 features


def test_sklearn_trees_use_the_hook(sklearn, monkeypatch):
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.tree import DecisionTreeClassifier

    X, y = blobs(2)
    tree = DecisionTreeClassifier(max_depth=2, random_state=0).fit(X, y)
    calls = []

    def partition_tree(model, box, *, n_threads, max_cells, ridges):
        calls.append((model, box, n_threads, max_cells, ridges))
        return "sentinel"

    monkeypatch.setitem(sys.modules, "mlgeom_rs.trees", types.SimpleNamespace(partition_tree=partition_tree))
    assert mg.partition(tree, BOX2, n_threads=1) == "sentinel"
    forest = RandomForestClassifier(n_estimators=2, max_depth=2, random_state=0).fit(X, y)
    assert mg.partition(forest, BOX2) == "sentinel"
    assert calls[0][0] is tree and calls[0][2] == 1 and calls[1][0] is forest
    with pytest.raises(InvalidInputError, match="regions"):
        mg.partition(tree, BOX2, regions="ovr")
    monkeypatch.setitem(sys.modules, "mlgeom_rs.trees", None)  # the module is absent
    with pytest.raises(UnsupportedModelError, match="trees"):
        mg.partition(tree, BOX2)
