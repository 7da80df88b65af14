//! Comparison reports: several protocols (or variants of one) run on the same workload,
//! network and fault schedule with the same seeds, side by side. Each entrant's runs are
//! tallied as they come (so a long seed range does not keep every table in memory), then
//! drawn: latency quantiles and distributions, availability during and outside fault
//! periods, messages per operation by type, throughput over time, and verdict counts, on
//! one self-contained HTML page with a table of every seed's verdict.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::io;
use std::path::{Path, PathBuf};

use crate::chart::{self, Axes, Bands, BarChart, BarSeries, Plot, Scale, Series, PALETTE};
use crate::html::{self, escape};
use crate::plots::{self, Figure};
use crate::run_data::{Availability, RunData};
use crate::run_report::{figures_html, quantiles, REPORT_FILE};
use crate::{words, Latency};

/// What was compared, and the entrants with their runs.
#[derive(Clone, Debug, Default)]
pub struct Comparison {
    pub name: String,
    pub description: String,
    /// The comparison file, shown on the page.
    pub source: String,
    pub seeds: Vec<u64>,
    pub entrants: Vec<Entrant>,
    /// Shown at the top of the page: protocols skipped, and why.
    pub notes: Vec<String>,
    /// Operation kinds whose latency, throughput and messages get rows of their own (the
    /// comparison file's `per_operation`): a lock's `acquire`, say.
    pub per_operation: Vec<String>,
}

/// One protocol (and variant) of a comparison, with the tally of its runs.
#[derive(Clone, Debug, Default)]
pub struct Entrant {
    pub label: String,
    pub protocol: String,
    pub variant: String,
    /// What a reader must know to read this entrant's figures (from the comparison file).
    pub note: Option<String>,
    pub runs: Vec<RunOutcome>,
    tally: Tally,
}

/// One seed of one entrant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunOutcome {
    pub seed: u64,
    pub verdict: String,
    /// The verdict the entrant was expected to reach, if it was given one.
    pub expect: Option<String>,
    /// The run's own report, relative to the comparison page, if one was rendered.
    pub link: Option<String>,
}

/// The verdicts in the order the page lists them.
pub const VERDICTS: [&str; 5] = ["ok", "violation", "stuck", "error", "runaway"];

impl Entrant {
    pub fn new(label: &str, protocol: &str, variant: &str) -> Entrant {
        Entrant { label: label.into(), protocol: protocol.into(), variant: variant.into(), ..Entrant::default() }
    }

    /// Adds one run; `link` points to its report, if it has one.
    pub fn add(&mut self, data: &RunData, expect: Option<&str>, link: Option<String>) {
        self.tally.add(data);
        self.runs.push(RunOutcome {
            seed: data.summary.seed,
            verdict: data.summary.verdict.clone(),
            expect: expect.map(String::from),
            link,
        });
    }

    /// The runs whose verdict is not the one expected.
    pub fn unexpected(&self) -> impl Iterator<Item = &RunOutcome> {
        self.runs.iter().filter(|run| run.expect.as_ref().is_some_and(|expect| *expect != run.verdict))
    }

    fn latency(&self) -> Option<Latency> {
        Latency::of(self.tally.latencies.clone())
    }

    fn verdicts(&self, verdict: &str) -> u64 {
        self.runs.iter().filter(|run| run.verdict == verdict).count() as u64
    }
}

/// What the plots and tables need from an entrant's runs.
#[derive(Clone, Debug, Default)]
struct Tally {
    latencies: Vec<f64>,
    availability: Availability,
    sent_by_type: BTreeMap<String, u64>,
    /// When each ok operation completed, over every run.
    completions: Vec<f64>,
    ok: u64,
    virtual_ms: f64,
    /// Per operation kind, the latencies of its ok operations.
    by_kind: BTreeMap<String, Vec<f64>>,
    /// The protocol's own figures summed over the runs, with the runs that reported each.
    protocol_figures: BTreeMap<String, (f64, u64)>,
}

