//! Reports end to end: runs written by the simulator render into well-formed,
//! self-contained pages (with a space-time diagram exactly when the run failed); a
//! comparison file runs every protocol this build has on the same seeds, skips the others
//! with a note, and leaves scenario files that replay its runs exactly; bad comparison files
//! and bad report inputs are errors with exit code 2.

use std::path::{Path, PathBuf};

use sim::cli::{self, ReportArgs, EXIT_BAD_INPUT, EXIT_OK};
use sim::replay::Replay;
use sim::RunOptions;
use sim::{compare, run, scenario};

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
    let mut result = run::run(&scenario, RunOptions { seed: scenario.seed, detailed: true });
    result.summary.replay = Replay::new(&path, scenario.seed, scenario.engine, false).command();
    let dir = scratch(test);
    run::write_outputs(&dir, &result).expect("the run directory is written");
    let files = reports::render_run(&dir).expect("the report renders");
    for png in files.iter().filter(|file| file.extension().is_some_and(|extension| extension == "png")) {
        assert_eq!(png_size(png), (reports::PLOT_WIDTH, reports::PLOT_HEIGHT));
    }
    let html = checked_page(&dir.join(reports::REPORT_FILE));
    let replay = Replay::new(&path, scenario.seed, scenario.engine, false).command();
    assert!(html.contains(&reports::html::escape(&replay)), "the replay command");
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
    let plan = compare::load(&file).expect("the comparison loads");
    assert_eq!(plan.contenders.len(), 1);
    assert!(plan.notes[0].contains("\"nonesuch\" is not in this build"), "{:?}", plan.notes);
    let out = dir.join("out");
    let comparison = compare::run_plan(&plan, &out).expect("the comparison runs");
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
    let plan = compare::load(&file).expect("the comparison loads");
    let out = dir.join("out");
    compare::run_plan(&plan, &out).expect("the comparison runs");
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
        let plan = compare::load(&file).unwrap_or_else(|error| panic!("{error}"));
        assert!(!plan.contenders.is_empty(), "{}", file.display());
    }
}

#[test]
fn a_bad_comparison_file_is_an_error_that_names_the_file_the_line_and_the_key() {
    let dir = scratch("bad");
    let cases = [
        ("seeds = \"5..1\"\nprotocols = [{ protocol = \"paxos\" }]\nnodes = 3\nduration_ms = 100\n", Some(1), "seeds"),
        ("seeds = \"1..3\"\nprotocols = [{ protocol = \"paxos\", variant = \"nope\" }]\nnodes = 3\nduration_ms = 100\n", Some(2), "protocols.0"),
        ("seeds = \"1..3\"\nprotocols = [{ protocol = \"paxos\" }]\nnodes = 3\nduration_ms = 100\nbogus = 1\n", Some(5), "bogus"),
        ("seeds = \"1..3\"\nprotocols = \"paxos\"\nnodes = 3\n", Some(2), "sequence"),
    ];
    for (index, (text, line, key)) in cases.into_iter().enumerate() {
        let file = dir.join(format!("bad-{index}.toml"));
        std::fs::write(&file, text).expect("written");
        let error = compare::load(&file).expect_err("a bad comparison file");
        assert_eq!(error.file, file);
        assert_eq!(error.line, line, "{error}");
        assert!(error.message.contains(key), "{error} should name {key}");
        assert_eq!(cli::compare_command(&file, Some(&dir.join("out"))), EXIT_BAD_INPUT);
    }
}

