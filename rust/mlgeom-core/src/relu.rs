//! ReLU networks as staged models (paper.md §7, DESIGN §4): inside a cell of the first l layers every
//! pre-activation of layer l+1 is affine in x, so the cell is refined by its own hyperplanes.
//!
//! With h_0 = x and h_l = D_l (W_l h_{l−1} + b_l), where D_l = diag(pattern bits of layer l), the
//! cell's map is h_l = J_l x + c_l with J_l = D_l W_l J_{l−1} and c_l = D_l (W_l c_{l−1} + b_l).
//! Neuron k of layer l+1 bounds the cell by the plane (W_{l+1} J_l)_k · x + (W_{l+1} c_l + b_{l+1})_k = 0.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use num_bigint::BigInt;
use num_traits::Zero;

use crate::bits::{pattern_bit, set_pattern_bit};
use crate::centred::Frame;
use crate::error::Result;
use crate::exact::{DyadicMatrix, RowError};
use crate::model::{Model, StageStart};
use crate::network::{Dense, Network};
use crate::planes::{ExactRows, PlaneTable};

/// A ReLU network on the box [lo, hi], refined layer by layer in the box's local coordinates y = x − c
/// ([`crate::centred`]): the composition starts from x = y + c.
#[derive(Clone, Debug)]
pub struct ReluNet {
    frame: Frame,
    /// A box far from the origin: the first layer in local coordinates, W y + (b + W c) with each bias moved exactly
    /// and rounded once (composing W c + b in floats would cancel to ulp(W c)), and its exact rows [W | b + W c] as
    /// integers ([`Frame::local_row`]), by which float mode audits the first layer and exact mode decides.
    local_first: Option<(Dense, Vec<Vec<BigInt>>)>,
    tol: f64,
    net: Network,
    /// Exact mode: the hidden layers exactly (see [`Self::exact`]).
    exact: Option<Arc<ExactLayers>>,
    /// Float mode: neurons taken as constant on a cell by the cancellation tolerance although their composed
    /// gradient (or, for a neuron taken as ≡ 0, offset) is not exactly zero (reported as snapped decisions).
    snapped: Arc<AtomicUsize>,
}

/// Exact mode's copy of the hidden layers: each (W, b) as exact dyadic matrices, the exact input [I | c]
/// (x = y + c in local coordinates), and a count of the pre-activation rows composed exactly (the decisions
/// the float error bounds left in doubt).
#[derive(Debug)]
struct ExactLayers {
    layers: Vec<(DyadicMatrix, DyadicMatrix)>,
    input: DyadicMatrix,
    rows_composed: AtomicUsize,
}

/// The stage of a cell being refined by hidden layer `layer` (1-based): that layer's pre-activations.
#[derive(Debug)]
pub struct LayerInput {
    layer: usize,
    /// The pre-activations of layer `layer` on the cell, W_l (J x + c) + b_l, as (Jacobian, offset).
    pre_jacobian: Vec<f64>,
    pre_offset: Vec<f64>,
    /// Exact mode: a bound per row on the distance of those floats from the exact pre-activations, and the
    /// exact pre-activations themselves, made on first use.
    pre_err: Vec<RowError>,
    exact_pre: Option<Arc<ExactPre>>,
}

/// Exact mode: the exact pre-activations [J | c] (one integer row per neuron, times 2^exp) of hidden layer
/// `layer` on a cell, composed on first use from the previous layer's (shared by every cell refined from the
/// same parent stage) and the cell's pattern bits of that layer: P_l = W_l D_{l−1} P_{l−1} + [0 | b_l], with
/// P_0 = [I | c] (all active). One row costs n_in (d + 1) big-integer products; the whole matrix n_out times that.
#[derive(Debug)]
pub struct ExactPre {
    layer: usize,
    /// The previous layer's exact pre-activations and which of its neurons are active (None: layer 1).
    input: Option<(Arc<ExactPre>, Vec<bool>)>,
    net: Arc<ExactLayers>,
    dim: usize,
    all: OnceLock<DyadicMatrix>,
}

impl ExactPre {
    /// The whole matrix (cached).
    fn matrix(&self) -> &DyadicMatrix {
        self.all
            .get_or_init(|| self.compose(0..self.net.layers[self.layer - 1].0.rows()))
    }

