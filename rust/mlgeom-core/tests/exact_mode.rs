//! Exact mode (issue 9): certified predicates agree with float mode on generic input, and give the exact
//! combinatorics of the input floats on degenerate and near-degenerate input.

mod common;

use mlgeom_core::{Arrangement, Partition, PartitionOptions};
use proptest::prelude::*;

fn partition(w: &[f64], c: &[f64], lo: &[f64], hi: &[f64], exact: bool) -> Partition {
    let a = if exact {
        Arrangement::new_exact(w, c, lo, hi).unwrap()
    } else {
        Arrangement::new(w, c, lo, hi).unwrap()
    };
    Partition::new(&a, PartitionOptions::default()).unwrap()
}

/// A facet as (pattern of one side, pattern of the other or None on the box, carrier plane).
type Facet = (Vec<u64>, Option<Vec<u64>>, u32);

/// Cell patterns and facets.
fn combinatorics(p: &Partition) -> (Vec<u64>, Vec<Facet>) {
    let mut facets: Vec<_> = (0..p.facet_cells.len())
        .map(|f| {
            let [a, b] = p.facet_cells[f];
            (
                p.pattern(a as usize).to_vec(),
                (b >= 0).then(|| p.pattern(b as usize).to_vec()),
                p.facet_planes[f],
            )
        })
        .collect();
    facets.sort();
    (p.patterns.clone(), facets)
}

fn volume_sum_ok(p: &Partition) {
    let box_volume: f64 = p.lo.iter().zip(&p.hi).map(|(a, b)| b - a).product();
    let total: f64 = p.volumes.iter().sum();
    assert!(
        (total - box_volume).abs() <= 1e-9 * box_volume,
        "{total} vs {box_volume}"
    );
}

#[test]
fn lines_nearly_through_one_point_keep_their_slivers() {
    // Three lines through (1/3, 1/3) in decimal floats: x = 1/3, y = 1/3 and x + y = 2/3 are exactly
    // concurrent in floats (2·fl(1/3) = fl(2/3)); 0.1·x + 0.2·y = 0.1 is not exactly through the point
    // (0.1/3 + 0.2/3 in floats is not 0.1): exact mode sees its tiny triangle.
    let w = [1.0, 0.0, 0.0, 1.0, 1.0, 1.0];
    let c = [-1.0 / 3.0, -1.0 / 3.0, -2.0 / 3.0];
    let exact = partition(&w, &c, &[0.0, 0.0], &[1.0, 1.0], true);
    assert_eq!(exact.n_cells, 6);
    volume_sum_ok(&exact);
    let w4 = [1.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0, 2.0];
    let c4 = [-1.0 / 3.0, -1.0 / 3.0, -2.0 / 3.0, -1.0];
    let float = partition(&w4, &c4, &[0.0, 0.0], &[1.0, 1.0], false);
    let exact = partition(&w4, &c4, &[0.0, 0.0], &[1.0, 1.0], true);
    assert_eq!(float.n_cells, 8); // snapped: four lines through one point
    // The exact point of x = y = 1/3 in floats is (fl(1/3), fl(1/3)); x + 2y − 1 there is 3·fl(1/3) − 1 < 0.
    assert!(exact.n_cells > 8, "{}", exact.n_cells);
    volume_sum_ok(&exact);
}

#[test]
fn exactly_coincident_planes_merge_and_nearly_coincident_ones_do_not() {
    let w = [1.0, 0.0, -2.0, 0.0, 1.0, 1e-15];
    let c = [-0.5, 1.0, -0.5];
    let exact = partition(&w, &c, &[0.0, 0.0], &[1.0, 1.0], true);
    let float = partition(&w, &c, &[0.0, 0.0], &[1.0, 1.0], false);
    assert_eq!(float.n_cells, 2);
    assert_eq!(exact.n_cells, 3); // x = 0.5 − 1e-15·y leaves a sliver
    volume_sum_ok(&exact);
}

#[test]
fn a_far_box_is_decided_exactly() {
    // Lines through the corner of a box far from the origin.
    let lo = [1e8, 1e8];
    let hi = [1e8 + 1.0, 1e8 + 1.0];
    let w = [1.0, -1.0, 1.0, 1.0];
    let c = [0.0, -(2e8 + 1.0)];
    let p = partition(&w, &c, &lo, &hi, true);
    assert_eq!(p.n_cells, 4);
    volume_sum_ok(&p);
}

fn generic_input() -> impl Strategy<Value = (usize, Vec<f64>, Vec<f64>)> {
    (2usize..=4, 1usize..=7).prop_flat_map(|(d, m)| {
        (
            Just(d),
            prop::collection::vec(-1.0f64..1.0, m * d),
            prop::collection::vec(-0.3f64..0.3, m),
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn exact_and_float_agree_on_generic_input((d, w, c) in generic_input()) {
        let lo = vec![-1.0; d];
        let hi = vec![1.0; d];
        let m = c.len();
        prop_assume!((0..m).all(|j| w[j * d..(j + 1) * d].iter().map(|v| v * v).sum::<f64>() > 1e-2));
        let float = partition(&w, &c, &lo, &hi, false);
        let exact = partition(&w, &c, &lo, &hi, true);
        prop_assert_eq!(combinatorics(&float), combinatorics(&exact));
        prop_assert!(exact.n_cells <= common::binomial_sum(m, d));
        for (a, b) in float.volumes.iter().zip(&exact.volumes) {
            prop_assert!((a - b).abs() <= 1e-9);
        }
    }

    #[test]
    fn exact_mode_counts_lines_through_lattice_points(
        points in prop::collection::vec((0i32..4, 0i32..4, -3i32..=3, -3i32..=3), 1..7)
    ) {
        // Lines with small integer normals through quarter-lattice points: exactly represented input with many
        // exact concurrences, on which both modes must give the input's own combinatorics (float mode's
        // rounding stays far below its tolerance), and the volumes add up.
        let mut w = Vec::new();
        let mut c = Vec::new();
        for &(px, py, a, b) in &points {
            if a == 0 && b == 0 { continue; }
            let (x, y) = (f64::from(px) * 0.25, f64::from(py) * 0.25);
            w.extend([f64::from(a), f64::from(b)]);
            c.push(-(f64::from(a) * x + f64::from(b) * y));
        }
        prop_assume!(!c.is_empty());
        let exact = partition(&w, &c, &[0.0, 0.0], &[1.0, 1.0], true);
        volume_sum_ok(&exact);
        let float = partition(&w, &c, &[0.0, 0.0], &[1.0, 1.0], false);
        prop_assert_eq!(combinatorics(&float), combinatorics(&exact));
    }
}