#[test]
fn faultline_report_renders_run_directories_and_rejects_others() {
    let (dir, _) = run_and_render("paxos/acceptor-forgets.toml", "report-command");
    let out = scratch("report-command-out");
    let args = |runs: Vec<PathBuf>| ReportArgs {
        runs,
        compare: None,
        scenario: None,
        out: Some(out.clone()),
        messages_svg: true,
    };
    assert_eq!(cli::report_command(&args(vec![dir.clone()])), EXIT_OK);
    checked_page(&out.join(reports::REPORT_FILE));
    // messages.svg on request: every message of the run, as Maelstrom writes it.
    let svg = std::fs::read_to_string(out.join(reports::spacetime::FULL_FILE)).expect("messages.svg");
    let messages = reports::RunData::read(&dir).expect("the run reads").messages.len();
    assert!(messages > 0 && svg.matches("<line x1").count() >= messages, "every message is drawn");
    assert!(svg.starts_with("<?xml") && svg.contains("xmlns=\"http://www.w3.org/2000/svg\""), "a standalone SVG");
    assert_eq!(cli::report_command(&args(vec![scratch("not-a-run")])), EXIT_BAD_INPUT);
    let sweep = scratch("a-sweep");
    std::fs::write(sweep.join("sweep.csv"), "scenario,seed\n").expect("written");
    assert_eq!(cli::report_command(&args(vec![sweep])), EXIT_BAD_INPUT, "a sweep.csv that is not one");
}

#[test]
fn a_sweep_report_counts_verdicts_and_links_the_shrunk_failures() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/paxos/ignore-accepted.toml");
    let entry = sim::sweep::Entry { path: path.clone(), scenario: scenario::load(&path).expect("loads") };
    let dir = scratch("sweep-report");
    let options = sim::sweep::SweepOptions::new("1..11".parse().expect("range"), dir.clone());
    let summary = sim::sweep::sweep(&[entry], &options).expect("sweeps");
    assert!(summary.passed() && !summary.shrunk.is_empty());
    let args = ReportArgs { runs: vec![dir.clone()], compare: None, scenario: None, out: None, messages_svg: false };
    assert_eq!(cli::report_command(&args), EXIT_OK);
    let page = checked_page(&dir.join(reports::REPORT_FILE));
    assert!(page.contains("paxos/ignore-accepted") && page.contains("violation"), "verdict counts");
    assert!(page.contains("href=\"shrunk/paxos-ignore-accepted-seed-1.toml\""), "a link to the shrunk file");
    assert!(page.contains("isolate 10/10"), "fault coverage");
    let replay = Replay::new(&path, 1, scenario::EngineKind::Native, false).command();
    assert!(page.contains(&reports::html::escape(&replay)), "the replay command: {replay}");
    for plot in ["Verdicts per scenario", "Seeds per CPU second", "Fault coverage"] {
        assert!(page.contains(&format!("<h2>{plot}</h2>\n<")) && page.contains("<svg"), "the {plot} plot");
    }
}

/// The `href`s of a page.
fn links(html: &str) -> Vec<String> {
    html.split("href=\"").skip(1).filter_map(|rest| rest.split('"').next()).map(String::from).collect()
}

#[test]
fn every_run_of_a_comparison_gets_a_page_and_its_verdict_links_to_it() {
    let dir = scratch("comparison-links");
    let file = dir.join("two-seeds.toml");
    std::fs::write(&file, COMPARISON).expect("the comparison file is written");
    let out = dir.join("out");
    assert_eq!(cli::compare_command(&file, Some(&out)), EXIT_OK);
    let html = checked_page(&out.join(reports::REPORT_FILE));
    let pages: Vec<String> = links(&html).into_iter().filter(|link| link.ends_with(reports::REPORT_FILE)).collect();
    assert_eq!(pages, ["paxos/seed-1/report.html", "paxos/seed-2/report.html"], "one link per run");
    for link in links(&html) {
        assert!(out.join(&link).is_file(), "{link} links to a file that exists");
    }
}

#[test]
fn a_comparison_notes_what_a_reader_must_know_about_an_entrant() {
    let dir = scratch("comparison-note");
    let file = dir.join("noted.toml");
    let text = COMPARISON.replace(
        "{ protocol = \"paxos\", expect = \"ok\" }",
        "{ protocol = \"paxos\", expect = \"ok\", note = \"answers later proposals from the chosen value\" }",
    );
    std::fs::write(&file, text).expect("written");
    let plan = compare::load(&file).expect("loads");
    let comparison = compare::run_plan(&plan, &dir.join("out")).expect("runs");
    compare::render(&comparison, &dir.join("out")).expect("renders");
    let html = checked_page(&dir.join("out").join(reports::REPORT_FILE));
    assert!(html.contains("<b>paxos:</b> answers later proposals from the chosen value"), "the note is on the page");
}

