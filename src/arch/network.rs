//! The network under study as a stack of layers. Layer l (1-based) maps x_{l−1} to
//! y_l = x_{l−1}·W_lᵀ + b_l and x_l = φ(y_l) (the last layer too). Only the fully connected
//! (MLP) layer exists now; a convolutional or residual layer slots in as another
//! [`LayerKind`] with its own weight shape, fans and forward/backward products.

/// What a layer is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LayerKind {
    /// Fully connected: W has shape `[fan_out, fan_in]`.
    Dense,
}

/// Shape facts of one layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerShape {
    pub kind: LayerKind,
    /// 1-based index.
    pub index: usize,
    pub fan_in: usize,
    pub fan_out: usize,
}

impl LayerShape {
    /// The weight tensor's shape in PyTorch layout `[out, in, k...]`.
    pub fn weight_shape(&self) -> Vec<usize> {
        match self.kind {
            LayerKind::Dense => vec![self.fan_out, self.fan_in],
        }
    }
}

/// The layers of an MLP of constant width.
pub fn mlp(depth: usize, width: usize) -> Vec<LayerShape> {
    (1..=depth)
        .map(|index| LayerShape {
            kind: LayerKind::Dense,
            index,
            fan_in: width,
            fan_out: width,
        })
        .collect()
}
