//! The floating-point element type of a simulation (`dtype = "f32" | "f64"`).

use ndarray::LinalgScalar;
use num_traits::Float;
use std::mem::MaybeUninit;

/// An initialised slice seen as slots to overwrite, so one fill routine serves both fresh
/// (uninitialised) and existing storage.
///
/// # Safety
/// The caller may only write initialised values through the result (never
/// `MaybeUninit::uninit()`), so that `s` is still initialised afterwards.
pub(crate) unsafe fn as_uninit<T: Copy>(s: &mut [T]) -> &mut [MaybeUninit<T>] {
    // SAFETY: MaybeUninit<T> has T's layout, and T: Copy has no drop to skip; the caller keeps
    // the slice initialised.
    unsafe { &mut *(s as *mut [T] as *mut [MaybeUninit<T>]) }
}

/// f32 or f64: what the simulator's matrices hold. Statistics are always taken in f64.
pub trait Real: LinalgScalar + Float + Send + Sync + std::fmt::Debug + 'static {
    fn of(x: f64) -> Self;
    fn f64(self) -> f64;
    /// tanh in this precision: vectorisable Cephes polynomial for f32 (≤ 3 ulp), libm for f64.
    fn tanh_v(self) -> Self;
    /// One N(0, 1) draw at this precision's resolution: a 32-bit ziggurat for f32
    /// ([`crate::init::ziggurat`]), rand_distr's 64-bit ziggurat for f64.
    fn std_normal<R: rand::Rng + ?Sized>(rng: &mut R) -> f64;
    /// out[i] = mean + std·zᵢ with the draws of [`Real::std_normal`], in order; every slot
    /// of `out` is written.
    fn fill_normal<R: rand::Rng + ?Sized>(
        rng: &mut R,
        mean: f64,
        std: f64,
        out: &mut [MaybeUninit<Self>],
    ) {
        out.iter_mut().for_each(|o| {
            o.write(Self::of(mean + std * Self::std_normal(rng)));
        });
    }
    /// eˣ in this precision: vectorisable Cephes polynomial for f32 (≤ 2 ulp), libm for f64.
    fn exp_v(self) -> Self;
    /// (σ(x), 1 − σ(x)), both without cancellation: with e = e⁻ˣ, σ = 1/(1 + e), 1 − σ = e·σ.
    #[inline(always)]
    fn sigmoid_pair(self) -> (Self, Self) {
        let e = (-self).exp_v();
        let s = Self::one() / (Self::one() + e);
        let rest = if e.is_finite() { e * s } else { Self::one() };
        (s, rest)
    }
}

impl Real for f32 {
    #[inline]
    fn of(x: f64) -> f32 {
        x as f32
    }
    #[inline]
    fn f64(self) -> f64 {
        self as f64
    }
    #[inline(always)]
    fn tanh_v(self) -> f32 {
        crate::fastmath::tanh_f32(self)
    }
    #[inline]
    fn std_normal<R: rand::Rng + ?Sized>(rng: &mut R) -> f64 {
        crate::init::ziggurat::standard_normal(rng)
    }
    fn fill_normal<R: rand::Rng + ?Sized>(
        rng: &mut R,
        mean: f64,
        std: f64,
        out: &mut [MaybeUninit<f32>],
    ) {
        crate::init::ziggurat::fill_normal(rng, mean, std, out)
    }
    #[inline(always)]
    fn exp_v(self) -> f32 {
        crate::fastmath::exp_f32(self)
    }
}

impl Real for f64 {
    #[inline]
    fn of(x: f64) -> f64 {
        x
    }
    #[inline]
    fn f64(self) -> f64 {
        self
    }
    #[inline]
    fn tanh_v(self) -> f64 {
        self.tanh()
    }
    #[inline]
    fn std_normal<R: rand::Rng + ?Sized>(rng: &mut R) -> f64 {
        rand_distr::Distribution::sample(&rand_distr::StandardNormal, rng)
    }
    #[inline]
    fn exp_v(self) -> f64 {
        self.exp()
    }
}
