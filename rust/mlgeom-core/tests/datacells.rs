//! Data cells agree with the exact partition in low dimension: the same cells, the same adjacency.

mod common;

use std::collections::HashSet;

use common::uniform;
use mlgeom_core::datacells::adjacency;
use mlgeom_core::{Dense, NO_CELL, Network, Partition, PartitionOptions, ReluNet};

fn random_layers(widths: &[usize], seed: u64) -> Vec<Dense> {
    let mut next = uniform(seed);
    widths
        .windows(2)
        .map(|w| Dense {
            weight: (0..w[0] * w[1])
                .map(|_| (2.0 * next() - 1.0) * 2.0 / (w[0] as f64).sqrt())
                .collect(),
            bias: (0..w[1]).map(|_| next() - 0.5).collect(),
            n_in: w[0],
            n_out: w[1],
        })
        .collect()
}

#[test]
fn data_cells_match_the_exact_partition() {
    for (widths, seed) in [(vec![2, 6, 5, 1], 1u64), (vec![3, 5, 4, 2], 2), (vec![2, 8, 1], 3)] {
        let d = widths[0];
        let mut layers = random_layers(&widths, seed);
        let output = layers.pop();
        let (lo, hi) = (vec![-1.0; d], vec![1.0; d]);
        let exact = Partition::new(
            &ReluNet::new(layers.clone(), output.clone(), &lo, &hi).unwrap(),
            PartitionOptions::default(),
        )
        .unwrap();
        let net = Network::new(layers, output, d).unwrap();
        let mut next = uniform(seed + 7);
        let points: Vec<f64> = (0..4000 * d).map(|_| 2.0 * next() - 1.0).collect();
        let dc = net.data_cells(&points).unwrap();
        // Every data cell is an exact cell containing data, with the same pattern.
        let mut exact_of = Vec::new();
        for i in 0..dc.n_cells() {
            let p = dc.representative[i];
            let cell = exact.locate(&points[p * d..(p + 1) * d]);
            assert_ne!(cell, NO_CELL);
            assert_eq!(exact.pattern(cell as usize), dc.pattern(i));
            exact_of.push(cell);
        }
        // Adjacency among data cells = exact adjacency restricted to them.
        let edges = adjacency(&net, &dc, &dc.representative_points(&points, d), &lo, &hi, 1e-9).unwrap();
        let found: HashSet<(i64, i64)> = edges
            .iter()
            .map(|e| {
                (
                    exact_of[e.cells.0].min(exact_of[e.cells.1]),
                    exact_of[e.cells.0].max(exact_of[e.cells.1]),
                )
            })
            .collect();
        // Each witness lies on the shared facet: the exact partition locates it in one of the two cells.
        for e in &edges {
            let c = exact.locate(&e.witness);
            assert!(c == exact_of[e.cells.0] || c == exact_of[e.cells.1]);
        }
        let present: HashSet<i64> = exact_of.iter().copied().collect();
        let expected: HashSet<(i64, i64)> = exact
            .facet_cells
            .iter()
            .filter(|c| c[1] != NO_CELL && present.contains(&c[0]) && present.contains(&c[1]))
            .map(|c| (c[0], c[1]))
            .collect();
        assert_eq!(found, expected, "widths {widths:?}");
        // The output map reproduces the exact partition's affine map.
        for i in 0..dc.n_cells() {
            let (jac, off) = net.output_map(dc.pattern(i));
            let c = exact_of[i] as usize;
            let map = &exact.payload[c * exact.payload_len..(c + 1) * exact.payload_len];
            let mine: Vec<f64> = jac.iter().chain(&off).copied().collect();
            for (a, b) in mine.iter().zip(map) {
                assert!((a - b).abs() < 1e-12);
            }
        }
    }
}
