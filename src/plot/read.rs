//! Reading a results folder back from its CSV files alone (`summary.csv`, `cells.csv`, and when
//! present `layers.csv` and `hist.csv`). Columns are found by name, so extra columns added at the
//! end later are ignored. Every problem — a missing file, a missing column, a short row, a field
//! that is not a number — is bad input (exit 2) naming the file and the line.

use crate::error::bad;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// The parameters that identify a cell (the sweep point) in every table.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CellKey {
    /// The `network` column (`mlp`, `conv2d(kernel=3 padding=zeros image=32x32)`).
    pub network: String,
    pub activation: String,
    pub init: String,
    /// The `widths` column (`64-128-256`); empty in folders written before profiles existed.
    pub widths: String,
    pub width: usize,
    pub depth: usize,
}

/// Cells drawn in one panel: the same network, activation and width class (a constant width,
/// across depths; or one whole width profile).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Family {
    pub network: String,
    pub activation: String,
    /// `width 512` for constant-width profiles, `widths 3-64-128` otherwise.
    pub class: String,
}

impl CellKey {
    /// Whether the profile is constant (every n_l equal), so cells differ only by depth.
    pub fn constant_width(&self) -> bool {
        let mut parts = self.widths.split('-').filter(|p| !p.is_empty());
        match parts.next() {
            None => true,
            Some(first) => parts.all(|p| p == first),
        }
    }

    pub fn family(&self) -> Family {
        let class = if self.network.starts_with("resnet") {
            // A ResNet's profile is [n_0, stem, after each block]: name its stages.
            let mut stages: Vec<&str> = Vec::new();
            for w in self.widths.split('-').skip(1).filter(|w| !w.is_empty()) {
                if stages.last() != Some(&w) {
                    stages.push(w);
                }
            }
            match stages.len() {
                0 => format!("width {}", self.width),
                1 => format!("width {}", stages[0]),
                _ => format!("stages {}", stages.join("-")),
            }
        } else if self.constant_width() {
            format!("width {}", self.width)
        } else {
            format!("widths {}", self.widths)
        };
        Family {
            network: self.network.clone(),
            activation: self.activation.clone(),
            class,
        }
    }
}

/// Mean, sample std (absent with one trial), min and max over trials.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Spread {
    pub mean: f64,
    pub std: Option<f64>,
    pub min: f64,
    pub max: f64,
}

/// One `summary.csv` row.
#[derive(Debug, Clone, PartialEq)]
pub struct SummaryRow {
    pub key: CellKey,
    pub batch: usize,
    pub layer: usize,
    pub trials: usize,
    pub preact_var: Spread,
    pub act_sq_mean: Spread,
    pub grad_var: Spread,
    pub weight_grad_var: Spread,
    pub theory_preact_var: Option<f64>,
    pub theory_grad_var: Option<f64>,
}

/// One `cells.csv` row.
#[derive(Debug, Clone, PartialEq)]
pub struct CellRow {
    pub key: CellKey,
    pub batch: usize,
    pub trials: usize,
    pub forward_ratio: f64,
    pub backward_ratio: f64,
    pub theory_forward_ratio: Option<f64>,
    pub theory_backward_ratio: Option<f64>,
    pub nonfinite_layers: usize,
    /// log10 of the forward ratio over trials (`log10_forward_ratio_*`); `None` when the file
    /// predates these columns or some trial's ratio had no logarithm (0, inf, NaN).
    pub log10_forward: Option<Spread>,
    /// The same for the backward ratio.
    pub log10_backward: Option<Spread>,
    /// Trials whose values underflowed / overflowed the dtype (0 when the columns are absent).
    pub underflow_trials: usize,
    pub overflow_trials: usize,
}

impl CellRow {
    /// Trials that left the dtype's range either way.
    pub fn out_of_range_trials(&self) -> usize {
        self.underflow_trials + self.overflow_trials
    }

    /// Same rule as the run's warning: a layer met inf/NaN, or a ratio left the finite range.
    pub fn collapsed(&self) -> bool {
        self.nonfinite_layers > 0
            || !self.forward_ratio.is_finite()
            || !self.backward_ratio.is_finite()
            || self.out_of_range_trials() > 0
    }
}

