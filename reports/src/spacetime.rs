//! The space-time diagram of a run, as SVG: one vertical lane per process (servers, then the
//! clients that appear), time flowing down (Lamport's figures, ShiViz), every message an
//! arrow from its sending to its delivery, dropped messages cut short with a cross,
//! messages still in flight dashed, client operations as bars along their client's lane,
//! node events as dots, crashes and pauses shaded on their lane, network faults as brackets
//! at the side, and the violation as a red line across the lanes. Hovering any mark shows
//! its details, a message's fields included.
//!
//! In a failing run's report the diagram shows the failure's cause, not merely its last
//! moments: the window starts from the violation's own evidence (the moments its checker
//! cites: observations of servers, invocations of client operations) and the messages that
//! led to them, walked back along each message's cause (the message its sender was
//! handling when it sent it). Those messages are drawn bold, the cited operations and
//! events in red. Heartbeats (message types named `Heartbeat...`) that are not part of
//! that history are folded away behind a toggle. The window is capped (`MAX_MESSAGES`,
//! `MAX_HEARTBEATS`, `MAX_EVENTS`, `MAX_OPERATIONS`), always keeping the causal history, and
//! the caption says what is shown. [`full_svg`] draws a whole run instead (Maelstrom's
//! `messages.svg`), up to `MAX_FULL_MESSAGES` messages.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use crate::chart::{self, PALETTE};
use crate::html::escape;
use crate::plots::{fault_kind, FAULT_KINDS};
use crate::run_data::{FaultSpan, RunData};
use crate::{words, EventRow, HistoryRow, MessageRow};

/// The file `faultline run --messages-svg` writes.
pub const FULL_FILE: &str = "messages.svg";
/// Messages (heartbeats aside) drawn around a failure at most.
pub const MAX_MESSAGES: usize = 300;
/// Heartbeats drawn (behind the toggle) at most.
pub const MAX_HEARTBEATS: usize = 400;
/// Node events drawn at most.
pub const MAX_EVENTS: usize = 150;
/// Client operations drawn at most.
pub const MAX_OPERATIONS: usize = 80;
/// How far back the causal history is walked, in messages.
pub const MAX_CAUSAL_HOPS: usize = 24;
/// Messages a whole-run diagram draws at most.
pub const MAX_FULL_MESSAGES: usize = 50_000;

/// The diagram of a failing run (a legend, a caption, the heartbeat toggle and the SVG) as
/// an HTML fragment.
pub fn render(data: &RunData) -> String {
    let window = Window::around_failure(data);
    if window.messages.is_empty() && window.events.is_empty() && window.operations.is_empty() {
        return "<p>The run recorded no messages, operations or events to draw.</p>\n".to_string();
    }
    let svg = draw(data, &window, false);
    let heartbeats = window.messages.iter().filter(|shown| shown.heartbeat).count();
    let toggle = match heartbeats {
        0 => String::new(),
        count => format!(
            "<input type=\"checkbox\" id=\"show-heartbeats\" class=\"toggle\"><label for=\"show-heartbeats\">show \
             the {count} heartbeats of this window (hidden: none of them led to what the violation cites)</label>\n"
        ),
    };
    format!("{}{}{toggle}<div class=\"spacetime\">\n{svg}</div>\n", legend(&window), caption(data, &window))
}

/// A standalone SVG of the whole run: every message (up to `MAX_FULL_MESSAGES`), event and
/// operation.
pub fn full_svg(data: &RunData) -> String {
    let window = Window::whole(data);
    let svg = draw(data, &window, true);
    let note = format!(
        "<!-- faultline space-time diagram of {} seed {}: {} of {} messages, {} events, {} operations -->\n",
        data.summary.scenario,
        data.summary.seed,
        window.messages.len(),
        data.messages.len(),
        window.events.len(),
        window.operations.len()
    );
    format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{note}{svg}")
}

/// A message as drawn: whether it is in the causal history, and whether it is a heartbeat
/// to fold away.
struct Shown<'a> {
    message: &'a MessageRow,
    causal: bool,
    heartbeat: bool,
}

