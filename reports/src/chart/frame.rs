//! The frame of a plot: the chart area, light grid lines, the axes with their ticks and
//! tick labels, and the axis descriptions. It is drawn here with `font::Label` rather than
//! by plotters' mesh, which would draw its text with plotters' own font renderer.

use std::io;
use std::iter::once;
use std::ops::Range;

use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

use super::{bands, error, nice_step, nice_top, tick, Area, Axes, BarChart, Chart, GroupAxis, Plot, Scale};
use crate::font::{text_width, Anchor, Label};

/// A tick's value and its label.
type Tick = (f64, String);

const TICK_SIZE: f32 = 14.0;
const DESCRIPTION_SIZE: f32 = 16.0;
const AXIS: RGBColor = RGBColor(0x55, 0x5a, 0x66);

/// A chart with numeric axes and `plot`'s periods: shading over the data, and lanes of
/// bars above it.
pub(super) fn time_chart<'a>(area: &Area<'a>, plot: &Plot) -> io::Result<Chart<'a, RangedCoordf64>> {
    debug_assert!(plot.bands.bands.is_empty() || plot.x_scale == Scale::Linear, "periods are drawn on a linear x axis");
    let x = widen(&(plot.axis_x(plot.x.start)..plot.axis_x(plot.x.end)));
    let y = widen(&plot.y);
    let lane_height = (y.end - y.start) * bands::LANE_SHARE;
    let lanes = bands::lane_count(&plot.bands);
    let top = if lanes == 0 { y.end } else { y.end + lane_height * (lanes as f64 + 0.4) };
    let mut chart = builder(area).build_cartesian_2d(x.clone(), y.start..top).map_err(error)?;
    let x_ticks = match plot.x_scale {
        Scale::Linear => numeric_ticks(&x, 10),
        Scale::Log => log_ticks(&x),
    };
    let y_ticks = numeric_ticks(&y, 6);
    draw_grid(&mut chart, &x_ticks, &y_ticks, y.end)?;
    bands::draw(&mut chart, area, &plot.bands, y.end, lane_height)?;
    draw_axes(area, &chart, (&x_ticks, &y_ticks), y.end, &plot.axes)?;
    Ok(chart)
}

/// A chart with one cluster of bars per group along x.
pub(super) fn bar_chart<'a>(area: &Area<'a>, bars: &BarChart) -> io::Result<Chart<'a, GroupAxis>> {
    let highest = bars.series.iter().flat_map(|s| s.values.iter().copied()).fold(0.0, f64::max);
    let top = nice_top(highest);
    let axis = GroupAxis { groups: bars.groups.len() };
    let mut chart = builder(area).build_cartesian_2d(axis, 0.0..top).map_err(error)?;
    let y_ticks = numeric_ticks(&(0.0..top), 6);
    let x_ticks: Vec<Tick> =
        bars.groups.iter().enumerate().map(|(index, name)| (index as f64 + 0.5, name.clone())).collect();
    draw_grid(&mut chart, &[], &y_ticks, top)?;
    draw_axes(area, &chart, (&x_ticks, &y_ticks), top, &bars.axes)?;
    Ok(chart)
}

fn builder<'a, 'b>(area: &'a Area<'b>) -> ChartBuilder<'a, 'b, BitMapBackend<'b>> {
    let mut builder = ChartBuilder::on(area);
    builder.margin_top(44).margin_right(28).margin_left(8).x_label_area_size(80).y_label_area_size(88);
    builder
}

/// An empty range would divide by zero in the coordinate mapping.
fn widen(range: &Range<f64>) -> Range<f64> {
    match range.end > range.start {
        true => range.clone(),
        false => range.start..range.start + 1.0,
    }
}

/// Round ticks over `range`, about `count` of them, with their labels.
fn numeric_ticks(range: &Range<f64>, count: u32) -> Vec<Tick> {
    let step = nice_step((range.end - range.start) / f64::from(count));
    let first = (range.start / step).ceil() as i64;
    let last = (range.end / step + 1e-9).floor() as i64;
    (first..=last).map(|k| k as f64 * step).map(|value| (value, tick(value))).collect()
}

