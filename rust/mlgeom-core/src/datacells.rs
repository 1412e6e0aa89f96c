//! Data-containing cells of a ReLU network (paper.md §7, DESIGN §4 "High dimension").
//!
//! Enumerating every activation region is hopeless in high dimension, but a data set of n points
//! meets at most n of them. The cells are found by the points' activation patterns (one batched
//! forward pass), each cell's H-representation by pulling the neurons' pre-activations back to the
//! input, and adjacent cells among them as pattern pairs one bit apart whose shared facet is
//! nonempty, certified by a linear program (largest slack of a point on the facet).

use std::collections::HashMap;

use rayon::prelude::*;

use crate::bits::{pattern_bit, set_pattern_bit, words_for};
use crate::error::{GeomError, Result, invalid};
use crate::network::Network;

/// Points per block of the forward pass (a weight row stays in cache across a block).
const BLOCK: usize = 32;

/// The distinct activation patterns of a data set.
#[derive(Clone, Debug)]
pub struct DataCells {
    pub n_bits: usize,
    pub pattern_words: usize,
    /// Packed patterns (see [`crate::bits::set_pattern_bit`]), sorted ascending, `n_cells × words`.
    pub patterns: Vec<u64>,
    /// Points per cell.
    pub counts: Vec<usize>,
    /// Cell of every point.
    pub point_cell: Vec<usize>,
    /// Index of the first point of every cell.
    pub representative: Vec<usize>,
}

impl DataCells {
    pub fn n_cells(&self) -> usize {
        self.counts.len()
    }

    pub fn pattern(&self, i: usize) -> &[u64] {
        &self.patterns[i * self.pattern_words..(i + 1) * self.pattern_words]
    }

    /// The representative (first) point of every cell, `n_cells × d`, gathered from the data `points`
    /// (`N × d`): all that [`adjacency`] needs of the data.
    pub fn representative_points(&self, points: &[f64], d: usize) -> Vec<f64> {
        self.representative
            .iter()
            .flat_map(|&p| points[p * d..(p + 1) * d].iter().copied())
            .collect()
    }

    /// Reassembles data cells from their patterns and the cell of every point (as stored by a
    /// pickle), checking that they are those of [`Network::data_cells`]: `patterns` (`n_cells × words`)
    /// strictly ascending with no bit at or beyond `n_bits`, and every cell holding a point. The counts
    /// and the first point of every cell follow from `point_cell` in one O(N) pass; no pattern is
    /// recomputed.
    pub fn from_parts(n_bits: usize, patterns: Vec<u64>, point_cell: Vec<usize>) -> Result<DataCells> {
        let w = words_for(n_bits);
        if w == 0 || patterns.len() % w != 0 {
            return invalid(format!(
                "{} pattern words do not make rows of {n_bits} bits",
                patterns.len()
            ));
        }
        let n_cells = patterns.len() / w;
        let mut counts = vec![0usize; n_cells];
        let mut representative = vec![usize::MAX; n_cells];
        for (p, &c) in point_cell.iter().enumerate() {
            if c >= n_cells {
                return invalid(format!("point {p} is in cell {c} but there are {n_cells} data cells"));
            }
            counts[c] += 1;
            representative[c] = representative[c].min(p);
        }
        let cells = DataCells {
            n_bits,
            pattern_words: w,
            patterns,
            counts,
            point_cell,
            representative,
        };
        let spare = (w * 64 - n_bits) as u32;
        let tail_clear = |i: usize| spare == 0 || cells.pattern(i)[w - 1] & ((1u64 << spare) - 1) == 0;
        if !(0..n_cells).all(|i| tail_clear(i) && (i == 0 || cells.pattern(i - 1) < cells.pattern(i))) {
            return invalid("data cell patterns must be distinct, sorted ascending and have no bit beyond n_bits");
        }
        if let Some(empty) = cells.counts.iter().position(|&c| c == 0) {
            return invalid(format!(
                "data cell {empty} holds no point; every data cell holds at least one"
            ));
        }
        Ok(cells)
    }
}

