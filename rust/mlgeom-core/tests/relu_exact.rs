//! Exact mode on deep ReLU networks (issue 9): the float-composed planes with rigorous error bounds and lazily
//! composed exact rows give the same cells as a reference that composes every cell's planes exactly (the eager
//! path exact mode used before), on random small deep nets with dead, duplicated and exactly cancelling
//! neurons and weights from 1e-8 to 1e8; and a row whose float bound is in doubt really is composed exactly.

mod common;

use std::sync::Arc;

use common::{check_invariants, uniform};
use mlgeom_core::Arrangement;
use mlgeom_core::bits::{pattern_bit, set_pattern_bit};
use mlgeom_core::centred::Frame;
use mlgeom_core::exact::{DyadicMatrix, RowError};
use mlgeom_core::model::{Model, StageStart};
use mlgeom_core::planes::{ExactRows, PlaneTable};
use mlgeom_core::{Dense, Network, Partition, PartitionOptions, ReluNet};
use num_bigint::BigInt;
use num_traits::Zero;
use proptest::prelude::*;

/// The reference: every cell's pre-activations P_l = W_l D_{l−1} P_{l−1} + [0 | b_l] composed exactly, each
/// plane given its exact row and that row's correctly rounded floats.
struct EagerExact {
    net: Network,
    frame: Frame,
    tol: f64,
    layers: Vec<(DyadicMatrix, DyadicMatrix)>,
}

#[derive(Debug)]
struct Rows(DyadicMatrix);

impl ExactRows for Rows {
    fn exact_row(&self, k: usize) -> Vec<BigInt> {
        self.0.rows_of(k..k + 1).ints
    }
}

struct Stage {
    layer: usize,
    pre: Arc<Rows>,
}

impl EagerExact {
    fn new(hidden: Vec<Dense>, lo: &[f64], hi: &[f64]) -> Self {
        let layers = hidden
            .iter()
            .map(|l| {
                (
                    DyadicMatrix::from_f64(&l.weight, l.n_in),
                    DyadicMatrix::from_f64(&l.bias, 1),
                )
            })
            .collect();
        Self {
            net: Network::new(hidden, None, lo.len()).unwrap(),
            frame: Frame::new(lo, hi),
            tol: Arrangement::new(&[], &[], lo, hi).unwrap().tol,
            layers,
        }
    }

    /// W_l D P + [0 | b_l] for the previous layer's P (rows of [J | c]) and its active neurons.
    fn compose(&self, layer: usize, input: &DyadicMatrix, active: &[bool]) -> DyadicMatrix {
        let d = self.frame.lo.len();
        let (w, b) = &self.layers[layer - 1];
        let bias = DyadicMatrix {
            ints: (0..w.rows())
                .flat_map(|k| (0..=d).map(move |j| if j == d { b.ints[k].clone() } else { BigInt::zero() }))
                .collect(),
            exp: b.exp,
            cols: d + 1,
        };
        w.mul_masked(input, active).add(&bias)
    }

    fn planes(
        &self,
        layer: usize,
        pre: DyadicMatrix,
        parent: Option<&Arc<PlaneTable>>,
        pattern: &mut [u64],
    ) -> StageStart<Stage> {
        let d = self.frame.lo.len();
        let first = self.net.first_bit[layer - 1];
        let mut table = match parent {
            Some(p) => PlaneTable::new(Some(p.clone()), (2 * d + first) as u32, d),
            None => PlaneTable::with_box(&self.frame.lo, &self.frame.hi),
        };
        table.track_raw();
        let pre = Arc::new(Rows(pre));
        table.set_exact_source(pre.clone());
        let (mut ids, mut containing) = (Vec::new(), Vec::new());
        for k in 0..pre.0.rows() {
            let bit = (first + k) as u32;
            let row = pre.0.rows_of(k..k + 1);
            if row.ints[..d].iter().all(Zero::is_zero) {
                let id = table.push(&vec![0.0; d], 0.0, &[(bit, false)]);
                match row.ints[d].sign() {
                    num_bigint::Sign::NoSign => containing.push(id),
                    s => set_pattern_bit(pattern, first + k, s == num_bigint::Sign::Plus),
                }
                continue;
            }
            let raw: Vec<f64> = (0..=d).map(|j| row.to_f64(0, j)).collect();
            let norm = raw[..d].iter().map(|v| v * v).sum::<f64>().sqrt();
            let unit: Vec<f64> = raw[..d].iter().map(|v| v / norm).collect();
            ids.push(table.push_bounded(
                &unit,
                raw[d] / norm,
                &raw,
                RowError::default(),
                Some(row.ints),
                &[(bit, false)],
            ));
        }
        StageStart {
            planes: Arc::new(table),
            pending: ids,
            containing,
            stage: Stage { layer, pre },
        }
    }
}

