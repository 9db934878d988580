//! The `initlab` binary: everything lives in the library; this prints the error chain and
//! maps bad input to exit status 2, an interrupted run to 130, other failures to 1.

fn main() {
    initlab::allocator::reuse_freed_memory();
    if let Err(err) = initlab::cli::run() {
        eprintln!("error: {err:#}");
        std::process::exit(initlab::error::exit_code(&err));
    }
}
