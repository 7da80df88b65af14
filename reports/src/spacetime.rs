//! The space-time diagram of a failing run, as inline SVG for the HTML page: one vertical
//! lane per node (servers, then the clients that appear), time flowing down (Lamport's
//! figures, ShiViz), every message an arrow from its sending to its delivery, dropped
//! messages cut short with a cross, messages still in flight dashed, node events as dots,
//! crashes and pauses shaded on their lane, network faults as brackets at the side, and the
//! violation as a red line across the lanes. Hovering any mark shows its details.
//!
//! It is capped in size: at most `MAX_MESSAGES` messages around the violation (three
//! quarters of them sent before it) and `MAX_EVENTS` node events; the caption says how many
//! of the run's messages are shown.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::iter::once;

use crate::chart::{self, PALETTE};
use crate::html::escape;
use crate::plots::{fault_kind, FAULT_KINDS};
use crate::run_data::{FaultSpan, RunData};
use crate::{EventRow, MessageRow};

/// Messages drawn at most.
pub const MAX_MESSAGES: usize = 200;
/// Node events drawn at most.
pub const MAX_EVENTS: usize = 150;
/// Message types are labelled on their arrows when no more messages than this are drawn.
const MAX_LABELLED: usize = 80;
/// Network faults bracketed at the side at most (columns of brackets).
const FAULT_COLUMNS: usize = 6;

/// The diagram (a legend, a caption and the SVG) as an HTML fragment.
pub fn render(data: &RunData) -> String {
    let window = Window::around_failure(data);
    if window.messages.is_empty() && window.events.is_empty() {
        return "<p>The run recorded no messages or events to draw.</p>\n".to_string();
    }
    let layout = Layout::new(data, &window);
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        "<svg width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" role=\"img\" aria-label=\"space-time diagram\">",
        w = layout.width,
        h = layout.height
    );
    svg.push_str(&arrow_markers(&window.types));
    layout.draw_axis(&mut svg);
    layout.draw_lanes(&mut svg);
    layout.draw_faults(&mut svg, &window);
    layout.draw_messages(&mut svg, &window);
    layout.draw_events(&mut svg, &window);
    layout.draw_violation(&mut svg, data, &window);
    svg.push_str("</svg>\n");
    format!("{}{}<div class=\"spacetime\">\n{svg}</div>\n", legend(&window), caption(data, &window))
}

/// What the diagram shows: a time range and the messages, events and faults in it.
struct Window<'a> {
    start: f64,
    end: f64,
    /// The violation's time (or the run's end when there is none).
    focus: f64,
    messages: &'a [MessageRow],
    events: Vec<&'a EventRow>,
    faults: Vec<FaultSpan>,
    /// Message types in the window, sorted: their index picks their colour.
    types: Vec<String>,
}

