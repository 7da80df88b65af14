//! The page of a sweep (`report.html` in the sweep's directory): whether it passed and why
//! not, three plots drawn inline as SVG (verdicts per scenario, seeds per CPU second per
//! scenario, and which fault kinds fired in how many of each scenario's runs), and a table
//! per scenario with the first failure of each invariant, its replay command and its shrunk
//! scenario file. The simulator judges the sweep; this module only draws what it is given.

use std::fmt::Write as _;

use crate::chart::{self, FAIL_COLOR, GREY, INFO_COLOR, OK_COLOR};
use crate::html::{self, escape};

/// What the page shows, as the simulator judged it.
#[derive(Clone, Debug, Default)]
pub struct SweepPage {
    pub seeds: usize,
    pub swarm: bool,
    /// Why the sweep fails; empty when it passed.
    pub problems: Vec<String>,
    /// Seconds of simulation (CPU time) the rows took in all.
    pub cpu_seconds: f64,
    pub scenarios: Vec<ScenarioLine>,
}

/// One scenario of the sweep.
#[derive(Clone, Debug, Default)]
pub struct ScenarioLine {
    pub name: String,
    pub expect: String,
    pub runs: usize,
    /// Runs per verdict.
    pub verdicts: Vec<(String, usize)>,
    pub firsts: Vec<FirstLine>,
    /// Fault kinds configured, and in how many runs each fired.
    pub faults: Vec<(String, usize)>,
    /// Milestones, and in how many runs each was reached.
    pub milestones: Vec<(String, usize)>,
    /// Seconds of simulation its runs took.
    pub cpu_seconds: f64,
}

/// The first failure of one invariant of a scenario.
#[derive(Clone, Debug, Default)]
pub struct FirstLine {
    pub verdict: String,
    pub invariant: String,
    pub seed: u64,
    pub replay: String,
    /// A link to its shrunk scenario file, if one was written.
    pub shrunk: Option<String>,
}

/// The whole page.
pub fn render(page: &SweepPage) -> String {
    let passed = page.problems.is_empty();
    let verdict = match passed {
        true => html::verdict_badge("ok").replace(">ok<", ">passed<"),
        false => html::verdict_badge("violation").replace(">violation<", ">failed<"),
    };
    let mut body = format!(
        "<h1>Sweep <small>{} seeds of {} scenarios</small></h1>\n<p class=\"lead\">The sweep {verdict}{}. {:.1} \
         seeds per CPU second ({:.1} s of simulation in all).</p>\n",
        page.seeds,
        page.scenarios.len(),
        if page.swarm { " (swarm mode: each seed drew its own weather)" } else { "" },
        page.seeds as f64 / page.cpu_seconds.max(1e-9),
        page.cpu_seconds,
    );
    if !passed {
        body.push_str("<ul>\n");
        for problem in &page.problems {
            let _ = writeln!(body, "<li>{}</li>", escape(problem));
        }
        body.push_str("</ul>\n");
    }
    body.push_str("<h2>Verdicts per scenario</h2>\n");
    body.push_str(&verdicts_plot(page));
    body.push_str("<h2>Seeds per CPU second</h2>\n");
    body.push_str(&speed_plot(page));
    body.push_str("<h2>Fault coverage</h2>\n");
    body.push_str(&coverage_plot(page));
    body.push_str("<h2>Scenarios</h2>\n");
    body.push_str(&scenarios_table(page));
    html::page("faultline sweep", &body)
}

const VERDICT_COLORS: [(&str, plotters::style::RGBColor); 5] =
    [("ok", OK_COLOR), ("violation", FAIL_COLOR), ("stuck", INFO_COLOR), ("error", GREY), ("runaway", RUNAWAY_COLOR)];
/// A runaway run: a storm of work, neither a broken rule nor a crash.
const RUNAWAY_COLOR: plotters::style::RGBColor = plotters::style::RGBColor(0x8e, 0x44, 0xad);
const LABEL_WIDTH: f64 = 300.0;
const BAR_WIDTH: f64 = 480.0;
const ROW: f64 = 22.0;

