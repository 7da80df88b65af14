//! Developer tasks, as Rust code (the cargo-xtask convention):
//!
//! - `cargo xtask ci`: format check, clippy with warnings denied, and every test;
//! - `cargo xtask bench`: the engine benchmark (messages per second against a bare loop).

use std::process::{Command, ExitCode};

fn main() -> ExitCode {
    let task = std::env::args().nth(1).unwrap_or_default();
    let steps: &[&[&str]] = match task.as_str() {
        "ci" => &[
            &["fmt", "--all", "--", "--check"],
            &["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"],
            &["test", "--workspace"],
        ],
        "bench" => &[&["bench", "--package", "sim", "--bench", "engine"]],
        _ => {
            eprintln!("usage: cargo xtask <task>\n\ntasks:\n  ci     fmt check, clippy -D warnings, tests\n  bench  engine throughput against a bare event loop");
            return ExitCode::from(2);
        }
    };
    for step in steps {
        println!("xtask: cargo {}", step.join(" "));
        let status = Command::new(env!("CARGO")).args(*step).status();
        match status {
            Ok(status) if status.success() => {}
            Ok(status) => {
                eprintln!("xtask: cargo {} failed ({status})", step.join(" "));
                return ExitCode::FAILURE;
            }
            Err(error) => {
                eprintln!("xtask: cannot run cargo: {error}");
                return ExitCode::FAILURE;
            }
        }
    }
    ExitCode::SUCCESS
}
