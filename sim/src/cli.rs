//! The `faultline` command line (clap): `run`, `report`, `sweep`, `merge`, `check-history`,
//! `list`; the exit codes are decided here and nowhere else.
//!
//! Exit codes: 0 every verdict as expected, 1 a verdict differs from what was expected,
//! 2 bad input (scenario, flags, history file, a sweep's CSV), 130 a sweep stopped by
//! Ctrl-C. A run prints its seed first and, when its verdict is not the expected one, the
//! exact command that replays it. `check-history` exits 0 for linearizable, 1 for not
//! linearizable, 3 when its budget ran out first.

use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand};

use crate::replay::Replay;
use crate::run::{self, RunResult};
use crate::scenario::{self, EngineKind, Scenario};
use crate::world::RunOptions;
use crate::{linearizability, sweep};

/// Exit code: every verdict as expected.
pub const EXIT_OK: i32 = 0;
/// Exit code: a verdict differs from the expected one.
pub const EXIT_UNEXPECTED: i32 = 1;
/// Exit code: bad input.
pub const EXIT_BAD_INPUT: i32 = 2;
/// Exit code of `check-history`: the search budget ran out before a verdict.
pub const EXIT_UNKNOWN: i32 = 3;
/// Exit code of a sweep stopped by Ctrl-C (128 + SIGINT, as shells report it).
pub const EXIT_INTERRUPTED: i32 = 130;

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
        /// Also write messages.svg: the space-time diagram of every message of the run.
        #[arg(long)]
        messages_svg: bool,
    },
    /// Render the report of run directories, or run a comparison of protocols side by side.
    Report(ReportArgs),
    /// Run many seeds of many scenarios in parallel; shrink the failures.
    Sweep {
        /// Scenario files, or folders of them.
        #[arg(required = true)]
        scenarios: Vec<PathBuf>,
        /// Seeds: A..B (B excluded) or A..=B (default 1..100, or every seed from 1 with --time).
        #[arg(long)]
        seeds: Option<sweep::Seeds>,
        /// A time box (90s, 2m, 1h): seeds go round robin by wall time over the scenarios
        /// until it is over; a scenario that expects a violation stops once it shows it.
        #[arg(long, value_parser = sweep::parse_time)]
        time: Option<std::time::Duration>,
        /// Stop the whole sweep at its first failure (an ok scenario that is not ok, or an error).
        #[arg(long)]
        until_first: bool,
        /// Parallel runs: 0 or absent means one per core; more than 4 per core is cut to 4
        /// per core.
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
        /// Discard the output directory's sweep.csv and shrunk files and start over (needed
        /// when they hold other work: an edited scenario, another engine, swarm or build).
        #[arg(long)]
        restart: bool,
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
    /// Measure the consistent-hashing placement schemes against the theory, on one page.
    Hashing(crate::hashing::HashingArgs),
    /// List protocols, their variants, and the bundled scenarios.
    List {
        /// Where the scenario files are.
        #[arg(long, default_value = "scenarios")]
        scenarios: PathBuf,
    },
}

/// `faultline report`'s arguments.
#[derive(clap::Args, Debug)]
pub struct ReportArgs {
    /// Run directories, as `faultline run` writes them, or sweep directories.
    #[arg(required_unless_present = "compare")]
    pub runs: Vec<PathBuf>,
    /// Run the protocols of this comparison file side by side and report on them.
    #[arg(long, conflicts_with = "runs")]
    pub compare: Option<PathBuf>,
    /// The scenario file of the run(s), for the replay command (default: the one the run recorded).
    #[arg(long)]
    pub scenario: Option<PathBuf>,
    /// Output directory (default: each run directory; target/faultline/compare/<name>).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Also write messages.svg for each run: the space-time diagram of every message.
    #[arg(long)]
    pub messages_svg: bool,
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
        Command::Run { scenario, seed, engine, out, swarm, no_report, messages_svg } => {
            run_command(&scenario, seed, engine, out, RunFlags { swarm, report: !no_report, messages_svg })
        }
        Command::Report(args) => report_command(&args),
        Command::Sweep {
            scenarios,
            seeds,
            time,
            until_first,
            jobs,
            shard,
            swarm,
            out,
            no_shrink,
            recheck,
            engine,
            restart,
        } => {
            let out = out.unwrap_or_else(|| {
                PathBuf::from(if swarm { "target/faultline/swarm" } else { "target/faultline/sweep" })
            });
            let (jobs, note) = sweep::jobs(jobs);
            if let Some(note) = note {
                println!("sweep: {note}");
            }
            let default_seeds =
                if time.is_some() { sweep::Seeds::UNBOUNDED } else { sweep::Seeds { start: 1, end: 100 } };
            let options = sweep::SweepOptions {
                jobs,
                shard,
                swarm,
                shrink: !no_shrink,
                recheck,
                restart,
                time,
                until_first,
                ..sweep::SweepOptions::new(seeds.unwrap_or(default_seeds), out)
            };
            sweep_command(&scenarios, &options, engine)
        }
        Command::Merge { inputs, out } => merge_command(&inputs, out),
        Command::CheckHistory { file, format, model, semantics, budget, max_memory, threads, json, html } => {
            let mut limits = linearizability::Limits::new(budget, max_memory);
            limits.threads = threads.unwrap_or(limits.threads).max(1);
            let options = linearizability::FileCheck { format, model, semantics, limits };
            check_history_command(&file, &options, json, html.as_deref())
        }
        Command::Hashing(args) => crate::hashing::command(&args, &std::env::args().collect::<Vec<_>>().join(" ")),
        Command::List { scenarios } => list_command(&scenarios),
    }
}

