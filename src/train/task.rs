//! Training tasks, deterministic and offline. Each yields a fixed train/test split whose inputs
//! have the network's per-sample shape (channels-last: positions × channels, flattened):
//!
//! - `digits`: the UCI 8×8 handwritten digits (Alpaydin & Kaynak 1998, CC BY 4.0; shipped in
//!   `assets/digits/`, see its README), 1,797 images of 10 classes. Split per class: the j-th
//!   image of a class (file order, from 0) is a test image when j ≡ 4 (mod 5). Pixels (0–16) are standardized with the mean and
//!   standard deviation of all training pixels, x = (p − m)/s, so E[x²] = 1 on the training set
//!   like the simulator's N(0, 1) input. The network must take 64 inputs per sample: an MLP of
//!   width 64, or a conv net with 1 channel on an 8×8 image (row-major pixels).
//! - `mixture`: Gaussian-mixture classification in d = the network's input size: `classes`
//!   centres μ_k ~ N(0, I_d); a sample of class k (uniform) is x = (μ_k + σ·ε)/√(1 + σ²),
//!   ε ~ N(0, I_d), σ = `noise` (default 2), so E[x²] = 1.
//! - `teacher`: teacher–student regression: x ~ N(0, I_d); a random teacher h_0 = x,
//!   h_k = tanh(A_k h_(k−1)) for k = 1..`depth` (A_k ~ N(0, 2/d), width d), y = B·h_depth + ν,
//!   B ~ N(0, 1/d) with `outputs` rows and ν ~ N(0, `noise`²). depth = 0 is a linear teacher.
//!
//! Data streams are keyed by (seed, task, input shape) only: every init, activation, depth and
//! trial sees the same data (common random numbers).

use crate::arch::layer::Features;
use crate::error::{bad, unknown_name};
use crate::seed::stream;
use ndarray::Array2;
use rand::Rng;
use rand_distr::{Distribution, StandardNormal};
use toml::Value;

static DIGITS_CSV: &str = include_str!("../../assets/digits/digits.csv");

pub const TASKS: &[&str] = &["digits", "mixture", "teacher"];

/// Inputs per digits image (8 × 8).
pub const DIGITS_INPUTS: usize = 64;

#[derive(Debug, Clone, PartialEq)]
pub enum Task {
    Digits,
    Mixture {
        classes: usize,
        train: usize,
        test: usize,
        noise: f64,
    },
    Teacher {
        depth: usize,
        outputs: usize,
        train: usize,
        test: usize,
        noise: f64,
    },
}

/// Labels of a classification task or targets of a regression.
#[derive(Debug, Clone, PartialEq)]
pub enum Targets {
    Classes(Vec<usize>),
    /// samples × outputs.
    Values(Array2<f64>),
}

impl Targets {
    pub fn len(&self) -> usize {
        match self {
            Targets::Classes(c) => c.len(),
            Targets::Values(v) => v.nrows(),
        }
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The targets of the samples `idx`, in that order.
    pub fn select(&self, idx: &[usize]) -> Targets {
        match self {
            Targets::Classes(c) => Targets::Classes(idx.iter().map(|&i| c[i]).collect()),
            Targets::Values(v) => Targets::Values(v.select(ndarray::Axis(0), idx)),
        }
    }
}

/// A task's data: inputs are samples × (positions · channels).
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    pub x_train: Array2<f64>,
    pub y_train: Targets,
    pub x_test: Array2<f64>,
    pub y_test: Targets,
}

impl Dataset {
    /// From the (inputs, targets) of the training and the test split, in that order.
    fn split(
        (x_train, y_train): (Array2<f64>, Targets),
        (x_test, y_test): (Array2<f64>, Targets),
    ) -> Dataset {
        Dataset {
            x_train,
            y_train,
            x_test,
            y_test,
        }
    }
}

