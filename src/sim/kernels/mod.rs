//! The simulator's numeric kernels: the GEMM (bit-reproducible for any thread split).

pub mod gemm;
