//! `torch.nn.init.calculate_gain`: the recommended gain for a nonlinearity.
//!
//! | nonlinearity | gain |
//! |---|---|
//! | linear, conv1d/2d/3d, conv_transpose1d/2d/3d, sigmoid | 1 |
//! | tanh | 5/3 |
//! | relu | √2 (He et al. 2015, Eq. 10: ½·n·Var[w] = 1) |
//! | leaky_relu | √(2/(1 + s²)), s = param, default 0.01 (He et al. 2015, Eq. 15 with a = s) |
//! | selu | 3/4 |

use crate::error::unknown_name;

/// Every nonlinearity name `calculate_gain` accepts.
pub const NONLINEARITIES: &[&str] = &[
    "linear",
    "conv1d",
    "conv2d",
    "conv3d",
    "conv_transpose1d",
    "conv_transpose2d",
    "conv_transpose3d",
    "sigmoid",
    "tanh",
    "relu",
    "leaky_relu",
    "selu",
];

/// The gain for `nonlinearity`; `param` is leaky_relu's negative slope (default 0.01).
pub fn calculate_gain(nonlinearity: &str, param: Option<f64>) -> Result<f64, String> {
    Ok(match nonlinearity {
        "linear" | "conv1d" | "conv2d" | "conv3d" | "conv_transpose1d" | "conv_transpose2d"
        | "conv_transpose3d" | "sigmoid" => 1.0,
        "tanh" => 5.0 / 3.0,
        "relu" => std::f64::consts::SQRT_2,
        "leaky_relu" => {
            let s = param.unwrap_or(0.01);
            (2.0 / (1.0 + s * s)).sqrt()
        }
        "selu" => 0.75,
        other => return Err(unknown_name("nonlinearity", other, NONLINEARITIES)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// PyTorch's values (test_nn.py TestNNInit.test_calculate_gain_*).
    #[test]
    fn gains_match_pytorch() {
        for n in [
            "linear",
            "conv1d",
            "conv2d",
            "conv3d",
            "conv_transpose1d",
            "conv_transpose2d",
            "conv_transpose3d",
            "sigmoid",
        ] {
            assert_eq!(calculate_gain(n, None).unwrap(), 1.0);
        }
        assert_eq!(calculate_gain("tanh", None).unwrap(), 5.0 / 3.0);
        assert_eq!(calculate_gain("relu", None).unwrap(), 2f64.sqrt());
        assert_eq!(calculate_gain("selu", None).unwrap(), 0.75);
        for s in [0.01, 0.0, 100.0, -0.01] {
            assert_eq!(
                calculate_gain("leaky_relu", Some(s)).unwrap(),
                (2.0 / (1.0 + s * s)).sqrt()
            );
        }
        assert_eq!(
            calculate_gain("leaky_relu", None).unwrap(),
            (2.0 / 1.0001f64).sqrt()
        );
        // kaiming_uniform with a = √5 (PyTorch's nn.Linear default): gain √(2/6) = √(1/3).
        let g = calculate_gain("leaky_relu", Some(5f64.sqrt())).unwrap();
        assert!((g - (1.0f64 / 3.0).sqrt()).abs() < 1e-15);
        assert!(calculate_gain("swish", None)
            .unwrap_err()
            .contains("valid: linear"));
    }
}
