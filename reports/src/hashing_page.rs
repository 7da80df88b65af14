//! The `faultline hashing` page: the placement schemes side by side against the theory. The
//! simulator measures (`sim::hashing`) and hands over a [`HashingPage`]; this module draws
//! its four PNGs (load per server, max/mean load against virtual nodes, keys moved by a join
//! against K/(N+1), lookup cost) and writes one self-contained `report.html` with the tables
//! and the plots inline.

use std::fmt::Write as _;
use std::io;
use std::path::{Path, PathBuf};

use crate::chart::{self, Axes, Bands, BarChart, BarSeries, Plot, Scale, Series, GREY, PALETTE};
use crate::html::{self, escape};
use crate::plots::Figure;
use crate::run_report::{figures_html, REPORT_FILE};

/// What the page shows, as measured.
#[derive(Clone, Debug, Default)]
pub struct HashingPage {
    pub servers: usize,
    pub keys: u64,
    pub virtual_nodes: u32,
    pub epsilon: f64,
    pub table_size: u64,
    /// The command that made the page, and the machine it ran on (cores, load).
    pub command: String,
    pub machine: String,
    pub schemes: Vec<SchemeFigures>,
    /// Max/mean load against virtual nodes, per scheme that has them.
    pub balance_by_virtual_nodes: Vec<Curve>,
    /// Share of the keys moved by a join against the number of servers, per scheme.
    pub moved_by_servers: Vec<Curve>,
    /// The cluster sizes the lookup cost was measured at.
    pub lookup_servers: Vec<usize>,
}

/// One scheme's figures on `servers` servers.
#[derive(Clone, Debug, Default)]
pub struct SchemeFigures {
    pub name: String,
    /// Keys per server, in member order.
    pub loads: Vec<u64>,
    pub max_over_mean: f64,
    pub min_over_mean: f64,
    /// What the theory allows for max/mean, and in words.
    pub bound: f64,
    pub bound_words: String,
    /// A join of one server: keys moved, and those moved between servers that stay.
    pub join_moved: u64,
    pub join_between_survivors: u64,
    /// A leave of the server in the middle slot.
    pub leave_moved: u64,
    pub leave_between_survivors: u64,
    /// Nanoseconds per lookup at each of `lookup_servers`, and microseconds to build.
    pub lookup_ns: Vec<f64>,
    pub build_us: Vec<f64>,
}

/// A named line of (x, y) points.
#[derive(Clone, Debug, Default)]
pub struct Curve {
    pub name: String,
    pub points: Vec<(f64, f64)>,
    /// A theory line, drawn grey.
    pub theory: bool,
}

/// Writes the page's PNGs and `report.html` into `out`; returns the page.
pub fn render(page: &HashingPage, out: &Path) -> io::Result<PathBuf> {
    std::fs::create_dir_all(out)?;
    let figures = vec![
        load_per_server(page, out)?,
        balance_by_virtual_nodes(page, out)?,
        moved_by_servers(page, out)?,
        lookup_cost(page, out)?,
    ];
    let mut body = String::from("<h1>Consistent hashing: placement schemes against the theory</h1>\n");
    let _ = writeln!(
        body,
        "<p class=\"lead\">{} servers, {} keys (the universe 0..{}), {} virtual nodes per server for the ring and \
         bounded loads, epsilon {} for bounded loads, a Maglev table of {} entries. Lookup times measured on {}.</p>\n\
         <p>Made by <code>{}</code>.</p>",
        page.servers,
        page.keys,
        page.keys,
        page.virtual_nodes,
        page.epsilon,
        page.table_size,
        escape(&page.machine),
        escape(&page.command)
    );
    body.push_str("<h2>Balance and movement</h2>\n");
    body.push_str(&balance_table(page));
    body.push_str("<h2>Lookup cost</h2>\n");
    body.push_str(&lookup_table(page));
    body.push_str("<h2>Plots</h2>\n");
    body.push_str(&figures_html(&figures, out)?);
    let path = out.join(REPORT_FILE);
    std::fs::write(&path, html::page("faultline: consistent hashing", &body))?;
    Ok(path)
}

fn color(index: usize) -> plotters::style::RGBColor {
    PALETTE[index % PALETTE.len()]
}

