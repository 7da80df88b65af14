//! The PNG plots of one run, drawn from its tables: the latency of every operation over
//! time and the latency distribution, throughput over time, and messages by type. Time
//! plots shade the periods during which faults were in force, coloured by kind of fault.
//! Each plot caps what it draws (points, CDF steps) and says so in its caption when the cap
//! is hit.

use std::collections::BTreeMap;
use std::io;
use std::path::Path;

use plotters::style::RGBColor;

use crate::chart::{self, Axes, Band, Bands, BarChart, BarSeries, Mark, Marker, Plot, Scale, Series};
use crate::run_data::{FaultSpan, RunData};
use crate::{HistoryRow, Latency};

/// One plot written into the report directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Figure {
    /// The PNG's file name, relative to the report directory.
    pub file: String,
    pub title: String,
    /// What the plot shows, for the HTML page.
    pub caption: String,
}

/// Kinds of fault, for shading: a label and a colour each.
pub const FAULT_KINDS: [(&str, RGBColor); 4] = [
    ("network fault", RGBColor(0x8c, 0x8c, 0xb4)),
    ("crash", RGBColor(0xd6, 0x4b, 0x4b)),
    ("pause", RGBColor(0xd9, 0xa4, 0x1c)),
    ("clock jump", RGBColor(0x9b, 0x59, 0xb6)),
];

/// Points per scatter series and steps per CDF drawn at most; more are thinned evenly.
pub const MAX_POINTS: usize = 20_000;

/// Writes every plot of `data` into `out`; returns them in report order.
pub fn render(data: &RunData, out: &Path) -> io::Result<Vec<Figure>> {
    Ok(vec![
        latency_over_time(data, out)?,
        latency_distribution(data, out)?,
        throughput(data, out)?,
        messages_by_type(data, out)?,
    ])
}

/// The index into `FAULT_KINDS` of a fault as `faults.csv` names it.
pub fn fault_kind(fault: &str) -> usize {
    match fault.split_whitespace().next().unwrap_or("") {
        "crash" => 1,
        "pause" => 2,
        "clock" => 3,
        _ => 0,
    }
}

/// The fault periods of `spans` as bands for a time plot.
pub fn fault_bands(spans: &[FaultSpan]) -> Bands {
    let band = |span: &FaultSpan| Band {
        start: span.start_ms,
        end: span.end_ms,
        kind: fault_kind(&span.fault),
        label: span.fault.chars().take(40).collect(),
    };
    Bands {
        kinds: FAULT_KINDS.iter().map(|(name, color)| (name.to_string(), *color)).collect(),
        bands: spans.iter().map(band).collect(),
    }
}

fn latency_over_time(data: &RunData, out: &Path) -> io::Result<Figure> {
    let title = "Latency of every operation";
    let of = |kind: &'static str| data.history.iter().filter(move |op| op.kind == kind);
    let top = chart::nice_top(data.history.iter().filter_map(|op| op.latency_ms).fold(0.0, f64::max));
    let timed = |op: &HistoryRow| op.latency_ms.map(|latency| (op.invoked_ms, latency));
    let no_reply: Vec<(f64, f64)> =
        of("info").filter(|op| op.latency_ms.is_none()).map(|op| (op.invoked_ms, top * 0.97)).collect();
    let mut thinned = false;
    let mut series = |name: &str, color, points: Vec<(f64, f64)>, marker| {
        let name = format!("{name} ({})", points.len());
        let (points, thin) = thin_out(points);
        thinned |= thin;
        (Series { name, color, points }, marker)
    };
    let all = [
        series("ok", chart::OK_COLOR, of("ok").filter_map(timed).collect(), Marker::Dot),
        series("fail", chart::FAIL_COLOR, of("fail").filter_map(timed).collect(), Marker::Dot),
        series("info", chart::INFO_COLOR, of("info").filter_map(timed).collect(), Marker::Dot),
        series("info, no reply by the end", chart::INFO_COLOR, no_reply, Marker::Triangle),
    ];
    let plot = Plot {
        axes: Axes { title, x: "invoked at (virtual ms)", y: "latency (ms)" },
        x: 0.0..data.end_ms(),
        x_scale: Scale::Linear,
        y: 0.0..top,
        bands: fault_bands(&data.fault_spans()),
        marks: Vec::new(),
    };
    let file = "latency.png";
    chart::scatter(&out.join(file), &plot, &all)?;
    let mut caption = String::from(
        "One point per operation: when it was invoked, and how long it took to complete. \
         Operations with no reply by the end of the run are drawn at the top. Shaded: fault periods.",
    );
    if thinned {
        caption.push_str(&format!(" Series over {MAX_POINTS} points are thinned evenly."));
    }
    Ok(Figure { file: file.into(), title: title.into(), caption })
}

