//! The voting family end to end: its settings are checked when a scenario is loaded (with
//! the file, the line and what is allowed), its register service refuses operations a
//! register does not have, its staleness figures count stale reads where quorums do not
//! meet and none where they do, and they reach the run's page and the comparison page.

use std::path::{Path, PathBuf};

use sim::RunOptions;
use sim::{compare, run, scenario};

fn scenarios_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios")
}

fn scratch(test: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("voting").join(test);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("the scratch directory can be made");
    dir
}

fn refused(text: &str) -> String {
    scenario::parse(Path::new("voting.toml"), text).expect_err("refused").to_string()
}

#[test]
fn quorum_settings_that_cannot_run_are_refused_with_the_line_and_what_is_allowed() {
    let base = "protocol = \"quorum\"\nnodes = 3\nduration_ms = 100\nexpect = \"ok\"\n[settings]\n";
    let error = refused(&format!("{base}read_quorum = 9\n"));
    assert!(error.starts_with("voting.toml:5: settings: read_quorum = 9: need 1 to 3"), "{error}");
    let error = refused(&format!("{base}votes = [1, 1]\n"));
    assert!(error.contains("votes has 2 entries for 3 servers"), "{error}");
    let error = refused(&format!("{base}sloppy = true\n"));
    assert!(error.contains("set replicas below 3"), "{error}");
    let error = refused(&format!("{base}quorum = 2\n"));
    assert!(error.contains("unknown field `quorum`"), "{error}");
    let allowed = format!("{base}read_quorum = 1\nwrite_quorum = 1\n");
    assert!(scenario::parse(Path::new("voting.toml"), &allowed).is_ok(), "r + w <= N runs: it is a flaw to show");
}

#[test]
fn the_register_service_refuses_appends_and_compare_and_set_and_the_vote_refuses_joins() {
    let error =
        refused("protocol = \"abd\"\nnodes = 3\nduration_ms = 100\nexpect = \"ok\"\n[workload]\nmix = { cas = 1.0 }\n");
    assert!(error.contains("allowed: read, write"), "{error}");
    let error = refused("protocol = \"majority-vote\"\nnodes = 3\nmax_nodes = 4\nduration_ms = 100\nexpect = \"ok\"\n");
    assert!(error.contains("does not support servers joining"), "{error}");
    let error = refused("protocol = \"majority-vote\"\nnodes = 1\nduration_ms = 100\nexpect = \"ok\"\n");
    assert!(error.contains("needs at least 2 nodes"), "{error}");
}

fn figure(summary: &reports::Summary, name: &str) -> f64 {
    summary.figures.protocol_figures.get(name).copied().unwrap_or_else(|| panic!("no figure {name}"))
}

fn bundled(name: &str) -> scenario::Scenario {
    scenario::load(&scenarios_dir().join(format!("{name}.toml"))).expect("the bundled scenario loads")
}

#[test]
fn stale_reads_are_counted_where_quorums_do_not_meet_and_never_where_they_do() {
    for name in ["quorum/r-plus-w-le-n", "quorum/sloppy-quorum", "quorum/replica-set-change-no-handoff"] {
        let flawed = bundled(name);
        let summary = run::run(&flawed, RunOptions { seed: flawed.seed, detailed: false }).summary;
        assert!(figure(&summary, "stale_reads") > 0.0, "{name}: {:?}", summary.figures.protocol_figures);
        assert!(figure(&summary, "stale_reads_behind_max") >= 1.0, "{name}");
    }
    for name in ["quorum/fault-free", "quorum/nemesis", "abd/nemesis"] {
        let scenario = bundled(name);
        for seed in 1..=3 {
            let summary = run::run(&scenario, RunOptions { seed, detailed: false }).summary;
            assert_eq!(summary.verdict, "ok", "{name} seed {seed}");
            assert!(figure(&summary, "reads_returned") > 0.0, "{name} seed {seed}");
            assert_eq!(figure(&summary, "stale_reads"), 0.0, "{name} seed {seed}");
        }
    }
}

const COMPARISON: &str = r#"
name = "staleness"
seeds = "1..=1"
protocols = [
    { protocol = "abd" },
    { protocol = "quorum", label = "quorum r = w = 1", settings = { read_quorum = 1, write_quorum = 1 } },
]
nodes = 3
duration_ms = 400
[workload]
clients = 3
rate = 200
mix = { read = 0.5, write = 0.5 }
"#;

#[test]
fn the_staleness_figures_reach_the_run_page_and_the_comparison_page() {
    let dir = scratch("comparison");
    let file = dir.join("staleness.toml");
    std::fs::write(&file, COMPARISON).expect("the comparison file is written");
    let plan = compare::load(&file).expect("the comparison loads");
    let out = dir.join("out");
    let comparison = compare::run_plan(&plan, &out).expect("the comparison runs");
    reports::render_comparison(&comparison, &out).expect("the comparison renders");
    let page = std::fs::read_to_string(out.join(reports::REPORT_FILE)).expect("the page");
    assert!(page.contains("stale_reads (mean per run)") && page.contains("reads_returned (mean per run)"));
    let run_page = std::fs::read_to_string(out.join("abd/seed-1").join(reports::REPORT_FILE)).expect("the run page");
    assert!(run_page.contains("<td>stale_reads</td>"), "the run's own page lists the figure");
}
