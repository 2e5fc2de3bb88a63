//! The `redraft` command line.
fn main() {}