    /// Row `k`, from the cached matrix if there is one, else composed alone.
    fn row(&self, k: usize) -> DyadicMatrix {
        match self.all.get() {
            Some(all) => all.rows_of(k..k + 1),
            None => self.compose(k..k + 1),
        }
    }

    /// Rows `rows` of P_l = W_l D_{l−1} P_{l−1} + [0 | b_l] (counted for layers ≥ 2; layer 1's are its input).
    fn compose(&self, rows: std::ops::Range<usize>) -> DyadicMatrix {
        if self.input.is_some() {
            self.net.rows_composed.fetch_add(rows.len(), Ordering::Relaxed);
        }
        let d = self.dim;
        let (w, b) = &self.net.layers[self.layer - 1];
        let weights = w.rows_of(rows.clone());
        let product = match &self.input {
            Some((input, active)) => weights.mul_masked(input.matrix(), active),
            None => weights.mul(&self.net.input),
        };
        let bias = DyadicMatrix {
            ints: rows
                .flat_map(|k| (0..=d).map(move |j| if j == d { b.ints[k].clone() } else { BigInt::zero() }))
                .collect(),
            exp: b.exp,
            cols: d + 1,
        };
        product.add(&bias)
    }
}

impl ExactRows for ExactPre {
    fn exact_row(&self, k: usize) -> Vec<BigInt> {
        self.row(k).ints
    }
}

impl ReluNet {
    /// Validates the box and the layers (`hidden[0]` takes the box dimension).
    pub fn new(hidden: Vec<Dense>, output: Option<Dense>, lo: &[f64], hi: &[f64]) -> Result<Self> {
        Self::from_network(Network::new(hidden, output, lo.len())?, lo, hi)
    }

    /// A validated network on the box [lo, hi] (its input dimension must be the box's).
    pub fn from_network(net: Network, lo: &[f64], hi: &[f64]) -> Result<Self> {
        if net.dim != lo.len() {
            return crate::error::invalid(format!(
                "the network takes {} inputs but the box has dimension {}",
                net.dim,
                lo.len()
            ));
        }
        let probe = crate::arrangement::Arrangement::new(&[], &[], lo, hi)?;
        let frame = probe.frame;
        let local_first = (!frame.is_identity()).then(|| {
            let first = &net.hidden[0];
            let (rows, exact): (Vec<Vec<f64>>, Vec<Vec<BigInt>>) = (0..first.n_out)
                .map(|k| frame.local_row(&[first.row(k), &first.bias[k..=k]].concat()))
                .unzip();
            let layer = Dense {
                bias: rows.iter().map(|r| r[first.n_in]).collect(),
                ..first.clone()
            };
            (layer, exact)
        });
        Ok(Self {
            frame,
            local_first,
            tol: probe.tol,
            net,
            exact: None,
            snapped: Arc::new(AtomicUsize::new(0)),
        })
    }

    /// Exact mode: every combinatorial decision is certified. Each cell's next-layer hyperplanes are composed
    /// in floats with a rigorous error bound per row ([`Dense::compose_error`]); a neuron is constant on a
    /// cell only when its composed normal is exactly zero, and the exact rows (dyadic rationals: products and
    /// sums of the input floats, [`ExactPre`]) are composed only where a bound leaves a decision in doubt or
    /// a vertex must be placed exactly. Float64 still gives the measures and the affine maps.
    pub fn exact(mut self) -> Self {
        let layers = self
            .net
            .hidden
            .iter()
            .map(|l| {
                (
                    DyadicMatrix::from_f64(&l.weight, l.n_in),
                    DyadicMatrix::from_f64(&l.bias, 1),
                )
            })
            .collect();
        // The input x = y + c: exactly [I | c].
        let d = self.dim();
        let origin = &self.frame.origin;
        let input: Vec<f64> = (0..d)
            .flat_map(|k| {
                (0..=d).map(move |j| {
                    if j == k {
                        1.0
                    } else if j == d {
                        origin[k]
                    } else {
                        0.0
                    }
                })
            })
            .collect();
        self.exact = Some(Arc::new(ExactLayers {
            layers,
            input: DyadicMatrix::from_f64(&input, d + 1),
            rows_composed: AtomicUsize::new(0),
        }));
        self
    }

