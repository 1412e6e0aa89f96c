//! Boxes far from the origin (issue 9, `src/centred.rs`): the same model shifted by a power of two t — box
//! [t, t + w]^d, hyperplanes a·x + (b − a·t) = 0, or a network whose first bias is b − W t, all exact — gives the
//! same cells as at the origin, in float and exact mode: equal patterns, volumes to 1e-12 of the box, vertices and
//! centroids within one ulp(t) of the origin's moved by t, facet normals and areas equal, locate equal on a grid of
//! points, and a network's affine maps the same functions of x. Forests of axis-aligned trees need no local
//! coordinates (their measures are differences of thresholds, exact by Sterbenz's lemma): they are exact as they are.

mod common;

use mlgeom_core::{Arrangement, Dense, Forest, ForestOptions, Partition, PartitionOptions, ReluNet};
use proptest::prelude::*;

/// Shifts t (powers of two near 1e4, 1e8, 1e12, −1e8) and widths w (1 and 2^-10 ≈ 1e-3). Exactness of the shifted
/// model needs log2|t| + log2(1/w) + 10 < 53 bits: t = 2^40 only with w = 1.
const SHIFTS: [(f64, f64); 7] = [
    (8192.0, 1.0),
    (134_217_728.0, 1.0),
    (1_099_511_627_776.0, 1.0),
    (-134_217_728.0, 1.0),
    (8192.0, 1.0 / 1024.0),
    (134_217_728.0, 1.0 / 1024.0),
    (-134_217_728.0, 1.0 / 1024.0),
];

fn opts() -> PartitionOptions<'static> {
    PartitionOptions {
        n_threads: Some(1),
        ..PartitionOptions::default()
    }
}

/// Integer normals in −3..=3 and offsets through points of the grid w/8 in the box [0, w]^d (exact dyadics).
fn lattice_arrangement(m: usize, d: usize, w: f64, seed: u64) -> (Vec<f64>, Vec<f64>) {
    let mut next = common::uniform(seed);
    let mut normals = Vec::new();
    let mut offsets = Vec::new();
    while offsets.len() < m {
        let n: Vec<f64> = (0..d).map(|_| (next() * 7.0).floor() - 3.0).collect();
        if n.iter().all(|&v| v == 0.0) {
            continue;
        }
        let p: Vec<f64> = (0..d).map(|_| w * (1.0 + (next() * 7.0).floor()) / 8.0).collect();
        offsets.push(-n.iter().zip(&p).map(|(a, b)| a * b).sum::<f64>());
        normals.extend(n);
    }
    (normals, offsets)
}

/// The offsets of the hyperplanes moved by t along every axis: b − a·(t, …, t), asserted exact.
fn shifted_offsets(normals: &[f64], offsets: &[f64], d: usize, t: f64) -> Vec<f64> {
    offsets
        .iter()
        .enumerate()
        .map(|(j, &b)| {
            let s: f64 = normals[j * d..(j + 1) * d].iter().sum();
            let moved = b - s * t;
            assert_eq!(moved + s * t, b, "the shifted offset must be exact");
            moved
        })
        .collect()
}

/// Points w·(i/16 + δ_k) in [0, w]^d (i < 16; every 3rd i for d > 2) with δ_k = 2^-6·4^-k: off every lattice plane
/// (Σ n_k δ_k with |n_k| ≤ 3 is a nonzero base-4 number below 1/16, so n·x is never a multiple of w/16), hence no
/// boundary ties; and exact when moved by t.
fn grid(d: usize, w: f64, t: f64) -> Vec<f64> {
    let step = if d <= 2 { 1 } else { 3 };
    let side: Vec<usize> = (0..16).step_by(step).collect();
    let mut out = Vec::new();
    for mut i in 0..side.len().pow(d as u32) {
        for k in 0..d {
            let v = w * (side[i % side.len()] as f64 / 16.0 + 2f64.powi(-6 - 2 * k as i32));
            assert_eq!((v + t) - t, v, "grid points must move exactly");
            out.push(v);
            i /= side.len();
        }
    }
    out
}

