//! The history view, after Porcupine's visualisation: one lane per client, each operation a
//! bar from its invocation to its completion labelled with its input and output, the
//! longest linearizable prefix shaded (with each of its operations numbered in the order
//! of a linearization), the instant by which the history cannot be linearized drawn as a
//! line, and the operations that cannot be ordered in red. Self-contained SVG, no scripts:
//! hovering a bar shows its full label.
//!
//! A failing run's report shows it for the run's client history ([`run_section`], from the
//! check's result the run wrote); `faultline check-history --html` writes it as a page of
//! its own.
//!
//! Bars are placed by the rank of their events, not by time (as Porcupine does), so that
//! short operations among long ones stay readable. A long history is shown in a window: for
//! a violation, the operations of its key up to the cut, the last [`MAX_OPERATIONS`]; for a
//! linearizable history, the first ones.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io;
use std::path::Path;

use serde::Deserialize;

use crate::html::{self, escape};
use crate::RunData;

/// The linearizability check's result that a run writes beside its tables (the checker's
/// report as JSON; only the fields the view needs are read).
pub const CHECK_FILE: &str = "linearizability.json";

/// Operations drawn in one view at most.
pub const MAX_OPERATIONS: usize = 60;

/// What to draw.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HistoryView {
    /// The unit of the instants, for labels: "line" or "ms".
    pub unit: String,
    pub ops: Vec<ViewOp>,
    /// Per key found not linearizable (in report order).
    pub violations: Vec<ViewViolation>,
}

/// One operation.
#[derive(Clone, Debug, PartialEq)]
pub struct ViewOp {
    pub process: u64,
    pub key: Option<String>,
    pub call: f64,
    /// `None`: open (`:info` or never completed).
    pub ret: Option<f64>,
    /// Input and output in words.
    pub label: String,
}

/// A key that is not linearizable, with the evidence.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ViewViolation {
    pub key: Option<String>,
    /// The key's history up to here cannot be linearized.
    pub cut: f64,
    /// The key's history up to here was shown linearizable.
    pub linearizable_until: Option<f64>,
    /// A linearization of that prefix: (process, call) in order.
    pub linearization: Vec<(u64, f64)>,
    /// The operations that cannot be ordered: (process, call).
    pub witness: Vec<(u64, f64)>,
}

/// The view as an HTML fragment: a legend, then one diagram per violation (at most three),
/// or one of the start of the history if there is none.
pub fn section(view: &HistoryView) -> String {
    let mut html = String::from(STYLE);
    html.push_str(
        "<p class=\"legend\"><span><i style=\"background:#7f9cc4\"></i>operation</span>\
         <span><i style=\"background:#58a66b\"></i>in the longest linearizable prefix (numbered in a linearization \
         order)</span><span><i style=\"background:#d6453d\"></i>cannot be ordered</span>\
         <span><i style=\"background:#c9ced6\"></i>open (outcome unknown)</span></p>\n",
    );
    if view.violations.is_empty() {
        let shown: Vec<&ViewOp> = view.ops.iter().take(MAX_OPERATIONS).collect();
        let _ = writeln!(
            html,
            "<p>Every key is linearizable. {}</p>",
            window_note(shown.len(), view.ops.len(), "the first")
        );
        html.push_str(&diagram(&shown, None, &view.unit));
    }
    for violation in view.violations.iter().take(3) {
        let key_ops: Vec<&ViewOp> =
            view.ops.iter().filter(|op| op.key == violation.key && op.call <= violation.cut).collect();
        let mut shown: Vec<&ViewOp> = key_ops.iter().rev().take(MAX_OPERATIONS).rev().copied().collect();
        // Witness operations invoked before the window are drawn too.
        let first = shown.first().map_or(f64::MAX, |op| op.call);
        let early = key_ops.iter().filter(|op| op.call < first && is_in(&violation.witness, op));
        shown.splice(0..0, early.copied().collect::<Vec<_>>());
        let key = violation.key.as_deref().map_or_else(|| "The history".to_string(), |key| format!("Key {key}"));
        let until = violation.linearizable_until.map_or_else(
            || "no prefix was shown linearizable".to_string(),
            |until| format!("it is linearizable up to {}", instant(&view.unit, until)),
        );
        let _ = writeln!(
            html,
            "<p>{}: {until}, and cannot be linearized by {}; the {} red operations cannot be ordered \
             consistently with their times and the model even if each of the others may not have taken effect. {}</p>",
            escape(&key),
            escape(&instant(&view.unit, violation.cut)),
            violation.witness.len(),
            window_note(shown.len(), key_ops.len(), "the last")
        );
        html.push_str(&diagram(&shown, Some(violation), &view.unit));
    }
    html
}

