//! What the refinement needs from a model: its first planes and, for layered models, the planes of
//! the next stage inside each cell.

use std::sync::Arc;

use crate::arrangement::Arrangement;
use crate::bits::set_pattern_bit;
use crate::centred::Frame;
use crate::planes::PlaneTable;

/// The planes a stage opens inside a cell.
pub struct StageStart<S> {
    pub planes: Arc<PlaneTable>,
    /// Plane ids to insert (in this order).
    pub pending: Vec<u32>,
    /// Plane ids of functions that vanish on the whole cell (e.g. a neuron ≡ 0 there): they contain
    /// every face, so they join every vertex's incidence set.
    pub containing: Vec<u32>,
    pub stage: S,
}

/// A piecewise-linear model whose cells are refined stage by stage (one stage for an arrangement,
/// one per hidden layer for a ReLU network).
pub trait Model: Sync {
    /// Per-cell state carried from one stage to the next (e.g. the affine map of a layer).
    type Stage: Send + Sync;

    /// The local coordinates y = x − origin of the model's box ([`crate::centred`]): the refinement, its planes and
    /// its measures are all local; [`crate::partition::Partition::new`] moves the outputs back.
    fn frame(&self) -> &Frame;
    /// The box in local coordinates.
    fn lo(&self) -> &[f64] {
        &self.frame().lo
    }
    fn hi(&self) -> &[f64] {
        &self.frame().hi
    }
    /// Number of pattern bits.
    fn n_bits(&self) -> usize;
    /// Absolute tolerance of the predicates.
    fn tol(&self) -> f64;
    /// Exact mode: every side of a vertex is certified with exact arithmetic on the input coefficients
    /// (kept by the plane tables), and "on a plane" means exactly on it ([`crate::predicates`]).
    fn exact(&self) -> bool {
        false
    }
    /// Input hyperplanes that float mode merged into a coincidence class although they are not exactly
    /// proportional to its first member (counted in `Partition::snapped`).
    fn snapped_inputs(&self) -> usize {
        0
    }
    /// The first stage on the whole box (its table starts with the box faces); sets constant bits
    /// in `pattern` (all zeros on entry).
    fn start(&self, pattern: &mut [u64]) -> StageStart<Self::Stage>;
    /// Called for a cell whose pending planes are exhausted: the next stage inside it (its table a
    /// child of `table`), or `None` when the cell is final. May set constant bits.
    fn next_stage(
        &self,
        stage: &Self::Stage,
        table: &Arc<PlaneTable>,
        pattern: &mut [u64],
    ) -> Option<StageStart<Self::Stage>>;
    /// Numbers stored with every final cell (e.g. the network's affine map); `payload_len()` of them.
    fn payload(&self, _stage: &Self::Stage, _pattern: &[u64], _out: &mut Vec<f64>) {}
    fn payload_len(&self) -> usize {
        0
    }
    /// For each non-box plane id `2d + k`: the input indices (hyperplanes or neurons) it carries.
    fn carriers(&self) -> Vec<Vec<usize>>;
}

impl Model for Arrangement {
    type Stage = ();

    fn frame(&self) -> &Frame {
        &self.frame
    }

    fn n_bits(&self) -> usize {
        self.n_hyperplanes
    }

    fn tol(&self) -> f64 {
        self.tol
    }

    fn exact(&self) -> bool {
        self.exact
    }

    fn snapped_inputs(&self) -> usize {
        self.snapped_members
    }

    fn start(&self, pattern: &mut [u64]) -> StageStart<()> {
        let mut table = PlaneTable::with_box(&self.frame.lo, &self.frame.hi);
        // The input planes are known exactly: exact mode decides with them, float mode audits with them.
        table.track_raw();
        let mut ids = Vec::with_capacity(self.classes.len());
        for (g, class) in self.classes.iter().enumerate() {
            let p = self.class_plane(g);
            let bits: Vec<(u32, bool)> = class
                .members
                .iter()
                .zip(&class.flipped)
                .map(|(&j, &f)| (j as u32, f))
                .collect();
            let raw = &self.class_rows[g * (self.dim + 1)..(g + 1) * (self.dim + 1)];
            ids.push(match self.class_exact.get(g) {
                // a row the frame moved: its exact form, so that decisions are those of the input plane
                Some(exact) => table.push_exact(self.normal(p), self.offsets[p], raw, exact.clone(), &bits),
                None => table.push_raw(self.normal(p), self.offsets[p], raw, &bits),
            });
        }
        for &(j, bit) in &self.constant_bits {
            set_pattern_bit(pattern, j, bit);
        }
        StageStart {
            planes: Arc::new(table),
            pending: ids,
            containing: Vec::new(),
            stage: (),
        }
    }

    fn next_stage(&self, _: &(), _: &Arc<PlaneTable>, _: &mut [u64]) -> Option<StageStart<()>> {
        None
    }

    fn carriers(&self) -> Vec<Vec<usize>> {
        self.classes.iter().map(|c| c.members.clone()).collect()
    }
}
