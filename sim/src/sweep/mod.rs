//! `faultline sweep`: many seeds of many scenarios, in parallel, for CI.
//!
//! Seeds run on all cores, one single-threaded simulation per seed. Each seed's row is
//! appended to `sweep.csv` as soon as it is done, so an interrupted sweep keeps its results
//! and, run again with the same output directory, resumes without re-running them. A row
//! says what determined its run (see [`table::Key`]); a sweep resumes only rows of the same
//! work and refuses, saying what differs, a `sweep.csv` that holds other work (an edited
//! scenario, another engine, swarm mode or build) unless told to `restart`. At the end:
//! verdict counts, seeds per second, the first failure per scenario and invariant with its
//! replay command, the "sometimes" counts (how many runs saw each fault kind fire and each
//! protocol milestone), and a shrunk scenario file for the first failure of each kind.
//!
//! The sweep passes when every `expect = "ok"` scenario is ok on every seed, every scenario
//! that expects a violation (or `stuck`) shows it on at least one seed, no seed ends in
//! `error`, and every fault kind a scenario configures fired in at least one of its runs.
//!
//! The work is planned first ([`plan`]: which scenario and seed, in which order) and then
//! run by a pool of threads that takes jobs in plan order, so a different order (round
//! robin over scenarios, say) is a different plan.

pub mod shrink;
mod summary;
pub mod swarm;
pub mod table;

use std::collections::BTreeSet;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Instant;

use reports::SweepRow;

use crate::run::{self, RunResult};
use crate::scenario::Scenario;
use crate::world::RunOptions;
pub use summary::{ScenarioSummary, Summary, SummaryOptions};
pub use table::{Key, Table, TableError};

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

/// Parallel runs per core at most: more threads than that only share the cores.
pub const JOBS_PER_CORE: usize = 4;

/// The number of parallel runs for `--jobs`: 0 (or none) means one per core, and more
/// than [`JOBS_PER_CORE`] per core is cut to that; returns it and a note when it was cut.
pub fn jobs(requested: Option<usize>) -> (usize, Option<String>) {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    match requested {
        None | Some(0) => (cores, None),
        Some(jobs) if jobs > cores * JOBS_PER_CORE => {
            let most = cores * JOBS_PER_CORE;
            (most, Some(format!("--jobs {jobs} is more than {JOBS_PER_CORE} per core; running {most} at once")))
        }
        Some(jobs) => (jobs, None),
    }
}

/// What to sweep and how.
#[derive(Clone, Debug)]
pub struct SweepOptions {
    pub seeds: Seeds,
    /// Parallel runs (see [`jobs`]); never more threads than jobs to run.
    pub jobs: usize,
    pub shard: Option<Shard>,
    pub swarm: bool,
    pub out: PathBuf,
    pub shrink: bool,
    /// Run every N-th seed twice and compare trace hashes (0: never).
    pub recheck: u64,
    /// Discard a `sweep.csv` of other work (and its shrunk files) instead of refusing it.
    pub restart: bool,
    /// Set (by Ctrl-C) to stop taking new seeds; the runs in progress finish.
    pub interrupt: Arc<AtomicBool>,
}

impl SweepOptions {
    /// `seeds` into `out` on two threads, shrinking, with nothing else set.
    pub fn new(seeds: Seeds, out: PathBuf) -> SweepOptions {
        SweepOptions {
            seeds,
            jobs: 2,
            shard: None,
            swarm: false,
            out,
            shrink: true,
            recheck: 0,
            restart: false,
            interrupt: Arc::new(AtomicBool::new(false)),
        }
    }
}

/// One scenario of the sweep, with the file it came from.
#[derive(Clone, Debug)]
pub struct Entry {
    pub path: PathBuf,
    pub scenario: Scenario,
}

/// Why a sweep could not run: its output is unusable or holds other work (exit code 2).
#[derive(Debug)]
pub struct SweepError(pub String);

impl std::fmt::Display for SweepError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<TableError> for SweepError {
    fn from(error: TableError) -> SweepError {
        SweepError(error.to_string())
    }
}

