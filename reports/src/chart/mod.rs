//! Plot primitives on plotters' bitmap backend, shared by the run and comparison reports:
//! points over time, lines, and grouped bars. Each plot has a bold title, ticked and
//! labelled axes, and a legend in a strip below the axes (so it never hides data). Time
//! plots can show periods (the faults): the time when any is in force is shaded, and each
//! period is a bar in a strip of lanes above the data. All text is drawn with
//! `font::Label`, so the same input gives the same PNG bytes on any machine. Every PNG is
//! `WIDTH` x `HEIGHT` pixels.

mod bands;
mod frame;

use std::io;
use std::iter::once;
use std::ops::Range;
use std::path::Path;

use plotters::coord::ranged1d::{KeyPointHint, NoDefaultFormatting, Ranged};
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;

use crate::font::{text_width, Anchor, Label};

pub const WIDTH: u32 = 960;
pub const HEIGHT: u32 = 540;

/// Operation outcomes, and a categorical palette (Tableau 10) for series in order.
pub const OK_COLOR: RGBColor = RGBColor(0x4e, 0x79, 0xa7);
pub const FAIL_COLOR: RGBColor = RGBColor(0xe1, 0x57, 0x59);
pub const INFO_COLOR: RGBColor = RGBColor(0xf2, 0x8e, 0x2b);
pub const GREY: RGBColor = RGBColor(0x9a, 0x9a, 0x9a);
pub const PALETTE: [RGBColor; 10] = [
    RGBColor(0x4e, 0x79, 0xa7),
    RGBColor(0xf2, 0x8e, 0x2b),
    RGBColor(0x59, 0xa1, 0x4f),
    RGBColor(0xe1, 0x57, 0x59),
    RGBColor(0x76, 0xb7, 0xb2),
    RGBColor(0xb0, 0x7a, 0xa1),
    RGBColor(0xed, 0xc9, 0x48),
    RGBColor(0x9c, 0x75, 0x5f),
    RGBColor(0xff, 0x9d, 0xa7),
    RGBColor(0xba, 0xb0, 0xac),
];

/// Title and axis descriptions of one plot.
pub struct Axes<'a> {
    pub title: &'a str,
    pub x: &'a str,
    pub y: &'a str,
}

/// A time or value plot: axes, ranges (in data units), periods and vertical marks.
pub struct Plot<'a> {
    pub axes: Axes<'a>,
    pub x: Range<f64>,
    pub x_scale: Scale,
    pub y: Range<f64>,
    pub bands: Bands,
    pub marks: Vec<Mark>,
}

impl Plot<'_> {
    /// Where `x` (in data units) goes on the x axis.
    fn axis_x(&self, x: f64) -> f64 {
        match self.x_scale {
            Scale::Linear => x,
            Scale::Log => x.max(self.x.start).log10(),
        }
    }
}

/// How the x axis maps values: linearly, or by powers of ten (a latency with a long tail).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Scale {
    #[default]
    Linear,
    Log,
}

impl Scale {
    /// A log scale when the positive `values` span more than a factor of 30, else a linear
    /// one; with the x range that shows them.
    pub fn for_spread(values: &[f64]) -> (Scale, Range<f64>) {
        let low = values.iter().copied().filter(|value| *value > 0.0).fold(f64::INFINITY, f64::min);
        let high = values.iter().copied().fold(0.0, f64::max);
        match high / low > 30.0 {
            true => (Scale::Log, 10f64.powf(low.log10().floor())..high * 1.15),
            false => (Scale::Linear, 0.0..nice_top(high)),
        }
    }
}

/// A named, coloured set of points.
pub struct Series {
    pub name: String,
    pub color: RGBColor,
    pub points: Vec<(f64, f64)>,
}

/// How the points of a scatter series are drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Marker {
    Dot,
    Triangle,
}

/// Periods to show (fault periods), each of a kind with a name and a colour.
#[derive(Default)]
pub struct Bands {
    pub kinds: Vec<(String, RGBColor)>,
    pub bands: Vec<Band>,
}

/// One period; `start == end` is an instant (a clock jump, say).
pub struct Band {
    pub start: f64,
    pub end: f64,
    pub kind: usize,
    pub label: String,
}

/// A labelled vertical line (a quantile on a CDF, say).
pub struct Mark {
    pub x: f64,
    pub label: String,
    pub color: RGBColor,
    /// Label it just above the x axis rather than below the top: where a rising curve (a
    /// CDF right of its own quantile) never is.
    pub low: bool,
}

/// Bars for several groups: one colour per series, one cluster per group.
pub struct BarChart<'a> {
    pub axes: Axes<'a>,
    pub groups: Vec<String>,
    pub series: Vec<BarSeries>,
    /// Formats the value printed above each bar.
    pub format: fn(f64) -> String,
}

pub struct BarSeries {
    pub name: String,
    pub color: RGBColor,
    /// One value per group.
    pub values: Vec<f64>,
}

