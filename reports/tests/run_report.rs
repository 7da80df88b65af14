//! The report of one run, rendered from a real run directory: the files it writes, a page
//! that is well formed, self-contained and embeds every plot, PNGs of the stated size
//! whose text renders from the embedded font, byte-identical output from the same input,
//! a space-time diagram only for a failing run, and the Chrome trace.

mod common;

use std::collections::BTreeSet;
use std::path::PathBuf;

use common::{assert_embeds, assert_self_contained, assert_well_formed, fixture, png_size, scratch, FAILING, PASSING};
use reports::{render_run_into, RunData, PLOT_HEIGHT, PLOT_WIDTH, REPORT_FILE, TRACE_FILE};

const PLOTS: [&str; 6] = [
    "latency.png",
    "latency-quantiles.png",
    "latency-cdf.png",
    "latency-by-kind.png",
    "throughput.png",
    "messages.png",
];

fn render(name: &str, test: &str) -> (PathBuf, Vec<PathBuf>, String) {
    let out = scratch(test);
    let files = render_run_into(&fixture(name), &out, None).expect("the report renders");
    let html = std::fs::read_to_string(out.join(REPORT_FILE)).expect("report.html was written");
    (out, files, html)
}

#[test]
fn a_passing_run_gets_every_plot_the_trace_and_a_page_without_a_spacetime_diagram() {
    let (out, files, html) = render(PASSING, "passing");
    let mut expected: Vec<PathBuf> = PLOTS.iter().map(|plot| out.join(plot)).collect();
    expected.extend([out.join(TRACE_FILE), out.join(REPORT_FILE)]);
    assert_eq!(files, expected);
    assert!(html.contains("verdict ok"), "the verdict badge");
    assert!(!html.contains("<svg"), "a passing run has no space-time diagram");
    assert!(html.contains("paxos/nemesis"), "the scenario name");
}

#[test]
fn a_failing_run_gets_a_spacetime_diagram_around_the_violation() {
    let (_, _, html) = render(FAILING, "failing");
    assert!(html.contains("verdict bad\">violation"), "the verdict badge");
    let start = html.find("<svg").expect("a failing run has a space-time diagram");
    let svg = &html[start..html.find("</svg>").expect("the diagram ends")];
    assert!(svg.contains("agreement (violation) at 371.034 ms"), "the violation is marked");
    // Process 5 of a run with 3 servers is client 2 (clients are numbered from 0).
    for lane in ["node 0", "node 1", "node 2", "client 2"] {
        assert!(svg.contains(&format!(">{lane}</text>")), "lane {lane}");
    }
    assert!(svg.contains("#44 Accept 1 \u{2192} 0, sent at 369.034 ms, blocked"), "a dropped message, with its fate");
    assert!(svg.contains("marker-end=\"url(#arrow-"), "delivered messages are arrows");
    assert!(svg.contains("crash 1 from 300.000 ms to 320.000 ms"), "a crash is marked on its lane");
    assert!(
        html.contains("47 messages, of the 47 sent in this window (the run sent 47)"),
        "the caption says what is shown"
    );
}

#[test]
fn the_pages_are_well_formed_self_contained_and_embed_every_plot() {
    for (name, test) in [(PASSING, "page-passing"), (FAILING, "page-failing")] {
        let (out, _, html) = render(name, test);
        assert_well_formed(&html);
        assert_self_contained(&html);
        for plot in PLOTS {
            assert_embeds(&html, &out.join(plot));
        }
    }
}

#[test]
fn the_page_gives_the_seed_the_replay_command_and_the_figures() {
    let out = scratch("replay");
    let replay = "faultline run scenarios/paxos/acceptor-forgets.toml --seed 1 --engine native";
    render_run_into(&fixture(FAILING), &out, Some(replay)).expect("the report renders");
    let html = std::fs::read_to_string(out.join(REPORT_FILE)).expect("report.html");
    assert!(html.contains(replay));
    assert!(html.contains("<small>seed 1</small>"));
    assert!(html.contains("<td class=\"num\">4.0 / 12.0 / 12.0 / 12.0</td>"), "latency quantiles");
    assert!(html.contains("<td>agreement</td>"), "the violated invariant");
}

