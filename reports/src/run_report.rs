//! The report of one run, rendered from its run directory: the PNG plots, the Chrome trace
//! (`trace.json`) and one self-contained `report.html` with the verdict, the seed and the
//! replay command, the figures, the plots inline, and for a failing run (verdict
//! `violation`, `stuck` or `error`) a space-time diagram of the messages around the failure.

use std::fmt::Write as _;
use std::io;
use std::path::{Path, PathBuf};

use crate::html::{self, escape};
use crate::plots::{self, Figure};
use crate::run_data::{Availability, RunData};
use crate::{chart, spacetime, trace, words, Summary};

/// The HTML page of a report.
pub const REPORT_FILE: &str = "report.html";
/// The Chrome trace-event export of a run.
pub const TRACE_FILE: &str = "trace.json";
/// Fault periods listed in the page at most.
const MAX_FAULT_ROWS: usize = 100;

/// Renders the report of the run directory `dir` into `dir` itself; returns the files
/// written.
pub fn render_run(dir: &Path) -> io::Result<Vec<PathBuf>> {
    render_run_into(dir, dir, None)
}

/// Renders the report of the run directory `dir` into the directory `out`; `replay`
/// replaces the replay command the run recorded in its summary.
pub fn render_run_into(dir: &Path, out: &Path, replay: Option<&str>) -> io::Result<Vec<PathBuf>> {
    let mut data = RunData::read(dir)?;
    if let Some(replay) = replay {
        data.summary.replay = replay.to_string();
    }
    std::fs::create_dir_all(out)?;
    let figures = plots::render(&data, out)?;
    trace::write(&data, &out.join(TRACE_FILE))?;
    let history = crate::history_view::run_section(dir, &data)?;
    let page = page(&data, (&figures, history), out)?;
    std::fs::write(out.join(REPORT_FILE), page)?;
    let mut files: Vec<PathBuf> = figures.iter().map(|figure| out.join(&figure.file)).collect();
    files.extend([out.join(TRACE_FILE), out.join(REPORT_FILE)]);
    Ok(files)
}

/// The figures (and PNGs) of `figures` as `<figure>` elements with the images inline.
pub fn figures_html(figures: &[Figure], dir: &Path) -> io::Result<String> {
    let mut html = String::new();
    for figure in figures {
        let bytes = std::fs::read(dir.join(&figure.file))?;
        let _ = writeln!(
            html,
            "<figure id=\"{}\">{}<figcaption><b>{}.</b> {} (<a href=\"{}\">{}</a>)</figcaption></figure>",
            escape(figure.file.trim_end_matches(".png")),
            html::png_image(&bytes, &figure.title, chart::WIDTH, chart::HEIGHT),
            escape(&figure.title),
            escape(&figure.caption),
            escape(&figure.file),
            escape(&figure.file)
        );
    }
    Ok(html)
}

fn page(data: &RunData, (figures, history): (&[Figure], Option<String>), out: &Path) -> io::Result<String> {
    let summary = &data.summary;
    let mut body = header(summary);
    body.push_str(&violations(summary));
    body.push_str("<h2>Figures</h2>\n");
    body.push_str(&figures_table(data));
    body.push_str(&messages_table(summary));
    body.push_str("<h2>Plots</h2>\n");
    body.push_str(&figures_html(figures, out)?);
    if data.failed() {
        body.push_str("<h2 id=\"spacetime\">Space-time diagram around the failure</h2>\n");
        body.push_str(&spacetime::render(data));
    }
    if let Some(history) = history {
        body.push_str("<h2 id=\"history\">Client history (linearizability)</h2>\n");
        body.push_str(&history);
    }
    body.push_str(&faults_table(data));
    let _ = write!(
        body,
        "<h2>Files</h2>\n<p><a href=\"{TRACE_FILE}\">{TRACE_FILE}</a>: the run's operations, messages, events and \
         faults as a Chrome trace (open it in the Perfetto UI or chrome://tracing), one lane per node. The tables \
         this page was rendered from are summary.json, history.csv, messages.csv, events.csv and faults.csv in the \
         run directory.</p>\n"
    );
    let title = format!("faultline: {} seed {} ({})", summary.scenario, summary.seed, summary.verdict);
    Ok(html::page(&title, &body))
}

