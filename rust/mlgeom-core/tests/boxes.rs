//! Partitions by forests of axis-aligned trees (`mlgeom_core::boxes`), plain `cargo test`.

mod common;

use common::{random_forest, uniform};

use mlgeom_core::bits::pattern_bit;
use mlgeom_core::{AxisTree, Forest, ForestOptions, GeomError, NO_CELL, Partition};

fn opts(n_threads: Option<usize>) -> ForestOptions<'static> {
    ForestOptions {
        n_threads,
        ..ForestOptions::default()
    }
}

fn leaf() -> (i64, i64, i64, f64) {
    (-1, -1, -2, -2.0)
}

fn tree(nodes: &[(i64, i64, i64, f64)]) -> AxisTree {
    AxisTree {
        left: nodes.iter().map(|n| n.0).collect(),
        right: nodes.iter().map(|n| n.1).collect(),
        feature: nodes.iter().map(|n| n.2).collect(),
        threshold: nodes.iter().map(|n| n.3).collect(),
    }
}

fn unit(d: usize) -> (Vec<f64>, Vec<f64>) {
    (vec![0.0; d], vec![1.0; d])
}

fn cell_lo(p: &Partition, c: usize) -> &[f64] {
    &p.payload[c * p.payload_len..c * p.payload_len + p.dim()]
}

fn cell_hi(p: &Partition, c: usize) -> &[f64] {
    &p.payload[c * p.payload_len + p.dim()..c * p.payload_len + 2 * p.dim()]
}

fn cell_leaves(p: &Partition, c: usize) -> Vec<usize> {
    let d = p.dim();
    p.payload[c * p.payload_len + 2 * d..(c + 1) * p.payload_len]
        .iter()
        .map(|&v| v as usize)
        .collect()
}