#[test]
fn every_plot_is_a_png_of_the_stated_size() {
    let (out, _, _) = render(PASSING, "sizes");
    for plot in PLOTS {
        let bytes = std::fs::read(out.join(plot)).expect("the plot was written");
        assert_eq!(png_size(&bytes), (PLOT_WIDTH, PLOT_HEIGHT), "{plot}");
        let (width, height, pixels, _) = common::decode(&bytes);
        assert_eq!((width, height), (PLOT_WIDTH, PLOT_HEIGHT), "{plot} decodes");
        assert!(pixels.len() >= (width * height * 3) as usize);
    }
}

#[test]
fn plot_titles_render_from_the_embedded_font() {
    let (out, _, _) = render(PASSING, "font");
    let (width, _, pixels, samples) = common::decode(&std::fs::read(out.join("latency.png")).expect("the plot"));
    let row = width as usize * samples;
    let title_rows = &pixels[8 * row..36 * row];
    let dark = title_rows.chunks(samples).filter(|pixel| pixel[..3].iter().all(|channel| *channel < 100)).count();
    assert!(dark > 500, "the title should be dark text on white, found {dark} dark pixels");
}

#[test]
fn the_same_input_twice_gives_identical_bytes() {
    let (first, _, first_html) = render(FAILING, "twice-1");
    let (second, _, second_html) = render(FAILING, "twice-2");
    for file in PLOTS.iter().chain(&[TRACE_FILE]) {
        let (a, b) = (std::fs::read(first.join(file)), std::fs::read(second.join(file)));
        assert!(a.expect("first") == b.expect("second"), "{file} differs between two renders");
    }
    assert_eq!(first_html, second_html);
}

#[test]
fn the_trace_has_a_lane_per_node_and_a_flow_per_delivered_message() {
    let data = RunData::read(&fixture(FAILING)).expect("the fixture reads");
    let trace = reports::trace::trace(&data);
    let events = trace["traceEvents"].as_array().expect("traceEvents is an array");
    let names: BTreeSet<String> = events
        .iter()
        .filter(|event| event["name"] == "thread_name")
        .map(|event| event["args"]["name"].as_str().expect("a lane name").to_string())
        .collect();
    let expected = ["node 0", "node 1", "node 2", "client 3", "client 4", "client 5"];
    assert_eq!(names, expected.iter().map(|name| name.to_string()).collect());
    let delivered = data.messages.iter().filter(|message| message.delivered_ms.is_some()).count();
    let flows = |phase: &str| events.iter().filter(|event| event["ph"] == phase).count();
    assert_eq!((flows("s"), flows("f")), (delivered, delivered));
    assert!(events.iter().any(|event| event["name"] == "violation: agreement" && event["s"] == "g"));
    assert_eq!(events.iter().filter(|event| event["cat"] == "operation").count(), data.history.len());
}

#[test]
fn a_run_directory_without_a_summary_is_an_error_naming_the_file() {
    let empty = scratch("empty");
    let error = render_run_into(&empty, &empty, None).expect_err("no summary.json");
    assert!(error.to_string().contains("summary.json"), "{error}");
}

#[test]
fn a_run_that_recorded_nothing_but_its_summary_still_gets_a_report() {
    let dir = scratch("summary-only");
    let summary = std::fs::read_to_string(fixture(FAILING).join("summary.json")).expect("the fixture's summary");
    std::fs::write(
        dir.join("summary.json"),
        summary.replace("\"violation\",\n  \"violations\"", "\"error\",\n  \"violations\""),
    )
    .expect("written");
    let files = render_run_into(&dir, &dir, None).expect("a summary alone renders");
    assert_eq!(files.len(), PLOTS.len() + 2);
    let html = std::fs::read_to_string(dir.join(REPORT_FILE)).expect("report.html");
    assert_well_formed(&html);
    assert!(html.contains("verdict bad\">error"), "the verdict");
    assert!(html.contains("The run recorded no messages, operations or events to draw."));
}