fn balance_table(page: &HashingPage) -> String {
    let join_theory = page.keys as f64 / (page.servers + 1) as f64;
    let leave_theory = page.keys as f64 / page.servers as f64;
    let balance: Vec<Vec<String>> = page
        .schemes
        .iter()
        .map(|s| {
            vec![
                s.name.clone(),
                format!("{:.3}", s.max_over_mean),
                format!("{:.3}", s.min_over_mean),
                format!("{:.3}", s.bound),
                s.bound_words.clone(),
            ]
        })
        .collect();
    let mut html =
        html::table(&["scheme", "max/mean", "min/mean", "theory", "theory's max/mean"], &balance, &[1, 2, 3]);
    let movement: Vec<Vec<String>> = page
        .schemes
        .iter()
        .map(|s| {
            vec![
                s.name.clone(),
                s.join_moved.to_string(),
                format!("{:.2}", s.join_moved as f64 / join_theory),
                s.join_between_survivors.to_string(),
                s.leave_moved.to_string(),
                format!("{:.2}", s.leave_moved as f64 / leave_theory),
                s.leave_between_survivors.to_string(),
            ]
        })
        .collect();
    let headers =
        ["scheme", "join: keys moved", "x K/(N+1)", "between stayers", "leave: keys moved", "x K/N", "between stayers"];
    html.push_str(&html::table(&headers, &movement, &[1, 2, 3, 4, 5, 6]));
    let _ = writeln!(
        html,
        "<p>A join adds server {} at the end of the view; a leave removes the member in the middle slot (jump's \
         last slot moves into it). K/(N+1) = {join_theory:.0} and K/N = {leave_theory:.0} are the least any \
         scheme can move; \"between stayers\" counts keys whose owner changed although both the old and the new \
         owner are members before and after.</p>",
        page.servers
    );
    html
}

fn lookup_table(page: &HashingPage) -> String {
    let mut headers: Vec<String> = vec!["scheme".to_string()];
    for servers in &page.lookup_servers {
        headers.push(format!("lookup ns, N = {servers}"));
    }
    for servers in &page.lookup_servers {
        headers.push(format!("build us, N = {servers}"));
    }
    let rows: Vec<Vec<String>> = page
        .schemes
        .iter()
        .map(|s| {
            let mut row = vec![s.name.clone()];
            row.extend(s.lookup_ns.iter().map(|ns| format!("{ns:.1}")));
            row.extend(s.build_us.iter().map(|us| format!("{us:.0}")));
            row
        })
        .collect();
    let headers: Vec<&str> = headers.iter().map(String::as_str).collect();
    let numeric: Vec<usize> = (1..headers.len()).collect();
    let mut html = html::table(&headers, &rows, &numeric);
    html.push_str(
        "<p>Wall-clock time of one lookup (the owner of a random key), the best of three passes, on the machine \
         named above: a measurement, not a bound. Build: the time to make the placement for a membership (sort the \
         ring, fill the Maglev table, assign bounded loads), paid once per view.</p>\n",
    );
    html
}

fn figure(file: &str, title: &str, caption: &str) -> Figure {
    Figure { file: file.into(), title: title.into(), caption: caption.into() }
}

fn load_per_server(page: &HashingPage, out: &Path) -> io::Result<Figure> {
    let title = "Load per server";
    let mean = page.keys as f64 / page.servers.max(1) as f64;
    let series: Vec<Series> = page
        .schemes
        .iter()
        .enumerate()
        .map(|(index, scheme)| Series {
            name: scheme.name.clone(),
            color: color(index),
            points: scheme
                .loads
                .iter()
                .enumerate()
                .map(|(server, load)| (server as f64, *load as f64 / mean))
                .collect(),
        })
        .collect();
    let top = series.iter().flat_map(|s| s.points.iter().map(|p| p.1)).fold(1.0, f64::max);
    let plot = Plot {
        axes: Axes { title, x: "server (slot in the view)", y: "keys held / mean" },
        x: 0.0..(page.servers.max(2) - 1) as f64,
        x_scale: Scale::Linear,
        y: 0.0..chart::nice_top(top),
        bands: Bands::default(),
        marks: Vec::new(),
    };
    chart::lines(&out.join("load-per-server.png"), &plot, &series)?;
    Ok(figure(
        "load-per-server.png",
        title,
        &format!(
            "The keys each of the {} servers holds, over the mean ({} keys): 1 is perfect balance. The ring with \
             concatenated labels starves the servers whose labels collide with others'.",
            page.servers,
            page.keys / page.servers.max(1) as u64
        ),
    ))
}