/// `run`'s switches.
struct RunFlags {
    swarm: bool,
    report: bool,
    messages_svg: bool,
}

fn run_command(
    path: &Path,
    seed: Option<u64>,
    engine: Option<EngineArg>,
    out: Option<PathBuf>,
    flags: RunFlags,
) -> i32 {
    let RunFlags { swarm, report, messages_svg } = flags;
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
    let mut result = run::run(&scenario, RunOptions { seed, detailed: true });
    result.summary.replay = Replay::new(path, seed, scenario.engine, swarm).command();
    print_summary(&scenario, &result);
    let dir = out.unwrap_or_else(|| run::default_out_dir(&scenario, seed));
    if let Err(error) = run::write_outputs(&dir, &result) {
        eprintln!("error: cannot write {}: {error}", dir.display());
        return EXIT_BAD_INPUT;
    }
    if report {
        if let Err(error) = reports::render_run(&dir) {
            eprintln!("error: cannot render the report in {}: {error}", dir.display());
            return EXIT_BAD_INPUT;
        }
    }
    if messages_svg {
        if let Err(error) = write_messages_svg(&dir, &dir) {
            eprintln!("error: {error}");
            return EXIT_BAD_INPUT;
        }
    }
    println!("wrote {}", dir.display());
    if result.as_expected(&scenario) {
        EXIT_OK
    } else {
        println!("verdict {} differs from the expected {}", result.verdict, scenario.expect);
        println!("replay: {}", result.summary.replay);
        EXIT_UNEXPECTED
    }
}

/// Writes `messages.svg` of the run directory `dir` into `out`.
fn write_messages_svg(dir: &Path, out: &Path) -> Result<(), String> {
    let data = reports::RunData::read(dir).map_err(|error| error.to_string())?;
    let path = out.join(reports::spacetime::FULL_FILE);
    std::fs::write(&path, reports::spacetime::full_svg(&data)).map_err(|error| format!("{}: {error}", path.display()))
}

/// `faultline report`: renders run and sweep directories, or runs a comparison.
pub fn report_command(args: &ReportArgs) -> i32 {
    if let Some(file) = &args.compare {
        return compare_command(file, args.out.as_deref());
    }
    let replay = |dir: &Path| -> Option<String> {
        let scenario = args.scenario.as_deref()?;
        let data = reports::RunData::read(dir).ok()?;
        let engine = EngineKind::parse(&data.summary.engine).unwrap_or_default();
        let swarm = data.summary.replay.contains(" --swarm");
        Some(Replay::new(scenario, data.summary.seed, engine, swarm).command())
    };
    let mut code = EXIT_OK;
    for dir in &args.runs {
        let target = match &args.out {
            None => dir.clone(),
            Some(out) if args.runs.len() == 1 => out.clone(),
            Some(out) => out.join(crate::report::run_name(dir)),
        };
        let rendered = crate::report::render_dir(dir, &target, replay(dir).as_deref());
        let rendered = rendered.and_then(|page| match args.messages_svg && dir.join("summary.json").is_file() {
            true => write_messages_svg(dir, &target).map(|()| page),
            false => Ok(page),
        });
        match rendered {
            Ok(page) => println!("wrote {}", page.display()),
            Err(error) => {
                eprintln!("error: {}: {error}", dir.display());
                code = EXIT_BAD_INPUT;
            }
        }
    }
    code
}

