//! The comparison report, from real run directories: every plot, a well-formed and
//! self-contained page that embeds them, the figures side by side, and a verdict per seed
//! (flagged when it is not the one expected, and linked to the run's own report).

mod common;

use common::{assert_embeds, assert_self_contained, assert_well_formed, fixture, png_size, scratch, FAILING, PASSING};
use reports::{render_comparison, Comparison, Entrant, RunData, PLOT_HEIGHT, PLOT_WIDTH, REPORT_FILE};

const PLOTS: [&str; 6] = [
    "latency-quantiles.png",
    "latency-cdf.png",
    "availability.png",
    "messages-per-op.png",
    "throughput.png",
    "verdicts.png",
];

fn comparison() -> Comparison {
    let passing = RunData::read(&fixture(PASSING)).expect("the passing fixture reads");
    let failing = RunData::read(&fixture(FAILING)).expect("the failing fixture reads");
    let mut correct = Entrant::new("paxos", "paxos", "correct");
    correct.add(&passing, Some("ok"), None);
    let mut flawed = Entrant::new("paxos (acceptor-forgets)", "paxos", "acceptor-forgets");
    flawed.add(&failing, Some("ok"), Some("flawed/seed-1/report.html".into()));
    Comparison {
        name: "fixtures".into(),
        description: "Two recorded runs.".into(),
        source: "tests/data".into(),
        seeds: vec![1],
        entrants: vec![correct, flawed],
        notes: vec!["skipped raft: not in this build".into()],
        per_operation: vec!["propose".into()],
    }
}

#[test]
fn a_comparison_gets_every_plot_and_one_page_that_embeds_them() {
    let out = scratch("compare");
    let files = render_comparison(&comparison(), &out).expect("the comparison renders");
    let mut expected: Vec<_> = PLOTS.iter().map(|plot| out.join(plot)).collect();
    expected.push(out.join(REPORT_FILE));
    assert_eq!(files, expected);
    let html = std::fs::read_to_string(out.join(REPORT_FILE)).expect("report.html");
    assert_well_formed(&html);
    assert_self_contained(&html);
    for plot in PLOTS {
        assert_embeds(&html, &out.join(plot));
        assert_eq!(png_size(&std::fs::read(out.join(plot)).expect("a plot")), (PLOT_WIDTH, PLOT_HEIGHT), "{plot}");
    }
}

#[test]
fn the_page_puts_the_figures_side_by_side_and_flags_unexpected_verdicts() {
    let out = scratch("compare-page");
    let comparison = comparison();
    render_comparison(&comparison, &out).expect("the comparison renders");
    let html = std::fs::read_to_string(out.join(REPORT_FILE)).expect("report.html");
    assert!(html.contains("<th class=\"num\">paxos</th><th class=\"num\">paxos (acceptor-forgets)</th>"));
    assert!(
        html.contains("<td class=\"num\">1 / 0 / 0 / 0 / 0</td><td class=\"num\">0 / 1 / 0 / 0 / 0</td>"),
        "verdicts"
    );
    assert!(html.contains("expected ok <a href=\"flawed/seed-1/report.html\">report</a>"), "the seed table");
    assert!(html.contains("skipped raft: not in this build"), "the notes");
    assert!(html.contains("latency of ok propose p50 / p95 / p99 / max (ms)"), "per operation");
    assert!(html.contains("messages per ok propose") && html.contains("ok propose per second"), "per operation");
    let unexpected: Vec<u64> = comparison.entrants[1].unexpected().map(|run| run.seed).collect();
    assert_eq!(unexpected, [1]);
    assert_eq!(comparison.entrants[0].unexpected().count(), 0);
}

#[test]
fn the_same_comparison_twice_gives_identical_bytes() {
    let (first, second) = (scratch("compare-1"), scratch("compare-2"));
    render_comparison(&comparison(), &first).expect("first");
    render_comparison(&comparison(), &second).expect("second");
    for file in PLOTS.iter().chain(&[REPORT_FILE]) {
        let same = std::fs::read(first.join(file)).expect("first") == std::fs::read(second.join(file)).expect("second");
        assert!(same, "{file} differs");
    }
}
