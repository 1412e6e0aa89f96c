//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::collections::HashMap;
use std::f64::consts::PI;

use mlgeom_core::{AxisTree, NO_CELL, Partition, PartitionOptions};

/// Hyperplanes through random points of the box with random normals (SplitMix64, fixed seed).
pub fn random_arrangement(m: usize, d: usize, seed: u64) -> (Vec<f64>, Vec<f64>) {
    let mut next = uniform(seed);
    let mut w = Vec::new();
    let mut c = Vec::new();
    for _ in 0..m {
        let n: Vec<f64> = (0..d).map(|_| next() * 2.0 - 1.0).collect();
        let p: Vec<f64> = (0..d).map(|_| 0.1 + 0.8 * next()).collect();
        c.push(-n.iter().zip(&p).map(|(a, b)| a * b).sum::<f64>());
        w.extend(n);
    }
    (w, c)
}

pub fn partition(w: &[f64], c: &[f64], d: usize, threads: Option<usize>) -> Partition {
    let opts = PartitionOptions {
        n_threads: threads,
        ..PartitionOptions::default()
    };
    Partition::from_hyperplanes(w, c, &vec![0.0; d], &vec![1.0; d], opts).unwrap()
}

pub fn binomial_sum(m: usize, d: usize) -> usize {
    let mut total = 0;
    let mut b = 1usize;
    for k in 0..=d.min(m) {
        total += b;
        b = b * (m - k) / (k + 1);
    }
    total
}

/// Volume sum, facet closure Σ area·n = 0, interior angle sums 2π, areas agreeing from both sides.
pub fn check_invariants(p: &Partition) {
    let d = p.dim();
    let total: f64 = p.volumes.iter().sum();
    let box_volume: f64 = p.lo.iter().zip(&p.hi).map(|(a, b)| b - a).product();
    assert!((total - box_volume).abs() < 1e-9 * box_volume, "volume sum {total}");
    assert!(p.volumes.iter().all(|&v| v > 0.0));
    assert!(
        p.max_facet_area_mismatch < 1e-8,
        "area mismatch {}",
        p.max_facet_area_mismatch
    );
    // Rows of `vertices` with the same global id are one point of the partition.
    let mut first_row: HashMap<usize, usize> = HashMap::new();
    for (row, &id) in p.vertex_ids.iter().enumerate() {
        let r0 = *first_row.entry(id).or_insert(row);
        for k in 0..d {
            assert!(
                (p.vertices[row * d + k] - p.vertices[r0 * d + k]).abs() < 1e-7,
                "vertex {id}"
            );
        }
    }
    assert_eq!(first_row.len(), p.n_global_vertices);
    // Divergence theorem with F(x) = x: d·vol(C) = Σ_F area_F (c_F · n_F) over C's outward facets.
    let mut flux = vec![0.0; p.n_cells];
    for (f, cells) in p.facet_cells.iter().enumerate() {
        let n = &p.facet_normals[f * d..(f + 1) * d];
        let c = &p.facet_centroids[f * d..(f + 1) * d];
        let outflow = p.facet_areas[f] * n.iter().zip(c).map(|(a, b)| a * b).sum::<f64>();
        flux[cells[0] as usize] += outflow;
        if cells[1] != NO_CELL {
            flux[cells[1] as usize] -= outflow;
        }
    }
    for (i, f) in flux.iter().enumerate() {
        assert!(
            (f - d as f64 * p.volumes[i]).abs() < 1e-9 * (1.0 + f.abs()),
            "divergence {f} vs {}",
            p.volumes[i]
        );
    }
    let mut closure = vec![vec![0.0; d]; p.n_cells];
    for (f, cells) in p.facet_cells.iter().enumerate() {
        let n = &p.facet_normals[f * d..(f + 1) * d];
        for k in 0..d {
            closure[cells[0] as usize][k] += p.facet_areas[f] * n[k];
            if cells[1] != NO_CELL {
                closure[cells[1] as usize][k] -= p.facet_areas[f] * n[k];
            }
        }
    }
    for c in &closure {
        assert!(c.iter().all(|v| v.abs() < 1e-9), "closure {c:?}");
    }
    if d >= 2 {
        let mut around: HashMap<usize, (f64, bool)> = HashMap::new();
        for r in 0..p.ridge_angles.len() {
            let on_box = p.ridge_facets[r].iter().any(|&f| p.facet_cells[f][1] == NO_CELL);
            let e = around.entry(p.ridge_faces[r]).or_insert((0.0, false));
            e.0 += p.ridge_angles[r];
            e.1 |= on_box;
        }
        for (sum, on_box) in around.values() {
            if !on_box {
                assert!((sum - 2.0 * PI).abs() < 1e-8, "angle sum {sum}");
            }
        }
    }
}

/// Uniform numbers in [0, 1) from a seed (SplitMix64).
pub fn uniform(seed: u64) -> impl FnMut() -> f64 {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xD1B5_4A32_D192_ED03;
    move || {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// A random tree in preorder (scikit-learn's layout). Thresholds are uniform in [-0.1, 1.1] (some
/// outside the unit box), or on a grid of `k / grid` when `grid > 0`, so that trees share them.
pub fn random_tree(next: &mut impl FnMut() -> f64, d: usize, depth: usize, grid: usize) -> AxisTree {
    fn grow(t: &mut AxisTree, next: &mut impl FnMut() -> f64, d: usize, depth: usize, grid: usize) {
        let i = t.left.len();
        t.left.push(-1);
        t.right.push(-1);
        t.feature.push(-2);
        t.threshold.push(-2.0);
        if depth == 0 || (i > 0 && next() < 0.15) {
            return;
        }
        t.feature[i] = ((next() * d as f64) as i64).min(d as i64 - 1);
        t.threshold[i] = if grid > 0 {
            (next() * (grid + 1) as f64).floor() / grid as f64
        } else {
            -0.1 + 1.2 * next()
        };
        t.left[i] = t.left.len() as i64;
        grow(t, next, d, depth - 1, grid);
        t.right[i] = t.left.len() as i64;
        grow(t, next, d, depth - 1, grid);
    }
    let mut t = AxisTree::default();
    grow(&mut t, next, d, depth, grid);
    t
}

pub fn random_forest(d: usize, n_trees: usize, depth: usize, grid: usize, seed: u64) -> Vec<AxisTree> {
    let mut next = uniform(seed);
    (0..n_trees).map(|_| random_tree(&mut next, d, depth, grid)).collect()
}
