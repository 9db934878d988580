//! Helpers shared by the CLI test binaries: run the built `initlab`, write a file, read a CSV
//! into rows keyed by column name. Each test binary uses a subset.
#![allow(dead_code)]

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Run the `initlab` binary of this build with `args` in `cwd`.
pub fn initlab(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_initlab"))
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("spawn initlab")
}

/// Write `text` to `dir/name` and return the path.
pub fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    fs::write(&p, text).unwrap();
    p
}

/// One CSV row: column name → field.
pub type Row = HashMap<String, String>;

/// A CSV file's header and rows.
pub fn read_csv(path: &Path) -> (Vec<String>, Vec<Row>) {
    let mut r = csv::Reader::from_path(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let header: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
    let rows = r
        .records()
        .map(|rec| {
            header
                .iter()
                .cloned()
                .zip(rec.unwrap().iter().map(String::from))
                .collect()
        })
        .collect();
    (header, rows)
}

/// A numeric field (`inf`, `NaN` included); panics naming the column on anything else.
pub fn num(row: &Row, k: &str) -> f64 {
    row[k]
        .parse()
        .unwrap_or_else(|_| panic!("{k} = {:?}", row[k]))
}

/// The rows of a CSV file, without the header.
pub fn read_rows(path: &Path) -> Vec<Row> {
    read_csv(path).1
}

/// Assert that a command exited 0, showing its stderr otherwise.
pub fn ok(o: &Output) {
    assert!(
        o.status.success(),
        "exit {:?}: {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stderr)
    );
}

/// Assert that each of `files` has the same bytes in folders `a` and `b`.
pub fn same_files(a: &Path, b: &Path, files: &[&str]) {
    for f in files {
        assert_eq!(
            fs::read(a.join(f)).unwrap(),
            fs::read(b.join(f)).unwrap(),
            "{f} differs between {} and {}",
            a.display(),
            b.display()
        );
    }
}
