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
//! The work is a [`Plan`]: each scenario's seeds in order, and a pool of threads that takes
//! the next seed of whichever scenario has had the least wall time so far (round robin by
//! time), so that one slow scenario cannot starve the others. A time box (`time`) stops
//! the sweep taking seeds when it is over; within one, a scenario that expects a violation
//! stops once it has shown it, and its share goes to the others. `until_first` stops the
//! whole sweep at its first failure. For each scenario and invariant the summary gives the
//! seeds and the wall time to the first failure, from that scenario's own start.
//! Shrinking comes after the runs, in parallel, within a deadline of its own when the
//! sweep is time-boxed.

pub mod shrink;
mod summary;
pub mod swarm;
pub mod table;

use std::collections::BTreeSet;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

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

impl Seeds {
    /// Every seed from 1 on: the range of a time-boxed sweep given none.
    pub const UNBOUNDED: Seeds = Seeds { start: 1, end: u64::MAX };

    /// How many seeds the range holds.
    pub fn len(&self) -> u64 {
        self.end - self.start
    }

    pub fn is_empty(&self) -> bool {
        self.end <= self.start
    }
}

/// A wall-clock time box, `90s`, `2m`, `1h` or plain seconds.
pub fn parse_time(text: &str) -> Result<Duration, String> {
    let bad = || format!("{text:?} is not a time; write seconds, minutes or hours: 90s, 2m, 1h (or just 90)");
    let trimmed = text.trim();
    let (number, unit) = match trimmed.find(|c: char| !(c.is_ascii_digit() || c == '.')) {
        Some(at) => trimmed.split_at(at),
        None => (trimmed, "s"),
    };
    let value: f64 = number.parse().map_err(|_| bad())?;
    let seconds = match unit {
        "s" => value,
        "m" => value * 60.0,
        "h" => value * 3_600.0,
        _ => return Err(bad()),
    };
    if !(seconds > 0.0 && seconds <= 7.0 * 86_400.0) {
        return Err(format!("{text:?}: a time box is above 0 and at most a week"));
    }
    Ok(Duration::from_secs_f64(seconds))
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
    /// A wall-clock time box: no seed starts after it (the runs in progress finish).
    pub time: Option<Duration>,
    /// Stop the whole sweep at its first failure (an `ok` scenario that is not ok, or an
    /// error).
    pub until_first: bool,
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
            time: None,
            until_first: false,
        }
    }

    /// How long shrinking may take after a time-boxed sweep: a quarter of the box, at least
    /// 15 s (unbounded otherwise: each shrink has its budget of runs).
    pub fn shrink_time(&self) -> Option<Duration> {
        self.time.map(|time| (time / 4).max(Duration::from_secs(15)))
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

/// The jobs of a sweep, handed out one at a time: each scenario's seeds in order (without
/// the seeds of other shards and those already done), from the scenario that has had the
/// least wall time so far, counting the runs it has in progress at its mean so far (and,
/// before any has finished, the one with fewest runs in progress).
#[derive(Clone, Debug)]
pub struct Plan {
    seeds: Seeds,
    shard: Option<Shard>,
    scenarios: Vec<Lane>,
}

/// One scenario's part of the plan.
#[derive(Clone, Debug, Default)]
struct Lane {
    /// The next seed to consider.
    next: u64,
    done: BTreeSet<u64>,
    /// Seconds its finished runs took, how many there are, how many are in progress.
    spent: f64,
    finished: u64,
    running: u64,
    stopped: bool,
}

impl Lane {
    /// Seconds spent, counting each run in progress at the mean of those finished.
    fn load(&self) -> f64 {
        let mean = if self.finished > 0 { self.spent / self.finished as f64 } else { 0.0 };
        self.spent + mean * self.running as f64
    }
}

/// The plan of a sweep of `entries`, leaving out the (scenario, seed) pairs in `done`.
pub fn plan(entries: &[Entry], options: &SweepOptions, done: &BTreeSet<(String, u64)>) -> Plan {
    let scenarios = entries
        .iter()
        .map(|entry| Lane {
            next: options.seeds.start,
            done: done.iter().filter(|(name, _)| *name == entry.scenario.name).map(|&(_, seed)| seed).collect(),
            ..Lane::default()
        })
        .collect();
    Plan { seeds: options.seeds, shard: options.shard, scenarios }
}

impl Plan {
    /// The next job, or `None` when every scenario is done or stopped.
    pub fn take(&mut self) -> Option<Job> {
        loop {
            let (entry, lane) = (self.scenarios.iter_mut().enumerate())
                .filter(|(_, lane)| !lane.stopped && lane.next < self.seeds.end)
                .min_by(|(a, x), (b, y)| {
                    x.load().total_cmp(&y.load()).then(x.running.cmp(&y.running)).then(a.cmp(b))
                })?;
            let seed = lane.next;
            lane.next += 1;
            let skipped = self.shard.is_some_and(|shard| !shard.holds(self.seeds, seed)) || lane.done.contains(&seed);
            if !skipped {
                lane.running += 1;
                return Some(Job { entry, seed });
            }
        }
    }

    /// A job of scenario `entry` finished after `seconds`.
    pub fn finished(&mut self, entry: usize, seconds: f64) {
        let lane = &mut self.scenarios[entry];
        lane.running = lane.running.saturating_sub(1);
        lane.finished += 1;
        lane.spent += seconds;
    }

    /// Scenario `entry` takes no more seeds.
    pub fn stop(&mut self, entry: usize) {
        self.scenarios[entry].stopped = true;
    }

    /// The jobs left, if the seed range is bounded.
    pub fn left(&self) -> Option<u64> {
        if self.seeds.end == u64::MAX {
            return None;
        }
        let holds = |seed: u64| self.shard.is_none_or(|shard| shard.holds(self.seeds, seed));
        let left = self.scenarios.iter().filter(|lane| !lane.stopped).map(|lane| {
            (lane.next..self.seeds.end).filter(|&seed| holds(seed) && !lane.done.contains(&seed)).count() as u64
        });
        Some(left.sum())
    }
}

/// Runs the sweep; returns its summary (which says whether it passed).
pub fn sweep(entries: &[Entry], options: &SweepOptions) -> Result<Summary, SweepError> {
    let io = |error: std::io::Error| SweepError(format!("{}: {error}", options.out.display()));
    std::fs::create_dir_all(&options.out).map_err(io)?;
    let csv_path = options.out.join("sweep.csv");
    let mut rows = resume(entries, options, &csv_path)?;
    let done: BTreeSet<(String, u64)> = rows.iter().map(|row| (row.scenario.clone(), row.seed)).collect();
    let plan = plan(entries, options, &done);
    let planned = plan.left();
    if !rows.is_empty() {
        let left = planned.map_or_else(|| "seeds".to_string(), |left| format!("{left}"));
        println!("sweep: resuming {}: {} seeds done, {left} to run", csv_path.display(), rows.len());
    }
    let started = Instant::now();
    let outcome = run_parallel(entries, plan, options, &csv_path)
        .map_err(|error| SweepError(format!("{}: {error}", csv_path.display())))?;
    let seconds = started.elapsed().as_secs_f64();
    let ran = outcome.rows.len();
    rows.extend(outcome.rows);
    let interrupted = options.interrupt.load(Ordering::Relaxed);
    let options_summary =
        SummaryOptions { seeds_run: ran, seconds, firsts: outcome.firsts, swarm: options.swarm, ended: outcome.ended };
    let mut summary = Summary::of(&rows, options_summary);
    let left = planned.map(|planned| (planned as usize).saturating_sub(ran));
    summary.interrupted = interrupted.then(|| (left, csv_path.clone()));
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

/// What the runs of a sweep left: their rows, when each scenario and invariant first
/// failed, and why the sweep stopped taking seeds early, if it did.
struct Outcome {
    rows: Vec<SweepRow>,
    firsts: summary::FirstFound,
    ended: Option<String>,
}

/// Runs the plan on `options.jobs` threads, appending each row to the CSV as it arrives;
/// stops taking jobs once `options.interrupt` is set, the time box is over, or (with
/// `until_first`) something failed.
fn run_parallel(entries: &[Entry], plan: Plan, options: &SweepOptions, csv_path: &Path) -> std::io::Result<Outcome> {
    let mut writer = reports::CsvAppender::open(csv_path)?;
    let started = Instant::now();
    let deadline = options.time.map(|time| started + time);
    let total = plan.left();
    let plan = Mutex::new(plan);
    let first_started: Mutex<Vec<Option<Instant>>> = Mutex::new(vec![None; entries.len()]);
    let stop = AtomicBool::new(false);
    let (sender, receiver) = mpsc::channel();
    let mut progress = Progress::new(total, options.time);
    let mut outcome = Outcome { rows: Vec::new(), firsts: summary::FirstFound::default(), ended: None };
    let threads = options.jobs.clamp(1, total.map_or(usize::MAX, |total| total.max(1) as usize));
    // What determined each scenario's runs, hashed once rather than once a seed.
    let keys: Vec<Key> = entries.iter().map(|entry| Key::of(&entry.scenario, options.swarm)).collect();
    std::thread::scope(|scope| -> std::io::Result<()> {
        for _ in 0..threads {
            let sender = sender.clone();
            let (plan, first_started, stop, keys) = (&plan, &first_started, &stop, &keys);
            scope.spawn(move || loop {
                let over = deadline.is_some_and(|deadline| Instant::now() >= deadline);
                if options.interrupt.load(Ordering::Relaxed) || stop.load(Ordering::Relaxed) || over {
                    return;
                }
                let Some(job) = plan.lock().expect("the plan").take() else { return };
                first_started.lock().expect("the starts")[job.entry].get_or_insert_with(Instant::now);
                let run_started = Instant::now();
                let row = run_seed(&entries[job.entry], &keys[job.entry], job.seed, options);
                plan.lock().expect("the plan").finished(job.entry, run_started.elapsed().as_secs_f64());
                // Stopped here, not when the row is read, so that no thread takes another seed.
                if options.until_first && is_failure(&row) {
                    stop.store(true, Ordering::Relaxed);
                }
                if sender.send((job, row)).is_err() {
                    return;
                }
            });
        }
        drop(sender);
        for (job, row) in receiver {
            writer.append(&row)?;
            let since = first_started.lock().expect("the starts")[job.entry].map_or(Duration::ZERO, |at| at.elapsed());
            outcome.firsts.note(&row, since);
            progress.tick(&row);
            if is_failure(&row) && options.until_first && outcome.ended.is_none() {
                outcome.ended = Some(format!(
                    "stopped at the first failure (--until-first): {} seed {} ({})",
                    row.scenario, row.seed, row.verdict
                ));
            }
            // Within a time box, a scenario that expects a failure has done its job once it shows it.
            if options.time.is_some() && row.expect != "ok" && row.verdict == row.expect {
                plan.lock().expect("the plan").stop(job.entry);
            }
            outcome.rows.push(row);
        }
        Ok(())
    })?;
    progress.finish();
    if outcome.ended.is_none() && deadline.is_some_and(|deadline| Instant::now() >= deadline) {
        let time = options.time.map_or(0.0, |time| time.as_secs_f64());
        outcome.ended = Some(format!("the time box of {time:.0} s is over"));
    }
    Ok(outcome)
}

/// Whether a row fails the sweep by itself: an `ok` scenario that is not ok, or an error.
fn is_failure(row: &SweepRow) -> bool {
    (row.expect == "ok" && row.verdict != "ok") || row.verdict == "error"
}

/// The scenario a seed runs: the entry's, under the seed's weather in swarm mode.
pub fn scenario_for(entry: &Scenario, seed: u64, swarm: bool) -> (Scenario, String) {
    if swarm {
        swarm::weather(entry, seed)
    } else {
        (entry.clone(), String::new())
    }
}

fn run_seed(entry: &Entry, key: &Key, seed: u64, options: &SweepOptions) -> SweepRow {
    let (scenario, weather) = scenario_for(&entry.scenario, seed, options.swarm);
    let started = Instant::now();
    let result = run::run(&scenario, RunOptions { seed, detailed: false });
    let wall_ms = started.elapsed().as_secs_f64() * 1e3;
    let mut row = row_of(entry, &scenario, seed, &result, wall_ms, weather);
    (row.engine, row.swarm) = (key.engine.clone(), key.swarm);
    (row.scenario_hash, row.build) = (key.scenario_hash.clone(), key.build.clone());
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

/// Shrinks the first failing seed of each scenario and invariant into a scenario file, on
/// `options.jobs` threads, within the sweep's shrink time if it has one.
fn shrink_failures(entries: &[Entry], rows: &[SweepRow], options: &SweepOptions) -> Vec<summary::ShrunkFile> {
    let mut firsts: Vec<&SweepRow> = Vec::new();
    let mut sorted: Vec<&SweepRow> = rows.iter().filter(|row| row.verdict != "ok").collect();
    sorted.sort_by_key(|row| (row.scenario.clone(), row.invariant.clone(), row.seed));
    for row in sorted {
        if !firsts.iter().any(|first| first.scenario == row.scenario && first.invariant == row.invariant) {
            firsts.push(row);
        }
    }
    let deadline = options.shrink_time().map(|time| Instant::now() + time);
    let next = std::sync::atomic::AtomicUsize::new(0);
    let shrunk = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..options.jobs.clamp(1, firsts.len().max(1)) {
            scope.spawn(|| {
                while let Some(row) = firsts.get(next.fetch_add(1, Ordering::Relaxed)) {
                    if let Some(file) = shrink_one(entries, row, options, deadline) {
                        shrunk.lock().expect("the shrunk files").push(file);
                    }
                }
            });
        }
    });
    let mut shrunk = shrunk.into_inner().expect("the shrunk files");
    shrunk.sort_by(|a, b| (&a.scenario, &a.invariant).cmp(&(&b.scenario, &b.invariant)));
    shrunk
}

fn shrink_one(
    entries: &[Entry],
    row: &SweepRow,
    options: &SweepOptions,
    deadline: Option<Instant>,
) -> Option<summary::ShrunkFile> {
    let entry = entries.iter().find(|entry| entry.scenario.name == row.scenario)?;
    let (scenario, _) = scenario_for(&entry.scenario, row.seed, options.swarm);
    let result = shrink::shrink_within(&scenario, row.seed, deadline)?;
    let path = shrink::write(&options.out.join("shrunk"), &entry.scenario, row.seed, &result).ok()?;
    Some(summary::ShrunkFile {
        replay: shrink::replay(&path, &result.scenario, row.seed),
        scenario: row.scenario.clone(),
        invariant: row.invariant.clone(),
        seed: row.seed,
        faults_before: result.faults_before,
        faults_after: result.faults_after,
        path,
    })
}

/// Progress on a terminal (indicatif), plain periodic lines otherwise.
struct Progress {
    bar: Option<indicatif::ProgressBar>,
    total: Option<u64>,
    time: Option<Duration>,
    done: u64,
    failures: u64,
    started: Instant,
    last_line: Instant,
}

impl Progress {
    fn new(total: Option<u64>, time: Option<Duration>) -> Progress {
        let bar = std::io::stderr().is_terminal().then(|| {
            let (length, template) = match (total, time) {
                (Some(total), None) => (total, "{bar:40} {pos}/{len} seeds, {per_sec}, {msg}, eta {eta}"),
                _ => (u64::MAX, "{spinner} {pos} seeds, {per_sec}, {msg}, {elapsed} elapsed"),
            };
            let bar = indicatif::ProgressBar::new(length);
            let style = indicatif::ProgressStyle::with_template(template).expect("a valid template");
            bar.set_style(style);
            bar
        });
        Progress { bar, total, time, done: 0, failures: 0, started: Instant::now(), last_line: Instant::now() }
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
                let elapsed = self.started.elapsed().as_secs_f64();
                let rate = self.done as f64 / elapsed;
                let of = match (self.total, self.time) {
                    (Some(total), None) => format!("/{total}"),
                    (_, Some(time)) => format!(" in {elapsed:.0} of {:.0} s", time.as_secs_f64()),
                    _ => String::new(),
                };
                println!("sweep: {}{of} seeds, {rate:.1} seeds/s, {} failures", self.done, self.failures);
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
