//! The `[train]` table of an experiment: parsed, validated (every error names the file, the key
//! and the valid choices) and typed. Without the table nothing about a run changes.
//!
//! ```toml
//! [train]
//! steps = 500               # optimizer steps (≥ 1)
//! lr = [0.01, 0.1]          # learning rate, a number or a list (swept inside each cell)
//! optimizer = "sgd"         # "sgd" | "momentum" (μ = 0.9) | "adam" (β = 0.9, 0.999, ε = 1e-8)
//! batch = 128               # minibatch size
//! task = "digits"           # "digits" | "mixture" | "teacher", or a table with the task's keys
//! eval_every = 50           # evaluate at steps 0, k, 2k, …, and at the last step
//! ```

use super::optim::Optimizer;
use super::task::Task;
use crate::error::{bad, unknown_name};
use serde::Deserialize;
use toml::Value;

/// `[train]` exactly as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainFile {
    pub steps: Option<Value>,
    pub lr: Option<Value>,
    pub optimizer: Option<String>,
    pub batch: Option<Value>,
    pub task: Option<Value>,
    pub eval_every: Option<Value>,
}

/// A validated `[train]` table.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainConfig {
    pub steps: usize,
    /// Learning rates, each trained from the same initial weights (file order).
    pub lrs: Vec<f64>,
    pub optimizer: Optimizer,
    pub batch: usize,
    pub task: Task,
    pub eval_every: usize,
}

pub const OPTIMIZERS: &[&str] = &["sgd", "momentum", "adam"];

/// A positive integer key, or `default`.
pub(crate) fn positive(v: Option<&Value>, default: usize, at: &str) -> anyhow::Result<usize> {
    match v {
        None => Ok(default),
        Some(Value::Integer(i)) if *i >= 1 && *i <= 1 << 31 => Ok(*i as usize),
        Some(Value::Integer(i)) => Err(bad(format!(
            "{at}: must be a positive integer (at most 2^31), found {i}"
        ))),
        Some(v) => Err(bad(format!(
            "{at}: expected a positive integer, found {} {v}",
            v.type_str()
        ))),
    }
}

fn learning_rate(v: &Value, at: &str) -> anyhow::Result<f64> {
    let x = match v {
        Value::Float(f) => *f,
        Value::Integer(i) => *i as f64,
        v => {
            return Err(bad(format!(
                "{at}: expected a number, found {} {v}",
                v.type_str()
            )))
        }
    };
    if !(x.is_finite() && x > 0.0) {
        return Err(bad(format!(
            "{at}: the learning rate must be a finite number > 0, found {x}"
        )));
    }
    Ok(x)
}

impl TrainConfig {
    /// Parse `[train]`; `at(key)` names the file and key in messages.
    pub fn parse(raw: &TrainFile, at: &dyn Fn(&str) -> String) -> anyhow::Result<TrainConfig> {
        let steps = positive(raw.steps.as_ref(), 200, &at("train.steps"))?;
        let lrs = match &raw.lr {
            None => vec![0.01],
            Some(Value::Array(items)) => {
                if items.is_empty() {
                    return Err(bad(format!(
                        "{}: empty list; give at least one learning rate",
                        at("train.lr")
                    )));
                }
                items
                    .iter()
                    .enumerate()
                    .map(|(i, v)| learning_rate(v, &at(&format!("train.lr[{i}]"))))
                    .collect::<anyhow::Result<Vec<_>>>()?
            }
            Some(v) => vec![learning_rate(v, &at("train.lr"))?],
        };
        crate::config::no_duplicates(
            lrs.iter().map(|x| x.to_string()),
            &at("train.lr"),
            "learning rate",
        )?;
        let optimizer = match raw.optimizer.as_deref() {
            None | Some("sgd") => Optimizer::Sgd,
            Some("momentum") => Optimizer::Momentum,
            Some("adam") => Optimizer::Adam,
            Some(other) => {
                return Err(bad(format!(
                    "{}: {}",
                    at("train.optimizer"),
                    unknown_name("optimizer", other, OPTIMIZERS)
                )))
            }
        };
        let batch = positive(raw.batch.as_ref(), 128, &at("train.batch"))?;
        let task = Task::parse(raw.task.as_ref(), &at("train.task"))?;
        let eval_every = positive(
            raw.eval_every.as_ref(),
            steps.div_ceil(10),
            &at("train.eval_every"),
        )?;
        if eval_every > steps {
            return Err(bad(format!(
                "{}: {eval_every} is more than train.steps = {steps}; evaluate at most every {steps} steps",
                at("train.eval_every")
            )));
        }
        Ok(TrainConfig {
            steps,
            lrs,
            optimizer,
            batch,
            task,
            eval_every,
        })
    }