fn latency_distribution(data: &RunData, out: &Path) -> io::Result<Figure> {
    let title = "Latency distribution of ok operations";
    let mut latencies = data.ok_latencies();
    latencies.sort_by(f64::total_cmp);
    let quantiles = Latency::of(latencies.clone());
    let (x_scale, x) = Scale::for_spread(&latencies);
    let marks = [("p50", quantiles.p50), ("p95", quantiles.p95), ("p99", quantiles.p99)]
        .into_iter()
        .map(|(name, x)| Mark { x, label: format!("{name} {}", chart::tick(x)), color: chart::GREY })
        .collect();
    let series = Series {
        name: format!("ok operations ({})", latencies.len()),
        color: chart::OK_COLOR,
        points: cdf(&latencies),
    };
    let plot = Plot {
        axes: Axes { title, x: "latency (ms)", y: "share of ok operations at most this fast" },
        x,
        x_scale,
        y: 0.0..1.0,
        bands: Bands::default(),
        marks: if latencies.is_empty() { Vec::new() } else { marks },
    };
    let file = "latency-cdf.png";
    chart::lines(&out.join(file), &plot, &[series])?;
    let caption = format!(
        "The cumulative distribution of the latency of the operations that completed ok, with the nearest-rank \
         p50, p95 and p99 marked.{}",
        log_note(x_scale)
    );
    Ok(Figure { file: file.into(), title: title.into(), caption })
}

/// What a caption says about a logarithmic x axis.
pub fn log_note(scale: Scale) -> &'static str {
    match scale {
        Scale::Log => " The latency axis is logarithmic: the latencies span more than a factor of 30.",
        Scale::Linear => "",
    }
}

/// A step CDF of sorted `latencies`, at most `MAX_POINTS` steps.
pub fn cdf(latencies: &[f64]) -> Vec<(f64, f64)> {
    let count = latencies.len();
    let stride = count.div_ceil(MAX_POINTS).max(1);
    let mut points = vec![(0.0, 0.0)];
    for index in (0..count).step_by(stride).chain(count.checked_sub(1)) {
        let below = points.last().map_or(0.0, |point| point.1);
        points.push((latencies[index], below));
        points.push((latencies[index], (index + 1) as f64 / count as f64));
    }
    points
}

fn throughput(data: &RunData, out: &Path) -> io::Result<Figure> {
    let title = "Throughput over time";
    let end = data.end_ms();
    let width = bin_width(end, data.history.len());
    let ok = rate_series(data.history.iter().filter(|op| op.kind == "ok").filter_map(|op| op.completed_ms), width, end);
    let invoked = rate_series(data.history.iter().map(|op| op.invoked_ms), width, end);
    let top = chart::nice_top(ok.iter().chain(&invoked).map(|point| point.1).fold(0.0, f64::max));
    let series = [
        Series { name: "invoked".into(), color: chart::GREY, points: invoked },
        Series { name: "completed ok".into(), color: chart::OK_COLOR, points: ok },
    ];
    let plot = Plot {
        axes: Axes { title, x: "virtual time (ms)", y: "operations per second" },
        x: 0.0..end,
        x_scale: Scale::Linear,
        y: 0.0..top,
        bands: fault_bands(&data.fault_spans()),
        marks: Vec::new(),
    };
    let file = "throughput.png";
    chart::lines(&out.join(file), &plot, &series)?;
    let caption = format!(
        "Operations invoked, and completed ok, per second of virtual time, counted in bins of {} ms. \
         Shaded: fault periods.",
        chart::tick(width)
    );
    Ok(Figure { file: file.into(), title: title.into(), caption })
}