/// An SVG of one row per scenario: its name on the left, then `draw` for the rest.
fn rows_plot(page: &SweepPage, caption: &str, mut draw: impl FnMut(&mut String, &ScenarioLine, f64)) -> String {
    let height = ROW * page.scenarios.len() as f64 + 10.0;
    let width = LABEL_WIDTH + BAR_WIDTH + 260.0;
    let mut svg = format!(
        "<svg width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" role=\"img\" \
         aria-label=\"{}\">\n",
        escape(caption)
    );
    for (index, scenario) in page.scenarios.iter().enumerate() {
        let y = 8.0 + ROW * index as f64;
        let _ = writeln!(
            svg,
            "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"12\" text-anchor=\"end\">{}</text>",
            LABEL_WIDTH - 8.0,
            y + 13.0,
            escape(&scenario.name)
        );
        draw(&mut svg, scenario, y);
    }
    svg.push_str("</svg>\n");
    format!("<figure class=\"svgplot\">{svg}<figcaption>{}</figcaption></figure>\n", escape(caption))
}

fn bar(svg: &mut String, x: f64, y: f64, width: f64, color: &str, title: &str) {
    let _ = writeln!(
        svg,
        "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{color}\"><title>{}</title></rect>",
        y + 2.0,
        width.max(0.0),
        ROW - 6.0,
        escape(title)
    );
}

fn verdicts_plot(page: &SweepPage) -> String {
    let legend: Vec<String> = VERDICT_COLORS
        .iter()
        .map(|(name, color)| format!("<span><i style=\"background:{}\"></i>{name}</span>", chart::hex(*color)))
        .collect();
    let caption = "Each scenario's seeds by verdict; the scenario's expected verdict is in brackets.";
    let plot = rows_plot(page, caption, |svg, scenario, y| {
        let runs = scenario.runs.max(1) as f64;
        let mut x = LABEL_WIDTH;
        for (verdict, color) in VERDICT_COLORS {
            let count = scenario.verdicts.iter().find(|(name, _)| name == verdict).map_or(0, |(_, count)| *count);
            let width = BAR_WIDTH * count as f64 / runs;
            let title = format!("{}: {verdict} {count} of {}", scenario.name, scenario.runs);
            bar(svg, x, y, width, &chart::hex(color), &title);
            x += width;
        }
        let counts: Vec<String> =
            scenario.verdicts.iter().map(|(verdict, count)| format!("{verdict} {count}")).collect();
        let _ = writeln!(
            svg,
            "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\" fill=\"#4a5263\">{} (expect {})</text>",
            x + 6.0,
            y + 13.0,
            escape(&counts.join(", ")),
            escape(&scenario.expect)
        );
    });
    format!("<p class=\"legend\">{}</p>\n{plot}", legend.join(""))
}

fn speed_plot(page: &SweepPage) -> String {
    let speed = |scenario: &ScenarioLine| scenario.runs as f64 / scenario.cpu_seconds.max(1e-9);
    let top = chart::nice_top(page.scenarios.iter().map(speed).fold(0.0, f64::max));
    let caption = format!(
        "Seeds each scenario ran per second of one core's time (the bar's full width is {} seeds/s): a slow \
         scenario takes the sweep's time.",
        chart::tick(top)
    );
    rows_plot(page, &caption, |svg, scenario, y| {
        let width = BAR_WIDTH * speed(scenario) / top;
        let title = format!("{}: {:.1} seeds/s", scenario.name, speed(scenario));
        bar(svg, LABEL_WIDTH, y, width, &chart::hex(OK_COLOR), &title);
        let _ = writeln!(
            svg,
            "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\" fill=\"#4a5263\">{:.1}</text>",
            LABEL_WIDTH + width + 6.0,
            y + 13.0,
            speed(scenario)
        );
    })
}

