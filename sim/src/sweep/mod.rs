//! `faultline sweep`: many seeds of many scenarios, in parallel, for CI.
//!
//! Seeds run on all cores, one single-threaded simulation per seed. Each seed's row is
//! appended to `sweep.csv` as soon as it is done, so an interrupted sweep keeps its results
//! and, run again with the same output directory, resumes without re-running them. At the
//! end: verdict counts, seeds per second, the first failure per scenario and invariant with
//! its replay command, the "sometimes" counts (how many runs saw each fault kind fire and
//! each protocol milestone), and a shrunk scenario file for the first failure of each kind.
//!
//! The sweep passes when every `expect = "ok"` scenario is ok on every seed, every scenario
//! that expects a violation (or `stuck`) shows it on at least one seed, no seed ends in
//! `error`, and every fault kind a scenario configures fired in at least one of its runs.

pub mod shrink;
mod summary;
pub mod swarm;

use std::collections::BTreeSet;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Instant;

use reports::SweepRow;

use crate::run::{self, RunResult};
use crate::scenario::Scenario;
use crate::world::RunOptions;
pub use summary::{ScenarioSummary, Summary, SummaryOptions};

/// A half-open range of seeds, `A..B`, or `A..=B`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Seeds {
    pub start: u64,
    pub end: u64,
}

impl std::str::FromStr for Seeds {
    type Err = String;

    fn from_str(text: &str) -> Result<Seeds, String> {
        let bad = || format!("{text:?} is not a seed range; write A..B (B excluded) or A..=B, e.g. 1..1000");
        let (start, end, inclusive) = match text.split_once("..=") {
            Some((start, end)) => (start, end, true),
            None => text.split_once("..").map(|(start, end)| (start, end, false)).ok_or_else(bad)?,
        };
        let start: u64 = start.trim().parse().map_err(|_| bad())?;
        let end: u64 = end.trim().parse().map_err(|_| bad())?;
        let end = if inclusive { end.checked_add(1).ok_or_else(bad)? } else { end };
        if end <= start {
            return Err(format!("{text:?} holds no seed; the end must be above the start"));
        }
        Ok(Seeds { start, end })
    }
}

/// Shard `index` (1-based) of `count`: the seeds whose position in the range is
/// `index - 1` modulo `count`, so the shards cover each seed exactly once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    pub index: u64,
    pub count: u64,
}

impl std::str::FromStr for Shard {
    type Err = String;

    fn from_str(text: &str) -> Result<Shard, String> {
        let bad = || format!("{text:?} is not a shard; write I/N with 1 <= I <= N, e.g. 2/4");
        let (index, count) = text.split_once('/').ok_or_else(bad)?;
        let shard =
            Shard { index: index.trim().parse().map_err(|_| bad())?, count: count.trim().parse().map_err(|_| bad())? };
        if shard.index == 0 || shard.index > shard.count {
            return Err(bad());
        }
        Ok(shard)
    }
}

impl Shard {
    pub fn holds(&self, seeds: Seeds, seed: u64) -> bool {
        (seed - seeds.start) % self.count == self.index - 1
    }
}

/// What to sweep and how.
#[derive(Clone, Debug)]
pub struct SweepOptions {
    pub seeds: Seeds,
    pub jobs: usize,
    pub shard: Option<Shard>,
    pub swarm: bool,
    pub out: PathBuf,
    pub shrink: bool,
    /// Run every N-th seed twice and compare trace hashes (0: never).
    pub recheck: u64,
}

/// One scenario of the sweep, with the file it came from.
#[derive(Clone, Debug)]
pub struct Entry {
    pub path: PathBuf,
    pub scenario: Scenario,
}

