//! Sweeps: shrinking a variant's failing seed into a smaller scenario that fails the same
//! way on its own, sharding that covers each seed once, resuming an interrupted sweep (and
//! refusing to resume other work: an edited scenario, another engine or swarm mode), a
//! torn or corrupt sweep.csv, Ctrl-C, and the guard against faults that never fire.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use protocols::node::MILLISECOND;
use sim::run;
use sim::scenario::{self, Verdict};
use sim::sweep::{self, shrink, Entry, Seeds, Shard, SweepOptions};
use sim::RunOptions;

fn bundled(name: &str) -> Entry {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios").join(name);
    let scenario = scenario::load(&path).expect("bundled scenario loads");
    Entry { path, scenario }
}

/// A fresh output directory for one test.
fn out_dir(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("faultline-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn options(seeds: &str, out: PathBuf) -> SweepOptions {
    SweepOptions { shrink: false, ..SweepOptions::new(seeds.parse().expect("a seed range"), out) }
}

fn first_invariant(scenario: &scenario::Scenario, seed: u64) -> (Verdict, String) {
    let result = run::run(scenario, RunOptions { seed, detailed: false });
    (result.verdict, result.summary.violations.first().map(|v| v.invariant.clone()).unwrap_or_default())
}

#[test]
fn shrinking_a_variant_failure_gives_a_smaller_scenario_that_fails_the_same_invariant() {
    for (name, seed) in
        [("paxos/acceptor-forgets.toml", 1), ("paxos/acceptor-forgets.toml", 5), ("paxos/ignore-accepted.toml", 1)]
    {
        let entry = bundled(name);
        let before = first_invariant(&entry.scenario, seed);
        assert_eq!(before.0, Verdict::Violation, "{name} seed {seed}");
        let shrunk = shrink::shrink(&entry.scenario, seed).expect("the failure reproduces as a timeline");
        let after = &shrunk.scenario;
        assert!(shrunk.faults_after <= shrunk.faults_before);
        assert!(after.duration_ms < entry.scenario.duration_ms, "{name}: the workload stops after the violation");
        let total = |s: &scenario::Scenario| s.faults.iter().map(|f| f.duration_ms.unwrap_or(0.0)).sum::<f64>();
        assert!(total(after) < total(&entry.scenario), "{name}: faults got shorter");
        // The written file reproduces the failure on its own.
        let dir = out_dir("shrink");
        let path = shrink::write(&dir, &entry.scenario, seed, &shrunk).expect("writes");
        let reloaded = scenario::load(&path).expect("the shrunk file is a valid scenario");
        assert_eq!(first_invariant(&reloaded, seed), before, "{}", path.display());
        std::fs::remove_dir_all(dir).ok();
    }
}

#[test]
fn a_nemesis_failure_becomes_an_explicit_timeline_with_fewer_faults() {
    // A correct-looking nemesis scenario on a flawed variant: the nemesis draws many faults,
    // the shrunk timeline keeps few.
    let mut entry = bundled("paxos/nemesis.toml");
    entry.scenario.variant = "acceptor-forgets".to_string();
    let seed = (1..200).find(|&seed| first_invariant(&entry.scenario, seed).0 == Verdict::Violation).expect("found");
    let shrunk = shrink::shrink(&entry.scenario, seed).expect("reproduces");
    assert!(shrunk.scenario.nemesis.is_none());
    assert!(shrunk.faults_after < shrunk.faults_before, "{} -> {}", shrunk.faults_before, shrunk.faults_after);
    assert_eq!(first_invariant(&shrunk.scenario, seed), first_invariant(&entry.scenario, seed));
}

#[test]
fn shards_cover_each_seed_exactly_once_and_merge_into_the_whole() {
    let seeds: Seeds = "5..=41".parse().expect("range");
    for count in [1, 2, 3, 7] {
        let mut covered = Vec::new();
        for index in 1..=count {
            let shard = Shard { index, count };
            covered.extend((seeds.start..seeds.end).filter(|&seed| shard.holds(seeds, seed)));
        }
        covered.sort_unstable();
        assert_eq!(covered, (5..=41).collect::<Vec<u64>>(), "{count} shards");
    }
    let entry = bundled("paxos/fault-free.toml");
    let mut rows = Vec::new();
    for index in 1..=3 {
        let dir = out_dir(&format!("shard-{index}"));
        let shard_options = SweepOptions { shard: Some(Shard { index, count: 3 }), ..options("1..31", dir.clone()) };
        sweep::sweep(std::slice::from_ref(&entry), &shard_options).expect("sweeps");
        rows.extend(sweep::read_rows(&dir.join("sweep.csv")).expect("rows"));
        std::fs::remove_dir_all(dir).ok();
    }
    let seeds: BTreeSet<u64> = rows.iter().map(|row| row.seed).collect();
    assert_eq!(rows.len(), 30);
    assert_eq!(seeds, (1..31).collect());
}

#[test]
fn an_interrupted_sweep_resumes_without_rerunning_finished_seeds() {
    let entry = bundled("paxos/lossy-network.toml");
    let dir = out_dir("resume");
    sweep::sweep(std::slice::from_ref(&entry), &options("1..11", dir.clone())).expect("sweeps");
    let csv = dir.join("sweep.csv");
    // Interrupt: keep the header and the first four rows only.
    let text = std::fs::read_to_string(&csv).expect("csv");
    let kept: Vec<&str> = text.lines().take(5).collect();
    std::fs::write(&csv, kept.join("\n") + "\n").expect("truncate");
    let before = sweep::read_rows(&csv).expect("rows");
    let summary = sweep::sweep(std::slice::from_ref(&entry), &options("1..11", dir.clone())).expect("resumes");
    assert!(before.iter().all(|row| row.engine == "native" && !row.swarm && !row.scenario_hash.is_empty()));
    assert_eq!(summary.options.seeds_run, 6, "only the six missing seeds run again");
    let after = sweep::read_rows(&csv).expect("rows");
    assert_eq!(&after[..4], &before[..], "finished rows are kept as they were");
    let seeds: BTreeSet<u64> = after.iter().map(|row| row.seed).collect();
    assert_eq!((after.len(), seeds), (10, (1..11).collect()));
    assert!(summary.passed(), "{:?}", summary.problems);
    std::fs::remove_dir_all(dir).ok();
}

/// A nemesis of `kind` that never fires: at most zero servers may be down.
fn silent_nemesis(kind: scenario::NemesisKind) -> scenario::Nemesis {
    scenario::Nemesis {
        kinds: vec![kind],
        interval_ms: 20.0,
        fault_ms: 50.0,
        start_ms: 0,
        end_ms: None,
        lose_unsynced: 0.0,
        max_down: Some(0),
        clock_jump_ms: 100,
        client_faults: false,
        crash_at_sync: 0.0,
        aim: 0.0,
        aim_milestone: None,
        crash_after_milestones: Vec::new(),
        crash_after: 0.0,
        crash_pair: 0.0,
        pause_ms: None,
    }
}

#[test]
fn a_scenario_whose_faults_never_fire_fails_the_sweep() {
    // Crashes are configured, but at most zero servers may be down: none ever fires.
    let mut entry = bundled("paxos/fault-free.toml");
    entry.scenario.nemesis = Some(silent_nemesis(scenario::NemesisKind::Crash));
    let dir = out_dir("silent-faults");
    let summary = sweep::sweep(std::slice::from_ref(&entry), &options("1..21", dir.clone())).expect("sweeps");
    assert!(!summary.passed());
    assert!(
        summary.problems.iter().any(|p| p.contains("never fired") && p.contains("crash")),
        "{:?}",
        summary.problems
    );
    // With crashes allowed, the same sweep passes.
    entry.scenario.nemesis.as_mut().expect("set above").max_down = Some(1);
    let dir_allowed = out_dir("firing-faults");
    let summary = sweep::sweep(std::slice::from_ref(&entry), &options("1..21", dir_allowed.clone())).expect("sweeps");
    assert!(summary.passed(), "{:?}", summary.problems);
    std::fs::remove_dir_all(dir).ok();
    std::fs::remove_dir_all(dir_allowed).ok();
}

#[test]
fn a_flawed_scenario_that_shows_its_violation_is_not_a_vacuous_pass_whatever_did_not_fire() {
    let mut entry = bundled("paxos/acceptor-forgets.toml");
    // Its faults are a timeline; pauses are configured as well, and never fire.
    assert!(entry.scenario.nemesis.is_none());
    entry.scenario.nemesis = Some(silent_nemesis(scenario::NemesisKind::Pause));
    let dir = out_dir("flawed-silent-faults");
    let summary = sweep::sweep(std::slice::from_ref(&entry), &options("1..11", dir.clone())).expect("sweeps");
    assert!(
        summary.scenarios[0].verdicts.get("violation").is_some_and(|&n| n > 0),
        "{:?}",
        summary.scenarios[0].verdicts
    );
    assert!(summary.passed(), "{:?}", summary.problems);
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn a_variant_sweep_fails_only_if_no_seed_finds_the_bug() {
    let entry = bundled("paxos/ignore-accepted.toml");
    let dir = out_dir("variant");
    let summary = sweep::sweep(std::slice::from_ref(&entry), &options("1..21", dir.clone())).expect("sweeps");
    assert!(summary.passed(), "{:?}", summary.problems);
    let mut correct = entry.clone();
    correct.scenario.variant = "correct".to_string();
    correct.scenario.name = "paxos/ignore-accepted-fixed".to_string();
    let restart = SweepOptions { restart: true, ..options("1..21", dir.clone()) };
    let summary = sweep::sweep(std::slice::from_ref(&correct), &restart).expect("sweeps");
    assert!(summary.problems.iter().any(|p| p.contains("none of 20 seeds showed it")), "{:?}", summary.problems);
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn swarm_weather_differs_between_seeds_and_is_recorded() {
    let entry = bundled("paxos/fault-free.toml");
    let weathers: BTreeSet<String> = (1..=20).map(|seed| sweep::swarm::weather(&entry.scenario, seed).1).collect();
    assert!(weathers.len() >= 19, "{weathers:?}");
    let dir = out_dir("swarm");
    let swarm_options = SweepOptions { swarm: true, ..options("1..21", dir.clone()) };
    sweep::sweep(std::slice::from_ref(&entry), &swarm_options).expect("sweeps");
    let rows = sweep::read_rows(&dir.join("sweep.csv")).expect("rows");
    assert!(rows.iter().all(|row| row.weather.contains("latency=") && !row.faults_configured.is_empty()));
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn swarm_weather_varies_the_workload_keys_only_within_what_the_store_holds() {
    // hashing/churn's store holds keys 0..32 ([settings] keys = 32), its workload 32 keys:
    // swarm draws up to 64, and a draw past 32 keeps the scenario's 32.
    let entry = bundled("hashing/churn.toml");
    let meta = sim::catalog::find("shardkv").expect("in the catalog");
    let keys: BTreeSet<u32> = (1..=300)
        .map(|seed| sweep::swarm::weather(&entry.scenario, seed).0)
        .map(|weathered| {
            let checked = scenario::validate::check(&weathered, &meta);
            assert!(checked.is_ok(), "swarm weather is a valid scenario: {:?}", checked.err().map(|p| p.message));
            weathered.workload.keys
        })
        .collect();
    assert!(keys.iter().all(|&keys| keys <= 32), "{keys:?}");
    assert!(keys.len() > 10 && keys.contains(&32), "the keys still vary: {keys:?}");
}

#[test]
fn swarm_weather_fits_the_liveness_window_in_the_workload_and_caps_the_history_check() {
    // A 1,000 ms run with a 1,000 ms window (always made longer) and a 3,000 ms run (made
    // longer only when its faults end after 2,000 ms). The faults end at 50-90% of the
    // scenario's own duration either way.
    for (file, always) in [("twopc/participant-isolated.toml", true), ("raft/leader-crash.toml", false)] {
        let entry = bundled(file);
        let (duration_ms, liveness_ms) = (entry.scenario.duration_ms, entry.scenario.checks.liveness_ms.unwrap());
        let mut lengthened = 0;
        for seed in 1..=200 {
            let (weathered, words) = sweep::swarm::weather(&entry.scenario, seed);
            let end_ms = weathered.nemesis.as_ref().and_then(|nemesis| nemesis.end_ms).expect("an end");
            assert!((duration_ms / 2..=duration_ms * 9 / 10).contains(&end_ms), "{file} seed {seed}: {words}");
            assert_eq!(weathered.duration_ms, duration_ms.max(end_ms + liveness_ms), "{file} seed {seed}: {words}");
            assert_eq!(words.contains(" duration="), weathered.duration_ms > duration_ms, "{words}");
            assert_eq!(weathered.checks.linearizability_budget, sweep::swarm::SWARM_LINEARIZABILITY_BUDGET);
            lengthened += usize::from(weathered.duration_ms > duration_ms);
        }
        assert!(if always { lengthened == 200 } else { (1..200).contains(&lengthened) }, "{file}: {lengthened}");
    }
}

#[test]
fn seed_ranges_and_shards_parse_or_say_what_is_allowed() {
    assert_eq!("1..4".parse::<Seeds>(), Ok(Seeds { start: 1, end: 4 }));
    assert_eq!("1..=4".parse::<Seeds>(), Ok(Seeds { start: 1, end: 5 }));
    assert!("4..4".parse::<Seeds>().unwrap_err().contains("holds no seed"));
    assert!("x".parse::<Seeds>().unwrap_err().contains("A..B"));
    assert_eq!("2/4".parse::<Shard>(), Ok(Shard { index: 2, count: 4 }));
    assert!("0/4".parse::<Shard>().is_err() && "5/4".parse::<Shard>().is_err());
}

/// A copy of a bundled scenario in `dir`, so that a test can edit it.
fn copied(name: &str, dir: &Path) -> Entry {
    std::fs::create_dir_all(dir).expect("the directory can be made");
    let path = dir.join(Path::new(name).file_name().expect("a file name"));
    std::fs::copy(bundled(name).path, &path).expect("copied");
    let scenario = scenario::load(&path).expect("loads");
    Entry { path, scenario: scenario::Scenario { name: scenario_name(name), ..scenario } }
}

fn scenario_name(name: &str) -> String {
    name.trim_end_matches(".toml").to_string()
}

fn reload(entry: &Entry) -> Entry {
    let scenario = scenario::load(&entry.path).expect("loads");
    Entry { path: entry.path.clone(), scenario: scenario::Scenario { name: entry.scenario.name.clone(), ..scenario } }
}

#[test]
fn a_sweep_refuses_to_resume_after_the_scenario_was_edited_and_restarts_when_told() {
    let dir = out_dir("edited");
    let entry = copied("paxos/ignore-accepted.toml", &dir.join("scenarios"));
    let summary = sweep::sweep(std::slice::from_ref(&entry), &options("1..11", dir.clone())).expect("sweeps");
    assert!(summary.passed(), "the flawed variant is found: {:?}", summary.problems);
    // Fix the bug in the file and sweep a wider range: the old violations are other work.
    let text = std::fs::read_to_string(&entry.path).expect("reads");
    std::fs::write(&entry.path, text.replace("variant = \"ignore-accepted\"", "variant = \"correct\"")).expect("edits");
    let edited = reload(&entry);
    let error = sweep::sweep(std::slice::from_ref(&edited), &options("1..21", dir.clone())).expect_err("other work");
    assert!(error.0.contains("sweep.csv:2:") && error.0.contains("edited") && error.0.contains("--restart"), "{error}");
    let restarted = SweepOptions { restart: true, ..options("1..21", dir.clone()) };
    let summary = sweep::sweep(std::slice::from_ref(&edited), &restarted).expect("starts over");
    assert_eq!(summary.seeds, 20, "every seed ran again");
    assert!(!summary.passed() && summary.problems[0].contains("none of 20 seeds showed it"), "{:?}", summary.problems);
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn a_sweep_refuses_to_resume_rows_of_another_engine_or_mode() {
    let dir = out_dir("other-engine");
    let entry = bundled("paxos/fault-free.toml");
    sweep::sweep(std::slice::from_ref(&entry), &options("1..6", dir.clone())).expect("sweeps");
    let mut madsim = entry.clone();
    madsim.scenario.engine = scenario::EngineKind::Madsim;
    let error = sweep::sweep(std::slice::from_ref(&madsim), &options("1..6", dir.clone())).expect_err("another engine");
    assert!(error.0.contains("it ran on the native engine, this sweep runs madsim"), "{error}");
    let swarm = SweepOptions { swarm: true, ..options("1..6", dir.clone()) };
    let error = sweep::sweep(std::slice::from_ref(&entry), &swarm).expect_err("swarm mode");
    assert!(error.0.contains("without --swarm, this sweep runs in swarm mode"), "{error}");
    let other = bundled("paxos/lossy-network.toml");
    let error = sweep::sweep(std::slice::from_ref(&other), &options("1..6", dir.clone())).expect_err("other scenario");
    assert!(error.0.contains("a scenario this sweep does not run"), "{error}");
    // The same work resumes with nothing to do.
    let summary = sweep::sweep(std::slice::from_ref(&entry), &options("1..6", dir.clone())).expect("resumes");
    assert_eq!((summary.options.seeds_run, summary.seeds), (0, 5));
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn a_torn_last_line_is_dropped_and_its_seed_runs_again() {
    let dir = out_dir("torn");
    let entry = bundled("paxos/lossy-network.toml");
    sweep::sweep(std::slice::from_ref(&entry), &options("1..11", dir.clone())).expect("sweeps");
    let csv = dir.join("sweep.csv");
    // Killed while writing the last row: cut inside its last field, no newline.
    let text = std::fs::read_to_string(&csv).expect("csv");
    let cut = text.trim_end_matches('\n');
    let cut = &cut[..cut.len() - 3];
    std::fs::write(&csv, cut).expect("tears");
    assert_eq!(sweep::read_rows(&csv).expect("the torn line is left out").len(), 9);
    let summary = sweep::sweep(std::slice::from_ref(&entry), &options("1..13", dir.clone())).expect("resumes");
    assert_eq!(summary.options.seeds_run, 3, "the torn seed and the two new ones");
    let rows = sweep::read_rows(&csv).expect("the file is whole again");
    let seeds: BTreeSet<u64> = rows.iter().map(|row| row.seed).collect();
    assert_eq!((rows.len(), seeds), (12, (1..13).collect()));
    assert!(std::fs::read_to_string(&csv).expect("csv").ends_with('\n'));
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn rows_with_unknown_verdicts_or_duplicated_seeds_are_refused_with_their_line() {
    let dir = out_dir("corrupt");
    let entry = bundled("paxos/fault-free.toml");
    sweep::sweep(std::slice::from_ref(&entry), &options("1..4", dir.clone())).expect("sweeps");
    let csv = dir.join("sweep.csv");
    let text = std::fs::read_to_string(&csv).expect("csv");
    let lines: Vec<&str> = text.lines().collect();
    let bad_verdict = text.replacen(",ok,", ",fine,", 3).replacen(",fine,", ",ok,", 2);
    std::fs::write(&csv, &bad_verdict).expect("written");
    let error = sweep::read_rows(&csv).expect_err("an unknown verdict");
    assert!(error.line.is_some() && error.message.contains("\"fine\" is not a verdict"), "{error}");
    std::fs::write(&csv, format!("{text}{}\n", lines[1])).expect("written");
    let error = sweep::read_rows(&csv).expect_err("a seed twice");
    assert_eq!(error.line, Some(5), "{error}");
    assert!(error.message.contains("also on line 2"), "{error}");
    let error = sweep::sweep(std::slice::from_ref(&entry), &options("1..4", dir.clone())).expect_err("refused");
    assert!(error.0.contains("sweep.csv:5:"), "{error}");
    // Shards that both ran a seed do not merge.
    let other = out_dir("corrupt-other");
    sweep::sweep(std::slice::from_ref(&entry), &options("3..5", other.clone())).expect("sweeps");
    std::fs::write(&csv, &text).expect("restored");
    let error = sweep::merge(&[csv.clone(), other.join("sweep.csv")]).expect_err("seed 3 twice");
    assert!(error.0.contains("seed 3 of paxos/fault-free is also at"), "{error}");
    std::fs::remove_dir_all(dir).ok();
    std::fs::remove_dir_all(other).ok();
}

#[test]
fn an_interrupted_sweep_keeps_its_rows_and_says_how_to_resume() {
    let dir = out_dir("interrupted");
    let entry = bundled("paxos/fault-free.toml");
    let interrupted = options("1..6", dir.clone());
    interrupted.interrupt.store(true, std::sync::atomic::Ordering::Relaxed);
    let summary = sweep::sweep(std::slice::from_ref(&entry), &interrupted).expect("stops");
    assert_eq!(summary.interrupted.as_ref().map(|(left, _)| *left), Some(Some(5)));
    let summary = sweep::sweep(std::slice::from_ref(&entry), &options("1..6", dir.clone())).expect("resumes");
    assert_eq!((summary.options.seeds_run, summary.interrupted.is_none()), (5, true));
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn jobs_zero_means_one_per_core_and_too_many_are_cut() {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    assert_eq!(sweep::jobs(None), (cores, None));
    assert_eq!(sweep::jobs(Some(0)), (cores, None));
    assert_eq!(sweep::jobs(Some(1)), (1, None));
    let (jobs, note) = sweep::jobs(Some(100_000));
    assert_eq!(jobs, cores * sweep::JOBS_PER_CORE);
    assert!(note.expect("a note").contains("--jobs 100000"));
}

#[test]
fn a_scenario_whose_runs_reach_no_milestone_fails_the_sweep() {
    // Every client is isolated from the start: no proposal reaches a server, nothing is
    // ever accepted or learned, and "ok" would only mean that nothing happened.
    let mut entry = bundled("paxos/fault-free.toml");
    let clients = entry.scenario.server_slots()..entry.scenario.processes();
    entry.scenario.checks.liveness_ms = None;
    for node in clients {
        let kind = scenario::FaultKind::Isolate { node };
        entry.scenario.faults.push(scenario::Fault { at_ms: 0.0, kind, duration_ms: None });
    }
    entry.scenario.checks.heal = scenario::Heal::None;
    let dir = out_dir("no-milestones");
    let summary = sweep::sweep(std::slice::from_ref(&entry), &options("1..6", dir.clone())).expect("sweeps");
    assert!(!summary.passed());
    assert!(
        summary.problems.iter().any(|p| p.contains("reached any of its protocol's milestones")),
        "{:?}",
        summary.problems
    );
    std::fs::remove_dir_all(dir).ok();
    // Raft declares its milestones too, and a sweep of its nemesis scenario counts them.
    let summary =
        sweep::sweep(&[bundled("raft/nemesis.toml")], &options("1..3", out_dir("raft-milestones"))).expect("sweeps");
    let raft = &summary.scenarios[0];
    assert!(
        raft.milestones.contains_key("leader-elected") && raft.milestones.contains_key("entry-committed"),
        "{raft:?}"
    );
    std::fs::remove_dir_all(out_dir("raft-milestones")).ok();
}

/// Entries of three bundled scenarios, for the plan alone (no run).
fn three_entries() -> Vec<Entry> {
    ["raft/commit-old-term.toml", "paxos/fault-free.toml", "twopc/fault-free.toml"].map(bundled).to_vec()
}

#[test]
fn the_plan_goes_round_robin_by_wall_time_so_a_slow_scenario_cannot_starve_the_others() {
    let entries = three_entries();
    let mut plan = sweep::plan(&entries, &options("1..1000000", out_dir("plan")), &BTreeSet::new());
    // Two threads start: they take two different scenarios, each at its first seed.
    let (a, b) = (plan.take().expect("a job"), plan.take().expect("a job"));
    assert_eq!((a.entry, a.seed, b.entry, b.seed), (0, 1, 1, 1));
    // The first scenario takes 5 s a run, the others 10 ms: over 60 s of work the fast ones
    // get most of the seeds and the slow one still gets its share of the time.
    let cost = |entry: usize| if entry == 0 { 5.0 } else { 0.01 };
    let mut counts = [0u64; 3];
    let mut spent = [0.0f64; 3];
    let mut running = vec![a, b];
    while spent.iter().sum::<f64>() < 60.0 {
        let job = running.remove(0);
        plan.finished(job.entry, cost(job.entry));
        (counts[job.entry], spent[job.entry]) = (counts[job.entry] + 1, spent[job.entry] + cost(job.entry));
        running.push(plan.take().expect("unbounded seeds"));
    }
    assert!(counts[1] >= 500 && counts[2] >= 500, "{counts:?}");
    assert!((3..=8).contains(&counts[0]), "{counts:?}");
    assert!(spent[1] >= 5.0 && spent[2] >= 5.0, "{spent:?}");
    // A stopped scenario takes no more seeds; the others go on in seed order.
    plan.stop(1);
    plan.stop(2);
    let next = plan.take().expect("a job");
    assert_eq!(next.entry, 0);
    assert_eq!(next.seed, counts[0] + running.iter().filter(|job| job.entry == 0).count() as u64 + 1);
}

#[test]
fn a_time_boxed_sweep_reaches_every_scenario_and_a_found_variant_stops_taking_seeds() {
    let entries = three_entries();
    for swarm in [false, true] {
        let dir = out_dir(&format!("time-box-{swarm}"));
        let options = SweepOptions {
            time: Some(std::time::Duration::from_secs(4)),
            swarm,
            jobs: 2,
            ..options("1..1000000", dir.clone())
        };
        let summary = sweep::sweep(&entries, &options).expect("sweeps");
        assert_eq!(summary.scenarios.len(), 3, "swarm {swarm}: every scenario ran");
        assert!(summary.options.ended.as_deref().is_some_and(|ended| ended.contains("time box")));
        let flawed = &summary.scenarios.iter().find(|s| s.name == "raft/commit-old-term").expect("ran").firsts;
        if !swarm {
            // The variant's own schedule shows it on seed 1, and it then stops, but for the
            // run the other thread may have had in progress.
            let runs = summary.scenarios.iter().find(|s| s.name == "raft/commit-old-term").map(|s| s.runs);
            assert!(runs.is_some_and(|runs| runs <= 2), "{runs:?}");
            let first = flawed.first().expect("found");
            assert_eq!((first.seed, first.seeds_to_find), (1, 1));
            assert!(first.seconds_to_find.is_some_and(|s| s > 0.0) && first.own_seconds > 0.0);
        }
        assert!(summary.passed() || swarm, "{:?}", summary.problems);
        std::fs::remove_dir_all(dir).ok();
    }
}

#[test]
fn until_first_stops_the_sweep_at_its_first_failure() {
    let mut entry = bundled("paxos/nemesis.toml");
    entry.scenario.variant = "acceptor-forgets".to_string();
    entry.scenario.name = "paxos/nemesis-broken".to_string();
    let dir = out_dir("until-first");
    let options = SweepOptions { until_first: true, jobs: 1, ..options("1..300", dir.clone()) };
    let summary = sweep::sweep(std::slice::from_ref(&entry), &options).expect("sweeps");
    let first = summary.scenarios[0].firsts.first().expect("a failure").seed;
    assert_eq!(summary.scenarios[0].runs as u64, first, "one thread stops right after the failing seed");
    assert!(summary.options.ended.as_deref().is_some_and(|ended| ended.contains("first failure")));
    assert!(!summary.passed());
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn a_runaway_run_ends_early_with_its_own_verdict_and_fails_an_ok_scenario() {
    // Fault-free Raft at thousands of operations a second: above the events any run may
    // take, so that only the rate decides.
    let mut entry = bundled("raft/fault-free.toml");
    (entry.scenario.workload.rate, entry.scenario.workload.clients) = (5_000.0, 40);
    let normal = run::run(&entry.scenario, RunOptions { seed: 1, detailed: false });
    assert_eq!(normal.verdict, Verdict::Ok);
    // A budget a hundredth of the fault-free rate: the same run is a runaway, ended early.
    let mut tight = entry.clone();
    tight.scenario.limits.runaway_factor = 0.01;
    tight.scenario.name = "raft/fault-free-tight".to_string();
    let result = run::run(&tight.scenario, RunOptions { seed: 1, detailed: false });
    assert_eq!(result.verdict, Verdict::Runaway);
    let violation = result.summary.violations.first().expect("the figure that tripped it");
    assert_eq!(violation.invariant, "runaway");
    assert!(violation.detail.contains("events per second a fault-free run"), "{}", violation.detail);
    let events = |result: &run::RunResult| result.record.as_ref().map_or(0, |record| record.events);
    assert!(events(&result) < events(&normal) / 2, "{} vs {}", events(&result), events(&normal));
    // The same seed is a runaway at the same event every time.
    let again = run::run(&tight.scenario, RunOptions { seed: 1, detailed: false });
    assert_eq!((again.verdict, events(&again)), (result.verdict, events(&result)));
    let dir = out_dir("runaway");
    let summary = sweep::sweep(std::slice::from_ref(&tight), &options("1..3", dir.clone())).expect("sweeps");
    assert!(!summary.passed());
    assert_eq!(summary.scenarios[0].verdicts.get("runaway"), Some(&2));
    let first = summary.scenarios[0].firsts.first().expect("reported");
    assert!(first.verdict == "runaway" && first.replay.contains("faultline run"), "{first:?}");
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn a_crash_the_nemesis_limit_stops_at_a_sync_lets_the_sync_finish() {
    // This swarm seed arms crashes for several servers' syncs; the coordinator's strikes
    // when another server is down, past `max_down`, and is stopped. Its sync must go on:
    // when it did not, the coordinator's log never became durable again, its reports and
    // Prepares waited for ever, and its participants committed transactions the checker
    // had never seen begin (a false AC3 violation).
    let entry = bundled("twopc/lossy-network.toml");
    let (weathered, _) = sweep::swarm::weather(&entry.scenario, 2647);
    assert!(weathered.nemesis.as_ref().is_some_and(|nemesis| nemesis.crash_at_sync > 0.0), "crashes wait for syncs");
    let result = run::run(&weathered, RunOptions { seed: 2647, detailed: false });
    assert_eq!(result.verdict, Verdict::Ok, "{:?}", result.summary.violations);
}

#[test]
fn a_crash_after_a_synchronization_tears_the_follower_and_takes_down_the_leader_when_it_is_back() {
    // Three Zab servers, and a nemesis that draws nothing by itself (one fault in 1,000 s
    // on average) but crashes after every DIFF synchronization, and its leader too.
    let mut scenario = bundled("zab/fault-free.toml").scenario;
    scenario.nodes = 3;
    scenario.nemesis = Some(scenario::Nemesis {
        interval_ms: 1e6,
        fault_ms: 300.0,
        max_down: None,
        crash_after_milestones: vec!["diff-sync".to_string()],
        crash_after: 1.0,
        crash_pair: 1.0,
        ..silent_nemesis(scenario::NemesisKind::Crash)
    });
    let run = run::simulate::<protocols::zab::Zab>(&scenario, RunOptions { seed: 1, detailed: true });
    let run = run.expect("no panic").expect("runs");
    let synced = (run.recorder.events.iter())
        .find_map(|event| {
            let follower = event.what.strip_prefix("synchronized server ")?.split(' ').next()?.parse().ok()?;
            Some((event.time, event.node.expect("a server's"), follower))
        })
        .expect("the leader synchronized a follower");
    let (at, leader, follower) = synced;
    let crashes: Vec<_> = (run.recorder.faults.iter())
        .filter_map(|fault| match fault.kind {
            scenario::FaultKind::Crash { node, lose_unsynced, at_sync } => Some((fault, node, lose_unsynced, at_sync)),
            _ => None,
        })
        .collect();
    // The follower crashes during its next sync (the one NEWLEADER asks for), losing what
    // it had not synced, and is back within a few timeouts.
    let (torn, node, lose_unsynced, at_sync) = crashes[0];
    assert_eq!((node, lose_unsynced, at_sync), (follower, true, true), "{crashes:?}");
    assert!(torn.start >= at && torn.start < at + 20 * MILLISECOND, "{at} {crashes:?}");
    let back = torn.end.expect("restarted");
    // One server of three may be down: the leader crashes the moment the follower is back.
    let (second, node, _, at_sync) = crashes[1];
    assert_eq!((node, at_sync, second.start), (leader, false, back), "{crashes:?}");
}

#[test]
fn swarm_weather_finds_epoch_before_log_within_a_hundred_seeds() {
    // ZOOKEEPER-4643 needs a follower torn in the sync after its synchronization and the
    // leader gone next: about one seed in a thousand before the crashes that follow
    // milestones, one in a hundred and more with them.
    let entry = bundled("zab/epoch-before-log.toml");
    let found = (1..=100).find(|&seed| {
        let (weathered, _) = sweep::swarm::weather(&entry.scenario, seed);
        run::run(&weathered, RunOptions { seed, detailed: false }).verdict == Verdict::Violation
    });
    assert!(found.is_some(), "no violation in 100 swarm seeds");
}