/// What the diagram shows: a time range and the messages, events, operations and faults in it.
struct Window<'a> {
    start: f64,
    end: f64,
    /// The violation's time (or the run's end when there is none).
    focus: f64,
    messages: Vec<Shown<'a>>,
    events: Vec<(&'a EventRow, bool)>,
    operations: Vec<(&'a HistoryRow, bool)>,
    faults: Vec<FaultSpan>,
    /// Message types in the window, sorted: their index picks their colour.
    types: Vec<String>,
    /// Messages of the whole run in the window's range, heartbeats aside.
    in_range: usize,
    causal: usize,
}

/// Whether messages of this type are heartbeats.
fn is_heartbeat(kind: &str) -> bool {
    kind.starts_with("Heartbeat")
}

impl<'a> Window<'a> {
    fn around_failure(data: &'a RunData) -> Window<'a> {
        let violation = data.summary.violations.first();
        let focus = violation.map_or(data.end_ms(), |violation| violation.time_ms);
        let evidence: Vec<(u32, f64)> =
            violation.map(|v| v.evidence.iter().map(|e| (e.node, e.time_ms)).collect()).unwrap_or_default();
        let cited_op =
            |op: &HistoryRow| evidence.iter().any(|&(node, time)| op.process == node && op.invoked_ms == time);
        let cited_event =
            |event: &EventRow| evidence.iter().any(|&(node, time)| event.node == Some(node) && event.time_ms == time);
        let causal = causal_history(data, &evidence, cited_op, cited_event);
        let cited_times = evidence.iter().map(|&(_, time)| time);
        let causal_times = causal.iter().filter_map(|&index| data.messages.get(index)).map(|m| m.sent_ms);
        let earliest = cited_times.chain(causal_times).fold(focus, f64::min);
        // Without evidence, the moments before the failure: as many messages as fit.
        let start = if earliest < focus {
            earliest
        } else {
            let before: Vec<&MessageRow> =
                data.messages.iter().filter(|m| m.sent_ms <= focus && !is_heartbeat(&m.kind)).collect();
            before.iter().rev().nth(MAX_MESSAGES * 3 / 4).map_or(0.0, |message| message.sent_ms).min(focus)
        };
        let after = focus + 0.02 * (focus - start).max(1.0);
        let range = |time: f64| time >= start && time <= after;
        let mut messages = select_messages(data, &causal, range, focus);
        messages.sort_by(|a, b| a.message.sent_ms.total_cmp(&b.message.sent_ms).then(a.message.id.cmp(&b.message.id)));
        let in_range = data.messages.iter().filter(|m| range(m.sent_ms)).count();
        let end =
            messages.iter().filter_map(|shown| shown.message.delivered_ms).fold(focus, f64::max).min(after.max(focus));
        let events = nearest(
            data.events.iter().filter(|event| event.node.is_some() && event.time_ms >= start && event.time_ms <= end),
            |event| (cited_event(event), event.time_ms),
            focus,
            MAX_EVENTS,
        );
        let operations = nearest(
            data.history.iter().filter(|op| op.invoked_ms <= end && op.completed_ms.is_none_or(|done| done >= start)),
            |op| (cited_op(op), op.invoked_ms),
            focus,
            MAX_OPERATIONS,
        );
        let causal_count = messages.iter().filter(|shown| shown.causal).count();
        Window::of(data, (start, end, focus), messages, events, operations, (in_range, causal_count))
    }

    fn whole(data: &'a RunData) -> Window<'a> {
        let end = data.end_ms();
        let messages = data
            .messages
            .iter()
            .take(MAX_FULL_MESSAGES)
            .map(|message| Shown { message, causal: false, heartbeat: false })
            .collect();
        let events = data.events.iter().filter(|event| event.node.is_some()).map(|event| (event, false)).collect();
        let operations = data.history.iter().map(|op| (op, false)).collect();
        let in_range = data.messages.len();
        Window::of(data, (0.0, end, end), messages, events, operations, (in_range, 0))
    }

    fn of(
        data: &'a RunData,
        (start, end, focus): (f64, f64, f64),
        messages: Vec<Shown<'a>>,
        mut events: Vec<(&'a EventRow, bool)>,
        mut operations: Vec<(&'a HistoryRow, bool)>,
        (in_range, causal): (usize, usize),
    ) -> Window<'a> {
        events.sort_by(|a, b| a.0.time_ms.total_cmp(&b.0.time_ms));
        operations.sort_by(|a, b| a.0.invoked_ms.total_cmp(&b.0.invoked_ms));
        let faults =
            data.fault_spans().into_iter().filter(|fault| fault.start_ms <= end && fault.end_ms >= start).collect();
        let types: BTreeSet<&str> = messages.iter().map(|shown| shown.message.kind.as_str()).collect();
        let types = types.into_iter().map(String::from).collect();
        Window { start, end, focus, messages, events, operations, faults, types, in_range, causal }
    }

    /// Every time something (heartbeats aside) is drawn at, for the time scale.
    fn times(&self) -> Vec<f64> {
        let drawn = self.messages.iter().filter(|shown| !shown.heartbeat).map(|shown| shown.message);
        let messages = drawn.flat_map(|message| [Some(message.sent_ms), message.delivered_ms]).flatten();
        let events = self.events.iter().map(|(event, _)| event.time_ms);
        let operations = self.operations.iter().flat_map(|(op, _)| [Some(op.invoked_ms), op.completed_ms]).flatten();
        let faults = self.faults.iter().flat_map(|fault| [fault.start_ms, fault.end_ms]);
        let clipped = operations.chain(faults).map(|time| time.clamp(self.start, self.end));
        messages.chain(events).chain(clipped).chain([self.focus, self.start]).collect()
    }

    /// The median latency of the delivered messages: the time unit of the scale.
    fn typical_latency(&self) -> f64 {
        let mut latencies: Vec<f64> = self
            .messages
            .iter()
            .filter_map(|shown| Some(shown.message.delivered_ms? - shown.message.sent_ms))
            .collect();
        latencies.sort_by(f64::total_cmp);
        latencies.get(latencies.len() / 2).copied().filter(|latency| *latency > 0.0).unwrap_or(1.0)
    }

    fn type_index(&self, kind: &str) -> usize {
        self.types.iter().position(|known| known == kind).unwrap_or(0)
    }

    fn color(&self, kind: &str) -> String {
        chart::hex(PALETTE[self.type_index(kind) % PALETTE.len()])
    }
}

/// The indices in `data.messages` of the messages that led to the cited moments: those
/// delivered to a cited node at a cited moment (or named as an event's cause), those a
/// cited operation's client sent or received during it, and, walked back, their causes.
fn causal_history(
    data: &RunData,
    evidence: &[(u32, f64)],
    cited_op: impl Fn(&HistoryRow) -> bool,
    cited_event: impl Fn(&EventRow) -> bool,
) -> BTreeSet<usize> {
    let by_id: BTreeMap<u64, usize> = data.messages.iter().enumerate().map(|(index, m)| (m.id, index)).collect();
    let mut pending: Vec<(usize, usize)> = Vec::new();
    let mut seed = |index: usize| pending.push((index, 0));
    for event in data.events.iter().filter(|event| cited_event(event)) {
        event.cause.and_then(|id| by_id.get(&id)).copied().into_iter().for_each(&mut seed);
    }
    for (index, message) in data.messages.iter().enumerate() {
        let delivered_at_cited =
            evidence.iter().any(|&(node, time)| message.to == node && message.delivered_ms == Some(time));
        if delivered_at_cited {
            seed(index);
        }
    }
    for op in data.history.iter().filter(|op| cited_op(op)) {
        let end = op.completed_ms.unwrap_or(f64::INFINITY);
        let during = |time: f64| time >= op.invoked_ms && time <= end;
        for (index, message) in data.messages.iter().enumerate() {
            let sent = message.from == op.process && during(message.sent_ms);
            let received = message.to == op.process && message.delivered_ms.is_some_and(during);
            if sent || received {
                seed(index);
            }
        }
    }
    let mut causal = BTreeSet::new();
    while let Some((index, hops)) = pending.pop() {
        if hops > MAX_CAUSAL_HOPS || !causal.insert(index) {
            continue;
        }
        if let Some(cause) = data.messages[index].cause.and_then(|id| by_id.get(&id)) {
            pending.push((*cause, hops + 1));
        }
    }
    causal
}

/// The messages of the window: every causal one, then the rest in `range` nearest the
/// focus, at most `MAX_MESSAGES` (and `MAX_HEARTBEATS` heartbeats, folded).
fn select_messages<'a>(
    data: &'a RunData,
    causal: &BTreeSet<usize>,
    range: impl Fn(f64) -> bool,
    focus: f64,
) -> Vec<Shown<'a>> {
    let mut shown: Vec<Shown> =
        causal.iter().map(|&index| Shown { message: &data.messages[index], causal: true, heartbeat: false }).collect();
    let others = data.messages.iter().enumerate().filter(|(index, m)| !causal.contains(index) && range(m.sent_ms));
    let (heartbeats, rest): (Vec<_>, Vec<_>) = others.map(|(_, m)| m).partition(|m| is_heartbeat(&m.kind));
    let room = MAX_MESSAGES.saturating_sub(shown.len());
    for (messages, room, heartbeat) in [(rest, room, false), (heartbeats, MAX_HEARTBEATS, true)] {
        let kept = nearest(messages.into_iter(), |m| (false, m.sent_ms), focus, room);
        shown.extend(kept.into_iter().map(|(message, _)| Shown { message, causal: false, heartbeat }));
    }
    shown
}

/// At most `cap` of `items`: the flagged ones first, then those whose time is nearest
/// `focus` (ties to the earlier); each with its flag.
fn nearest<'a, T>(
    items: impl Iterator<Item = &'a T>,
    key: impl Fn(&T) -> (bool, f64),
    focus: f64,
    cap: usize,
) -> Vec<(&'a T, bool)> {
    let mut items: Vec<(&T, bool, f64)> = items
        .map(|item| {
            let (flag, time) = key(item);
            (item, flag, time)
        })
        .collect();
    items.sort_by(|a, b| {
        b.1.cmp(&a.1).then((a.2 - focus).abs().total_cmp(&(b.2 - focus).abs())).then(a.2.total_cmp(&b.2))
    });
    items.truncate(cap);
    items.into_iter().map(|(item, flag, _)| (item, flag)).collect()
}

/// Places labels so that they do not overlap: each label's box is kept, and a label whose
/// every candidate position overlaps one is left out (its hover text still has it).
#[derive(Default)]
struct Labels {
    boxes: Vec<(f64, f64, f64, f64)>,
}

impl Labels {
    /// The first of `candidates` (x, y of the text's baseline start) where text of
    /// `chars` characters at `size` px fits, and takes it.
    fn place(&mut self, candidates: &[(f64, f64)], chars: usize, size: f64) -> Option<(f64, f64)> {
        let width = chars as f64 * size * 0.58 + 2.0;
        for &(x, y) in candidates {
            let rect = (x - 1.0, y - size, x + width, y + 2.0);
            let free = self.boxes.iter().all(|b| rect.2 < b.0 || rect.0 > b.2 || rect.3 < b.1 || rect.1 > b.3);
            if free {
                self.boxes.push(rect);
                return Some((x, y));
            }
        }
        None
    }
}

/// Where things go: lanes left to right, time top to bottom on a [`TimeScale`].
struct Layout {
    lanes: Vec<u32>,
    servers: u32,
    gap: f64,
    scale: TimeScale,
    width: u32,
    height: u32,
}

const LEFT: f64 = 110.0;
const TOP: f64 = 44.0;
const GUTTER: f64 = 110.0;
const HALO: &str = "paint-order=\"stroke\" stroke=\"#ffffff\" stroke-width=\"3\"";
const CITED: &str = "#c0392b";

/// The whole SVG element of `window`.
fn draw(data: &RunData, window: &Window, standalone: bool) -> String {
    let layout = Layout::new(data, window);
    let mut svg = String::new();
    let namespace = if standalone { " xmlns=\"http://www.w3.org/2000/svg\"" } else { "" };
    let _ = writeln!(
        svg,
        "<svg{namespace} width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" role=\"img\" aria-label=\"space-time \
         diagram\" font-family=\"DejaVu Sans, sans-serif\">",
        w = layout.width,
        h = layout.height
    );
    if standalone {
        let _ = writeln!(svg, "<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>");
    }
    svg.push_str(&arrow_markers(&window.types));
    let mut labels = Labels::default();
    layout.draw_axis(&mut svg);
    layout.draw_lanes(&mut svg);
    layout.draw_faults(&mut svg, window);
    layout.draw_operations(&mut svg, window, &mut labels);
    layout.draw_violation(&mut svg, data, window, &mut labels);
    layout.draw_events(&mut svg, window, &mut labels);
    layout.draw_messages(&mut svg, window, &mut labels);
    svg.push_str("</svg>\n");
    svg
}

impl Layout {
    fn new(data: &RunData, window: &Window) -> Layout {
        let servers = match data.summary.servers {
            0 => data.history.iter().map(|op| op.process).min().unwrap_or(0),
            servers => servers,
        };
        let mut lanes: BTreeSet<u32> = (0..servers).collect();
        lanes.extend(window.messages.iter().flat_map(|shown| [shown.message.from, shown.message.to]));
        lanes.extend(window.events.iter().filter_map(|(event, _)| event.node));
        lanes.extend(window.operations.iter().map(|(op, _)| op.process));
        let lanes: Vec<u32> = lanes.into_iter().collect();
        let gap = (900.0 / lanes.len() as f64).clamp(78.0, 170.0);
        let scale = TimeScale::new(window.times(), window.typical_latency(), TOP + 16.0);
        let width = (LEFT + gap * lanes.len() as f64 + GUTTER).ceil() as u32;
        let height = (scale.bottom() + 40.0).ceil() as u32;
        Layout { lanes, servers, gap, scale, width, height }
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
        words::process(node, self.servers)
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
                 <text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"end\" fill=\"#666\">{}</text>",
                self.right(),
                LEFT - 8.0,
                y + 4.0,
                words::time(*time)
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
            let color = if node < self.servers { "#1d2330" } else { "#7a8090" };
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
            let title =
                format!("{} from {} to {}", fault.fault, words::time(fault.start_ms), words::time(fault.end_ms));
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

    /// Each client operation as a bar along its lane from invocation to completion (to the
    /// window's end if it is still open), red when the violation cites it.
    fn draw_operations(&self, svg: &mut String, window: &Window, labels: &mut Labels) {
        for &(op, cited) in &window.operations {
            let Some(x) = self.x(op.process) else { continue };
            let (y1, y2) = (self.y(op.invoked_ms.max(window.start)), self.y(op.completed_ms.unwrap_or(window.end)));
            let color = if cited { CITED } else { "#4e79a7" };
            let done = op.completed_ms.map_or_else(|| "no reply".to_string(), words::time);
            let result = if op.result.is_empty() { String::new() } else { format!(" {}", op.result) };
            let what = format!(
                "{} {}{}: {}{result}",
                op.f,
                op.key.map_or(String::new(), |k| k.to_string()),
                value(op),
                op.kind
            );
            let title = format!(
                "{} {what}, invoked at {}, {done}{}",
                self.name(op.process),
                words::time(op.invoked_ms),
                if cited { " (cited by the violation)" } else { "" }
            );
            let _ = write!(
                svg,
                "<g><title>{}</title><rect x=\"{:.1}\" y=\"{y1:.1}\" width=\"8\" height=\"{:.1}\" rx=\"3\" fill=\"{color}\" \
                 fill-opacity=\"{}\"/>",
                escape(&title),
                x - 4.0,
                (y2 - y1).max(3.0),
                if cited { "0.85" } else { "0.35" }
            );
            let text = shortened(&what, 34);
            let candidates = [(x - 8.0 - text.len() as f64 * 5.8, y1 + 10.0), (x + 8.0, y1 + 10.0)];
            if let Some((lx, ly)) = labels.place(&candidates, text.chars().count(), 10.0) {
                let weight = if cited { " font-weight=\"bold\"" } else { "" };
                let _ = write!(
                    svg,
                    "<text x=\"{lx:.1}\" y=\"{ly:.1}\" font-size=\"10\" fill=\"{color}\"{weight} {HALO}>{}</text>",
                    escape(&text)
                );
            }
            svg.push_str("</g>\n");
        }
    }

    fn draw_messages(&self, svg: &mut String, window: &Window, labels: &mut Labels) {
        // Causal messages are labelled first, so that they get the room.
        let mut order: Vec<&Shown> = window.messages.iter().collect();
        order.sort_by_key(|shown| !shown.causal);
        let labelled = window.messages.len() <= 2 * MAX_MESSAGES;
        for shown in order {
            let message = shown.message;
            let (Some(x1), Some(x2)) = (self.x(message.from), self.x(message.to)) else { continue };
            let y1 = self.y(message.sent_ms);
            let color = window.color(&message.kind);
            let index = window.type_index(&message.kind);
            let (x2, y2, style) = match message.delivered_ms {
                Some(at) => (x2, self.y(at), format!("marker-end=\"url(#arrow-{index})\"")),
                None => (x1 + 0.4 * (x2 - x1), y1 + 12.0, "stroke-dasharray=\"3 3\"".to_string()),
            };
            let class = if shown.heartbeat { " class=\"heartbeat\"" } else { "" };
            let (width, opacity) = if shown.causal { ("2.4", "1") } else { ("1.2", "0.6") };
            let _ = write!(
                svg,
                "<g{class}><title>{}</title><line x1=\"{x1:.1}\" y1=\"{y1:.1}\" x2=\"{x2:.1}\" y2=\"{y2:.1}\" \
                 stroke=\"{color}\" stroke-width=\"{width}\" stroke-opacity=\"{opacity}\" {style}/>",
                escape(&message_title(message, shown.causal))
            );
            if message.delivered_ms.is_none() && message.fate != "in-flight" {
                svg.push_str(&cross(x2, y2));
            }
            if labelled && !shown.heartbeat {
                let at = |share: f64| (x1 + share * (x2 - x1) + 3.0, y1 + share * (y2 - y1) - 3.0);
                let candidates = [at(0.3), at(0.5), at(0.15), at(0.7)];
                if let Some((lx, ly)) = labels.place(&candidates, message.kind.len(), 10.0) {
                    let weight = if shown.causal { " font-weight=\"bold\"" } else { "" };
                    let _ = write!(
                        svg,
                        "<text x=\"{lx:.1}\" y=\"{ly:.1}\" font-size=\"10\" fill=\"{color}\"{weight} {HALO}>{}</text>",
                        escape(&message.kind)
                    );
                }
            }
            svg.push_str("</g>\n");
        }
    }

    /// A dot on the node's lane and a short label where it fits; cited events in red.
    fn draw_events(&self, svg: &mut String, window: &Window, labels: &mut Labels) {
        let mut order: Vec<&(&EventRow, bool)> = window.events.iter().collect();
        order.sort_by_key(|(_, cited)| !cited);
        for &(event, cited) in order {
            let Some(node) = event.node else { continue };
            let Some(x) = self.x(node) else { continue };
            let y = self.y(event.time_ms);
            let (color, radius) = if cited { (CITED, 5.0) } else { ("#1d2330", 3.5) };
            let text = shortened(&event.event, 42);
            let _ = write!(
                svg,
                "<g><title>{} at {}: {}{}</title><circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"{radius}\" fill=\"{color}\"/>",
                self.name(node),
                words::time(event.time_ms),
                escape(&event.event),
                if cited { " (cited by the violation)" } else { "" }
            );
            let candidates = [(x + 7.0, y + 3.5), (x + 7.0, y + 14.5), (x + 7.0, y - 7.5), (x + 7.0, y + 25.5)];
            let size = if cited { 11.0 } else { 10.0 };
            if let Some((lx, ly)) = labels.place(&candidates, text.chars().count(), size) {
                let weight = if cited { " font-weight=\"bold\"" } else { "" };
                let _ = write!(
                    svg,
                    "<text x=\"{lx:.1}\" y=\"{ly:.1}\" font-size=\"{size}\" fill=\"{color}\"{weight} {HALO}>{}</text>",
                    escape(&text)
                );
            }
            svg.push_str("</g>\n");
        }
    }

    fn draw_violation(&self, svg: &mut String, data: &RunData, window: &Window, labels: &mut Labels) {
        let Some(violation) = data.summary.violations.first().filter(|_| data.failed()) else { return };
        let y = self.y(window.focus);
        let text = format!("{} ({}) at {}", violation.invariant, data.summary.verdict, words::time(violation.time_ms));
        let chars = text.chars().count();
        let x = self.right() - 4.0 - chars as f64 * 13.0 * 0.58;
        labels.place(&[(x, y - 8.0)], chars, 13.0);
        let _ = writeln!(
            svg,
            "<g><title>{}</title><line x1=\"{LEFT:.1}\" y1=\"{y:.1}\" x2=\"{:.1}\" y2=\"{y:.1}\" stroke=\"{CITED}\" \
             stroke-width=\"2.5\" stroke-opacity=\"0.8\"/><text x=\"{:.1}\" y=\"{:.1}\" font-size=\"13\" font-weight=\"bold\" \
             text-anchor=\"end\" fill=\"{CITED}\" {HALO}>{}</text></g>",
            escape(&violation.detail),
            self.right(),
            self.right() - 4.0,
            y - 8.0,
            escape(&text)
        );
        for x in violation.nodes.iter().filter_map(|node| self.x(*node)) {
            let _ = writeln!(
                svg,
                "<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"7\" fill=\"none\" stroke=\"{CITED}\" stroke-width=\"2.5\"/>"
            );
        }
    }
}

/// `text`, cut to `chars` characters with an ellipsis if it is longer.
fn shortened(text: &str, chars: usize) -> String {
    match text.chars().count() > chars {
        true => text.chars().take(chars - 1).chain(['\u{2026}']).collect(),
        false => text.to_string(),
    }
}

/// An operation's value and result columns, for its label.
fn value(op: &HistoryRow) -> String {
    if op.value.is_empty() {
        String::new()
    } else {
        format!(" {}", op.value)
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

/// Network faults bracketed at the side at most (columns of brackets).
const FAULT_COLUMNS: usize = 6;

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

fn message_title(message: &MessageRow, causal: bool) -> String {
    let fate = match message.delivered_ms {
        Some(at) => format!("delivered at {}", words::time(at)),
        None => message.fate.clone(),
    };
    let copy = if message.duplicate { " (a network copy)" } else { "" };
    let cause = message.cause.map_or_else(String::new, |cause| format!("; sent while handling #{cause}"));
    let causal = if causal { "; leads to what the violation cites" } else { "" };
    let payload = if message.payload.is_empty() { String::new() } else { format!("\n{}", message.payload) };
    format!(
        "#{} {}{copy} {} \u{2192} {}, sent at {}, {fate}{cause}{causal}{payload}",
        message.id,
        message.kind,
        message.from,
        message.to,
        words::time(message.sent_ms)
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
    html.push_str(
        "<span><b>bold</b>: led to what the violation cites</span><span>\u{2715} dropped</span><span>- - - in flight\
         </span><span><i style=\"background:#4e79a7; opacity:0.5\"></i>client operation</span>",
    );
    for (name, color) in FAULT_KINDS {
        let _ = write!(html, "<span><i style=\"background:{}; opacity:0.5\"></i>{name}</span>", chart::hex(color));
    }
    html.push_str("<span><i style=\"background:#c0392b\"></i>violation, and what it cites</span></p>\n");
    html
}

fn caption(data: &RunData, window: &Window) -> String {
    let drawn = window.messages.iter().filter(|shown| !shown.heartbeat).count();
    let folded = window.messages.len() - drawn;
    let folded = if folded > 0 { format!(" and {folded} heartbeats behind the toggle") } else { String::new() };
    let why = match window.causal {
        0 => "the moments before the failure".to_string(),
        causal => {
            format!("from the first moment the violation cites, with the {causal} messages that led to it in bold")
        }
    };
    format!(
        "<p>{drawn} messages{folded}, of the {} sent in this window (the run sent {}), {} client operations and {} \
         node events, from {} to {} (virtual time flows down): {why}. Hover over an arrow, a bar, a dot or a shaded \
         bar for its details.</p>\n",
        window.in_range,
        data.messages.len(),
        window.operations.len(),
        window.events.len(),
        words::time(window.start),
        words::time(window.end)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_keeps_flagged_items_then_those_closest_to_the_focus() {
        let items: Vec<f64> = (0..100).map(f64::from).collect();
        let kept = nearest(items.iter(), |t| (*t == 3.0, *t), 50.0, 5);
        let mut times: Vec<f64> = kept.iter().map(|(t, _)| **t).collect();
        times.sort_by(f64::total_cmp);
        assert_eq!(times, [3.0, 48.0, 49.0, 50.0, 51.0]);
        assert!(kept.iter().any(|(t, flag)| **t == 3.0 && *flag));
    }

    #[test]
    fn labels_that_would_overlap_move_or_are_left_out() {
        let mut labels = Labels::default();
        assert_eq!(labels.place(&[(0.0, 10.0)], 10, 10.0), Some((0.0, 10.0)));
        assert_eq!(labels.place(&[(5.0, 10.0), (5.0, 30.0)], 10, 10.0), Some((5.0, 30.0)));
        assert_eq!(labels.place(&[(2.0, 12.0)], 4, 10.0), None);
    }

    #[test]
    fn faults_name_their_node() {
        assert_eq!(fault_node("crash 1 losing unsynced writes"), Some(1));
        assert_eq!(fault_node("clock jump 3 by -9 ms"), Some(3));
        assert_eq!(fault_node("isolate 0"), Some(0));
        assert_eq!(fault_node("partition [[0]]"), None);
    }
}
