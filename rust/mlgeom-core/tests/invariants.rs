//! Invariants of DESIGN §5 on random and degenerate arrangements (plain `cargo test`, no Python).

mod common;

use std::f64::consts::{FRAC_PI_2, PI};

use common::{binomial_sum, check_invariants, partition, random_arrangement};

use mlgeom_core::bits::pattern_bit;
use mlgeom_core::{NO_CELL, Partition, PartitionOptions};
use proptest::prelude::*;

#[test]
fn figure_one_of_the_paper() {
    let p = partition(&[1.0, 0.0, 0.0, 1.0], &[-0.3, -0.6], 2, None);
    let volumes = [0.18, 0.12, 0.42, 0.28]; // labels 00, 01, 10, 11
    for (v, e) in p.volumes.iter().zip(volumes) {
        assert!((v - e).abs() < 1e-15);
    }
    let interior: Vec<([i64; 2], f64)> = (0..p.facet_areas.len())
        .filter(|&f| p.facet_cells[f][1] != NO_CELL)
        .map(|f| (p.facet_cells[f], p.facet_areas[f]))
        .collect();
    let expected = [([0, 1], 0.3), ([0, 2], 0.6), ([1, 3], 0.4), ([2, 3], 0.7)];
    assert_eq!(interior.len(), 4);
    for ((cells, area), (ec, ea)) in interior.iter().zip(expected) {
        assert_eq!(*cells, ec);
        assert!((area - ea).abs() < 1e-15);
    }
    assert!(p.ridge_angles.iter().all(|a| (a - FRAC_PI_2).abs() < 1e-15));
    // Nine vertices (a 3 × 3 grid); the crossing (0.3, 0.6) belongs to all four cells.
    assert_eq!(p.n_global_vertices, 9);
    let centre: Vec<usize> = (0..p.vertex_ids.len())
        .filter(|&r| (p.vertices[2 * r] - 0.3).abs() < 1e-15 && (p.vertices[2 * r + 1] - 0.6).abs() < 1e-15)
        .map(|r| p.vertex_ids[r])
        .collect();
    assert_eq!(centre.len(), 4);
    assert!(centre.iter().all(|&id| id == centre[0]));
    check_invariants(&p);
}

#[test]
fn random_arrangements_satisfy_the_invariants() {
    for d in 1..=5 {
        for seed in 0..6 {
            let m = [12, 10, 8, 6, 5][d - 1];
            let (w, c) = random_arrangement(m, d, seed);
            check_invariants(&partition(&w, &c, d, None));
        }
    }
}

#[test]
fn generic_counts_match_buck() {
    // Normals with all components positive and hyperplanes through points near the centre of a big
    // box: every intersection of ≤ d hyperplanes lies inside.
    for d in 1..=4 {
        let m = [15, 12, 9, 7][d - 1];
        let (mut w, c) = random_arrangement(m, d, 42);
        w.iter_mut().for_each(|v| *v = v.abs() + 0.05);
        let opts = PartitionOptions::default();
        let lo = vec![-1e4; d];
        let hi = vec![1e4; d];
        let p = Partition::from_hyperplanes(&w, &c, &lo, &hi, opts).unwrap();
        assert_eq!(p.n_cells, binomial_sum(m, d), "d={d}");
    }
}

#[test]
fn thread_count_does_not_change_anything() {
    let (w, c) = random_arrangement(40, 3, 7);
    let a = partition(&w, &c, 3, Some(1));
    let b = partition(&w, &c, 3, Some(2));
    assert_eq!(a.patterns, b.patterns);
    assert_eq!(a.volumes, b.volumes);
    assert_eq!(a.facet_cells, b.facet_cells);
    assert_eq!(a.facet_areas, b.facet_areas);
    assert_eq!(a.ridge_faces, b.ridge_faces);
    assert_eq!(a.ridge_angles, b.ridge_angles);
}

#[test]
fn locate_matches_the_sign_pattern() {
    let (w, c) = random_arrangement(25, 3, 3);
    let p = partition(&w, &c, 3, None);
    let (pts, _) = random_arrangement(200, 3, 99);
    for x in pts
        .chunks(3)
        .map(|x| x.iter().map(|v| 0.5 + 0.5 * v).collect::<Vec<f64>>())
    {
        let cell = p.locate(&x);
        assert!(cell >= 0);
        for j in 0..25 {
            let s: f64 = (0..3).map(|k| w[j * 3 + k] * x[k]).sum::<f64>() + c[j];
            if s.abs() > 1e-9 {
                assert_eq!(pattern_bit(p.pattern(cell as usize), j), s > 0.0);
            }
        }
    }
    assert_eq!(p.locate(&[1.5, 0.5, 0.5]), NO_CELL);
}

