//! `faultline report --compare FILE [--out DIR]`: runs every protocol of a comparison file
//! on each of its seeds and writes the comparison report into `--out` (default
//! `target/faultline/compare/<name>`), with each run's tables in `<protocol>/seed-<N>/` and
//! each protocol's scenario in `<protocol>/scenario.toml`, for the replay command.
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
//! replay command. A protocol's entry may carry a `note`, printed on the page, for what a
//! reader must know to read its figures. Every run gets its own report (up to
//! `MAX_RUN_REPORTS` per protocol), linked from its verdict on the comparison page.
//!
//! This module runs and renders; the command line (`cli`) turns its results into exit codes.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use reports::{Comparison, Entrant, RunData};
use serde::Deserialize;

use crate::replay::Replay;
use crate::scenario::validate::KeyPart;
use crate::scenario::{self, KeyPath, Scenario, ScenarioError};
use crate::sweep::Seeds;
use crate::world::RunOptions;
use crate::{catalog, run};

/// Seeds one comparison may run at most.
pub const MAX_SEEDS: u64 = 10_000;
/// Run reports rendered per protocol of a comparison at most (its first seeds).
pub const MAX_RUN_REPORTS: usize = 50;

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
    /// What a reader must know to read its figures.
    pub note: Option<String>,
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
    let seeds_line = scenario::locate_line(&text, &KeyPath(vec![KeyPart::Key("seeds")]));
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
        let located = |mut error: ScenarioError, key: KeyPath| {
            // A key of the protocol's own entry is on its line; a shared key on its own.
            let own = key.first_key().is_none_or(|first| entry.contains_key(first));
            let path = if own { key.under(vec![KeyPart::Key("protocols"), KeyPart::Index(index)]) } else { key };
            error.line = scenario::locate_line(&text, &path);
            error
        };
        match contender(file, &plan, &header.shared, index, entry).map_err(|(error, key)| located(error, key))? {
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
) -> Result<Result<Contender, String>, (ScenarioError, KeyPath)> {
    let error = |message: String| (ScenarioError { file: file.to_path_buf(), line: None, message }, KeyPath::default());
    let mut entry = entry.clone();
    let note = match entry.remove("note") {
        Some(toml::Value::String(note)) => Some(note),
        Some(_) => return Err(error(format!("protocols.{index}.note: expected a string"))),
        None => None,
    };
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
    let scenario = scenario::parse_keyed(file, &text).map_err(|(e, key)| {
        (ScenarioError { message: format!("protocols.{index} ({label}): {}", e.message), ..e }, key)
    })?;
    Ok(Ok(Contender { label, slug, scenario, checked, note }))
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
        let mut entrant = Entrant::new(&contender.label, &scenario.protocol, &scenario.variant);
        entrant.note.clone_from(&contender.note);
        entrants.push(entrant);
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
    let mut result = run::run(&scenario, RunOptions { seed, detailed: true });
    let scenario_file = out.join(&contender.slug).join("scenario.toml");
    result.summary.replay = Replay::new(&scenario_file, seed, scenario.engine, false).command();
    let run_dir = out.join(&contender.slug).join(format!("seed-{seed}"));
    run::write_outputs(&run_dir, &result)?;
    let data = RunData::read(&run_dir)?;
    let link = if entrant.runs.len() < MAX_RUN_REPORTS {
        reports::render_run(&run_dir)?;
        Some(format!("{}/seed-{seed}/{}", contender.slug, reports::REPORT_FILE))
    } else {
        None
    };
    println!("{} seed {seed}: {}", contender.label, result.verdict);
    let expect = contender.checked.then(|| scenario.expect.name());
    entrant.add(&data, expect, link);
    Ok(())
}

/// A run of a comparison whose verdict was not the one expected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unexpected {
    pub label: String,
    pub seed: u64,
    pub verdict: String,
    pub expect: String,
    pub replay: String,
}

/// Renders the comparison into `out`; returns the runs that were not as expected.
pub fn render(comparison: &Comparison, out: &Path) -> std::io::Result<Vec<Unexpected>> {
    reports::render_comparison(comparison, out)?;
    let mut unexpected = Vec::new();
    for entrant in &comparison.entrants {
        let scenario = out.join(slug(&entrant.label)).join("scenario.toml");
        for outcome in entrant.unexpected() {
            unexpected.push(Unexpected {
                label: entrant.label.clone(),
                seed: outcome.seed,
                verdict: outcome.verdict.clone(),
                expect: outcome.expect.clone().unwrap_or_default(),
                replay: replay_of(&scenario, outcome.seed),
            });
        }
    }
    Ok(unexpected)
}

/// The replay command of `seed` of a comparison's protocol, from its written scenario.
fn replay_of(scenario_file: &Path, seed: u64) -> String {
    let engine = scenario::load(scenario_file).map(|scenario| scenario.engine).unwrap_or_default();
    Replay::new(scenario_file, seed, engine, false).command()
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