fn normal(rng: &mut impl Rng, rows: usize, cols: usize, std: f64) -> Array2<f64> {
    Array2::from_shape_simple_fn((rows, cols), || {
        let z: f64 = StandardNormal.sample(rng);
        std * z
    })
}

impl Task {
    pub fn name(&self) -> &'static str {
        match self {
            Task::Digits => "digits",
            Task::Mixture { .. } => "mixture",
            Task::Teacher { .. } => "teacher",
        }
    }

    /// Parse `train.task`: a name or a table `{ name = "...", ... }` (default: digits).
    pub fn parse(v: Option<&Value>, at: &str) -> anyhow::Result<Task> {
        let table = match v {
            None => return Ok(Task::Digits),
            Some(Value::String(s)) => {
                let mut t = toml::Table::new();
                t.insert("name".into(), Value::String(s.clone()));
                t
            }
            Some(Value::Table(t)) => t.clone(),
            Some(v) => {
                return Err(bad(format!(
                    "{at}: expected a task name or a table {{ name = \"...\", ... }}, found {} {v}; valid: {}",
                    v.type_str(),
                    TASKS.join(", ")
                )))
            }
        };
        let mut table = table;
        let name = match table.remove("name") {
            Some(Value::String(s)) => s,
            Some(v) => {
                return Err(bad(format!(
                    "{at}.name: expected a string, found {} {v}; valid: {}",
                    v.type_str(),
                    TASKS.join(", ")
                )))
            }
            None => {
                return Err(bad(format!(
                    "{at}: the table needs a name; valid: {}",
                    TASKS.join(", ")
                )))
            }
        };
        let mut p = crate::params::Params::new(table, at, format!("task '{name}'"));
        let task = match name.as_str() {
            "digits" => Task::Digits,
            "mixture" => Task::Mixture {
                classes: p.usize_or("classes", 10)?,
                train: p.usize_or("train", 1024)?,
                test: p.usize_or("test", 512)?,
                noise: p.f64_or("noise", 2.0)?,
            },
            "teacher" => {
                let depth = match p.value_opt("depth") {
                    None => 2,
                    Some(Value::Integer(i)) if (0..=1000).contains(&i) => i as usize,
                    Some(v) => {
                        return Err(bad(format!(
                            "{at}.depth: the teacher's hidden layers, an integer 0–1000, found {v}"
                        )))
                    }
                };
                Task::Teacher {
                    depth,
                    outputs: p.usize_or("outputs", 1)?,
                    train: p.usize_or("train", 1024)?,
                    test: p.usize_or("test", 512)?,
                    noise: p.f64_or("noise", 0.0)?,
                }
            }
            other => return Err(bad(format!("{at}: {}", unknown_name("task", other, TASKS)))),
        };
        p.finish()?;
        match &task {
            Task::Mixture { classes, noise, .. } => {
                if *classes < 2 {
                    return Err(bad(format!(
                        "{at}.classes: need at least 2, found {classes}"
                    )));
                }
                if *noise < 0.0 {
                    return Err(bad(format!("{at}.noise: must be >= 0, found {noise}")));
                }
            }
            Task::Teacher { noise, .. } if *noise < 0.0 => {
                return Err(bad(format!("{at}.noise: must be >= 0, found {noise}")));
            }
            _ => {}
        }
        Ok(task)
    }

    /// Canonical text (stream keys, cell hash).
    pub fn canonical(&self) -> String {
        format!("{self:?}")
    }

    /// The resolved table.
    pub fn to_table(&self) -> toml::Table {
        let mut t = toml::Table::new();
        t.insert("name".into(), Value::String(self.name().into()));
        let int = |x: usize| Value::Integer(x as i64);
        match *self {
            Task::Digits => {}
            Task::Mixture {
                classes,
                train,
                test,
                noise,
            } => {
                t.insert("classes".into(), int(classes));
                t.insert("train".into(), int(train));
                t.insert("test".into(), int(test));
                t.insert("noise".into(), Value::Float(noise));
            }
            Task::Teacher {
                depth,
                outputs,
                train,
                test,
                noise,
            } => {
                t.insert("depth".into(), int(depth));
                t.insert("outputs".into(), int(outputs));
                t.insert("train".into(), int(train));
                t.insert("test".into(), int(test));
                t.insert("noise".into(), Value::Float(noise));
            }
        }
        t
    }

    /// Outputs of the readout: classes, or regression targets.
    pub fn outputs(&self) -> usize {
        match *self {
            Task::Digits => 10,
            Task::Mixture { classes, .. } => classes,
            Task::Teacher { outputs, .. } => outputs,
        }
    }

    pub fn is_classification(&self) -> bool {
        !matches!(self, Task::Teacher { .. })
    }

    /// Samples in the train and test sets.
    pub fn sizes(&self) -> (usize, usize) {
        match *self {
            Task::Digits => (1442, 355),
            Task::Mixture { train, test, .. } | Task::Teacher { train, test, .. } => (train, test),
        }
    }

    /// Why a network taking `input` per sample cannot learn this task (`None`: it can).
    pub fn misfit(&self, input: &Features) -> Option<String> {
        match self {
            Task::Digits if input.len() != DIGITS_INPUTS => Some(format!(
                "task 'digits' has 64 inputs per sample (8×8 images) but the network takes {} ({} channel(s){}); use width = 64 (mlp) or widths[0] = 1 with image = [8, 8] (conv2d)",
                input.len(),
                input.channels,
                if input.image.is_empty() {
                    String::new()
                } else {
                    format!(
                        " × image {}",
                        input
                            .image
                            .iter()
                            .map(|d| d.to_string())
                            .collect::<Vec<_>>()
                            .join("×")
                    )
                }
            )),
            _ => None,
        }
    }

    /// The task's data for a network taking `input` per sample (checked by [`Task::misfit`]).
    pub fn dataset(&self, seed: u64, input: &Features) -> Dataset {
        let d = input.len();
        let mut rng = stream(&[
            "train/data",
            &seed.to_string(),
            &self.canonical(),
            &format!("{}x{:?}", input.channels, input.image),
        ]);
        match *self {
            Task::Digits => digits(),
            Task::Mixture {
                classes,
                train,
                test,
                noise,
            } => {
                let centres = normal(&mut rng, classes, d, 1.0);
                let scale = 1.0 / (1.0 + noise * noise).sqrt();
                let mut draw = |n: usize| {
                    let labels: Vec<usize> = (0..n).map(|_| rng.random_range(0..classes)).collect();
                    let eps = normal(&mut rng, n, d, noise);
                    let mut x = centres.select(ndarray::Axis(0), &labels) + eps;
                    x.mapv_inplace(|v| v * scale);
                    (x, Targets::Classes(labels))
                };
                Dataset::split(draw(train), draw(test))
            }
            Task::Teacher {
                depth,
                outputs,
                train,
                test,
                noise,
            } => {
                let hidden: Vec<Array2<f64>> = (0..depth)
                    .map(|_| normal(&mut rng, d, d, (2.0 / d as f64).sqrt()))
                    .collect();
                let b = normal(&mut rng, outputs, d, (1.0 / d as f64).sqrt());
                let mut draw = |n: usize| {
                    let x = normal(&mut rng, n, d, 1.0);
                    let mut h = x.clone();
                    for a in &hidden {
                        h = h.dot(&a.t()).mapv(f64::tanh);
                    }
                    let y = h.dot(&b.t()) + normal(&mut rng, n, outputs, noise);
                    (x, Targets::Values(y))
                };
                Dataset::split(draw(train), draw(test))
            }
        }
    }
}