/// Volumes tile the box, patterns are sorted and unique, cells are their boxes, every side of every
/// cell is covered exactly by its facets (T-junctions included), interior facets join touching cells.
fn check(p: &Partition, forest: &Forest) {
    let d = p.dim();
    let n = p.n_cells;
    let box_volume: f64 = p.lo.iter().zip(&p.hi).map(|(a, b)| b - a).product();
    let total: f64 = p.volumes.iter().sum();
    assert!(
        (total - box_volume).abs() <= 1e-12 * box_volume,
        "volume sum {total} vs {box_volume}"
    );
    assert_eq!(p.payload_len, 2 * d + forest.n_trees());
    assert_eq!(p.n_bits, forest.n_planes());
    assert!(!p.has_ridges && p.ridge_angles.is_empty());
    for c in 0..n {
        let (lo, hi) = (cell_lo(p, c), cell_hi(p, c));
        assert!(lo.iter().zip(hi).all(|(a, b)| a < b));
        let vol: f64 = lo.iter().zip(hi).map(|(a, b)| b - a).product();
        assert_eq!(p.volumes[c], vol);
        for a in 0..d {
            assert_eq!(p.centroids[c * d + a], 0.5 * lo[a] + 0.5 * hi[a]);
        }
        // The interior point is in the cell by the trees' own rule.
        let x = &p.interior_points[c * d..(c + 1) * d];
        let leaves: Vec<usize> = (0..forest.n_trees()).map(|t| forest.leaf(t, x)).collect();
        assert_eq!(leaves, cell_leaves(p, c));
        assert_eq!(p.locate(x), c as i64);
        if c > 0 {
            assert!(
                p.pattern(c - 1) < p.pattern(c),
                "patterns not strictly increasing at {c}"
            );
        }
        // Pattern bit k: the cell is on the side x[f] > t of plane k throughout.
        for k in 0..p.n_bits {
            let (f, t) = forest.plane(k);
            assert_eq!(pattern_bit(p.pattern(c), k), lo[f] >= t);
        }
        if d <= 10 {
            assert_eq!(p.vertex_start[c + 1] - p.vertex_start[c], 1 << d);
        }
    }
    // Facet bookkeeping: per cell and side, the facet areas sum to the side's area.
    let mut sides = vec![0.0; n * 2 * d];
    let mut closure = vec![0.0; n * d];
    for (f, cells) in p.facet_cells.iter().enumerate() {
        let normal = &p.facet_normals[f * d..(f + 1) * d];
        let axis = normal.iter().position(|&v| v != 0.0).expect("nonzero normal");
        assert_eq!(normal.iter().filter(|&&v| v != 0.0).count(), 1);
        assert_eq!(normal[axis].abs(), 1.0);
        let up = normal[axis] > 0.0;
        let area = p.facet_areas[f];
        assert!(area > 0.0);
        let c0 = cells[0] as usize;
        sides[c0 * 2 * d + 2 * axis + usize::from(up)] += area;
        closure[c0 * d + axis] += if up { area } else { -area };
        let plane = p.facet_planes[f] as usize;
        if cells[1] == NO_CELL {
            assert_eq!(plane, 2 * axis + usize::from(up));
            let face = if up { cell_hi(p, c0)[axis] } else { cell_lo(p, c0)[axis] };
            assert_eq!(face, if up { p.hi[axis] } else { p.lo[axis] });
            continue;
        }
        let c1 = cells[1] as usize;
        assert!(c0 < c1);
        sides[c1 * 2 * d + 2 * axis + usize::from(!up)] += area;
        closure[c1 * d + axis] -= if up { area } else { -area };
        let (below, above) = if up { (c0, c1) } else { (c1, c0) };
        let v = cell_hi(p, below)[axis];
        assert_eq!(v, cell_lo(p, above)[axis]);
        // The facet's plane is the split at that coordinate, and its carriers are nodes with that split.
        assert!(plane >= 2 * d);
        assert_eq!(forest.plane(plane - 2 * d), (axis, v));
        assert!(!p.carriers[plane - 2 * d].is_empty());
        let mut overlap = 1.0;
        for b in (0..d).filter(|&b| b != axis) {
            let lo = cell_lo(p, c0)[b].max(cell_lo(p, c1)[b]);
            let hi = cell_hi(p, c0)[b].min(cell_hi(p, c1)[b]);
            assert!(hi > lo);
            overlap *= hi - lo;
        }
        assert_eq!(area, overlap);
    }
    for c in 0..n {
        let (lo, hi) = (cell_lo(p, c), cell_hi(p, c));
        for a in 0..d {
            let side: f64 = (0..d).filter(|&b| b != a).map(|b| hi[b] - lo[b]).product();
            for s in 0..2 {
                let got = sides[c * 2 * d + 2 * a + s];
                assert!(
                    (got - side).abs() <= 1e-12 * side,
                    "cell {c} axis {a} side {s}: {got} vs {side}"
                );
            }
            assert!(closure[c * d + a].abs() <= 1e-12 * box_volume.max(1.0));
        }
    }
    // Facets come sorted by (first cell, second cell with the box last, plane), no duplicates.
    let key = |f: usize| (p.facet_cells[f][0], p.facet_cells[f][1] as u64, p.facet_planes[f]);
    assert!((1..p.facet_cells.len()).all(|f| key(f - 1) < key(f)));
    // Global vertex ids: equal coordinates, equal id.
    assert_eq!(p.vertex_ids.len(), p.vertices.len() / d);
    let mut by_point: std::collections::HashMap<Vec<u64>, usize> = std::collections::HashMap::new();
    for (row, &id) in p.vertex_ids.iter().enumerate() {
        let key: Vec<u64> = p.vertices[row * d..(row + 1) * d].iter().map(|v| v.to_bits()).collect();
        assert_eq!(*by_point.entry(key).or_insert(id), id);
    }
    assert_eq!(by_point.len(), p.n_global_vertices);
    let mut ids: Vec<usize> = by_point.values().copied().collect();
    ids.sort_unstable();
    assert!(ids.iter().enumerate().all(|(k, &id)| k == id));
    // Distinct leaf tuples.
    let mut tuples: Vec<Vec<usize>> = (0..n).map(|c| cell_leaves(p, c)).collect();
    tuples.sort();
    tuples.dedup();
    assert_eq!(tuples.len(), n);
}