/// Pre-activation planes and output map of one cell, as affine functions of the input.
#[derive(Clone, Debug)]
pub struct Pullback {
    /// Row k: the gradient of neuron k's pre-activation on the cell (`n_bits × d`).
    pub normals: Vec<f64>,
    /// Neuron k's pre-activation at x = 0 (extended affinely from the cell).
    pub offsets: Vec<f64>,
    /// The network output on the cell: `jacobian` (`n_outputs × d`) and `offset`.
    pub jacobian: Vec<f64>,
    pub offset: Vec<f64>,
}

/// Dot product with four accumulators (vectorises well).
#[inline]
fn dot(a: &[f64], b: &[f64]) -> f64 {
    let mut acc = [0.0; 4];
    let (ca, cb) = (a.chunks_exact(4), b.chunks_exact(4));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for k in 0..4 {
            acc[k] += x[k] * y[k];
        }
    }
    let tail: f64 = ra.iter().zip(rb).map(|(x, y)| x * y).sum();
    acc[0] + acc[1] + acc[2] + acc[3] + tail
}

impl Network {
    /// Packed activation patterns (bit = pre-activation > 0) of the rows of `points` (`N × d`).
    pub fn activation_patterns(&self, points: &[f64]) -> Result<Vec<u64>> {
        let d = self.dim;
        if points.len() % d != 0 {
            return invalid(format!("points must have {d} columns"));
        }
        if let Some(i) = points.iter().position(|v| !v.is_finite()) {
            return invalid(format!("point {} has a non-finite coordinate; remove or fix it", i / d));
        }
        let w = words_for(self.n_bits());
        let n = points.len() / d;
        let mut out = vec![0u64; n * w];
        out.par_chunks_mut(BLOCK * w)
            .zip(points.par_chunks(BLOCK * d))
            .for_each(|(pat, pts)| {
                let rows = pts.len() / d;
                let mut h = pts.to_vec();
                let mut width = d;
                for (l, layer) in self.hidden.iter().enumerate() {
                    let mut z = vec![0.0; rows * layer.n_out];
                    for k in 0..layer.n_out {
                        let wk = layer.row(k);
                        for p in 0..rows {
                            z[p * layer.n_out + k] = dot(wk, &h[p * width..(p + 1) * width]) + layer.bias[k];
                        }
                    }
                    let first = self.first_bit[l];
                    for p in 0..rows {
                        for k in 0..layer.n_out {
                            let v = &mut z[p * layer.n_out + k];
                            if *v > 0.0 {
                                set_pattern_bit(&mut pat[p * w..(p + 1) * w], first + k, true);
                            } else {
                                *v = 0.0;
                            }
                        }
                    }
                    h = z;
                    width = layer.n_out;
                }
            });
        Ok(out)
    }

    /// Groups points by activation pattern.
    pub fn data_cells(&self, points: &[f64]) -> Result<DataCells> {
        let w = words_for(self.n_bits());
        let patterns = self.activation_patterns(points)?;
        let n = points.len() / self.dim;
        let key = |p: usize| &patterns[p * w..(p + 1) * w];
        let mut order: Vec<usize> = (0..n).collect();
        order.par_sort_by(|&a, &b| key(a).cmp(key(b)).then(a.cmp(&b)));
        let mut sorted = Vec::new();
        let mut counts = Vec::new();
        let mut representative = Vec::new();
        let mut point_cell = vec![0; n];
        for (k, &p) in order.iter().enumerate() {
            if k == 0 || key(p) != key(order[k - 1]) {
                sorted.extend_from_slice(key(p));
                counts.push(0);
                representative.push(p);
            }
            *counts.last_mut().expect("pushed") += 1;
            point_cell[p] = counts.len() - 1;
        }
        Ok(DataCells {
            n_bits: self.n_bits(),
            pattern_words: w,
            patterns: sorted,
            counts,
            point_cell,
            representative,
        })
    }

