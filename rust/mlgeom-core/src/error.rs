//! The one error type of the core. The binding maps each variant to a Python exception.

/// Everything that can go wrong in the core.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GeomError {
    /// Malformed input: shapes, non-finite numbers, empty boxes, zero hyperplanes.
    #[error("{0}")]
    InvalidInput(String),
    /// The partition would have more cells than the caller allowed.
    #[error(
        "the partition has more than {limit} cells; pass a larger max_cells (e.g. max_cells={suggested}) \
         if you have the memory (about {bytes_per_cell} bytes per cell), or use fewer hyperplanes / a smaller box"
    )]
    TooManyCells {
        limit: usize,
        suggested: usize,
        bytes_per_cell: usize,
    },
    /// Floating-point trouble that the tolerance could not absorb.
    #[error("numerical failure: {0}")]
    Numerical(String),
    /// The caller cancelled the computation.
    #[error("interrupted")]
    Interrupted,
    /// A worker thread pool could not be created.
    #[error("could not build a thread pool: {0}")]
    ThreadPool(String),
}

pub type Result<T> = std::result::Result<T, GeomError>;

pub(crate) fn invalid<T>(msg: impl Into<String>) -> Result<T> {
    Err(GeomError::InvalidInput(msg.into()))
}