/// `far` is `near` moved by t: the checks of the module doc.
fn assert_moved(near: &Partition, far: &Partition, t: f64, w: f64) {
    let d = near.dim();
    assert_eq!(far.n_cells, near.n_cells);
    assert_eq!(far.patterns, near.patterns);
    let box_volume = w.powi(d as i32);
    let total: f64 = far.volumes.iter().sum();
    assert!(
        (total - box_volume).abs() <= 1e-12 * box_volume,
        "volume sum {total} vs {box_volume}"
    );
    for (a, b) in far.volumes.iter().zip(&near.volumes) {
        assert!((a - b).abs() <= 1e-12 * box_volume, "volumes {a} vs {b}");
    }
    // One rounding of the move, plus the origin partition's own few ulp of w.
    let ulp = t.abs() * f64::EPSILON + 64.0 * f64::EPSILON * w;
    let close = |far: &[f64], near: &[f64], what: &str| {
        assert_eq!(far.len(), near.len());
        for (a, b) in far.iter().zip(near) {
            assert!((a - (b + t)).abs() <= ulp, "{what}: {a} vs {b} + {t}");
        }
    };
    close(&far.vertices, &near.vertices, "vertex");
    close(&far.centroids, &near.centroids, "centroid");
    close(&far.facet_centroids, &near.facet_centroids, "facet centroid");
    close(&far.lo, &near.lo, "lo");
    close(&far.hi, &near.hi, "hi");
    assert_eq!(far.facet_cells, near.facet_cells);
    for (a, b) in far.facet_areas.iter().zip(&near.facet_areas) {
        assert!((a - b).abs() <= 1e-12 * w.powi(d as i32 - 1), "areas {a} vs {b}");
    }
    for (a, b) in far.facet_normals.iter().zip(&near.facet_normals) {
        assert!((a - b).abs() <= 1e-12, "normals {a} vs {b}");
    }
    for (a, b) in far.ridge_angles.iter().zip(&near.ridge_angles) {
        assert!((a - b).abs() <= 1e-12, "angles {a} vs {b}");
    }
    let points = grid(d, w, t);
    let moved: Vec<f64> = points.iter().map(|v| v + t).collect();
    assert_eq!(far.locate_many(&moved), near.locate_many(&points));
    // interior points lie in their cells (each cell here is thicker than ulp(t))
    for i in 0..far.n_cells {
        assert_eq!(far.locate(&far.interior_points[i * d..(i + 1) * d]), i as i64);
    }
    // outside the box
    let outside: Vec<f64> = (0..d).map(|k| if k == 0 { t - w } else { t }).collect();
    assert_eq!(far.locate(&outside), mlgeom_core::NO_CELL);
}

fn arrangement(w: &[f64], c: &[f64], lo: &[f64], hi: &[f64], exact: bool) -> Partition {
    let a = if exact {
        Arrangement::new_exact(w, c, lo, hi)
    } else {
        Arrangement::new(w, c, lo, hi)
    };
    Partition::new(&a.unwrap(), opts()).unwrap()
}

#[test]
fn arrangements_far_from_the_origin_are_the_arrangements_at_it() {
    for d in 2..=4 {
        for &(t, width) in &SHIFTS {
            for exact in [false, true] {
                let m = [0, 0, 9, 6, 5][d];
                let (normals, offsets) = lattice_arrangement(m, d, width, 7 + d as u64);
                let near = arrangement(&normals, &offsets, &vec![0.0; d], &vec![width; d], exact);
                let moved = shifted_offsets(&normals, &offsets, d, t);
                let far = arrangement(&normals, &moved, &vec![t; d], &vec![t + width; d], exact);
                assert!(near.n_cells > m, "d={d}: the lattice must cut the box");
                assert_eq!(far.origin, vec![if t > 0.0 { t } else { t + width }; d]);
                assert_eq!(far.tol, near.tol, "the tolerance is the box's, wherever it lies");
                assert_moved(&near, &far, t, width);
            }
        }
    }
}

