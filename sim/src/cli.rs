//! The `faultline` command line (clap): `run`, `sweep`, `merge`, `check-history`, `list`.
//!
//! Exit codes: 0 every verdict as expected, 1 a verdict differs from what was expected,
//! 2 bad input (scenario, flags, history file). A run prints its seed first and, when its
//! verdict is not the expected one, the exact command that replays it. `check-history`
//! exits 0 for linearizable, 1 for not linearizable, 3 when its budget ran out first.

use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand};

use crate::engine::RunOptions;
use crate::registry::PROTOCOLS;
use crate::run::{self, RunResult};
use crate::scenario::{self, EngineKind, Scenario};
use crate::{linearizability, sweep};

/// Exit code: every verdict as expected.
pub const EXIT_OK: i32 = 0;
/// Exit code: a verdict differs from the expected one.
pub const EXIT_UNEXPECTED: i32 = 1;
/// Exit code: bad input.
pub const EXIT_BAD_INPUT: i32 = 2;
/// Exit code of `check-history`: the search budget ran out before a verdict.
pub const EXIT_UNKNOWN: i32 = 3;

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
        /// Run under the swarm weather this seed draws (as `sweep --swarm` did).
        #[arg(long)]
        swarm: bool,
        /// Write only the summary and tables, not the plots and report.html.
        #[arg(long)]
        no_report: bool,
    },
    /// Render the report of run directories, or run a comparison of protocols side by side.
    Report(crate::report::ReportArgs),
    /// Run many seeds of many scenarios in parallel; shrink the failures.
    Sweep {
        /// Scenario files, or folders of them.
        #[arg(required = true)]
        scenarios: Vec<PathBuf>,
        /// Seeds: A..B (B excluded) or A..=B.
        #[arg(long, default_value = "1..100")]
        seeds: sweep::Seeds,
        /// Parallel runs (default: every core).
        #[arg(long)]
        jobs: Option<usize>,
        /// Run only shard I of N (1-based): seeds whose position in the range is I-1 mod N.
        #[arg(long)]
        shard: Option<sweep::Shard>,
        /// Each seed draws its own weather: which fault kinds are on, and how hard.
        #[arg(long)]
        swarm: bool,
        /// Output directory; a sweep resumes from the sweep.csv it finds there
        /// (default: target/faultline/sweep, or target/faultline/swarm with --swarm).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Do not shrink failures into scenario files.
        #[arg(long)]
        no_shrink: bool,
        /// Run every N-th seed twice and compare trace hashes (0: never).
        #[arg(long, default_value_t = 0)]
        recheck: u64,
        /// The engine for every scenario (default: each scenario's).
        #[arg(long, value_enum)]
        engine: Option<EngineArg>,
    },
    /// Merge the sweep.csv files of several shards into one, and judge the whole sweep.
    Merge {
        /// sweep.csv files (or folders holding one).
        #[arg(required = true)]
        inputs: Vec<PathBuf>,
        /// The merged CSV (default: target/faultline/merged/sweep.csv).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Check a history recorded by another tool for linearizability.
    CheckHistory {
        /// The history file.
        file: PathBuf,
        /// jepsen-log (Jepsen console log), jepsen-edn (history.edn of Jepsen or Maelstrom:
        /// one map per line, or one vector or list of maps), or porcupine-kv (Porcupine's
        /// key-value test format).
        #[arg(long)]
        format: linearizability::Format,
        /// cas-register, string-kv, set, queue or multi-register (default: the one that fits
        /// the format and the operations).
        #[arg(long)]
        model: Option<linearizability::ModelName>,
        /// What :fail means. knossos: the operation did not take effect, and nothing more
        /// (and a read of nil carries no value), as Knossos checks Jepsen histories.
        /// porcupine: a failed cas completed without applying, evidence that the register
        /// did not hold its `from`, as Porcupine reads Jepsen's etcd logs. Default: knossos
        /// for jepsen-edn, porcupine for jepsen-log and porcupine-kv.
        #[arg(long)]
        semantics: Option<linearizability::Semantics>,
        /// Model steps the search may take before it answers unknown (exit 3).
        #[arg(long, default_value_t = linearizability::CHECK_HISTORY_BUDGET)]
        budget: u64,
        /// The memory bound in MiB: the search keeps its tables under 5/8 of it (the rest is
        /// for the history and the allocator) and answers unknown (exit 3) when they would
        /// need more.
        #[arg(long, default_value_t = linearizability::DEFAULT_MEMORY_MB)]
        max_memory: u64,
        /// Threads to search keys on (default: every core); the verdict does not depend on it.
        #[arg(long)]
        threads: Option<usize>,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
        /// Also write the history view (one lane per client, the violation marked) as a
        /// self-contained HTML page.
        #[arg(long)]
        html: Option<PathBuf>,
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
        Command::Run { scenario, seed, engine, out, swarm, no_report } => {
            run_command(&scenario, seed, engine, out, RunFlags { swarm, report: !no_report })
        }
        Command::Report(args) => crate::report::main(args),
        Command::Sweep { scenarios, seeds, jobs, shard, swarm, out, no_shrink, recheck, engine } => {
            let out = out.unwrap_or_else(|| {
                PathBuf::from(if swarm { "target/faultline/swarm" } else { "target/faultline/sweep" })
            });
            let jobs = jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from));
            let options = sweep::SweepOptions { seeds, jobs, shard, swarm, out, shrink: !no_shrink, recheck };
            sweep_command(&scenarios, &options, engine)
        }
        Command::Merge { inputs, out } => merge_command(&inputs, out),
        Command::CheckHistory { file, format, model, semantics, budget, max_memory, threads, json, html } => {
            let mut limits = linearizability::Limits::new(budget, max_memory);
            limits.threads = threads.unwrap_or(limits.threads).max(1);
            let options = linearizability::FileCheck { format, model, semantics, limits };
            check_history_command(&file, &options, json, html.as_deref())
        }
        Command::List { scenarios } => list_command(&scenarios),
    }
}