/// Runs the sweep; returns its summary (which says whether it passed).
pub fn sweep(entries: &[Entry], options: &SweepOptions) -> std::io::Result<Summary> {
    std::fs::create_dir_all(&options.out)?;
    let csv_path = options.out.join("sweep.csv");
    let mut rows = read_rows(&csv_path)?;
    let done: BTreeSet<(String, u64)> = rows.iter().map(|row| (row.scenario.clone(), row.seed)).collect();
    let jobs: Vec<(usize, u64)> = entries
        .iter()
        .enumerate()
        .flat_map(|(index, _)| (options.seeds.start..options.seeds.end).map(move |seed| (index, seed)))
        .filter(|&(_, seed)| options.shard.is_none_or(|shard| shard.holds(options.seeds, seed)))
        .filter(|(index, seed)| !done.contains(&(entries[*index].scenario.name.clone(), *seed)))
        .collect();
    if !rows.is_empty() {
        println!("sweep: resuming {}: {} seeds done, {} to run", csv_path.display(), rows.len(), jobs.len());
    }
    let started = Instant::now();
    let mut firsts = summary::FirstFound::default();
    let new_rows = run_parallel(entries, &jobs, options, &csv_path, |row| firsts.note(row, started.elapsed()))?;
    let seconds = started.elapsed().as_secs_f64();
    let ran = new_rows.len();
    rows.extend(new_rows);
    let mut summary = Summary::of(&rows, SummaryOptions { seeds_run: ran, seconds, firsts, swarm: options.swarm });
    if options.shrink {
        summary.shrunk = shrink_failures(entries, &rows, options);
    }
    Ok(summary)
}

/// The rows already in a sweep's CSV (none if it does not exist yet).
pub fn read_rows(path: &Path) -> std::io::Result<Vec<SweepRow>> {
    if !path.exists() {
        return Ok(Vec::new());
    }
    reports::read_csv(path)
}

/// Runs `jobs` on `options.jobs` threads, appending each row to the CSV as it arrives.
fn run_parallel(
    entries: &[Entry],
    jobs: &[(usize, u64)],
    options: &SweepOptions,
    csv_path: &Path,
    mut on_row: impl FnMut(&SweepRow),
) -> std::io::Result<Vec<SweepRow>> {
    let mut writer = reports::CsvAppender::open(csv_path)?;
    let next = AtomicUsize::new(0);
    let (sender, receiver) = mpsc::channel();
    let mut progress = Progress::new(jobs.len() as u64);
    let mut rows = Vec::with_capacity(jobs.len());
    std::thread::scope(|scope| -> std::io::Result<()> {
        for _ in 0..options.jobs.max(1) {
            let sender = sender.clone();
            let next = &next;
            scope.spawn(move || {
                while let Some(&(entry, seed)) = jobs.get(next.fetch_add(1, Ordering::Relaxed)) {
                    if sender.send(run_seed(&entries[entry], seed, options)).is_err() {
                        return;
                    }
                }
            });
        }
        drop(sender);
        for row in receiver {
            writer.append(&row)?;
            on_row(&row);
            progress.tick(&row);
            rows.push(row);
        }
        Ok(())
    })?;
    progress.finish();
    Ok(rows)
}

/// The scenario a seed runs: the entry's, under the seed's weather in swarm mode.
pub fn scenario_for(entry: &Scenario, seed: u64, swarm: bool) -> (Scenario, String) {
    if swarm {
        swarm::weather(entry, seed)
    } else {
        (entry.clone(), String::new())
    }
}

fn run_seed(entry: &Entry, seed: u64, options: &SweepOptions) -> SweepRow {
    let (scenario, weather) = scenario_for(&entry.scenario, seed, options.swarm);
    let started = Instant::now();
    let result = run::run(&scenario, RunOptions { seed, detailed: false });
    let wall_ms = started.elapsed().as_secs_f64() * 1e3;
    let mut row = row_of(entry, &scenario, seed, &result, wall_ms, weather);
    if options.recheck > 0 && seed % options.recheck == 0 {
        let again = run::run(&scenario, RunOptions { seed, detailed: false });
        if again.summary.trace_hash != result.summary.trace_hash {
            row.verdict = "error".to_string();
            row.invariant = "nondeterminism".to_string();
        }
    }
    row
}

