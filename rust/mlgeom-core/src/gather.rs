//! Parallel copies for assembling a partition: concatenating per-subtree buffers and gathering rows
//! (fixed-width or CSR) into a new order. Each output slot is written by exactly one copy, so the result
//! is the sequential concatenation / gather bit for bit, whatever the thread count.

use rayon::prelude::*;

/// Splits `out` into consecutive mutable pieces of the given lengths (which must sum to `out.len()`).
fn split_by_lengths<T>(mut out: &mut [T], lengths: impl Iterator<Item = usize>) -> Vec<&mut [T]> {
    let mut pieces = Vec::with_capacity(lengths.size_hint().0);
    for len in lengths {
        let (piece, rest) = out.split_at_mut(len);
        pieces.push(piece);
        out = rest;
    }
    pieces
}

/// The parts concatenated in order (`parts[0] ++ parts[1] ++ …`), copied in parallel. Each part is freed
/// once copied, so at most the result and the parts coexist, never two copies of the result.
pub fn concat<T: Copy + Default + Send + Sync>(parts: Vec<Vec<T>>) -> Vec<T> {
    let total = parts.iter().map(Vec::len).sum();
    let mut out = vec![T::default(); total];
    let pieces = split_by_lengths(&mut out, parts.iter().map(Vec::len));
    pieces
        .into_par_iter()
        .zip(parts.into_par_iter())
        .for_each(|(dst, src)| dst.copy_from_slice(&src));
    out
}

/// CSR start arrays (each `[0, …, len_i]`) joined into one over the concatenated rows: part i's entries
/// after its leading 0, shifted by the rows of the parts before it.
pub fn concat_starts(parts: Vec<Vec<usize>>) -> Vec<usize> {
    let mut base = 0;
    let mut shifted = Vec::with_capacity(parts.len() + 1);
    shifted.push(vec![0]);
    for part in parts {
        let last = *part.last().expect("a CSR start array begins with 0");
        shifted.push(part[1..].iter().map(|v| v + base).collect());
        base += last;
    }
    concat(shifted)
}

/// Rows `order[0], order[1], …` of `src` (`width` values each), copied in parallel.
pub fn gather_rows<T: Copy + Default + Send + Sync>(src: &[T], width: usize, order: &[usize]) -> Vec<T> {
    let mut out = vec![T::default(); order.len() * width];
    if width > 0 {
        out.par_chunks_mut(width)
            .zip(order.par_iter())
            .for_each(|(dst, &r)| dst.copy_from_slice(&src[r * width..(r + 1) * width]));
    }
    out
}

/// The new start array of CSR groups taken in `order`: `[0, n_{order[0]}, n_{order[0]} + n_{order[1]}, …]`
/// with `n_g = start[g + 1] − start[g]`.
pub fn reordered_starts(start: &[usize], order: &[usize]) -> Vec<usize> {
    let mut out = Vec::with_capacity(order.len() + 1);
    out.push(0);
    let mut at = 0;
    for &g in order {
        at += start[g + 1] - start[g];
        out.push(at);
    }
    out
}

/// The rows of CSR groups taken in `order` (group g: rows `start[g]..start[g + 1]` of `src`, `width` values
/// each), copied in parallel; `new_start` is [`reordered_starts`]`(start, order)`. `map(i, at, value)`
/// rewrites each copied value (`i`: its group's position in `order`, `at`: its index in `src`).
pub fn gather_groups<T, U>(
    src: &[T],
    width: usize,
    start: &[usize],
    order: &[usize],
    new_start: &[usize],
    map: impl Fn(usize, usize, &T) -> U + Sync,
) -> Vec<U>
where
    T: Sync,
    U: Copy + Default + Send + Sync,
{
    let mut out = vec![U::default(); new_start.last().map_or(0, |&n| n * width)];
    let pieces = split_by_lengths(&mut out, new_start.windows(2).map(|w| (w[1] - w[0]) * width));
    pieces
        .into_par_iter()
        .zip(order.par_iter())
        .enumerate()
        .for_each(|(i, (dst, &g))| {
            let first = start[g] * width;
            let rows = &src[first..start[g + 1] * width];
            dst.iter_mut()
                .zip(rows)
                .enumerate()
                .for_each(|(k, (d, s))| *d = map(i, first + k, s));
        });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concat_and_starts_match_the_sequential_join() {
        let parts = vec![vec![1, 2], vec![], vec![3, 4, 5]];
        assert_eq!(concat(parts.clone()), parts.concat());
        assert_eq!(
            concat_starts(vec![vec![0, 2], vec![0], vec![0, 1, 3]]),
            vec![0, 2, 3, 5]
        );
    }

    #[test]
    fn gathers_match_the_sequential_gather() {
        let src = [10, 11, 20, 21, 30, 31];
        assert_eq!(gather_rows(&src, 2, &[2, 0]), vec![30, 31, 10, 11]);
        assert!(gather_rows(&src, 0, &[2, 0]).is_empty());
        // Groups: g0 = rows 0..1, g1 = rows 1..3 (width 2).
        let start = [0, 1, 3];
        let order = [1, 0];
        let new_start = reordered_starts(&start, &order);
        assert_eq!(new_start, vec![0, 2, 3]);
        let out = gather_groups(&src, 2, &start, &order, &new_start, |i, at, &v| v * 100 + 10 * i + at);
        assert_eq!(out, vec![2002, 2103, 3004, 3105, 1010, 1111]);
    }

    proptest::proptest! {
        /// Random CSR groups in a random order, on pools of 1 and 3 threads: the parallel join and gathers
        /// give exactly the sequential ones.
        #[test]
        fn parallel_gathers_are_the_sequential_ones(
            sizes in proptest::collection::vec(0usize..5, 0..40),
            width in 1usize..4,
            seed in 0u64..1000,
        ) {
            let start: Vec<usize> = std::iter::once(0).chain(sizes.iter().scan(0, |at, n| { *at += n; Some(*at) })).collect();
            let rows = *start.last().unwrap();
            let src: Vec<u64> = (0..(rows * width) as u64).map(|v| v * 7 + seed).collect();
            let mut order: Vec<usize> = (0..sizes.len()).collect();
            order.sort_by_key(|&g| (g as u64).wrapping_mul(seed | 1).rotate_left(17) ^ seed);
            let parts: Vec<Vec<u64>> = (0..sizes.len()).map(|g| src[start[g] * width..start[g + 1] * width].to_vec()).collect();
            let starts: Vec<Vec<usize>> = sizes.iter().map(|&n| vec![0, n]).collect();
            let expected_groups: Vec<u64> = order.iter().flat_map(|&g| parts[g].iter().map(|v| v + 1)).collect();
            let expected_rows: Vec<u64> = order
                .iter()
                .filter(|&&g| (g + 1) * width <= src.len())
                .flat_map(|&g| src[g * width..(g + 1) * width].iter().copied())
                .collect();
            let row_order: Vec<usize> = order.iter().copied().filter(|&g| (g + 1) * width <= src.len()).collect();
            for threads in [1, 3] {
                let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
                pool.install(|| {
                    assert_eq!(concat(parts.clone()), src);
                    assert_eq!(concat_starts(starts.clone()), start);
                    let new_start = reordered_starts(&start, &order);
                    assert_eq!(gather_groups(&src, width, &start, &order, &new_start, |_, _, &v| v + 1), expected_groups);
                    assert_eq!(gather_rows(&src, width, &row_order), expected_rows);
                });
            }
        }
    }
}
