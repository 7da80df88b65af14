//! Reports end to end: runs written by the simulator render into well-formed,
//! self-contained pages (with a space-time diagram exactly when the run failed); a
//! comparison file runs every protocol this build has on the same seeds, skips the others
//! with a note, and leaves scenario files that replay its runs exactly; bad comparison files
//! and bad report inputs are errors with exit code 2.

use std::path::{Path, PathBuf};

use sim::cli::{EXIT_BAD_INPUT, EXIT_OK};
use sim::report::{self, ReportArgs};
use sim::RunOptions;
use sim::{cli, run, scenario};

fn scenarios_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios")
}

fn scratch(test: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("reports").join(test);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("the scratch directory can be made");
    dir
}

/// Checks what every report page must be; returns it.
fn checked_page(path: &Path) -> String {
    let html = std::fs::read_to_string(path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    if let Err(problem) = reports::html::check_well_formed(&html) {
        panic!("{} is not well formed: {problem}", path.display());
    }
    for needle in ["http://", "https://", "src=\"//", "<script"] {
        assert!(!html.contains(needle), "{} contains {needle:?}", path.display());
    }
    html
}

/// The PNG signature and the IHDR width and height.
fn png_size(path: &Path) -> (u32, u32) {
    let bytes = std::fs::read(path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "{} is a PNG", path.display());
    assert_eq!(&bytes[12..16], b"IHDR");
    let word = |at: usize| u32::from_be_bytes(bytes[at..at + 4].try_into().expect("four bytes"));
    (word(16), word(20))
}

/// Runs a bundled scenario, writes its run directory and renders its report there.
fn run_and_render(file: &str, test: &str) -> (PathBuf, String) {
    let path = scenarios_dir().join(file);
    let scenario = scenario::load(&path).expect("the bundled scenario loads");
    let result = run::run(&scenario, RunOptions { seed: scenario.seed, detailed: true });
    let dir = scratch(test);
    run::write_outputs(&dir, &result).expect("the run directory is written");
    let files = reports::render_run(&dir, Some(&path)).expect("the report renders");
    for png in files.iter().filter(|file| file.extension().is_some_and(|extension| extension == "png")) {
        assert_eq!(png_size(png), (reports::PLOT_WIDTH, reports::PLOT_HEIGHT));
    }
    let html = checked_page(&dir.join(reports::REPORT_FILE));
    assert!(html.contains(&run::replay_command(&path, scenario.seed)), "the replay command");
    (dir, html)
}

#[test]
fn a_passing_run_renders_a_report_without_a_spacetime_diagram() {
    let (dir, html) = run_and_render("paxos/fault-free.toml", "fault-free");
    assert!(html.contains("verdict ok\">ok"));
    assert!(!html.contains("<svg"));
    assert!(dir.join(reports::TRACE_FILE).is_file());
}

#[test]
fn a_run_that_finds_a_bug_renders_a_spacetime_diagram_of_it() {
    let (_, html) = run_and_render("paxos/acceptor-forgets.toml", "acceptor-forgets");
    assert!(html.contains("verdict bad\">violation"));
    assert!(html.contains("<svg") && html.contains("agreement (violation) at"), "the diagram marks the violation");
}

const COMPARISON: &str = r#"
name = "two-seeds"
description = "Paxos, and a protocol this build does not have."
seeds = "1..=2"
protocols = [
    { protocol = "paxos", expect = "ok" },
    { protocol = "nonesuch" },
]
nodes = 3
duration_ms = 500

[workload]
clients = 2
rate = 40

[[faults]]
at_ms = 100
kind = "crash"
node = 1
duration_ms = 100
"#;

#[test]
fn a_comparison_runs_each_registered_protocol_on_the_same_seeds_and_skips_the_others() {
    let dir = scratch("comparison");
    let file = dir.join("two-seeds.toml");
    std::fs::write(&file, COMPARISON).expect("the comparison file is written");
    let plan = report::load(&file).expect("the comparison loads");
    assert_eq!(plan.contenders.len(), 1);
    assert!(plan.notes[0].contains("\"nonesuch\" is not in this build"), "{:?}", plan.notes);
    let out = dir.join("out");
    let comparison = report::run_plan(&plan, &out).expect("the comparison runs");
    assert_eq!(comparison.seeds, [1, 2]);
    reports::render_comparison(&comparison, &out).expect("the comparison renders");
    let html = checked_page(&out.join(reports::REPORT_FILE));
    assert!(html.contains("skipped nonesuch"), "the page carries the note");
    for plot in ["latency-quantiles", "availability", "messages-per-op", "throughput", "verdicts", "latency-cdf"] {
        assert!(html.contains(&format!("<figure id=\"{plot}\">")), "{plot}");
    }
    for seed in [1, 2] {
        let summary = out.join(format!("paxos/seed-{seed}/summary.json"));
        assert!(summary.is_file(), "{}", summary.display());
    }
}

#[test]
fn a_comparison_leaves_scenario_files_that_replay_its_runs_exactly() {
    let dir = scratch("replay");
    let file = dir.join("two-seeds.toml");
    std::fs::write(&file, COMPARISON).expect("the comparison file is written");
    let plan = report::load(&file).expect("the comparison loads");
    let out = dir.join("out");
    report::run_plan(&plan, &out).expect("the comparison runs");
    let replayed = scenario::load(&out.join("paxos/scenario.toml")).expect("the written scenario loads");
    let recorded = reports::RunData::read(&out.join("paxos/seed-2")).expect("the run directory reads");
    let again = run::run(&replayed, RunOptions { seed: 2, detailed: false });
    assert_eq!(again.summary.trace_hash, recorded.summary.trace_hash);
}

#[test]
fn the_bundled_comparison_files_load() {
    let files = cli::scenario_files(&scenarios_dir().join("compare"));
    assert!(!files.is_empty(), "scenarios/compare/ holds comparison files");
    for file in files {
        let plan = report::load(&file).unwrap_or_else(|error| panic!("{error}"));
        assert!(!plan.contenders.is_empty(), "{}", file.display());
    }
}

#[test]
fn a_bad_comparison_file_is_an_error_that_names_the_file_the_line_and_the_key() {
    let dir = scratch("bad");
    let cases = [
        ("seeds = \"5..1\"\nprotocols = [{ protocol = \"paxos\" }]\nnodes = 3\nduration_ms = 100\n", Some(1), "seeds"),
        ("seeds = \"1..3\"\nprotocols = [{ protocol = \"paxos\", variant = \"nope\" }]\nnodes = 3\nduration_ms = 100\n", None, "protocols.0"),
        ("seeds = \"1..3\"\nprotocols = [{ protocol = \"paxos\" }]\nnodes = 3\nduration_ms = 100\nbogus = 1\n", None, "bogus"),
        ("seeds = \"1..3\"\nprotocols = \"paxos\"\nnodes = 3\n", Some(2), "sequence"),
    ];
    for (index, (text, line, key)) in cases.into_iter().enumerate() {
        let file = dir.join(format!("bad-{index}.toml"));
        std::fs::write(&file, text).expect("written");
        let error = report::load(&file).expect_err("a bad comparison file");
        assert_eq!(error.file, file);
        assert_eq!(error.line, line, "{error}");
        assert!(error.message.contains(key), "{error} should name {key}");
        assert_eq!(report::compare(&file, Some(&dir.join("out"))), EXIT_BAD_INPUT);
    }
}

#[test]
fn faultline_report_renders_run_directories_and_rejects_others() {
    let (dir, _) = run_and_render("paxos/acceptor-forgets.toml", "report-command");
    let out = scratch("report-command-out");
    let args = |runs: Vec<PathBuf>| ReportArgs { runs, compare: None, scenario: None, out: Some(out.clone()) };
    assert_eq!(report::main(args(vec![dir])), EXIT_OK);
    checked_page(&out.join(reports::REPORT_FILE));
    assert_eq!(report::main(args(vec![scratch("not-a-run")])), EXIT_BAD_INPUT);
    let sweep = scratch("a-sweep");
    std::fs::write(sweep.join("sweep.csv"), "scenario,seed\n").expect("written");
    assert_eq!(report::main(args(vec![sweep])), EXIT_BAD_INPUT, "a sweep.csv with no rows");
}

#[test]
fn a_sweep_report_counts_verdicts_and_links_the_shrunk_failures() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/paxos/ignore-accepted.toml");
    let entry = sim::sweep::Entry { path: path.clone(), scenario: scenario::load(&path).expect("loads") };
    let dir = scratch("sweep-report");
    let options = sim::sweep::SweepOptions {
        seeds: "1..11".parse().expect("range"),
        jobs: 2,
        shard: None,
        swarm: false,
        out: dir.clone(),
        shrink: true,
        recheck: 0,
    };
    let summary = sim::sweep::sweep(&[entry], &options).expect("sweeps");
    assert!(summary.passed() && !summary.shrunk.is_empty());
    let args = ReportArgs { runs: vec![dir.clone()], compare: None, scenario: None, out: None };
    assert_eq!(report::main(args), EXIT_OK);
    let page = checked_page(&dir.join(reports::REPORT_FILE));
    assert!(page.contains("paxos/ignore-accepted") && page.contains("violation"), "verdict counts");
    assert!(page.contains("href=\"shrunk/paxos-ignore-accepted-seed-1.toml\""), "a link to the shrunk file");
    assert!(page.contains("isolate 10/10"), "fault coverage");
    assert!(page.contains("--seed 1"), "the replay command");
}