    /// The steps at which the model is evaluated: 0, k, 2k, …, and the last.
    pub fn eval_steps(&self) -> Vec<usize> {
        let mut s: Vec<usize> = (0..=self.steps).step_by(self.eval_every).collect();
        if s.last() != Some(&self.steps) {
            s.push(self.steps);
        }
        s
    }

    /// Canonical text of everything that changes a trained number (joins the cell hash).
    pub fn canonical(&self) -> String {
        format!(
            "train(steps={},lr={:?},optimizer={},batch={},task={},eval_every={})",
            self.steps,
            self.lrs,
            self.optimizer.name(),
            self.batch,
            self.task.canonical(),
            self.eval_every
        )
    }

    /// The table as resolved TOML (every default explicit).
    pub fn to_table(&self) -> toml::Table {
        let mut t = toml::Table::new();
        t.insert("steps".into(), Value::Integer(self.steps as i64));
        t.insert(
            "lr".into(),
            Value::Array(self.lrs.iter().map(|&x| Value::Float(x)).collect()),
        );
        t.insert(
            "optimizer".into(),
            Value::String(self.optimizer.name().into()),
        );
        t.insert("batch".into(), Value::Integer(self.batch as i64));
        t.insert("task".into(), Value::Table(self.task.to_table()));
        t.insert("eval_every".into(), Value::Integer(self.eval_every as i64));
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> anyhow::Result<TrainConfig> {
        let raw: TrainFile = toml::from_str(text).unwrap();
        TrainConfig::parse(&raw, &|k| format!("x.toml: {k}"))
    }

    #[test]
    fn defaults_round_trip_and_eval_steps() {
        let c = parse("steps = 25\nlr = 0.1\neval_every = 10").unwrap();
        assert_eq!(c.eval_steps(), vec![0, 10, 20, 25]);
        assert_eq!(c.optimizer, Optimizer::Sgd);
        let back: TrainFile = c.to_table().try_into().unwrap();
        assert_eq!(TrainConfig::parse(&back, &|k| k.to_string()).unwrap(), c);
    }

    #[test]
    fn bad_values_name_the_key() {
        for (text, key) in [
            ("steps = 0", "train.steps"),
            ("steps = -3", "train.steps"),
            ("lr = 0.0", "train.lr"),
            ("lr = -1", "train.lr"),
            ("lr = nan", "train.lr"),
            ("lr = [0.1, nan]", "train.lr[1]"),
            ("optimizer = \"adagrad\"", "train.optimizer"),
            ("steps = 10\neval_every = 11", "train.eval_every"),
            ("task = \"cifar\"", "train.task"),
        ] {
            let e = parse(text).unwrap_err();
            assert!(crate::error::is_bad_input(&e));
            let m = e.to_string();
            assert!(m.contains("x.toml") && m.contains(key), "{text}: {m}");
        }
        let m = parse("optimizer = \"adagrad\"").unwrap_err().to_string();
        assert!(m.contains("sgd, momentum, adam"), "{m}");
        let m = parse("task = \"cifar\"").unwrap_err().to_string();
        assert!(m.contains("digits") && m.contains("teacher"), "{m}");
    }
}
