//! The floating-point element type of a simulation (`dtype = "f32" | "f64"`).

use ndarray::LinalgScalar;
use num_traits::Float;

/// f32 or f64: what the simulator's matrices hold. Statistics are always taken in f64.
pub trait Real: LinalgScalar + Float + Send + Sync + std::fmt::Debug + 'static {
    fn of(x: f64) -> Self;
    fn f64(self) -> f64;
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
}