#[test]
fn a_comparison_error_names_the_line_of_its_key() {
    let dir = scratch("comparison-lines");
    let base = "# a comment that mentions seeds\nname = \"lines\"\nprotocols = [\n    { protocol = \"paxos\" },\n]\n";
    let cases = [
        // A bad seed range on line 6, after a comment that mentions seeds on line 1.
        (format!("{base}seeds = \"5..1\"\nnodes = 3\nduration_ms = 100\n"), 6, "seeds"),
        // A shared key with a bad value on line 9.
        (format!("{base}seeds = \"1..3\"\nnodes = 3\nduration_ms = 100\n[network]\nloss = 2.0\n"), 10, "network.loss"),
        // A shared key of the wrong type on line 7.
        (format!("{base}seeds = \"1..3\"\nnodes = \"three\"\nduration_ms = 100\n"), 7, "protocols.0"),
        // A protocol's own key, on its line 4.
        (
            base.replace("{ protocol = \"paxos\" }", "{ protocol = \"paxos\", variant = \"nope\" }")
                + "seeds = \"1..3\"\nnodes = 3\nduration_ms = 100\n",
            4,
            "variant",
        ),
    ];
    for (index, (text, line, key)) in cases.into_iter().enumerate() {
        let file = dir.join(format!("bad-{index}.toml"));
        std::fs::write(&file, &text).expect("written");
        let error = compare::load(&file).expect_err("a bad comparison file");
        assert_eq!(error.line, Some(line), "{error}\n{text}");
        assert!(error.message.contains(key), "{error} should name {key}");
    }
}

#[test]
fn availability_counts_definite_answers_and_figures_without_ok_operations_are_n_a() {
    // Raft's fault-free run answers some compare-and-sets with a failed precondition: they
    // are answers, so the run is fully available.
    let (_, html) = run_and_render("raft/fault-free.toml", "available");
    assert!(html.contains("<td class=\"num\">100.0 % ("), "answered operations count as available");
    // Every server crashed from the start: nothing completes ok.
    let path = scratch("nothing-ok").join("down.toml");
    let text = "protocol = \"paxos\"\nnodes = 3\nduration_ms = 300\nexpect = \"ok\"\n[workload]\nclients = 2\n\
                [checks]\nheal = \"none\"\n"
        .to_string()
        + &(0..3).map(|node| format!("[[faults]]\nat_ms = 0\nkind = \"crash\"\nnode = {node}\n")).collect::<String>();
    std::fs::write(&path, text).expect("written");
    let scenario = scenario::load(&path).expect("loads");
    let result = run::run(&scenario, RunOptions { seed: 1, detailed: true });
    assert_eq!(result.summary.figures.operations.ok, 0);
    assert_eq!((result.summary.figures.latency_ms, result.summary.figures.messages_per_op), (None, None));
    let dir = path.parent().expect("a folder").join("run");
    run::write_outputs(&dir, &result).expect("written");
    reports::render_run(&dir).expect("renders");
    let html = checked_page(&dir.join(reports::REPORT_FILE));
    assert!(html.contains("n/a (no ok operations)") && !html.contains("0.000 / 0.000"), "n/a, not zeros");
    // Empty tables still have their header.
    let history = std::fs::read_to_string(dir.join("faults.csv")).expect("faults.csv");
    assert!(history.starts_with("start_ms,end_ms,fault\n"), "{history}");
    let empty = scratch("empty-tables");
    let fault_free = scenario::load(&scenarios_dir().join("paxos/fault-free.toml")).expect("loads");
    run::write_outputs(&empty, &run::run(&fault_free, RunOptions { seed: 1, detailed: true })).expect("written");
    assert_eq!(std::fs::read_to_string(empty.join("faults.csv")).expect("faults.csv"), "start_ms,end_ms,fault\n");
}

