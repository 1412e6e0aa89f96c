//! Exact arithmetic on the input floats, for the certified predicates of exact mode (DESIGN §4, issue 9).
//!
//! Every finite f64 is a dyadic rational m·2^e, so a plane row (w, c) of floats is, up to a positive power of
//! two, a row of integers ([`exact_row`]). A vertex is the solution of A x + b = 0 for d linearly independent
//! planes of its incidence set; by Cramer's rule x_k = det(A_k) / det(A), with A_k the matrix A whose column k
//! is replaced by −b ([`ExactPoint::solve`]). The side of a plane (q, q₀) is then the sign of
//! q·num + q₀·den (den = |det A|), an integer. Determinants use Bareiss' fraction-free elimination
//! (Bareiss 1968), whose divisions are exact.
//!
//! The float filter ([`verified_error`], [`certified_sign`]) decides most predicates without big integers:
//! a vertex computed in f64 carries a rigorous bound on its distance to the true vertex (Rump's verification
//! of linear systems: with R ≈ A⁻¹ and ‖I − R A‖ ≤ α < 1, ‖x̃ − x‖ ≤ ‖|R| |A x̃ + b|‖ / (1 − α); Rump 1983,
//! Oishi & Rump 2002), and a dot product carries Higham's bound γₙ Σ|terms| on its rounding error (Higham,
//! *Accuracy and Stability of Numerical Algorithms*, §3.1).

use num_bigint::BigInt;
use num_integer::Integer;
use num_traits::{Signed, Zero};

/// `out` = an integer row proportional to `coeffs` by a positive power of two (exactly).
pub fn exact_row(coeffs: &[f64]) -> Vec<BigInt> {
    let parts: Vec<(u64, i16, i8)> = coeffs.iter().map(|&v| decode(v)).collect();
    let min_exp = parts.iter().filter(|p| p.0 != 0).map(|p| p.1).min().unwrap_or(0);
    parts
        .iter()
        .map(|&(m, e, s)| {
            let v = BigInt::from(m) << ((e - min_exp) as usize);
            if s < 0 { -v } else { v }
        })
        .collect()
}

/// (mantissa, exponent, sign) with v = sign · mantissa · 2^exponent, for a finite v.
fn decode(v: f64) -> (u64, i16, i8) {
    debug_assert!(v.is_finite());
    let bits = v.to_bits();
    let sign: i8 = if bits >> 63 == 0 { 1 } else { -1 };
    let exponent = ((bits >> 52) & 0x7ff) as i16;
    let mantissa = if exponent == 0 {
        (bits & 0xf_ffff_ffff_ffff) << 1
    } else {
        (bits & 0xf_ffff_ffff_ffff) | 0x10_0000_0000_0000
    };
    if mantissa == 0 {
        return (0, 0, sign);
    }
    // Odd mantissa: the smallest integers for the row.
    let tz = mantissa.trailing_zeros();
    (mantissa >> tz, exponent - (1023 + 52) + tz as i16, sign)
}

/// A matrix of dyadic rationals stored exactly: `2^exp · ints` (row-major, `cols` columns).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DyadicMatrix {
    pub ints: Vec<BigInt>,
    pub exp: i64,
    pub cols: usize,
}

impl DyadicMatrix {
    /// The floats `values` (row-major, `cols` columns) exactly.
    pub fn from_f64(values: &[f64], cols: usize) -> Self {
        let parts: Vec<(u64, i16, i8)> = values.iter().map(|&v| decode(v)).collect();
        let exp = parts.iter().filter(|p| p.0 != 0).map(|p| p.1).min().unwrap_or(0);
        let ints = parts
            .iter()
            .map(|&(m, e, s)| {
                let v = BigInt::from(m) << ((e - exp) as usize);
                if s < 0 { -v } else { v }
            })
            .collect();
        Self {
            ints,
            exp: i64::from(exp),
            cols,
        }
    }