    /// Exact mode: how many pre-activation rows of layers ≥ 2 the last partition composed exactly (the rest
    /// were decided from floats with their error bounds); 0 in float mode.
    pub fn exact_rows_composed(&self) -> usize {
        self.exact
            .as_ref()
            .map_or(0, |e| e.rows_composed.load(Ordering::Relaxed))
    }

    pub fn network(&self) -> &Network {
        &self.net
    }

    pub fn dim(&self) -> usize {
        self.frame.origin.len()
    }

    /// h_l = D_l (W_l h_{l−1} + b_l) as an affine map of x, from the input map of layer l, and (exact mode)
    /// its rows' error bounds.
    fn apply(&self, input: &LayerInput, pattern: &[u64]) -> (Vec<f64>, Vec<f64>, Vec<RowError>) {
        let layer = &self.net.hidden[input.layer - 1];
        let first = self.net.first_bit[input.layer - 1];
        let (mut jac, mut off) = (input.pre_jacobian.clone(), input.pre_offset.clone());
        let mut err = input.pre_err.clone();
        for k in 0..layer.n_out {
            if !pattern_bit(pattern, first + k) {
                jac[k * self.dim()..(k + 1) * self.dim()]
                    .iter_mut()
                    .for_each(|v| *v = 0.0);
                off[k] = 0.0;
                if let Some(e) = err.get_mut(k) {
                    *e = RowError::default();
                }
            }
        }
        (jac, off, err)
    }

    /// The plane table of hidden layer `layer` (1-based) inside a cell where the layer's input is
    /// h = `jacobian` x + `offset` (exact mode: within `input_err` of the exact input, whose layer's exact
    /// pre-activations and active neurons are `exact_input`); neurons constant on the cell set their bit at once.
    fn layer_planes(
        &self,
        layer_index: usize,
        (jacobian, offset, input_err): (&[f64], &[f64], &[RowError]),
        exact_input: Option<(Arc<ExactPre>, Vec<bool>)>,
        parent: Option<Arc<PlaneTable>>,
        pattern: &mut [u64],
    ) -> StageStart<LayerInput> {
        let d = self.dim();
        let layer = match (&self.local_first, layer_index) {
            (Some((local, _)), 1) => local,
            _ => &self.net.hidden[layer_index - 1],
        };
        let first = self.net.first_bit[layer_index - 1];
        let (jac, off) = layer.compose(jacobian, offset, d);
        let mut table = match parent {
            Some(p) => PlaneTable::new(Some(p), (2 * d + first) as u32, d),
            None => {
                let mut t = PlaneTable::with_box(&self.frame.lo, &self.frame.hi);
                debug_assert_eq!(first, 0);
                t.reserve(layer.n_out);
                t
            }
        };
        let (ids, containing, pre_err, exact_pre) = match &self.exact {
            Some(net) => {
                // Layer 1's rows are the input rows (W_1, b_1) exactly (products with 1 and 0 are exact), or
                // moved to local coordinates and rounded once (`local_first`, whose exact rows are pushed).
                let err = if layer_index == 1 {
                    vec![RowError::default(); layer.n_out]
                } else {
                    layer.compose_error(jacobian, offset, input_err, d)
                };
                let exact = Arc::new(ExactPre {
                    layer: layer_index,
                    input: exact_input,
                    net: net.clone(),
                    dim: d,
                    all: OnceLock::new(),
                });
                let known = match (&self.local_first, layer_index) {
                    (Some((_, rows)), 1) => Some(&rows[..]),
                    _ => None,
                };
                let (ids, containing) =
                    exact_layer_planes(&mut table, (&jac, &off, &err), (&exact, known), first, pattern);
                (ids, containing, err, Some(exact))
            }
            None => {
                let (ids, containing) =
                    self.float_layer_planes(&mut table, layer_index, (jacobian, offset), (&jac, &off), pattern);
                (ids, containing, Vec::new(), None)
            }
        };
        StageStart {
            planes: Arc::new(table),
            pending: ids,
            containing,
            stage: LayerInput {
                layer: layer_index,
                pre_jacobian: jac,
                pre_offset: off,
                pre_err,
                exact_pre,
            },
        }
    }

