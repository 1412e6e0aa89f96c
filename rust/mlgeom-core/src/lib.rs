//! mlgeom-core: exact partitions of a box by hyperplane arrangements, in pure Rust.
//!
//! The geometry follows Gajer & Ravel, "The Geometry of Machine Learning Models" (arXiv 2508.02080):
//! the cells a model cuts its input box into, their volumes, the (d−1)-volumes of the facets where two
//! cells meet, and the dihedral angles at the ridges.

pub mod arrangement;
pub mod bits;
pub mod boxes;
pub mod centred;
pub mod curvature;
pub mod datacells;
pub mod error;
pub mod exact;
pub mod gather;
pub mod measure;
pub mod model;
pub mod network;
pub mod partition;
pub mod planes;
pub mod polytope;
pub mod predicates;
pub mod refine;
pub mod relu;

pub use arrangement::{Arrangement, TOLERANCE_REL};
pub use boxes::{AxisTree, Forest, ForestOptions};
pub use error::{GeomError, Result};
pub use model::Model;
pub use network::{Dense, Network};
pub use partition::{NO_CELL, Partition, PartitionOptions};
pub use refine::RefineOptions;
pub use relu::ReluNet;