/// A [d, 6, 5] network with weights and biases on a dyadic grid, its first layer's bias moved by t.
fn lattice_net(d: usize, w: f64, t: f64, seed: u64) -> (Vec<Dense>, Option<Dense>) {
    let mut next = common::uniform(seed);
    let mut dense = |n_in: usize, n_out: usize, bias_scale: f64| {
        let weight: Vec<f64> = (0..n_in * n_out)
            .map(|_| ((next() * 9.0).floor() - 4.0) / 4.0)
            .collect();
        let bias: Vec<f64> = (0..n_out)
            .map(|_| bias_scale * ((next() * 17.0).floor() - 8.0) / 8.0)
            .collect();
        Dense {
            weight,
            bias,
            n_in,
            n_out,
        }
    };
    let mut first = dense(d, 6, w);
    // centre the first layer's planes in the box, then move them by t
    for k in 0..6 {
        let s: f64 = first.weight[k * d..(k + 1) * d].iter().sum();
        let b = first.bias[k];
        first.bias[k] = b - s * (0.5 * w + t);
        assert_eq!(first.bias[k] + s * (0.5 * w + t), b, "the moved bias must be exact");
    }
    let second = dense(6, 5, w);
    let out = dense(5, 2, 1.0);
    (vec![first, second], Some(out))
}

#[test]
fn relu_nets_far_from_the_origin_are_the_nets_at_it() {
    for d in 2..=3 {
        for &(t, width) in &SHIFTS {
            for exact in [false, true] {
                let build = |shift: f64| {
                    let (hidden, output) = lattice_net(d, width, shift, 3 + d as u64);
                    let lo = vec![shift; d];
                    let hi = vec![shift + width; d];
                    let net = ReluNet::new(hidden, output, &lo, &hi).unwrap();
                    let net = if exact { net.exact() } else { net };
                    Partition::new(&net, opts()).unwrap()
                };
                let (near, far) = (build(0.0), build(t));
                assert!(near.n_cells > 4, "d={d}: the net must cut the box");
                assert_moved(&near, &far, t, width);
                // The affine maps are maps of x: J equal, offset o_far = o_near − J t (to the rounding of J t).
                let n_out = near.payload_len / (d + 1);
                for i in 0..near.n_cells {
                    let (a, b) = (
                        &far.payload[i * near.payload_len..],
                        &near.payload[i * near.payload_len..],
                    );
                    assert_eq!(&a[..n_out * d], &b[..n_out * d]);
                    for o in 0..n_out {
                        let jt: f64 = b[o * d..(o + 1) * d].iter().map(|v| v * t).sum();
                        let scale =
                            b[o * d..(o + 1) * d].iter().map(|v| (v * t).abs()).sum::<f64>() + b[n_out * d + o].abs();
                        let got = a[n_out * d + o];
                        assert!((got - (b[n_out * d + o] - jt)).abs() <= 8.0 * f64::EPSILON * scale);
                    }
                }
            }
        }
    }
}

/// Σ area·n = 0 on every cell (to 1e-9 of the box's face area), volumes adding up to 1e-12, facet areas agreeing
/// from both sides.
fn assert_closed(p: &Partition, w: f64) {
    let d = p.dim();
    let total: f64 = p.volumes.iter().sum();
    let box_volume: f64 = p.lo.iter().zip(&p.hi).map(|(a, b)| b - a).product();
    assert!(
        (total - box_volume).abs() <= 1e-12 * box_volume,
        "volume sum {total} vs {box_volume}"
    );
    assert!(
        p.max_facet_area_mismatch < 1e-8,
        "area mismatch {}",
        p.max_facet_area_mismatch
    );
    let mut flux = vec![0.0; p.n_cells * d];
    for (f, cells) in p.facet_cells.iter().enumerate() {
        for k in 0..d {
            let v = p.facet_areas[f] * p.facet_normals[f * d + k];
            flux[cells[0] as usize * d + k] += v;
            if cells[1] != mlgeom_core::NO_CELL {
                flux[cells[1] as usize * d + k] -= v;
            }
        }
    }
    let worst = flux.iter().fold(0.0f64, |a, v| a.max(v.abs()));
    assert!(worst <= 1e-9 * w.powi(d as i32 - 1), "closure residual {worst}");
}