    /// The same matrix with exponent `exp` (≤ the current one).
    fn with_exp(&self, exp: i64) -> Vec<BigInt> {
        let shift = (self.exp - exp) as usize;
        self.ints.iter().map(|v| v << shift).collect()
    }

    pub fn rows(&self) -> usize {
        self.ints.len().checked_div(self.cols).unwrap_or(0)
    }

    /// The rows `rows` as a matrix.
    pub fn rows_of(&self, rows: std::ops::Range<usize>) -> DyadicMatrix {
        DyadicMatrix {
            ints: self.ints[rows.start * self.cols..rows.end * self.cols].to_vec(),
            exp: self.exp,
            cols: self.cols,
        }
    }

    /// `self · other` exactly.
    pub fn mul(&self, other: &DyadicMatrix) -> DyadicMatrix {
        self.mul_masked(other, &vec![true; self.cols])
    }

    /// `self · diag(keep) · other` exactly: the rows t of `other` with `keep[t]` false count as zero (a ReLU
    /// layer's inactive neurons).
    pub fn mul_masked(&self, other: &DyadicMatrix, keep: &[bool]) -> DyadicMatrix {
        let (n, k, m) = (self.rows(), self.cols, other.cols);
        debug_assert!(k == other.rows() && k == keep.len());
        let mut ints = vec![BigInt::zero(); n * m];
        for i in 0..n {
            for t in (0..k).filter(|&t| keep[t]) {
                let a = &self.ints[i * k + t];
                if a.is_zero() {
                    continue;
                }
                for j in 0..m {
                    let b = &other.ints[t * m + j];
                    if !b.is_zero() {
                        ints[i * m + j] += a * b;
                    }
                }
            }
        }
        DyadicMatrix {
            ints,
            exp: self.exp + other.exp,
            cols: m,
        }
    }

    /// `self + other` exactly (same shape).
    pub fn add(&self, other: &DyadicMatrix) -> DyadicMatrix {
        let exp = self.exp.min(other.exp);
        let (a, b) = (self.with_exp(exp), other.with_exp(exp));
        DyadicMatrix {
            ints: a.into_iter().zip(b).map(|(x, y)| x + y).collect(),
            exp,
            cols: self.cols,
        }
    }

    /// Entry (i, j) rounded to f64 (relative error below 2⁻⁵²).
    pub fn to_f64(&self, i: usize, j: usize) -> f64 {
        let v = &self.ints[i * self.cols + j];
        let drop = v.bits().saturating_sub(64);
        let top = num_traits::ToPrimitive::to_f64(&(v >> drop)).unwrap_or(f64::NAN);
        scale2(top, self.exp + drop as i64)
    }
}

/// The determinant of a square integer matrix (rows), by Bareiss' fraction-free elimination with row pivoting.
pub fn determinant(mut m: Vec<Vec<BigInt>>) -> BigInt {
    let n = m.len();
    let mut negate = false;
    let mut prev = BigInt::from(1);
    for k in 0..n {
        let Some(p) = (k..n).find(|&i| !m[i][k].is_zero()) else {
            return BigInt::zero();
        };
        if p != k {
            m.swap(p, k);
            negate = !negate;
        }
        for i in k + 1..n {
            for j in k + 1..n {
                let v = &m[i][j] * &m[k][k] - &m[i][k] * &m[k][j];
                m[i][j] = v / &prev;
            }
        }
        prev = m[k][k].clone();
    }
    let det = if n == 0 { prev } else { m[n - 1][n - 1].clone() };
    if negate { -det } else { det }
}

/// A point with rational coordinates num / den (den > 0).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExactPoint {
    pub num: Vec<BigInt>,
    pub den: BigInt,
}

