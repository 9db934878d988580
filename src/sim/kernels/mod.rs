//! The simulator's numeric kernels: the GEMM (bit-reproducible for any thread split) and
//! im2col for convolutions.

pub mod gemm;
pub mod im2col;
