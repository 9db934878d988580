//! What a network is, as plain data: its layers, their weight shapes in PyTorch layout, fans,
//! and the builders that turn sizes into a layer list. No tensors, no random numbers.

pub mod layer;
pub mod network;