    /// Pulls every neuron's pre-activation back to the input on the cell with `pattern`:
    /// h_l = D_l (W_l h_{l−1} + b_l) = J_l x + c_l (paper.md §7).
    pub fn pullback(&self, pattern: &[u64]) -> Pullback {
        let d = self.dim;
        let mut jac = vec![0.0; d * d];
        (0..d).for_each(|k| jac[k * d + k] = 1.0);
        let mut off = vec![0.0; d];
        let mut normals = Vec::with_capacity(self.n_bits() * d);
        let mut offsets = Vec::with_capacity(self.n_bits());
        for (l, layer) in self.hidden.iter().enumerate() {
            let (mut z_jac, mut z_off) = layer.compose(&jac, &off, d);
            normals.extend_from_slice(&z_jac);
            offsets.extend_from_slice(&z_off);
            for k in 0..layer.n_out {
                if !pattern_bit(pattern, self.first_bit[l] + k) {
                    z_jac[k * d..(k + 1) * d].iter_mut().for_each(|v| *v = 0.0);
                    z_off[k] = 0.0;
                }
            }
            jac = z_jac;
            off = z_off;
        }
        let (jacobian, offset) = match &self.output {
            Some(layer) => layer.compose(&jac, &off, d),
            None => (jac, off),
        };
        Pullback {
            normals,
            offsets,
            jacobian,
            offset,
        }
    }

    /// The network output on the cell as an affine map (Jacobian `n_outputs × d`, offset), by the
    /// backward product W_out D_L W_L ⋯ D_1 W_1, which costs O(n_outputs · Σ n_l n_{l−1}).
    pub fn output_map(&self, pattern: &[u64]) -> (Vec<f64>, Vec<f64>) {
        let n_out = self.n_outputs();
        // Offsets forward (no factor d): c_l = D_l (W_l c_{l−1} + b_l).
        let mut c: Vec<f64> = vec![0.0; self.dim];
        for (l, layer) in self.hidden.iter().enumerate() {
            c = (0..layer.n_out)
                .map(|k| {
                    let v = dot(layer.row(k), &c) + layer.bias[k];
                    if pattern_bit(pattern, self.first_bit[l] + k) {
                        v
                    } else {
                        0.0
                    }
                })
                .collect();
        }
        let last = self.hidden.last().expect("validated");
        let (mut m, offset): (Vec<f64>, Vec<f64>) = match &self.output {
            Some(o) => (
                o.weight.clone(),
                (0..o.n_out).map(|k| dot(o.row(k), &c) + o.bias[k]).collect(),
            ),
            None => {
                let mut eye = vec![0.0; n_out * last.n_out];
                (0..n_out).for_each(|k| eye[k * last.n_out + k] = 1.0);
                (eye, c)
            }
        };
        for (l, layer) in self.hidden.iter().enumerate().rev() {
            // m (n_out × n_l) ← m D_l W_l  (n_out × n_{l−1}).
            let mut next = vec![0.0; n_out * layer.n_in];
            for o in 0..n_out {
                let row = &mut next[o * layer.n_in..(o + 1) * layer.n_in];
                for k in 0..layer.n_out {
                    let coef = m[o * layer.n_out + k];
                    if coef != 0.0 && pattern_bit(pattern, self.first_bit[l] + k) {
                        row.iter_mut().zip(layer.row(k)).for_each(|(r, w)| *r += coef * w);
                    }
                }
            }
            m = next;
        }
        (m, offset)
    }