impl<'a> Window<'a> {
    fn around_failure(data: &'a RunData) -> Window<'a> {
        let focus = data.summary.violations.first().map_or(data.end_ms(), |violation| violation.time_ms);
        let messages = around(&data.messages, |message| message.sent_ms, focus, MAX_MESSAGES);
        let start = messages.first().map_or(focus, |message| message.sent_ms).min(focus);
        let delivered = messages.iter().filter_map(|message| message.delivered_ms);
        let end = messages.iter().map(|message| message.sent_ms).chain(delivered).fold(focus, f64::max);
        let node_events: Vec<&EventRow> =
            data.events.iter().filter(|event| event.node.is_some() && (start..=end).contains(&event.time_ms)).collect();
        let events = around(&node_events, |event| event.time_ms, focus, MAX_EVENTS).to_vec();
        let faults =
            data.fault_spans().into_iter().filter(|fault| fault.start_ms <= end && fault.end_ms >= start).collect();
        let types: BTreeSet<&str> = messages.iter().map(|message| message.kind.as_str()).collect();
        let types = types.into_iter().map(String::from).collect();
        Window { start, end, focus, messages, events, faults, types }
    }

    /// Every time something is drawn at, for the time scale.
    fn times(&self) -> Vec<f64> {
        let sent = self.messages.iter().map(|message| message.sent_ms);
        let delivered = self.messages.iter().filter_map(|message| message.delivered_ms);
        let events = self.events.iter().map(|event| event.time_ms);
        let faults = self.faults.iter().flat_map(|fault| [fault.start_ms, fault.end_ms]);
        let clipped = faults.map(|time| time.clamp(self.start, self.end));
        sent.chain(delivered).chain(events).chain(clipped).chain(once(self.focus)).collect()
    }

    /// The median latency of the delivered messages: the time unit of the scale.
    fn typical_latency(&self) -> f64 {
        let mut latencies: Vec<f64> =
            self.messages.iter().filter_map(|message| Some(message.delivered_ms? - message.sent_ms)).collect();
        latencies.sort_by(f64::total_cmp);
        latencies.get(latencies.len() / 2).copied().filter(|latency| *latency > 0.0).unwrap_or(1.0)
    }

    fn color(&self, kind: &str) -> String {
        let index = self.types.iter().position(|known| known == kind).unwrap_or(0);
        chart::hex(PALETTE[index % PALETTE.len()])
    }
}

/// At most `cap` consecutive items of `items` (sorted by `time`) around `focus`: up to a
/// quarter after it, the rest before it.
fn around<T>(items: &[T], time: impl Fn(&T) -> f64, focus: f64, cap: usize) -> &[T] {
    let split = items.partition_point(|item| time(item) <= focus);
    let after = (items.len() - split).min(cap / 4);
    let before = split.min(cap - after);
    let after = (items.len() - split).min(cap - before);
    &items[split - before..split + after]
}

/// Where things go: lanes left to right, time top to bottom on a [`TimeScale`].
struct Layout {
    lanes: Vec<u32>,
    /// The first client's id: lanes below it are servers.
    first_client: u32,
    gap: f64,
    scale: TimeScale,
    width: u32,
    height: u32,
}

const LEFT: f64 = 104.0;
const TOP: f64 = 44.0;
const GUTTER: f64 = 110.0;
const HALO: &str = "paint-order=\"stroke\" stroke=\"#ffffff\" stroke-width=\"3\"";

impl Layout {
    fn new(data: &RunData, window: &Window) -> Layout {
        let senders = window.messages.iter().flat_map(|message| [message.from, message.to]);
        let max_node = senders.chain(window.events.iter().filter_map(|event| event.node)).max().unwrap_or(0);
        let first_client = data.history.iter().map(|op| op.process).min().unwrap_or(max_node + 1);
        let mut lanes: BTreeSet<u32> = (0..first_client).collect();
        lanes.extend(window.messages.iter().flat_map(|message| [message.from, message.to]));
        lanes.extend(window.events.iter().filter_map(|event| event.node));
        let lanes: Vec<u32> = lanes.into_iter().collect();
        let gap = (880.0 / lanes.len() as f64).clamp(72.0, 170.0);
        let scale = TimeScale::new(window.times(), window.typical_latency(), TOP + 16.0);
        let width = (LEFT + gap * lanes.len() as f64 + GUTTER).ceil() as u32;
        let height = (scale.bottom() + 40.0).ceil() as u32;
        Layout { lanes, first_client, gap, scale, width, height }
    }

    fn x(&self, node: u32) -> Option<f64> {
        let index = self.lanes.iter().position(|lane| *lane == node)?;
        Some(LEFT + self.gap * (index as f64 + 0.5))
    }

    fn y(&self, time_ms: f64) -> f64 {
        self.scale.y(time_ms)
    }

    fn right(&self) -> f64 {
        LEFT + self.gap * self.lanes.len() as f64
    }

    fn name(&self, node: u32) -> String {
        match node < self.first_client {
            true => format!("node {node}"),
            false => format!("client {node}"),
        }
    }

    /// Times on the left, where there is room for them, and a note where idle time was
    /// squeezed out of the scale.
    fn draw_axis(&self, svg: &mut String) {
        let mut last_label = f64::NEG_INFINITY;
        for (time, y) in self.scale.times.iter().zip(&self.scale.ys) {
            if y - last_label < 26.0 {
                continue;
            }
            last_label = *y;
            let _ = writeln!(
                svg,
                "<line x1=\"{LEFT:.1}\" y1=\"{y:.1}\" x2=\"{:.1}\" y2=\"{y:.1}\" stroke=\"#eef0f3\"/>\
                 <text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"end\" fill=\"#666\">{time:.3} ms</text>",
                self.right(),
                LEFT - 8.0,
                y + 4.0
            );
        }
        for (y, skipped) in &self.scale.breaks {
            let _ = writeln!(
                svg,
                "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"10\" text-anchor=\"end\" fill=\"#999\">\u{22ee} {} ms</text>",
                LEFT - 8.0,
                y + 3.5,
                chart::tick(*skipped)
            );
        }
    }

