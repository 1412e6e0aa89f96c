//! Bit sets: packed sign patterns of cells and small vertex sets of polytopes.

/// Number of `u64` words that hold `n` bits.
#[inline]
pub fn words_for(n: usize) -> usize {
    n.div_ceil(64)
}

/// Packed patterns store bit `j` in word `j / 64` at position `63 - j % 64`, so that comparing the
/// words as integers orders patterns lexicographically by their "0101…" strings.
#[inline]
pub fn set_pattern_bit(words: &mut [u64], j: usize, value: bool) {
    let mask = 1u64 << (63 - j % 64);
    if value {
        words[j / 64] |= mask;
    } else {
        words[j / 64] &= !mask;
    }
}

/// Reads bit `j` of a packed pattern.
#[inline]
pub fn pattern_bit(words: &[u64], j: usize) -> bool {
    words[j / 64] >> (63 - j % 64) & 1 == 1
}

/// Flat packed patterns (`rows × words`) as bytes in `np.packbits` order (big-endian bits), `ceil(n_bits / 8)`
/// bytes per row.
pub fn packed_bytes(patterns: &[u64], words: usize, n_bits: usize) -> Vec<u8> {
    let bytes = n_bits.div_ceil(8);
    let rows = patterns.len().checked_div(words).unwrap_or(0);
    let mut out = Vec::with_capacity(rows * bytes);
    for row in patterns.chunks_exact(words.max(1)).take(rows) {
        out.extend((0..bytes).map(|b| (row[b / 8] >> (56 - 8 * (b % 8))) as u8));
    }
    out
}

/// The inverse of [`packed_bytes`]: rows of `ceil(n_bits / 8)` bytes back to `words_for(n_bits)` words each.
pub fn words_from_bytes(bytes: &[u8], n_bits: usize) -> Vec<u64> {
    let (per_row, words) = (n_bits.div_ceil(8), words_for(n_bits));
    let rows = bytes.len().checked_div(per_row).unwrap_or(0);
    let mut out = vec![0u64; rows * words];
    for (r, row) in bytes.chunks_exact(per_row.max(1)).take(rows).enumerate() {
        for (b, &byte) in row.iter().enumerate() {
            out[r * words + b / 8] |= u64::from(byte) << (56 - 8 * (b % 8));
        }
    }
    out
}

/// A set of vertex indices of one polytope: inline for up to 128 vertices, on the heap beyond.
/// Sets that are combined must come from the same polytope (same capacity).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum VertexSet {
    Small(u128),
    Large(Vec<u64>),
}

impl VertexSet {
    pub fn empty(n: usize) -> Self {
        if n <= 128 {
            Self::Small(0)
        } else {
            Self::Large(vec![0; words_for(n)])
        }
    }

    pub fn full(n: usize) -> Self {
        let mut s = Self::empty(n);
        for i in 0..n {
            s.insert(i);
        }
        s
    }

    #[inline]
    pub fn insert(&mut self, i: usize) {
        match self {
            Self::Small(w) => *w |= 1 << i,
            Self::Large(v) => v[i / 64] |= 1 << (i % 64),
        }
    }

    #[inline]
    pub fn contains(&self, i: usize) -> bool {
        match self {
            Self::Small(w) => *w >> i & 1 == 1,
            Self::Large(v) => v[i / 64] >> (i % 64) & 1 == 1,
        }
    }

    pub fn len(&self) -> usize {
        match self {
            Self::Small(w) => w.count_ones() as usize,
            Self::Large(v) => v.iter().map(|w| w.count_ones() as usize).sum(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn intersection(&self, other: &Self) -> Self {
        match (self, other) {
            (Self::Small(a), Self::Small(b)) => Self::Small(a & b),
            (Self::Large(a), Self::Large(b)) => Self::Large(a.iter().zip(b).map(|(x, y)| x & y).collect()),
            _ => panic!("vertex sets of different polytopes"),
        }
    }

    pub fn is_subset(&self, other: &Self) -> bool {
        match (self, other) {
            (Self::Small(a), Self::Small(b)) => a & !b == 0,
            (Self::Large(a), Self::Large(b)) => a.iter().zip(b).all(|(x, y)| x & !y == 0),
            _ => panic!("vertex sets of different polytopes"),
        }
    }

    /// Indices in increasing order.
    pub fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        let words: Vec<u64> = match self {
            Self::Small(w) => vec![*w as u64, (*w >> 64) as u64],
            Self::Large(v) => v.clone(),
        };
        words.into_iter().enumerate().flat_map(|(k, mut w)| {
            std::iter::from_fn(move || {
                if w == 0 {
                    return None;
                }
                let t = w.trailing_zeros() as usize;
                w &= w - 1;
                Some(k * 64 + t)
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_round_trip_to_words() {
        for n_bits in [1, 7, 8, 9, 64, 65, 130] {
            let words = words_for(n_bits);
            let mut rows = vec![0u64; 3 * words];
            for (k, j) in (0..n_bits).filter(|j| j % 3 != 1).enumerate() {
                set_pattern_bit(&mut rows[(k % 3) * words..(k % 3 + 1) * words], j, true);
            }
            assert_eq!(words_from_bytes(&packed_bytes(&rows, words, n_bits), n_bits), rows);
        }
    }

    #[test]
    fn pattern_bits_order_lexicographically() {
        let mut a = vec![0u64; 2];
        let mut b = vec![0u64; 2];
        set_pattern_bit(&mut a, 1, true); // "01..."
        set_pattern_bit(&mut b, 0, true); // "10..."
        assert!(a < b);
        set_pattern_bit(&mut a, 70, true);
        assert!(pattern_bit(&a, 70) && !pattern_bit(&a, 69));
    }

    #[test]
    fn vertex_set_operations() {
        let mut s = VertexSet::empty(130);
        for i in [0, 5, 64, 129] {
            s.insert(i);
        }
        let t = VertexSet::full(130);
        assert_eq!(s.len(), 4);
        assert!(s.is_subset(&t) && !t.is_subset(&s));
        assert_eq!(s.iter().collect::<Vec<_>>(), vec![0, 5, 64, 129]);
        assert_eq!(s.intersection(&t), s);
    }
}