/// The `layers.csv` columns the charts use (per-trial ratios for the across-depth bands).
#[derive(Debug, Clone, PartialEq)]
pub struct LayerRow {
    pub key: CellKey,
    pub trial: usize,
    pub layer: usize,
    pub preact_var: f64,
    pub grad_var: f64,
}

/// One `hist.csv` row.
#[derive(Debug, Clone, PartialEq)]
pub struct HistRow {
    pub key: CellKey,
    pub layer: usize,
    pub quantity: String,
    pub bin_lo: f64,
    pub bin_hi: f64,
    pub count: u64,
}

/// Everything the charts and the report read from a results folder.
#[derive(Debug, Clone)]
pub struct ResultsData {
    pub dir: PathBuf,
    pub experiment: String,
    pub summary: Vec<SummaryRow>,
    pub cells: Vec<CellRow>,
    /// Empty when `layers.csv` is absent.
    pub layers: Vec<LayerRow>,
    /// Empty when `hist.csv` is absent.
    pub hist: Vec<HistRow>,
    /// Empty when `blocks_summary.csv` is absent (no residual cells).
    pub blocks: Vec<BlockRow>,
}

/// One `blocks_summary.csv` row: the Signal Propagation Plot quantities over trials.
#[derive(Debug, Clone, PartialEq)]
pub struct BlockRow {
    pub key: CellKey,
    pub block: usize,
    pub trials: usize,
    pub avg_channel_sq_mean: Spread,
    pub avg_channel_var: Spread,
    pub branch_avg_channel_var: Spread,
    pub second_moment: Spread,
    pub theory_second_moment: Option<f64>,
    pub theory_avg_channel_sq_mean: Option<f64>,
    pub theory_avg_channel_var: Option<f64>,
    pub theory_branch_avg_channel_var: Option<f64>,
}

/// Read `blocks_summary.csv`.
pub fn read_blocks(path: &Path) -> anyhow::Result<Vec<BlockRow>> {
    let mut cols: Vec<String> = KEY_COLUMNS.iter().map(|s| s.to_string()).collect();
    cols.extend(["block", "trials"].map(String::from));
    for m in [
        "avg_channel_sq_mean",
        "avg_channel_var",
        "branch_avg_channel_var",
        "second_moment",
    ] {
        for s in ["mean", "std", "min", "max"] {
            cols.push(format!("{m}_{s}"));
        }
    }
    cols.extend(
        [
            "theory_second_moment",
            "theory_avg_channel_sq_mean",
            "theory_avg_channel_var",
            "theory_branch_avg_channel_var",
        ]
        .map(String::from),
    );
    let required: Vec<&str> = cols.iter().map(|s| s.as_str()).collect();
    let t = Table::read(path, &required)?;
    t.parse(|r| {
        Ok(BlockRow {
            key: r.key()?,
            block: r.size("block")?,
            trials: r.size("trials")?,
            avg_channel_sq_mean: r.spread("avg_channel_sq_mean")?,
            avg_channel_var: r.spread("avg_channel_var")?,
            branch_avg_channel_var: r.spread("branch_avg_channel_var")?,
            second_moment: r.spread("second_moment")?,
            theory_second_moment: r.opt("theory_second_moment")?,
            theory_avg_channel_sq_mean: r.opt("theory_avg_channel_sq_mean")?,
            theory_avg_channel_var: r.opt("theory_avg_channel_var")?,
            theory_branch_avg_channel_var: r.opt("theory_branch_avg_channel_var")?,
        })
    })
}

