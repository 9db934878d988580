//! rand_chacha's ChaCha8 stream, computed eight blocks at a time.
//!
//! ChaCha (Bernstein 2008) block n of a (key, stream) pair is a pure function of the 16-word
//! state [σ₀..σ₃, key₀..key₇, n_lo, n_hi, stream_lo, stream_hi]: four "expand 32-byte k"
//! constants, the 256-bit key (the seed's little-endian words), the 64-bit block counter and
//! the 64-bit stream, as rand_chacha lays them out. Its output is that state after 8 rounds
//! (four double rounds of quarter rounds a += b; d ^= a; d <<<= 16; c += d; b ^= c; b <<<= 12;
//! a += b; d ^= a; d <<<= 8; c += d; b ^= c; b <<<= 7) added word-wise to the state itself.
//! The generator hands out the words of blocks 0, 1, 2, … in order.
//!
//! [`WideChaCha8`] produces that same word sequence, so every number drawn from it is the number
//! drawn from the [`ChaCha8Rng`] it was made from (tested word for word, and through every
//! `RngCore` call, against rand_chacha). Its AVX2 kernel keeps word i of eight consecutive
//! blocks in the eight lanes of one register, so each vector instruction advances eight blocks
//! (rand_chacha's wide refill does four, two per register), and transposes the result into
//! block order once at the end. Integer arithmetic only: the words are the same on every CPU,
//! with or without AVX2.

use rand::RngCore;
use rand_chacha::ChaCha8Rng;

/// Blocks computed per refill (one per AVX2 lane).
const LANES: usize = 8;
/// Words per block.
const BLOCK: usize = 16;
/// Words per refill.
const BUF: usize = LANES * BLOCK;
/// "expand 32-byte k".
const SIGMA: [u32; 4] = [0x6170_7865, 0x3320_646e, 0x7962_2d32, 0x6b20_6574];

/// A ChaCha8 generator giving exactly [`ChaCha8Rng`]'s words, eight blocks per refill.
#[derive(Clone)]
pub struct WideChaCha8 {
    key: [u32; 8],
    stream: u64,
    /// Counter of the first block not yet in `buf`.
    next_block: u64,
    buf: [u32; BUF],
    /// Next unread word of `buf` (`BUF` when spent).
    idx: usize,
}

impl WideChaCha8 {
    /// Continues `rng`'s sequence from its current word: key, stream and position are read
    /// from it (it is not advanced).
    pub fn new(rng: &ChaCha8Rng) -> WideChaCha8 {
        let seed = rng.get_seed();
        let key =
            std::array::from_fn(|i| u32::from_le_bytes(seed[4 * i..4 * i + 4].try_into().unwrap()));
        let pos = rng.get_word_pos();
        let mut g = WideChaCha8 {
            key,
            stream: rng.get_stream(),
            next_block: (pos / BLOCK as u128) as u64,
            buf: [0; BUF],
            idx: BUF,
        };
        let within = (pos % BLOCK as u128) as usize;
        if within > 0 {
            g.refill();
            g.idx = within;
        }
        g
    }

    fn refill(&mut self) {
        blocks(&self.key, self.stream, self.next_block, &mut self.buf);
        self.next_block = self.next_block.wrapping_add(LANES as u64);
        self.idx = 0;
    }
}

impl RngCore for WideChaCha8 {
    #[inline]
    fn next_u32(&mut self) -> u32 {
        if self.idx == BUF {
            self.refill();
        }
        let w = self.buf[self.idx];
        self.idx += 1;
        w
    }

    /// Two words, the first one low (rand_core's `BlockRng` convention).
    #[inline]
    fn next_u64(&mut self) -> u64 {
        rand::rand_core::impls::next_u64_via_u32(self)
    }

