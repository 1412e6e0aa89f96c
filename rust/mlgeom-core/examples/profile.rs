//! Times one partition: `cargo run --release --example profile -- arrangement M D [THREADS]` or
//! `... -- relu D WIDTH DEPTH [THREADS]` (random network on [−r, r]^D, r = `MLGEOM_RADIUS`, default 1: a
//! smaller box keeps a wide net's partition in memory). `MLGEOM_EXACT=1`: exact mode.
use mlgeom_core::{Dense, Partition, PartitionOptions, ReluNet};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let num = |i: usize, default: usize| args.get(i).map_or(default, |a| a.parse().expect("integer"));
    let mut state = 12345u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let kind = args.first().map_or("arrangement", String::as_str);
    // Lean mode (MLGEOM_LEAN=1): no ridges and no per-cell vertices, as for huge partitions.
    let lean = std::env::var("MLGEOM_LEAN").is_ok_and(|v| v == "1");
    let exact = std::env::var("MLGEOM_EXACT").is_ok_and(|v| v == "1");
    let refine = mlgeom_core::RefineOptions {
        ridges: !lean,
        vertices: !lean,
        max_cells: 50_000_000,
        ..Default::default()
    };
    let t = std::time::Instant::now();
    let p = if kind == "relu" {
        let (d, width, depth) = (num(1, 3), num(2, 32), num(3, 2));
        let opts = PartitionOptions {
            n_threads: args.get(4).map(|a| a.parse().expect("integer")),
            refine,
        };
        let mut n_in = d;
        let mut hidden = Vec::new();
        for _ in 0..depth {
            let scale = (3.0 / n_in as f64).sqrt();
            hidden.push(Dense {
                weight: (0..width * n_in).map(|_| (2.0 * next() - 1.0) * scale).collect(),
                bias: (0..width).map(|_| next() - 0.5).collect(),
                n_in,
                n_out: width,
            });
            n_in = width;
        }
        let r: f64 = std::env::var("MLGEOM_RADIUS").map_or(1.0, |v| v.parse().expect("a number"));
        let net = ReluNet::new(hidden, None, &vec![-r; d], &vec![r; d]).unwrap();
        let net = if exact { net.exact() } else { net };
        let p = Partition::new(&net, opts).unwrap();
        if exact {
            println!("pre-activation rows composed exactly: {}", net.exact_rows_composed());
        }
        p
    } else {
        let (m, d) = (num(1, 60), num(2, 3));
        let opts = PartitionOptions {
            n_threads: args.get(3).map(|a| a.parse().expect("integer")),
            refine,
        };
        let mut w = Vec::new();
        let mut c = Vec::new();
        for _ in 0..m {
            let n: Vec<f64> = (0..d).map(|_| next() * 2.0 - 1.0).collect();
            let p: Vec<f64> = (0..d).map(|_| 0.2 + 0.6 * next()).collect();
            c.push(-n.iter().zip(&p).map(|(a, b)| a * b).sum::<f64>());
            w.extend(n);
        }
        if exact {
            let arrangement = mlgeom_core::Arrangement::new_exact(&w, &c, &vec![0.0; d], &vec![1.0; d]).unwrap();
            Partition::new(&arrangement, opts).unwrap()
        } else {
            Partition::from_hyperplanes(&w, &c, &vec![0.0; d], &vec![1.0; d], opts).unwrap()
        }
    };
    let s = t.elapsed().as_secs_f64();
    println!(
        "{kind}{} d={} cells={} facets={} ridges={} {:.3}s {:.0} cells/s",
        if exact { " exact" } else { "" },
        p.dim(),
        p.n_cells,
        p.facet_areas.len(),
        p.ridge_angles.len(),
        s,
        p.n_cells as f64 / s
    );
}