/// A grid: one row per scenario, one column per fault kind any scenario configures; a
/// cell's shade is the share of runs in which the kind fired, red when it never did.
fn coverage_plot(page: &SweepPage) -> String {
    let mut kinds: Vec<&str> =
        page.scenarios.iter().flat_map(|scenario| scenario.faults.iter().map(|(kind, _)| kind.as_str())).collect();
    kinds.sort_unstable();
    kinds.dedup();
    if kinds.is_empty() {
        return "<p>No scenario of this sweep configures faults.</p>\n".to_string();
    }
    let cell = (BAR_WIDTH / kinds.len() as f64).min(90.0);
    let caption = "In how many of each scenario's runs each configured fault kind fired (darker: more); a red \
                   cell is a kind that never fired, which fails the sweep (a vacuous pass); blank: not configured.";
    let header: String = kinds
        .iter()
        .enumerate()
        .map(|(column, kind)| {
            format!(
                "<text x=\"{:.1}\" y=\"0\" font-size=\"11\" text-anchor=\"middle\">{}</text>",
                LABEL_WIDTH + cell * (column as f64 + 0.5),
                escape(kind)
            )
        })
        .collect();
    let plot = rows_plot(page, caption, |svg, scenario, y| {
        for (column, kind) in kinds.iter().enumerate() {
            let Some((_, fired)) = scenario.faults.iter().find(|(name, _)| name == kind) else { continue };
            let share = *fired as f64 / scenario.runs.max(1) as f64;
            let x = LABEL_WIDTH + cell * column as f64;
            let title = format!("{}: {kind} fired in {fired} of {} runs", scenario.name, scenario.runs);
            let (fill, text) = match *fired {
                0 => ("#c0392b".to_string(), "0".to_string()),
                _ => (format!("rgba(78,121,167,{:.2})", 0.15 + 0.85 * share), format!("{:.0}%", 100.0 * share)),
            };
            let _ = writeln!(
                svg,
                "<g><title>{}</title><rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{fill}\"/>\
                 <text x=\"{:.1}\" y=\"{:.1}\" font-size=\"10\" text-anchor=\"middle\" fill=\"{}\">{text}</text></g>",
                escape(&title),
                x + 1.0,
                y + 2.0,
                cell - 2.0,
                ROW - 6.0,
                x + cell / 2.0,
                y + 13.0,
                if share > 0.5 || *fired == 0 { "#ffffff" } else { "#1d2330" }
            );
        }
    });
    // The column names go above the grid, in a strip of their own.
    let strip = format!(
        "<svg width=\"{:.0}\" height=\"18\" viewBox=\"0 -13 {:.0} 18\" aria-hidden=\"true\">{header}</svg>\n",
        LABEL_WIDTH + BAR_WIDTH + 260.0,
        LABEL_WIDTH + BAR_WIDTH + 260.0
    );
    strip + &plot
}

fn scenarios_table(page: &SweepPage) -> String {
    let mut html = String::from(
        "<table>\n<thead><tr><th>scenario</th><th>expect</th><th>verdicts</th><th>first failures</th>\
         <th>faults fired in</th><th>milestones in</th></tr></thead>\n<tbody>\n",
    );
    for scenario in &page.scenarios {
        let verdicts: Vec<String> =
            scenario.verdicts.iter().map(|(verdict, count)| format!("{} {count}", escape(verdict))).collect();
        let firsts: Vec<String> = scenario
            .firsts
            .iter()
            .map(|first| {
                let link = first
                    .shrunk
                    .as_ref()
                    .map_or_else(String::new, |link| format!(" (<a href=\"{}\">shrunk scenario</a>)", escape(link)));
                format!(
                    "{} {} at seed {}{link}<br><code>{}</code>",
                    escape(&first.verdict),
                    escape(&first.invariant),
                    first.seed,
                    escape(&first.replay)
                )
            })
            .collect();
        let faults: Vec<String> =
            scenario.faults.iter().map(|(kind, count)| format!("{} {count}/{}", escape(kind), scenario.runs)).collect();
        let milestones: Vec<String> = scenario
            .milestones
            .iter()
            .map(|(name, count)| format!("{} {count}/{}", escape(name), scenario.runs))
            .collect();
        let _ = writeln!(
            html,
            "<tr><td class=\"tight\">{}</td><td>{}</td><td class=\"tight\">{}</td><td>{}</td><td class=\"tight\">{}</td>\
             <td class=\"tight\">{}</td></tr>",
            escape(&scenario.name),
            escape(&scenario.expect),
            verdicts.join("<br>"),
            firsts.join("<br>"),
            faults.join("<br>"),
            milestones.join("<br>")
        );
    }
    html.push_str("</tbody>\n</table>\n");
    html
}