/// Theory lines in greys, the rest in the palette's order; the theory is drawn last, on top
/// of the measurements that follow it closely.
fn curves(curves: &[Curve]) -> Vec<Series> {
    const GREYS: [plotters::style::RGBColor; 2] = [GREY, plotters::style::RGBColor(0x4a, 0x4a, 0x4a)];
    let (mut colors, mut greys) = (0, 0);
    let mut series = curves
        .iter()
        .map(|curve| {
            let color = if curve.theory {
                greys += 1;
                GREYS[(greys - 1) % GREYS.len()]
            } else {
                colors += 1;
                color(colors - 1)
            };
            (curve.theory, Series { name: curve.name.clone(), color, points: curve.points.clone() })
        })
        .collect::<Vec<_>>();
    series.sort_by_key(|(theory, _)| *theory);
    series.into_iter().map(|(_, series)| series).collect()
}

fn balance_by_virtual_nodes(page: &HashingPage, out: &Path) -> io::Result<Figure> {
    let title = "Max/mean load against virtual nodes per server";
    let series = curves(&page.balance_by_virtual_nodes);
    let xs: Vec<f64> = series.iter().flat_map(|s| s.points.iter().map(|p| p.0)).collect();
    let low = xs.iter().copied().fold(f64::INFINITY, f64::min).max(1.0);
    let high = xs.iter().copied().fold(1.0, f64::max);
    let top = series.iter().flat_map(|s| s.points.iter().map(|p| p.1)).fold(1.0, f64::max);
    let plot = Plot {
        axes: Axes { title, x: "virtual nodes per server (log scale)", y: "max/mean load" },
        x: low..high,
        x_scale: Scale::Log,
        y: 0.0..chart::nice_top(top.min(8.0)),
        bands: Bands::default(),
        marks: Vec::new(),
    };
    chart::lines(&out.join("balance-by-virtual-nodes.png"), &plot, &series)?;
    Ok(figure(
        "balance-by-virtual-nodes.png",
        title,
        &format!(
            "The most loaded of {} servers over the mean, as the ring gets more virtual nodes, against the theory's \
             1 + sqrt(2 ln N / v) (light grey); bounded loads stay at or under their capacity ceil((1 + epsilon) K / N) / \
             (K / N) (dark grey, flat) whatever v.",
            page.servers
        ),
    ))
}

fn moved_by_servers(page: &HashingPage, out: &Path) -> io::Result<Figure> {
    let title = "Keys moved by a join, against K/(N+1)";
    let series = curves(&page.moved_by_servers);
    let xs: Vec<f64> = series.iter().flat_map(|s| s.points.iter().map(|p| p.0)).collect();
    let low = xs.iter().copied().fold(f64::INFINITY, f64::min).max(1.0);
    let high = xs.iter().copied().fold(1.0, f64::max);
    let plot = Plot {
        axes: Axes { title, x: "servers before the join, N (log scale)", y: "share of all keys moved" },
        x: low..high,
        x_scale: Scale::Log,
        y: 0.0..1.0,
        bands: Bands::default(),
        marks: Vec::new(),
    };
    chart::lines(&out.join("keys-moved-by-join.png"), &plot, &series)?;
    Ok(figure(
        "keys-moved-by-join.png",
        title,
        "The share of the keys whose owner changes when one server joins N, against the least possible, 1/(N+1) \
         (grey). Hash mod N moves nearly all of them, N/(N+1); the consistent schemes stay on the line.",
    ))
}

fn lookup_cost(page: &HashingPage, out: &Path) -> io::Result<Figure> {
    let title = "Lookup cost";
    let series: Vec<BarSeries> = page
        .lookup_servers
        .iter()
        .enumerate()
        .map(|(index, servers)| BarSeries {
            name: format!("{servers} servers"),
            color: color(index),
            values: page.schemes.iter().map(|scheme| scheme.lookup_ns.get(index).copied().unwrap_or(0.0)).collect(),
        })
        .collect();
    let bars = BarChart {
        axes: Axes { title, x: "scheme", y: "nanoseconds per lookup (measured)" },
        groups: page.schemes.iter().map(|scheme| scheme.name.clone()).collect(),
        series,
        format: |value| format!("{value:.0}"),
    };
    chart::bars(&out.join("lookup-cost.png"), &bars)?;
    Ok(figure(
        "lookup-cost.png",
        title,
        &format!(
            "Wall-clock nanoseconds per lookup on {}: rendezvous hashing weighs every server (O(N)), the ring \
             searches its N v points (O(log Nv), slower once they outgrow the caches), jump walks O(ln N) steps, \
             Maglev and modulo read one entry, and bounded loads read the owner from the assignment it made for the \
             whole key universe when the view was built.",
            page.machine
        ),
    ))
}