impl ResultsData {
    /// Activations in order of first appearance (the sweep order).
    pub fn activations(&self) -> Vec<String> {
        first_seen(self.cells.iter().map(|c| c.key.activation.clone()))
    }
    /// Init labels in order of first appearance; the index is the init's colour everywhere.
    pub fn inits(&self) -> Vec<String> {
        first_seen(self.cells.iter().map(|c| c.key.init.clone()))
    }
    pub fn widths(&self) -> Vec<usize> {
        first_seen(self.cells.iter().map(|c| c.key.width))
    }
    /// Panels in sweep order ([`Family`]).
    pub fn families(&self) -> Vec<Family> {
        first_seen(self.cells.iter().map(|c| c.key.family()))
    }
    /// A panel's title: the activation, then the network when it is not a plain MLP (or several
    /// are swept), then the width class when it is swept or is a profile.
    pub fn family_title(&self, f: &Family) -> String {
        let fams = self.families();
        let networks = first_seen(fams.iter().map(|g| g.network.clone()));
        let classes = first_seen(fams.iter().map(|g| g.class.clone()));
        let mut t = f.activation.clone();
        if networks.len() > 1 || f.network != "mlp" {
            t.push_str(&format!(" · {}", f.network));
        }
        if classes.len() > 1 || f.class.starts_with("widths") || f.class.starts_with("stages") {
            t.push_str(&format!(" · {}", f.class));
        }
        t
    }
    /// Depths in increasing order.
    pub fn depths(&self) -> Vec<usize> {
        let mut d = first_seen(self.cells.iter().map(|c| c.key.depth));
        d.sort_unstable();
        d
    }
    /// Trials per cell (the largest seen).
    pub fn trials(&self) -> usize {
        self.cells.iter().map(|c| c.trials).max().unwrap_or(0)
    }
}

pub fn first_seen<T: PartialEq + Clone>(items: impl Iterator<Item = T>) -> Vec<T> {
    let mut out: Vec<T> = Vec::new();
    for x in items {
        if !out.contains(&x) {
            out.push(x);
        }
    }
    out
}

/// A CSV table with its header resolved to column indices.
struct Table {
    shown: String,
    columns: HashMap<String, usize>,
    rows: Vec<(u64, csv::StringRecord)>,
}

/// One row being parsed: knows its file and line for messages.
struct Row<'a> {
    table: &'a Table,
    line: u64,
    rec: &'a csv::StringRecord,
}

impl Row<'_> {
    fn at(&self) -> String {
        format!("{}: line {}", self.table.shown, self.line)
    }
    fn raw(&self, col: &str) -> &str {
        let i = self.table.columns[col];
        self.rec.get(i).unwrap_or("").trim()
    }
    fn text(&self, col: &str) -> anyhow::Result<String> {
        let v = self.raw(col);
        if v.is_empty() {
            return Err(bad(format!("{}: column '{col}' is empty", self.at())));
        }
        Ok(v.to_string())
    }
    fn size(&self, col: &str) -> anyhow::Result<usize> {
        let v = self.raw(col);
        v.parse::<usize>().map_err(|_| {
            bad(format!(
                "{}: column '{col}': expected a non-negative integer, found '{v}'",
                self.at()
            ))
        })
    }
    fn num(&self, col: &str) -> anyhow::Result<f64> {
        self.opt(col)?.ok_or_else(|| {
            bad(format!(
                "{}: column '{col}' is empty, expected a number",
                self.at()
            ))
        })
    }
    /// Empty field → None; `inf`, `-inf`, `NaN` are numbers.
    fn opt(&self, col: &str) -> anyhow::Result<Option<f64>> {
        let v = self.raw(col);
        if v.is_empty() {
            return Ok(None);
        }
        v.parse::<f64>().map(Some).map_err(|_| {
            bad(format!(
                "{}: column '{col}': expected a number, found '{v}'",
                self.at()
            ))
        })
    }
    /// Whether the file has column `col` (for columns newer than the oldest readable files).
    fn has(&self, col: &str) -> bool {
        self.table.columns.contains_key(col)
    }
    /// `<metric>_{mean,std,min,max}` when the columns exist and the mean is given.
    fn opt_spread(&self, metric: &str) -> anyhow::Result<Option<Spread>> {
        let mean = format!("{metric}_mean");
        if !self.has(&mean) || self.opt(&mean)?.is_none() {
            return Ok(None);
        }
        self.spread(metric).map(Some)
    }
    /// An optional count column: 0 when the column is absent or empty.
    fn opt_size(&self, col: &str) -> anyhow::Result<usize> {
        if !self.has(col) || self.raw(col).is_empty() {
            return Ok(0);
        }
        self.size(col)
    }
    fn spread(&self, metric: &str) -> anyhow::Result<Spread> {
        Ok(Spread {
            mean: self.num(&format!("{metric}_mean"))?,
            std: self.opt(&format!("{metric}_std"))?,
            min: self.num(&format!("{metric}_min"))?,
            max: self.num(&format!("{metric}_max"))?,
        })
    }
    fn key(&self) -> anyhow::Result<CellKey> {
        let optional = |col: &str, default: &str| {
            if self.table.columns.contains_key(col) {
                self.raw(col).to_string()
            } else {
                default.to_string()
            }
        };
        let key = CellKey {
            network: optional("network", "mlp"),
            activation: self.text("activation")?,
            init: self.text("init")?,
            widths: optional("widths", ""),
            width: self.size("width")?,
            depth: self.size("depth")?,
        };
        if key.depth == 0 || key.width == 0 {
            return Err(bad(format!(
                "{}: depth and width must be at least 1",
                self.at()
            )));
        }
        Ok(key)
    }
}

