//! Maps core errors (and Rust panics) to the Python exception hierarchy defined in
//! `mlgeom_rs/exceptions.py` (DESIGN §3: the classes live in Python, Rust raises them by name).

use mlgeom_core::GeomError;
use pyo3::exceptions::{PyKeyboardInterrupt, PyRuntimeError};
use pyo3::prelude::*;
use pyo3::types::PyType;

/// Newtype so `?` can turn a core error into a Python exception (orphan rule).
pub struct PyGeomError(pub GeomError);

impl From<GeomError> for PyGeomError {
    fn from(e: GeomError) -> Self {
        Self(e)
    }
}

impl From<PyGeomError> for PyErr {
    fn from(PyGeomError(e): PyGeomError) -> PyErr {
        let message = e.to_string();
        let class = match e {
            GeomError::InvalidInput(_) => "InvalidInputError",
            GeomError::TooManyCells { .. } => "TooManyCellsError",
            GeomError::Numerical(_) => "NumericalError",
            GeomError::ThreadPool(_) => "MlgeomError",
            GeomError::Interrupted => {
                return PyKeyboardInterrupt::new_err("mlgeom_rs computation interrupted");
            }
        };
        raise(class, message)
    }
}

/// A `mlgeom_rs.exceptions.<class>` error carrying `message`.
pub fn raise(class: &str, message: String) -> PyErr {
    Python::attach(|py| {
        let found = py
            .import("mlgeom_rs.exceptions")
            .and_then(|m| m.getattr(class))
            .and_then(|c| c.cast_into::<PyType>().map_err(PyErr::from));
        match found {
            Ok(ty) => PyErr::from_type(ty, message),
            Err(_) => PyRuntimeError::new_err(format!("{class}: {message}")),
        }
    })
}

/// Runs `work`, turning a Rust panic into `MlgeomError` instead of crashing the interpreter.
pub fn catch_panic<T>(work: impl FnOnce() -> Result<T, GeomError>) -> Result<T, PyGeomError> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(work)) {
        Ok(result) => result.map_err(PyGeomError),
        Err(payload) => {
            let what = payload
                .downcast_ref::<&str>()
                .map(|s| (*s).to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_string());
            Err(PyGeomError(GeomError::Numerical(format!(
                "internal error in the Rust core ({what}); please report it with the input that caused it"
            ))))
        }
    }
}
