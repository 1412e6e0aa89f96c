//! Times one refinement: `cargo run --release --example profile -- M D [THREADS]`.
use mlgeom_core::{Partition, PartitionOptions};

fn main() {
    let args: Vec<usize> = std::env::args().skip(1).map(|a| a.parse().expect("integer")).collect();
    let (m, d) = (args.first().copied().unwrap_or(60), args.get(1).copied().unwrap_or(3));
    let threads = args.get(2).copied();
    let mut state = 12345u64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let mut w = Vec::new();
    let mut c = Vec::new();
    for _ in 0..m {
        let n: Vec<f64> = (0..d).map(|_| next() * 2.0 - 1.0).collect();
        let p: Vec<f64> = (0..d).map(|_| 0.2 + 0.6 * next()).collect();
        c.push(-n.iter().zip(&p).map(|(a, b)| a * b).sum::<f64>());
        w.extend(n);
    }
    let opts = PartitionOptions {
        n_threads: threads,
        ..Default::default()
    };
    let t = std::time::Instant::now();
    let p = Partition::from_hyperplanes(&w, &c, &vec![0.0; d], &vec![1.0; d], opts).unwrap();
    let s = t.elapsed().as_secs_f64();
    println!(
        "m={m} d={d} cells={} facets={} ridges={} {:.3}s {:.0} cells/s",
        p.n_cells,
        p.facet_areas.len(),
        p.ridge_angles.len(),
        s,
        p.n_cells as f64 / s
    );
}
