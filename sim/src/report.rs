//! `faultline report`: reports rendered from what runs wrote, and comparisons.
//!
//! - `faultline report RUN_DIR... [--scenario FILE] [--out DIR]` renders the report of each
//!   run directory (PNG plots, `report.html`, `trace.json`; see `reports::run_report`) into
//!   the run directory itself, or into `--out` (one run) or `--out/<run>` (several).
//! - `faultline report --compare FILE [--out DIR]` runs every protocol of a comparison file
//!   on each of its seeds and writes the comparison report into `--out` (default
//!   `target/faultline/compare/<name>`), with each run's tables in `<protocol>/seed-<N>/`
//!   and each protocol's scenario in `<protocol>/scenario.toml`, for the replay command.
//!
//! A comparison file holds the keys of a scenario file (see README), shared by every
//! protocol, and three of its own:
//!
//! ```toml
//! name = "consensus"                    # default: the file's stem
//! seeds = "1..=10"                      # as `faultline sweep --seeds`: A..B or A..=B
//! protocols = [                         # one line each; keys here override the shared ones
//!     { protocol = "paxos" },
//!     { protocol = "paxos", variant = "ignore-accepted", label = "paxos, flawed" },
//! ]
//! nodes = 5
//! duration_ms = 2000
//! [workload] ...                        # and [network], [[faults]], [nemesis], [checks], ...
//! ```
//!
//! A protocol this build does not have is skipped with a note (on the terminal and on the
//! page), so a comparison file can name protocols that are still being written. A protocol
//! given an `expect` has its verdicts checked: a run that differs is reported with its
//! replay command and the command exits 1. Sweep directories get their own report later
//! (issue 5): [`render_sweep`].

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use reports::{Comparison, Entrant, RunData};
use serde::Deserialize;

use crate::cli::{EXIT_BAD_INPUT, EXIT_OK, EXIT_UNEXPECTED};
use crate::scenario::{self, Scenario, ScenarioError};
use crate::sweep::Seeds;
use crate::world::RunOptions;
use crate::{catalog, run};

/// Seeds one comparison may run at most.
pub const MAX_SEEDS: u64 = 10_000;
/// Reports of failing runs rendered per protocol of a comparison at most.
pub const MAX_RUN_REPORTS: usize = 20;

#[derive(clap::Args, Debug)]
pub struct ReportArgs {
    /// Run directories, as `faultline run` writes them.
    #[arg(required_unless_present = "compare")]
    pub runs: Vec<PathBuf>,
    /// Run the protocols of this comparison file side by side and report on them.
    #[arg(long, conflicts_with = "runs")]
    pub compare: Option<PathBuf>,
    /// The scenario file of the run(s), for the replay command (default: scenarios/<name>.toml).
    #[arg(long)]
    pub scenario: Option<PathBuf>,
    /// Output directory (default: each run directory; target/faultline/compare/<name>).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// Runs `faultline report`; returns the exit code.
pub fn main(args: ReportArgs) -> i32 {
    match &args.compare {
        Some(file) => compare(file, args.out.as_deref()),
        None => render_runs(&args.runs, args.scenario.as_deref(), args.out.as_deref()),
    }
}

/// Renders the report of each run directory (or sweep directory) in `dirs`.
pub fn render_runs(dirs: &[PathBuf], scenario: Option<&Path>, out: Option<&Path>) -> i32 {
    let mut code = EXIT_OK;
    for dir in dirs {
        let target = match out {
            None => dir.clone(),
            Some(out) if dirs.len() == 1 => out.to_path_buf(),
            Some(out) => out.join(run_name(dir)),
        };
        let result = if dir.join("summary.json").is_file() {
            reports::render_run_into(dir, &target, scenario).map(|_| ())
        } else if dir.join("sweep.csv").is_file() {
            render_sweep(dir, &target)
        } else {
            Err(std::io::Error::other("not a run directory: it has no summary.json"))
        };
        match result {
            Ok(()) => println!("wrote {}", target.join(reports::REPORT_FILE).display()),
            Err(error) => {
                eprintln!("error: {}: {error}", dir.display());
                code = EXIT_BAD_INPUT;
            }
        }
    }
    code
}

/// The report of a sweep directory: `report.html` with the verdict counts per scenario,
/// the first failure of each scenario and invariant with its replay command and a link to
/// its shrunk scenario, the fault-coverage and milestone counts, and the time the seeds took.
pub fn render_sweep(dir: &Path, out: &Path) -> std::io::Result<()> {
    let rows = crate::sweep::read_rows(&dir.join("sweep.csv"))?;
    if rows.is_empty() {
        return Err(std::io::Error::other("sweep.csv holds no rows"));
    }
    let swarm = rows.iter().any(|row| !row.weather.is_empty());
    let summary = crate::sweep::Summary::of(&rows, crate::sweep::SummaryOptions { swarm, ..Default::default() });
    let shrunk = shrunk_files(&dir.join("shrunk"));
    let cpu_seconds: f64 = rows.iter().map(|row| row.wall_ms).sum::<f64>() / 1e3;
    std::fs::create_dir_all(out)?;
    let page = sweep_page(&summary, &shrunk, cpu_seconds, &relative_shrunk_dir(dir, out));
    std::fs::write(out.join(reports::REPORT_FILE), page)
}

/// The shrunk scenario files of a sweep, by file name.
fn shrunk_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".toml"))
        .collect();
    names.sort();
    names
}