/// Draws `series` as points, with `plot`'s periods, into the PNG at `path`.
pub fn scatter(path: &Path, plot: &Plot, series: &[(Series, Marker)]) -> io::Result<()> {
    let mut legend: Vec<LegendEntry> = series.iter().map(|(s, marker)| (s.name.clone(), s.color, *marker)).collect();
    legend.extend(bands::legend(&plot.bands));
    draw_png(path, plot.axes.title, &legend, |area| {
        let mut chart = frame::time_chart(area, plot)?;
        for (series, marker) in series {
            let style = series.color.mix(0.8).filled();
            let points = series.points.iter().map(|&(x, y)| (plot.axis_x(x), y));
            match marker {
                Marker::Dot => chart.draw_series(points.map(|p| Circle::new(p, 3, style))),
                Marker::Triangle => chart.draw_series(points.map(|p| TriangleMarker::new(p, 6, style))),
            }
            .map_err(error)?;
        }
        draw_marks(&mut chart, plot)
    })
}

/// Draws `series` as lines, with `plot`'s periods and marks, into the PNG at `path`.
pub fn lines(path: &Path, plot: &Plot, series: &[Series]) -> io::Result<()> {
    let mut legend: Vec<LegendEntry> = series.iter().map(|s| (s.name.clone(), s.color, Marker::Dot)).collect();
    legend.extend(bands::legend(&plot.bands));
    draw_png(path, plot.axes.title, &legend, |area| {
        let mut chart = frame::time_chart(area, plot)?;
        for series in series {
            let style = series.color.stroke_width(2);
            let points = series.points.iter().map(|&(x, y)| (plot.axis_x(x), y));
            chart.draw_series(LineSeries::new(points, style)).map_err(error)?;
        }
        draw_marks(&mut chart, plot)
    })
}

/// Draws a grouped bar chart into the PNG at `path`, each bar labelled with its value.
pub fn bars(path: &Path, bars: &BarChart) -> io::Result<()> {
    let legend: Vec<LegendEntry> = bars.series.iter().map(|s| (s.name.clone(), s.color, Marker::Dot)).collect();
    draw_png(path, bars.axes.title, &legend, |area| {
        let mut chart = frame::bar_chart(area, bars)?;
        draw_bars(&mut chart, bars)
    })
}

/// Formats an axis tick: no trailing noise, at most three significant decimals.
pub fn tick(value: f64) -> String {
    let magnitude = value.abs();
    let decimals = match magnitude {
        m if m >= 100.0 || m == 0.0 => 0,
        m if m >= 10.0 => 1,
        m if m >= 1.0 => 2,
        _ => 3,
    };
    let text = format!("{value:.decimals$}");
    match text.contains('.') {
        true => text.trim_end_matches('0').trim_end_matches('.').to_string(),
        false => text,
    }
}

/// The smallest round step (1, 2 or 5 times a power of ten) at least `rough`.
pub fn nice_step(rough: f64) -> f64 {
    let rough = if rough > 0.0 && rough.is_finite() { rough } else { 1.0 };
    let power = 10f64.powf(rough.log10().floor());
    [1.0, 2.0, 5.0, 10.0].iter().map(|step| step * power).find(|step| *step >= rough).unwrap_or(10.0 * power)
}

/// A round upper bound a little above `value` for a value axis.
pub fn nice_top(value: f64) -> f64 {
    if value <= 0.0 || !value.is_finite() {
        return 1.0;
    }
    let padded = value * 1.08;
    let power = 10f64.powf(padded.log10().floor());
    let steps = [1.0, 1.2, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0];
    steps.iter().map(|step| step * power).find(|top| *top >= padded).unwrap_or(10.0 * power)
}

/// `color` as a CSS hex colour.
pub fn hex(color: RGBColor) -> String {
    format!("#{:02x}{:02x}{:02x}", color.0, color.1, color.2)
}

type Area<'a> = DrawingArea<BitMapBackend<'a>, Shift>;
type LegendEntry = (String, RGBColor, Marker);
type Chart<'a, X> = ChartContext<'a, BitMapBackend<'a>, Cartesian2d<X, RangedCoordf64>>;

const LEGEND_ROW: u32 = 24;
const LEGEND_SIZE: f32 = 15.0;

/// Creates the PNG with its title, lays out the plot area above the legend strip, calls
/// `draw` on the plot area, draws the legend and writes the file.
fn draw_png(
    path: &Path,
    title: &str,
    legend: &[LegendEntry],
    draw: impl FnOnce(&Area) -> io::Result<()>,
) -> io::Result<()> {
    let root = BitMapBackend::new(path, (WIDTH, HEIGHT)).into_drawing_area();
    root.fill(&WHITE).map_err(error)?;
    let title = Label::new((WIDTH as i32 / 2, 22), title, 22.0).anchor(Anchor::Middle).bold();
    root.draw(&title).map_err(error)?;
    let rows = legend_rows(legend);
    let strip = if rows.is_empty() { 0 } else { 8 + LEGEND_ROW * rows.len() as u32 };
    let (plot, legend_area) = root.split_vertically(HEIGHT - strip);
    draw(&plot)?;
    draw_legend(&legend_area, &rows)?;
    root.present().map_err(|error| io::Error::other(format!("{}: {error}", path.display())))
}