    /// The next ⌈len/4⌉ words as little-endian bytes; the unused bytes of a last partial word
    /// are dropped, as rand_core's `BlockRng::fill_bytes` does.
    fn fill_bytes(&mut self, dst: &mut [u8]) {
        let mut dst = dst;
        while !dst.is_empty() {
            if self.idx == BUF {
                self.refill();
            }
            let words = &self.buf[self.idx..];
            let n = words.len().min(dst.len().div_ceil(4));
            let (head, rest) = dst.split_at_mut((4 * n).min(dst.len()));
            let mut whole = head.chunks_exact_mut(4);
            for (c, w) in (&mut whole).zip(words) {
                c.copy_from_slice(&w.to_le_bytes());
            }
            let part = whole.into_remainder();
            if !part.is_empty() {
                part.copy_from_slice(&words[n - 1].to_le_bytes()[..part.len()]);
            }
            self.idx += n;
            dst = rest;
        }
    }
}

/// `out` = blocks `counter`, `counter + 1`, …, `counter + 7` of (`key`, `stream`), in order.
fn blocks(key: &[u32; 8], stream: u64, counter: u64, out: &mut [u32; BUF]) {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") {
        // SAFETY: AVX2 is present.
        unsafe { avx2::blocks(key, stream, counter, out) };
        return;
    }
    for (b, o) in out.chunks_exact_mut(BLOCK).enumerate() {
        o.copy_from_slice(&block(key, stream, counter.wrapping_add(b as u64)));
    }
}

/// The 16-word input state of block `counter`.
fn state(key: &[u32; 8], stream: u64, counter: u64) -> [u32; BLOCK] {
    let mut s = [0; BLOCK];
    s[..4].copy_from_slice(&SIGMA);
    s[4..12].copy_from_slice(key);
    s[12] = counter as u32;
    s[13] = (counter >> 32) as u32;
    s[14] = stream as u32;
    s[15] = (stream >> 32) as u32;
    s
}

