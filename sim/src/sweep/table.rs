//! `sweep.csv` read back, trusted only as far as it deserves: each row keeps its line
//! number; a torn last line (a process killed while writing it leaves a line cut short,
//! with no newline) is found and dropped; a row that does not parse, a verdict faultline
//! does not know and a seed listed twice are refused with their line. Each row also says
//! what determined its run ([`Key`]: the scenario's content, the engine, swarm mode and
//! the build), so a sweep resumes only rows of the same work.

use std::collections::BTreeMap;
use std::fmt;
use std::hash::Hasher as _;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use reports::SweepRow;

use crate::record::TraceHasher;
use crate::scenario::{EngineKind, Scenario};

/// The verdicts a row may hold (and a scenario may expect).
pub const VERDICTS: [&str; 5] = ["ok", "violation", "stuck", "error", "runaway"];

/// A sweep's file that cannot be used as it is: which file, where, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableError {
    pub path: PathBuf,
    pub line: Option<usize>,
    pub message: String,
}

impl fmt::Display for TableError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}: {}", self.path.display(), self.message),
            None => write!(f, "{}: {}", self.path.display(), self.message),
        }
    }
}

impl std::error::Error for TableError {}

/// The rows of a `sweep.csv`, each with its line.
#[derive(Clone, Debug, Default)]
pub struct Table {
    pub rows: Vec<SweepRow>,
    pub lines: Vec<usize>,
    /// The line number of a torn last line that was dropped, if there was one.
    pub torn: Option<usize>,
    /// The length in bytes of the file without its torn line.
    pub sound_length: u64,
}

/// Reads `path` (no file: no rows).
pub fn read(path: &Path) -> Result<Table, TableError> {
    let error = |line: Option<usize>, message: String| TableError { path: path.to_path_buf(), line, message };
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Table::default()),
        Err(e) => return Err(error(None, format!("cannot read it: {e}"))),
    };
    let sound = match text.rfind('\n') {
        _ if text.is_empty() || text.ends_with('\n') => text.len(),
        Some(newline) => newline + 1,
        None => 0,
    };
    let torn = (sound < text.len()).then(|| text[..sound].lines().count() + 1);
    let mut table = Table { torn, sound_length: sound as u64, ..Table::default() };
    if sound == 0 {
        return Ok(table);
    }
    let mut reader = csv::Reader::from_reader(&text.as_bytes()[..sound]);
    let headers = reader.headers().map_err(|e| error(Some(1), e.to_string()))?.clone();
    for column in columns() {
        if !headers.iter().any(|header| header == column) {
            return Err(error(
                Some(1),
                format!(
                    "no column `{column}`: this is not a sweep.csv of this faultline (an older one, or another \
                     file); start the sweep over with --restart, or sweep into another --out"
                ),
            ));
        }
    }
    let mut seen: BTreeMap<(String, u64), usize> = BTreeMap::new();
    for record in reader.records() {
        let record = record.map_err(|e| error(e.position().map(|p| p.line() as usize), e.to_string()))?;
        let line = record.position().map_or(0, |position| position.line() as usize);
        let row: SweepRow = record.deserialize(Some(&headers)).map_err(|e| error(Some(line), e.to_string()))?;
        for (column, value) in [("verdict", &row.verdict), ("expect", &row.expect)] {
            if !VERDICTS.contains(&value.as_str()) {
                let allowed = VERDICTS.join(", ");
                return Err(error(Some(line), format!("{column} {value:?} is not a verdict; allowed: {allowed}")));
            }
        }
        if EngineKind::parse(&row.engine).is_none() {
            return Err(error(
                Some(line),
                format!("engine {:?} is not an engine; allowed: native, madsim", row.engine),
            ));
        }
        if let Some(first) = seen.insert((row.scenario.clone(), row.seed), line) {
            let message = format!("seed {} of {} is also on line {first}; a seed has one row", row.seed, row.scenario);
            return Err(error(Some(line), message));
        }
        table.rows.push(row);
        table.lines.push(line);
    }
    Ok(table)
}