    fn draw_lanes(&self, svg: &mut String) {
        let bottom = self.scale.bottom();
        for &node in &self.lanes {
            let x = self.x(node).unwrap_or_default();
            let color = if node < self.first_client { "#1d2330" } else { "#7a8090" };
            let name = self.name(node);
            let _ = writeln!(
                svg,
                "<line x1=\"{x:.1}\" y1=\"{:.1}\" x2=\"{x:.1}\" y2=\"{bottom:.1}\" stroke=\"{color}\" stroke-width=\"1.5\"/>\
                 <text x=\"{x:.1}\" y=\"{:.1}\" font-size=\"13\" font-weight=\"bold\" text-anchor=\"middle\" fill=\"{color}\">{name}</text>\
                 <text x=\"{x:.1}\" y=\"{:.1}\" font-size=\"13\" font-weight=\"bold\" text-anchor=\"middle\" fill=\"{color}\">{name}</text>",
                TOP - 8.0,
                TOP - 18.0,
                bottom + 22.0
            );
        }
    }

    /// Crashes, pauses, isolations and clock jumps on their node's lane; other network
    /// faults as brackets in the gutter on the right.
    fn draw_faults(&self, svg: &mut String, window: &Window) {
        let mut columns: Vec<f64> = Vec::new();
        for fault in &window.faults {
            let color = chart::hex(FAULT_KINDS[fault_kind(&fault.fault)].1);
            let title = format!("{} from {:.3} to {:.3} ms", fault.fault, fault.start_ms, fault.end_ms);
            let (y1, y2) = (self.y(fault.start_ms), self.y(fault.end_ms).max(self.y(fault.start_ms) + 2.0));
            if let Some(x) = fault_node(&fault.fault).and_then(|node| self.x(node)) {
                let _ = writeln!(
                    svg,
                    "<rect x=\"{:.1}\" y=\"{y1:.1}\" width=\"18\" height=\"{:.1}\" fill=\"{color}\" fill-opacity=\"0.35\">\
                     <title>{}</title></rect>",
                    x - 9.0,
                    y2 - y1,
                    escape(&title)
                );
            } else if let Some(column) = free_column(&mut columns, fault) {
                let x = self.right() + 12.0 + 12.0 * column as f64;
                let _ = writeln!(
                    svg,
                    "<path d=\"M{:.1} {y1:.1} H{x:.1} V{y2:.1} H{:.1}\" fill=\"none\" stroke=\"{color}\" stroke-width=\"3\">\
                     <title>{}</title></path>",
                    x - 5.0,
                    x - 5.0,
                    escape(&title)
                );
            }
        }
    }

    fn draw_messages(&self, svg: &mut String, window: &Window) {
        let labelled = window.messages.len() <= MAX_LABELLED;
        for message in window.messages {
            let (Some(x1), Some(x2)) = (self.x(message.from), self.x(message.to)) else { continue };
            let y1 = self.y(message.sent_ms);
            let color = window.color(&message.kind);
            let index = window.types.iter().position(|kind| *kind == message.kind).unwrap_or(0);
            let (x2, y2, style) = match message.delivered_ms {
                Some(at) => (x2, self.y(at), format!("marker-end=\"url(#arrow-{index})\"")),
                None => (x1 + 0.4 * (x2 - x1), y1 + 12.0, "stroke-dasharray=\"3 3\"".to_string()),
            };
            let _ = write!(
                svg,
                "<g><title>{}</title><line x1=\"{x1:.1}\" y1=\"{y1:.1}\" x2=\"{x2:.1}\" y2=\"{y2:.1}\" \
                 stroke=\"{color}\" stroke-width=\"1.4\" {style}/>",
                escape(&message_title(message))
            );
            if message.delivered_ms.is_none() && message.fate != "in-flight" {
                svg.push_str(&cross(x2, y2));
            }
            if labelled {
                let (lx, ly) = (x1 + 0.25 * (x2 - x1), y1 + 0.25 * (y2 - y1) - 3.0);
                let _ = write!(
                    svg,
                    "<text x=\"{lx:.1}\" y=\"{ly:.1}\" font-size=\"10\" fill=\"{color}\" {HALO}>{}</text>",
                    escape(&message.kind)
                );
            }
            svg.push_str("</g>\n");
        }
    }

