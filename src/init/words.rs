//! A generator's words taken in bulk without changing what is drawn.
//!
//! rand_core's block generators (ChaCha here) hand out one stream of 32-bit words: `next_u32`
//! takes the next word and `next_u64` the next two, low word first, wherever the block
//! boundaries fall. [`Words`] reads the next words into a buffer in one call (the generator's
//! wide SIMD refill instead of one call per word) and then serves that same sequence, falling
//! through to the generator when the buffer is spent. A caller that buffers no more words than
//! it is certain to consume leaves the generator exactly where word-at-a-time drawing would:
//! the numbers, and everything drawn after them, are unchanged.

use rand::{Rng, RngCore};

/// Words fetched per bulk read (2 KiB, stays in L1).
pub const WORDS: usize = 512;

/// The next words of `rng`, buffered; through [`RngCore`] it is `rng`'s own sequence.
pub struct Words<'a, R: RngCore + ?Sized> {
    rng: &'a mut R,
    buf: [u32; WORDS],
    pos: usize,
    len: usize,
}

impl<'a, R: RngCore + ?Sized> Words<'a, R> {
    pub fn new(rng: &'a mut R) -> Self {
        Words {
            rng,
            buf: [0; WORDS],
            pos: 0,
            len: 0,
        }
    }

    /// Buffer the next min(`at_most`, [`WORDS`]) words. Callers pass a number of words they
    /// are certain to consume, so no word is read ahead of need.
    pub fn refill(&mut self, at_most: usize) {
        debug_assert_eq!(self.pos, self.len, "refill only an empty buffer");
        let n = at_most.min(WORDS);
        self.rng.fill(&mut self.buf[..n]);
        self.pos = 0;
        self.len = n;
    }

    /// The buffered words not yet consumed.
    #[inline(always)]
    pub fn unread(&self) -> &[u32] {
        &self.buf[self.pos..self.len]
    }

    /// Mark the next `n` buffered words consumed.
    #[inline(always)]
    pub fn skip(&mut self, n: usize) {
        debug_assert!(self.pos + n <= self.len);
        self.pos += n;
    }
}

impl<R: RngCore + ?Sized> RngCore for Words<'_, R> {
    #[inline]
    fn next_u32(&mut self) -> u32 {
        match self.buf[..self.len].get(self.pos) {
            Some(&w) => {
                self.pos += 1;
                w
            }
            None => self.rng.next_u32(),
        }
    }
    #[inline]
    fn next_u64(&mut self) -> u64 {
        rand::rand_core::impls::next_u64_via_u32(self)
    }
    fn fill_bytes(&mut self, dst: &mut [u8]) {
        for c in dst.chunks_mut(4) {
            let w = self.next_u32().to_le_bytes();
            c.copy_from_slice(&w[..c.len()]);
        }
    }
}

/// out[i] = T(a + (b − a)·uᵢ) with uᵢ = rand's `random::<f64>()` (the top 53 bits of a 64-bit
/// draw times 2⁻⁵³, in [0, 1)), in order: the same numbers, and the generator left in the same
/// state, as drawing uᵢ one at a time — two words per sample, read in bulk.
pub fn fill_uniform<T: crate::real::Real, R: RngCore + ?Sized>(
    rng: &mut R,
    a: f64,
    b: f64,
    out: &mut [std::mem::MaybeUninit<T>],
) {
    const SCALE: f64 = 1.0 / (1u64 << 53) as f64;
    let w = b - a;
    let mut words = Words::new(rng);
    for chunk in out.chunks_mut(WORDS / 2) {
        words.refill(2 * chunk.len());
        for (o, p) in chunk.iter_mut().zip(words.unread().chunks_exact(2)) {
            let u64v = (p[1] as u64) << 32 | p[0] as u64;
            let u = (u64v >> 11) as f64 * SCALE;
            o.write(T::of(a + w * u));
        }
        words.skip(2 * chunk.len());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    /// Mixed 32- and 64-bit draws through [`Words`] are the generator's own, across refills
    /// and past the end of the buffer, and leave it at the same position.
    #[test]
    fn words_serve_the_generators_sequence() {
        let mut a = ChaCha8Rng::seed_from_u64(5);
        let mut b = a.clone();
        {
            let mut w = Words::new(&mut a);
            for round in 0..40 {
                w.refill(3 + round * 7 % 50);
                for j in 0..(5 + round % 9) {
                    if (round + j) % 3 == 0 {
                        assert_eq!(w.next_u64(), b.next_u64(), "round {round}, draw {j}");
                    } else {
                        assert_eq!(w.next_u32(), b.next_u32(), "round {round}, draw {j}");
                    }
                }
                // Drain what is left so the next refill starts empty.
                while !w.unread().is_empty() {
                    assert_eq!(w.next_u32(), b.next_u32());
                }
            }
        }
        assert_eq!(a.get_word_pos(), b.get_word_pos());
    }

    /// The bulk uniform fill is `a + (b − a)·rng.random::<f64>()` one at a time, bit for bit,
    /// in f32 and f64, and the generator ends where the sequential draw ends.
    #[test]
    fn bulk_uniform_is_the_sequential_draw() {
        for n in [0, 1, 255, 256, 257, 1000, 70_000] {
            let (lo, hi) = (-0.3, 0.7);
            let mut a = ChaCha8Rng::seed_from_u64(n as u64);
            let mut b = a.clone();
            let mut f32s = vec![0f32; n];
            // SAFETY: the fill writes every slot.
            fill_uniform(&mut a, lo, hi, unsafe { crate::real::as_uninit(&mut f32s) });
            let want: Vec<f64> = (0..n).map(|_| lo + (hi - lo) * b.random::<f64>()).collect();
            assert!(f32s
                .iter()
                .zip(&want)
                .all(|(x, y)| x.to_bits() == (*y as f32).to_bits()));
            assert_eq!(a.get_word_pos(), b.get_word_pos(), "n = {n}");
            let mut f64s = vec![0f64; n];
            let mut c = ChaCha8Rng::seed_from_u64(n as u64);
            // SAFETY: the fill writes every slot.
            fill_uniform(&mut c, lo, hi, unsafe { crate::real::as_uninit(&mut f64s) });
            assert!(f64s
                .iter()
                .zip(&want)
                .all(|(x, y)| x.to_bits() == y.to_bits()));
        }
    }
}