#[test]
fn relu_nets_with_rounded_weights_far_away_close_up() {
    // Generic weights moved to [t, t + w]^d and rounded, like a net trained on data far from the origin: W c + b
    // cancels there, so the first layer is moved exactly (a float composition left cells open by 2e-6 at 1e8).
    for &(t, width) in &[(1e8, 1.0), (-1e8, 1e-3), (1e12, 1.0), (1e4, 1e-3)] {
        for d in 2..=3 {
            let mut next = common::uniform(40 + d as u64);
            let mut normal =
                |n: usize, scale: f64| -> Vec<f64> { (0..n).map(|_| scale * (2.0 * next() - 1.0)).collect() };
            let w1 = normal(6 * d, 1.0 / width);
            let centre = normal(6 * d, 0.4);
            let b1: Vec<f64> = (0..6)
                .map(|k| {
                    -(0..d)
                        .map(|j| w1[k * d + j] * (t + width * (0.5 + centre[k * d + j])))
                        .sum::<f64>()
                })
                .collect();
            let hidden = vec![
                Dense {
                    weight: w1,
                    bias: b1,
                    n_in: d,
                    n_out: 6,
                },
                Dense {
                    weight: normal(30, 1.0),
                    bias: normal(5, 0.5),
                    n_in: 6,
                    n_out: 5,
                },
            ];
            let (lo, hi) = (vec![t; d], vec![t + width; d]);
            let float = Partition::new(&ReluNet::new(hidden.clone(), None, &lo, &hi).unwrap(), opts()).unwrap();
            let exact = Partition::new(&ReluNet::new(hidden, None, &lo, &hi).unwrap().exact(), opts()).unwrap();
            assert!(float.n_cells > 6, "the net must cut the box");
            assert_eq!(float.patterns, exact.patterns, "t={t} w={width} d={d}");
            assert_closed(&float, width);
            assert_closed(&exact, width);
        }
    }
}

#[test]
fn forests_far_from_the_origin_are_the_forests_at_it() {
    for d in 2..=3 {
        for &(t, width) in &SHIFTS {
            // thresholds on the grid k/8 of [0, 1] (some on the box faces), scaled to the width and moved by t
            let near_trees = common::random_forest(d, 3, 4, 8, 11 + d as u64);
            let mut far_trees = near_trees.clone();
            for (a, b) in near_trees.iter().zip(far_trees.iter_mut()) {
                b.threshold = a.threshold.iter().map(|&v| t + v * width).collect();
            }
            let near_trees: Vec<_> = near_trees
                .into_iter()
                .map(|mut a| {
                    a.threshold.iter_mut().for_each(|v| *v *= width);
                    a
                })
                .collect();
            let forest = |trees: &[mlgeom_core::AxisTree], s: f64| {
                Forest::new(trees, &vec![s; d], &vec![s + width; d])
                    .unwrap()
                    .partition(ForestOptions::default())
                    .unwrap()
            };
            let (near, far) = (forest(&near_trees, 0.0), forest(&far_trees, t));
            assert!(near.n_cells > 3);
            assert_eq!(far.patterns, near.patterns);
            // exact: every measure is a difference of thresholds
            assert_eq!(far.volumes, near.volumes);
            assert_eq!(far.facet_areas, near.facet_areas);
            assert_eq!(far.vertices, near.vertices.iter().map(|v| v + t).collect::<Vec<_>>());
            let points = grid(d, width, t);
            let moved: Vec<f64> = points.iter().map(|v| v + t).collect();
            assert_eq!(far.locate_many(&moved), near.locate_many(&points));
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Random lattice arrangements on random far boxes: float and exact mode both agree with the box at the origin.
    #[test]
    fn any_far_box_gives_the_cells_of_the_origin(
        d in 2usize..=3,
        m in 1usize..=7,
        seed in 0u64..1000,
        exponent in 12i32..=36,
        negative: bool,
        exact: bool,
    ) {
        let t = if negative { -(2f64.powi(exponent)) } else { 2f64.powi(exponent) };
        let (normals, offsets) = lattice_arrangement(m, d, 1.0, seed);
        let near = arrangement(&normals, &offsets, &vec![0.0; d], &vec![1.0; d], exact);
        let moved = shifted_offsets(&normals, &offsets, d, t);
        let far = arrangement(&normals, &moved, &vec![t; d], &vec![t + 1.0; d], exact);
        assert_moved(&near, &far, t, 1.0);
    }
}