    /// Float mode's planes of hidden layer `layer_index` (input map (`jacobian`, `offset`), pre-activations
    /// (`jac`, `off`)): a neuron whose composed gradient cancels to rounding noise is taken as constant on the
    /// cell (counted as snapped unless exactly zero). Returns (ids to insert, ids of neurons ≡ 0 on the cell).
    fn float_layer_planes(
        &self,
        table: &mut PlaneTable,
        layer_index: usize,
        (jacobian, offset): (&[f64], &[f64]),
        (jac, off): (&[f64], &[f64]),
        pattern: &mut [u64],
    ) -> (Vec<u32>, Vec<u32>) {
        let d = self.dim();
        let layer = &self.net.hidden[layer_index - 1];
        let first = self.net.first_bit[layer_index - 1];
        if layer_index == 1 {
            table.track_raw();
        }
        let input_scale = jacobian.iter().map(|v| v * v).sum::<f64>().sqrt();
        let input_offset_scale: f64 = offset.iter().map(|v| v.abs()).sum();
        let mut ids = Vec::with_capacity(layer.n_out);
        let mut containing = Vec::new();
        for k in 0..layer.n_out {
            let n = &jac[k * d..(k + 1) * d];
            let norm = n.iter().map(|v| v * v).sum::<f64>().sqrt();
            let row_scale = self.net.row_norms[layer_index - 1][k];
            let bit = (first + k) as u32;
            if norm <= 1e-13 * row_scale * input_scale || !(off[k] / norm).is_finite() {
                // Constant on the cell (a dead or always-on neuron): a placeholder plane keeps ids
                // dense. A neuron ≡ 0 vanishes on every face of the cell.
                let id = table.push(&vec![0.0; d], 0.0, &[(bit, false)]);
                let cancelled = off[k].abs() <= 1e-12 * (layer.bias[k].abs() + row_scale * input_offset_scale);
                // Rounding noise and a true tiny slope look alike here: a snapped decision.
                if norm != 0.0 && norm.is_finite() || cancelled && off[k] != 0.0 {
                    self.snapped.fetch_add(1, Ordering::Relaxed);
                }
                if cancelled {
                    containing.push(id);
                } else {
                    set_pattern_bit(pattern, first + k, off[k] > 0.0);
                }
                continue;
            }
            let unit: Vec<f64> = n.iter().map(|v| v / norm).collect();
            if layer_index == 1 {
                // The first layer's planes are the input rows (W, b), exactly or moved exactly to local
                // coordinates: float mode audits them.
                let raw: Vec<f64> = n.iter().copied().chain([off[k]]).collect();
                ids.push(match &self.local_first {
                    Some((_, exact)) => table.push_exact(&unit, off[k] / norm, &raw, exact[k].clone(), &[(bit, false)]),
                    None => table.push_raw(&unit, off[k] / norm, &raw, &[(bit, false)]),
                });
            } else {
                ids.push(table.push(&unit, off[k] / norm, &[(bit, false)]));
            }
        }
        (ids, containing)
    }
}

