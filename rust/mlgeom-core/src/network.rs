//! Fully connected ReLU networks: validated layers, forward passes and affine algebra.

use crate::error::{Result, invalid};
use crate::exact::{RowError, UNDERFLOW, gamma};

/// One affine layer y = W x + b, W row-major `out × in`.
#[derive(Clone, Debug)]
pub struct Dense {
    pub weight: Vec<f64>,
    pub bias: Vec<f64>,
    pub n_in: usize,
    pub n_out: usize,
}

impl Dense {
    #[inline]
    pub fn row(&self, k: usize) -> &[f64] {
        &self.weight[k * self.n_in..(k + 1) * self.n_in]
    }

    /// W (J x + c) + b as (W J, W c + b), with J row-major `n_in × d`. Inputs whose row of J and
    /// entry of c are both zero (inactive ReLUs upstream) are skipped.
    pub fn compose(&self, jac: &[f64], off: &[f64], d: usize) -> (Vec<f64>, Vec<f64>) {
        let active: Vec<usize> = (0..self.n_in)
            .filter(|&i| off[i] != 0.0 || jac[i * d..(i + 1) * d].iter().any(|&v| v != 0.0))
            .collect();
        let mut out_jac = vec![0.0; self.n_out * d];
        let mut out_off = self.bias.clone();
        for k in 0..self.n_out {
            let row = self.row(k);
            let target = &mut out_jac[k * d..(k + 1) * d];
            for &i in &active {
                let w = row[i];
                target
                    .iter_mut()
                    .zip(&jac[i * d..(i + 1) * d])
                    .for_each(|(t, j)| *t += w * j);
                out_off[k] += w * off[i];
            }
        }
        (out_jac, out_off)
    }

    /// A rigorous bound on the distance of [`Self::compose`]'s rows from the exact W (J* x + c*) + b, when
    /// the rows of (`jac`, `off`) are within `err` of the exact (J*, c*). Per output row k (Higham §3.1 for
    /// the rounding, then the input's own error carried through W):
    /// e_n = γ Σᵢ |W_ki| maxⱼ|J_ij| + Σᵢ |W_ki| e_n,i and e₀ = γ (|b_k| + Σᵢ |W_ki||c_i|) + Σᵢ |W_ki| e₀,i,
    /// with γ = γ_{n_in+2} (doubled); O(n_out · n_in), not another product.
    pub fn compose_error(&self, jac: &[f64], off: &[f64], err: &[RowError], d: usize) -> Vec<RowError> {
        let jac_max: Vec<f64> = (0..self.n_in)
            .map(|i| jac[i * d..(i + 1) * d].iter().fold(0.0f64, |a, v| a.max(v.abs())))
            .collect();
        let g = gamma(self.n_in + 2);
        (0..self.n_out)
            .map(|k| {
                let (mut normal_mag, mut offset_mag, mut normal_in, mut offset_in) =
                    (0.0, self.bias[k].abs(), 0.0, 0.0);
                for (i, w) in self.row(k).iter().enumerate() {
                    let w = w.abs();
                    normal_mag += w * jac_max[i];
                    offset_mag += w * off[i].abs();
                    normal_in += w * err[i].normal;
                    offset_in += w * err[i].offset;
                }
                // Products that are all exactly zero round to nothing; else allow for underflow too.
                let slack = |mag: f64| if mag > 0.0 { UNDERFLOW } else { 0.0 };
                RowError {
                    normal: (g * normal_mag + normal_in + slack(normal_mag)) * (1.0 + g),
                    offset: (g * offset_mag + offset_in + slack(offset_mag)) * (1.0 + g),
                }
            })
            .collect()
    }

    /// Euclidean norm of every row of W.
    pub fn row_norms(&self) -> Vec<f64> {
        (0..self.n_out)
            .map(|k| self.row(k).iter().map(|v| v * v).sum::<f64>().sqrt())
            .collect()
    }
}

/// Hidden layers (each followed by ReLU) and an optional linear output layer.
#[derive(Clone, Debug)]
pub struct Network {
    pub hidden: Vec<Dense>,
    pub output: Option<Dense>,
    /// Index of the first bit (neuron) of each hidden layer; the last entry is the number of neurons.
    pub first_bit: Vec<usize>,
    /// Row norms of each hidden layer's weight matrix (scales for the zero-gradient test).
    pub row_norms: Vec<Vec<f64>>,
    pub dim: usize,
}

impl Network {
    /// Validates the shapes: `hidden[0]` takes `dim` inputs and each layer feeds the next.
    pub fn new(hidden: Vec<Dense>, output: Option<Dense>, dim: usize) -> Result<Self> {
        if hidden.is_empty() {
            return invalid("the network has no hidden layer; give at least one (W, b) pair followed by ReLU");
        }
        let mut n_in = dim;
        for (l, layer) in hidden.iter().chain(output.iter()).enumerate() {
            if layer.n_in != n_in {
                return invalid(format!(
                    "layer {l} takes {} inputs but receives {n_in} (the input has dimension {dim}); check the weight shapes",
                    layer.n_in
                ));
            }
            if layer.n_out == 0 {
                return invalid(format!("layer {l} has no neurons"));
            }
            if layer.weight.len() != layer.n_in * layer.n_out || layer.bias.len() != layer.n_out {
                return invalid(format!(
                    "layer {l}: weight must be {} × {} and bias {}",
                    layer.n_out, layer.n_in, layer.n_out
                ));
            }
            if let Some(i) = layer.weight.iter().chain(&layer.bias).position(|v| !v.is_finite()) {
                return invalid(format!(
                    "layer {l} has a non-finite weight or bias (entry {i}); fix the model"
                ));
            }
            n_in = layer.n_out;
        }
        let mut first_bit = vec![0];
        for layer in &hidden {
            first_bit.push(first_bit.last().expect("non-empty") + layer.n_out);
        }
        let row_norms = hidden.iter().map(Dense::row_norms).collect();
        Ok(Self {
            hidden,
            output,
            first_bit,
            row_norms,
            dim,
        })
    }

    pub fn n_bits(&self) -> usize {
        *self.first_bit.last().expect("non-empty")
    }

    /// Number of outputs (the output layer, or the last hidden layer).
    pub fn n_outputs(&self) -> usize {
        self.output
            .as_ref()
            .map_or_else(|| self.hidden.last().expect("validated").n_out, |o| o.n_out)
    }

    /// Hidden layer (0-based) of each bit.
    pub fn layer_of_bit(&self) -> Vec<usize> {
        (0..self.hidden.len())
            .flat_map(|l| std::iter::repeat_n(l, self.hidden[l].n_out))
            .collect()
    }
}