/// Ticks at 1, 2 and 5 times each power of ten in `range` (of base-10 logarithms), or
/// only at the powers when that would be too many.
fn log_ticks(range: &Range<f64>) -> Vec<Tick> {
    let powers = range.start.floor() as i32..=range.end.ceil() as i32;
    let steps: &[f64] = if range.end - range.start > 4.0 { &[1.0] } else { &[1.0, 2.0, 5.0] };
    let values = powers.flat_map(|power| steps.iter().map(move |step| step * 10f64.powi(power)));
    let inside = values.filter(|value| range.contains(&value.log10()));
    inside.map(|value| (value.log10(), tick(value))).collect()
}

fn draw_grid<X: Ranged<ValueType = f64>>(
    chart: &mut Chart<X>,
    x_ticks: &[Tick],
    y_ticks: &[Tick],
    data_top: f64,
) -> io::Result<()> {
    let (x, y) = (chart.x_range(), chart.y_range());
    let style = BLACK.mix(0.08).stroke_width(1);
    for (value, _) in x_ticks {
        let line = PathElement::new(vec![(*value, y.start), (*value, data_top)], style);
        chart.draw_series(once(line)).map_err(error)?;
    }
    for (value, _) in y_ticks {
        chart.draw_series(once(PathElement::new(vec![(x.start, *value), (x.end, *value)], style))).map_err(error)?;
    }
    Ok(())
}

/// The x axis along the bottom and the y axis up to `data_top`, ticked and labelled.
fn draw_axes<X: Ranged<ValueType = f64>>(
    area: &Area,
    chart: &Chart<X>,
    (x_ticks, y_ticks): (&[Tick], &[Tick]),
    data_top: f64,
    axes: &Axes,
) -> io::Result<()> {
    let (pixels_x, pixels_y) = chart.plotting_area().get_pixel_range();
    let (left, bottom) = (pixels_x.start, pixels_y.end - 1);
    let top = chart.backend_coord(&(chart.x_range().start, data_top)).1;
    let axis = AXIS.stroke_width(1);
    area.draw(&PathElement::new(vec![(left, bottom), (pixels_x.end, bottom)], axis)).map_err(error)?;
    area.draw(&PathElement::new(vec![(left, top), (left, bottom)], axis)).map_err(error)?;
    // Labels too long for their room alternate between two or three rows, which doubles or
    // triples the room.
    let room = (pixels_x.end - left) as f32 / x_ticks.len().max(1) as f32 - 6.0;
    let fits = |rows: f32| x_ticks.iter().all(|(_, text)| text_width(text, 12.0, false) <= rows * room);
    let rows = [1usize, 2, 3].into_iter().find(|rows| fits(*rows as f32)).unwrap_or(3);
    let room = room * rows as f32;
    for (index, (value, text)) in x_ticks.iter().enumerate() {
        let x = chart.backend_coord(&(*value, chart.y_range().start)).0;
        let row = 15 * (index % rows) as i32;
        area.draw(&PathElement::new(vec![(x, bottom), (x, bottom + 5 + row)], axis)).map_err(error)?;
        let (text, size) = fit(text, room);
        area.draw(&Label::new((x, bottom + 17 + row), text, size).anchor(Anchor::Middle)).map_err(error)?;
    }
    for (value, text) in y_ticks {
        let y = chart.backend_coord(&(chart.x_range().start, *value)).1;
        area.draw(&PathElement::new(vec![(left - 5, y), (left, y)], axis)).map_err(error)?;
        area.draw(&Label::new((left - 9, y), text.clone(), TICK_SIZE).anchor(Anchor::End)).map_err(error)?;
    }
    // Below the last row of staggered labels, clear of their descenders.
    let below = 42 + 16 * (rows as i32 - 1);
    let x_description = Label::new(((left + pixels_x.end) / 2, bottom + below), axes.x, DESCRIPTION_SIZE);
    area.draw(&x_description.anchor(Anchor::Middle)).map_err(error)?;
    let y_description = Label::new((left - 68, (top + bottom) / 2), axes.y, DESCRIPTION_SIZE);
    area.draw(&y_description.anchor(Anchor::Middle).upwards()).map_err(error)
}

/// `text` at the tick size, or smaller, or cut short with an ellipsis, to fit `width` pixels.
fn fit(text: &str, width: f32) -> (String, f32) {
    for size in [TICK_SIZE, 12.0, 10.5] {
        if text_width(text, size, false) <= width {
            return (text.to_string(), size);
        }
    }
    let mut cut: String = text.to_string();
    while !cut.is_empty() && text_width(&format!("{cut}\u{2026}"), 10.5, false) > width {
        cut.pop();
    }
    (format!("{cut}\u{2026}"), 10.5)
}
