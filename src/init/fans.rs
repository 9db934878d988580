//! Fans exactly as PyTorch's `_calculate_fan_in_and_fan_out`: for a tensor of shape
//! `[out, in, k...]`, receptive field = ∏k, fan_in = in·∏k, fan_out = out·∏k.
//! A transposed convolution's weight is stored `[in, out/groups, k...]`, so PyTorch's fan_in is
//! then the layer's out/groups·∏k; a grouped convolution's weight is `[out, in/groups, k...]`,
//! so fan_in = in/groups·∏k — the true number of inputs each output sees.

/// (fan_in, fan_out) of `shape`; error with PyTorch's message for fewer than 2 dimensions.
pub fn fans(shape: &[usize]) -> Result<(usize, usize), String> {
    if shape.len() < 2 {
        return Err(format!(
            "fan in and fan out can not be computed for a tensor with fewer than 2 dimensions (shape {shape:?})"
        ));
    }
    let receptive: usize = shape[2..].iter().product();
    Ok((shape[1] * receptive, shape[0] * receptive))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linear_and_conv() {
        assert_eq!(fans(&[128, 256]).unwrap(), (256, 128));
        assert_eq!(fans(&[64, 32, 3, 3]).unwrap(), (32 * 9, 64 * 9));
        assert_eq!(fans(&[8, 4, 2, 3, 5]).unwrap(), (4 * 30, 8 * 30));
        assert!(fans(&[5]).is_err());
        assert!(fans(&[]).is_err());
    }
}