impl ExactPoint {
    /// The intersection of the planes `rows` (each a·x + a₀ = 0 as d + 1 integers; d rows), or `None` if
    /// their normals are linearly dependent.
    pub fn solve(rows: &[&[BigInt]]) -> Option<Self> {
        let d = rows.len();
        let normals = |replace: Option<usize>| -> Vec<Vec<BigInt>> {
            rows.iter()
                .map(|r| {
                    (0..d)
                        .map(|k| if Some(k) == replace { -&r[d] } else { r[k].clone() })
                        .collect()
                })
                .collect()
        };
        let mut den = determinant(normals(None));
        if den.is_zero() {
            return None;
        }
        let mut num: Vec<BigInt> = (0..d).map(|k| determinant(normals(Some(k)))).collect();
        if den.is_negative() {
            den = -den;
            num.iter_mut().for_each(|v| *v = -&*v);
        }
        Some(Self { num, den })
    }

    /// The sign (−1, 0, 1) of a·x + a₀ at this point, for the integer row (a, a₀).
    pub fn sign_of(&self, row: &[BigInt]) -> i8 {
        let d = self.num.len();
        let mut s = &row[d] * &self.den;
        for k in 0..d {
            s += &row[k] * &self.num[k];
        }
        match s.sign() {
            num_bigint::Sign::Minus => -1,
            num_bigint::Sign::NoSign => 0,
            num_bigint::Sign::Plus => 1,
        }
    }

    /// The coordinates rounded to f64 (each within a few units in the last place).
    pub fn to_f64(&self) -> Vec<f64> {
        self.num.iter().map(|n| ratio_to_f64(n, &self.den)).collect()
    }
}

/// n / d (d > 0) as a float, with relative error below 2⁻⁵⁰.
fn ratio_to_f64(n: &BigInt, d: &BigInt) -> f64 {
    if n.is_zero() {
        return 0.0;
    }
    // Shift so that the quotient has 64 significant bits, then scale back.
    let shift = 64 + d.bits() as i64 - n.bits() as i64;
    let q = if shift >= 0 {
        (n << shift as usize) / d
    } else {
        n / (d << (-shift) as usize)
    };
    let q = num_traits::ToPrimitive::to_f64(&q).unwrap_or(f64::NAN);
    scale2(q, -shift)
}

/// x · 2^e without spurious overflow or underflow in between (x has a normal exponent).
fn scale2(mut x: f64, mut e: i64) -> f64 {
    while e > 600 && x.is_finite() {
        x *= 2f64.powi(600);
        e -= 600;
    }
    while e < -600 && x != 0.0 {
        x *= 2f64.powi(-600);
        e += 600;
    }
    x * 2f64.powi(e as i32)
}

/// Indices of `d` rows of `rows` (integer rows of d + 1 entries) whose normals are linearly independent,
/// chosen greedily in order; `None` if the normals have rank below d. Exact (fraction-free row reduction).
pub fn independent_rows(rows: &[&[BigInt]], d: usize) -> Option<Vec<usize>> {
    let mut reduced: Vec<(Vec<BigInt>, usize)> = Vec::with_capacity(d);
    let mut chosen = Vec::with_capacity(d);
    for (i, row) in rows.iter().enumerate() {
        let mut r: Vec<BigInt> = row[..d].to_vec();
        for (b, col) in &reduced {
            if r[*col].is_zero() {
                continue;
            }
            let (f, g) = (b[*col].clone(), r[*col].clone());
            for k in 0..d {
                r[k] = &r[k] * &f - &b[k] * &g;
            }
            let gcd = r.iter().fold(BigInt::zero(), |a, v| a.gcd(v));
            if gcd > BigInt::from(1) {
                r.iter_mut().for_each(|v| *v /= &gcd);
            }
        }
        if let Some(col) = r.iter().position(|v| !v.is_zero()) {
            reduced.push((r, col));
            chosen.push(i);
            if chosen.len() == d {
                return Some(chosen);
            }
        }
    }
    None
}

/// Higham's γ for sums of `n` products, doubled for safety: a bound on the relative rounding error of a
/// float dot product of length n − 1 plus an offset.
pub(crate) fn gamma(n: usize) -> f64 {
    let nu = 2.0 * n as f64 * f64::EPSILON;
    nu / (1.0 - nu)
}