fn draw_marks(chart: &mut Chart<RangedCoordf64>, plot: &Plot) -> io::Result<()> {
    let Range { start: bottom, end: top } = chart.y_range();
    for (index, mark) in plot.marks.iter().enumerate() {
        let x = plot.axis_x(mark.x);
        let line = PathElement::new(vec![(x, bottom), (x, top)], mark.color.stroke_width(1));
        chart.draw_series(once(line)).map_err(error)?;
        // A mark in the right third of the plot has its label on its left, inside the plot.
        let right_third = x > plot.axis_x(plot.x.start) + (plot.axis_x(plot.x.end) - plot.axis_x(plot.x.start)) * 0.67;
        // Labelled inside the data: below the lanes of periods drawn above it, or in rows
        // just above the x axis, the first mark's row highest.
        let (y, dy) = match mark.low {
            true => (plot.y.start.max(bottom), -18 - 18 * (plot.marks.len() - 1 - index) as i32),
            false => (plot.y.end.min(top), 28 + 18 * index as i32),
        };
        let label = Label::new((x, y), mark.label.clone(), 14.0).color(mark.color);
        let label = match right_third {
            true => label.anchor(Anchor::End).offset(-5, dy),
            false => label.offset(5, dy),
        };
        chart.draw_series(once(label)).map_err(error)?;
    }
    Ok(())
}

fn draw_bars(chart: &mut Chart<GroupAxis>, bars: &BarChart) -> io::Result<()> {
    let count = bars.series.len().max(1) as f64;
    let width = 0.8 / count;
    // A value is printed above its bar if it fits in the bar's width and the next bar's gap.
    let room = (chart.backend_coord(&(width, 0.0)).0 - chart.backend_coord(&(0.0, 0.0)).0) as f32 + 2.0;
    for (index, series) in bars.series.iter().enumerate() {
        for (group, &value) in series.values.iter().enumerate() {
            let left = group as f64 + 0.1 + width * index as f64;
            let corners = [(left + width * 0.06, 0.0), (left + width * 0.94, value)];
            chart.draw_series(once(Rectangle::new(corners, series.color.filled()))).map_err(error)?;
            let text = (bars.format)(value);
            let size = [12.0, 10.0].into_iter().find(|size| text_width(&text, *size, false) <= room);
            if let Some(size) = size.filter(|_| value != 0.0) {
                let label = Label::new((left + width * 0.5, value), text, size).anchor(Anchor::Middle);
                chart.draw_series(once(label.offset(0, -9))).map_err(error)?;
            }
        }
    }
    Ok(())
}

/// Splits the legend entries into rows that fit the width, with each entry's x position.
fn legend_rows(legend: &[LegendEntry]) -> Vec<Vec<(i32, LegendEntry)>> {
    let mut rows: Vec<Vec<(i32, LegendEntry)>> = Vec::new();
    let mut x = 0;
    for entry in legend {
        let width = 22 + text_width(&entry.0, LEGEND_SIZE, false).ceil() as i32 + 26;
        if rows.is_empty() || x + width > WIDTH as i32 - 20 {
            rows.push(Vec::new());
            x = 90;
        }
        rows.last_mut().expect("a row was pushed").push((x, entry.clone()));
        x += width;
    }
    rows
}

fn draw_legend(area: &Area, rows: &[Vec<(i32, LegendEntry)>]) -> io::Result<()> {
    for (row, entries) in rows.iter().enumerate() {
        let y = 2 + (LEGEND_ROW * row as u32) as i32;
        for (x, (name, color, marker)) in entries {
            match marker {
                Marker::Dot => area.draw(&Rectangle::new([(*x, y + 2), (x + 14, y + 16)], color.filled())),
                Marker::Triangle => area.draw(&TriangleMarker::new((x + 7, y + 10), 7, color.filled())),
            }
            .map_err(error)?;
            area.draw(&Label::new((x + 22, y + 9), name.clone(), LEGEND_SIZE)).map_err(error)?;
        }
    }
    Ok(())
}

fn error(error: impl std::fmt::Display) -> io::Error {
    io::Error::other(format!("plot: {error}"))
}

/// A categorical x axis: group `i` spans `[i, i + 1)` and is labelled at its centre.
#[derive(Clone)]
struct GroupAxis {
    groups: usize,
}

impl Ranged for GroupAxis {
    type FormatOption = NoDefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        let span = f64::from(limit.1 - limit.0);
        limit.0 + (value / self.groups.max(1) as f64 * span).round() as i32
    }

    fn key_points<Hint: KeyPointHint>(&self, _hint: Hint) -> Vec<f64> {
        (0..self.groups).map(|group| group as f64 + 0.5).collect()
    }

    fn range(&self) -> Range<f64> {
        0.0..self.groups.max(1) as f64
    }
}