#[test]
fn degenerate_arrangements() {
    // k lines through one point: 2k cells, angles around the point sum to 2π.
    for k in 2..9 {
        let mut w = Vec::new();
        let mut c = Vec::new();
        for i in 0..k {
            let t = PI * i as f64 / k as f64;
            w.extend([t.cos(), t.sin()]);
            c.push(-(0.5 * t.cos() + 0.5 * t.sin()));
        }
        let p = partition(&w, &c, 2, None);
        assert_eq!(p.n_cells, 2 * k);
        check_invariants(&p);
    }
    // Duplicates, opposite orientation, scale: one boundary. Parallel lines. Missing the box.
    // Along a box face, through a corner, zero normal.
    let w = [
        1.0, 0.0, -2.0, 0.0, 1.0, 0.0, 1.0, 0.0, 0.0, 1.0, 1.0, 1.0, 0.0, 0.0, 1.0, 0.0,
    ];
    let c = [-0.5, 1.0, -0.5, -0.25, 5.0, -2.0, 3.0, 0.0];
    let p = partition(&w, &c, 2, None);
    // x = 0.5 (×3), x = 0.25, y + 5 (misses), x + y = 2 (corner), zero normal, x = 0 (box face)
    assert_eq!(p.n_cells, 3);
    check_invariants(&p);
    let interior: Vec<usize> = (0..p.facet_cells.len())
        .filter(|&f| p.facet_cells[f][1] != NO_CELL)
        .collect();
    assert_eq!(interior.len(), 2);
    // Planes through a common line in 3-D: 2k cells.
    let w = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 1.0, 1.0, 0.0, 1.0, -1.0, 0.0];
    let c = [-0.5, -0.5, -1.0, 0.0];
    let p = partition(&w, &c, 3, None);
    assert_eq!(p.n_cells, 8);
    check_invariants(&p);
}

#[test]
fn units_do_not_matter() {
    let (w, c) = random_arrangement(15, 3, 11);
    let base = partition(&w, &c, 3, None);
    for s in [1e-8, 1e8] {
        let cs: Vec<f64> = c.iter().map(|v| v * s).collect();
        let opts = PartitionOptions::default();
        let p = Partition::from_hyperplanes(&w, &cs, &[0.0; 3], &[s; 3], opts).unwrap();
        assert_eq!(p.patterns, base.patterns);
        for (a, b) in p.volumes.iter().zip(&base.volumes) {
            assert!((a / s.powi(3) - b).abs() < 1e-9 * b.max(1e-3));
        }
    }
}

#[test]
fn too_many_cells_is_an_error() {
    let (w, c) = random_arrangement(30, 2, 5);
    let opts = PartitionOptions {
        refine: mlgeom_core::RefineOptions {
            max_cells: 50,
            ..Default::default()
        },
        ..Default::default()
    };
    let err = Partition::from_hyperplanes(&w, &c, &[0.0; 2], &[1.0; 2], opts).unwrap_err();
    assert!(matches!(err, mlgeom_core::GeomError::TooManyCells { limit: 50, .. }));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    /// Permuting the hyperplanes permutes pattern bits and nothing else.
    #[test]
    fn permutation_invariance(seed in 0u64..1000, d in 2usize..4, m in 3usize..9) {
        let (w, c) = random_arrangement(m, d, seed);
        let perm: Vec<usize> = (0..m).rev().collect();
        let wp: Vec<f64> = perm.iter().flat_map(|&j| w[j * d..(j + 1) * d].to_vec()).collect();
        let cp: Vec<f64> = perm.iter().map(|&j| c[j]).collect();
        let a = partition(&w, &c, d, None);
        let b = partition(&wp, &cp, d, None);
        prop_assert_eq!(a.n_cells, b.n_cells);
        let key = |p: &Partition, i: usize, perm: Option<&[usize]>| -> Vec<bool> {
            (0..m).map(|j| pattern_bit(p.pattern(i), perm.map_or(j, |q| q.iter().position(|&x| x == j).unwrap()))).collect()
        };
        let mut va: Vec<(Vec<bool>, f64)> = (0..a.n_cells).map(|i| (key(&a, i, None), a.volumes[i])).collect();
        let mut vb: Vec<(Vec<bool>, f64)> = (0..b.n_cells).map(|i| (key(&b, i, Some(&perm)), b.volumes[i])).collect();
        va.sort_by(|x, y| x.0.cmp(&y.0));
        vb.sort_by(|x, y| x.0.cmp(&y.0));
        for (x, y) in va.iter().zip(&vb) {
            prop_assert_eq!(&x.0, &y.0);
            prop_assert!((x.1 - y.1).abs() < 1e-12);
        }
    }
}