/// Exact mode's planes of one layer from its float pre-activations [J | c] and their error bounds (one row
/// per neuron, its first bit `first`). A neuron is constant on the cell iff its exact row of J is zero:
/// certified nonzero when some float coefficient exceeds its bound, zero when the bound is 0 and the floats
/// are; else (in doubt) decided on the exact row, composed for it alone. Likewise the sign of a constant
/// neuron's offset. A plane decided exactly gets the correctly rounded floats of its exact row; the others
/// keep their floats and bound, and their exact row is made on first use (or is `known`: a first layer moved
/// to local coordinates). Returns (ids to insert, ids of neurons ≡ 0 on the cell).
fn exact_layer_planes(
    table: &mut PlaneTable,
    (jac, off, err): (&[f64], &[f64], &[RowError]),
    (exact, known): (&Arc<ExactPre>, Option<&[Vec<BigInt>]>),
    first: usize,
    pattern: &mut [u64],
) -> (Vec<u32>, Vec<u32>) {
    table.track_raw();
    if exact.input.is_some() {
        // Layer 1's floats are its exact input rows; deeper layers' exact rows are composed on first use.
        table.set_exact_source(exact.clone());
    }
    let d = exact.dim;
    let mut ids = Vec::with_capacity(err.len());
    let mut containing = Vec::new();
    for k in 0..err.len() {
        let bit = (first + k) as u32;
        let (n, c, e) = (&jac[k * d..(k + 1) * d], off[k], err[k]);
        let finite = n.iter().all(|v| v.is_finite()) && c.is_finite() && e.normal.is_finite() && e.offset.is_finite();
        let zero_normal = if !finite {
            None
        } else if n.iter().any(|v| v.abs() > e.normal) {
            Some(false)
        } else if e.normal == 0.0 {
            Some(true)
        } else {
            None
        };
        let mut row: Option<DyadicMatrix> = None;
        let zero_normal = zero_normal.unwrap_or_else(|| {
            let r = row.insert(exact.row(k));
            r.ints[..d].iter().all(Zero::is_zero)
        });
        if zero_normal {
            let id = table.push(&vec![0.0; d], 0.0, &[(bit, false)]);
            let sign = if finite && c.abs() > e.offset {
                c.signum() as i8
            } else if finite && e.offset == 0.0 && c == 0.0 {
                0
            } else {
                let r = row.get_or_insert_with(|| exact.row(k));
                match r.ints[d].sign() {
                    num_bigint::Sign::Minus => -1,
                    num_bigint::Sign::NoSign => 0,
                    num_bigint::Sign::Plus => 1,
                }
            };
            if sign == 0 {
                containing.push(id);
            } else {
                set_pattern_bit(pattern, first + k, sign > 0);
            }
            continue;
        }
        let (raw, e, ints) = match row {
            // Decided exactly: the correctly rounded floats (one rounding each) of the row scaled by a power of
            // two to largest entry ~1 (a positive multiple: the same plane, and no overflow where the composed
            // floats did overflow).
            Some(r) => {
                let top = r.ints.iter().map(|v| v.bits()).max().unwrap_or(0) as i64;
                let scaled = DyadicMatrix { exp: -top, ..r };
                (
                    (0..=d).map(|j| scaled.to_f64(0, j)).collect(),
                    RowError::default(),
                    Some(scaled.ints),
                )
            }
            None => (
                n.iter().copied().chain([c]).collect::<Vec<f64>>(),
                e,
                known.map(|rows| rows[k].clone()),
            ),
        };
        let scale = raw[..d].iter().fold(0.0f64, |a, v| a.max(v.abs()));
        let norm = scale * raw[..d].iter().map(|v| (v / scale).powi(2)).sum::<f64>().sqrt();
        let unit: Vec<f64> = raw[..d].iter().map(|v| v / norm).collect();
        ids.push(table.push_bounded(&unit, raw[d] / norm, &raw, e, ints, &[(bit, false)]));
    }
    (ids, containing)
}