impl Model for EagerExact {
    type Stage = Stage;

    /// Boxes at the origin only: local and input coordinates coincide.
    fn frame(&self) -> &Frame {
        &self.frame
    }

    fn n_bits(&self) -> usize {
        self.net.n_bits()
    }

    fn tol(&self) -> f64 {
        self.tol
    }

    fn exact(&self) -> bool {
        true
    }

    fn start(&self, pattern: &mut [u64]) -> StageStart<Stage> {
        let d = self.frame.lo.len();
        let identity: Vec<f64> = (0..d)
            .flat_map(|k| (0..=d).map(move |j| if j == k { 1.0 } else { 0.0 }))
            .collect();
        let pre = self.compose(1, &DyadicMatrix::from_f64(&identity, d + 1), &vec![true; d]);
        self.planes(1, pre, None, pattern)
    }

    fn next_stage(&self, stage: &Stage, table: &Arc<PlaneTable>, pattern: &mut [u64]) -> Option<StageStart<Stage>> {
        if stage.layer == self.net.hidden.len() {
            return None;
        }
        let first = self.net.first_bit[stage.layer - 1];
        let active: Vec<bool> = (0..self.net.hidden[stage.layer - 1].n_out)
            .map(|k| pattern_bit(pattern, first + k))
            .collect();
        let pre = self.compose(stage.layer + 1, &stage.pre.0, &active);
        Some(self.planes(stage.layer + 1, pre, Some(table), pattern))
    }

    fn carriers(&self) -> Vec<Vec<usize>> {
        (0..self.n_bits()).map(|j| vec![j]).collect()
    }
}

/// A random deep net on [−1, 1]^d of one of four kinds: 0 generic with per-layer scales 10^−8 … 10^8,
/// 1 small integer weights and biases (exact cancellations, zero rows, coincident planes), 2 duplicated
/// first-layer neurons that a second-layer neuron cancels exactly plus a dead neuron, 3 weights whose
/// magnitudes span 1e-8 … 1e8 inside one layer.
fn random_net(kind: u8, d: usize, widths: &[usize], seed: u64) -> Vec<Dense> {
    let mut next = uniform(seed);
    let mut n_in = d;
    let mut scale = 1.0;
    let mut layers = Vec::new();
    for (l, &n_out) in widths.iter().enumerate() {
        let layer_scale = 10f64.powi((next() * 17.0) as i32 - 8);
        scale *= layer_scale;
        let mut weight: Vec<f64> = (0..n_out * n_in)
            .map(|_| match kind {
                0 => (2.0 * next() - 1.0) * layer_scale,
                1 | 2 => ((next() * 5.0) as i32 - 2) as f64,
                _ => (2.0 * next() - 1.0) * 10f64.powi((next() * 17.0) as i32 - 8),
            })
            .collect();
        let mut bias: Vec<f64> = (0..n_out)
            .map(|_| match kind {
                0 => (next() - 0.5) * scale,
                1 | 2 => ((next() * 3.0) as i32 - 1) as f64,
                _ => (next() - 0.5) * 10f64.powi((next() * 17.0) as i32 - 8),
            })
            .collect();
        if kind == 2 && n_out >= 3 {
            if l == 0 {
                // neuron 1 duplicates neuron 0; neuron 2 is dead on the box
                let row0 = weight[..n_in].to_vec();
                weight[n_in..2 * n_in].copy_from_slice(&row0);
                bias[1] = bias[0];
                weight[2 * n_in..3 * n_in].iter_mut().for_each(|w| *w = 0.5);
                bias[2] = -10.0 * n_in as f64;
            } else if l == 1 {
                // neuron 0 sees h0 − h1 ≡ 0 (plus the dead h2): a zero normal only exact arithmetic can certify
                weight[..n_in].iter_mut().for_each(|w| *w = 0.0);
                weight[0] = 0.3;
                weight[1] = -0.3;
                weight[2] = 7.0;
            }
        }
        layers.push(Dense {
            weight,
            bias,
            n_in,
            n_out,
        });
        n_in = n_out;
    }
    layers
}

