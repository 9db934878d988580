//! The resolved experiment: every default made explicit, written as `experiment.toml` beside
//! the results. Parsing it back gives the same [`Experiment`] (tested), so a results folder
//! always carries the exact recipe that produced it.

use super::{DataDist, Experiment, Sizes};
use crate::init::BiasInit;
use toml::{Table, Value};

fn ints(xs: &[usize]) -> Value {
    Value::Array(xs.iter().map(|&x| Value::Integer(x as i64)).collect())
}

fn dist(d: &DataDist) -> Value {
    let mut t = Table::new();
    t.insert("distribution".into(), Value::String(d.name().into()));
    t.insert("std".into(), Value::Float(d.std));
    Value::Table(t)
}

impl Experiment {
    /// TOML text of the fully resolved experiment.
    pub fn resolved_toml(&self) -> String {
        let mut root = Table::new();
        root.insert("name".into(), Value::String(self.name.clone()));
        root.insert(
            "description".into(),
            Value::String(self.description.clone()),
        );
        root.insert("seed".into(), Value::Integer(self.seed as i64));
        root.insert("trials".into(), Value::Integer(self.trials as i64));
        root.insert("batch".into(), Value::Integer(self.batch as i64));
        root.insert("dtype".into(), Value::String(self.dtype.name().into()));
        root.insert("input".into(), dist(&self.input));
        root.insert("output_grad".into(), dist(&self.output_grad));

        let mut net = Table::new();
        net.insert("kind".into(), Value::String(self.network.into()));
        match &self.net.sizes {
            Sizes::DepthWidth { depths, widths } => {
                net.insert("depth".into(), ints(depths));
                net.insert("width".into(), ints(widths));
            }
            Sizes::Profiles(profiles) => {
                net.insert(
                    "widths".into(),
                    Value::Array(profiles.iter().map(|p| ints(p)).collect()),
                );
            }
            Sizes::Blocks {
                blocks,
                widths,
                stages,
                in_width,
            } => {
                net.insert("blocks".into(), ints(blocks));
                match stages {
                    Some(st) => net.insert("stages".into(), ints(st)),
                    None => net.insert("width".into(), ints(widths)),
                };
                if let Some(w) = in_width {
                    net.insert("in_width".into(), Value::Integer(*w as i64));
                }
            }
        }
        if let Some(r) = &self.net.resnet {
            let block = match &self.net.conv {
                None => "dense".to_string(),
                Some(c) => format!("conv{}d", c.image.len()),
            };
            net.insert("block".into(), Value::String(block));
            net.insert(
                "branch_layers".into(),
                Value::Integer(r.branch_layers as i64),
            );
            net.insert("alpha".into(), Value::Float(r.alpha));
            net.insert("beta".into(), Value::String(r.beta.name().into()));
        }
        if self.net.norm.is_some() || self.net.resnet.is_some() {
            net.insert(
                "norm".into(),
                Value::String(self.net.norm.map_or("none", |n| n.name()).into()),
            );
        }
        net.insert(
            "activation".into(),
            Value::Array(self.activations.iter().map(|a| a.to_value()).collect()),
        );
        net.insert("bias".into(), Value::Boolean(self.net.bias));
        if let Some(c) = &self.net.conv {
            net.insert("image".into(), ints(&c.image));
            net.insert("kernel".into(), ints(&c.kernels));
            net.insert(
                "padding".into(),
                Value::Array(
                    c.paddings
                        .iter()
                        .map(|p| Value::String(p.name().into()))
                        .collect(),
                ),
            );
        }
        root.insert("network".into(), Value::Table(net));

        let inits = self
            .inits
            .iter()
            .map(|li| {
                let mut t = Table::new();
                t.insert("label".into(), Value::String(li.label.clone()));
                match li.init.preset {
                    Some(p) => {
                        t.insert("preset".into(), Value::String(p.into()));
                    }
                    None => {
                        let w = match &li.init.lsuv {
                            Some(l) => l.to_table(&li.init.weight),
                            None => li.init.weight.to_table(),
                        };
                        t.insert("weight".into(), Value::Table(w));
                    }
                }
                let preset_bias = li
                    .init
                    .preset
                    .map(|p| crate::init::Init::preset(p, "").expect("known preset").bias);
                let bias_is_default = match &preset_bias {
                    Some(b) => *b == li.init.bias,
                    None => li.init.bias.is_zero(),
                };
                if !bias_is_default {
                    if let BiasInit::Scheme(s) = &li.init.bias {
                        t.insert("bias".into(), Value::Table(s.to_table()));
                    }
                }
                // Recipe keys beyond the preset's own.
                let r = &li.init.recipe;
                let base = r
                    .kind
                    .map(crate::init::recipe::Recipe::named)
                    .unwrap_or_default();
                if r.norm != base.norm {
                    if let Some(n) = r.norm {
                        let name = n.map_or("none", |k| k.name());
                        t.insert("norm".into(), Value::String(name.into()));
                    }
                }
                if r.alpha != base.alpha {
                    if let Some(a) = r.alpha {
                        t.insert("alpha".into(), Value::Float(a));
                    }
                }
                if r.beta != base.beta {
                    if let Some(b) = r.beta {
                        t.insert("beta".into(), Value::String(b.name().into()));
                    }
                }
                Value::Table(t)
            })
            .collect();
        root.insert("init".into(), Value::Array(inits));

        if let Some(s) = &self.spectrum {
            root.insert("spectrum".into(), Value::Table(s.to_table()));
        }
        if let Some(h) = &self.histograms {
            let mut t = Table::new();
            t.insert("layers".into(), ints(&h.layers));
            t.insert("bins".into(), Value::Integer(h.bins as i64));
            root.insert("histograms".into(), Value::Table(t));
        }
        if let Some(t) = &self.train {
            root.insert("train".into(), Value::Table(t.to_table()));
        }
        let body = toml::to_string(&root).expect("a TOML table always serialises");
        format!(
            "# Resolved by initlab {}: every default made explicit.\n{}\n",
            env!("CARGO_PKG_VERSION"),
            body.trim_end()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let text = r#"
name = "rt"
[network]
depth = [3, 5]
width = [4, 6]
activation = ["relu", { name = "gelu", approximate = "tanh" }, { name = "leaky_relu", negative_slope = 0.2 }]
bias = false
[[init]]
weight = { scheme = "kaiming_uniform", a = 2.23606797749979, mode = "fan_out" }
bias = { scheme = "normal", std = 0.1 }
[[init]]
preset = "pytorch_default"
[[init]]
label = "Keras He"
preset = "he_normal"
bias = { scheme = "constant", val = 0.5 }
[histograms]
layers = [1, 3]
"#;
        let e = Experiment::parse(text, "rt.toml", "rt").unwrap();
        let resolved = e.resolved_toml();
        let back = Experiment::parse(&resolved, "experiment.toml", "experiment").unwrap();
        assert_eq!(e, back, "{resolved}");
        assert_eq!(resolved, back.resolved_toml());
    }

    #[test]
    fn round_trips_conv_keys_and_profiles() {
        for net in [
            "kind = \"conv2d\"\nwidths = [3, 8, 16]\nimage = [6, 5]\n",
            "kind = \"conv1d\"\nwidths = [[2, 4], [2, 4, 4]]\nimage = [9]\nkernel = [3, 5]\npadding = [\"circular\", \"zeros\"]\n",
            "widths = [[4, 8, 2], [4, 4]]\n",
        ] {
            let text = format!(
                "[network]\n{net}activation = \"relu\"\n[[init]]\nweight = \"kaiming_normal\"\n"
            );
            let e = Experiment::parse(&text, "c.toml", "c").unwrap();
            let resolved = e.resolved_toml();
            let back = Experiment::parse(&resolved, "experiment.toml", "experiment").unwrap();
            assert_eq!(e, back, "{resolved}");
            assert_eq!(e.cells(), back.cells());
        }
    }
}