/// `run`'s switches.
struct RunFlags {
    swarm: bool,
    report: bool,
}

fn run_command(
    path: &Path,
    seed: Option<u64>,
    engine: Option<EngineArg>,
    out: Option<PathBuf>,
    flags: RunFlags,
) -> i32 {
    let RunFlags { swarm, report } = flags;
    let scenario = match load(path, engine) {
        Ok(scenario) => scenario,
        Err(code) => return code,
    };
    let seed = seed.unwrap_or(scenario.seed);
    let (mut scenario, weather) = sweep::scenario_for(&scenario, seed, swarm);
    scenario.seed = seed;
    println!("seed {seed}");
    if swarm {
        println!("weather {weather}");
    }
    let result = run::run(&scenario, RunOptions { seed, detailed: true });
    print_summary(&scenario, &result);
    let dir = out.unwrap_or_else(|| run::default_out_dir(&scenario, seed));
    if let Err(error) = run::write_outputs(&dir, &result) {
        eprintln!("error: cannot write {}: {error}", dir.display());
        return EXIT_BAD_INPUT;
    }
    if report {
        if let Err(error) = reports::render_run(&dir, Some(path)) {
            eprintln!("error: cannot render the report in {}: {error}", dir.display());
            return EXIT_BAD_INPUT;
        }
    }
    println!("wrote {}", dir.display());
    if result.as_expected(&scenario) {
        EXIT_OK
    } else {
        println!("verdict {} differs from the expected {}", result.verdict, scenario.expect);
        println!("replay: {}{}", run::replay_command(path, seed), if swarm { " --swarm" } else { "" });
        EXIT_UNEXPECTED
    }
}

