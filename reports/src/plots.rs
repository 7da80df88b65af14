//! The PNG plots of one run, drawn from its tables: the latency of every operation over
//! time, latency quantiles over time, the latency distribution, latency by kind of
//! operation, throughput over time, and messages by type. Time plots shade the periods
//! during which faults were in force, coloured by kind of fault, mark the violation with a
//! red line, and count time in seconds once a run is longer than `SECONDS_FROM_MS`. Each
//! plot caps what it draws (points, CDF steps) and says so in its caption when the cap is
//! hit.

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

/// Time plots of runs longer than this many milliseconds count time in seconds.
pub const SECONDS_FROM_MS: f64 = 20_000.0;

/// Writes every plot of `data` into `out`; returns them in report order.
pub fn render(data: &RunData, out: &Path) -> io::Result<Vec<Figure>> {
    Ok(vec![
        latency_over_time(data, out)?,
        latency_quantiles_over_time(data, out)?,
        latency_distribution(data, out)?,
        latency_by_kind(data, out)?,
        throughput(data, out)?,
        messages_by_type(data, out)?,
    ])
}

/// The unit of a time axis: milliseconds, or seconds for a long run.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TimeUnit {
    /// Milliseconds per unit.
    pub ms: f64,
    /// The axis description.
    pub axis: &'static str,
}

impl TimeUnit {
    /// Seconds when the axis runs past `SECONDS_FROM_MS`, else milliseconds.
    pub fn for_end(end_ms: f64) -> TimeUnit {
        match end_ms > SECONDS_FROM_MS {
            true => TimeUnit { ms: 1000.0, axis: "virtual time (s)" },
            false => TimeUnit { ms: 1.0, axis: "virtual time (ms)" },
        }
    }

    /// `ms` in this unit.
    pub fn of(self, ms: f64) -> f64 {
        ms / self.ms
    }
}