    /// A point on the facet {neuron `bit` = 0} of the cell with `pattern`, found by walking from `p`
    /// (inside the cell) towards `q`: inside the cell every pre-activation is affine along the segment
    /// (one forward-mode pass gives its slope), so the exit point is exact. It certifies a
    /// (d−1)-dimensional facet when neuron `bit` is the only one vanishing there (the others keep a
    /// strict sign) and the point lies inside [lo, hi]. `None` if the walk certifies nothing.
    pub fn facet_point_on_segment(
        &self,
        pattern: &[u64],
        bit: usize,
        p: &[f64],
        q: &[f64],
        lo: &[f64],
        hi: &[f64],
    ) -> Option<Vec<f64>> {
        // Values z and slopes dz of every pre-activation along x(t) = p + t (q − p), with the cell's pattern.
        let mut h = p.to_vec();
        let mut dh: Vec<f64> = q.iter().zip(p).map(|(a, b)| a - b).collect();
        let mut z_all = Vec::with_capacity(self.n_bits());
        let mut dz_all = Vec::with_capacity(self.n_bits());
        let mut scale_all = Vec::with_capacity(self.n_bits());
        for (l, layer) in self.hidden.iter().enumerate() {
            let mut next_h = vec![0.0; layer.n_out];
            let mut next_dh = vec![0.0; layer.n_out];
            for k in 0..layer.n_out {
                let row = layer.row(k);
                let z = dot(row, &h) + layer.bias[k];
                let dz = dot(row, &dh);
                let scale: f64 = row.iter().zip(&h).map(|(w, x)| (w * x).abs()).sum::<f64>() + layer.bias[k].abs();
                z_all.push(z);
                dz_all.push(dz);
                scale_all.push(scale);
                if pattern_bit(pattern, self.first_bit[l] + k) {
                    next_h[k] = z;
                    next_dh[k] = dz;
                }
            }
            h = next_h;
            dh = next_dh;
        }
        // The first t in (0, 1] where some pre-activation reaches 0: it must be neuron `bit`, alone.
        let t_exit = |k: usize| (dz_all[k] != 0.0).then(|| -z_all[k] / dz_all[k]).filter(|t| *t > 0.0);
        let t_star = t_exit(bit).filter(|&t| t <= 1.0)?;
        for k in 0..self.n_bits() {
            if k == bit {
                continue;
            }
            let at_star = z_all[k] + t_star * dz_all[k];
            let on_side = if pattern_bit(pattern, k) {
                at_star > 0.0
            } else {
                at_star < 0.0
            };
            if !on_side || at_star.abs() <= 1e-9 * (scale_all[k] + dz_all[k].abs()) {
                return None;
            }
        }
        let x: Vec<f64> = p.iter().zip(q).map(|(a, b)| a + t_star * (b - a)).collect();
        let inside = x.iter().enumerate().all(|(k, v)| *v > lo[k] && *v < hi[k]);
        inside.then_some(x)
    }

    /// The point of the facet {neuron `bit` = 0} of the cell with `pattern` inside [lo, hi] with the
    /// largest slack t (every other neuron keeps its sign with margin t, as a distance): solves the
    /// LP max t. Returns (t, point), or `None` if the facet's plane misses the cell in the box.
    pub fn facet_lp(&self, pattern: &[u64], bit: usize, lo: &[f64], hi: &[f64]) -> Result<Option<(f64, Vec<f64>)>> {
        use microlp::{ComparisonOp, OptimizationDirection, Problem};
        let d = self.dim;
        let pb = self.pullback(pattern);
        let norm = |k: usize| pb.normals[k * d..(k + 1) * d].iter().map(|v| v * v).sum::<f64>().sqrt();
        let scale_j = norm(bit);
        if scale_j == 0.0 {
            return Ok(None);
        }
        let mut lp = Problem::new(OptimizationDirection::Maximize);
        let x: Vec<_> = (0..d).map(|k| lp.add_var(0.0, (lo[k], hi[k]))).collect();
        let t = lp.add_var(1.0, (f64::NEG_INFINITY, 1.0));
        let row = |k: usize, sign: f64, s: f64| -> Vec<(microlp::Variable, f64)> {
            x.iter()
                .enumerate()
                .map(|(i, &v)| (v, sign * pb.normals[k * d + i] / s))
                .filter(|(_, c)| *c != 0.0)
                .collect()
        };
        lp.add_constraint(row(bit, 1.0, scale_j), ComparisonOp::Eq, -pb.offsets[bit] / scale_j);
        for k in 0..self.n_bits() {
            let s = norm(k);
            if k == bit || s == 0.0 {
                continue;
            }
            let sign = if pattern_bit(pattern, k) { 1.0 } else { -1.0 };
            let mut terms = row(k, sign, s);
            terms.push((t, -1.0));
            lp.add_constraint(terms, ComparisonOp::Ge, -sign * pb.offsets[k] / s);
        }
        match lp.solve() {
            Ok(outcome) => match outcome.into_solution() {
                Ok(solution) => Ok(Some((
                    solution.objective(),
                    x.iter().map(|&v| solution.var_value(v)).collect(),
                ))),
                Err(_) => Err(GeomError::Numerical("the facet LP stopped before it was solved".into())),
            },
            Err(microlp::Error::Infeasible) => Ok(None),
            Err(e) => Err(GeomError::Numerical(format!("the facet LP failed: {e}"))),
        }
    }
}