fn row_of(
    entry: &Entry,
    scenario: &Scenario,
    seed: u64,
    result: &RunResult,
    wall_ms: f64,
    weather: String,
) -> SweepRow {
    let violation = result.summary.violations.first();
    let (faults_fired, milestones) = match &result.record {
        Some(record) => {
            let mut fired: Vec<(&'static str, u64)> = Vec::new();
            for period in &record.recorder.faults {
                match fired.iter_mut().find(|(kind, _)| *kind == period.kind.name()) {
                    Some((_, count)) => *count += 1,
                    None => fired.push((period.kind.name(), 1)),
                }
            }
            (pairs(&fired), pairs(&record.recorder.milestones))
        }
        None => (String::new(), String::new()),
    };
    SweepRow {
        scenario: entry.scenario.name.clone(),
        path: entry.path.display().to_string(),
        seed,
        expect: scenario.expect.name().to_string(),
        verdict: result.verdict.name().to_string(),
        invariant: violation.map(|violation| violation.invariant.clone()).unwrap_or_default(),
        violation_ms: violation.map(|violation| violation.time_ms),
        events: result.summary.figures.events,
        wall_ms,
        trace_hash: result.summary.trace_hash.clone(),
        weather,
        faults_configured: scenario.fault_kinds().join(";"),
        faults_fired,
        milestones,
    }
}

/// `name:count` pairs, sorted by name, `;`-separated.
fn pairs(counts: &[(&'static str, u64)]) -> String {
    let mut sorted = counts.to_vec();
    sorted.sort_unstable();
    sorted.iter().map(|(name, count)| format!("{name}:{count}")).collect::<Vec<_>>().join(";")
}

/// Shrinks the first failing seed of each scenario and invariant into a scenario file.
fn shrink_failures(entries: &[Entry], rows: &[SweepRow], options: &SweepOptions) -> Vec<summary::ShrunkFile> {
    let mut firsts: Vec<&SweepRow> = Vec::new();
    let mut sorted: Vec<&SweepRow> = rows.iter().filter(|row| row.verdict != "ok").collect();
    sorted.sort_by_key(|row| (row.scenario.clone(), row.invariant.clone(), row.seed));
    for row in sorted {
        if !firsts.iter().any(|first| first.scenario == row.scenario && first.invariant == row.invariant) {
            firsts.push(row);
        }
    }
    let mut shrunk = Vec::new();
    for row in firsts {
        let Some(entry) = entries.iter().find(|entry| entry.scenario.name == row.scenario) else { continue };
        let (scenario, _) = scenario_for(&entry.scenario, row.seed, options.swarm);
        let Some(result) = shrink::shrink(&scenario, row.seed) else { continue };
        if let Ok(path) = shrink::write(&options.out.join("shrunk"), &entry.scenario, row.seed, &result) {
            shrunk.push(summary::ShrunkFile {
                scenario: row.scenario.clone(),
                invariant: row.invariant.clone(),
                seed: row.seed,
                faults_before: result.faults_before,
                faults_after: result.faults_after,
                path,
            });
        }
    }
    shrunk
}

/// Progress on a terminal (indicatif), plain periodic lines otherwise.
struct Progress {
    bar: Option<indicatif::ProgressBar>,
    total: u64,
    done: u64,
    failures: u64,
    started: Instant,
    last_line: Instant,
}

impl Progress {
    fn new(total: u64) -> Progress {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = indicatif::ProgressBar::new(total);
            let style =
                indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} seeds, {per_sec}, {msg}, eta {eta}")
                    .expect("a valid template");
            bar.set_style(style);
            bar
        });
        Progress { bar, total, done: 0, failures: 0, started: Instant::now(), last_line: Instant::now() }
    }

    fn tick(&mut self, row: &SweepRow) {
        self.done += 1;
        // A failure: an `ok` scenario that is not ok, or any error (a variant's ok seeds are not).
        self.failures += u64::from((row.expect == "ok" && row.verdict != "ok") || row.verdict == "error");
        match &self.bar {
            Some(bar) => {
                bar.set_message(format!("{} failures", self.failures));
                bar.inc(1);
            }
            None if self.last_line.elapsed().as_secs() >= 5 => {
                self.last_line = Instant::now();
                let rate = self.done as f64 / self.started.elapsed().as_secs_f64();
                println!("sweep: {}/{} seeds, {rate:.1} seeds/s, {} failures", self.done, self.total, self.failures);
            }
            None => {}
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