    /// A dot on the node's lane and a short label; events at the same node and time stack
    /// their labels.
    fn draw_events(&self, svg: &mut String, window: &Window) {
        let mut previous: Option<(u32, f64)> = None;
        let mut stacked = 0.0;
        for event in &window.events {
            let Some(node) = event.node else { continue };
            let Some(x) = self.x(node) else { continue };
            let y = self.y(event.time_ms);
            stacked = if previous == Some((node, event.time_ms)) { stacked + 11.0 } else { 0.0 };
            previous = Some((node, event.time_ms));
            let short: String = event.event.split([' ', '{', '(']).next().unwrap_or("").chars().take(24).collect();
            let _ = writeln!(
                svg,
                "<g><title>{} at {:.3} ms: {}</title><circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"3.5\" fill=\"#1d2330\"/>\
                 <text x=\"{:.1}\" y=\"{:.1}\" font-size=\"10\" fill=\"#1d2330\" {HALO}>{}</text></g>",
                self.name(node),
                event.time_ms,
                escape(&event.event),
                x + 6.0,
                y + 3.5 + stacked,
                escape(&short)
            );
        }
    }

    fn draw_violation(&self, svg: &mut String, data: &RunData, window: &Window) {
        let Some(violation) = data.summary.violations.first() else { return };
        let y = self.y(window.focus);
        let text = format!("{} ({}) at {:.3} ms", violation.invariant, data.summary.verdict, violation.time_ms);
        let _ = writeln!(
            svg,
            "<g><title>{}</title><line x1=\"{LEFT:.1}\" y1=\"{y:.1}\" x2=\"{:.1}\" y2=\"{y:.1}\" stroke=\"#c0392b\" \
             stroke-width=\"2.5\" stroke-opacity=\"0.8\"/><text x=\"{:.1}\" y=\"{:.1}\" font-size=\"13\" font-weight=\"bold\" \
             text-anchor=\"end\" fill=\"#c0392b\" {HALO}>{}</text></g>",
            escape(&violation.detail),
            self.right(),
            self.right() - 4.0,
            y - 8.0,
            escape(&text)
        );
        for x in violation.nodes.iter().filter_map(|node| self.x(*node)) {
            let _ = writeln!(
                svg,
                "<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"7\" fill=\"none\" stroke=\"#c0392b\" stroke-width=\"2.5\"/>"
            );
        }
    }
}

/// Virtual time to y: every time something happens gets a row, and the space between two
/// rows grows with the time between them, from `MIN_GAP` (so that order is always visible)
/// to `MAX_GAP` (so that idle time does not stretch the diagram; such a squeezed gap is
/// noted on the axis). A typical message spans about `LATENCY_GAP` pixels.
struct TimeScale {
    times: Vec<f64>,
    ys: Vec<f64>,
    /// Where idle time was squeezed: the gap's middle y and the virtual time it covers.
    breaks: Vec<(f64, f64)>,
}

const MIN_GAP: f64 = 4.0;
const MAX_GAP: f64 = 40.0;
const LATENCY_GAP: f64 = 26.0;

impl TimeScale {
    fn new(mut times: Vec<f64>, unit_ms: f64, top: f64) -> TimeScale {
        times.sort_by(f64::total_cmp);
        times.dedup();
        let mut ys = Vec::with_capacity(times.len());
        let mut breaks = Vec::new();
        let mut y = top;
        for (index, time) in times.iter().enumerate() {
            if index > 0 {
                let elapsed = time - times[index - 1];
                let gap = elapsed / unit_ms * LATENCY_GAP;
                if gap > MAX_GAP {
                    breaks.push((y + MAX_GAP / 2.0, elapsed));
                }
                y += gap.clamp(MIN_GAP, MAX_GAP);
            }
            ys.push(y);
        }
        TimeScale { times, ys, breaks }
    }

    /// The y of `time`, interpolated between the rows around it.
    fn y(&self, time: f64) -> f64 {
        let index = self.times.partition_point(|row| *row < time);
        match (index.checked_sub(1), self.times.get(index)) {
            (_, Some(row)) if *row == time => self.ys[index],
            (Some(before), Some(after)) => {
                let share = (time - self.times[before]) / (after - self.times[before]);
                self.ys[before] + share * (self.ys[index] - self.ys[before])
            }
            (None, _) => self.ys.first().copied().unwrap_or(0.0),
            (Some(_), None) => self.ys.last().copied().unwrap_or(0.0),
        }
    }

