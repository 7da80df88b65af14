//! The verdict of a sweep, computed from its rows alone (so that the rows of several shards,
//! merged, give the same summary): verdict counts per scenario, the first failing seed per
//! scenario and invariant, the "sometimes" counts of fault kinds and milestones, and the
//! problems that make the sweep fail.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::Duration;

use reports::SweepRow;

use crate::replay::Replay;
use crate::scenario::EngineKind;

/// When each scenario and invariant first failed: the wall time from that scenario's first
/// seed to the end of the failing one.
#[derive(Clone, Debug, Default)]
pub struct FirstFound {
    found: Vec<(String, String, f64)>,
}

impl FirstFound {
    pub fn note(&mut self, row: &SweepRow, since_scenario: Duration) {
        let known =
            self.found.iter().any(|(scenario, invariant, _)| *scenario == row.scenario && *invariant == row.invariant);
        if row.verdict != "ok" && !known {
            self.found.push((row.scenario.clone(), row.invariant.clone(), since_scenario.as_secs_f64()));
        }
    }

    fn seconds(&self, scenario: &str, invariant: &str) -> Option<f64> {
        self.found.iter().find(|(s, i, _)| s == scenario && i == invariant).map(|(_, _, seconds)| *seconds)
    }
}

/// How the summary was produced.
#[derive(Clone, Debug, Default)]
pub struct SummaryOptions {
    /// Seeds run by this process (the rest were resumed or merged).
    pub seeds_run: usize,
    pub seconds: f64,
    pub firsts: FirstFound,
    pub swarm: bool,
    /// Why the sweep stopped taking seeds before its range was done (a time box, the first
    /// failure), if it did.
    pub ended: Option<String>,
}

/// A shrunk scenario written for a failure.
#[derive(Clone, Debug)]
pub struct ShrunkFile {
    pub scenario: String,
    pub invariant: String,
    pub seed: u64,
    pub faults_before: usize,
    pub faults_after: usize,
    pub path: PathBuf,
    /// The command that replays it.
    pub replay: String,
}

/// The first failing seed of one scenario for one invariant.
#[derive(Clone, Debug, PartialEq)]
pub struct FirstFailure {
    pub invariant: String,
    pub verdict: String,
    pub seed: u64,
    /// Seeds of the scenario at or below that seed: the seeds it took to find it.
    pub seeds_to_find: usize,
    /// Wall time from the scenario's first seed to the end of the failing one, in the
    /// sweep that ran it (unknown after a resume or a merge).
    pub seconds_to_find: Option<f64>,
    /// Wall time of the scenario's own runs up to the failing seed: what a sweep of that
    /// scenario alone, on one core, would have taken.
    pub own_seconds: f64,
    /// The command that replays it.
    pub replay: String,
}

#[derive(Clone, Debug, Default)]
pub struct ScenarioSummary {
    pub name: String,
    pub path: String,
    pub expect: String,
    pub runs: usize,
    pub verdicts: BTreeMap<String, usize>,
    pub firsts: Vec<FirstFailure>,
    /// Fault kinds configured in some run, and in how many runs each fired.
    pub configured: BTreeSet<String>,
    pub fired: BTreeMap<String, usize>,
    /// In how many runs each milestone was reached.
    pub milestones: BTreeMap<String, usize>,
}

#[derive(Clone, Debug, Default)]
pub struct Summary {
    pub seeds: usize,
    pub options: SummaryOptions,
    pub scenarios: Vec<ScenarioSummary>,
    /// Why the sweep fails; empty when it passes.
    pub problems: Vec<String>,
    pub shrunk: Vec<ShrunkFile>,
    /// Set when the sweep was stopped before its end: the seeds left (if the range was
    /// bounded) and the CSV to resume.
    pub interrupted: Option<(Option<usize>, PathBuf)>,
}

