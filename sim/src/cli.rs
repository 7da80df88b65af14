//! The `faultline` command line (clap): `run`, `list`.
//!
//! Exit codes: 0 every verdict as expected, 1 a verdict differs from what was expected,
//! 2 bad input (scenario, flags). A run prints its seed first and, when its verdict is not
//! the expected one, the exact command that replays it.

use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand};

use crate::engine::RunOptions;
use crate::registry::PROTOCOLS;
use crate::run::{self, RunResult};
use crate::scenario::{self, EngineKind, Scenario};

/// Exit code: every verdict as expected.
pub const EXIT_OK: i32 = 0;
/// Exit code: a verdict differs from the expected one.
pub const EXIT_UNEXPECTED: i32 = 1;
/// Exit code: bad input.
pub const EXIT_BAD_INPUT: i32 = 2;

#[derive(Parser, Debug)]
#[command(
    name = "faultline",
    version,
    about = "Deterministic simulation testbed for distributed consistency protocols"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run one scenario with one seed and write its summary and tables.
    Run {
        /// The scenario file (TOML).
        scenario: PathBuf,
        /// The seed (default: the scenario's).
        #[arg(long)]
        seed: Option<u64>,
        /// The engine (default: the scenario's).
        #[arg(long, value_enum)]
        engine: Option<EngineArg>,
        /// Output directory (default: target/faultline/<scenario>/seed-<N>).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// List protocols, their variants, and the bundled scenarios.
    List {
        /// Where the scenario files are.
        #[arg(long, default_value = "scenarios")]
        scenarios: PathBuf,
    },
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
enum EngineArg {
    Native,
    Madsim,
}

/// Runs the command line; returns the process exit code.
pub fn main() -> i32 {
    install_panic_hook();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            let _ = error.print();
            return if error.use_stderr() { EXIT_BAD_INPUT } else { EXIT_OK };
        }
    };
    match cli.command {
        Command::Run { scenario, seed, engine, out } => run_command(&scenario, seed, engine, out),
        Command::List { scenarios } => list_command(&scenarios),
    }
}

fn run_command(path: &Path, seed: Option<u64>, engine: Option<EngineArg>, out: Option<PathBuf>) -> i32 {
    let mut scenario = match load(path, engine) {
        Ok(scenario) => scenario,
        Err(code) => return code,
    };
    let seed = seed.unwrap_or(scenario.seed);
    scenario.seed = seed;
    println!("seed {seed}");
    let result = run::run(&scenario, RunOptions { seed, detailed: true });
    print_summary(&scenario, &result);
    let dir = out.unwrap_or_else(|| run::default_out_dir(&scenario, seed));
    if let Err(error) = run::write_outputs(&dir, &result) {
        eprintln!("error: cannot write {}: {error}", dir.display());
        return EXIT_BAD_INPUT;
    }
    println!("wrote {}", dir.display());
    if result.as_expected(&scenario) {
        EXIT_OK
    } else {
        println!("verdict {} differs from the expected {}", result.verdict, scenario.expect);
        println!("replay: {}", run::replay_command(path, seed));
        EXIT_UNEXPECTED
    }
}

/// Loads a scenario, printing a clear error (exit code 2) if it is bad.
fn load(path: &Path, engine: Option<EngineArg>) -> Result<Scenario, i32> {
    let mut scenario = scenario::load(path).map_err(|error| {
        eprintln!("error: {error}");
        EXIT_BAD_INPUT
    })?;
    if let Some(engine) = engine {
        scenario.engine = match engine {
            EngineArg::Native => EngineKind::Native,
            EngineArg::Madsim => EngineKind::Madsim,
        };
    }
    if scenario.engine == EngineKind::Madsim {
        eprintln!("error: {}: the madsim engine is not in this build yet; allowed: native", path.display());
        return Err(EXIT_BAD_INPUT);
    }
    Ok(scenario)
}

fn print_summary(scenario: &Scenario, result: &RunResult) {
    let summary = &result.summary;
    let figures = &summary.figures;
    println!(
        "scenario {} ({} variant {}, {} engine, {} nodes)",
        scenario.name, summary.protocol, summary.variant, summary.engine, scenario.nodes
    );
    println!("verdict {} (expected {})", summary.verdict, summary.expect);
    for violation in &summary.violations {
        println!(
            "  {} at {:.3} ms, nodes {:?}: {}",
            violation.invariant, violation.time_ms, violation.nodes, violation.detail
        );
    }
    let ops = &figures.operations;
    println!("operations {} invoked: {} ok, {} fail, {} info", ops.invoked, ops.ok, ops.fail, ops.info);
    let latency = &figures.latency_ms;
    println!(
        "latency ms p50 {:.3}, p95 {:.3}, p99 {:.3}, max {:.3}",
        latency.p50, latency.p95, latency.p99, latency.max
    );
    let by_type: Vec<String> = figures.messages.by_type.iter().map(|(kind, count)| format!("{kind} {count}")).collect();
    println!(
        "messages {} ({} dropped), {:.2} per ok operation: {}",
        figures.messages.total,
        figures.messages.dropped,
        figures.messages_per_op,
        by_type.join(", ")
    );
    println!("virtual time {:.3} ms, {} events, trace {}", figures.virtual_time_ms, figures.events, summary.trace_hash);
}

fn list_command(scenarios: &Path) -> i32 {
    println!("protocols:");
    for entry in PROTOCOLS {
        println!("  {:<12} {}", entry.name, entry.about);
        for variant in entry.variants {
            println!("    variant {:<24} {}", variant.name, variant.about);
        }
    }
    println!("scenarios ({}):", scenarios.display());
    for path in scenario_files(scenarios) {
        match scenario::load(&path) {
            Ok(scenario) => println!("  {:<48} expect {}", path.display(), scenario.expect),
            Err(error) => println!("  {:<48} invalid: {error}", path.display()),
        }
    }
    EXIT_OK
}

/// Every `.toml` file below `dir`, sorted.
pub fn scenario_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|extension| extension == "toml") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// Panics inside a run become `error` verdicts; print one line for each, no backtrace.
fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let location = info.location().map(|l| format!("{}:{}", l.file(), l.line())).unwrap_or_default();
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_default();
        eprintln!("panic at {location}: {message}");
    }));
}