/// `locate` agrees with each tree's own leaf at random points (and on planes, and at corners).
fn check_locate(p: &Partition, forest: &Forest, seed: u64) {
    let d = p.dim();
    let mut next = uniform(seed);
    let mut points: Vec<Vec<f64>> = (0..500).map(|_| (0..d).map(|_| next()).collect()).collect();
    // Points exactly on planes: every split's threshold in some coordinate.
    for k in 0..forest.n_planes().min(200) {
        let (f, t) = forest.plane(k);
        if t >= p.lo[f] && t <= p.hi[f] {
            let mut x: Vec<f64> = (0..d).map(|_| next()).collect();
            x[f] = t;
            points.push(x);
        }
    }
    points.push(p.lo.clone());
    points.push(p.hi.clone());
    for x in &points {
        // On a box face that is also a split, the trees' leaf there has zero volume (no cell).
        let degenerate = (0..forest.n_planes()).any(|k| {
            let (f, t) = forest.plane(k);
            t == x[f] && (t == p.lo[f] || t == p.hi[f])
        });
        if degenerate {
            continue;
        }
        let c = p.locate(x);
        assert!(c >= 0, "{x:?} not located");
        let leaves: Vec<usize> = (0..forest.n_trees()).map(|t| forest.leaf(t, x)).collect();
        assert_eq!(leaves, cell_leaves(p, c as usize), "at {x:?}");
        let (lo, hi) = (cell_lo(p, c as usize), cell_hi(p, c as usize));
        assert!((0..d).all(|a| lo[a] <= x[a] && x[a] <= hi[a]));
    }
    let mut outside = p.hi.clone();
    outside[0] += 0.5;
    assert_eq!(p.locate(&outside), NO_CELL);
}

#[test]
fn hand_made_trees_with_a_t_junction() {
    // Tree 0: x0 <= 0.5 ? (x1 <= 0.3 ? leaf 2 : leaf 3) : leaf 4.   Tree 1: x1 <= 0.6 ? leaf 1 : leaf 2.
    let t0 = tree(&[(1, 4, 0, 0.5), (2, 3, 1, 0.3), leaf(), leaf(), leaf()]);
    let t1 = tree(&[(1, 2, 1, 0.6), leaf(), leaf()]);
    let (lo, hi) = unit(2);
    let forest = Forest::new(&[t0.clone(), t1.clone()], &lo, &hi).unwrap();
    let p = forest.partition(opts(None)).unwrap();
    check(&p, &forest);
    check_locate(&p, &forest, 1);
    // Planes by (axis, threshold): x0 = 0.5, x1 = 0.3, x1 = 0.6; carriers are global node ids
    // (tree 1 starts at 5).
    assert_eq!(forest.node_offsets(), &[0, 5, 8]);
    assert_eq!(p.carriers, vec![vec![0], vec![1], vec![5]]);
    // Cells by lower corner: (0,0) (0,.3) (0,.6) (.5,0) (.5,.6).
    let boxes: Vec<(Vec<f64>, Vec<f64>)> = (0..p.n_cells)
        .map(|c| (cell_lo(&p, c).to_vec(), cell_hi(&p, c).to_vec()))
        .collect();
    let expected = [
        ([0.0, 0.0], [0.5, 0.3]),
        ([0.0, 0.3], [0.5, 0.6]),
        ([0.0, 0.6], [0.5, 1.0]),
        ([0.5, 0.0], [1.0, 0.6]),
        ([0.5, 0.6], [1.0, 1.0]),
    ];
    assert_eq!(boxes.len(), 5);
    for (b, e) in boxes.iter().zip(expected) {
        assert_eq!(b.0, e.0);
        assert_eq!(b.1, e.1);
    }
    let volumes = [0.15, 0.15, 0.2, 0.3, 0.2];
    for (v, e) in p.volumes.iter().zip(volumes) {
        assert!((v - e).abs() < 1e-15);
    }
    let leaves: Vec<Vec<usize>> = (0..5).map(|c| cell_leaves(&p, c)).collect();
    assert_eq!(leaves, vec![vec![2, 1], vec![3, 1], vec![3, 2], vec![4, 1], vec![4, 2]]);
    let labels: Vec<String> = (0..5)
        .map(|c| {
            (0..3)
                .map(|k| if pattern_bit(p.pattern(c), k) { '1' } else { '0' })
                .collect()
        })
        .collect();
    assert_eq!(labels, ["000", "010", "011", "100", "111"]);
    // Interior facets: (cells, area, plane id 2d + k, normal).
    let interior: Vec<([i64; 2], f64, u32, [f64; 2])> = (0..p.facet_cells.len())
        .filter(|&f| p.facet_cells[f][1] != NO_CELL)
        .map(|f| {
            let n = [p.facet_normals[2 * f], p.facet_normals[2 * f + 1]];
            (p.facet_cells[f], p.facet_areas[f], p.facet_planes[f], n)
        })
        .collect();
    let expected = [
        ([0, 1], 0.5, 5, [0.0, 1.0]),
        ([0, 3], 0.3, 4, [1.0, 0.0]), // T-junction: cell 3's left side touches cells 0 and 1
        ([1, 2], 0.5, 6, [0.0, 1.0]),
        ([1, 3], 0.3, 4, [1.0, 0.0]),
        ([2, 4], 0.4, 4, [1.0, 0.0]),
        ([3, 4], 0.5, 6, [0.0, 1.0]),
    ];
    assert_eq!(interior.len(), expected.len());
    for (got, e) in interior.iter().zip(expected) {
        assert_eq!(got.0, e.0);
        assert!((got.1 - e.1).abs() < 1e-15, "{got:?}");
        assert_eq!(got.2, e.2);
        assert_eq!(got.3, e.3);
    }
    let n_box = p.facet_cells.iter().filter(|c| c[1] == NO_CELL).count();
    assert_eq!(n_box, 2 + 1 + 2 + 2 + 2);
    // Vertices: the four corners, corner k taking hi[a] where bit a of k is set.
    let v0 = &p.vertices[0..8];
    assert_eq!(v0, &[0.0, 0.0, 0.5, 0.0, 0.0, 0.3, 0.5, 0.3]);
    // A point on the plane x0 = 0.5 goes left, as in the trees.
    assert_eq!(p.locate(&[0.5, 0.1]), 0);
    assert_eq!(p.locate(&[0.5000001, 0.1]), 3);
    assert_eq!(
        Partition::from_forest(&[t0, t1], &lo, &hi, opts(Some(1)))
            .unwrap()
            .patterns,
        p.patterns
    );
}

