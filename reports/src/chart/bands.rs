//! Periods (fault periods) on a time plot. The time during which any period is in force is
//! shaded under the data; above the data, a strip of lanes shows each period as a bar in
//! its kind's colour. A few periods get a lane each, labelled with what they were
//! ("crash 1"); many (a random nemesis) share one lane per kind, labelled with the kind.

use std::io;
use std::iter::once;
use std::ops::Range;

use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

use super::{error, Area, Bands, Chart, LegendEntry, Marker};
use crate::font::{Anchor, Label};

/// The height of one lane, as a share of the data's y range.
pub(super) const LANE_SHARE: f64 = 0.05;
/// Periods that get a labelled lane each at most.
const MAX_LABELLED: usize = 8;
const SHADE: RGBColor = RGBColor(0x6b, 0x6b, 0x80);
const SHADE_ALPHA: f64 = 0.13;
/// `SHADE` at `SHADE_ALPHA` over white, for the legend.
const SHADE_SWATCH: RGBColor = RGBColor(0xe8, 0xe8, 0xeb);

/// How many lanes the periods of `bands` take.
pub(super) fn lane_count(bands: &Bands) -> usize {
    match bands.bands.len() {
        0 => 0,
        count if count <= MAX_LABELLED => count,
        _ => used_kinds(bands).len(),
    }
}

/// Legend entries: the shading, then each kind of period present.
pub(super) fn legend(bands: &Bands) -> Vec<LegendEntry> {
    if bands.bands.is_empty() {
        return Vec::new();
    }
    let mut entries = vec![("any fault in force (shaded)".to_string(), SHADE_SWATCH, Marker::Dot)];
    entries.extend(
        used_kinds(bands).into_iter().map(|kind| (bands.kinds[kind].0.clone(), bands.kinds[kind].1, Marker::Dot)),
    );
    entries
}

/// Shades the union of the periods below `data_top` and draws the lanes above it.
pub(super) fn draw(
    chart: &mut Chart<RangedCoordf64>,
    area: &Area,
    bands: &Bands,
    data_top: f64,
    lane_height: f64,
) -> io::Result<()> {
    let bottom = chart.y_range().start;
    for Range { start, end } in union(bands) {
        let shade = Rectangle::new([(start, bottom), (end, data_top)], SHADE.mix(SHADE_ALPHA).filled());
        chart.draw_series(once(shade)).map_err(error)?;
    }
    let per_band = bands.bands.len() <= MAX_LABELLED;
    let kinds = used_kinds(bands);
    for (index, band) in bands.bands.iter().enumerate() {
        let lane = if per_band { index } else { kinds.iter().position(|kind| *kind == band.kind).unwrap_or(0) };
        let low = data_top + lane_height * (lane as f64 + 0.4);
        let high = low + lane_height * 0.8;
        let color = bands.kinds[band.kind].1;
        if band.end > band.start {
            let bar = Rectangle::new(
                [(band.start, low), (band.end, high)],
                color.mix(if per_band { 0.45 } else { 0.8 }).filled(),
            );
            chart.draw_series(once(bar)).map_err(error)?;
        } else {
            let tick = PathElement::new(vec![(band.start, low), (band.start, high)], color.stroke_width(3));
            chart.draw_series(once(tick)).map_err(error)?;
        }
        if per_band {
            let label = Label::new((band.start, (low + high) / 2.0), band.label.clone(), 12.0).offset(4, 0);
            chart.draw_series(once(label)).map_err(error)?;
        }
    }
    if !per_band {
        label_kind_lanes(chart, area, bands, &kinds, (data_top, lane_height))?;
    }
    Ok(())
}

/// Names each kind's lane in the margin left of the y axis.
fn label_kind_lanes(
    chart: &Chart<RangedCoordf64>,
    area: &Area,
    bands: &Bands,
    kinds: &[usize],
    (data_top, lane_height): (f64, f64),
) -> io::Result<()> {
    let x = chart.x_range().start;
    for (lane, kind) in kinds.iter().enumerate() {
        let middle = data_top + lane_height * (lane as f64 + 0.8);
        let (left, y) = chart.backend_coord(&(x, middle));
        let (name, color) = &bands.kinds[*kind];
        let label = Label::new((left - 8, y), name.clone(), 12.0).anchor(Anchor::End).color(*color);
        area.draw(&label).map_err(error)?;
    }
    Ok(())
}

/// The kinds that some period has, in the order of `bands.kinds`.
fn used_kinds(bands: &Bands) -> Vec<usize> {
    (0..bands.kinds.len()).filter(|kind| bands.bands.iter().any(|band| band.kind == *kind)).collect()
}

/// The union of the periods that last, as disjoint sorted ranges.
fn union(bands: &Bands) -> Vec<Range<f64>> {
    let mut periods: Vec<Range<f64>> =
        bands.bands.iter().filter(|band| band.end > band.start).map(|band| band.start..band.end).collect();
    periods.sort_by(|a, b| a.start.total_cmp(&b.start));
    let mut merged: Vec<Range<f64>> = Vec::new();
    for period in periods {
        match merged.last_mut() {
            Some(last) if period.start <= last.end => last.end = last.end.max(period.end),
            _ => merged.push(period),
        }
    }
    merged
}