/// How the page links to the sweep's `shrunk/` folder.
fn relative_shrunk_dir(dir: &Path, out: &Path) -> String {
    if dir == out {
        "shrunk".to_string()
    } else {
        format!("file://{}", dir.join("shrunk").canonicalize().unwrap_or_else(|_| dir.join("shrunk")).display())
    }
}

fn sweep_page(summary: &crate::sweep::Summary, shrunk: &[String], cpu_seconds: f64, shrunk_dir: &str) -> String {
    use reports::html::escape;
    let mut body = format!(
        "<h1>Sweep: {} seeds of {} scenarios</h1>\n<p class=\"{}\">{}</p>\n<p>{:.1} seeds per CPU second \
         ({:.1} s of simulation in all){}</p>\n",
        summary.seeds,
        summary.scenarios.len(),
        if summary.passed() { "ok" } else { "bad" },
        if summary.passed() { "passed".to_string() } else { escape(&summary.problems.join("; ")) },
        summary.seeds as f64 / cpu_seconds.max(1e-9),
        cpu_seconds,
        if summary.options.swarm { "; swarm mode" } else { "" },
    );
    body.push_str("<table>\n<tr><th>scenario</th><th>expect</th><th>verdicts</th><th>first failures</th><th>faults fired in</th><th>milestones in</th></tr>\n");
    for scenario in &summary.scenarios {
        body.push_str(&scenario_row(summary, scenario, shrunk, shrunk_dir));
    }
    body.push_str("</table>\n");
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>faultline sweep</title>\n\
         <style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}\
         td,th{{border:1px solid #ccc;padding:4px 8px;vertical-align:top;text-align:left}}\
         .ok{{color:#1a7f37}}.bad{{color:#b42318}}code{{font-size:90%}}</style>\n</head>\n<body>\n{body}</body>\n</html>\n"
    )
}

fn scenario_row(
    summary: &crate::sweep::Summary,
    scenario: &crate::sweep::ScenarioSummary,
    shrunk: &[String],
    shrunk_dir: &str,
) -> String {
    use reports::html::escape;
    let counts = |pairs: Vec<String>| pairs.join("<br>");
    let verdicts = counts(scenario.verdicts.iter().map(|(verdict, n)| format!("{} {n}", escape(verdict))).collect());
    let firsts = counts(
        scenario
            .firsts
            .iter()
            .map(|first| {
                let file = format!("{}-seed-{}.toml", scenario.name.replace('/', "-"), first.seed);
                let link = if shrunk.contains(&file) {
                    format!(" (<a href=\"{}/{}\">shrunk scenario</a>)", escape(shrunk_dir), escape(&file))
                } else {
                    String::new()
                };
                format!(
                    "{} {} at seed {}{link}<br><code>{}</code>",
                    escape(&first.verdict),
                    escape(&first.invariant),
                    first.seed,
                    escape(&summary.replay(&scenario.path, first.seed))
                )
            })
            .collect(),
    );
    let runs = scenario.runs;
    let fired = counts(
        scenario
            .configured
            .iter()
            .map(|kind| format!("{} {}/{runs}", escape(kind), scenario.fired.get(kind).copied().unwrap_or(0)))
            .collect(),
    );
    let milestones =
        counts(scenario.milestones.iter().map(|(name, n)| format!("{} {n}/{runs}", escape(name))).collect());
    format!(
        "<tr><td>{}</td><td>{}</td><td>{verdicts}</td><td>{firsts}</td><td>{fired}</td><td>{milestones}</td></tr>\n",
        escape(&scenario.name),
        escape(&scenario.expect)
    )
}

/// `acceptor-forgets-seed-1` for `.../acceptor-forgets/seed-1`.
fn run_name(dir: &Path) -> String {
    let names: Vec<String> =
        dir.components().rev().take(2).map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
    names.into_iter().rev().collect::<Vec<_>>().join("-")
}

/// Runs the comparison in `file` and writes its report; returns the exit code.
pub fn compare(file: &Path, out: Option<&Path>) -> i32 {
    let plan = match load(file) {
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
    match run_plan(&plan, &out) {
        Ok(comparison) => finish(&comparison, &out),
        Err(error) => {
            eprintln!("error: cannot write {}: {error}", out.display());
            EXIT_BAD_INPUT
        }
    }
}

/// A comparison file, read and checked: one scenario per protocol.
#[derive(Clone, Debug)]
pub struct Plan {
    pub name: String,
    pub description: String,
    pub source: PathBuf,
    pub seeds: Seeds,
    pub contenders: Vec<Contender>,
    /// Protocols skipped, and why.
    pub notes: Vec<String>,
}

/// One protocol (and variant) of a comparison.
#[derive(Clone, Debug)]
pub struct Contender {
    pub label: String,
    /// The directory name of its runs.
    pub slug: String,
    pub scenario: Scenario,
    /// Whether the comparison file gave it an `expect` to check.
    pub checked: bool,
}

/// The keys of a comparison file that a scenario does not have; the rest is shared.
#[derive(Deserialize)]
struct Header {
    #[serde(default)]
    name: String,
    #[serde(default)]
    description: String,
    seeds: String,
    protocols: Vec<toml::Table>,
    #[serde(flatten)]
    shared: toml::Table,
}

/// Reads a comparison file: checks its keys, skips protocols not in this build, and builds
/// (and validates) each remaining protocol's scenario.
pub fn load(file: &Path) -> Result<Plan, ScenarioError> {
    let error = |line: Option<usize>, message: String| ScenarioError { file: file.to_path_buf(), line, message };
    let text = std::fs::read_to_string(file).map_err(|e| error(None, format!("cannot read the comparison: {e}")))?;
    let header: Header = toml::from_str(&text).map_err(|e| {
        error(e.span().map(|span| scenario::line_of(&text, span.start)), e.message().trim().to_string())
    })?;
    let seeds_line = text.find("seeds").map(|offset| scenario::line_of(&text, offset));
    let seeds = Seeds::from_str(&header.seeds).map_err(|message| error(seeds_line, format!("seeds: {message}")))?;
    if seeds.end - seeds.start > MAX_SEEDS {
        return Err(error(seeds_line, format!("seeds: at most {MAX_SEEDS} seeds per comparison")));
    }
    let name = if header.name.is_empty() { stem(file) } else { header.name.clone() };
    let mut plan = Plan {
        name,
        description: header.description.clone(),
        source: file.to_path_buf(),
        seeds,
        contenders: Vec::new(),
        notes: Vec::new(),
    };
    for (index, entry) in header.protocols.iter().enumerate() {
        match contender(file, &plan, &header.shared, index, entry)? {
            Ok(contender) => plan.contenders.push(contender),
            Err(note) => plan.notes.push(note),
        }
    }
    check_contenders(&plan).map_err(|message| error(None, message))?;
    Ok(plan)
}

/// The scenario of `protocols[index]`, or a note saying why it is skipped (its protocol is
/// not in this build).
fn contender(
    file: &Path,
    plan: &Plan,
    shared: &toml::Table,
    index: usize,
    entry: &toml::Table,
) -> Result<Result<Contender, String>, ScenarioError> {
    let error = |message: String| ScenarioError { file: file.to_path_buf(), line: None, message };
    let mut entry = entry.clone();
    let Some(protocol) = entry.get("protocol").and_then(toml::Value::as_str).map(String::from) else {
        return Err(error(format!("protocols.{index}: `protocol` is missing (a string, as in `faultline list`)")));
    };
    let variant = entry.get("variant").and_then(toml::Value::as_str).unwrap_or(protocols::node::CORRECT).to_string();
    let label = match entry.remove("label") {
        Some(toml::Value::String(label)) => label,
        Some(_) => return Err(error(format!("protocols.{index}.label: expected a string"))),
        None if variant == protocols::node::CORRECT => protocol.clone(),
        None => format!("{protocol} ({variant})"),
    };
    if catalog::find(&protocol).is_none() {
        let known: Vec<&str> = catalog::NAMES.to_vec();
        let known = known.join(", ");
        return Ok(Err(format!("skipped {label}: protocol {protocol:?} is not in this build (it has {known})")));
    }
    let slug = slug(&label);
    let mut table = shared.clone();
    let checked = table.contains_key("expect") || entry.contains_key("expect");
    table.extend(entry);
    table.insert("name".into(), toml::Value::String(format!("compare/{}/{slug}", plan.name)));
    table.entry("description").or_insert_with(|| toml::Value::String(plan.description.clone()));
    table.entry("expect").or_insert_with(|| toml::Value::String("ok".into()));
    let text = toml::to_string(&table).map_err(|e| error(format!("protocols.{index} ({label}): {e}")))?;
    let scenario =
        scenario::parse(file, &text).map_err(|e| error(format!("protocols.{index} ({label}): {}", e.message)))?;
    Ok(Ok(Contender { label, slug, scenario, checked }))
}

fn check_contenders(plan: &Plan) -> Result<(), String> {
    if plan.contenders.is_empty() {
        return Err(format!("no protocol of the comparison is in this build ({})", plan.notes.join("; ")));
    }
    let mut slugs = BTreeSet::new();
    for contender in &plan.contenders {
        if !slugs.insert(&contender.slug) {
            return Err(format!("two protocols are labelled {:?}; give them different labels", contender.label));
        }
    }
    Ok(())
}

/// Runs every contender on every seed, writing each run's tables (and, for a run that
/// failed or was not as expected, its report), and tallies them.
pub fn run_plan(plan: &Plan, out: &Path) -> std::io::Result<Comparison> {
    let mut entrants: Vec<Entrant> = Vec::new();
    for contender in &plan.contenders {
        let dir = out.join(&contender.slug);
        std::fs::create_dir_all(&dir)?;
        std::fs::write(dir.join("scenario.toml"), contender.scenario.to_toml())?;
        let scenario = &contender.scenario;
        entrants.push(Entrant::new(&contender.label, &scenario.protocol, &scenario.variant));
    }
    for seed in plan.seeds.start..plan.seeds.end {
        for (contender, entrant) in plan.contenders.iter().zip(&mut entrants) {
            run_seed(contender, entrant, seed, out)?;
        }
    }
    Ok(Comparison {
        name: plan.name.clone(),
        description: plan.description.clone(),
        source: plan.source.display().to_string(),
        seeds: (plan.seeds.start..plan.seeds.end).collect(),
        entrants,
        notes: plan.notes.clone(),
    })
}

fn run_seed(contender: &Contender, entrant: &mut Entrant, seed: u64, out: &Path) -> std::io::Result<()> {
    let mut scenario = contender.scenario.clone();
    scenario.seed = seed;
    let result = run::run(&scenario, RunOptions { seed, detailed: true });
    let run_dir = out.join(&contender.slug).join(format!("seed-{seed}"));
    run::write_outputs(&run_dir, &result)?;
    let data = RunData::read(&run_dir)?;
    let unexpected = contender.checked && !result.as_expected(&scenario);
    let rendered = entrant.runs.iter().filter(|run| run.link.is_some()).count();
    let link = if (unexpected || data.failed()) && rendered < MAX_RUN_REPORTS {
        reports::render_run(&run_dir, Some(&out.join(&contender.slug).join("scenario.toml")))?;
        Some(format!("{}/seed-{seed}/{}", contender.slug, reports::REPORT_FILE))
    } else {
        None
    };
    println!("{} seed {seed}: {}", contender.label, result.verdict);
    let expect = contender.checked.then(|| scenario.expect.name());
    entrant.add(&data, expect, link);
    Ok(())
}

/// Renders the comparison, prints the replay command of every run that was not as
/// expected, and returns the exit code.
fn finish(comparison: &Comparison, out: &Path) -> i32 {
    if let Err(error) = reports::render_comparison(comparison, out) {
        eprintln!("error: cannot write the report into {}: {error}", out.display());
        return EXIT_BAD_INPUT;
    }
    let mut code = EXIT_OK;
    for entrant in &comparison.entrants {
        let scenario = out.join(slug(&entrant.label)).join("scenario.toml");
        for outcome in entrant.unexpected() {
            let expect = outcome.expect.as_deref().unwrap_or_default();
            println!(
                "{} seed {}: verdict {} differs from the expected {expect}",
                entrant.label, outcome.seed, outcome.verdict
            );
            println!("replay: {}", run::replay_command(&scenario, outcome.seed));
            code = EXIT_UNEXPECTED;
        }
    }
    println!("wrote {}", out.join(reports::REPORT_FILE).display());
    code
}

fn stem(file: &Path) -> String {
    file.file_stem().map_or_else(|| "comparison".to_string(), |stem| stem.to_string_lossy().into_owned())
}

/// A label as a directory name: lowercase letters, digits and dashes.
fn slug(label: &str) -> String {
    let mut slug = String::new();
    for c in label.chars().map(|c| c.to_ascii_lowercase()) {
        if c.is_ascii_alphanumeric() {
            slug.push(c);
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
    }
    slug.trim_end_matches('-').to_string()
}