/// Absolute slack for underflow in sums of products (each product may lose up to the smallest subnormal).
pub(crate) const UNDERFLOW: f64 = 1e-300;

/// A rigorous bound on how far a plane row of floats lies from the exact row it stands for: each normal
/// coefficient within `normal`, the offset within `offset`. Zero for rows given as input, and for rows
/// rounded correctly from exact ones (the filters' γ, doubled, covers one rounding per coefficient).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct RowError {
    pub normal: f64,
    pub offset: f64,
}

/// The sign of a·x + a₀ at the exact vertex within ‖·‖∞-distance `err` of `x`, if the float evaluation
/// certifies it; `None` if the float value lies within its error bound. Also returns the float value.
/// (ã, ã₀) = (`normal`, `offset`) is within `row_err` of the exact (a, a₀), so on top of Higham's bound
/// γ Σ|terms| and ‖ã‖₁·err the value is off by at most e_n (‖x‖₁ + d·err) + e₀.
#[inline]
pub fn certified_sign(normal: &[f64], offset: f64, row_err: RowError, x: &[f64], err: f64) -> (Option<i8>, f64) {
    let mut s = offset;
    let mut mag = offset.abs();
    let mut l1 = 0.0;
    let mut x1 = 0.0;
    for (a, v) in normal.iter().zip(x) {
        let p = a * v;
        s += p;
        mag += p.abs();
        l1 += a.abs();
        x1 += v.abs();
    }
    let g = gamma(normal.len() + 2);
    let coefficients = row_err.normal * (x1 + normal.len() as f64 * err) + row_err.offset;
    let bound = (g * mag + l1 * err + coefficients + UNDERFLOW) * (1.0 + g);
    if !s.is_finite() || !bound.is_finite() {
        return (None, s);
    }
    let sign = if s > bound {
        Some(1)
    } else if s < -bound {
        Some(-1)
    } else {
        None
    };
    (sign, s)
}

/// Indices of `d` rows (each d normal coefficients then the offset) whose normals are best conditioned,
/// chosen greedily by modified Gram–Schmidt on the unit normals; `None` if they look dependent in f64.
pub fn float_basis(rows: &[&[f64]], d: usize) -> Option<Vec<usize>> {
    let mut residual: Vec<Vec<f64>> = rows
        .iter()
        .map(|r| {
            let scale = r[..d].iter().fold(0.0f64, |a, v| a.max(v.abs()));
            if !(scale > 0.0 && scale.is_finite()) {
                return vec![0.0; d]; // a zero normal (a neuron ≡ 0 on the cell) is never a basis row
            }
            let n = r[..d].iter().map(|v| (v / scale).powi(2)).sum::<f64>().sqrt();
            r[..d].iter().map(|v| v / scale / n).collect()
        })
        .collect();
    let mut chosen = Vec::with_capacity(d);
    for _ in 0..d {
        let norm2 = |v: &Vec<f64>| v.iter().map(|a| a * a).sum::<f64>();
        let (best, len2) = residual
            .iter()
            .enumerate()
            .filter(|(i, _)| !chosen.contains(i))
            .map(|(i, v)| (i, norm2(v)))
            .max_by(|a, b| a.1.total_cmp(&b.1))?;
        if len2.is_nan() || len2 <= 1e-24 {
            return None;
        }
        chosen.push(best);
        let q: Vec<f64> = residual[best].iter().map(|v| v / len2.sqrt()).collect();
        for v in residual.iter_mut() {
            let dot: f64 = v.iter().zip(&q).map(|(a, b)| a * b).sum();
            v.iter_mut().zip(&q).for_each(|(a, b)| *a -= dot * b);
        }
    }
    Some(chosen)
}