impl Model for ReluNet {
    type Stage = LayerInput;

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
        self.exact.is_some()
    }

    fn snapped_inputs(&self) -> usize {
        self.snapped.load(Ordering::Relaxed)
    }

    fn start(&self, pattern: &mut [u64]) -> StageStart<LayerInput> {
        self.snapped.store(0, Ordering::Relaxed);
        if let Some(e) = &self.exact {
            e.rows_composed.store(0, Ordering::Relaxed);
        }
        let d = self.dim();
        let mut identity = vec![0.0; d * d];
        (0..d).for_each(|k| identity[k * d + k] = 1.0);
        let exact_input = vec![RowError::default(); d];
        self.layer_planes(1, (&identity, &vec![0.0; d], &exact_input), None, None, pattern)
    }

    fn next_stage(
        &self,
        stage: &LayerInput,
        table: &Arc<PlaneTable>,
        pattern: &mut [u64],
    ) -> Option<StageStart<LayerInput>> {
        if stage.layer == self.net.hidden.len() {
            return None;
        }
        let (jacobian, offset, err) = self.apply(stage, pattern);
        let exact_input = stage.exact_pre.as_ref().map(|pre| {
            let first = self.net.first_bit[stage.layer - 1];
            let active = (0..self.net.hidden[stage.layer - 1].n_out)
                .map(|k| pattern_bit(pattern, first + k))
                .collect();
            (pre.clone(), active)
        });
        Some(self.layer_planes(
            stage.layer + 1,
            (&jacobian, &offset, &err),
            exact_input,
            Some(table.clone()),
            pattern,
        ))
    }

    /// The network's output on the cell as an affine map of the input x: the Jacobian J (`n_outputs × d`,
    /// row-major) then the offset (`n_outputs`), o − J c for the local map J y + o (x = y + c).
    fn payload(&self, stage: &LayerInput, pattern: &[u64], out: &mut Vec<f64>) {
        let (jac, off, _) = self.apply(stage, pattern);
        let d = self.dim();
        let (jac, mut off) = match &self.net.output {
            Some(layer) => layer.compose(&jac, &off, d),
            None => (jac, off),
        };
        if !self.frame.is_identity() {
            for (o, row) in off.iter_mut().zip(jac.chunks_exact(d)) {
                *o -= row.iter().zip(&self.frame.origin).map(|(a, c)| a * c).sum::<f64>();
            }
        }
        out.extend(jac);
        out.extend(off);
    }

    fn payload_len(&self) -> usize {
        self.net.n_outputs() * (self.dim() + 1)
    }

    fn carriers(&self) -> Vec<Vec<usize>> {
        (0..self.n_bits()).map(|j| vec![j]).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Partition, PartitionOptions};

    fn dense(weight: &[f64], bias: &[f64], n_in: usize) -> Dense {
        Dense {
            weight: weight.to_vec(),
            bias: bias.to_vec(),
            n_in,
            n_out: bias.len(),
        }
    }

    #[test]
    fn relu_of_coordinates_then_a_sum() {
        // Widths [2, 2, 1]: h = (ReLU(x), ReLU(y)), f = h1 + h2 − 0.5 on [−1, 1]².
        let net = ReluNet::new(
            vec![dense(&[1.0, 0.0, 0.0, 1.0], &[0.0, 0.0], 2)],
            Some(dense(&[1.0, 1.0], &[-0.5], 2)),
            &[-1.0, -1.0],
            &[1.0, 1.0],
        )
        .unwrap();
        let p = Partition::new(&net, PartitionOptions::default()).unwrap();
        assert_eq!(p.n_cells, 4);
        assert!(p.volumes.iter().all(|v| (v - 1.0).abs() < 1e-15));
        // Cell "11" (x > 0, y > 0): f = x + y − 0.5.
        assert_eq!(p.payload_len, 3);
        assert_eq!(&p.payload[9..12], &[1.0, 1.0, -0.5]);
        // Cell "00": f = −0.5.
        assert_eq!(&p.payload[0..3], &[0.0, 0.0, -0.5]);
    }

    #[test]
    fn second_layer_bends_at_the_first() {
        // h = (ReLU(x), ReLU(y)), z = h2 − h1 on [−1, 1]²: z's boundary is y = x in the quadrant
        // x, y > 0 only; z is < 0 for x > 0 > y, > 0 for y > 0 > x and ≡ 0 (bit 0) for x, y < 0.
        let net = ReluNet::new(
            vec![
                dense(&[1.0, 0.0, 0.0, 1.0], &[0.0, 0.0], 2),
                dense(&[-1.0, 1.0], &[0.0], 2),
            ],
            None,
            &[-1.0, -1.0],
            &[1.0, 1.0],
        )
        .unwrap();
        let p = Partition::new(&net, PartitionOptions::default()).unwrap();
        let labels: Vec<String> = (0..p.n_cells)
            .map(|i| {
                (0..3)
                    .map(|j| if pattern_bit(p.pattern(i), j) { '1' } else { '0' })
                    .collect()
            })
            .collect();
        assert_eq!(labels, ["000", "011", "100", "110", "111"]);
        let expected = [1.0, 1.0, 1.0, 0.5, 0.5];
        for (v, e) in p.volumes.iter().zip(expected) {
            assert!((v - e).abs() < 1e-12);
        }
        // The facet between "110" and "111" lies on y = x and is carried by neuron 2.
        let f = (0..p.facet_cells.len()).find(|&f| p.facet_cells[f] == [3, 4]).unwrap();
        assert_eq!(p.facet_planes[f], 4 + 2);
        assert!((p.facet_areas[f] - 2f64.sqrt()).abs() < 1e-12);
    }
}
