//! Tap tables of stride-1, same-size convolutions on channels-last batches.
//!
//! A batch of `samples` images with C channels at P positions each is the matrix
//! `x[s·P + q, c]`. A kernel's taps t run row-major over its positions, with offsets
//! s_t ∈ {−(k−1)/2, …, (k−1)/2}^d; tap t of output position q reads position
//! src(q, t) = q + s_t, or nothing (a zero) when q + s_t leaves the image under zero padding
//! (it wraps under circular padding). The transposed convolution — the input gradient — reads
//! q − s_t: the same table with the offsets negated.

use crate::arch::layer::Padding;

/// For every output position q and tap t, the source position (or `None`: a zero).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TapTable {
    pub positions: usize,
    pub taps: usize,
    /// `src[q·taps + t]`: source position, or −1 for a padded zero.
    src: Vec<i64>,
}

impl TapTable {
    /// Offsets s_t for `image` (1-D or 2-D, any d in fact) and an odd `kernel`; `negate` gives
    /// the transposed convolution's table (offsets −s_t, same tap order).
    pub fn new(image: &[usize], kernel: usize, padding: Padding, negate: bool) -> TapTable {
        assert!(kernel % 2 == 1, "odd kernel");
        let d = image.len();
        let positions: usize = image.iter().product();
        let taps = kernel.pow(d as u32);
        let half = (kernel / 2) as i64;
        let mut src = Vec::with_capacity(positions * taps);
        let mut coord = vec![0i64; d];
        let mut off = vec![0i64; d];
        for q in 0..positions {
            // Position q's coordinates, row-major (last dimension fastest).
            let mut r = q;
            for i in (0..d).rev() {
                coord[i] = (r % image[i]) as i64;
                r /= image[i];
            }
            for t in 0..taps {
                let mut r = t;
                for i in (0..d).rev() {
                    let o = (r % kernel) as i64 - half;
                    off[i] = if negate { -o } else { o };
                    r /= kernel;
                }
                let mut p = 0i64;
                let mut inside = true;
                for i in 0..d {
                    let n = image[i] as i64;
                    let mut c = coord[i] + off[i];
                    if c < 0 || c >= n {
                        match padding {
                            Padding::Zeros => inside = false,
                            Padding::Circular => c = c.rem_euclid(n),
                        }
                    }
                    p = p * n + c;
                }
                src.push(if inside { p } else { -1 });
            }
        }
        TapTable {
            positions,
            taps,
            src,
        }
    }

    /// Source position of tap t at output position q (`None` for a padded zero).
    pub fn source(&self, q: usize, t: usize) -> Option<usize> {
        let s = self.src[q * self.taps + t];
        (s >= 0).then_some(s as usize)
    }

    /// How many taps of position q fall inside the image.
    pub fn valid_taps(&self, q: usize) -> usize {
        self.src[q * self.taps..(q + 1) * self.taps]
            .iter()
            .filter(|&&s| s >= 0)
            .count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn borders_zero_or_wrap() {
        // 1-D, L = 5, k = 3: position 0's left tap is outside.
        let z = TapTable::new(&[5], 3, Padding::Zeros, false);
        assert_eq!(z.source(0, 0), None);
        assert_eq!(z.source(0, 1), Some(0));
        assert_eq!(z.source(0, 2), Some(1));
        assert_eq!(z.source(4, 2), None);
        let c = TapTable::new(&[5], 3, Padding::Circular, false);
        assert_eq!(c.source(0, 0), Some(4));
        assert_eq!(c.source(4, 2), Some(0));
        // Negated offsets: tap 0 now looks right.
        let n = TapTable::new(&[5], 3, Padding::Zeros, true);
        assert_eq!(n.source(2, 0), Some(3));
        // 2-D, 3×4, k = 3: a corner keeps 4 of 9 taps, an edge 6, the inside 9.
        let t = TapTable::new(&[3, 4], 3, Padding::Zeros, false);
        assert_eq!(t.valid_taps(0), 4);
        assert_eq!(t.valid_taps(1), 6);
        assert_eq!(t.valid_taps(5), 9);
        // Tap (0, 0) of position (1, 1) is (0, 0); tap (2, 1) is (2, 1).
        assert_eq!(t.source(5, 0), Some(0));
        assert_eq!(t.source(5, 7), Some(2 * 4 + 1));
        let w = TapTable::new(&[3, 4], 3, Padding::Circular, false);
        assert!((0..12).all(|q| w.valid_taps(q) == 9));
        // Corner (0, 0), tap (0, 0) wraps to (2, 3).
        assert_eq!(w.source(0, 0), Some(11));
    }
}