fn partition<M: Model>(model: &M) -> Partition {
    Partition::new(model, PartitionOptions::default()).unwrap()
}

/// Lazy exact mode against the eager reference: the same cells (patterns, in order) and volumes.
fn assert_same_cells(kind: u8, d: usize, widths: &[usize], seed: u64) -> usize {
    let hidden = random_net(kind, d, widths, seed);
    let (lo, hi) = (vec![-1.0; d], vec![1.0; d]);
    let lazy = ReluNet::new(hidden.clone(), None, &lo, &hi).unwrap().exact();
    let p = partition(&lazy);
    let q = partition(&EagerExact::new(hidden, &lo, &hi));
    assert_eq!(p.n_cells, q.n_cells, "kind {kind} d {d} widths {widths:?} seed {seed}");
    for i in 0..p.n_cells {
        assert_eq!(p.pattern(i), q.pattern(i), "cell {i}");
        assert!((p.volumes[i] - q.volumes[i]).abs() <= 1e-9 * 2f64.powi(d as i32));
    }
    lazy.exact_rows_composed()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(40))]
    #[test]
    fn lazy_exact_mode_matches_eager_composition(
        kind in 0u8..4,
        d in 2usize..=3,
        widths in prop::collection::vec(3usize..=5, 2..=3),
        seed in any::<u64>(),
    ) {
        assert_same_cells(kind, d, &widths, seed);
    }
}

#[test]
fn a_row_in_doubt_is_composed_exactly() {
    // h0 = h1 (duplicated neuron), so 0.3 h0 − 0.3 h1 has a zero normal wherever h0 is active: exactly zero
    // in floats too, but with a nonzero error bound, so only the exact row can decide it.
    let mut composed = 0;
    for seed in 0..8 {
        composed += assert_same_cells(2, 2, &[4, 3, 3], seed);
    }
    assert!(composed > 0, "no row was composed exactly");
    // A generic net: every decision certified in floats (or very few composed exactly).
    let hidden = random_net(0, 3, &[12, 12, 12], 5);
    let net = ReluNet::new(hidden, None, &[-1.0; 3], &[1.0; 3]).unwrap().exact();
    let p = partition(&net);
    check_invariants(&p);
    assert!(
        net.exact_rows_composed() * 100 < p.n_cells,
        "{} rows composed exactly for {} cells",
        net.exact_rows_composed(),
        p.n_cells
    );
}

#[test]
fn pre_activations_beyond_float_range_are_composed_exactly() {
    // ReLU(2^k z) = 2^k ReLU(z): scaling the first two layers by 2^600 (second-layer biases 0) keeps every pattern,
    // but the second layer's pre-activations (~2^1200) overflow float64. Exact mode composes those rows exactly and
    // scales them back into range, so it finds the same cells as the unscaled net.
    for seed in 0..4 {
        let mut hidden = random_net(0, 2, &[4, 3, 3], seed);
        hidden
            .iter_mut()
            .for_each(|l| l.weight.iter_mut().for_each(|w| *w = w.signum() * w.abs().sqrt()));
        hidden[1].bias.iter_mut().for_each(|b| *b = 0.0);
        hidden[2].bias.iter_mut().for_each(|b| *b = 0.0);
        let mut huge = hidden.clone();
        let k = 2f64.powi(600);
        let first = &mut huge[0];
        first
            .weight
            .iter_mut()
            .chain(first.bias.iter_mut())
            .for_each(|v| *v *= k);
        huge[1].weight.iter_mut().for_each(|v| *v *= k);
        let (lo, hi) = ([-1.0, -1.0], [1.0, 1.0]);
        let p = partition(&ReluNet::new(hidden, None, &lo, &hi).unwrap().exact());
        let q = partition(&ReluNet::new(huge, None, &lo, &hi).unwrap().exact());
        assert_eq!(p.n_cells, q.n_cells, "seed {seed}");
        for i in 0..p.n_cells {
            assert_eq!(p.pattern(i), q.pattern(i));
            assert!((p.volumes[i] - q.volumes[i]).abs() <= 1e-9);
        }
    }
}