/// The history view of the run directory `dir`, if the run's history was checked (it
/// wrote [`CHECK_FILE`]) and found not linearizable; instants in milliseconds. (A passing
/// run's page stays as light as before: `check-history --html` draws any history.)
pub fn run_section(dir: &Path, data: &RunData) -> io::Result<Option<String>> {
    let path = dir.join(CHECK_FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(error),
    };
    let check: CheckFile =
        serde_json::from_str(&text).map_err(|error| io::Error::other(format!("{}: {error}", path.display())))?;
    if check.violations.is_empty() {
        return Ok(None);
    }
    let ms = |ns: u64| ns as f64 / 1e6;
    let refs = |ops: &[OpRefFile]| ops.iter().map(|op| (op.process, ms(op.call))).collect();
    let violations = check
        .violations
        .iter()
        .map(|violation| ViewViolation {
            key: violation.key.clone(),
            cut: ms(violation.cut),
            linearizable_until: violation.linearizable_until.map(ms),
            linearization: refs(&violation.linearization),
            witness: refs(&violation.operations),
        })
        .collect();
    let ops = data
        .history
        .iter()
        .map(|row| {
            let value = if row.value.is_empty() { String::new() } else { format!(" {}", row.value) };
            let told = match (row.kind.as_str(), row.result.is_empty()) {
                ("ok", false) => format!("returned {}", row.result),
                (kind, _) => kind.to_string(),
            };
            ViewOp {
                process: u64::from(row.process),
                // As the checker names keys: proposals share the consensus decision.
                key: Some(row.key.map_or_else(|| "the consensus decision".to_string(), |key| key.to_string())),
                call: row.invoked_ms,
                ret: row.completed_ms.filter(|_| row.kind != "info"),
                label: format!("{}{value}: {told}", row.f),
            }
        })
        .collect();
    Ok(Some(section(&HistoryView { unit: "ms".to_string(), ops, violations })))
}

#[derive(Deserialize)]
struct CheckFile {
    violations: Vec<ViolationFile>,
}

#[derive(Deserialize)]
struct ViolationFile {
    key: Option<String>,
    cut: u64,
    linearizable_until: Option<u64>,
    linearization: Vec<OpRefFile>,
    operations: Vec<OpRefFile>,
}

#[derive(Deserialize)]
struct OpRefFile {
    process: u64,
    call: u64,
}

/// The view as a whole page.
pub fn page(title: &str, verdict: &str, summary: &str, view: &HistoryView) -> String {
    let mut body = format!(
        "<h1>{} <small>history</small></h1>\n<p class=\"lead\">Verdict {}.</p>\n{STYLE}<pre \
         class=\"history-summary\"><code>{}</code></pre>\n",
        escape(title),
        html::verdict_badge(verdict),
        escape(summary.trim_end())
    );
    body.push_str("<h2>History</h2>\n");
    body.push_str(&section(view));
    html::page(&format!("faultline: {title} ({verdict})"), &body)
}

fn window_note(shown: usize, total: usize, which: &str) -> String {
    if shown < total {
        format!("Shown: {which} {shown} of {total} operations.")
    } else {
        String::new()
    }
}

fn is_in(list: &[(u64, f64)], op: &ViewOp) -> bool {
    list.iter().any(|&(process, call)| process == op.process && call == op.call)
}