#[test]
fn the_messages_plot_counts_what_the_summary_counts() {
    // A network that duplicates: its copies are not messages the nodes sent.
    let path = scenarios_dir().join("paxos/lossy-network.toml");
    let mut scenario = scenario::load(&path).expect("loads");
    scenario.network.duplicate = 0.2;
    let dir = scratch("message-counts");
    let result = run::run(&scenario, RunOptions { seed: 1, detailed: true });
    assert!(result.summary.figures.messages.duplicated > 0, "the network made copies");
    run::write_outputs(&dir, &result).expect("written");
    let data = reports::RunData::read(&dir).expect("reads");
    let (groups, series) = reports::plots::message_bars(&data);
    for (index, kind) in groups.iter().enumerate() {
        let drawn: f64 = series.iter().map(|series| series.values[index]).sum();
        assert_eq!(drawn as u64, data.summary.figures.messages.by_type[kind], "{kind}");
    }
}

#[test]
fn events_are_written_in_the_notation_of_the_reports() {
    let (dir, _) = run_and_render("paxos/acceptor-forgets.toml", "event-words");
    let events = std::fs::read_to_string(dir.join("events.csv")).expect("events.csv");
    assert!(events.contains("accepted ballot 1.2 value 1"), "{events}");
    assert!(!events.contains("Ballot {") && !events.contains("Accepted {"), "no Rust Debug text: {events}");
}

/// The first and last time of a space-time diagram, from its caption.
fn diagram_window(html: &str) -> (f64, f64) {
    let caption = html.split("node events, from ").nth(1).expect("the diagram's caption");
    let mut times = caption.split(" ms").take(2).map(|time| time.trim_start_matches(" to ").trim().parse::<f64>());
    let start = times.next().expect("a start").expect("a number");
    let end = times.next().expect("an end").expect("a number");
    (start, end)
}

#[test]
fn the_spacetime_diagram_starts_from_what_the_violation_cites() {
    // Raft's Figure 8: the violation at 1746 ms names a commit at 1604.570 ms.
    let (dir, html) = run_and_render("raft/commit-old-term.toml", "cause-commit");
    let data = reports::RunData::read(&dir).expect("reads");
    let violation = &data.summary.violations[0];
    assert_eq!(violation.invariant, "leader-completeness");
    let commit = violation.evidence.iter().map(|evidence| evidence.time_ms).fold(f64::INFINITY, f64::min);
    assert!(commit < violation.time_ms - 100.0, "the evidence goes back to the commit: {:?}", violation.evidence);
    let (start, end) = diagram_window(&html);
    assert!(start <= commit + 0.001 && end + 0.001 >= violation.time_ms, "the window {start}..{end} holds {commit}");
    assert!(html.contains("stroke-width=\"2.4\""), "the causal history is drawn bold");
    assert!(html.contains("(cited by the violation)"), "the cited event is marked");
    assert!(html.contains("id=\"show-heartbeats\"") && html.contains("class=\"heartbeat\""), "heartbeats fold");
    assert!(html.contains("term: "), "message payloads are in the hover text");
    // The stale read: the window starts at the append it could not see, invoked at 337.6 ms.
    let (dir, html) = run_and_render("raft/stale-read.toml", "cause-read");
    let data = reports::RunData::read(&dir).expect("reads");
    let invoked =
        data.summary.violations[0].evidence.iter().map(|evidence| evidence.time_ms).fold(f64::INFINITY, f64::min);
    assert!(invoked < 340.0, "the evidence names the append: {:?}", data.summary.violations[0].evidence);
    let (start, _) = diagram_window(&html);
    assert!(start <= invoked + 0.001, "the window starts at {start}, after the append at {invoked}");
    assert!(html.contains("client 3 append"), "the cited operation, by client, as an interval");
}