/// The column names of a `sweep.csv`, in order.
pub fn columns() -> Vec<String> {
    reports::header::<SweepRow>().expect("a sweep row serialises")
}

/// What determines a seed's run besides the seed: rows with another key are other work.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Key {
    pub scenario_hash: String,
    pub engine: String,
    pub swarm: bool,
    pub build: String,
}

impl Key {
    pub fn of(scenario: &Scenario, swarm: bool) -> Key {
        Key {
            scenario_hash: scenario_hash(scenario),
            engine: scenario.engine.name().to_string(),
            swarm,
            build: build(),
        }
    }

    pub fn of_row(row: &SweepRow) -> Key {
        Key {
            scenario_hash: row.scenario_hash.clone(),
            engine: row.engine.clone(),
            swarm: row.swarm,
            build: row.build.clone(),
        }
    }

    /// How `other` (a row's key) differs from this one, in words; empty if it does not.
    pub fn differences(&self, other: &Key) -> Vec<String> {
        let mut differences = Vec::new();
        if self.scenario_hash != other.scenario_hash {
            differences.push("the scenario file was edited since".to_string());
        }
        if self.engine != other.engine {
            differences.push(format!("it ran on the {} engine, this sweep runs {}", other.engine, self.engine));
        }
        if self.swarm != other.swarm {
            let mode = |swarm: bool| if swarm { "in swarm mode" } else { "without --swarm" };
            differences.push(format!("it ran {}, this sweep runs {}", mode(other.swarm), mode(self.swarm)));
        }
        if self.build != other.build {
            differences.push(format!("another faultline build ran it ({}, this is {})", other.build, self.build));
        }
        differences
    }
}

/// A hash of the scenario as loaded, its engine aside (the engine has its own column).
pub fn scenario_hash(scenario: &Scenario) -> String {
    let mut normalised = scenario.clone();
    normalised.engine = EngineKind::Native;
    let mut hasher = TraceHasher::default();
    hasher.write(normalised.to_toml().as_bytes());
    format!("{:016x}", hasher.finish())
}

/// A hash of a file of tens of megabytes (the executable, before every sweep), read a
/// mebibyte at a time: four interleaved lanes of the trace hasher's mix, so that the
/// multiplications overlap, folded into one at the end. `None` if it cannot be read.
fn file_hash(path: &Path) -> Option<u64> {
    use std::io::Read;
    let mut file = std::fs::File::open(path).ok()?;
    let (mut lanes, mut buffer, mut total) = ([TraceHasher::default(); 4], vec![0u8; 1 << 20], 0);
    let mut tail = TraceHasher::default();
    loop {
        let mut filled = 0;
        while filled < buffer.len() {
            match file.read(&mut buffer[filled..]).ok()? {
                0 => break,
                read => filled += read,
            }
        }
        total += filled;
        let mut blocks = buffer[..filled].chunks_exact(32);
        for block in &mut blocks {
            for (lane, word) in lanes.iter_mut().zip(block.chunks_exact(8)) {
                lane.write_u64(u64::from_le_bytes(word.try_into().expect("words of 8")));
            }
        }
        if filled < buffer.len() {
            tail.write(blocks.remainder());
            break;
        }
    }
    for lane in lanes {
        tail.write_u64(lane.finish());
    }
    tail.write_usize(total);
    Some(tail.finish())
}

/// This build: the package version and a hash of the running executable, so that a
/// rebuilt binary (whose protocols may behave differently) does not resume an old sweep.
pub fn build() -> String {
    static BUILD: OnceLock<String> = OnceLock::new();
    BUILD
        .get_or_init(|| {
            let hash = std::env::current_exe().ok().and_then(|exe| file_hash(&exe)).unwrap_or(0);
            format!("{}+{:012x}", env!("CARGO_PKG_VERSION"), hash >> 16)
        })
        .clone()
}