#[test]
fn random_forests_satisfy_the_invariants() {
    for d in 1..=5 {
        for seed in 0..4 {
            let grid = if seed % 2 == 0 { 0 } else { 8 };
            let depth = [8, 6, 5, 4, 4][d - 1];
            let trees = random_forest(d, 2 + seed as usize, depth, grid, 100 * d as u64 + seed);
            let (lo, hi) = unit(d);
            let forest = Forest::new(&trees, &lo, &hi).unwrap();
            let p = forest.partition(opts(None)).unwrap();
            assert!(p.n_cells > 1, "d {d} seed {seed}");
            check(&p, &forest);
            check_locate(&p, &forest, seed);
        }
    }
}

#[test]
fn shared_thresholds_are_one_plane_with_all_their_nodes() {
    let trees = random_forest(2, 6, 6, 4, 7);
    let (lo, hi) = unit(2);
    let forest = Forest::new(&trees, &lo, &hi).unwrap();
    let p = forest.partition(opts(None)).unwrap();
    check(&p, &forest);
    // At most 5 thresholds per axis (0, 1/4, ..., 1), each a plane carried by all its nodes.
    assert!(forest.n_planes() <= 10);
    let offsets = forest.node_offsets();
    let mut n_internal = 0;
    for (t, tree) in trees.iter().enumerate() {
        for n in 0..tree.left.len() {
            if tree.left[n] == -1 {
                continue;
            }
            n_internal += 1;
            let k = (0..forest.n_planes())
                .find(|&k| forest.plane(k) == (tree.feature[n] as usize, tree.threshold[n]))
                .expect("plane");
            assert!(p.carriers[k].contains(&(offsets[t] + n)));
        }
    }
    assert_eq!(p.carriers.iter().map(Vec::len).sum::<usize>(), n_internal);
    assert!(p.carriers.iter().any(|c| c.len() > 1));
    // Cells are bounded by the grid: at most 4 x 4.
    assert!(p.n_cells <= 16);
}

