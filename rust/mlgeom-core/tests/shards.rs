//! Shards (`RefineOptions::shard`): the shards over every sign vector of a few bits hold exactly the
//! cells of the whole partition, with the same volumes, and their cut facets pair up by key into
//! exactly the facets of the whole partition that cross the shard boundaries.

mod common;

use std::collections::{HashMap, HashSet};

use common::{random_arrangement, uniform};
use mlgeom_core::{Dense, Model, NO_CELL, Partition, PartitionOptions, RefineOptions, ReluNet};
use proptest::prelude::*;

fn shard_of<M: Model>(model: &M, shard: &[(usize, bool)]) -> Partition {
    let opts = PartitionOptions {
        refine: RefineOptions {
            shard: Some(shard),
            ..RefineOptions::default()
        },
        ..PartitionOptions::default()
    };
    Partition::new(model, opts).unwrap()
}

/// Unordered pairs of patterns of adjacent cells.
fn adjacent_patterns(p: &Partition) -> HashSet<(Vec<u64>, Vec<u64>)> {
    p.facet_cells
        .iter()
        .filter(|c| c[1] != NO_CELL)
        .map(|c| (p.pattern(c[0] as usize).to_vec(), p.pattern(c[1] as usize).to_vec()))
        .collect()
}

/// Compares the 2^k shards on `bits` with the whole partition.
fn check_shards<M: Model>(model: &M, bits: &[usize]) -> usize {
    let whole = Partition::new(model, PartitionOptions::default()).unwrap();
    let volume_of: HashMap<Vec<u64>, f64> = (0..whole.n_cells)
        .map(|i| (whole.pattern(i).to_vec(), whole.volumes[i]))
        .collect();
    let mut seen = 0;
    let mut empty = 0;
    let mut adjacent = HashSet::new();
    let mut cut: HashMap<u128, Vec<Vec<u64>>> = HashMap::new();
    for signs in 0..1usize << bits.len() {
        let shard: Vec<(usize, bool)> = bits
            .iter()
            .enumerate()
            .map(|(k, &j)| (j, signs >> k & 1 == 1))
            .collect();
        let p = shard_of(model, &shard);
        empty += usize::from(p.n_cells == 0);
        for i in 0..p.n_cells {
            let pattern = p.pattern(i);
            for &(j, value) in &shard {
                assert_eq!(
                    mlgeom_core::bits::pattern_bit(pattern, j),
                    value,
                    "cell outside its shard"
                );
            }
            let v = volume_of
                .get(pattern)
                .expect("a shard cell missing from the whole partition");
            assert!((v - p.volumes[i]).abs() <= 1e-12 * v.max(1.0));
        }
        seen += p.n_cells;
        adjacent.extend(adjacent_patterns(&p));
        assert_eq!(p.cut_facets.len(), p.cut_keys.len());
        for (&f, &key) in p.cut_facets.iter().zip(&p.cut_keys) {
            assert_eq!(p.facet_cells[f][1], NO_CELL);
            cut.entry(key)
                .or_default()
                .push(p.pattern(p.facet_cells[f][0] as usize).to_vec());
        }
        // The shard's locate finds its own cells at their interior points.
        for i in 0..p.n_cells {
            let d = p.dim();
            assert_eq!(p.locate(&p.interior_points[i * d..(i + 1) * d]), i as i64);
        }
    }
    assert_eq!(seen, whole.n_cells, "the shards do not hold every cell exactly once");
    for (key, sides) in cut {
        assert_eq!(sides.len(), 2, "cut facet {key:x} seen from {} sides", sides.len());
        let (a, b) = (sides[0].clone(), sides[1].clone());
        adjacent.insert(if a < b { (a, b) } else { (b, a) });
    }
    assert_eq!(adjacent, adjacent_patterns(&whole));
    empty
}

#[test]
fn arrangement_shards_make_the_whole_partition() {
    for (d, m) in [(1, 6), (2, 12), (3, 9)] {
        for seed in 0..4 {
            let (w, c) = random_arrangement(m, d, seed);
            let a = mlgeom_core::Arrangement::new(&w, &c, &vec![0.0; d], &vec![1.0; d]).unwrap();
            check_shards(&a, &[0, 1, 2]);
        }
    }
}

