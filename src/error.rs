//! Error classification: bad input (exit 2) versus failures while running (exit 1).
//!
//! Every error caused by what the user gave us — a malformed file, an unknown name, an invalid
//! value, a bad shape — is a [`BadInput`]. `main` walks the `anyhow` chain and exits with status 2
//! when it finds one; everything else exits 1.

use std::fmt;

/// A user error: the message names the file, key or value and what is valid.
#[derive(Debug, Clone, PartialEq)]
pub struct BadInput(pub String);

impl fmt::Display for BadInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BadInput {}

/// The run was stopped by SIGINT/SIGTERM after committing what was finished (exit 130).
#[derive(Debug, Clone, PartialEq)]
pub struct Interrupted(pub String);

impl fmt::Display for Interrupted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Interrupted {}

/// Exit status for an error chain: 2 bad input, 130 interrupted, 1 anything else.
pub fn exit_code(err: &anyhow::Error) -> i32 {
    if is_bad_input(err) {
        2
    } else if err
        .chain()
        .any(|e| e.downcast_ref::<Interrupted>().is_some())
    {
        130
    } else {
        1
    }
}

/// Build a [`BadInput`] wrapped in `anyhow`.
pub fn bad(msg: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(BadInput(msg.into()))
}

/// True when any error in the chain is a [`BadInput`] (exit status 2).
pub fn is_bad_input(err: &anyhow::Error) -> bool {
    err.chain().any(|e| e.downcast_ref::<BadInput>().is_some())
}

/// Levenshtein distance, used to suggest the nearest valid name.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, &cb) in b.iter().enumerate() {
            let cost = usize::from(ca != cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// "unknown X 'foo' (did you mean 'bar'?); valid: a, b, c".
pub fn unknown_name(what: &str, given: &str, valid: &[&str]) -> String {
    let lower = given.to_ascii_lowercase();
    let best = valid
        .iter()
        .map(|v| (edit_distance(&lower, v), *v))
        .min_by_key(|(d, _)| *d);
    let hint = match best {
        Some((d, v)) if d <= 3.max(lower.len() / 3) || v.contains(&lower) && !lower.is_empty() => {
            format!(" (did you mean '{v}'?)")
        }
        _ => String::new(),
    };
    format!(
        "unknown {what} '{given}'{hint}; valid: {}",
        valid.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_nearest() {
        let m = unknown_name("activation", "rellu", &["relu", "tanh", "gelu"]);
        assert!(m.contains("did you mean 'relu'"), "{m}");
        assert!(m.contains("valid: relu, tanh, gelu"), "{m}");
        let m = unknown_name("activation", "zzzzzzzzzz", &["relu", "tanh"]);
        assert!(!m.contains("did you mean"), "{m}");
    }

    #[test]
    fn chain_detection() {
        let e = bad("x").context("reading file");
        assert!(is_bad_input(&e));
        assert!(!is_bad_input(&anyhow::anyhow!("io")));
    }
}