#[test]
fn results_do_not_depend_on_the_thread_count() {
    for (d, depth) in [(2, 9), (3, 6)] {
        let trees = random_forest(d, 12, depth, 0, 42 + d as u64);
        let (lo, hi) = unit(d);
        let forest = Forest::new(&trees, &lo, &hi).unwrap();
        let a = forest.partition(opts(Some(1))).unwrap();
        let b = forest.partition(opts(Some(2))).unwrap();
        let c = forest.partition(opts(Some(4))).unwrap();
        assert!(a.n_cells > 500, "{}", a.n_cells);
        for q in [&b, &c] {
            assert_eq!(a.n_cells, q.n_cells);
            assert_eq!(a.patterns, q.patterns);
            assert_eq!(a.volumes, q.volumes);
            assert_eq!(a.payload, q.payload);
            assert_eq!(a.vertices, q.vertices);
            assert_eq!(a.facet_cells, q.facet_cells);
            assert_eq!(a.facet_areas, q.facet_areas);
            assert_eq!(a.facet_normals, q.facet_normals);
            assert_eq!(a.facet_planes, q.facet_planes);
            assert_eq!(a.carriers, q.carriers);
        }
        let mut next = uniform(3);
        let points: Vec<f64> = (0..2000 * d).map(|_| next()).collect();
        assert_eq!(a.locate_many(&points), b.locate_many(&points));
        check(&b, &forest);
    }
}

#[test]
fn a_single_leaf_and_splits_outside_the_box() {
    let (lo, hi) = (vec![-1.0, 2.0, 0.0], vec![1.0, 3.0, 0.5]);
    let single = tree(&[leaf()]);
    // Thresholds outside the box (and on its faces) never cut it.
    let outside = tree(&[
        (1, 2, 0, -1.0),
        leaf(),
        (3, 4, 1, 3.0),
        leaf(),
        (5, 6, 2, 7.0),
        leaf(),
        leaf(),
    ]);
    let forest = Forest::new(&[single, outside], &lo, &hi).unwrap();
    let p = forest.partition(opts(None)).unwrap();
    check(&p, &forest);
    assert_eq!(p.n_cells, 1);
    assert_eq!(cell_leaves(&p, 0), vec![0, 3]);
    assert!((p.volumes[0] - 1.0).abs() < 1e-15);
    assert_eq!(p.facet_cells.len(), 6);
    assert_eq!(p.n_bits, 3);
    // lo[0] = -1 >= -1: the bit of plane x0 = -1 is 1, the others 0.
    assert!(pattern_bit(p.pattern(0), 0) && !pattern_bit(p.pattern(0), 1) && !pattern_bit(p.pattern(0), 2));
    assert_eq!(p.locate(&[-1.0, 2.5, 0.25]), 0);
    // A forest of single leaves has no planes at all.
    let forest = Forest::new(&[tree(&[leaf()])], &lo, &hi).unwrap();
    let p = forest.partition(opts(None)).unwrap();
    assert_eq!((p.n_cells, p.n_bits, p.pattern_words), (1, 0, 0));
    check(&p, &forest);
}

#[test]
fn vertices_are_optional_and_high_dimensions_work() {
    let d = 12;
    let trees = random_forest(d, 3, 4, 0, 5);
    let (lo, hi) = unit(d);
    let forest = Forest::new(&trees, &lo, &hi).unwrap();
    let p = forest.partition(opts(None)).unwrap();
    assert!(p.vertices.is_empty() && p.vertex_start.iter().all(|&v| v == 0));
    check(&p, &forest);
    let q = forest
        .partition(ForestOptions {
            vertices: Some(false),
            ..ForestOptions::default()
        })
        .unwrap();
    assert_eq!(q.patterns, p.patterns);
    let forest = Forest::new(&random_forest(2, 2, 3, 0, 9), &[0.0; 2], &[1.0; 2]).unwrap();
    let p = forest
        .partition(ForestOptions {
            vertices: Some(false),
            ..ForestOptions::default()
        })
        .unwrap();
    assert!(p.vertices.is_empty());
}