#[test]
fn degenerate_arrangement_and_empty_shards() {
    // Lines through one point, a coincident (flipped) copy, one outside the box, one on a box face.
    let w = [1.0, 1.0, 1.0, -1.0, 0.0, 1.0, -2.0, -2.0, 1.0, 0.0, 0.0, 1.0];
    let c = [-1.0, 0.0, -0.5, 2.0, -3.0, 0.0];
    let a = mlgeom_core::Arrangement::new(&w, &c, &[0.0; 2], &[1.0; 2]).unwrap();
    // Bits 0 and 3 are one flipped coincidence class: their equal-valued shards are empty, as are
    // the shards where the line outside the box (bit 4) is positive.
    let empty = check_shards(&a, &[0, 3, 4]);
    assert_eq!(empty, 6);
    check_shards(&a, &[1, 2, 5]);
}

/// Weights uniform in [-1, 1], biases in [-0.25, 0.25].
fn random_layer(next: &mut impl FnMut() -> f64, n_in: usize, n_out: usize) -> Dense {
    Dense {
        weight: (0..n_in * n_out).map(|_| 2.0 * next() - 1.0).collect(),
        bias: (0..n_out).map(|_| 0.5 * next() - 0.25).collect(),
        n_in,
        n_out,
    }
}

#[test]
fn relu_shards_make_the_whole_partition() {
    let mut next = uniform(7);
    let mut layer = |n_in: usize, n_out: usize| random_layer(&mut next, n_in, n_out);
    let hidden = vec![layer(2, 6), layer(6, 5)];
    let output = layer(5, 1);
    let net = ReluNet::new(hidden, Some(output), &[-1.0; 2], &[1.0; 2]).unwrap();
    check_shards(&net, &[0, 1]);
    check_shards(&net, &[2, 4, 5]);
}

#[test]
fn shards_of_a_box_far_from_the_origin_make_the_whole_partition() {
    // The same random arrangement and net moved to [1e8, 1e8 + 1]^2 (offsets rounded): shards refine in the box's
    // local coordinates like the whole partition (src/centred.rs), and locate moves its queries the same way.
    let t = 1e8;
    let (w, c) = random_arrangement(12, 2, 3);
    let moved: Vec<f64> = c
        .iter()
        .enumerate()
        .map(|(j, &b)| b - (w[2 * j] + w[2 * j + 1]) * t)
        .collect();
    let a = mlgeom_core::Arrangement::new(&w, &moved, &[t; 2], &[t + 1.0; 2]).unwrap();
    check_shards(&a, &[0, 3, 7]);
    let mut next = uniform(8);
    let mut layer = |n_in: usize, n_out: usize| random_layer(&mut next, n_in, n_out);
    let mut first = layer(2, 6);
    for k in 0..6 {
        first.bias[k] -= (first.weight[2 * k] + first.weight[2 * k + 1]) * (t + 0.5);
    }
    let net = ReluNet::new(vec![first, layer(6, 5)], None, &[t; 2], &[t + 1.0; 2]).unwrap();
    check_shards(&net, &[0, 1, 2]);
}

#[test]
fn a_shard_bit_out_of_range_is_invalid_input() {
    let a = mlgeom_core::Arrangement::new(&[1.0, 0.0], &[-0.5], &[0.0; 2], &[1.0; 2]).unwrap();
    let opts = PartitionOptions {
        refine: RefineOptions {
            shard: Some(&[(3, true)]),
            ..RefineOptions::default()
        },
        ..PartitionOptions::default()
    };
    assert!(matches!(
        Partition::new(&a, opts),
        Err(mlgeom_core::GeomError::InvalidInput(_))
    ));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Any arrangement, any sharding bits: the shards hold exactly the cells of the whole partition, and
    /// their cut facets pair up into exactly its facets across the shard boundaries.
    #[test]
    fn any_sharding_bits_make_the_whole_partition(
        d in 1usize..4,
        m in 1usize..9,
        seed in 0u64..1000,
        bits in proptest::collection::btree_set(0usize..8, 1..4),
    ) {
        let (w, c) = random_arrangement(m, d, seed);
        let a = mlgeom_core::Arrangement::new(&w, &c, &vec![0.0; d], &vec![1.0; d]).unwrap();
        let bits: Vec<usize> = bits.into_iter().filter(|&j| j < m).collect();
        check_shards(&a, if bits.is_empty() { &[0] } else { &bits });
    }
}