    fn bottom(&self) -> f64 {
        self.ys.last().copied().unwrap_or(0.0) + 14.0
    }
}

/// The node a fault concerns, if it concerns one: `crash 1 ...`, `pause 3`, `isolate 0`,
/// `clock jump 3 by ...`.
fn fault_node(fault: &str) -> Option<u32> {
    let mut words = fault.split_whitespace();
    match words.next()? {
        "crash" | "pause" | "isolate" => words.next()?.parse().ok(),
        "clock" => words.nth(1)?.parse().ok(),
        _ => None,
    }
}

/// The first bracket column free at `fault`'s start (and takes it), or none when all
/// `FAULT_COLUMNS` are busy.
fn free_column(columns: &mut Vec<f64>, fault: &FaultSpan) -> Option<usize> {
    if let Some(column) = columns.iter().position(|busy_until| *busy_until < fault.start_ms) {
        columns[column] = fault.end_ms;
        return Some(column);
    }
    if columns.len() < FAULT_COLUMNS {
        columns.push(fault.end_ms);
        return Some(columns.len() - 1);
    }
    None
}

fn message_title(message: &MessageRow) -> String {
    let fate = match message.delivered_ms {
        Some(at) => format!("delivered at {at:.3} ms"),
        None => message.fate.clone(),
    };
    let copy = if message.duplicate { " (duplicate)" } else { "" };
    format!(
        "#{} {}{copy} {} \u{2192} {}, sent at {:.3} ms, {fate}",
        message.id, message.kind, message.from, message.to, message.sent_ms
    )
}

fn cross(x: f64, y: f64) -> String {
    format!(
        "<path d=\"M{:.1} {:.1} L{:.1} {:.1} M{:.1} {:.1} L{:.1} {:.1}\" stroke=\"#c0392b\" stroke-width=\"2\"/>",
        x - 4.0,
        y - 4.0,
        x + 4.0,
        y + 4.0,
        x - 4.0,
        y + 4.0,
        x + 4.0,
        y - 4.0
    )
}

fn arrow_markers(types: &[String]) -> String {
    let mut defs = String::from("<defs>\n");
    for index in 0..types.len() {
        let _ = writeln!(
            defs,
            "<marker id=\"arrow-{index}\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"7\" \
             markerHeight=\"7\" orient=\"auto\"><path d=\"M0 0 L10 5 L0 10 z\" fill=\"{}\"/></marker>",
            chart::hex(PALETTE[index % PALETTE.len()])
        );
    }
    defs.push_str("</defs>\n");
    defs
}

fn legend(window: &Window) -> String {
    let mut html = String::from("<p class=\"legend\">");
    for kind in &window.types {
        let _ = write!(html, "<span><i style=\"background:{}\"></i>{}</span>", window.color(kind), escape(kind));
    }
    html.push_str("<span>\u{2715} dropped</span><span>- - - in flight</span>");
    for (name, color) in FAULT_KINDS {
        let _ = write!(html, "<span><i style=\"background:{}; opacity:0.5\"></i>{name}</span>", chart::hex(color));
    }
    html.push_str("<span><i style=\"background:#c0392b\"></i>violation</span></p>\n");
    html
}

fn caption(data: &RunData, window: &Window) -> String {
    format!(
        "<p>{} of the run's {} messages and {} node events, from {:.3} to {:.3} ms (virtual time flows down). \
         Hover over an arrow, a dot or a shaded bar for its details.</p>\n",
        window.messages.len(),
        data.messages.len(),
        window.events.len(),
        window.start,
        window.end
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn around_keeps_at_most_cap_items_mostly_before_the_focus() {
        let items: Vec<f64> = (0..1000).map(f64::from).collect();
        let kept = around(&items, |t| *t, 500.0, 100);
        assert_eq!(kept.len(), 100);
        assert_eq!((kept[0], kept[99]), (426.0, 525.0));
        let early = around(&items, |t| *t, 10.0, 100);
        assert_eq!((early.len(), early[0], early[99]), (100, 0.0, 99.0));
        let late = around(&items, |t| *t, 2000.0, 100);
        assert_eq!((late[0], late[99]), (900.0, 999.0));
    }

    #[test]
    fn faults_name_their_node() {
        assert_eq!(fault_node("crash 1 losing unsynced writes"), Some(1));
        assert_eq!(fault_node("clock jump 3 by -9 ms"), Some(3));
        assert_eq!(fault_node("isolate 0"), Some(0));
        assert_eq!(fault_node("partition [[0]]"), None);
    }
}