/// One seed of one scenario (by index into the entries) to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Job {
    pub entry: usize,
    pub seed: u64,
}

/// The jobs of a sweep in the order they run: each scenario's seeds in turn, without the
/// seeds of other shards and those already `done`.
pub fn plan(entries: &[Entry], options: &SweepOptions, done: &BTreeSet<(String, u64)>) -> Vec<Job> {
    let seeds = options.seeds;
    entries
        .iter()
        .enumerate()
        .flat_map(|(entry, _)| (seeds.start..seeds.end).map(move |seed| Job { entry, seed }))
        .filter(|job| options.shard.is_none_or(|shard| shard.holds(seeds, job.seed)))
        .filter(|job| !done.contains(&(entries[job.entry].scenario.name.clone(), job.seed)))
        .collect()
}

/// Runs the sweep; returns its summary (which says whether it passed).
pub fn sweep(entries: &[Entry], options: &SweepOptions) -> Result<Summary, SweepError> {
    let io = |error: std::io::Error| SweepError(format!("{}: {error}", options.out.display()));
    std::fs::create_dir_all(&options.out).map_err(io)?;
    let csv_path = options.out.join("sweep.csv");
    let mut rows = resume(entries, options, &csv_path)?;
    let done: BTreeSet<(String, u64)> = rows.iter().map(|row| (row.scenario.clone(), row.seed)).collect();
    let jobs = plan(entries, options, &done);
    if !rows.is_empty() {
        println!("sweep: resuming {}: {} seeds done, {} to run", csv_path.display(), rows.len(), jobs.len());
    }
    let started = Instant::now();
    let mut firsts = summary::FirstFound::default();
    let new_rows = run_parallel(entries, &jobs, options, &csv_path, |row| firsts.note(row, started.elapsed()))
        .map_err(|error| SweepError(format!("{}: {error}", csv_path.display())))?;
    let seconds = started.elapsed().as_secs_f64();
    let ran = new_rows.len();
    rows.extend(new_rows);
    let interrupted = ran < jobs.len();
    let options_summary = SummaryOptions { seeds_run: ran, seconds, firsts, swarm: options.swarm };
    let mut summary = Summary::of(&rows, options_summary);
    summary.interrupted = interrupted.then(|| (jobs.len() - ran, csv_path.clone()));
    if options.shrink && !interrupted {
        summary.shrunk = shrink_failures(entries, &rows, options);
    }
    Ok(summary)
}

/// The rows of `csv_path` this sweep may keep: all of them if they are the same work,
/// none if `restart` is set (the file and the shrunk files are removed); a torn last line
/// is cut off the file. Other work is an error that says what differs and what to do.
fn resume(entries: &[Entry], options: &SweepOptions, csv_path: &Path) -> Result<Vec<SweepRow>, SweepError> {
    if options.restart {
        for path in [csv_path.to_path_buf(), options.out.join("shrunk")] {
            let removed = if path.is_dir() { std::fs::remove_dir_all(&path) } else { std::fs::remove_file(&path) };
            if let Err(error) = removed.or_else(|e| if path.exists() { Err(e) } else { Ok(()) }) {
                return Err(SweepError(format!("cannot remove {}: {error}", path.display())));
            }
        }
        return Ok(Vec::new());
    }
    let table = table::read(csv_path)?;
    if let Some(line) = table.torn {
        let file = std::fs::OpenOptions::new().write(true).open(csv_path);
        file.and_then(|file| file.set_len(table.sound_length))
            .map_err(|error| SweepError(format!("{}: cannot cut its torn last line: {error}", csv_path.display())))?;
        println!(
            "sweep: {}:{line}: dropped a torn last line (a sweep was stopped while writing it); its seed runs again",
            csv_path.display()
        );
    }
    let keys: Vec<(&str, Key)> =
        entries.iter().map(|entry| (entry.scenario.name.as_str(), Key::of(&entry.scenario, options.swarm))).collect();
    for (row, line) in table.rows.iter().zip(&table.lines) {
        let found = keys.iter().find(|(name, _)| *name == row.scenario);
        let problem = match found {
            None => format!("seed {} of {}, a scenario this sweep does not run", row.seed, row.scenario),
            Some((_, key)) => {
                let differences = key.differences(&Key::of_row(row));
                if differences.is_empty() {
                    continue;
                }
                format!("seed {} of {}: {}", row.seed, row.scenario, differences.join("; "))
            }
        };
        return Err(SweepError(format!(
            "{}:{line}: this sweep.csv holds other work ({problem}), so its {} rows cannot be resumed; \
             start over with --restart (which discards them), or sweep into another --out",
            csv_path.display(),
            table.rows.len()
        )));
    }
    Ok(table.rows)
}