/// Two data cells sharing a (d−1)-dimensional facet, with a point of it as the certificate.
#[derive(Clone, Debug)]
pub struct Adjacency {
    /// The cells, first < second; their patterns differ exactly in `bit`.
    pub cells: (usize, usize),
    pub bit: usize,
    /// A point in the relative interior of the shared facet, inside the box.
    pub witness: Vec<f64>,
    /// Whether the LP was needed (the straight walk between the cells' first points certified nothing).
    pub by_lp: bool,
}

/// Certifies that the cell with `pattern` (containing `p`) and the cell across neuron `bit`
/// (containing `q`) share a (d−1)-dimensional facet inside [lo, hi]: by the straight walk from `p`
/// to `q` ([`Network::facet_point_on_segment`]), else by the LP of [`Network::facet_lp`] (slack >
/// `tol`). Returns a witness point of the facet and whether the LP was needed.
#[allow(clippy::too_many_arguments)]
pub fn certify_facet(
    net: &Network,
    pattern: &[u64],
    bit: usize,
    p: &[f64],
    q: &[f64],
    lo: &[f64],
    hi: &[f64],
    tol: f64,
) -> Result<Option<(Vec<f64>, bool)>> {
    if let Some(witness) = net.facet_point_on_segment(pattern, bit, p, q, lo, hi) {
        return Ok(Some((witness, false)));
    }
    Ok(net
        .facet_lp(pattern, bit, lo, hi)?
        .filter(|(slack, _)| *slack > tol)
        .map(|(_, witness)| (witness, true)))
}