/// An instant in words: `line 85`, `561.422447 ms`.
fn instant(unit: &str, value: f64) -> String {
    match unit {
        "ms" => format!("{value:.6} ms"),
        _ => format!("{unit} {value:.0}"),
    }
}

const LANE: f64 = 30.0;
const BAR: f64 = 20.0;
const LEFT: f64 = 90.0;
const TOP: f64 = 34.0;
/// Pixels between consecutive instants at least.
const GAP: f64 = 14.0;
/// Pixels a character of an 11 px label takes, about.
const CHAR: f64 = 6.3;
/// Characters of a label a bar makes room for (a longer one is cut; its tooltip has it all).
const LABEL_MAX: usize = 26;

/// One diagram of `ops`, with the marks of `violation`. Instants are placed in order, each
/// as far right of the one before as the labels of the operations that end there need.
fn diagram(ops: &[&ViewOp], violation: Option<&ViewViolation>, unit: &str) -> String {
    let mut instants: Vec<f64> = ops.iter().flat_map(|op| std::iter::once(op.call).chain(op.ret)).collect();
    if let Some(violation) = violation {
        instants.push(violation.cut);
        instants.extend(violation.linearizable_until);
    }
    instants.sort_by(f64::total_cmp);
    instants.dedup();
    let rank = |at: f64| instants.partition_point(|&i| i < at);
    let order: BTreeMap<(u64, u64), usize> = violation
        .map(|v| v.linearization.iter().enumerate().map(|(at, &(p, call))| ((p, call.to_bits()), at + 1)).collect())
        .unwrap_or_default();
    let labels: Vec<String> = ops
        .iter()
        .map(|op| match order.get(&(op.process, op.call.to_bits())) {
            Some(number) => format!("{number}. {}", compact(&op.label)),
            None => compact(&op.label),
        })
        .collect();
    let need = |op: usize| labels[op].chars().count().min(LABEL_MAX) as f64 * CHAR + 12.0;
    let mut ending: Vec<Vec<usize>> = vec![Vec::new(); instants.len()];
    for (index, op) in ops.iter().enumerate() {
        if let Some(ret) = op.ret.filter(|&ret| rank(ret) > rank(op.call)) {
            ending[rank(ret)].push(index);
        }
    }
    let mut position = vec![GAP; instants.len()];
    for at in 1..instants.len() {
        let after_ops = ending[at].iter().map(|&op| position[rank(ops[op].call)] + need(op));
        position[at] = after_ops.fold(position[at - 1] + GAP, f64::max);
    }
    let last = position.last().copied().unwrap_or(GAP);
    let open_ends =
        ops.iter().enumerate().filter(|(_, op)| op.ret.is_none()).map(|(i, op)| position[rank(op.call)] + need(i));
    let end = open_ends.fold(last + GAP, f64::max);
    let x = |at: f64| position.get(rank(at)).copied().unwrap_or(end);
    let lanes: BTreeMap<u64, usize> = {
        let mut processes: Vec<u64> = ops.iter().map(|op| op.process).collect();
        processes.sort_unstable();
        processes.dedup();
        processes.into_iter().enumerate().map(|(lane, process)| (process, lane)).collect()
    };
    let height = TOP + LANE * lanes.len() as f64 + 10.0;
    let width = end + 10.0;
    let mut svg = format!(
        "<svg width=\"{width:.0}\" height=\"{height:.0}\" viewBox=\"0 0 {width:.0} {height:.0}\" role=\"img\" \
         aria-label=\"history\">\n"
    );
    if let Some(violation) = violation {
        draw_marks(&mut svg, violation, &x, height, unit);
    }
    // The lanes' names stay in view in a column of their own.
    let mut names = format!(
        "<svg width=\"{LEFT:.0}\" height=\"{height:.0}\" viewBox=\"0 0 {LEFT:.0} {height:.0}\" role=\"img\" \
         aria-label=\"clients\">\n"
    );
    for (&process, &lane) in &lanes {
        let y = TOP + LANE * lane as f64 + LANE / 2.0;
        let _ = writeln!(svg, "<line x1=\"0\" y1=\"{y:.1}\" x2=\"{end:.1}\" y2=\"{y:.1}\" stroke=\"#eef0f3\"/>");
        let _ = writeln!(
            names,
            "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"12\" text-anchor=\"end\" fill=\"#4a5263\">client {process}</text>",
            LEFT - 8.0,
            y + 4.0
        );
    }
    names.push_str("</svg>\n");
    for (index, op) in ops.iter().enumerate() {
        let y = TOP + LANE * lanes[&op.process] as f64 + (LANE - BAR) / 2.0;
        let span = (x(op.call), op.ret.map_or(end - 2.0, &x));
        let style = Style {
            numbered: order.contains_key(&(op.process, op.call.to_bits())),
            witness: violation.is_some_and(|v| is_in(&v.witness, op)),
        };
        draw_op(&mut svg, (op, &labels[index]), y, span, style);
    }
    svg.push_str("</svg>\n");
    // A violation is at the right end: a right-to-left box starts scrolled there.
    let class = if violation.is_some() { "history-view at-end" } else { "history-view" };
    format!("<div class=\"history-lanes\">\n{names}<div class=\"{class}\">\n{svg}</div>\n</div>\n")
}

