//! The simulator's numeric kernels: the GEMM (bit-reproducible for any thread split), the
//! convolutions' tap tables and their implicit-GEMM kernels.

pub mod conv_gemm;
pub mod gemm;
pub mod taps;