#[test]
fn too_many_cells() {
    let trees = random_forest(2, 10, 8, 0, 1);
    let (lo, hi) = unit(2);
    let err = Partition::from_forest(
        &trees,
        &lo,
        &hi,
        ForestOptions {
            max_cells: 10,
            ..ForestOptions::default()
        },
    )
    .unwrap_err();
    assert!(matches!(err, GeomError::TooManyCells { limit: 10, .. }), "{err:?}");
}

#[test]
fn progress_counts_cells_and_cancel_interrupts() {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    let trees = random_forest(3, 4, 6, 0, 2);
    let (lo, hi) = unit(3);
    let done = AtomicUsize::new(0);
    let p = Partition::from_forest(
        &trees,
        &lo,
        &hi,
        ForestOptions {
            progress: Some(&done),
            ..ForestOptions::default()
        },
    )
    .unwrap();
    assert_eq!(done.load(Ordering::Relaxed), p.n_cells);
    let cancel = AtomicBool::new(true);
    let err = Partition::from_forest(
        &trees,
        &lo,
        &hi,
        ForestOptions {
            cancel: Some(&cancel),
            max_cells: 10, // a cancel wins over the cell limit
            ..ForestOptions::default()
        },
    )
    .unwrap_err();
    assert_eq!(err, GeomError::Interrupted);
}

#[test]
fn invalid_input() {
    let (lo, hi) = unit(2);
    let good = tree(&[(1, 2, 0, 0.5), leaf(), leaf()]);
    let cases: Vec<(Vec<AxisTree>, Vec<f64>, Vec<f64>)> = vec![
        (vec![], lo.clone(), hi.clone()),
        (vec![good.clone()], vec![0.0, 1.0], vec![1.0, 1.0]), // empty box
        (vec![good.clone()], vec![1.0, 0.0], vec![0.0, 1.0]), // inverted
        (vec![good.clone()], vec![0.0, f64::NAN], vec![1.0, 1.0]),
        (vec![good.clone()], vec![0.0], vec![1.0, 1.0]),
        (vec![good.clone()], vec![], vec![]),
        (vec![tree(&[(1, 2, 2, 0.5), leaf(), leaf()])], lo.clone(), hi.clone()), // feature 2 in 2-D
        (vec![tree(&[(1, 2, -1, 0.5), leaf(), leaf()])], lo.clone(), hi.clone()),
        (
            vec![tree(&[(1, 2, 0, f64::NAN), leaf(), leaf()])],
            lo.clone(),
            hi.clone(),
        ),
        (
            vec![tree(&[(1, 2, 0, f64::INFINITY), leaf(), leaf()])],
            lo.clone(),
            hi.clone(),
        ),
        (vec![tree(&[(1, -1, 0, 0.5), leaf(), leaf()])], lo.clone(), hi.clone()), // one child
        (vec![tree(&[(1, 3, 0, 0.5), leaf(), leaf()])], lo.clone(), hi.clone()),  // out of range
        (vec![tree(&[(1, 1, 0, 0.5), leaf()])], lo.clone(), hi.clone()),          // shared child
        (
            vec![tree(&[(1, 2, 0, 0.5), (0, 2, 1, 0.5), leaf()])],
            lo.clone(),
            hi.clone(),
        ), // cycle
        (vec![tree(&[])], lo.clone(), hi.clone()),
        (
            vec![AxisTree {
                threshold: vec![0.5],
                ..good.clone()
            }],
            lo.clone(),
            hi.clone(),
        ),
    ];
    for (k, (trees, lo, hi)) in cases.into_iter().enumerate() {
        match Forest::new(&trees, &lo, &hi) {
            Err(GeomError::InvalidInput(msg)) => assert!(!msg.is_empty()),
            other => panic!("case {k}: expected InvalidInput, got {other:?}"),
        }
    }
    // Leaves may carry any feature and threshold (scikit-learn stores -2).
    assert!(
        Forest::new(
            &[tree(&[(1, 2, 0, 0.5), (-1, -1, 99, f64::NAN), leaf()])],
            &[0.0; 2],
            &[1.0; 2]
        )
        .is_ok()
    );
}
