//! Developer tasks, as Rust code (the cargo-xtask convention):
//!
//! - `cargo xtask ci`: format check, clippy with warnings denied, every test, then a short
//!   fixed sweep of every bundled scenario that re-runs every tenth seed to check the trace
//!   hashes agree; ends with the plain line `N passed, N failed` for the tests;
//! - `cargo xtask fuzz [--seeds N]`: every bundled scenario in swarm mode, in release mode,
//!   with the seeds and wall time to the first violation of each flawed variant;
//! - `cargo xtask reports`: regenerates the bundled comparisons of `scenarios/compare/`
//!   into `target/faultline/compare/<name>/`;
//! - `cargo xtask mutants [--time S] [--swarm] [--only NAME]`: hand-made mutations of the
//!   correct protocols, each followed by a time-boxed sweep of its family; the share caught
//!   per protocol (see `mutants.rs`);
//! - `cargo xtask bench`: the engine's throughput against a bare event loop, seeds/s and
//!   events/s on one core for real scenarios (each with its ratio to the bare loop), then
//!   the linearizability checker's time and peak memory on the shared and generated histories.

mod mutants;

use std::io::{BufRead, BufReader};
use std::process::{Command, ExitCode, Stdio};

/// Seeds per scenario in the CI sweep.
const CI_SEEDS: &str = "1..301";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("ci") => ci(),
        Some("fuzz") => fuzz(&args[1..]),
        Some("reports") => reports(),
        Some("bench") => bench(),
        Some("mutants") => mutants::run(&args[1..]),
        _ => {
            eprintln!(
                "usage: cargo xtask <task>\n\ntasks:\n  ci                  fmt check, clippy -D warnings, tests, a short sweep\n  \
                 fuzz [--seeds N]    every bundled scenario in swarm mode (default 1000 seeds)\n  \
                 reports             regenerate the bundled comparisons (scenarios/compare/)\n  \
                 mutants [--time S]  hand-made protocol mutations, each followed by a time-boxed sweep\n  \
                 bench               engine throughput; seeds/s of real scenarios; the checker's time and memory"
            );
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
}

fn ci() -> Result<(), String> {
    cargo(&["fmt", "--all", "--", "--check"])?;
    cargo(&["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"])?;
    let (passed, failed) = cargo_test()?;
    let out = "target/faultline/ci-sweep";
    let _ = std::fs::remove_dir_all(out);
    let sweep = cargo(&["run", "--", "sweep", "scenarios", "--seeds", CI_SEEDS, "--recheck", "10", "--out", out]);
    println!("{passed} passed, {failed} failed");
    sweep
}

/// The engine against a bare event loop, the seeds/s table of real scenarios, then the
/// linearizability checker on the shared and the generated hard histories.
fn bench() -> Result<(), String> {
    cargo(&["bench", "--package", "sim", "--bench", "engine"])?;
    cargo(&["bench", "--package", "sim", "--bench", "checker"])
}

fn fuzz(args: &[String]) -> Result<(), String> {
    let seeds: u64 = match args {
        [] => 1000,
        [flag, n] if flag == "--seeds" => n.parse().map_err(|_| format!("--seeds takes a number, not {n:?}"))?,
        _ => return Err(format!("usage: cargo xtask fuzz [--seeds N], not {args:?}")),
    };
    let out = "target/faultline/fuzz";
    let _ = std::fs::remove_dir_all(out);
    let range = format!("1..={seeds}");
    cargo(&["run", "--release", "--", "sweep", "scenarios", "--swarm", "--seeds", &range, "--out", out])
}

fn reports() -> Result<(), String> {
    let mut files: Vec<_> = std::fs::read_dir("scenarios/compare")
        .map_err(|error| format!("scenarios/compare: {error}"))?
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.extension().is_some_and(|extension| extension == "toml"))
        .collect();
    files.sort();
    for file in files {
        let name = file.file_stem().map(|stem| stem.to_string_lossy().into_owned()).unwrap_or_default();
        let out = format!("target/faultline/compare/{name}");
        cargo(&["run", "--release", "--", "report", "--compare", &file.to_string_lossy(), "--out", &out])?;
    }
    Ok(())
}

/// A `cargo` command, after making sure the null device reads empty.
///
/// Cargo learns about its target by running `rustc -` with its standard input on
/// `/dev/null`. In a sandbox where `/dev/null` is an ordinary file, what build scripts
/// write to it (proc-macro2's probe for nightly features writes a compiler error there)
/// becomes the source rustc reads, and every later cargo command fails before building.
/// An ordinary file there is emptied, and the run says so.
pub(crate) fn cargo_command() -> Command {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        let ordinary = std::fs::metadata("/dev/null").ok().filter(|meta| !meta.file_type().is_char_device());
        if let Some(meta) = ordinary.filter(|meta| meta.len() > 0) {
            println!("xtask: /dev/null is an ordinary file here ({} bytes); emptying it", meta.len());
            if let Err(error) = std::fs::File::create("/dev/null") {
                println!("xtask: cannot empty /dev/null: {error}");
            }
        }
    }
    Command::new(env!("CARGO"))
}

/// Runs `cargo ARGS`, streaming its output.
fn cargo(args: &[&str]) -> Result<(), String> {
    println!("xtask: cargo {}", args.join(" "));
    let status = cargo_command().args(args).status().map_err(|error| format!("cannot run cargo: {error}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("cargo {} failed ({status})", args.join(" ")))
    }
}

/// Runs the workspace's tests, streaming their output, and adds up the `test result` lines.
fn cargo_test() -> Result<(u64, u64), String> {
    println!("xtask: cargo test --workspace");
    let mut child = cargo_command()
        .args(["test", "--workspace"])
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|error| format!("cannot run cargo: {error}"))?;
    let (mut passed, mut failed) = (0, 0);
    let stdout = child.stdout.take().ok_or("no test output")?;
    for line in BufReader::new(stdout).lines().map_while(Result::ok) {
        println!("{line}");
        if let Some(result) = line.strip_prefix("test result: ") {
            passed += count_before(result, " passed");
            failed += count_before(result, " failed");
        }
    }
    let status = child.wait().map_err(|error| error.to_string())?;
    if !status.success() {
        println!("{passed} passed, {failed} failed");
        return Err(format!("cargo test failed ({status})"));
    }
    Ok((passed, failed))
}

/// The number just before `word` in a `test result` line.
fn count_before(line: &str, word: &str) -> u64 {
    line.split(';')
        .find_map(|part| part.trim().strip_suffix(word).and_then(|n| n.split_whitespace().last()?.parse().ok()))
        .unwrap_or(0)
}