fn header(summary: &Summary) -> String {
    let mut html = format!(
        "<h1>{} <small>seed {}</small></h1>\n<p class=\"lead\">Verdict {} (expected {}).</p>\n",
        escape(&summary.scenario),
        summary.seed,
        html::verdict_badge(&summary.verdict),
        escape(&summary.expect)
    );
    let rows = [
        ("scenario", summary.scenario.clone()),
        ("protocol", format!("{} (variant {})", summary.protocol, summary.variant)),
        ("engine", summary.engine.clone()),
        ("seed", summary.seed.to_string()),
        ("trace hash", summary.trace_hash.clone()),
    ];
    let rows: Vec<Vec<String>> = rows.into_iter().map(|(name, value)| vec![name.to_string(), value]).collect();
    html.push_str(&html::table(&["run", ""], &rows, &[]));
    match summary.replay.is_empty() {
        false => {
            let _ = writeln!(html, "<p>Replay this run:</p>\n<pre><code>{}</code></pre>", escape(&summary.replay));
        }
        true => html.push_str("<p>This run was not started from a scenario file, so it has no replay command.</p>\n"),
    }
    html
}

fn violations(summary: &Summary) -> String {
    if summary.violations.is_empty() {
        return String::new();
    }
    let rows: Vec<Vec<String>> = summary
        .violations
        .iter()
        .map(|v| {
            let who = words::processes(&v.nodes, summary.servers);
            vec![v.invariant.clone(), words::time(v.time_ms), who, v.detail.clone()]
        })
        .collect();
    let mut html = String::from("<h2>Why the verdict</h2>\n");
    html.push_str(&html::table(&["invariant", "at", "who", "detail"], &rows, &[1]));
    if summary.verdict != "ok" {
        html.push_str("<p><a href=\"#spacetime\">The space-time diagram</a> shows the messages around it.</p>\n");
    }
    html
}

fn figures_table(data: &RunData) -> String {
    let figures = &data.summary.figures;
    let ops = &figures.operations;
    let latency = &figures.latency_ms;
    let availability = Availability::of(data);
    let rows = [
        ("operations invoked", ops.invoked.to_string()),
        ("completed ok / fail / info", format!("{} / {} / {}", ops.ok, ops.fail, ops.info)),
        ("availability (answered ok or fail, of invoked)", html::percent(availability.overall())),
        ("availability during faults", html::percent(availability.during_faults)),
        ("availability outside faults", html::percent(availability.outside_faults)),
        ("latency of ok operations p50 / p95 / p99 / max (ms)", quantiles(latency.as_ref())),
        ("throughput (ok operations per second)", format!("{:.2}", figures.throughput_ops)),
        ("messages sent (dropped)", format!("{} ({})", figures.messages.total, figures.messages.dropped)),
        ("messages per ok operation", words::decimal(figures.messages_per_op)),
        ("virtual time", words::time(figures.virtual_time_ms)),
        ("events handled", figures.events.to_string()),
    ];
    let mut rows: Vec<Vec<String>> = rows.into_iter().map(|(name, value)| vec![name.to_string(), value]).collect();
    let checks = data.summary.checks.iter().map(|(check, verdict)| vec![format!("check: {check}"), verdict.clone()]);
    rows.extend(checks);
    html::table(&["figure", "value"], &rows, &[1])
}

/// "p50 / p95 / p99 / max" with three decimals, or `n/a` without ok operations.
pub fn quantiles(latency: Option<&crate::Latency>) -> String {
    match latency {
        Some(latency) => {
            format!("{:.3} / {:.3} / {:.3} / {:.3}", latency.p50, latency.p95, latency.p99, latency.max)
        }
        None => format!("{} (no ok operations)", words::NOT_APPLICABLE),
    }
}

fn messages_table(summary: &Summary) -> String {
    let ok = summary.figures.operations.ok;
    let per_op = |count: u64| words::decimal((ok > 0).then(|| count as f64 / ok as f64));
    let rows: Vec<Vec<String>> = summary
        .figures
        .messages
        .by_type
        .iter()
        .map(|(kind, count)| vec![kind.clone(), count.to_string(), per_op(*count)])
        .collect();
    html::table(&["message type", "sent", "per ok operation"], &rows, &[1, 2])
}

fn faults_table(data: &RunData) -> String {
    if data.faults.is_empty() {
        return "<h2>Faults</h2>\n<p>No faults were injected.</p>\n".to_string();
    }
    let rows: Vec<Vec<String>> = data
        .faults
        .iter()
        .take(MAX_FAULT_ROWS)
        .map(|f| {
            let end = f.end_ms.map_or_else(|| "(end of run)".to_string(), words::time);
            vec![words::time(f.start_ms), end, f.fault.clone()]
        })
        .collect();
    let mut html = format!("<h2>Faults</h2>\n<p>{} fault periods.", data.faults.len());
    if data.faults.len() > MAX_FAULT_ROWS {
        let _ = write!(html, " The first {MAX_FAULT_ROWS} are listed; faults.csv has them all.");
    }
    html.push_str("</p>\n");
    html.push_str(&html::table(&["from", "to", "fault"], &rows, &[0, 1]));
    html
}