impl Tally {
    fn add(&mut self, data: &RunData) {
        self.latencies.extend(data.ok_latencies());
        self.availability.add(Availability::of(data));
        for (kind, count) in &data.summary.figures.messages.by_type {
            *self.sent_by_type.entry(kind.clone()).or_default() += count;
        }
        let ok = data.history.iter().filter(|op| op.kind == "ok");
        self.completions.extend(ok.filter_map(|op| op.completed_ms));
        self.ok += data.summary.figures.operations.ok;
        self.virtual_ms += data.summary.figures.virtual_time_ms;
        for op in data.history.iter().filter(|op| op.kind == "ok") {
            self.by_kind.entry(op.f.clone()).or_default().extend(op.latency_ms);
        }
        for (name, value) in &data.summary.figures.protocol_figures {
            let (sum, runs) = self.protocol_figures.entry(name.clone()).or_default();
            *sum += value;
            *runs += 1;
        }
    }
}

/// Writes the comparison's plots and `report.html` into `out`; returns the files written.
pub fn render_comparison(comparison: &Comparison, out: &Path) -> io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(out)?;
    let figures = vec![
        latency_quantiles(comparison, out)?,
        latency_distributions(comparison, out)?,
        availability(comparison, out)?,
        messages_per_operation(comparison, out)?,
        throughput(comparison, out)?,
        verdicts(comparison, out)?,
    ];
    let page = page(comparison, &figures, out)?;
    std::fs::write(out.join(REPORT_FILE), page)?;
    let mut files: Vec<PathBuf> = figures.iter().map(|figure| out.join(&figure.file)).collect();
    files.push(out.join(REPORT_FILE));
    Ok(files)
}

fn color(index: usize) -> plotters::style::RGBColor {
    PALETTE[index % PALETTE.len()]
}

/// One bar per entrant in each group, the value from `value`.
fn bars_per_entrant(comparison: &Comparison, value: impl Fn(&Entrant, usize) -> f64, groups: usize) -> Vec<BarSeries> {
    let series = |(index, entrant): (usize, &Entrant)| BarSeries {
        name: entrant.label.clone(),
        color: color(index),
        values: (0..groups).map(|group| value(entrant, group)).collect(),
    };
    comparison.entrants.iter().enumerate().map(series).collect()
}

fn latency_quantiles(comparison: &Comparison, out: &Path) -> io::Result<Figure> {
    let title = "Latency quantiles of ok operations";
    let groups = ["p50", "p95", "p99"];
    let value = |entrant: &Entrant, group: usize| {
        let latency = entrant.latency().unwrap_or_default();
        [latency.p50, latency.p95, latency.p99][group]
    };
    let bars = BarChart {
        axes: Axes { title, x: "quantile (nearest rank, over every seed's ok operations)", y: "latency (ms)" },
        groups: groups.iter().map(|group| group.to_string()).collect(),
        series: bars_per_entrant(comparison, value, groups.len()),
        format: chart::tick,
    };
    chart::bars(&out.join("latency-quantiles.png"), &bars)?;
    Ok(figure(
        "latency-quantiles.png",
        title,
        "The latency quantiles of each protocol's ok operations, pooled over all seeds (the maxima are in the \
         table above).",
    ))
}

fn latency_distributions(comparison: &Comparison, out: &Path) -> io::Result<Figure> {
    let title = "Latency distributions of ok operations";
    let all: Vec<f64> =
        comparison.entrants.iter().flat_map(|entrant| entrant.tally.latencies.iter().copied()).collect();
    let (x_scale, x) = Scale::for_spread(&all);
    let series: Vec<Series> = comparison
        .entrants
        .iter()
        .enumerate()
        .map(|(index, entrant)| {
            let mut latencies = entrant.tally.latencies.clone();
            latencies.sort_by(f64::total_cmp);
            let name = format!("{} ({})", entrant.label, latencies.len());
            Series { name, color: color(index), points: plots::cdf(&latencies) }
        })
        .collect();
    let plot = Plot {
        axes: Axes { title, x: "latency (ms)", y: "share done within this latency" },
        x,
        x_scale,
        y: 0.0..1.0,
        bands: Bands::default(),
        marks: Vec::new(),
    };
    chart::lines(&out.join("latency-cdf.png"), &plot, &series)?;
    let caption = format!(
        "The cumulative distribution of each protocol's ok latencies, over all seeds.{}",
        plots::log_note(x_scale)
    );
    Ok(figure("latency-cdf.png", title, &caption))
}