/// One block, one word at a time (the reference the AVX2 kernel is tested against, and the
/// path for CPUs without AVX2).
fn block(key: &[u32; 8], stream: u64, counter: u64) -> [u32; BLOCK] {
    let input = state(key, stream, counter);
    let mut x = input;
    let qr = |x: &mut [u32; BLOCK], a: usize, b: usize, c: usize, d: usize| {
        x[a] = x[a].wrapping_add(x[b]);
        x[d] = (x[d] ^ x[a]).rotate_left(16);
        x[c] = x[c].wrapping_add(x[d]);
        x[b] = (x[b] ^ x[c]).rotate_left(12);
        x[a] = x[a].wrapping_add(x[b]);
        x[d] = (x[d] ^ x[a]).rotate_left(8);
        x[c] = x[c].wrapping_add(x[d]);
        x[b] = (x[b] ^ x[c]).rotate_left(7);
    };
    for _ in 0..4 {
        qr(&mut x, 0, 4, 8, 12);
        qr(&mut x, 1, 5, 9, 13);
        qr(&mut x, 2, 6, 10, 14);
        qr(&mut x, 3, 7, 11, 15);
        qr(&mut x, 0, 5, 10, 15);
        qr(&mut x, 1, 6, 11, 12);
        qr(&mut x, 2, 7, 8, 13);
        qr(&mut x, 3, 4, 9, 14);
    }
    std::array::from_fn(|i| x[i].wrapping_add(input[i]))
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::{state, BLOCK, BUF, LANES};
    use std::arch::x86_64::*;

    /// Word i of the eight blocks in lane b of register i; see [`super::blocks`].
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn blocks(key: &[u32; 8], stream: u64, counter: u64, out: &mut [u32; BUF]) {
        let s0 = state(key, stream, counter);
        let mut input = [_mm256_setzero_si256(); BLOCK];
        for (v, &w) in input.iter_mut().zip(&s0) {
            *v = _mm256_set1_epi32(w as i32);
        }
        // The 64-bit counters of the eight blocks, with the carry into the high word.
        let n: [u64; LANES] = std::array::from_fn(|b| counter.wrapping_add(b as u64));
        let lo: [u32; LANES] = std::array::from_fn(|b| n[b] as u32);
        let hi: [u32; LANES] = std::array::from_fn(|b| (n[b] >> 32) as u32);
        input[12] = _mm256_loadu_si256(lo.as_ptr().cast());
        input[13] = _mm256_loadu_si256(hi.as_ptr().cast());

        let rot16 = _mm256_setr_epi8(
            2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13, 2, 3, 0, 1, 6, 7, 4, 5, 10, 11,
            8, 9, 14, 15, 12, 13,
        );
        let rot8 = _mm256_setr_epi8(
            3, 0, 1, 2, 7, 4, 5, 6, 11, 8, 9, 10, 15, 12, 13, 14, 3, 0, 1, 2, 7, 4, 5, 6, 11, 8, 9,
            10, 15, 12, 13, 14,
        );
        let mut x = input;
        macro_rules! qr {
            ($a:expr, $b:expr, $c:expr, $d:expr) => {
                x[$a] = _mm256_add_epi32(x[$a], x[$b]);
                x[$d] = _mm256_shuffle_epi8(_mm256_xor_si256(x[$d], x[$a]), rot16);
                x[$c] = _mm256_add_epi32(x[$c], x[$d]);
                let t = _mm256_xor_si256(x[$b], x[$c]);
                x[$b] = _mm256_or_si256(_mm256_slli_epi32(t, 12), _mm256_srli_epi32(t, 20));
                x[$a] = _mm256_add_epi32(x[$a], x[$b]);
                x[$d] = _mm256_shuffle_epi8(_mm256_xor_si256(x[$d], x[$a]), rot8);
                x[$c] = _mm256_add_epi32(x[$c], x[$d]);
                let t = _mm256_xor_si256(x[$b], x[$c]);
                x[$b] = _mm256_or_si256(_mm256_slli_epi32(t, 7), _mm256_srli_epi32(t, 25));
            };
        }
        for _ in 0..4 {
            qr!(0, 4, 8, 12);
            qr!(1, 5, 9, 13);
            qr!(2, 6, 10, 14);
            qr!(3, 7, 11, 15);
            qr!(0, 5, 10, 15);
            qr!(1, 6, 11, 12);
            qr!(2, 7, 8, 13);
            qr!(3, 4, 9, 14);
        }
        for (v, i) in x.iter_mut().zip(&input) {
            *v = _mm256_add_epi32(*v, *i);
        }
        // Words 0–7 and 8–15 of each block: two 8×8 transposes into block order.
        for half in 0..2 {
            let cols = transpose(std::array::from_fn(|i| x[8 * half + i]));
            for (b, c) in cols.iter().enumerate() {
                _mm256_storeu_si256(out[b * BLOCK + 8 * half..].as_mut_ptr().cast(), *c);
            }
        }
    }

    /// The 8×8 transpose of 32-bit lanes: lane i of result b is lane b of `r[i]`.
    #[inline(always)]
    unsafe fn transpose(r: [__m256i; 8]) -> [__m256i; 8] {
        let t0 = _mm256_unpacklo_epi32(r[0], r[1]);
        let t1 = _mm256_unpackhi_epi32(r[0], r[1]);
        let t2 = _mm256_unpacklo_epi32(r[2], r[3]);
        let t3 = _mm256_unpackhi_epi32(r[2], r[3]);
        let t4 = _mm256_unpacklo_epi32(r[4], r[5]);
        let t5 = _mm256_unpackhi_epi32(r[4], r[5]);
        let t6 = _mm256_unpacklo_epi32(r[6], r[7]);
        let t7 = _mm256_unpackhi_epi32(r[6], r[7]);
        // Lanes 0 and 4, 1 and 5, 2 and 6, 3 and 7 of rows 0–3 (u0..u3) and 4–7 (u4..u7).
        let u0 = _mm256_unpacklo_epi64(t0, t2);
        let u1 = _mm256_unpackhi_epi64(t0, t2);
        let u2 = _mm256_unpacklo_epi64(t1, t3);
        let u3 = _mm256_unpackhi_epi64(t1, t3);
        let u4 = _mm256_unpacklo_epi64(t4, t6);
        let u5 = _mm256_unpackhi_epi64(t4, t6);
        let u6 = _mm256_unpacklo_epi64(t5, t7);
        let u7 = _mm256_unpackhi_epi64(t5, t7);
        [
            _mm256_permute2x128_si256(u0, u4, 0x20),
            _mm256_permute2x128_si256(u1, u5, 0x20),
            _mm256_permute2x128_si256(u2, u6, 0x20),
            _mm256_permute2x128_si256(u3, u7, 0x20),
            _mm256_permute2x128_si256(u0, u4, 0x31),
            _mm256_permute2x128_si256(u1, u5, 0x31),
            _mm256_permute2x128_si256(u2, u6, 0x31),
            _mm256_permute2x128_si256(u3, u7, 0x31),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    fn reference(seed: u64, stream: u64, skip: usize) -> ChaCha8Rng {
        let mut r = ChaCha8Rng::seed_from_u64(seed);
        r.set_stream(stream);
        for _ in 0..skip {
            r.next_u32();
        }
        r
    }

    /// The AVX2 kernel (where the CPU has it) and the scalar block give rand_chacha's words,
    /// including across a carry of the 64-bit block counter.
    #[test]
    fn blocks_are_rand_chachas() {
        for (seed, stream) in [(0, 0), (7, 1), (123_456, u64::MAX)] {
            let mut r = reference(seed, stream, 0);
            let g = WideChaCha8::new(&r);
            let mut out = [0; BUF];
            blocks(&g.key, stream, 0, &mut out);
            let want: Vec<u32> = (0..BUF).map(|_| r.next_u32()).collect();
            assert_eq!(&out[..], &want[..], "seed {seed}, stream {stream}");
            for b in 0..LANES {
                assert_eq!(
                    block(&g.key, stream, b as u64)[..],
                    want[b * BLOCK..][..BLOCK]
                );
            }
            // Blocks 2⁶⁴ − 3 … 2⁶⁴ + 4 (wrapping): the counter's carry, lane by lane.
            let start = u64::MAX - 2;
            blocks(&g.key, stream, start, &mut out);
            for b in 0..LANES {
                let n = start.wrapping_add(b as u64);
                assert_eq!(out[b * BLOCK..][..BLOCK], block(&g.key, stream, n)[..]);
                let mut r = reference(seed, stream, 0);
                r.set_word_pos(n as u128 * BLOCK as u128);
                let w: Vec<u32> = (0..BLOCK).map(|_| r.next_u32()).collect();
                assert_eq!(out[b * BLOCK..][..BLOCK], w[..], "block {n}");
            }
        }
    }

    /// Every RngCore call gives what rand_chacha gives, from any starting word, across
    /// refills, and `fill_bytes` of any length (partial last words included) consumes the
    /// same words.
    #[test]
    fn same_sequence_through_every_call() {
        for skip in [0, 1, 15, 16, 17, 127, 128, 129, 1000] {
            let mut r = reference(42, 3, skip);
            let mut g = WideChaCha8::new(&r);
            for round in 0..300usize {
                match round % 4 {
                    0 => assert_eq!(g.next_u32(), r.next_u32()),
                    1 => assert_eq!(g.next_u64(), r.next_u64()),
                    2 => {
                        let len = (round * 37) % 700;
                        let (mut a, mut b) = (vec![0u8; len], vec![0u8; len]);
                        g.fill_bytes(&mut a);
                        r.fill_bytes(&mut b);
                        assert_eq!(a, b, "skip {skip}, round {round}, {len} bytes");
                    }
                    _ => assert_eq!(g.random::<f64>().to_bits(), r.random::<f64>().to_bits()),
                }
            }
            let mut words = [0u32; 1000];
            let mut want = [0u32; 1000];
            g.fill(&mut words[..]);
            r.fill(&mut want[..]);
            assert_eq!(words, want);
        }
    }
}
