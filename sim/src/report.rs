//! `faultline report`: the reports of run directories and sweep directories, rendered from
//! what the runs wrote.
//!
//! - `faultline report RUN_DIR... [--scenario FILE] [--out DIR]` renders the report of each
//!   run directory (PNG plots, `report.html`, `trace.json`; see `reports::run_report`) into
//!   the run directory itself, or into `--out` (one run) or `--out/<run>` (several).
//! - A sweep directory gets the sweep page (`reports::sweep_page`).
//!
//! Comparisons of protocols side by side live in [`crate::compare`]. This module renders;
//! the command line (`cli`) turns its results into exit codes.

use std::path::{Path, PathBuf};

/// Renders the report of a run directory (or a sweep directory) `dir` into `out`;
/// `replay` replaces the replay command the run recorded. Returns the page written.
pub fn render_dir(dir: &Path, out: &Path, replay: Option<&str>) -> Result<PathBuf, String> {
    if dir.join("summary.json").is_file() {
        reports::render_run_into(dir, out, replay).map_err(|error| error.to_string())?;
    } else if dir.join("sweep.csv").is_file() {
        render_sweep(dir, out)?;
    } else {
        return Err("not a run directory (it has no summary.json) nor a sweep's (no sweep.csv)".to_string());
    }
    Ok(out.join(reports::REPORT_FILE))
}

/// The report of a sweep directory: `report.html` with the verdict counts per scenario,
/// the first failure of each scenario and invariant with its replay command and a link to
/// its shrunk scenario, the fault-coverage and milestone counts, and the time the seeds took.
pub fn render_sweep(dir: &Path, out: &Path) -> Result<(), String> {
    let rows = crate::sweep::read_rows(&dir.join("sweep.csv")).map_err(|error| error.to_string())?;
    if rows.is_empty() {
        return Err("sweep.csv holds no rows".to_string());
    }
    let swarm = rows.iter().any(|row| row.swarm);
    let summary = crate::sweep::Summary::of(&rows, crate::sweep::SummaryOptions { swarm, ..Default::default() });
    let shrunk = shrunk_files(&dir.join("shrunk"));
    let shrunk_dir = relative_shrunk_dir(dir, out);
    let cpu = |name: &str| rows.iter().filter(|row| row.scenario == name).map(|row| row.wall_ms).sum::<f64>() / 1e3;
    let scenarios = summary
        .scenarios
        .iter()
        .map(|scenario| {
            let firsts = scenario.firsts.iter().map(|first| {
                let file = format!("{}-seed-{}.toml", scenario.name.replace('/', "-"), first.seed);
                reports::sweep_page::FirstLine {
                    verdict: first.verdict.clone(),
                    invariant: first.invariant.clone(),
                    seed: first.seed,
                    replay: first.replay.clone(),
                    shrunk: shrunk.contains(&file).then(|| format!("{shrunk_dir}/{file}")),
                }
            });
            let runs = scenario.runs;
            reports::sweep_page::ScenarioLine {
                name: scenario.name.clone(),
                expect: scenario.expect.clone(),
                runs,
                verdicts: scenario.verdicts.iter().map(|(verdict, count)| (verdict.clone(), *count)).collect(),
                firsts: firsts.collect(),
                faults: scenario
                    .configured
                    .iter()
                    .map(|kind| (kind.clone(), scenario.fired.get(kind).copied().unwrap_or(0)))
                    .collect(),
                milestones: scenario.milestones.iter().map(|(name, count)| (name.clone(), *count)).collect(),
                cpu_seconds: cpu(&scenario.name),
            }
        })
        .collect();
    let page = reports::sweep_page::SweepPage {
        seeds: summary.seeds,
        swarm,
        problems: summary.problems.clone(),
        cpu_seconds: rows.iter().map(|row| row.wall_ms).sum::<f64>() / 1e3,
        scenarios,
    };
    std::fs::create_dir_all(out).map_err(|error| format!("{}: {error}", out.display()))?;
    let path = out.join(reports::REPORT_FILE);
    std::fs::write(&path, reports::sweep_page::render(&page)).map_err(|error| format!("{}: {error}", path.display()))
}

/// The shrunk scenario files of a sweep, by file name.
fn shrunk_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".toml"))
        .collect();
    names.sort();
    names
}

/// How the page links to the sweep's `shrunk/` folder.
fn relative_shrunk_dir(dir: &Path, out: &Path) -> String {
    if dir == out {
        "shrunk".to_string()
    } else {
        format!("file://{}", dir.join("shrunk").canonicalize().unwrap_or_else(|_| dir.join("shrunk")).display())
    }
}

/// `acceptor-forgets-seed-1` for `.../acceptor-forgets/seed-1`.
pub fn run_name(dir: &Path) -> String {
    let names: Vec<String> =
        dir.components().rev().take(2).map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
    names.into_iter().rev().collect::<Vec<_>>().join("-")
}
