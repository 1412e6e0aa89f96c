"""Pictures of partitions, drawn from the exact geometry (matplotlib, imported lazily).

Every cell is drawn as the polygon (d = 2) or the set of face polygons (d = 3) spanned by its
exact vertices, never as a sampled image, so what you see is the partition of Gajer & Ravel,
"The Geometry of Machine Learning Models" (arXiv 2508.02080), §2: in Figure 1 the unit square
is cut by two lines into four rectangles.

- :func:`plot` (also ``Partition.plot``): a partition of a 2-D box (or a 1-D one, drawn as a
  strip), coloured by label, volume, the model's prediction or any per-cell array, with facets,
  data points and a colour bar;
- :func:`plot3d` (also ``Partition.plot3d``): the faces of the cells of a 3-D partition;
- :func:`plot_complex`: the nerve complex of a 2-D partition over its cells (vertices at the cell
  centroids, edges, filled triangles), coloured by any per-vertex or per-edge array (curvature);
- :func:`plot_slice` and :func:`slice_partition`: the exact partition of a plane
  ``x = origin + s·u + t·v`` through a higher-dimensional arrangement or ReLU network, obtained by
  restricting the model to the plane (the hyperplanes ``W x + c = 0`` become ``(W [u v]) (s, t) +
  (W·origin + c) = 0``; a network's first layer is composed with ``[u v]``), then partitioning a
  2-D box in (s, t).

matplotlib is an optional dependency (``pip install mlgeom_rs[plot]``); it is imported only
when a function here is called.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, cast

import numpy as np
import numpy.typing as npt

from ._validate import as_float_array, as_points
from .box import Box
from .exceptions import InvalidInputError, UnsupportedModelError
from .partition import Partition, partition_hyperplanes

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["plot", "plot3d", "plot_complex", "plot_slice", "slice_partition"]

ColorBy = Literal["label", "volume", "prediction"] | npt.ArrayLike

#: Categorical colourings with at most this many categories get a legend.
MAX_LEGEND = 12

#: gid of the artist holding the cell polygons (tests and users can find it with ``ax.findobj``).
CELLS_GID = "mlgeom-cells"
FACETS_GID = "mlgeom-facets"


def _matplotlib() -> Any:
    try:
        import matplotlib
    except ModuleNotFoundError as exc:  # pragma: no cover - depends on the environment
        raise ModuleNotFoundError(
            "plotting needs matplotlib: pip install 'matplotlib>=3.8' (or the extra: pip install mlgeom_rs[plot])"
        ) from exc
    return matplotlib


# ------------------------------------------------------------------------------------------------ colours
@dataclass(frozen=True)
class _Colors:
    """Per-polygon colouring: either continuous ``values`` (colour bar) or ``codes`` into ``categories``."""

    title: str
    values: npt.NDArray[np.float64] | None = None
    codes: npt.NDArray[np.intp] | None = None
    categories: tuple[str, ...] = ()


def _categorical_palette(k: int) -> npt.NDArray[np.float64]:
    """k distinct RGBA colours: tab10/tab20 while they last, then hues spaced by the golden ratio."""
    mpl = _matplotlib()
    if k <= 10:
        return np.asarray(mpl.colormaps["tab10"](np.arange(k)), dtype=np.float64)
    if k <= 20:
        return np.asarray(mpl.colormaps["tab20"](np.arange(k)), dtype=np.float64)
    from matplotlib.colors import hsv_to_rgb

    i = np.arange(k)
    hsv = np.stack([(i * 0.6180339887498949) % 1.0, 0.45 + 0.25 * (i % 3) / 2, 0.95 - 0.15 * (i % 2)], axis=1)
    rgb = hsv_to_rgb(hsv)
    return np.concatenate([rgb, np.ones((k, 1))], axis=1)


def _categorize(values: npt.NDArray[Any], title: str) -> _Colors:
    if values.ndim == 2:
        values = np.array([" ".join(map(str, row)) for row in values.tolist()])
    categories, codes = np.unique(values, return_inverse=True)
    return _Colors(title, codes=codes.astype(np.intp).ravel(), categories=tuple(str(c) for c in categories.tolist()))


def _from_array(values: npt.NDArray[Any], n: int, title: str) -> _Colors:
    if values.shape[0] != n:
        raise InvalidInputError(f"color_by has {values.shape[0]} entries but the picture has {n} cells")
    if values.dtype.kind in "iuf" and values.ndim == 1:
        vals = values.astype(np.float64)
        if not np.isfinite(vals).all():
            raise InvalidInputError("color_by contains NaN or infinity")
        return _Colors(title, values=vals)
    if values.ndim == 2 and values.shape[1] == 1:
        return _from_array(values[:, 0], n, title)
    if values.ndim == 2 and values.dtype.kind == "f":
        # Several raw outputs (e.g. a torch network's logits): colour by the largest one.
        return _categorize(np.array([f"output {k}" for k in np.argmax(values, axis=1).tolist()]), f"argmax {title}")
    if values.ndim > 2:
        raise InvalidInputError(f"color_by must be 1-D (one value per cell); got shape {values.shape}")
    return _categorize(values, title)


def _colors(part: Partition, color_by: Any, predictions: npt.NDArray[Any] | None = None) -> _Colors:
    n = part.n_cells
    if isinstance(color_by, str):
        if color_by == "label":
            return _Colors("label", codes=np.arange(n, dtype=np.intp), categories=tuple(part.labels))
        if color_by == "volume":
            return _Colors("volume", values=np.asarray(part.volumes, dtype=np.float64))
        if color_by == "prediction":
            if predictions is None:
                predictions = getattr(part, "predictions", None)
            if predictions is None:
                raise InvalidInputError(
                    "color_by='prediction' needs a partition made from a model: mg.partition(model, box)"
                )
            preds = np.asarray(predictions)
            if getattr(part, "classes", None) is not None and preds.ndim == 1:
                return _categorize(preds, "class")  # class labels: one colour each, even when numbers
            return _from_array(preds, n, "prediction")
        raise InvalidInputError(f"color_by must be 'label', 'volume', 'prediction' or an array; got {color_by!r}")
    return _from_array(np.asarray(color_by), n, "value")


# ------------------------------------------------------------------------------------------------ geometry
def _check_vertices(part: Partition) -> None:
    if part.n_cells and part.n_vertices == 0:
        raise InvalidInputError(
            "this partition was computed with vertices=False, so its cells cannot be drawn; recompute it with "
            "vertices=True"
        )


def _ordered_polygon(points: npt.NDArray[np.float64], center: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """The vertices of a convex polygon (k, 2) in counter-clockwise order around an interior point."""
    angles = np.arctan2(points[:, 1] - center[1], points[:, 0] - center[0])
    return points[np.argsort(angles, kind="stable")]


def _cell_polygons(part: Partition) -> list[npt.NDArray[np.float64]]:
    """One (k, 2) polygon per cell: the cell itself for d = 2, the strip ``[a, b] x [0, 1]`` for d = 1."""
    _check_vertices(part)
    inner = part.interior_points
    polys = []
    for i in range(part.n_cells):
        verts = np.asarray(part.vertices(i))
        if part.dim == 1:
            a, b = float(verts[:, 0].min()), float(verts[:, 0].max())
            polys.append(np.array([[a, 0.0], [b, 0.0], [b, 1.0], [a, 1.0]]))
        else:
            polys.append(_ordered_polygon(verts, inner[i]))
    return polys


def _facet_segments(part: Partition) -> npt.NDArray[np.float64]:
    """Every facet of a 2-D partition as a segment (F, 2, 2): its centroid ± half its length along
    the direction perpendicular to its unit normal (exact: a 2-D facet is a segment). For d = 1 the
    facets are points, drawn as vertical segments across the strip."""
    f = part.facets
    c = np.asarray(f.centroids)
    if part.dim == 1:
        x = c[:, 0]
        return np.stack([np.stack([x, np.zeros_like(x)], axis=1), np.stack([x, np.ones_like(x)], axis=1)], axis=1)
    normals = np.asarray(f.normals)
    tangent = np.stack([-normals[:, 1], normals[:, 0]], axis=1)
    half = 0.5 * np.asarray(f.areas)[:, None] * tangent
    return np.stack([c - half, c + half], axis=1)


def _clip(poly: npt.NDArray[np.float64], a: npt.NDArray[np.float64], b: float) -> npt.NDArray[np.float64]:
    """Sutherland–Hodgman: the part of a convex polygon (k, 2) where ``a·p + b >= 0``."""
    if poly.shape[0] == 0:
        return poly
    vals = poly @ a + b
    out: list[npt.NDArray[np.float64]] = []
    k = poly.shape[0]
    for j in range(k):
        p, q = poly[j], poly[(j + 1) % k]
        fp, fq = vals[j], vals[(j + 1) % k]
        if fp >= 0:
            out.append(p)
        if (fp >= 0) != (fq >= 0):
            out.append(p + (fp / (fp - fq)) * (q - p))
    return np.array(out, dtype=np.float64).reshape(-1, 2)


def _polygon_area_centroid(poly: npt.NDArray[np.float64]) -> tuple[float, npt.NDArray[np.float64]]:
    x, y = poly[:, 0], poly[:, 1]
    xs, ys = np.roll(x, -1), np.roll(y, -1)
    cross = x * ys - xs * y
    area = 0.5 * float(cross.sum())
    if abs(area) <= 0.0:
        return 0.0, poly.mean(axis=0)
    cx = float(((x + xs) * cross).sum()) / (6.0 * area)
    cy = float(((y + ys) * cross).sum()) / (6.0 * area)
    return abs(area), np.array([cx, cy])


# ------------------------------------------------------------------------------------------------ drawing
def _new_axes(ax: Any, projection: str | None = None) -> Any:
    if ax is not None:
        return ax
    _matplotlib()
    import matplotlib.pyplot as plt

    fig = plt.figure()
    return fig.add_subplot(projection=projection) if projection else fig.add_subplot()


def _face_colors(colors: _Colors, cmap: Any, norm: Any) -> tuple[npt.NDArray[np.float64], Any]:
    """RGBA per polygon and the ScalarMappable for a colour bar (None for categorical colourings)."""
    mpl = _matplotlib()
    if colors.values is not None:
        from matplotlib.cm import ScalarMappable
        from matplotlib.colors import Normalize

        vals = colors.values
        if norm is None:
            finite = vals[np.isfinite(vals)]
            lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
            norm = Normalize(lo, hi if hi > lo else lo + 1.0)
        mappable = ScalarMappable(norm=norm, cmap=mpl.colormaps[cmap or "viridis"])
        mappable.set_array(vals)
        return np.asarray(mappable.to_rgba(vals), dtype=np.float64), mappable
    assert colors.codes is not None
    if cmap is not None:
        k = max(len(colors.categories), 1)
        palette = np.asarray(mpl.colormaps[cmap](np.linspace(0.0, 1.0, k)), dtype=np.float64)
    else:
        palette = _categorical_palette(len(colors.categories))
    return palette[colors.codes] if colors.codes.size else np.zeros((0, 4)), None


def _decorate(ax: Any, colors: _Colors, mappable: Any, palette_rgba: npt.NDArray[np.float64], colorbar: bool) -> None:
    if not colorbar:
        return
    if mappable is not None:
        ax.figure.colorbar(mappable, ax=ax, label=colors.title)
    elif colors.codes is not None and 1 < len(colors.categories) <= MAX_LEGEND:
        from matplotlib.patches import Patch

        first = {int(code): k for k, code in reversed(list(enumerate(colors.codes.tolist())))}
        handles = [
            Patch(facecolor=palette_rgba[first[code]], edgecolor="0.3", label=colors.categories[code])
            for code in sorted(first)
        ]
        ax.legend(handles=handles, title=colors.title, loc="best", fontsize="small", framealpha=0.8)


def _draw_2d(
    ax: Any,
    polys: Sequence[npt.NDArray[np.float64]],
    colors: _Colors,
    *,
    segments: npt.NDArray[np.float64] | None,
    data: npt.NDArray[np.float64] | None,
    texts: Sequence[tuple[npt.NDArray[np.float64], str]],
    cmap: Any,
    norm: Any,
    colorbar: bool,
    alpha: float,
) -> Any:
    from matplotlib.collections import LineCollection, PolyCollection

    rgba, mappable = _face_colors(colors, cmap, norm)
    cells = PolyCollection(
        list(polys), facecolors=rgba, edgecolors="face", linewidths=0.3, alpha=alpha, gid=CELLS_GID, zorder=1
    )
    ax.add_collection(cells)
    if segments is not None and len(segments):
        ax.add_collection(LineCollection(list(segments), colors="0.15", linewidths=0.7, gid=FACETS_GID, zorder=2))
    if data is not None and data.shape[0]:
        ax.scatter(data[:, 0], data[:, 1], s=9, c="k", edgecolors="white", linewidths=0.3, zorder=3)
    for point, text in texts:
        ax.annotate(text, xy=(float(point[0]), float(point[1])), ha="center", va="center", fontsize=7, zorder=4)
    _decorate(ax, colors, mappable, rgba, colorbar)
    return cells


def _set_limits(ax: Any, lo: npt.NDArray[np.float64], hi: npt.NDArray[np.float64], aspect: str | None) -> None:
    ax.set_xlim(float(lo[0]), float(hi[0]))
    ax.set_ylim(float(lo[1]), float(hi[1]))
    if aspect is None:
        ext = hi - lo
        ratio = float(ext.max() / ext.min())
        aspect = "equal" if ratio <= 10 else "auto"
    ax.set_aspect(aspect)


def _short(label: str, width: int = 16) -> str:
    return label if len(label) <= width else label[: width - 1] + "…"


def plot(
    part: Partition,
    ax: Axes | None = None,
    *,
    color_by: ColorBy = "label",
    show_facets: bool = True,
    data: npt.ArrayLike | None = None,
    labels: bool = False,
    cmap: str | None = None,
    norm: Any = None,
    colorbar: bool = True,
    alpha: float = 1.0,
    aspect: str | None = None,
) -> Axes:
    """Draw a 2-D partition as filled polygons from its exact vertices (a 1-D one as a strip).

    Each cell is the convex polygon of :meth:`Partition.vertices`, ordered by angle around
    :attr:`Partition.interior_points`; nothing is sampled.

    Parameters
    ----------
    part : Partition
        A partition of a 1-D or 2-D box (for d = 3 see :func:`plot3d`, for d > 3 :func:`plot_slice`).
    ax : matplotlib Axes, optional
        Where to draw; default a new figure.
    color_by : 'label', 'volume', 'prediction' or array_like (n_cells,)
        ``'label'``: one colour per cell (by pattern); ``'volume'``: the cell volumes on a colour
        scale; ``'prediction'``: the model's prediction per cell (a partition from
        :func:`mlgeom_rs.partition`; a classifier's classes get one colour each (with a legend), values
        a colour scale, several raw outputs their argmax); an array: numbers on a colour scale, anything else (strings, bools,
        classes) one colour per distinct value.
    show_facets : bool, default True
        Draw the facets (segments, from each facet's centroid, length and normal).
    data : array_like (N, 2), optional
        Points drawn on top (for d = 1: (N, 1), drawn at height 0.5).
    labels : bool, default False
        Write each cell's label (its pattern string) at its interior point.
    cmap, norm
        A matplotlib colormap name and normalisation for the colour scale (default ``viridis`` and
        the values' range); for categorical colourings ``cmap`` is sampled evenly.
    colorbar : bool, default True
        A colour bar for a colour scale, a legend for at most 12 categories.
    alpha : float, default 1.0
        Opacity of the cells.
    aspect : str, optional
        ``'equal'`` or ``'auto'``; default ``'equal'`` unless the box's sides differ by more than 10x.

    Returns
    -------
    matplotlib.axes.Axes
        The cells are one ``PolyCollection`` with ``gid='mlgeom-cells'`` (one path per cell, in cell
        order), the facets a ``LineCollection`` with ``gid='mlgeom-facets'``.
    """
    _matplotlib()
    if part.dim > 2:
        raise InvalidInputError(
            f"plot draws 1-D and 2-D partitions; this one is {part.dim}-D: use plot3d (d = 3) or "
            "plot_slice(part, origin, u, v) for a 2-D slice"
        )
    colors = _colors(part, color_by)
    polys = _cell_polygons(part)
    pts = None
    if data is not None:
        pts = as_points(data, part.dim, "data")
        if part.dim == 1:
            pts = np.concatenate([pts, np.full((pts.shape[0], 1), 0.5)], axis=1)
    texts = []
    if labels:
        inner = part.interior_points
        for i in range(part.n_cells):
            xy = inner[i] if part.dim == 2 else np.array([inner[i, 0], 0.5])
            texts.append((xy, _short(part.label(i))))
    ax = _new_axes(ax)
    _draw_2d(
        ax,
        polys,
        colors,
        segments=_facet_segments(part) if show_facets else None,
        data=pts,
        texts=texts,
        cmap=cmap,
        norm=norm,
        colorbar=colorbar,
        alpha=alpha,
    )
    lo, hi = part.box.lo, part.box.hi
    if part.dim == 1:
        ax.set_xlim(float(lo[0]), float(hi[0]))
        ax.set_ylim(0.0, 1.0)
        ax.set_yticks([])
        ax.set_xlabel("x1")
    else:
        _set_limits(ax, lo, hi, aspect)
        ax.set_xlabel("x1")
        ax.set_ylabel("x2")
    return ax


# ------------------------------------------------------------------------------------------------ 3-D
def _cell_faces(part: Partition) -> tuple[list[npt.NDArray[np.float64]], npt.NDArray[np.intp]]:
    """The faces of every cell of a 3-D partition as polygons (k, 3), with the cell of each face.

    A face is the set of a cell's vertices on the plane of one of its facets (outward normal n,
    offset n·centroid), ordered by angle around their mean in that plane. Facets of one cell on the
    same plane (several neighbours across it) give one face.
    """
    _check_vertices(part)
    f = part.facets
    cells = np.asarray(f.cells)
    normals = np.asarray(f.normals)
    fcent = np.asarray(f.centroids)
    scale = float(np.linalg.norm(part.box.hi - part.box.lo))
    tol = max(part.tolerance, 1e-12 * scale) * 16
    faces: list[npt.NDArray[np.float64]] = []
    owner: list[int] = []
    rows = np.concatenate([np.arange(len(f)), np.flatnonzero(cells[:, 1] >= 0)])
    who = np.concatenate([cells[:, 0], cells[cells[:, 1] >= 0, 1]])
    sign = np.concatenate([np.ones(len(f)), -np.ones(int(np.count_nonzero(cells[:, 1] >= 0)))])
    order = np.argsort(who, kind="stable")
    rows, who, sign = rows[order], who[order], sign[order]
    bounds = np.searchsorted(who, np.arange(part.n_cells + 1))
    for i in range(part.n_cells):
        verts = np.asarray(part.vertices(i))
        seen: list[tuple[npt.NDArray[np.float64], float]] = []
        for k in range(bounds[i], bounds[i + 1]):
            n = sign[k] * normals[rows[k]]
            off = float(n @ fcent[rows[k]])
            if any(float(n @ m) > 1 - 1e-9 and abs(off - o) <= tol for m, o in seen):
                continue
            seen.append((n, off))
            on = verts[np.abs(verts @ n - off) <= tol]
            if on.shape[0] < 3:
                continue
            a = np.cross(n, [1.0, 0.0, 0.0] if abs(n[0]) < 0.9 else [0.0, 1.0, 0.0])
            a /= np.linalg.norm(a)
            b = np.cross(n, a)
            center = on.mean(axis=0)
            rel = on - center
            angles = np.arctan2(rel @ b, rel @ a)
            faces.append(on[np.argsort(angles, kind="stable")])
            owner.append(i)
    return faces, np.asarray(owner, dtype=np.intp)


def plot3d(
    part: Partition,
    ax: Any = None,
    *,
    color_by: ColorBy = "label",
    data: npt.ArrayLike | None = None,
    cmap: str | None = None,
    norm: Any = None,
    colorbar: bool = True,
    alpha: float = 0.25,
    edges: bool = True,
) -> Any:
    """Draw a 3-D partition: every cell's faces as translucent polygons (matplotlib ``mplot3d``).

    The faces come from the exact vertices: a face of cell i is the set of its vertices on the
    plane of one of its facets, ordered around their mean. ``color_by``, ``data``, ``cmap``,
    ``norm`` and ``colorbar`` are as in :func:`plot`; ``alpha`` is the faces' opacity and ``edges``
    draws their outlines.

    Returns
    -------
    mpl_toolkits.mplot3d.Axes3D
        The faces are one ``Poly3DCollection`` with ``gid='mlgeom-cells'``.
    """
    _matplotlib()
    if part.dim != 3:
        raise InvalidInputError(f"plot3d draws 3-D partitions; this one is {part.dim}-D (use plot for d <= 2)")
    from mpl_toolkits.mplot3d.art3d import Poly3DCollection

    colors = _colors(part, color_by)
    rgba, mappable = _face_colors(colors, cmap, norm)
    faces, owner = _cell_faces(part)
    face_rgba = rgba[owner].copy() if owner.size else np.zeros((0, 4))
    face_rgba[:, 3] = alpha
    ax = _new_axes(ax, projection="3d")
    coll = Poly3DCollection(
        faces, facecolors=face_rgba, edgecolors="0.2" if edges else "none", linewidths=0.3, gid=CELLS_GID
    )
    try:
        ax.add_collection3d(coll, autolim=False)  # the limits are the box, set below (matplotlib >= 3.9)
    except TypeError:  # pragma: no cover - matplotlib 3.8
        ax.add_collection3d(coll)
    if data is not None:
        pts = as_points(data, 3, "data")
        ax.scatter(pts[:, 0], pts[:, 1], pts[:, 2], s=6, c="k", depthshade=False)
    lo, hi = part.box.lo, part.box.hi
    ax.set_xlim(float(lo[0]), float(hi[0]))
    ax.set_ylim(float(lo[1]), float(hi[1]))
    ax.set_zlim(float(lo[2]), float(hi[2]))
    ax.set_xlabel("x1")
    ax.set_ylabel("x2")
    ax.set_zlabel("x3")
    _decorate(ax, colors, mappable, rgba, colorbar)
    return ax


# ------------------------------------------------------------------------------------------------ slices
@dataclass(frozen=True)
class _Plane:
    origin: npt.NDArray[np.float64]
    basis: npt.NDArray[np.float64]  # (d, 2): columns u, v

    def lift(self, st: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """Points (N, 2) of the plane's (s, t) coordinates as points (N, d) of the input space."""
        return np.asarray(self.origin + st @ self.basis.T, dtype=np.float64)


def _plane(origin: Any, u: Any, v: Any, d: int | None) -> _Plane:
    o = as_float_array(origin, "origin")
    uu = as_float_array(u, "u")
    vv = as_float_array(v, "v")
    for name, arr in (("origin", o), ("u", uu), ("v", vv)):
        if arr.ndim != 1:
            raise InvalidInputError(f"{name} must be a 1-D array of length d; got shape {arr.shape}")
    dim = d if d is not None else o.shape[0]
    for name, arr in (("origin", o), ("u", uu), ("v", vv)):
        if arr.shape[0] != dim:
            raise InvalidInputError(f"{name} has length {arr.shape[0]} but the model's input is {dim}-dimensional")
    basis = np.stack([uu, vv], axis=1)
    if np.linalg.matrix_rank(basis) < 2:
        raise InvalidInputError("u and v must be linearly independent (they span the plane of the slice)")
    return _Plane(o, basis)


def _box_halfplanes(plane: _Plane, box: Box) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """The box as half-planes ``A (s, t) + b >= 0`` of the slice: lo <= origin + s u + t v <= hi."""
    A = np.concatenate([plane.basis, -plane.basis])
    b = np.concatenate([plane.origin - box.lo, box.hi - plane.origin])
    return A, b


def _box_slice_polygon(plane: _Plane, box: Box) -> npt.NDArray[np.float64]:
    """The convex polygon box ∩ plane in (s, t) coordinates (empty (0, 2) if they miss)."""
    P = np.linalg.pinv(plane.basis)  # (2, d): (s, t) = P (x - origin) for x on the plane
    reach = np.maximum(np.abs(box.lo - plane.origin), np.abs(box.hi - plane.origin))
    R = float((np.abs(P) @ reach).max()) * 1.01 + 1.0
    poly = np.array([[-R, -R], [R, -R], [R, R], [-R, R]])
    A, b = _box_halfplanes(plane, box)
    for a, c in zip(A, b, strict=True):
        poly = _clip(poly, a, float(c))
    return poly


@dataclass(frozen=True)
class _Source:
    kind: Literal["hyperplanes", "relu"]
    dim: int
    box: Box | None
    normals: npt.NDArray[np.float64] | None = None
    offsets: npt.NDArray[np.float64] | None = None
    weights: list[npt.NDArray[np.float64]] | None = None
    biases: list[npt.NDArray[np.float64]] | None = None
    output_layer: bool = True
    predict: Callable[[npt.NDArray[np.float64]], npt.NDArray[Any]] | None = None


def _source(obj: Any, box: Box | None) -> _Source:
    from .relu import ReluPartition, _layers

    if isinstance(obj, Partition):
        if type(obj).__name__ == "TreePartition" or hasattr(obj, "leaf_ids"):
            raise UnsupportedModelError(
                "slices of tree partitions are not supported (their cells are boxes: plot a 2-D model directly)"
            )
        predict = getattr(obj, "predict", None)
        if isinstance(obj, ReluPartition):
            return _Source(
                "relu",
                obj.dim,
                obj.box,
                weights=list(obj._weights),
                biases=list(obj._biases),
                output_layer=obj._output_layer,
                predict=predict,
            )
        return _Source("hyperplanes", obj.dim, obj.box, normals=obj.normals, offsets=obj.offsets, predict=predict)
    if isinstance(obj, tuple | list) and len(obj) == 2 and all(isinstance(p, list | tuple) for p in obj):
        ws, bs = _layers(obj[0], obj[1])
        return _Source("relu", ws[0].shape[1], box, weights=ws, biases=bs, output_layer=True, predict=None)
    from . import _sklearn, _torch

    if _torch.is_torch_object(obj):
        net = _torch.read_torch(obj)
        return _Source(
            "relu",
            net.weights[0].shape[1],
            box,
            weights=net.weights,
            biases=net.biases,
            output_layer=net.output_layer,
            predict=net.forward,
        )
    if _sklearn.is_mlp(obj):
        mlp = _sklearn.read_mlp(obj)
        return _Source(
            "relu",
            mlp.weights[0].shape[1],
            box,
            weights=mlp.weights,
            biases=mlp.biases,
            output_layer=True,
            predict=lambda x: np.asarray(obj.predict(x)),
        )
    raise UnsupportedModelError(
        f"cannot slice a {type(obj).__name__}: pass a Partition (hyperplanes, ReLU or model partition), a "
        "(weights, biases) pair of lists, a torch Sequential of Linear/ReLU or a scikit-learn MLP. For a linear "
        "classifier, partition it first (mg.partition(model, box)) and slice the result"
    )


def _restrict(src: _Source, plane: _Plane, extent: Box, options: dict[str, Any]) -> Partition:
    from .relu import partition_relu

    if src.kind == "hyperplanes":
        assert src.normals is not None and src.offsets is not None
        W = src.normals @ plane.basis
        c = src.normals @ plane.origin + src.offsets
        # A hyperplane that contains the whole plane splits nothing there (zero normal and offset).
        keep = W.any(axis=1) | (c != 0.0)
        return cast("Partition", partition_hyperplanes(W[keep], c[keep], extent, **options))
    assert src.weights is not None and src.biases is not None
    ws = [src.weights[0] @ plane.basis, *src.weights[1:]]
    bs = [src.weights[0] @ plane.origin + src.biases[0], *src.biases[1:]]
    weights: list[npt.ArrayLike] = list(ws)
    biases: list[npt.ArrayLike] = list(bs)
    return cast("Partition", partition_relu(weights, biases, extent, output_layer=src.output_layer, **options))


def slice_partition(
    part_or_model: Any,
    origin: npt.ArrayLike,
    u: npt.ArrayLike,
    v: npt.ArrayLike,
    *,
    extent: Box | tuple[Any, Any] | None = None,
    box: Box | tuple[Any, Any] | None = None,
    **options: Any,
) -> Partition:
    """The exact partition of the plane ``x = origin + s·u + t·v`` by a model, in (s, t) coordinates.

    The model is restricted to the plane, which is again a model of the same kind in two inputs:
    hyperplanes ``W x + c = 0`` become ``(W [u v]) (s, t) + (W·origin + c) = 0``; a ReLU network's
    first layer ``W_1 x + b_1`` becomes ``(W_1 [u v]) (s, t) + (W_1·origin + b_1)`` and the other
    layers are unchanged. The cells of the result are exactly the sections of the model's cells by
    the plane (Gajer & Ravel, arXiv 2508.02080, §2). Hyperplanes that contain the plane are dropped.

    Parameters
    ----------
    part_or_model
        A :class:`Partition` (hyperplanes, :class:`ReluPartition` or a model partition of either),
        a ``(weights, biases)`` pair of lists (ReLU network, torch layout, last layer linear), a
        ``torch.nn.Sequential`` of Linear/ReLU or a scikit-learn ``MLPClassifier``/``MLPRegressor``.
        Tree partitions are not supported.
    origin, u, v : array_like (d,)
        A point of the plane and two linearly independent directions.
    extent : Box or (lo, hi), optional
        The 2-D box of (s, t) to partition. Default: the bounding rectangle of the slice of the
        model's box (``box``, or the partition's own box).
    box : Box or (lo, hi), optional
        The input box of a model that is not a partition (needed when ``extent`` is not given).
    **options
        Passed to :func:`partition_hyperplanes` / :func:`partition_relu` (``n_threads``, ``max_cells``, ...).

    Returns
    -------
    Partition
        A 2-D :class:`Partition` (or :class:`ReluPartition`) over ``extent``; bit j is the same
        hyperplane or neuron as in the model (after dropping hyperplanes that contain the plane).
    """
    src, plane, ext, _ = _prepare_slice(part_or_model, origin, u, v, extent, box)
    return _restrict(src, plane, ext, options)


def _prepare_slice(
    part_or_model: Any, origin: Any, u: Any, v: Any, extent: Any, box: Any
) -> tuple[_Source, _Plane, Box, npt.NDArray[np.float64] | None]:
    from .partition import _as_box

    src = _source(part_or_model, None)
    dom = src.box
    if dom is None and box is not None:
        dom = _as_box(box, src.dim)
        if dom.dim != src.dim:
            raise InvalidInputError(f"box is {dom.dim}-dimensional but the model takes {src.dim} inputs")
    plane = _plane(origin, u, v, src.dim)
    clip = None
    if dom is not None:
        clip = _box_slice_polygon(plane, dom)
        area, _ = _polygon_area_centroid(clip) if clip.shape[0] >= 3 else (0.0, None)
        if area <= 0.0:
            raise InvalidInputError("the plane origin + s*u + t*v does not cut the box (the slice is empty)")
    if extent is not None:
        ext = _as_box(extent, 2)
        if ext.dim != 2:
            raise InvalidInputError(f"extent must be a 2-D box of (s, t); got a {ext.dim}-D one")
    elif clip is not None:
        ext = Box(clip.min(axis=0), clip.max(axis=0))
    else:
        raise InvalidInputError("give extent=(lo, hi) of (s, t), or box= (the model's input box)")
    return src, plane, ext, clip


def plot_slice(
    part_or_model: Any,
    origin: npt.ArrayLike,
    u: npt.ArrayLike,
    v: npt.ArrayLike,
    *,
    extent: Box | tuple[Any, Any] | None = None,
    box: Box | tuple[Any, Any] | None = None,
    ax: Axes | None = None,
    color_by: ColorBy = "label",
    show_facets: bool = True,
    data: npt.ArrayLike | None = None,
    labels: bool = False,
    cmap: str | None = None,
    norm: Any = None,
    colorbar: bool = True,
    alpha: float = 1.0,
    **options: Any,
) -> Axes:
    """Draw the exact 2-D slice ``x = origin + s·u + t·v`` of a higher-dimensional model.

    The slice is computed by :func:`slice_partition` (restricting the model to the plane), and its
    cells are clipped to the section of the model's box by the plane (a convex polygon), so each
    drawn polygon is exactly (cell of the model) ∩ box ∩ plane, in (s, t) coordinates.

    Parameters are as in :func:`slice_partition` and :func:`plot`. ``color_by='prediction'`` asks
    the model at the centroid of each drawn polygon (``predict`` of a model partition or a
    scikit-learn model, the forward pass of a torch model; raw outputs of a ``(weights, biases)``
    pair); ``color_by='volume'`` colours by the area of the drawn polygon. ``data`` (N, d) is
    projected onto the plane (orthogonally, for orthonormal u, v) and drawn on top.

    Returns
    -------
    matplotlib.axes.Axes
        The polygons are one ``PolyCollection`` with ``gid='mlgeom-cells'``, one path per cell of
        the slice that meets the box.
    """
    _matplotlib()
    src, plane, ext, clip = _prepare_slice(part_or_model, origin, u, v, extent, box)
    part = _restrict(src, plane, ext, options)
    polys = _cell_polygons(part)
    keep = np.arange(part.n_cells)
    if clip is not None:
        A, b = _box_halfplanes(plane, src.box if src.box is not None else _as_box_for(box, src.dim))
        clipped = []
        for poly in polys:
            for a, c in zip(A, b, strict=True):
                poly = _clip(poly, a, float(c))
            clipped.append(poly)
        scale = float(np.prod(ext.hi - ext.lo))
        areas = [(_polygon_area_centroid(p)[0] if p.shape[0] >= 3 else 0.0) for p in clipped]
        keep = np.flatnonzero(np.asarray(areas) > 1e-12 * scale)
        polys = [clipped[i] for i in keep.tolist()]
    geo = [_polygon_area_centroid(p) for p in polys]
    centroids = np.array([g[1] for g in geo]).reshape(-1, 2)
    n = len(polys)
    if isinstance(color_by, str) and color_by == "volume":
        colors = _Colors("area in the slice", values=np.array([g[0] for g in geo], dtype=np.float64))
    elif isinstance(color_by, str) and color_by == "label":
        labels_all = part.labels
        colors = _Colors("label", codes=np.arange(n, dtype=np.intp), categories=tuple(labels_all[i] for i in keep))
    elif isinstance(color_by, str) and color_by == "prediction":
        points = plane.lift(centroids)
        if src.predict is not None:
            preds = np.asarray(src.predict(points))
        elif src.kind == "relu":
            preds = np.asarray(part.evaluate(centroids))  # type: ignore[attr-defined]
        else:
            raise InvalidInputError("color_by='prediction' needs a model, or a partition made from one")
        classifier = getattr(part_or_model, "classes", None) is not None or hasattr(part_or_model, "classes_")
        if classifier and preds.ndim == 1:
            colors = _categorize(preds, "class")
        else:
            colors = _from_array(preds, n, "prediction")
    else:
        arr = np.asarray(color_by)
        if arr.shape[:1] != (part.n_cells,):
            raise InvalidInputError(
                f"color_by must have one entry per cell of the slice ({part.n_cells}, see slice_partition); "
                f"got shape {arr.shape}"
            )
        colors = _from_array(arr[keep], n, "value")
    segments = None
    if show_facets:
        segments = _polygon_edges(polys, clip)
    pts = None
    if data is not None:
        X = as_points(data, src.dim, "data")
        pts = (X - plane.origin) @ np.linalg.pinv(plane.basis).T
    texts = [(centroids[k], _short(part.label(int(i)))) for k, i in enumerate(keep.tolist())] if labels else []
    ax = _new_axes(ax)
    _draw_2d(
        ax,
        polys,
        colors,
        segments=segments,
        data=pts,
        texts=texts,
        cmap=cmap,
        norm=norm,
        colorbar=colorbar,
        alpha=alpha,
    )
    _set_limits(ax, ext.lo, ext.hi, "equal")
    ax.set_xlabel("s (along u)")
    ax.set_ylabel("t (along v)")
    return ax


def _as_box_for(box: Any, dim: int) -> Box:
    from .partition import _as_box

    return _as_box(box, dim)


def _polygon_edges(polys: Sequence[npt.NDArray[np.float64]], clip: npt.NDArray[np.float64] | None) -> Any:
    edges = [np.stack([p, np.roll(p, -1, axis=0)], axis=1) for p in polys if p.shape[0] >= 2]
    if clip is not None and clip.shape[0] >= 2:
        edges.append(np.stack([clip, np.roll(clip, -1, axis=0)], axis=1))
    return np.concatenate(edges) if edges else np.zeros((0, 2, 2))


# ------------------------------------------------------------------------------------------------ complexes
EDGES_GID = "mlgeom-edges"
TRIANGLES_GID = "mlgeom-triangles"
VERTICES_GID = "mlgeom-vertices"


def plot_complex(
    cx: Any,
    ax: Axes | None = None,
    *,
    vertex_values: npt.ArrayLike | None = None,
    edge_values: npt.ArrayLike | None = None,
    show_partition: bool = True,
    cmap: str | None = None,
    colorbar: bool = True,
    vertex_label: str = "vertex value",
    edge_label: str = "edge value",
) -> Axes:
    """Draw the nerve complex of a 2-D partition over the partition (Gajer & Ravel, §2.2).

    Vertices sit at the centroids of their cells, edges join cells sharing a facet (or the
    simplices of the full nerve), triangles are filled. ``vertex_values`` (one per vertex, e.g.
    :func:`mlgeom_rs.vertex_curvature`) colours the vertices and ``edge_values`` (one per edge, in
    the order of ``cx.simplices(1)``, e.g. :func:`mlgeom_rs.edge_curvature`) the edges, each with a
    colour bar; numbers only.

    Parameters
    ----------
    cx : RiemannianComplex
        A complex built from a 2-D :class:`~mlgeom_rs.Partition` (data cells have no geometry to draw).
    ax : matplotlib Axes, optional
        Where to draw; default a new figure.
    show_partition : bool, default True
        Draw the cells underneath, faintly, with their facets.
    vertex_label, edge_label : str
        Titles of the two colour bars.

    Returns
    -------
    matplotlib.axes.Axes
        Vertices, edges and triangles are collections with gids ``'mlgeom-vertices'``,
        ``'mlgeom-edges'`` and ``'mlgeom-triangles'``.
    """
    _matplotlib()
    from matplotlib.collections import LineCollection, PolyCollection

    part = getattr(cx, "partition", None)
    if not isinstance(part, Partition):
        raise InvalidInputError("plot_complex draws a complex built from a Partition (data cells have no geometry)")
    if part.dim != 2:
        raise InvalidInputError(
            f"plot_complex draws complexes of 2-D partitions; this one is {part.dim}-D (use slice_partition first)"
        )
    points = np.asarray(part.centroids)[np.asarray(cx.cells)]
    n0 = points.shape[0]
    edges = np.asarray(cx.simplices(1)) if cx.max_dim >= 1 else np.zeros((0, 2), dtype=np.int64)
    triangles = np.asarray(cx.simplices(2)) if cx.max_dim >= 2 else np.zeros((0, 3), dtype=np.int64)
    ax = _new_axes(ax)
    if show_partition:
        plot(part, ax, color_by=np.zeros(part.n_cells), cmap="Greys", alpha=0.15, colorbar=False)
    if triangles.shape[0]:
        ax.add_collection(
            PolyCollection(
                list(points[triangles]), facecolors="tab:orange", alpha=0.25, edgecolors="none", gid=TRIANGLES_GID
            )
        )
    edge_colors: Any = "0.25"
    edge_mappable = None
    if edge_values is not None:
        vals = _values(edge_values, edges.shape[0], "edge_values")
        edge_rgba, edge_mappable = _face_colors(_Colors(edge_label, values=vals), cmap, None)
        edge_colors = edge_rgba
    ax.add_collection(LineCollection(list(points[edges]), colors=edge_colors, linewidths=1.2, gid=EDGES_GID, zorder=3))
    vertex_colors: Any = "k"
    vertex_mappable = None
    if vertex_values is not None:
        vals = _values(vertex_values, n0, "vertex_values")
        vertex_rgba, vertex_mappable = _face_colors(_Colors(vertex_label, values=vals), cmap, None)
        vertex_colors = vertex_rgba
    ax.scatter(
        points[:, 0], points[:, 1], s=18, c=vertex_colors, edgecolors="k", linewidths=0.4, zorder=4, gid=VERTICES_GID
    )
    if colorbar:
        if vertex_mappable is not None:
            ax.figure.colorbar(vertex_mappable, ax=ax, label=vertex_label)
        if edge_mappable is not None:
            ax.figure.colorbar(edge_mappable, ax=ax, label=edge_label)
    _set_limits(ax, part.box.lo, part.box.hi, None)
    return ax


def _values(values: npt.ArrayLike, n: int, name: str) -> npt.NDArray[np.float64]:
    """Numbers, one per simplex; NaN (e.g. the curvature of a cell without neighbours) is drawn uncoloured."""
    arr = np.asarray(values)
    if arr.dtype.kind not in "iuf":
        raise InvalidInputError(f"{name} must be numbers; got dtype {arr.dtype}")
    arr = arr.astype(np.float64)
    if arr.shape != (n,):
        raise InvalidInputError(f"{name} must have shape ({n},); got {arr.shape}")
    return arr
