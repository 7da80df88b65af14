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
use crate::{chart, spacetime, trace, Summary};

/// The HTML page of a report.
pub const REPORT_FILE: &str = "report.html";
/// The Chrome trace-event export of a run.
pub const TRACE_FILE: &str = "trace.json";
/// Fault periods listed in the page at most.
const MAX_FAULT_ROWS: usize = 100;

/// Renders the report of the run directory `dir` into `dir` itself; returns the files
/// written. `scenario_file` is the scenario the run came from, for the replay command.
pub fn render_run(dir: &Path, scenario_file: Option<&Path>) -> io::Result<Vec<PathBuf>> {
    render_run_into(dir, dir, scenario_file)
}

/// Renders the report of the run directory `dir` into the directory `out`.
pub fn render_run_into(dir: &Path, out: &Path, scenario_file: Option<&Path>) -> io::Result<Vec<PathBuf>> {
    let data = RunData::read(dir)?;
    std::fs::create_dir_all(out)?;
    let figures = plots::render(&data, out)?;
    trace::write(&data, &out.join(TRACE_FILE))?;
    let history = crate::history_view::run_section(dir, &data)?;
    let page = page(&data, (&figures, history), out, scenario_file)?;
    std::fs::write(out.join(REPORT_FILE), page)?;
    let mut files: Vec<PathBuf> = figures.iter().map(|figure| out.join(&figure.file)).collect();
    files.extend([out.join(TRACE_FILE), out.join(REPORT_FILE)]);
    Ok(files)
}

/// The command that replays the run. Without the scenario file, its path is taken to be
/// the bundled one, `scenarios/<name>.toml`.
pub fn replay_command(summary: &Summary, scenario_file: Option<&Path>) -> String {
    let path = match scenario_file {
        Some(path) => path.display().to_string(),
        None => format!("scenarios/{}.toml", summary.scenario),
    };
    format!("cargo run --release -- run {path} --seed {}", summary.seed)
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

fn page(
    data: &RunData,
    (figures, history): (&[Figure], Option<String>),
    out: &Path,
    scenario_file: Option<&Path>,
) -> io::Result<String> {
    let summary = &data.summary;
    let mut body = header(summary, scenario_file);
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

fn header(summary: &Summary, scenario_file: Option<&Path>) -> String {
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
    let _ = writeln!(
        html,
        "<p>Replay this run:</p>\n<pre><code>{}</code></pre>",
        escape(&replay_command(summary, scenario_file))
    );
    html
}

fn violations(summary: &Summary) -> String {
    if summary.violations.is_empty() {
        return String::new();
    }
    let rows: Vec<Vec<String>> = summary
        .violations
        .iter()
        .map(|v| vec![v.invariant.clone(), format!("{:.3}", v.time_ms), format!("{:?}", v.nodes), v.detail.clone()])
        .collect();
    let mut html = String::from("<h2>Why the verdict</h2>\n");
    html.push_str(&html::table(&["invariant", "at (ms)", "nodes", "detail"], &rows, &[1]));
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
        ("availability (ok of invoked)", html::percent(availability.overall())),
        ("availability during faults", html::percent(availability.during_faults)),
        ("availability outside faults", html::percent(availability.outside_faults)),
        ("latency p50 / p95 / p99 / max (ms)", quantiles(latency)),
        ("throughput (ok operations per second)", format!("{:.2}", figures.throughput_ops)),
        ("messages sent (dropped)", format!("{} ({})", figures.messages.total, figures.messages.dropped)),
        ("messages per ok operation", format!("{:.2}", figures.messages_per_op)),
        ("virtual time (ms)", format!("{:.3}", figures.virtual_time_ms)),
        ("events handled", figures.events.to_string()),
    ];
    let mut rows: Vec<Vec<String>> = rows.into_iter().map(|(name, value)| vec![name.to_string(), value]).collect();
    let checks = data.summary.checks.iter().map(|(check, verdict)| vec![format!("check: {check}"), verdict.clone()]);
    rows.extend(checks);
    html::table(&["figure", "value"], &rows, &[1])
}

/// "p50 / p95 / p99 / max" with three decimals.
pub fn quantiles(latency: &crate::Latency) -> String {
    format!("{:.3} / {:.3} / {:.3} / {:.3}", latency.p50, latency.p95, latency.p99, latency.max)
}

fn messages_table(summary: &Summary) -> String {
    let ok = summary.figures.operations.ok;
    let per_op = |count: u64| if ok == 0 { "\u{2013}".to_string() } else { format!("{:.2}", count as f64 / ok as f64) };
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
            let end = f.end_ms.map_or_else(|| "(end of run)".to_string(), |end| format!("{end:.3}"));
            vec![format!("{:.3}", f.start_ms), end, f.fault.clone()]
        })
        .collect();
    let mut html = format!("<h2>Faults</h2>\n<p>{} fault periods.", data.faults.len());
    if data.faults.len() > MAX_FAULT_ROWS {
        let _ = write!(html, " The first {MAX_FAULT_ROWS} are listed; faults.csv has them all.");
    }
    html.push_str("</p>\n");
    html.push_str(&html::table(&["from (ms)", "to (ms)", "fault"], &rows, &[0, 1]));
    html
}