impl Summary {
    pub fn of(rows: &[SweepRow], options: SummaryOptions) -> Summary {
        let mut names: Vec<&str> = rows.iter().map(|row| row.scenario.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        let scenarios: Vec<ScenarioSummary> = names
            .into_iter()
            .map(|name| scenario_summary(name, rows.iter().filter(|row| row.scenario == name), &options.firsts))
            .collect();
        let problems = scenarios.iter().flat_map(problems_of).collect();
        Summary { seeds: rows.len(), options, scenarios, problems, shrunk: Vec::new(), interrupted: None }
    }

    pub fn passed(&self) -> bool {
        self.problems.is_empty()
    }

    pub fn print(&self) {
        let rate = if self.options.seconds > 0.0 { self.options.seeds_run as f64 / self.options.seconds } else { 0.0 };
        println!(
            "sweep: {} seeds of {} scenarios; ran {} in {:.2} s ({rate:.1} seeds/s)",
            self.seeds,
            self.scenarios.len(),
            self.options.seeds_run,
            self.options.seconds
        );
        for scenario in &self.scenarios {
            self.print_scenario(scenario);
        }
        for shrunk in &self.shrunk {
            println!(
                "shrunk {} seed {} ({}): {} faults -> {}: {}\n  replay: {}",
                shrunk.scenario,
                shrunk.seed,
                shrunk.invariant,
                shrunk.faults_before,
                shrunk.faults_after,
                shrunk.path.display(),
                shrunk.replay
            );
        }
        if let Some((left, csv)) = &self.interrupted {
            let left = left.map_or_else(String::new, |left| format!(" with {left} seeds still to run"));
            println!(
                "sweep: stopped{left}; the rows of the seeds that ran are in {}: run the same command again to \
                 resume",
                csv.display()
            );
            return;
        }
        if let Some(ended) = &self.options.ended {
            println!("sweep: {ended}");
        }
        match self.problems.is_empty() {
            true => println!("sweep passed"),
            false => println!("sweep FAILED:\n  {}", self.problems.join("\n  ")),
        }
    }

    fn print_scenario(&self, scenario: &ScenarioSummary) {
        let verdicts: Vec<String> =
            scenario.verdicts.iter().map(|(verdict, count)| format!("{verdict} {count}")).collect();
        println!("  {:<40} expect {:<9} {}", scenario.name, scenario.expect, verdicts.join(", "));
        for first in &scenario.firsts {
            let since = first.seconds_to_find.map_or(String::new(), |s| format!(", {s:.2} s from its start"));
            println!(
                "    first {} ({}): seed {} after {} seeds{since} ({:.2} s of its own runs); replay: {}",
                first.verdict, first.invariant, first.seed, first.seeds_to_find, first.own_seconds, first.replay
            );
        }
        let runs = scenario.runs;
        let fired: Vec<String> = scenario
            .configured
            .iter()
            .map(|kind| format!("{kind} {}/{runs}", scenario.fired.get(kind).copied().unwrap_or(0)))
            .collect();
        if !fired.is_empty() {
            println!("    faults fired in: {}", fired.join(", "));
        }
        let milestones: Vec<String> =
            scenario.milestones.iter().map(|(name, count)| format!("{name} {count}/{runs}")).collect();
        if !milestones.is_empty() {
            println!("    milestones in: {}", milestones.join(", "));
        }
    }
}

fn scenario_summary<'a>(name: &str, rows: impl Iterator<Item = &'a SweepRow>, firsts: &FirstFound) -> ScenarioSummary {
    let mut rows: Vec<&SweepRow> = rows.collect();
    rows.sort_by_key(|row| row.seed);
    let mut summary = ScenarioSummary { name: name.to_string(), runs: rows.len(), ..ScenarioSummary::default() };
    let mut own_ms = 0.0;
    for (position, row) in rows.iter().enumerate() {
        own_ms += row.wall_ms;
        summary.path.clone_from(&row.path);
        summary.expect.clone_from(&row.expect);
        *summary.verdicts.entry(row.verdict.clone()).or_default() += 1;
        summary.configured.extend(names(&row.faults_configured));
        for kind in names(&row.faults_fired) {
            *summary.fired.entry(kind).or_default() += 1;
        }
        for milestone in names(&row.milestones) {
            *summary.milestones.entry(milestone).or_default() += 1;
        }
        let known = summary.firsts.iter().any(|first| first.invariant == row.invariant);
        if row.verdict != "ok" && !known {
            summary.firsts.push(FirstFailure {
                invariant: row.invariant.clone(),
                verdict: row.verdict.clone(),
                seed: row.seed,
                seeds_to_find: position + 1,
                seconds_to_find: firsts.seconds(name, &row.invariant),
                own_seconds: own_ms / 1e3,
                replay: replay_of(row),
            });
        }
    }
    summary
}

/// The command that replays the run of `row`.
pub fn replay_of(row: &SweepRow) -> String {
    let engine = EngineKind::parse(&row.engine).unwrap_or_default();
    Replay::new(std::path::Path::new(&row.path), row.seed, engine, row.swarm).command()
}

/// The names in a `name:count;name:count` or `name;name` list.
fn names(list: &str) -> impl Iterator<Item = String> + '_ {
    list.split(';').filter(|item| !item.is_empty()).map(|item| item.split(':').next().unwrap_or(item).to_string())
}

fn problems_of(scenario: &ScenarioSummary) -> Vec<String> {
    let mut problems = Vec::new();
    let count = |verdict: &str| scenario.verdicts.get(verdict).copied().unwrap_or(0);
    let name = &scenario.name;
    if scenario.expect == "ok" {
        let bad = scenario.runs - count("ok");
        if bad > 0 {
            problems.push(format!("{name}: {bad} of {} seeds not ok", scenario.runs));
        }
    } else if count(&scenario.expect) == 0 {
        problems.push(format!(
            "{name}: expected {} on some seed, but none of {} seeds showed it",
            scenario.expect, scenario.runs
        ));
    }
    if scenario.expect != "ok" && count("error") > 0 {
        problems.push(format!("{name}: {} seeds ended in error", count("error")));
    }
    // A fault kind that never fired makes a pass vacuous; a scenario that showed the failure
    // it expects did not pass (a time-boxed sweep stops it there, often after one seed).
    let showed_its_failure = scenario.expect != "ok" && count(&scenario.expect) > 0;
    let silent: Vec<&str> =
        scenario.configured.iter().filter(|kind| !scenario.fired.contains_key(*kind)).map(String::as_str).collect();
    if !silent.is_empty() && !showed_its_failure {
        problems.push(format!(
            "{name}: fault kinds configured but never fired in {} runs: {} (a vacuous pass)",
            scenario.runs,
            silent.join(", ")
        ));
    }
    // Every protocol declares its milestones (leader elected, entry committed, ...): an `ok`
    // whose runs reached none of them only shows that nothing happened.
    if scenario.expect == "ok" && scenario.runs > 0 && scenario.milestones.is_empty() {
        problems.push(format!(
            "{name}: no run of {} reached any of its protocol's milestones (a vacuous pass)",
            scenario.runs
        ));
    }
    problems
}