fn sweep_command(paths: &[PathBuf], options: &sweep::SweepOptions, engine: Option<EngineArg>) -> i32 {
    let mut entries = Vec::new();
    for path in paths {
        let files = if path.is_dir() { scenario_files(path) } else { vec![path.clone()] };
        for file in files {
            match load(&file, engine) {
                Ok(scenario) => entries.push(sweep::Entry { path: file, scenario }),
                Err(code) => return code,
            }
        }
    }
    if entries.is_empty() {
        eprintln!("error: no scenario files in {paths:?}");
        return EXIT_BAD_INPUT;
    }
    match sweep::sweep(&entries, options) {
        Ok(summary) => {
            summary.print();
            if summary.passed() {
                EXIT_OK
            } else {
                EXIT_UNEXPECTED
            }
        }
        Err(error) => {
            eprintln!("error: sweep output in {}: {error}", options.out.display());
            EXIT_BAD_INPUT
        }
    }
}

fn merge_command(inputs: &[PathBuf], out: Option<PathBuf>) -> i32 {
    let mut rows: Vec<reports::SweepRow> = Vec::new();
    for input in inputs {
        let path = if input.is_dir() { input.join("sweep.csv") } else { input.clone() };
        match sweep::read_rows(&path) {
            Ok(found) if !found.is_empty() => rows.extend(found),
            Ok(_) => {
                eprintln!("error: {}: no sweep rows (is it a sweep.csv?)", path.display());
                return EXIT_BAD_INPUT;
            }
            Err(error) => {
                eprintln!("error: {}: {error}", path.display());
                return EXIT_BAD_INPUT;
            }
        }
    }
    rows.sort_by(|a, b| (&a.scenario, a.seed).cmp(&(&b.scenario, b.seed)));
    rows.dedup_by(|a, b| a.scenario == b.scenario && a.seed == b.seed);
    let out = out.unwrap_or_else(|| PathBuf::from("target/faultline/merged/sweep.csv"));
    if let Some(dir) = out.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    if let Err(error) = reports::write_csv(&out, &rows) {
        eprintln!("error: cannot write {}: {error}", out.display());
        return EXIT_BAD_INPUT;
    }
    let swarm = rows.iter().any(|row| !row.weather.is_empty());
    let summary = sweep::Summary::of(&rows, sweep::SummaryOptions { swarm, ..Default::default() });
    println!("merged {} rows into {}", rows.len(), out.display());
    summary.print();
    if summary.passed() {
        EXIT_OK
    } else {
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
        if let Some(reason) = crate::madsim_engine::unsupported(&scenario) {
            eprintln!("error: {}: {reason}", path.display());
            return Err(EXIT_BAD_INPUT);
        }
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
        "messages {} ({} dropped, {} network copies), {:.2} per ok operation: {}",
        figures.messages.total,
        figures.messages.dropped,
        figures.messages.duplicated,
        figures.messages_per_op,
        by_type.join(", ")
    );
    println!("virtual time {:.3} ms, {} events, trace {}", figures.virtual_time_ms, figures.events, summary.trace_hash);
}

fn check_history_command(file: &Path, options: &linearizability::FileCheck, json: bool, html: Option<&Path>) -> i32 {
    let checked = match linearizability::check_file(file, options) {
        Ok(checked) => checked,
        Err(error) => {
            eprintln!("error: {error}");
            return EXIT_BAD_INPUT;
        }
    };
    let report = &checked.report;
    if json {
        println!("{}", serde_json::to_string_pretty(report).expect("a report serialises"));
    } else {
        print!("{report}");
    }
    if let Some(out) = html {
        let page = linearizability::history_page(&file.display().to_string(), &checked);
        if let Err(error) = std::fs::write(out, page) {
            eprintln!("error: cannot write {}: {error}", out.display());
            return EXIT_BAD_INPUT;
        }
    }
    match report.verdict {
        linearizability::Verdict::Linearizable => EXIT_OK,
        linearizability::Verdict::NotLinearizable => EXIT_UNEXPECTED,
        linearizability::Verdict::Unknown => EXIT_UNKNOWN,
    }
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
            // scenarios/compare/ holds comparison files (`faultline report --compare`).
            if path.is_dir() && path.file_name().is_some_and(|name| name == "compare") {
                continue;
            }
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