fn availability(comparison: &Comparison, out: &Path) -> io::Result<Figure> {
    let title = "Availability: operations answered (ok or a definite fail)";
    let groups = ["overall", "invoked during a fault", "invoked outside faults"];
    let value = |entrant: &Entrant, group: usize| {
        let availability = entrant.tally.availability;
        let share = [availability.overall(), availability.during_faults, availability.outside_faults][group];
        100.0 * share.fraction().unwrap_or(0.0)
    };
    let bars = BarChart {
        axes: Axes { title, x: "when the operation was invoked", y: "answered (% of invoked)" },
        groups: groups.iter().map(|group| group.to_string()).collect(),
        series: bars_per_entrant(comparison, value, groups.len()),
        format: |value| format!("{value:.1}%"),
    };
    chart::bars(&out.join("availability.png"), &bars)?;
    let caption = "The share of invoked operations that got a definite answer, ok or fail (a compare-and-set \
                   whose precondition failed, an aborted transaction), rather than a timeout or no reply; split by \
                   whether some fault was in force when the operation was invoked (the same seed gives each \
                   protocol the same fault schedule).";
    Ok(figure("availability.png", title, caption))
}

fn messages_per_operation(comparison: &Comparison, out: &Path) -> io::Result<Figure> {
    let title = "Messages per ok operation, by type";
    let types: BTreeSet<&String> = comparison.entrants.iter().flat_map(|e| e.tally.sent_by_type.keys()).collect();
    let types: Vec<String> = types.into_iter().cloned().collect();
    let value = |entrant: &Entrant, group: usize| {
        let sent = entrant.tally.sent_by_type.get(&types[group]).copied().unwrap_or(0);
        if entrant.tally.ok == 0 {
            0.0
        } else {
            sent as f64 / entrant.tally.ok as f64
        }
    };
    let series = bars_per_entrant(comparison, value, types.len());
    let bars = BarChart {
        axes: Axes { title, x: "message type", y: "messages sent per ok operation" },
        groups: types,
        series,
        format: |value| format!("{value:.2}"),
    };
    chart::bars(&out.join("messages-per-op.png"), &bars)?;
    let caption = "Messages of each type sent over all seeds, divided by the operations that completed ok.";
    Ok(figure("messages-per-op.png", title, caption))
}

fn throughput(comparison: &Comparison, out: &Path) -> io::Result<Figure> {
    let title = "Throughput over time, mean over seeds";
    let completions = comparison.entrants.iter().flat_map(|entrant| entrant.tally.completions.iter());
    let end = completions.fold(1.0, |end: f64, time| end.max(*time)) * 1.02;
    let operations = comparison.entrants.iter().map(|e| e.tally.completions.len() / e.runs.len().max(1)).max();
    let width = plots::bin_width(end, operations.unwrap_or(0));
    let series: Vec<Series> = comparison
        .entrants
        .iter()
        .enumerate()
        .map(|(index, entrant)| {
            let runs = entrant.runs.len().max(1) as f64;
            let rates = plots::rate_series(entrant.tally.completions.iter().copied(), width, end);
            let points = rates.into_iter().map(|(time, rate)| (time, rate / runs)).collect();
            Series { name: entrant.label.clone(), color: color(index), points }
        })
        .collect();
    let top = series.iter().flat_map(|s| s.points.iter().map(|point| point.1)).fold(0.0, f64::max);
    let plot = Plot {
        axes: Axes { title, x: "virtual time (ms)", y: "ok operations per second" },
        x: 0.0..end,
        x_scale: Scale::Linear,
        y: 0.0..chart::nice_top(top),
        bands: Bands::default(),
        marks: Vec::new(),
    };
    chart::lines(&out.join("throughput.png"), &plot, &series)?;
    let caption = format!(
        "Operations completed ok per second of virtual time, in bins of {} ms, averaged over the seeds.",
        chart::tick(width)
    );
    Ok(figure("throughput.png", title, &caption))
}