/// A label made short for a bar: `write 1: ok` reads `write 1`, `read: returned 2` reads
/// `read \u{2192} 2`, an unknown outcome `?` and a failed cas `\u{2717}`.
fn compact(label: &str) -> String {
    label
        .replace(": info (outcome unknown)", " ?")
        .replace(": fail (did not apply)", " \u{2717}")
        .replace(": returned ", " \u{2192} ")
        .replace(": ok", "")
}

/// How a bar is drawn.
#[derive(Clone, Copy)]
struct Style {
    /// In the longest linearizable prefix's linearization.
    numbered: bool,
    /// One of the operations that cannot be ordered.
    witness: bool,
}

fn draw_marks(svg: &mut String, violation: &ViewViolation, x: &dyn Fn(f64) -> f64, height: f64, unit: &str) {
    if let Some(until) = violation.linearizable_until {
        let _ = writeln!(
            svg,
            "<rect x=\"0\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"#eaf6ec\"/>\
             <text x=\"{:.1}\" y=\"12\" font-size=\"11\" text-anchor=\"end\" fill=\"#2e7d45\">\
             linearizable up to {} \u{2192}</text>",
            TOP - 4.0,
            x(until).max(0.0),
            height - TOP,
            (x(until) - 4.0).max(200.0),
            escape(&instant(unit, until))
        );
    }
    let cut = x(violation.cut);
    let _ = writeln!(
        svg,
        "<line x1=\"{cut:.1}\" y1=\"16\" x2=\"{cut:.1}\" y2=\"{:.1}\" stroke=\"#c0392b\" stroke-width=\"2\" \
         stroke-dasharray=\"5 3\"/><text x=\"{:.1}\" y=\"26\" font-size=\"11\" text-anchor=\"end\" \
         fill=\"#c0392b\">not linearizable by {}</text>",
        height - 4.0,
        cut - 4.0,
        escape(&instant(unit, violation.cut))
    );
}

/// One bar from `start` to `stop`, labelled `label` (the full label in its tooltip).
fn draw_op(svg: &mut String, (op, label): (&ViewOp, &str), y: f64, (start, stop): (f64, f64), style: Style) {
    let (fill, stroke, text) = match (style.witness, style.numbered, op.ret) {
        (true, _, _) => ("#d6453d", "#a32a23", "#fff"),
        (_, true, _) => ("#58a66b", "#3e7f50", "#fff"),
        (_, _, None) => ("#e4e7ec", "#9aa2ae", "#3a4150"),
        _ => ("#7f9cc4", "#5a7aa6", "#fff"),
    };
    let dash = if op.ret.is_none() { " stroke-dasharray=\"4 3\"" } else { "" };
    let width = (stop - start).max(6.0);
    let open = if op.ret.is_none() { " (open)" } else { "" };
    let _ = writeln!(
        svg,
        "<g><title>client {}{}: {}{open}</title><rect x=\"{start:.1}\" y=\"{y:.1}\" width=\"{width:.1}\" \
         height=\"{BAR}\" rx=\"3\" fill=\"{fill}\" stroke=\"{stroke}\"{dash}/>\
         <text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\" fill=\"{text}\"{}>{}</text></g>",
        op.process,
        op.key.as_deref().map(|key| format!(", key {key}")).unwrap_or_default(),
        escape(&op.label),
        start + 5.0,
        y + 14.0,
        if style.witness { " font-weight=\"bold\"" } else { "" },
        escape(&fit(label, width - 8.0))
    );
}

