"""The exception hierarchy of :mod:`mlgeom_rs`.

Every error the package raises on purpose derives from :class:`MlgeomError`, so
``except mlgeom_rs.MlgeomError`` catches them all. Bad input also derives from
:class:`ValueError`, so code written against numpy/scipy conventions keeps working::

    MlgeomError (Exception)
    ├── InvalidInputError (also ValueError)  shapes, dtypes, NaN/inf, empty boxes, bad options
    ├── TooManyCellsError                    the partition would exceed ``max_cells``
    ├── NumericalError                       floating-point trouble the tolerance could not absorb
    ├── UnsupportedModelError (also TypeError)  a model, layer or activation :func:`mlgeom_rs.partition` cannot read
    └── MissingDependencyError (also ImportError)  an optional package a method needs is not installed

One warning, :class:`ToleranceWarning` (a ``UserWarning``), says that float mode snapped the input to its
tolerance where exact arithmetic decides otherwise (``exact=True`` gives the input's own cells).

The native module ``mlgeom_rs._core`` imports this module and raises these classes by
name, so the names are part of the binding contract. This module must not import
``mlgeom_rs._core`` (that would be circular).
"""

from __future__ import annotations

__all__ = [
    "InvalidInputError",
    "MissingDependencyError",
    "MlgeomError",
    "NumericalError",
    "ToleranceWarning",
    "TooManyCellsError",
    "UnsupportedModelError",
]


class MlgeomError(Exception):
    """Base class of every error raised by :mod:`mlgeom_rs`.

    A panic inside the Rust core is caught at the binding boundary and raised as a
    plain ``MlgeomError`` (never a ``BaseException`` that would escape ``except Exception``).
    """


class InvalidInputError(MlgeomError, ValueError):
    """The input is malformed: wrong shape or dtype, NaN/inf, an empty or inverted box,
    a hyperplane with zero normal and zero offset, or an out-of-range option.

    Also a :class:`ValueError`, so ``except ValueError`` catches it.
    """


class TooManyCellsError(MlgeomError):
    """The partition would have more cells than ``max_cells`` allows.

    The message states the limit and how to raise it (pass a larger ``max_cells=``),
    or suggests fewer hyperplanes / a smaller box.
    """


class NumericalError(MlgeomError):
    """Floating-point trouble that the documented tolerance could not absorb
    (for example, a cell whose computed volume is not positive)."""


class UnsupportedModelError(MlgeomError, TypeError):
    """:func:`mlgeom_rs.partition` cannot read this model: an unknown model type, a layer other
    than ``Linear``/``ReLU`` (and the no-ops ``Flatten``, ``Identity``, eval-mode ``Dropout``), or
    an activation other than ReLU.

    The message names what is supported. Also a :class:`TypeError`, so ``except TypeError``
    catches it (the model is of a type the function does not accept).
    """


class MissingDependencyError(MlgeomError, ImportError):
    """An optional package that a method needs is not installed (e.g. TopoNetX for
    :meth:`RiemannianComplex.to_toponetx`).

    The message says what to ``pip install``; ``name`` is the missing module. Also an
    :class:`ImportError`, so ``except ImportError`` catches it.
    """


class ToleranceWarning(UserWarning):
    """Float mode decided some predicates by its tolerance where exact arithmetic on the input decides otherwise
    (a vertex within the tolerance of a hyperplane that does not pass exactly through it, or hyperplanes merged
    as coincident that are not exactly proportional): the cells are those of the input snapped to the tolerance,
    consistently. ``exact=True`` gives the input's own cells; ``Partition.snapped`` counts the decisions."""