/// The red line that marks the violation on a time plot, if the run has one.
fn violation_mark(data: &RunData, unit: TimeUnit) -> Vec<Mark> {
    let first = data.summary.violations.first().filter(|_| data.failed());
    first
        .map(|violation| Mark {
            x: unit.of(violation.time_ms),
            label: format!("{} ({})", violation.invariant, data.summary.verdict),
            color: chart::FAIL_COLOR,
            low: false,
        })
        .into_iter()
        .collect()
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

/// The fault periods of `spans` as bands for a time plot in `unit`.
pub fn fault_bands(spans: &[FaultSpan], unit: TimeUnit) -> Bands {
    let band = |span: &FaultSpan| Band {
        start: unit.of(span.start_ms),
        end: unit.of(span.end_ms),
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
    let unit = TimeUnit::for_end(data.end_ms());
    let timed = |op: &HistoryRow| op.latency_ms.map(|latency| (unit.of(op.invoked_ms), latency));
    let no_reply: Vec<(f64, f64)> =
        of("info").filter(|op| op.latency_ms.is_none()).map(|op| (unit.of(op.invoked_ms), top * 0.97)).collect();
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
    let x = if unit.ms == 1.0 { "invoked at (virtual ms)" } else { "invoked at (virtual s)" };
    let plot = Plot {
        axes: Axes { title, x, y: "latency (ms)" },
        x: 0.0..unit.of(data.end_ms()),
        x_scale: Scale::Linear,
        y: 0.0..top,
        bands: fault_bands(&data.fault_spans(), unit),
        marks: violation_mark(data, unit),
    };
    let file = "latency.png";
    chart::scatter(&out.join(file), &plot, &all)?;
    let mut caption = String::from(
        "One point per operation: when it was invoked, and how long it took to complete. \
         Operations with no reply by the end of the run are drawn at the top. Shaded: fault periods; a red \
         line: the violation.",
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
    let quantiles = Latency::of(latencies.clone()).unwrap_or_default();
    let (x_scale, x) = Scale::for_spread(&latencies);
    let marks = [("p50", quantiles.p50), ("p95", quantiles.p95), ("p99", quantiles.p99)]
        .into_iter()
        .map(|(name, x)| Mark { x, label: format!("{name} {}", chart::tick(x)), color: chart::GREY, low: true })
        .collect();
    let series = Series {
        name: format!("ok operations ({})", latencies.len()),
        color: chart::OK_COLOR,
        points: cdf(&latencies),
    };
    let plot = Plot {
        axes: Axes { title, x: "latency (ms)", y: "share done within this latency" },
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
    let unit = TimeUnit::for_end(end);
    let width = bin_width(end, data.history.len());
    let completed =
        |kind: &'static str| data.history.iter().filter(move |op| op.kind == kind).filter_map(|op| op.completed_ms);
    let in_unit = |points: Vec<(f64, f64)>| points.into_iter().map(|(x, y)| (unit.of(x), y)).collect::<Vec<_>>();
    let ok = in_unit(rate_series(completed("ok"), width, end));
    let fail = in_unit(rate_series(completed("fail"), width, end));
    let invoked = in_unit(rate_series(data.history.iter().map(|op| op.invoked_ms), width, end));
    let top = chart::nice_top(ok.iter().chain(&invoked).chain(&fail).map(|point| point.1).fold(0.0, f64::max));
    let mut series = vec![
        Series { name: "invoked".into(), color: chart::GREY, points: invoked },
        Series { name: "completed ok".into(), color: chart::OK_COLOR, points: ok },
    ];
    if data.history.iter().any(|op| op.kind == "fail") {
        series.push(Series { name: "answered fail".into(), color: chart::FAIL_COLOR, points: fail });
    }
    let plot = Plot {
        axes: Axes { title, x: unit.axis, y: "operations per second" },
        x: 0.0..unit.of(end),
        x_scale: Scale::Linear,
        y: 0.0..top,
        bands: fault_bands(&data.fault_spans(), unit),
        marks: violation_mark(data, unit),
    };
    let file = "throughput.png";
    chart::lines(&out.join(file), &plot, &series)?;
    let caption = format!(
        "Operations invoked, completed ok, and answered with a definite fail, per second of virtual time, \
         counted in bins of {} ms. Shaded: fault periods; a red line: the violation.",
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
    let (groups, series) = message_bars(data);
    let bars = BarChart {
        axes: Axes { title, x: "message type", y: "messages" },
        groups,
        series,
        format: |value| format!("{value:.0}"),
    };
    chart::bars(&out.join(file), &bars)?;
    let copies = data.messages.iter().filter(|message| message.duplicate).count();
    let caption = format!(
        "Messages the nodes sent, by type and by what became of them: delivered, dropped (lost, blocked by a \
         partition, or sent to a crashed node), or still in flight at the end. These are the counts of the \
         summary; the {copies} extra copies the network made by duplication are not counted."
    );
    Ok(Figure { file: file.into(), title: title.into(), caption })
}

/// The groups (message types) and series of the messages plot: sent by the nodes, network
/// copies left out, so that they add up to the summary's counts.
pub fn message_bars(data: &RunData) -> (Vec<String>, Vec<BarSeries>) {
    match data.messages.is_empty() {
        true => sent_by_type(data),
        false => fates_by_type(data),
    }
}

fn fates_by_type(data: &RunData) -> (Vec<String>, Vec<BarSeries>) {
    let mut counts: BTreeMap<&str, [f64; 3]> = BTreeMap::new();
    for message in data.messages.iter().filter(|message| !message.duplicate) {
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

fn latency_quantiles_over_time(data: &RunData, out: &Path) -> io::Result<Figure> {
    let title = "Latency quantiles over time";
    let end = data.end_ms();
    let unit = TimeUnit::for_end(end);
    let ok: Vec<&HistoryRow> = data.history.iter().filter(|op| op.kind == "ok" && op.latency_ms.is_some()).collect();
    let width = bin_width(end, ok.len() / 4);
    let bins = (end / width).ceil().max(1.0) as usize;
    let mut samples = vec![Vec::new(); bins];
    for op in &ok {
        let bin = ((op.invoked_ms / width) as usize).min(bins - 1);
        samples[bin].push(op.latency_ms.unwrap_or_default());
    }
    let quantiles: Vec<Option<Latency>> = samples.into_iter().map(Latency::of).collect();
    let line = |pick: fn(&Latency) -> f64| -> Vec<(f64, f64)> {
        let steps = quantiles.iter().enumerate().filter_map(|(bin, latency)| {
            let value = pick(latency.as_ref()?);
            Some([(unit.of(bin as f64 * width), value), (unit.of((bin + 1) as f64 * width), value)])
        });
        steps.flatten().collect()
    };
    let series = [
        Series { name: "p50".into(), color: chart::OK_COLOR, points: line(|l| l.p50) },
        Series { name: "p95".into(), color: chart::INFO_COLOR, points: line(|l| l.p95) },
        Series { name: "p99".into(), color: chart::FAIL_COLOR, points: line(|l| l.p99) },
    ];
    let top = chart::nice_top(series.iter().flat_map(|s| s.points.iter().map(|p| p.1)).fold(0.0, f64::max));
    let plot = Plot {
        axes: Axes {
            title,
            x: if unit.ms == 1.0 { "invoked at (virtual ms)" } else { "invoked at (virtual s)" },
            y: "latency (ms)",
        },
        x: 0.0..unit.of(end),
        x_scale: Scale::Linear,
        y: 0.0..top,
        bands: fault_bands(&data.fault_spans(), unit),
        marks: violation_mark(data, unit),
    };
    let file = "latency-quantiles.png";
    chart::lines(&out.join(file), &plot, &series)?;
    let caption = format!(
        "The nearest-rank p50, p95 and p99 latency of the ok operations invoked in each bin of {} ms (a gap: no \
         ok operation in that bin). Shaded: fault periods; a red line: the violation.",
        chart::tick(width)
    );
    Ok(Figure { file: file.into(), title: title.into(), caption })
}

fn latency_by_kind(data: &RunData, out: &Path) -> io::Result<Figure> {
    let title = "Latency by kind of operation";
    let mut by_kind: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    for op in data.history.iter().filter(|op| op.kind == "ok") {
        by_kind.entry(op.f.as_str()).or_default().extend(op.latency_ms);
    }
    let kinds: Vec<(String, Latency, usize)> = by_kind
        .into_iter()
        .filter_map(|(kind, samples)| {
            let count = samples.len();
            Some((kind.to_string(), Latency::of(samples)?, count))
        })
        .collect();
    let quantile = |name: &str, color, pick: fn(&Latency) -> f64| BarSeries {
        name: name.to_string(),
        color,
        values: kinds.iter().map(|(_, latency, _)| pick(latency)).collect(),
    };
    let bars = BarChart {
        axes: Axes { title, x: "kind of operation (ok operations)", y: "latency (ms)" },
        groups: kinds.iter().map(|(kind, _, count)| format!("{kind} ({count})")).collect(),
        series: vec![
            quantile("p50", chart::OK_COLOR, |l| l.p50),
            quantile("p95", chart::INFO_COLOR, |l| l.p95),
            quantile("p99", chart::FAIL_COLOR, |l| l.p99),
        ],
        format: chart::tick,
    };
    let file = "latency-by-kind.png";
    chart::bars(&out.join(file), &bars)?;
    let caption = match kinds.is_empty() {
        true => "No operation completed ok, so there is no latency to show.".to_string(),
        false => "The nearest-rank p50, p95 and p99 latency of each kind of operation that completed ok (with how \
                  many did)."
            .to_string(),
    };
    Ok(Figure { file: file.into(), title: title.into(), caption })
}

/// Keeps every k-th point so that at most `MAX_POINTS` remain; says whether it thinned.
fn thin_out(points: Vec<(f64, f64)>) -> (Vec<(f64, f64)>, bool) {
    if points.len() <= MAX_POINTS {
        return (points, false);
    }
    let stride = points.len().div_ceil(MAX_POINTS);
    (points.into_iter().step_by(stride).collect(), true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_runs_count_time_in_seconds() {
        assert_eq!(TimeUnit::for_end(4_000.0).axis, "virtual time (ms)");
        let long = TimeUnit::for_end(20_000_000.0);
        assert_eq!((long.axis, long.of(20_000_000.0)), ("virtual time (s)", 20_000.0));
    }
}
