//! Exact ReLU-network partitions: invariants, point location against the network's own pattern,
//! and the per-cell affine map against a forward pass.

mod common;

use common::{check_invariants, uniform};
use mlgeom_core::bits::pattern_bit;
use mlgeom_core::{Dense, Partition, PartitionOptions, ReluNet};

/// A random network on [−1, 1]^d: weights ~ U(−1, 1)/√fan_in, biases ~ U(−0.5, 0.5).
fn random_net(widths: &[usize], seed: u64) -> (Vec<Dense>, Dense) {
    let mut next = uniform(seed);
    let mut layers: Vec<Dense> = widths
        .windows(2)
        .map(|w| {
            let scale = 1.0 / (w[0] as f64).sqrt();
            Dense {
                weight: (0..w[0] * w[1]).map(|_| (2.0 * next() - 1.0) * 2.0 * scale).collect(),
                bias: (0..w[1]).map(|_| next() - 0.5).collect(),
                n_in: w[0],
                n_out: w[1],
            }
        })
        .collect();
    let output = layers.pop().expect("at least one layer");
    (layers, output)
}

/// (hidden activation pattern, network output) at x by a plain forward pass.
fn forward(hidden: &[Dense], output: &Dense, x: &[f64]) -> (Vec<bool>, Vec<f64>, f64) {
    let mut h = x.to_vec();
    let mut bits = Vec::new();
    let mut margin = f64::INFINITY;
    for layer in hidden.iter().chain([output]) {
        let z: Vec<f64> = (0..layer.n_out)
            .map(|k| {
                (0..layer.n_in)
                    .map(|i| layer.weight[k * layer.n_in + i] * h[i])
                    .sum::<f64>()
                    + layer.bias[k]
            })
            .collect();
        if std::ptr::eq(layer, output) {
            return (bits, z, margin);
        }
        margin = margin.min(z.iter().map(|v| v.abs()).fold(f64::INFINITY, f64::min));
        bits.extend(z.iter().map(|&v| v > 0.0));
        h = z.iter().map(|&v| v.max(0.0)).collect();
    }
    unreachable!()
}

#[test]
fn random_networks_are_exact() {
    for (d, widths, seed) in [
        (2, vec![2, 8, 8, 1], 1),
        (2, vec![2, 6, 6, 6, 2], 2),
        (3, vec![3, 8, 6, 1], 3),
        (4, vec![4, 6, 5, 2], 4),
    ] {
        let (hidden, output) = random_net(&widths, seed);
        let lo = vec![-1.0; d];
        let hi = vec![1.0; d];
        let net = ReluNet::new(hidden.clone(), Some(output.clone()), &lo, &hi).unwrap();
        let p = Partition::new(&net, PartitionOptions::default()).unwrap();
        check_invariants(&p);
        let n_out = output.n_out;
        let mut next = uniform(seed + 100);
        let mut checked = 0;
        for _ in 0..500 {
            let x: Vec<f64> = (0..d).map(|_| 2.0 * next() - 1.0).collect();
            let (bits, y, margin) = forward(&hidden, &output, &x);
            if margin < 1e-7 {
                continue;
            }
            let cell = p.locate(&x) as usize;
            let pattern: Vec<bool> = (0..bits.len()).map(|j| pattern_bit(p.pattern(cell), j)).collect();
            assert_eq!(pattern, bits, "d={d} x={x:?}");
            let map = &p.payload[cell * p.payload_len..(cell + 1) * p.payload_len];
            for o in 0..n_out {
                let value: f64 = (0..d).map(|k| map[o * d + k] * x[k]).sum::<f64>() + map[n_out * d + o];
                assert!((value - y[o]).abs() < 1e-9, "affine map {value} vs network {}", y[o]);
            }
            checked += 1;
        }
        assert!(checked > 400);
        // The same network by threads: identical.
        let opts = PartitionOptions {
            n_threads: Some(1),
            ..Default::default()
        };
        let q = Partition::new(&net, opts).unwrap();
        assert_eq!(q.patterns, p.patterns);
        assert_eq!(q.volumes, p.volumes);
    }
}

#[test]
fn one_hidden_layer_is_an_arrangement() {
    let (hidden, output) = random_net(&[3, 10, 1], 7);
    let lo = vec![-1.0; 3];
    let hi = vec![1.0; 3];
    let net = ReluNet::new(hidden.clone(), Some(output), &lo, &hi).unwrap();
    let p = Partition::new(&net, PartitionOptions::default()).unwrap();
    let a = Partition::from_hyperplanes(
        &hidden[0].weight,
        &hidden[0].bias,
        &lo,
        &hi,
        PartitionOptions::default(),
    )
    .unwrap();
    assert_eq!(p.patterns, a.patterns);
    for (x, y) in p.volumes.iter().zip(&a.volumes) {
        assert!((x - y).abs() < 1e-12);
    }
    assert_eq!(p.facet_cells, a.facet_cells);
}

#[test]
fn dead_and_coinciding_neurons() {
    // Layer 1: x, −x (the same plane, opposite sides), a neuron dead on the box (−x − 5) and one
    // always on (y + 5). Layer 2: ReLU(h1 + h2 − 0.5) folds at x = 0 and bends at |x| = 0.5.
    let hidden = vec![
        Dense {
            weight: vec![1.0, 0.0, -1.0, 0.0, -1.0, 0.0, 0.0, 1.0],
            bias: vec![0.0, 0.0, -5.0, 5.0],
            n_in: 2,
            n_out: 4,
        },
        Dense {
            weight: vec![1.0, 1.0, 0.0, 0.0],
            bias: vec![-0.5],
            n_in: 4,
            n_out: 1,
        },
    ];
    let net = ReluNet::new(hidden, None, &[-1.0, -1.0], &[1.0, 1.0]).unwrap();
    let p = Partition::new(&net, PartitionOptions::default()).unwrap();
    check_invariants(&p);
    // x < −0.5, −0.5 < x < 0, 0 < x < 0.5, x > 0.5.
    assert_eq!(p.n_cells, 4);
    let labels: Vec<String> = (0..p.n_cells)
        .map(|i| {
            (0..5)
                .map(|j| if pattern_bit(p.pattern(i), j) { '1' } else { '0' })
                .collect()
        })
        .collect();
    assert_eq!(labels, ["01010", "01011", "10010", "10011"]);
    for v in &p.volumes {
        assert!((v - 1.0).abs() < 1e-12);
    }
}