/// The embedded digits, split (i ≡ 4 mod 5 → test) and standardized by the training pixels.
fn digits() -> Dataset {
    let mut rows: Vec<(Vec<f64>, usize)> = Vec::with_capacity(1797);
    for line in DIGITS_CSV.lines().filter(|l| !l.trim().is_empty()) {
        let v: Vec<u32> = line
            .split(',')
            .map(|s| {
                s.trim()
                    .parse()
                    .expect("embedded digits.csv is well formed")
            })
            .collect();
        rows.push((v[..64].iter().map(|&p| p as f64).collect(), v[64] as usize));
    }
    // Stratified: the images of each class, in file order, are numbered 0, 1, 2, …; number
    // j ≡ 4 (mod 5) is a test image. (The file cycles through the classes, so a rule on the
    // file index alone would put mostly 4s and 9s in the test set.)
    let mut seen = [0usize; 10];
    let (train, test): (Vec<_>, Vec<_>) = rows
        .into_iter()
        .map(|r| {
            let j = seen[r.1];
            seen[r.1] += 1;
            (j, r)
        })
        .partition(|(j, _)| j % 5 != 4);
    let n = (train.len() * 64) as f64;
    let mean = train.iter().flat_map(|(_, r)| r.0.iter()).sum::<f64>() / n;
    let var = train
        .iter()
        .flat_map(|(_, r)| r.0.iter())
        .map(|p| (p - mean).powi(2))
        .sum::<f64>()
        / n;
    let s = var.sqrt();
    let pack = |set: Vec<(usize, (Vec<f64>, usize))>| {
        let labels = set.iter().map(|(_, r)| r.1).collect();
        let x = Array2::from_shape_vec(
            (set.len(), 64),
            set.into_iter()
                .flat_map(|(_, r)| r.0.into_iter().map(|p| (p - mean) / s))
                .collect(),
        )
        .expect("64 pixels per image");
        (x, Targets::Classes(labels))
    };
    Dataset::split(pack(train), pack(test))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_split_and_scaling() {
        let d = Task::Digits.dataset(0, &Features::dense(64));
        assert_eq!((d.x_train.nrows(), d.x_test.nrows()), Task::Digits.sizes());
        assert_eq!(d.x_train.ncols(), 64);
        // Standardized on the training pixels: mean 0, E[x²] = 1.
        let n = d.x_train.len() as f64;
        assert!((d.x_train.sum() / n).abs() < 1e-12);
        assert!((d.x_train.mapv(|v| v * v).sum() / n - 1.0).abs() < 1e-12);
        // Stratified: every class is 10% ± 1 point of both sets.
        for t in [&d.y_train, &d.y_test] {
            let Targets::Classes(c) = t else { panic!() };
            for k in 0..10 {
                let f = c.iter().filter(|&&y| y == k).count() as f64 / c.len() as f64;
                assert!((f - 0.1).abs() < 0.01, "class {k}: {f}");
            }
        }
        assert!(Task::Digits.misfit(&Features::dense(64)).is_none());
        let conv = Features {
            channels: 1,
            image: vec![8, 8],
        };
        assert!(Task::Digits.misfit(&conv).is_none());
        let m = Task::Digits.misfit(&Features::dense(128)).unwrap();
        assert!(m.contains("64 inputs") && m.contains("128"), "{m}");
    }

    #[test]
    fn generated_tasks_are_deterministic_with_unit_second_moment() {
        let t = Task::Mixture {
            classes: 4,
            train: 400,
            test: 100,
            noise: 2.0,
        };
        let f = Features::dense(32);
        let a = t.dataset(5, &f);
        assert_eq!(a, t.dataset(5, &f));
        assert_ne!(a.x_train, t.dataset(6, &f).x_train);
        let m2 = a.x_train.mapv(|v| v * v).mean().unwrap();
        assert!((m2 - 1.0).abs() < 0.1, "{m2}");
        let teacher = Task::Teacher {
            depth: 0,
            outputs: 2,
            train: 300,
            test: 50,
            noise: 0.0,
        };
        let d = teacher.dataset(1, &f);
        assert_eq!(d.x_test.dim(), (50, 32));
        let Targets::Values(y) = &d.y_train else {
            panic!()
        };
        assert_eq!(y.dim(), (300, 2));
    }
}