/// The rows of a sweep's CSV, checked (none if it does not exist yet); a torn last line
/// is left out.
pub fn read_rows(path: &Path) -> Result<Vec<SweepRow>, TableError> {
    Ok(table::read(path)?.rows)
}

/// The rows of several shards' CSVs, checked and sorted by scenario and seed: each file as
/// [`table::read`] checks it (a torn last line is left out, with a note), and across them a
/// seed listed twice, or a scenario run by different work (edited, another engine, swarm
/// or build), is refused with the file and line.
pub fn merge(paths: &[PathBuf]) -> Result<Vec<SweepRow>, SweepError> {
    let mut rows: Vec<(SweepRow, PathBuf, usize)> = Vec::new();
    for path in paths {
        let table = table::read(path)?;
        if let Some(line) = table.torn {
            println!(
                "merge: {}:{line}: left out a torn last line (its sweep was stopped while writing it)",
                path.display()
            );
        }
        if table.rows.is_empty() {
            return Err(SweepError(format!("{}: no sweep rows (is it a sweep.csv?)", path.display())));
        }
        rows.extend(table.rows.into_iter().zip(table.lines).map(|(row, line)| (row, path.clone(), line)));
    }
    rows.sort_by(|a, b| (&a.0.scenario, a.0.seed).cmp(&(&b.0.scenario, b.0.seed)));
    for pair in rows.windows(2) {
        let ((a, a_path, a_line), (b, b_path, b_line)) = (&pair[0], &pair[1]);
        if a.scenario != b.scenario {
            continue;
        }
        let at = |path: &Path, line: usize| format!("{}:{line}", path.display());
        if a.seed == b.seed {
            return Err(SweepError(format!(
                "{}: seed {} of {} is also at {}; each seed must come from one shard",
                at(b_path, *b_line),
                b.seed,
                b.scenario,
                at(a_path, *a_line)
            )));
        }
        let differences = Key::of_row(a).differences(&Key::of_row(b));
        if !differences.is_empty() {
            return Err(SweepError(format!(
                "{}: seed {} of {} is other work than seed {} at {} ({}); merge only shards of one sweep",
                at(b_path, *b_line),
                b.seed,
                b.scenario,
                a.seed,
                at(a_path, *a_line),
                differences.join("; ")
            )));
        }
    }
    Ok(rows.into_iter().map(|(row, ..)| row).collect())
}

/// Runs `jobs` on `options.jobs` threads, appending each row to the CSV as it arrives;
/// stops taking jobs once `options.interrupt` is set.
fn run_parallel(
    entries: &[Entry],
    jobs: &[Job],
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
        for _ in 0..options.jobs.clamp(1, jobs.len().max(1)) {
            let sender = sender.clone();
            let next = &next;
            scope.spawn(move || {
                while !options.interrupt.load(Ordering::Relaxed) {
                    let Some(&job) = jobs.get(next.fetch_add(1, Ordering::Relaxed)) else { return };
                    if sender.send(run_seed(&entries[job.entry], job.seed, options)).is_err() {
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
    let key = Key::of(&entry.scenario, options.swarm);
    (row.engine, row.swarm, row.scenario_hash, row.build) = (key.engine, key.swarm, key.scenario_hash, key.build);
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
        engine: String::new(),
        swarm: false,
        scenario_hash: String::new(),
        build: String::new(),
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
                replay: shrink::replay(&path, &result.scenario, row.seed),
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