/// Refines `x` towards the intersection of the d planes `rows` (normal, offset; float coefficients within
/// `errs` of the exact ones) by one Newton step, and returns a rigorous bound on ‖x − x*‖∞ for the true
/// intersection x* (Rump's verification; see the module doc). With the exact system A* x + b* = 0 within
/// E = (e_n), e₀ of the float one (Ã, b̃): ‖I − R A*‖ ≤ ‖I − R Ã‖ + ‖|R| d·e_n‖ and
/// |A* x + b*| ≤ |Ã x + b̃| + e_n ‖x‖₁ + e₀ row by row. Returns that bound and the one for the float rows
/// taken as exact (the float solve's own error, which measures the conditioning); `f64::INFINITY` when the
/// system is too ill-conditioned to certify.
pub fn verified_error(rows: &[&[f64]], errs: &[RowError], x: &mut [f64]) -> (f64, f64) {
    let d = x.len();
    let Some(r) = inverse(rows, d) else {
        return (f64::INFINITY, f64::INFINITY);
    };
    let residual = |x: &[f64]| -> Vec<f64> {
        rows.iter()
            .map(|row| row[..d].iter().zip(x).map(|(a, v)| a * v).sum::<f64>() + row[d])
            .collect()
    };
    let res = residual(x);
    let step: Vec<f64> = (0..d)
        .map(|i| (0..d).map(|j| r[i * d + j] * res[j]).sum::<f64>())
        .collect();
    if step.iter().all(|v| v.is_finite()) {
        x.iter_mut().zip(&step).for_each(|(a, s)| *a -= s);
    }
    let g = gamma(d + 2);
    // α ≥ ‖I − R A‖∞ including the rounding of its evaluation.
    let mut alpha: f64 = 0.0;
    let mut alpha_rows: f64 = 0.0;
    for i in 0..d {
        let mut row_sum = 0.0;
        let mut perturbation = 0.0;
        for j in 0..d {
            perturbation += r[i * d + j].abs() * d as f64 * errs[j].normal;
            let mut c = if i == j { -1.0 } else { 0.0 };
            let mut mag = if i == j { 1.0 } else { 0.0 };
            for k in 0..d {
                let p = r[i * d + k] * rows[k][j];
                c += p;
                mag += p.abs();
            }
            row_sum += c.abs() + g * mag;
        }
        alpha = alpha.max(row_sum + perturbation);
        alpha_rows = alpha_rows.max(row_sum);
    }
    alpha *= 1.0 + g;
    alpha_rows *= 1.0 + g;
    let res = residual(x);
    let x1: f64 = x.iter().map(|v| v.abs()).sum();
    // Per row: a bound on |A* x + b*| (with the coefficients' error) and on |Ã x + b̃| (without).
    let (res_full, res_rows): (Vec<f64>, Vec<f64>) = rows
        .iter()
        .zip(&res)
        .zip(errs)
        .map(|((row, ri), e)| {
            let mag = row[..d].iter().zip(x.iter()).map(|(a, v)| (a * v).abs()).sum::<f64>() + row[d].abs();
            let rounding = ri.abs() + g * mag + UNDERFLOW;
            (rounding + e.normal * x1 + e.offset, rounding)
        })
        .unzip();
    // ‖x − x*‖∞ ≤ ‖|R| |res|‖∞ / (1 − α), componentwise: rows of very different scales (box faces next to a
    // composed plane with coefficients ~1e5) do not inflate each other's share.
    let bound = |alpha: f64, res: &[f64]| {
        let r_res = (0..d)
            .map(|i| (0..d).map(|j| r[i * d + j].abs() * res[j]).sum::<f64>())
            .fold(0.0f64, f64::max);
        let b = r_res / (1.0 - alpha) * (1.0 + 4.0 * g);
        if alpha.is_nan() || alpha >= 0.5 || !b.is_finite() {
            f64::INFINITY
        } else {
            b
        }
    };
    (bound(alpha, &res_full), bound(alpha_rows, &res_rows))
}

