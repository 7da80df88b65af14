//! `cargo xtask bench` (second part): the linearizability checker on the shared histories
//! (Porcupine's test data), on the generated hard ones kept in the repository (long, highly
//! concurrent, with `:info` operations and violations planted late), and on sequential
//! histories of 50k to 200k operations generated here, whose time and memory must grow
//! linearly. Per file: operations, verdict (checked against the recorded or constructed
//! one), wall time, the peak of the bytes the search's tables held (counted by the checker
//! against its `--max-memory` bound), and the steps of the search and of shrinking. At the
//! end, the process's peak resident memory as the kernel saw it.

use std::path::{Path, PathBuf};
use std::time::Instant;

use sim::linearizability::generate::{generate, Spec, Workload};
use sim::linearizability::{check_file, FileCheck, Format, Verdict};

const HISTORIES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/histories");

fn main() {
    let mut inputs = shared();
    inputs.extend(generated());
    inputs.extend(sequential());
    println!(
        "{:<34} {:>7} {:>17} {:>9} {:>10} {:>11} {:>11}",
        "history", "ops", "verdict", "ms", "peak MB", "steps", "shrink"
    );
    let (mut total, mut wrong) = (0.0, 0);
    for (path, format, linearizable) in inputs {
        let started = Instant::now();
        let checked = match check_file(&path, &FileCheck::new(format)) {
            Ok(checked) => checked,
            Err(error) => panic!("{error}"),
        };
        let seconds = started.elapsed().as_secs_f64();
        total += seconds;
        let report = &checked.report;
        let expected = if linearizable { Verdict::Linearizable } else { Verdict::NotLinearizable };
        let mark = if report.verdict == expected { "" } else { " WRONG" };
        wrong += usize::from(report.verdict != expected);
        let name = match path.strip_prefix(HISTORIES) {
            Ok(relative) => relative.display().to_string(),
            Err(_) => path.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default(),
        };
        println!(
            "{name:<34} {:>7} {:>17} {:>9.1} {:>10.2} {:>11} {:>11}{mark}",
            report.operations,
            format!("{:?}", report.verdict),
            seconds * 1e3,
            report.peak_memory_bytes as f64 / f64::from(1 << 20),
            report.steps,
            report.shrink_steps
        );
    }
    println!("all: {:.1} ms; {wrong} verdicts differ from the expected ones", total * 1e3);
    if let Some(peak) = peak_resident_memory() {
        println!("peak resident memory of this process: {peak}");
    }
    assert_eq!(wrong, 0, "every verdict is right");
}

/// The shared histories with their recorded verdicts.
fn shared() -> Vec<(PathBuf, Format, bool)> {
    let verdicts = std::fs::read_to_string(Path::new(HISTORIES).join("verdicts.csv")).expect("verdicts.csv");
    let rows = verdicts.lines().skip(1).filter(|row| !row.is_empty());
    rows.map(|row| {
        let (file, linearizable) = row.split_once(',').expect("FILE,BOOL");
        let format = if file.ends_with(".log") { Format::JepsenLog } else { Format::PorcupineKv };
        (Path::new(HISTORIES).join(file), format, linearizable == "true")
    })
    .collect()
}

/// The generated hard histories in the repository, with their constructed verdicts.
fn generated() -> Vec<(PathBuf, Format, bool)> {
    let dir = Path::new(HISTORIES).join("generated");
    let manifest = std::fs::read_to_string(dir.join("manifest.csv")).expect("manifest.csv");
    let rows = manifest.lines().skip(1).filter(|row| !row.is_empty());
    rows.map(|row| {
        let fields: Vec<&str> = row.split(',').collect();
        let format = match fields[0].rsplit('.').next() {
            Some("log") => Format::JepsenLog,
            Some("edn") => Format::JepsenEdn,
            _ => Format::PorcupineKv,
        };
        (dir.join(fields[0]), format, fields[7] == "true")
    })
    .collect()
}

/// Sequential EDN register histories of one client, written to the target directory.
fn sequential() -> Vec<(PathBuf, Format, bool)> {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("checker-bench");
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    [50_000, 100_000, 200_000]
        .into_iter()
        .map(|operations| {
            let spec = Spec {
                workload: Workload::CasRegister { values: 5, edn: true },
                clients: 1,
                operations,
                info: 0.0,
                violation: None,
                seed: 1,
            };
            let generated = generate(&spec);
            let path = dir.join(format!("sequential-{}k.edn", operations / 1000));
            std::fs::write(&path, &generated.text).expect("writes");
            (path, generated.format, generated.linearizable)
        })
        .collect()
}

/// `VmHWM` from `/proc/self/status`, where there is one.
fn peak_resident_memory() -> Option<String> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    Some(line.trim_start_matches("VmHWM:").trim().to_string())
}