impl Table {
    fn read(path: &Path, required: &[&str]) -> anyhow::Result<Table> {
        let shown = path.display().to_string();
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(bad(format!(
                    "{shown}: missing (a results folder needs it; rerun `initlab run`)"
                )))
            }
            Err(e) => return Err(bad(format!("{shown}: cannot read: {e}"))),
        };
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(&bytes[..]);
        let mut records = reader.records();
        let header = match records.next() {
            None => {
                return Err(bad(format!(
                    "{shown}: line 1: empty file, expected a header row"
                )))
            }
            Some(Err(e)) => return Err(bad(format!("{shown}: line 1: {}", csv_error(&e)))),
            Some(Ok(h)) => h,
        };
        let columns: HashMap<String, usize> = header
            .iter()
            .enumerate()
            .map(|(i, name)| (name.trim().to_string(), i))
            .collect();
        if let Some(missing) = required.iter().find(|c| !columns.contains_key(**c)) {
            return Err(bad(format!(
                "{shown}: line 1: header lacks column '{missing}' (is this an initlab {} file?)",
                path.file_name()
                    .and_then(|n| n.to_str())
                    .unwrap_or("results")
            )));
        }
        let width = header.len();
        let mut rows = Vec::new();
        for rec in records {
            let rec = rec.map_err(|e| {
                let line = e.position().map(|p| p.line()).unwrap_or(0);
                bad(format!("{shown}: line {line}: {}", csv_error(&e)))
            })?;
            let line = rec.position().map(|p| p.line()).unwrap_or(0);
            if rec.len() == 1 && rec.get(0).is_some_and(|f| f.trim().is_empty()) {
                continue; // a blank line
            }
            if rec.len() != width {
                return Err(bad(format!(
                    "{shown}: line {line}: expected {width} fields as in the header, found {}",
                    rec.len()
                )));
            }
            rows.push((line, rec));
        }
        Ok(Table {
            shown,
            columns,
            rows,
        })
    }

    fn parse<T>(&self, f: impl Fn(&Row) -> anyhow::Result<T>) -> anyhow::Result<Vec<T>> {
        self.rows
            .iter()
            .map(|(line, rec)| {
                f(&Row {
                    table: self,
                    line: *line,
                    rec,
                })
            })
            .collect()
    }

    fn experiment(&self) -> Option<String> {
        let i = *self.columns.get("experiment")?;
        self.rows
            .first()
            .and_then(|(_, r)| r.get(i))
            .map(|s| s.to_string())
    }
}

fn csv_error(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::Utf8 { .. } => "not valid UTF-8 text".into(),
        _ => e.to_string(),
    }
}

const KEY_COLUMNS: &[&str] = &["experiment", "activation", "init", "depth", "width"];