/// The inverse of the d × d matrix of the rows' normals (row-major), by Gauss–Jordan with partial pivoting.
fn inverse(rows: &[&[f64]], d: usize) -> Option<Vec<f64>> {
    let w = 2 * d;
    let mut m = vec![0.0; d * w];
    for i in 0..d {
        m[i * w..i * w + d].copy_from_slice(&rows[i][..d]);
        m[i * w + d + i] = 1.0;
    }
    for k in 0..d {
        let p = (k..d).max_by(|&a, &b| m[a * w + k].abs().total_cmp(&m[b * w + k].abs()))?;
        if m[p * w + k] == 0.0 || !m[p * w + k].is_finite() {
            return None;
        }
        if p != k {
            for j in 0..w {
                m.swap(k * w + j, p * w + j);
            }
        }
        let piv = m[k * w + k];
        for j in 0..w {
            m[k * w + j] /= piv;
        }
        for i in 0..d {
            if i != k {
                let f = m[i * w + k];
                if f != 0.0 {
                    for j in 0..w {
                        m[i * w + j] -= f * m[k * w + j];
                    }
                }
            }
        }
    }
    let inv: Vec<f64> = (0..d).flat_map(|i| m[i * w + d..i * w + w].to_vec()).collect();
    inv.iter().all(|v| v.is_finite()).then_some(inv)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ints(v: &[i64]) -> Vec<BigInt> {
        v.iter().map(|&x| BigInt::from(x)).collect()
    }

    #[test]
    fn rows_of_floats_become_integers_exactly() {
        assert_eq!(exact_row(&[0.5, -0.25, 3.0]), ints(&[2, -1, 12]));
        assert_eq!(exact_row(&[0.0, 1.0]), ints(&[0, 1]));
        // 0.1 is 3602879701896397 · 2^-55
        let r = exact_row(&[0.1, 1.0]);
        assert_eq!(r[0], BigInt::from(3602879701896397u64));
        assert_eq!(r[1], BigInt::from(1u64) << 55);
        let tiny = exact_row(&[f64::from_bits(1), 1.0]);
        assert_eq!(tiny[0], BigInt::from(1));
        assert_eq!(tiny[1], BigInt::from(1u64) << 1074); // the smallest subnormal is 2^-1074
        let row = exact_row(&[-1.5e300, 2.0f64.powi(-1000), 0.0]);
        assert_eq!(&row[0] % (BigInt::from(1u64) << 1900), BigInt::zero());
        assert!(row[0].is_negative() && row[2].is_zero());
    }

    #[test]
    fn bareiss_matches_hand_computed_determinants() {
        let m = |rows: &[&[i64]]| rows.iter().map(|r| ints(r)).collect::<Vec<_>>();
        assert_eq!(determinant(m(&[&[2, 3], &[1, 4]])), BigInt::from(5));
        // needs a row swap: det [[0,1,2],[3,4,5],[6,7,9]] = 0·(36−35) − 1·(27−30) + 2·(21−24) = −3
        assert_eq!(determinant(m(&[&[0, 1, 2], &[3, 4, 5], &[6, 7, 9]])), BigInt::from(-3));
        assert_eq!(determinant(m(&[&[1, 2], &[2, 4]])), BigInt::zero());
        assert_eq!(determinant(Vec::new()), BigInt::from(1));
    }

    #[test]
    fn exact_point_and_sides() {
        // x − 1/3 = 0 (as 3x − 1) and y − x = 0 meet at (1/3, 1/3).
        let a = ints(&[3, 0, -1]);
        let b = ints(&[-1, 1, 0]);
        let p = ExactPoint::solve(&[&a, &b]).unwrap();
        assert_eq!(p.num, ints(&[1, 1]));
        assert_eq!(p.den, BigInt::from(3));
        assert_eq!(p.sign_of(&ints(&[3, 3, -2])), 0); // x + y = 2/3 passes through it
        assert_eq!(p.sign_of(&ints(&[1, 1, -1])), -1);
        assert_eq!(p.to_f64(), vec![1.0 / 3.0, 1.0 / 3.0]);
        assert!(ExactPoint::solve(&[&a, &ints(&[6, 0, 5])]).is_none());
    }

    #[test]
    fn float_rounding_that_fools_f64_is_decided_exactly() {
        // 0.1 + 0.2 != 0.3 in floats: the plane x + y − 0.3 = 0 at the point (0.1, 0.2) is exactly
        // positive (fl(0.1) + fl(0.2) > fl(0.3)), which f64 alone cannot certify.
        let (sign, _) = certified_sign(&[1.0, 1.0], -0.3, RowError::default(), &[0.1, 0.2], 0.0);
        assert_eq!(sign, None);
        let p = ExactPoint::solve(&[&exact_row(&[1.0, 0.0, -0.1]), &exact_row(&[0.0, 1.0, -0.2])]).unwrap();
        assert_eq!(p.sign_of(&exact_row(&[1.0, 1.0, -0.3])), 1);
    }

    #[test]
    fn independent_rows_skip_dependent_ones() {
        let r = [ints(&[1, 1, 0]), ints(&[2, 2, 5]), ints(&[0, 1, 1])];
        let refs: Vec<&[BigInt]> = r.iter().map(|v| &v[..]).collect();
        assert_eq!(independent_rows(&refs, 2), Some(vec![0, 2]));
        assert_eq!(independent_rows(&refs[..2], 2), None);
    }

    #[test]
    fn verified_error_bounds_the_true_vertex() {
        // Lines at a small angle: x̃ from naive elimination is off; the bound must cover the true point.
        let a = [1.0, 1e-9, -0.5];
        let b = [1.0, -1e-9, -0.5 - 1e-12];
        let rows: [&[f64]; 2] = [&a, &b];
        let mut x = [0.4, 0.0];
        let (err, _) = verified_error(&rows, &[RowError::default(); 2], &mut x);
        let p = ExactPoint::solve(&[&exact_row(&a), &exact_row(&b)]).unwrap().to_f64();
        assert!(err.is_finite());
        for k in 0..2 {
            assert!((x[k] - p[k]).abs() <= err, "{x:?} {p:?} {err}");
        }
        // Parallel lines cannot be certified.
        let c = [1.0, 0.0, 0.0];
        let e = [2.0, 0.0, 1.0];
        assert_eq!(
            verified_error(&[&c, &e], &[RowError::default(); 2], &mut [0.0, 0.0]).0,
            f64::INFINITY
        );
    }

    fn system() -> impl proptest::strategy::Strategy<Value = (Vec<Vec<f64>>, Vec<f64>)> {
        use proptest::prelude::*;
        (2usize..=5).prop_flat_map(|d| {
            (
                prop::collection::vec(prop::collection::vec(-4.0f64..4.0, d + 1), d),
                prop::collection::vec(-4.0f64..4.0, d + 1),
            )
        })
    }

    proptest::proptest! {
        /// Rows known only within a bound (a ReLU layer composed in floats): the true rows are the float ones
        /// moved by up to `e` per coefficient; the verified error and the certified sign must cover them.
        #[test]
        fn coefficient_errors_are_covered(
            (rows, q) in system(),
            shifts in proptest::collection::vec(-1.0f64..1.0, 36),
            scale in -12i32..-2,
        ) {
            let d = rows.len();
            let e = RowError { normal: 10f64.powi(scale), offset: 10f64.powi(scale) };
            let mut shift = shifts.iter().cycle();
            let mut moved = |r: &[f64]| -> Vec<f64> {
                let mut v: Vec<f64> = r.iter().map(|a| a + shift.next().unwrap() * e.normal).collect();
                // stay within the bound after rounding of the sum
                for (a, b) in v.iter_mut().zip(r) {
                    if (*a - b).abs() > e.normal {
                        *a = *b;
                    }
                }
                v
            };
            let true_rows: Vec<Vec<f64>> = rows.iter().map(|r| moved(r)).collect();
            let true_q = moved(&q);
            let exact_rows: Vec<Vec<BigInt>> = true_rows.iter().map(|r| exact_row(r)).collect();
            let exact_refs: Vec<&[BigInt]> = exact_rows.iter().map(|r| &r[..]).collect();
            let Some(point) = ExactPoint::solve(&exact_refs) else { return Ok(()) };
            let refs: Vec<&[f64]> = rows.iter().map(|r| &r[..]).collect();
            let Some(inv) = inverse(&refs, d) else { return Ok(()) };
            let mut x: Vec<f64> = (0..d).map(|i| -(0..d).map(|j| inv[i * d + j] * rows[j][d]).sum::<f64>()).collect();
            let (err, solve_err) = verified_error(&refs, &vec![e; d], &mut x);
            proptest::prop_assert!(solve_err <= err);
            if err.is_finite() {
                for (xf, xe) in x.iter().zip(point.to_f64()) {
                    proptest::prop_assert!((xf - xe).abs() <= err + 4.0 * f64::EPSILON * xe.abs(), "{} {} {}", xf, xe, err);
                }
                if let (Some(sign), _) = certified_sign(&q[..d], q[d], e, &x, err) {
                    proptest::prop_assert_eq!(sign, point.sign_of(&exact_row(&true_q)));
                }
            }
        }

        /// On well-conditioned input the exact sign of a plane at a vertex equals the f64 sign wherever the f64
        /// value is clearly nonzero, the certified filter never contradicts it, and the verified error bound
        /// covers the distance from the float solution to the exact vertex.
        #[test]
        fn exact_predicate_agrees_with_f64_on_well_conditioned_input((rows, q) in system()) {
            let d = rows.len();
            let refs: Vec<&[f64]> = rows.iter().map(|r| &r[..]).collect();
            let inv = inverse(&refs, d);
            proptest::prop_assume!(inv.is_some());
            let inv = inv.unwrap();
            let cond: f64 = (0..d).map(|i| (0..d).map(|j| inv[i * d + j].abs()).sum::<f64>()).fold(0.0, f64::max)
                * refs.iter().map(|r| r[..d].iter().map(|v| v.abs()).sum::<f64>()).fold(0.0, f64::max);
            proptest::prop_assume!(cond < 1e6);
            let mut x: Vec<f64> = (0..d).map(|i| -(0..d).map(|j| inv[i * d + j] * rows[j][d]).sum::<f64>()).collect();
            let (err, _) = verified_error(&refs, &vec![RowError::default(); d], &mut x);
            proptest::prop_assert!(err.is_finite());
            let exact_rows: Vec<Vec<BigInt>> = rows.iter().map(|r| exact_row(r)).collect();
            let exact_refs: Vec<&[BigInt]> = exact_rows.iter().map(|r| &r[..]).collect();
            let point = ExactPoint::solve(&exact_refs).unwrap();
            for (xf, xe) in x.iter().zip(point.to_f64()) {
                proptest::prop_assert!((xf - xe).abs() <= err + 4.0 * f64::EPSILON * xe.abs(), "{} {} {}", xf, xe, err);
            }
            let s: f64 = q[..d].iter().zip(&x).map(|(a, b)| a * b).sum::<f64>() + q[d];
            let exact = point.sign_of(&exact_row(&q));
            if s.abs() > 1e-6 {
                proptest::prop_assert_eq!(exact, if s > 0.0 { 1 } else { -1 });
            }
            if let (Some(sign), _) = certified_sign(&q[..d], q[d], RowError::default(), &x, err) {
                proptest::prop_assert_eq!(sign, exact);
            }
            // A plane through the exact vertex (its offset recomputed exactly) is exactly "on" at the vertex.
            for row in &exact_rows {
                proptest::prop_assert_eq!(point.sign_of(row), 0);
            }
        }
    }
}
