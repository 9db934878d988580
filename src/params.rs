//! Typed access to a small TOML parameter table (an activation's or an init scheme's
//! parameters) with errors that name where the table came from, the key, and what is valid.

use crate::error::{bad, unknown_name};
use toml::{Table, Value};

/// A parameter table being consumed key by key; [`Params::finish`] rejects leftovers.
pub struct Params {
    table: Table,
    /// Where the table lives, e.g. "experiments/x.toml: init[1].weight".
    pub at: String,
    /// What owns these parameters, e.g. "scheme 'kaiming_normal'".
    pub owner: String,
    known: Vec<&'static str>,
}

impl Params {
    pub fn new(table: Table, at: impl Into<String>, owner: impl Into<String>) -> Self {
        Params {
            table,
            at: at.into(),
            owner: owner.into(),
            known: Vec::new(),
        }
    }

    fn err(&self, key: &str, msg: impl std::fmt::Display) -> anyhow::Error {
        bad(format!("{}: key '{key}' of {}: {msg}", self.at, self.owner))
    }

    /// A finite number (integers accepted), or `default` when absent.
    pub fn f64_or(&mut self, key: &'static str, default: f64) -> anyhow::Result<f64> {
        Ok(self.f64_opt(key)?.unwrap_or(default))
    }

    pub fn f64_opt(&mut self, key: &'static str) -> anyhow::Result<Option<f64>> {
        self.known.push(key);
        let v = match self.table.remove(key) {
            None => return Ok(None),
            Some(Value::Float(f)) => f,
            Some(Value::Integer(i)) => i as f64,
            Some(other) => {
                return Err(self.err(
                    key,
                    format!("expected a number, found {}", other.type_str()),
                ))
            }
        };
        if !v.is_finite() {
            return Err(self.err(key, format!("must be a finite number, found {v}")));
        }
        Ok(Some(v))
    }

    /// The raw value of `key` (any type), removed from the table; `None` when absent.
    pub fn value_opt(&mut self, key: &'static str) -> Option<Value> {
        self.known.push(key);
        self.table.remove(key)
    }

    /// The raw value of `key` without consuming it.
    pub fn peek(&self, key: &str) -> Option<&Value> {
        self.table.get(key)
    }

    /// A required finite number.
    pub fn f64_req(&mut self, key: &'static str) -> anyhow::Result<f64> {
        match self.f64_opt(key)? {
            Some(v) => Ok(v),
            None => Err(self.err(key, "is required")),
        }
    }

    /// A positive integer, or `default` when absent.
    pub fn usize_or(&mut self, key: &'static str, default: usize) -> anyhow::Result<usize> {
        self.known.push(key);
        match self.table.remove(key) {
            None => Ok(default),
            Some(Value::Integer(i)) if i >= 1 => Ok(i as usize),
            Some(Value::Integer(i)) => {
                Err(self.err(key, format!("must be a positive integer, found {i}")))
            }
            Some(other) => Err(self.err(
                key,
                format!("expected an integer, found {}", other.type_str()),
            )),
        }
    }

    /// One of `valid`, or `default` when absent.
    pub fn choice_or(
        &mut self,
        key: &'static str,
        default: &'static str,
        valid: &[&'static str],
    ) -> anyhow::Result<&'static str> {
        self.known.push(key);
        match self.table.remove(key) {
            None => Ok(default),
            Some(Value::String(s)) => valid
                .iter()
                .find(|v| **v == s)
                .copied()
                .ok_or_else(|| self.err(key, unknown_name(key, &s, valid))),
            Some(other) => Err(self.err(
                key,
                format!(
                    "expected a string, found {}; valid: {}",
                    other.type_str(),
                    valid.join(", ")
                ),
            )),
        }
    }

    /// Reject any key that no accessor asked for.
    pub fn finish(self) -> anyhow::Result<()> {
        if let Some(key) = self.table.keys().next() {
            let valid = if self.known.is_empty() {
                "none (it takes no parameters)".to_string()
            } else {
                self.known.join(", ")
            };
            return Err(bad(format!(
                "{}: unknown key '{key}' for {}; valid keys: {valid}",
                self.at, self.owner
            )));
        }
        Ok(())
    }
}

/// Parse `text` either as a bare name or as an inline-table body (`name = "x", k = v`).
/// Returns the table; a bare name becomes `{ <name_key> = name }`.
pub fn parse_inline(text: &str, name_key: &str, at: &str) -> anyhow::Result<Table> {
    let t = text.trim();
    if !t.contains('=') {
        let mut table = Table::new();
        table.insert(name_key.to_string(), Value::String(t.to_string()));
        return Ok(table);
    }
    let doc = format!("x = {{ {t} }}");
    let mut parsed: Table = toml::from_str(&doc).map_err(|e| {
        bad(format!(
            "{at}: cannot parse '{t}' as an inline TOML table: {}",
            e.message()
        ))
    })?;
    match parsed.remove("x") {
        Some(Value::Table(table)) => Ok(table),
        _ => Err(bad(format!("{at}: '{t}' is not an inline table body"))),
    }
}

/// Canonical `name(k=v, ...)` text for a label; floats in shortest round-trip form.
pub fn canonical(name: &str, params: &[(&str, String)]) -> String {
    if params.is_empty() {
        name.to_string()
    } else {
        let body: Vec<String> = params.iter().map(|(k, v)| format!("{k}={v}")).collect();
        format!("{name}({})", body.join(", "))
    }
}