fn verdicts(comparison: &Comparison, out: &Path) -> io::Result<Figure> {
    let title = "Verdicts";
    let value = |entrant: &Entrant, group: usize| entrant.verdicts(VERDICTS[group]) as f64;
    let bars = BarChart {
        axes: Axes { title, x: "verdict", y: "seeds" },
        groups: VERDICTS.iter().map(|verdict| verdict.to_string()).collect(),
        series: bars_per_entrant(comparison, value, VERDICTS.len()),
        format: |value| format!("{value:.0}"),
    };
    chart::bars(&out.join("verdicts.png"), &bars)?;
    Ok(figure("verdicts.png", title, "How many seeds of each protocol ended in each verdict."))
}

fn figure(file: &str, title: &str, caption: &str) -> Figure {
    Figure { file: file.into(), title: title.into(), caption: caption.into() }
}

fn page(comparison: &Comparison, figures: &[Figure], out: &Path) -> io::Result<String> {
    let mut body = format!("<h1>Comparison: {}</h1>\n", escape(&comparison.name));
    let seeds = match (comparison.seeds.first(), comparison.seeds.last()) {
        (Some(first), Some(last)) => format!("seeds {first} to {last} ({} seeds)", comparison.seeds.len()),
        _ => "no seeds".to_string(),
    };
    let _ = writeln!(
        body,
        "<p class=\"lead\">{} From {}, {seeds}; every protocol ran every seed on the same workload, network and \
         fault schedule.</p>",
        escape(&comparison.description),
        escape(&comparison.source)
    );
    for note in &comparison.notes {
        let _ = writeln!(body, "<p class=\"note\">{}</p>", escape(note));
    }
    for entrant in comparison.entrants.iter().filter(|entrant| entrant.note.is_some()) {
        let note = entrant.note.as_deref().unwrap_or_default();
        let _ = writeln!(body, "<p class=\"note\"><b>{}:</b> {}</p>", escape(&entrant.label), escape(note));
    }
    body.push_str("<h2>Figures</h2>\n");
    body.push_str(&figures_table(comparison));
    body.push_str("<h2>Plots</h2>\n");
    body.push_str(&figures_html(figures, out)?);
    body.push_str("<h2>Every seed</h2>\n");
    body.push_str(&seeds_table(comparison));
    Ok(html::page(&format!("faultline comparison: {}", comparison.name), &body))
}