fn summary_columns() -> Vec<String> {
    let mut cols: Vec<String> = KEY_COLUMNS.iter().map(|s| s.to_string()).collect();
    cols.extend(
        [
            "batch",
            "layer",
            "trials",
            "theory_preact_var",
            "theory_grad_var",
        ]
        .map(String::from),
    );
    for m in ["preact_var", "act_sq_mean", "grad_var", "weight_grad_var"] {
        for s in ["mean", "std", "min", "max"] {
            cols.push(format!("{m}_{s}"));
        }
    }
    cols
}

/// Read `summary.csv`.
pub fn read_summary(path: &Path) -> anyhow::Result<(Option<String>, Vec<SummaryRow>)> {
    let cols = summary_columns();
    let required: Vec<&str> = cols.iter().map(|s| s.as_str()).collect();
    let t = Table::read(path, &required)?;
    let rows = t.parse(|r| {
        let row = SummaryRow {
            key: r.key()?,
            batch: r.size("batch")?,
            layer: r.size("layer")?,
            trials: r.size("trials")?,
            preact_var: r.spread("preact_var")?,
            act_sq_mean: r.spread("act_sq_mean")?,
            grad_var: r.spread("grad_var")?,
            weight_grad_var: r.spread("weight_grad_var")?,
            theory_preact_var: r.opt("theory_preact_var")?,
            theory_grad_var: r.opt("theory_grad_var")?,
        };
        // A ResNet has more weighted layers than its depth (blocks).
        let resnet = row.key.network.starts_with("resnet");
        if row.layer == 0 || (!resnet && row.layer > row.key.depth) {
            return Err(bad(format!(
                "{}: layer {} outside 1..={}",
                r.at(),
                row.layer,
                row.key.depth
            )));
        }
        Ok(row)
    })?;
    Ok((t.experiment(), rows))
}

/// Read `cells.csv`.
pub fn read_cells(path: &Path) -> anyhow::Result<(Option<String>, Vec<CellRow>)> {
    let mut required = KEY_COLUMNS.to_vec();
    required.extend([
        "batch",
        "trials",
        "forward_ratio",
        "backward_ratio",
        "theory_forward_ratio",
        "theory_backward_ratio",
        "nonfinite_layers",
    ]);
    let t = Table::read(path, &required)?;
    let rows = t.parse(|r| {
        Ok(CellRow {
            key: r.key()?,
            batch: r.size("batch")?,
            trials: r.size("trials")?,
            forward_ratio: r.num("forward_ratio")?,
            backward_ratio: r.num("backward_ratio")?,
            theory_forward_ratio: r.opt("theory_forward_ratio")?,
            theory_backward_ratio: r.opt("theory_backward_ratio")?,
            nonfinite_layers: r.size("nonfinite_layers")?,
            log10_forward: r.opt_spread("log10_forward_ratio")?,
            log10_backward: r.opt_spread("log10_backward_ratio")?,
            underflow_trials: r.opt_size("underflow_trials")?,
            overflow_trials: r.opt_size("overflow_trials")?,
        })
    })?;
    Ok((t.experiment(), rows))
}

/// One `train.csv` row, as read (issue 14; the columns the training charts use).
#[derive(Debug, Clone, PartialEq)]
pub struct TrainCsvRow {
    pub network: String,
    pub activation: String,
    pub init: String,
    pub depth: usize,
    pub widths: String,
    pub trial: usize,
    pub lr: f64,
    pub step: usize,
    pub train_loss: f64,
    pub test_loss: f64,
    /// NaN where empty (regression tasks).
    pub test_accuracy: f64,
    pub grad_norm_first: f64,
    pub grad_norm_last: f64,
    pub sigma_w2: f64,
    pub sigma_b2: f64,
    pub theory_xi_c: f64,
}