/// Pairs of data cells that share a (d−1)-dimensional facet inside [lo, hi]. Candidates come from
/// a hash of the patterns with one bit flipped (no all-pairs scan). Each is certified by walking
/// from one cell's first point to the other's (`rep_points`, `n_cells × d`, see
/// [`DataCells::representative_points`]) ([`Network::facet_point_on_segment`], cheap and
/// exact), else by the LP of [`Network::facet_lp`] (slack > `tol`).
pub fn adjacency(
    net: &Network,
    cells: &DataCells,
    rep_points: &[f64],
    lo: &[f64],
    hi: &[f64],
    tol: f64,
) -> Result<Vec<Adjacency>> {
    let (w, d) = (cells.pattern_words, net.dim);
    let index: HashMap<&[u64], usize> = (0..cells.n_cells()).map(|i| (cells.pattern(i), i)).collect();
    let candidates: Vec<(usize, usize, usize)> = (0..cells.n_cells())
        .into_par_iter()
        .flat_map_iter(|i| {
            let mut flipped = cells.pattern(i).to_vec();
            let mut found = Vec::new();
            for bit in 0..cells.n_bits {
                let old = pattern_bit(&flipped, bit);
                set_pattern_bit(&mut flipped, bit, !old);
                if let Some(&j) = index.get(&flipped[..w])
                    && j > i
                {
                    found.push((i, j, bit));
                }
                set_pattern_bit(&mut flipped, bit, old);
            }
            found
        })
        .collect();
    if rep_points.len() != cells.n_cells() * d {
        return invalid(format!(
            "adjacency needs one representative point of dimension {d} per data cell ({} cells)",
            cells.n_cells()
        ));
    }
    let point = |i: usize| &rep_points[i * d..(i + 1) * d];
    let checked: Vec<Option<Adjacency>> = candidates
        .par_iter()
        .map(|&(i, j, bit)| {
            Ok(
                certify_facet(net, cells.pattern(i), bit, point(i), point(j), lo, hi, tol)?.map(|(witness, by_lp)| {
                    Adjacency {
                        cells: (i, j),
                        bit,
                        witness,
                        by_lp,
                    }
                }),
            )
        })
        .collect::<Result<_>>()?;
    let mut edges: Vec<Adjacency> = checked.into_iter().flatten().collect();
    edges.sort_by_key(|e| e.cells);
    Ok(edges)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::Dense;

    fn two_lines() -> Network {
        // h = (ReLU(x − 0.3), ReLU(y − 0.6)), f = h1 + h2.
        let hidden = vec![Dense {
            weight: vec![1.0, 0.0, 0.0, 1.0],
            bias: vec![-0.3, -0.6],
            n_in: 2,
            n_out: 2,
        }];
        let output = Some(Dense {
            weight: vec![1.0, 1.0],
            bias: vec![0.0],
            n_in: 2,
            n_out: 1,
        });
        Network::new(hidden, output, 2).unwrap()
    }

    /// Adjacent data cells of the points `pts` inside [0, hi] (2-D).
    fn edges_in(net: &Network, dc: &DataCells, pts: &[f64], hi: &[f64]) -> Vec<Adjacency> {
        adjacency(net, dc, &dc.representative_points(pts, 2), &[0.0, 0.0], hi, 1e-9).unwrap()
    }

    #[test]
    fn cells_of_figure_one() {
        let net = two_lines();
        let pts = [0.1, 0.1, 0.2, 0.9, 0.9, 0.1, 0.8, 0.8, 0.7, 0.7];
        let dc = net.data_cells(&pts).unwrap();
        assert_eq!(dc.counts, vec![1, 1, 1, 2]);
        assert_eq!(dc.point_cell, vec![0, 1, 2, 3, 3]);
        let edges = edges_in(&net, &dc, &pts, &[1.0, 1.0]);
        let pairs: Vec<(usize, usize)> = edges.iter().map(|e| e.cells).collect();
        assert_eq!(pairs, vec![(0, 1), (0, 2), (1, 3), (2, 3)]);
        let (jac, off) = net.output_map(dc.pattern(3));
        assert_eq!(jac, vec![1.0, 1.0]);
        assert!((off[0] + 0.9).abs() < 1e-15);
        let pb = net.pullback(dc.pattern(0));
        assert_eq!(pb.normals, vec![1.0, 0.0, 0.0, 1.0]);
        assert_eq!(pb.offsets, vec![-0.3, -0.6]);
    }

    #[test]
    fn parts_round_trip_and_inconsistent_parts_are_refused() {
        let net = two_lines();
        let pts = [0.1, 0.1, 0.2, 0.9, 0.9, 0.1, 0.8, 0.8, 0.7, 0.7, 0.05, 0.05];
        let dc = net.data_cells(&pts).unwrap();
        let (n, p, pc) = (dc.n_bits, dc.patterns.clone(), dc.point_cell.clone());
        let back = DataCells::from_parts(n, p.clone(), pc.clone()).unwrap();
        assert_eq!(
            (back.pattern_words, &back.patterns, &back.point_cell),
            (dc.pattern_words, &dc.patterns, &dc.point_cell)
        );
        assert_eq!((&back.counts, &back.representative), (&dc.counts, &dc.representative));
        let refused =
            |p: Vec<u64>, pc: Vec<usize>| matches!(DataCells::from_parts(n, p, pc), Err(GeomError::InvalidInput(_)));
        let mut unsorted = p.clone();
        unsorted.swap(0, 1);
        assert!(refused(unsorted, pc.clone()));
        let mut stray_bit = p.clone();
        stray_bit[0] |= 1;
        assert!(refused(stray_bit, pc.clone()));
        let mut outside = pc.clone();
        outside[0] = 9;
        assert!(refused(p.clone(), outside));
        let no_point_in_cell_1: Vec<usize> = pc.iter().map(|&c| if c == 1 { 0 } else { c }).collect();
        assert!(refused(p, no_point_in_cell_1));
    }

    #[test]
    fn a_facet_outside_the_box_is_not_an_adjacency() {
        let net = two_lines();
        let pts = [0.1, 0.1, 0.9, 0.1];
        let dc = net.data_cells(&pts).unwrap();
        let edges = edges_in(&net, &dc, &pts, &[1.0, 1.0]);
        assert_eq!(edges.len(), 1);
        assert!(!edges[0].by_lp);
        assert!((edges[0].witness[0] - 0.3).abs() < 1e-15);
        // In the box [0, 0.25]², the line x = 0.3 is outside: no shared facet.
        assert!(edges_in(&net, &dc, &pts, &[0.25, 0.25]).is_empty());
        // The LP alone finds the facet x = 0.3 of cell "00" with its largest slack: 0.6, the distance
        // from (0.3, 0) to the line y = 0.6 (the box enters only as bounds).
        let (slack, x) = net
            .facet_lp(dc.pattern(0), 0, &[0.0, 0.0], &[1.0, 1.0])
            .unwrap()
            .unwrap();
        assert!((slack - 0.6).abs() < 1e-9, "slack {slack}");
        assert!((x[0] - 0.3).abs() < 1e-9);
    }
}
