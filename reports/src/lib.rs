//! faultline's report layer: the row schemas of the CSV tables and the run summary
//! (`summary.json`), with the code that writes them; and the reports rendered from a run
//! directory: PNG plots, a self-contained HTML page, a space-time diagram of a failing run,
//! a Chrome trace-event export, and comparisons of several protocols side by side.

mod chart;
pub mod compare;
mod font;
pub mod history_view;
pub mod html;
pub mod plots;
pub mod rows;
pub mod run_data;
pub mod run_report;
pub mod spacetime;
pub mod summary;
pub mod sweep_page;
pub mod trace;
pub mod words;

pub use chart::{HEIGHT as PLOT_HEIGHT, WIDTH as PLOT_WIDTH};
pub use compare::{render_comparison, Comparison, Entrant, RunOutcome};
pub use rows::{EventRow, FaultRow, HistoryRow, MessageRow, SweepRow};
pub use run_data::RunData;
pub use run_report::{render_run, render_run_into, REPORT_FILE, TRACE_FILE};
pub use summary::{
    EvidenceRow, Figures, Latency, MessageCounts, OperationCounts, Summary, TransactionFigures, ViolationRow,
};

use std::io;
use std::path::Path;

/// Writes `rows` as a CSV file with a header line, also when there are no rows.
pub fn write_csv<T: serde::Serialize + Default>(path: &Path, rows: impl IntoIterator<Item = T>) -> io::Result<()> {
    let mut writer = csv::Writer::from_path(path)?;
    let mut empty = true;
    for row in rows {
        writer.serialize(row).map_err(io::Error::other)?;
        empty = false;
    }
    if empty {
        writer.write_record(header::<T>()?).map_err(io::Error::other)?;
    }
    writer.flush()
}

/// The header line of a table of `T`: the names of its columns.
pub fn header<T: serde::Serialize + Default>() -> io::Result<Vec<String>> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.serialize(T::default()).map_err(io::Error::other)?;
    let bytes = writer.into_inner().map_err(|error| io::Error::other(error.to_string()))?;
    let mut reader = csv::Reader::from_reader(bytes.as_slice());
    Ok(reader.headers().map_err(io::Error::other)?.iter().map(String::from).collect())
}

/// Reads every row of a CSV file written by `write_csv` or `CsvAppender`.
pub fn read_csv<T: serde::de::DeserializeOwned>(path: &Path) -> io::Result<Vec<T>> {
    let mut reader = csv::Reader::from_path(path).map_err(io::Error::other)?;
    reader.deserialize().map(|row| row.map_err(io::Error::other)).collect()
}

/// Appends rows to a CSV file, each flushed as it is written, so that a process that is
/// interrupted keeps every row it wrote; the header is written only into a new file.
pub struct CsvAppender {
    writer: csv::Writer<std::fs::File>,
}

impl CsvAppender {
    pub fn open(path: &Path) -> io::Result<CsvAppender> {
        let new = std::fs::metadata(path).map_or(true, |metadata| metadata.len() == 0);
        let file = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
        Ok(CsvAppender { writer: csv::WriterBuilder::new().has_headers(new).from_writer(file) })
    }

    pub fn append<T: serde::Serialize>(&mut self, row: &T) -> io::Result<()> {
        self.writer.serialize(row).map_err(io::Error::other)?;
        self.writer.flush()
    }
}

/// Writes `value` as pretty JSON followed by a newline.
pub fn write_json<T: serde::Serialize>(path: &Path, value: &T) -> io::Result<()> {
    let mut text = serde_json::to_string_pretty(value).map_err(io::Error::other)?;
    text.push('\n');
    std::fs::write(path, text)
}