/// Runs the comparison in `file` and writes its report; returns the exit code.
pub fn compare_command(file: &Path, out: Option<&Path>) -> i32 {
    let plan = match crate::compare::load(file) {
        Ok(plan) => plan,
        Err(error) => {
            eprintln!("error: {error}");
            return EXIT_BAD_INPUT;
        }
    };
    let out = out.map_or_else(|| Path::new("target/faultline/compare").join(&plan.name), Path::to_path_buf);
    for note in &plan.notes {
        println!("note: {note}");
    }
    let rendered =
        crate::compare::run_plan(&plan, &out).and_then(|comparison| crate::compare::render(&comparison, &out));
    let unexpected = match rendered {
        Ok(unexpected) => unexpected,
        Err(error) => {
            eprintln!("error: cannot write {}: {error}", out.display());
            return EXIT_BAD_INPUT;
        }
    };
    for run in &unexpected {
        println!("{} seed {}: verdict {} differs from the expected {}", run.label, run.seed, run.verdict, run.expect);
        println!("replay: {}", run.replay);
    }
    println!("wrote {}", out.join(reports::REPORT_FILE).display());
    if unexpected.is_empty() {
        EXIT_OK
    } else {
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
    // The first Ctrl-C stops the sweep taking seeds (the runs in progress finish and are
    // kept); a second one ends the process at once.
    let interrupt = options.interrupt.clone();
    let _ = signal_hook::flag::register_conditional_shutdown(
        signal_hook::consts::SIGINT,
        EXIT_INTERRUPTED,
        interrupt.clone(),
    );
    let _ = signal_hook::flag::register(signal_hook::consts::SIGINT, interrupt);
    match sweep::sweep(&entries, options) {
        Ok(summary) => {
            summary.print();
            if summary.interrupted.is_some() {
                EXIT_INTERRUPTED
            } else if summary.passed() {
                EXIT_OK
            } else {
                EXIT_UNEXPECTED
            }
        }
        Err(error) => {
            eprintln!("error: {error}");
            EXIT_BAD_INPUT
        }
    }
}

fn merge_command(inputs: &[PathBuf], out: Option<PathBuf>) -> i32 {
    let paths: Vec<PathBuf> =
        inputs.iter().map(|input| if input.is_dir() { input.join("sweep.csv") } else { input.clone() }).collect();
    let rows = match sweep::merge(&paths) {
        Ok(rows) => rows,
        Err(error) => {
            eprintln!("error: {error}");
            return EXIT_BAD_INPUT;
        }
    };
    let out = out.unwrap_or_else(|| PathBuf::from("target/faultline/merged/sweep.csv"));
    if let Some(dir) = out.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    if let Err(error) = reports::write_csv(&out, rows.iter().cloned()) {
        eprintln!("error: cannot write {}: {error}", out.display());
        return EXIT_BAD_INPUT;
    }
    let swarm = rows.iter().any(|row| row.swarm);
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
        if let Some(reason) = crate::substrate::madsim::unsupported(&scenario) {
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
        let who = reports::words::processes(&violation.nodes, summary.servers);
        let who = if who.is_empty() { String::new() } else { format!(", {who}") };
        println!("  {} at {}{who}: {}", violation.invariant, reports::words::time(violation.time_ms), violation.detail);
    }
    let ops = &figures.operations;
    println!("operations {} invoked: {} ok, {} fail, {} info", ops.invoked, ops.ok, ops.fail, ops.info);
    match &figures.latency_ms {
        Some(latency) => println!(
            "latency ms p50 {:.3}, p95 {:.3}, p99 {:.3}, max {:.3}",
            latency.p50, latency.p95, latency.p99, latency.max
        ),
        None => println!("latency n/a (no operation completed ok)"),
    }
    let by_type: Vec<String> = figures.messages.by_type.iter().map(|(kind, count)| format!("{kind} {count}")).collect();
    println!(
        "messages {} ({} dropped, {} network copies), {} per ok operation: {}",
        figures.messages.total,
        figures.messages.dropped,
        figures.messages.duplicated,
        reports::words::decimal(figures.messages_per_op),
        by_type.join(", ")
    );
    println!(
        "virtual time {}, {} events, trace {}",
        reports::words::time(figures.virtual_time_ms),
        figures.events,
        summary.trace_hash
    );
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
    for entry in crate::catalog::all() {
        println!("  {:<12} {}", entry.name, entry.about);
        let membership = if entry.membership { "; servers may join and leave" } else { "" };
        println!("    service {} (operations {}){membership}", entry.service, entry.operations.join(", "));
        for variant in entry.variants {
            println!("    variant {:<24} {}", variant.name, variant.about);
        }
    }
    let files = scenario_files(scenarios);
    let place = scenarios.canonicalize().unwrap_or_else(|_| {
        std::env::current_dir().map_or_else(|_| scenarios.to_path_buf(), |cwd| cwd.join(scenarios))
    });
    if files.is_empty() {
        println!(
            "scenarios: none found in {} (looked for .toml files there and below); pass --scenarios DIR",
            place.display()
        );
        return EXIT_OK;
    }
    println!("scenarios (in {}):", place.display());
    for path in files {
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
        // Output piped into a reader that stopped (`faultline list | head`): nothing is
        // wrong, so end as quietly as a Unix tool does.
        if message.contains("failed printing to stdout") && message.contains("Broken pipe") {
            std::process::exit(EXIT_OK);
        }
        eprintln!("panic at {location}: {message}");
    }));
}