/// Read `dir/train.csv` (None when absent); problems are bad input naming file and line.
/// Empty numeric fields read as NaN.
pub fn read_train(dir: &Path) -> anyhow::Result<Option<Vec<TrainCsvRow>>> {
    let path = dir.join("train.csv");
    if !path.exists() {
        return Ok(None);
    }
    let t = Table::read(
        &path,
        &[
            "network",
            "activation",
            "init",
            "depth",
            "widths",
            "trial",
            "lr",
            "step",
            "train_loss",
            "test_loss",
            "test_accuracy",
            "grad_norm_first",
            "grad_norm_last",
            "sigma_w2",
            "sigma_b2",
            "theory_xi_c",
        ],
    )?;
    let rows = t.parse(|r| {
        let f = |c: &str| r.opt(c).map(|v| v.unwrap_or(f64::NAN));
        Ok(TrainCsvRow {
            network: r.raw("network").to_string(),
            activation: r.raw("activation").to_string(),
            init: r.raw("init").to_string(),
            depth: r.size("depth")?,
            widths: r.raw("widths").to_string(),
            trial: r.size("trial")?,
            lr: f("lr")?,
            step: r.size("step")?,
            train_loss: f("train_loss")?,
            test_loss: f("test_loss")?,
            test_accuracy: f("test_accuracy")?,
            grad_norm_first: f("grad_norm_first")?,
            grad_norm_last: f("grad_norm_last")?,
            sigma_w2: f("sigma_w2")?,
            sigma_b2: f("sigma_b2")?,
            theory_xi_c: f("theory_xi_c")?,
        })
    })?;
    Ok(Some(rows))
}

/// Read `layers.csv` (only the columns the charts need).
pub fn read_layers(path: &Path) -> anyhow::Result<Vec<LayerRow>> {
    let mut required = KEY_COLUMNS.to_vec();
    required.extend(["trial", "layer", "preact_var", "grad_var"]);
    let t = Table::read(path, &required)?;
    t.parse(|r| {
        Ok(LayerRow {
            key: r.key()?,
            trial: r.size("trial")?,
            layer: r.size("layer")?,
            preact_var: r.num("preact_var")?,
            grad_var: r.num("grad_var")?,
        })
    })
}

/// Read `hist.csv`.
pub fn read_hist(path: &Path) -> anyhow::Result<Vec<HistRow>> {
    let mut required = KEY_COLUMNS.to_vec();
    required.extend(["layer", "quantity", "bin_lo", "bin_hi", "count"]);
    let t = Table::read(path, &required)?;
    t.parse(|r| {
        let row = HistRow {
            key: r.key()?,
            layer: r.size("layer")?,
            quantity: r.text("quantity")?,
            bin_lo: r.num("bin_lo")?,
            bin_hi: r.num("bin_hi")?,
            count: r.raw("count").parse::<u64>().map_err(|_| {
                bad(format!(
                    "{}: column 'count': expected a count, found '{}'",
                    r.at(),
                    r.raw("count")
                ))
            })?,
        };
        if !(row.bin_lo.is_finite() && row.bin_hi.is_finite() && row.bin_hi >= row.bin_lo) {
            return Err(bad(format!(
                "{}: bin [{}, {}] is not a finite interval",
                r.at(),
                row.bin_lo,
                row.bin_hi
            )));
        }
        Ok(row)
    })
}

/// Read a results folder: `summary.csv` and `cells.csv` are required, `layers.csv` and
/// `hist.csv` are read when present.
pub fn read_results(dir: &Path) -> anyhow::Result<ResultsData> {
    if !dir.is_dir() {
        return Err(bad(format!(
            "{}: not a results folder (no such directory)",
            dir.display()
        )));
    }
    let (name_s, summary) = read_summary(&dir.join("summary.csv"))?;
    let (name_c, cells) = read_cells(&dir.join("cells.csv"))?;
    if cells.is_empty() {
        return Err(bad(format!(
            "{}: line 2: no data rows",
            dir.join("cells.csv").display()
        )));
    }
    if summary.is_empty() {
        return Err(bad(format!(
            "{}: line 2: no data rows",
            dir.join("summary.csv").display()
        )));
    }
    let layers_path = dir.join("layers.csv");
    let layers = if layers_path.exists() {
        read_layers(&layers_path)?
    } else {
        Vec::new()
    };
    let hist_path = dir.join("hist.csv");
    let hist = if hist_path.exists() {
        read_hist(&hist_path)?
    } else {
        Vec::new()
    };
    let blocks_path = dir.join("blocks_summary.csv");
    let blocks = if blocks_path.exists() {
        read_blocks(&blocks_path)?
    } else {
        Vec::new()
    };
    let experiment = name_c.or(name_s).unwrap_or_else(|| {
        dir.file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("results")
            .to_string()
    });
    Ok(ResultsData {
        dir: dir.to_path_buf(),
        experiment,
        summary,
        cells,
        layers,
        hist,
        blocks,
    })
}