/// A round bin width that cuts `end_ms` into 10 to 60 bins, with about 5 of the run's
/// `operations` per bin.
pub fn bin_width(end_ms: f64, operations: usize) -> f64 {
    let bins = (operations / 5).clamp(10, 60) as f64;
    chart::nice_step((end_ms / bins).max(0.001))
}

/// Counts `times` in bins of `width` ms over `[0, end)`, as a rate per second: a step line
/// with a flat segment over each bin.
pub fn rate_series(times: impl Iterator<Item = f64>, width: f64, end: f64) -> Vec<(f64, f64)> {
    let bins = (end / width).ceil().max(1.0) as usize;
    let mut counts = vec![0u64; bins];
    for time in times {
        let bin = ((time / width) as usize).min(bins - 1);
        counts[bin] += 1;
    }
    let per_second = 1000.0 / width;
    let steps = counts.iter().enumerate().flat_map(|(bin, count)| {
        let rate = *count as f64 * per_second;
        [(bin as f64 * width, rate), ((bin + 1) as f64 * width, rate)]
    });
    steps.collect()
}

fn messages_by_type(data: &RunData, out: &Path) -> io::Result<Figure> {
    let title = "Messages by type";
    let file = "messages.png";
    let (groups, series) = if data.messages.is_empty() { sent_by_type(data) } else { fates_by_type(data) };
    let bars = BarChart {
        axes: Axes { title, x: "message type", y: "messages" },
        groups,
        series,
        format: |value| format!("{value:.0}"),
    };
    chart::bars(&out.join(file), &bars)?;
    let caption = "Messages sent, by type and by what became of them: delivered, dropped (lost, \
                   blocked by a partition, or sent to a crashed node), or still in flight at the end.";
    Ok(Figure { file: file.into(), title: title.into(), caption: caption.into() })
}

fn fates_by_type(data: &RunData) -> (Vec<String>, Vec<BarSeries>) {
    let mut counts: BTreeMap<&str, [f64; 3]> = BTreeMap::new();
    for message in &data.messages {
        let fate = match message.fate.as_str() {
            "delivered" => 0,
            "in-flight" => 2,
            _ => 1,
        };
        counts.entry(&message.kind).or_default()[fate] += 1.0;
    }
    let fates = [("delivered", chart::OK_COLOR), ("dropped", chart::FAIL_COLOR), ("in flight", chart::GREY)];
    let series = fates
        .iter()
        .enumerate()
        .map(|(index, (name, color))| BarSeries {
            name: name.to_string(),
            color: *color,
            values: counts.values().map(|fates| fates[index]).collect(),
        })
        .filter(|series| series.name == "delivered" || series.values.iter().any(|value| *value > 0.0))
        .collect();
    (counts.keys().map(|kind| kind.to_string()).collect(), series)
}

/// Without the message table (a run recorded counts only): messages sent, from the summary.
fn sent_by_type(data: &RunData) -> (Vec<String>, Vec<BarSeries>) {
    let by_type = &data.summary.figures.messages.by_type;
    let series = BarSeries {
        name: "sent".into(),
        color: chart::OK_COLOR,
        values: by_type.values().map(|n| *n as f64).collect(),
    };
    (by_type.keys().cloned().collect(), vec![series])
}

/// Keeps every k-th point so that at most `MAX_POINTS` remain; says whether it thinned.
fn thin_out(points: Vec<(f64, f64)>) -> (Vec<(f64, f64)>, bool) {
    if points.len() <= MAX_POINTS {
        return (points, false);
    }
    let stride = points.len().div_ceil(MAX_POINTS);
    (points.into_iter().step_by(stride).collect(), true)
}