/// Rows of figures, one column per entrant.
fn figures_table(comparison: &Comparison) -> String {
    type Row = (&'static str, fn(&Entrant) -> String);
    let rows: [Row; 11] = [
        ("protocol", |e| format!("{} ({})", e.protocol, e.variant)),
        ("seeds run", |e| e.runs.len().to_string()),
        ("verdicts ok / violation / stuck / error / runaway", |e| {
            VERDICTS.iter().map(|verdict| e.verdicts(verdict).to_string()).collect::<Vec<_>>().join(" / ")
        }),
        ("operations invoked", |e| e.tally.availability.overall().total.to_string()),
        ("availability (answered ok or fail, of invoked)", |e| html::percent(e.tally.availability.overall())),
        ("availability during faults", |e| html::percent(e.tally.availability.during_faults)),
        ("availability outside faults", |e| html::percent(e.tally.availability.outside_faults)),
        ("latency of ok operations p50 / p95 / p99 / max (ms)", |e| quantiles(e.latency().as_ref())),
        ("messages per ok operation", |e| per_op(e.tally.sent_by_type.values().sum(), e.tally.ok)),
        ("throughput (ok operations per second)", |e| rate(e.tally.ok, e.tally.virtual_ms)),
        ("runs not as expected", |e| e.unexpected().count().to_string()),
    ];
    let mut headers = vec!["figure"];
    headers.extend(comparison.entrants.iter().map(|entrant| entrant.label.as_str()));
    let mut table: Vec<Vec<String>> =
        rows.iter().map(|(name, cell)| once_then(name.to_string(), comparison.entrants.iter().map(cell))).collect();
    let entrants = &comparison.entrants;
    for kind in &comparison.per_operation {
        let ok = |e: &Entrant| e.tally.by_kind.get(kind).map_or(0, Vec::len) as u64;
        let latency = |e: &Entrant| Latency::of(e.tally.by_kind.get(kind).cloned().unwrap_or_default());
        table.push(once_then(
            format!("latency of ok {kind} p50 / p95 / p99 / max (ms)"),
            entrants.iter().map(|e| quantiles(latency(e).as_ref())),
        ));
        table
            .push(once_then(format!("ok {kind} per second"), entrants.iter().map(|e| rate(ok(e), e.tally.virtual_ms))));
        table.push(once_then(
            format!("messages per ok {kind}"),
            entrants.iter().map(|e| per_op(e.tally.sent_by_type.values().sum(), ok(e))),
        ));
    }
    let names: BTreeSet<&String> = entrants.iter().flat_map(|e| e.tally.protocol_figures.keys()).collect();
    for name in names {
        let mean =
            |e: &Entrant| words::decimal(e.tally.protocol_figures.get(name).map(|&(sum, runs)| sum / runs as f64));
        table.push(once_then(format!("{name} (mean per run)"), entrants.iter().map(mean)));
    }
    let numeric: Vec<usize> = (1..headers.len()).collect();
    // Many protocols side by side: the quantile cells wrap at their spaces, not off the page.
    format!("<div class=\"wrap\">{}</div>", html::table(&headers, &table, &numeric))
}

fn once_then(first: String, rest: impl Iterator<Item = String>) -> Vec<String> {
    std::iter::once(first).chain(rest).collect()
}

fn per_op(messages: u64, ok: u64) -> String {
    words::decimal((ok > 0).then(|| messages as f64 / ok as f64))
}

fn rate(ok: u64, virtual_ms: f64) -> String {
    words::decimal((virtual_ms > 0.0).then(|| ok as f64 / (virtual_ms / 1000.0)))
}

/// A row per seed, a column per entrant: the verdict, linked to the run's report if any.
fn seeds_table(comparison: &Comparison) -> String {
    let mut html = String::from("<table>\n<thead><tr><th class=\"num\">seed</th>");
    for entrant in &comparison.entrants {
        let _ = write!(html, "<th>{}</th>", escape(&entrant.label));
    }
    html.push_str("</tr></thead>\n<tbody>\n");
    for seed in &comparison.seeds {
        let _ = write!(html, "<tr><td class=\"num\">{seed}</td>");
        for entrant in &comparison.entrants {
            html.push_str("<td>");
            if let Some(run) = entrant.runs.iter().find(|run| run.seed == *seed) {
                html.push_str(&verdict_cell(run));
            }
            html.push_str("</td>");
        }
        html.push_str("</tr>\n");
    }
    html.push_str("</tbody>\n</table>\n");
    html
}

fn verdict_cell(run: &RunOutcome) -> String {
    let mut cell = html::verdict_badge(&run.verdict);
    if let Some(expect) = run.expect.as_ref().filter(|expect| **expect != run.verdict) {
        let _ = write!(cell, " expected {}", escape(expect));
    }
    if let Some(link) = &run.link {
        let _ = write!(cell, " <a href=\"{}\">report</a>", escape(link));
    }
    cell
}