/// `label` cut to fit `width` pixels at 11 px, with an ellipsis.
fn fit(label: &str, width: f64) -> String {
    let room = (width / CHAR).floor().max(0.0) as usize;
    if label.chars().count() <= room {
        return label.to_string();
    }
    match room {
        0 | 1 => String::new(),
        _ => label.chars().take(room - 1).chain(std::iter::once('\u{2026}')).collect(),
    }
}

const STYLE: &str = "<style>\n.history-lanes { display: flex; border: 1px solid #e3e6ea; margin: 8px 0 20px; }\n\
                     .history-lanes > svg { flex: none; border-right: 1px solid #e3e6ea; }\n\
                     .history-view { overflow-x: auto; flex: 1; }\n\
                     .history-view.at-end { direction: rtl; }\n.history-view svg { direction: ltr; }\n\
                     .history-lanes text { font-family: 'DejaVu Sans', sans-serif; }\n\
                     pre.history-summary { white-space: pre-wrap; }\n</style>\n";

#[cfg(test)]
mod tests {
    use super::*;

    fn op(process: u64, call: f64, ret: Option<f64>, label: &str) -> ViewOp {
        ViewOp { process, key: Some("k".to_string()), call, ret, label: label.to_string() }
    }

    #[test]
    fn a_violation_marks_its_prefix_cut_and_witness() {
        let view = HistoryView {
            unit: "line".to_string(),
            ops: vec![
                op(0, 1.0, Some(2.0), "write 1: ok"),
                op(1, 3.0, Some(6.0), "read: returned 2"),
                op(2, 4.0, None, "write 3: info"),
            ],
            violations: vec![ViewViolation {
                key: Some("k".to_string()),
                cut: 6.0,
                linearizable_until: Some(2.0),
                linearization: vec![(0, 1.0)],
                witness: vec![(0, 1.0), (1, 3.0)],
            }],
        };
        let html = page("h.log", "not-linearizable", "NOT linearizable", &view);
        assert_eq!(html::check_well_formed(&html), Ok(()));
        assert!(html.contains("linearizable up to line 2") && html.contains("not linearizable by line 6"), "{html}");
        assert_eq!(html.matches("fill=\"#d6453d\"").count(), 2, "the two witness bars are red");
        assert!(html.contains(">1. write 1</text>"), "the prefix's linearization is numbered, labels compact");
        assert!(html.contains("stroke-dasharray=\"4 3\"") && html.contains("(open)"), "open operations are marked");
        assert!(!html.contains("http"), "nothing is fetched");
    }

    #[test]
    fn a_long_linearizable_history_is_shown_in_a_window_with_fitted_labels() {
        let ops = (0..400).map(|i| {
            op(i % 7, f64::from(i as u32) * 2.0, Some(f64::from(i as u32) * 2.0 + 3.0), "append \"a long value\": ok")
        });
        let view = HistoryView { unit: "ms".to_string(), ops: ops.collect(), violations: Vec::new() };
        let html = section(&view);
        assert_eq!(html.matches("<rect").count(), MAX_OPERATIONS);
        assert_eq!(compact("read: returned 2"), "read \u{2192} 2");
        assert!(html.contains("Shown: the first 60 of 400 operations."));
        assert!(!html.contains('\u{2026}'), "every label fits its bar");
        assert_eq!(fit("abcdef", CHAR * 4.0), "abc\u{2026}");
        assert_eq!(fit("abc", 100.0), "abc");
    }
}