// ---- issue 13: extra cells.csv columns by name ----

/// One `cells.csv` row's key, trials, and the values of the asked columns (`None` for an
/// empty field or a column the file lacks: folders written before the column existed).
pub type CellColumns = (CellKey, usize, Vec<Option<f64>>);

/// Read the named numeric columns of `cells.csv` beside each row's key and trial count.
pub fn read_cell_columns(path: &Path, cols: &[&str]) -> anyhow::Result<Vec<CellColumns>> {
    let mut required = KEY_COLUMNS.to_vec();
    required.push("trials");
    let t = Table::read(path, &required)?;
    t.parse(|r| {
        let values = cols
            .iter()
            .map(|c| {
                if r.table.columns.contains_key(*c) {
                    r.opt(c)
                } else {
                    Ok(None)
                }
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok((r.key()?, r.size("trials")?, values))
    })
}

/// `spectrum.csv`: each row's key and singular value (issue 13).
pub fn read_spectrum(path: &Path) -> anyhow::Result<Vec<(CellKey, f64)>> {
    let mut required = KEY_COLUMNS.to_vec();
    required.push("singular_value");
    let t = Table::read(path, &required)?;
    t.parse(|r| Ok((r.key()?, r.num("singular_value")?)))
}

/// `spectrum_theory.csv`: each row's key, log10 λ and density (issue 13).
pub fn read_spectrum_theory(path: &Path) -> anyhow::Result<Vec<(CellKey, f64, f64)>> {
    let mut required = KEY_COLUMNS.to_vec();
    required.extend(["log10_lambda", "density"]);
    let t = Table::read(path, &required)?;
    t.parse(|r| Ok((r.key()?, r.num("log10_lambda")?, r.num("density")?)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    const CELLS: &str = "experiment,network,activation,init,depth,width,batch,trials,forward_ratio,backward_ratio,theory_forward_ratio,theory_backward_ratio,nonfinite_layers\n\
        e,mlp,relu,He,3,4,8,2,1.5,inf,,0.5,1\n";

    #[test]
    fn reads_cells_with_empty_theory_and_inf() {
        let d = tempfile::tempdir().unwrap();
        let p = write(d.path(), "cells.csv", CELLS);
        let (name, rows) = read_cells(&p).unwrap();
        assert_eq!(name.as_deref(), Some("e"));
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].theory_forward_ratio, None);
        assert_eq!(rows[0].theory_backward_ratio, Some(0.5));
        assert!(rows[0].backward_ratio.is_infinite());
        assert!(rows[0].collapsed());
    }

    #[test]
    fn errors_name_file_and_line() {
        let d = tempfile::tempdir().unwrap();
        let p = write(
            d.path(),
            "cells.csv",
            &(CELLS.to_string() + "e,mlp,relu,He,3,4,8,2,abc,1,,,0\n"),
        );
        let e = read_cells(&p).unwrap_err();
        assert!(crate::error::is_bad_input(&e));
        let m = e.to_string();
        assert!(
            m.contains("cells.csv: line 3") && m.contains("forward_ratio") && m.contains("abc"),
            "{m}"
        );

        let p = write(d.path(), "cells.csv", &(CELLS.to_string() + "e,mlp,relu\n"));
        let m = read_cells(&p).unwrap_err().to_string();
        assert!(
            m.contains("line 3") && m.contains("expected 13 fields"),
            "{m}"
        );

        let p = write(d.path(), "cells.csv", "experiment,activation\n");
        let m = read_cells(&p).unwrap_err().to_string();
        assert!(m.contains("line 1") && m.contains("lacks column"), "{m}");

        let m = read_cells(&d.path().join("nope.csv"))
            .unwrap_err()
            .to_string();
        assert!(m.contains("nope.csv: missing"), "{m}");
    }
}
