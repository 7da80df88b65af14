//! faultline's report layer: the row schemas of the CSV tables and the run summary
//! (`summary.json`), with the code that writes them. Plots and HTML build on these rows.

pub mod rows;
pub mod summary;

pub use rows::{EventRow, HistoryRow, MessageRow};
pub use summary::{Figures, Latency, MessageCounts, OperationCounts, Summary, ViolationRow};

use std::io;
use std::path::Path;

/// Writes `rows` as a CSV file with a header line.
pub fn write_csv<T: serde::Serialize>(path: &Path, rows: impl IntoIterator<Item = T>) -> io::Result<()> {
    let mut writer = csv::Writer::from_path(path)?;
    for row in rows {
        writer.serialize(row).map_err(io::Error::other)?;
    }
    writer.flush()
}

/// Writes `value` as pretty JSON followed by a newline.
pub fn write_json<T: serde::Serialize>(path: &Path, value: &T) -> io::Result<()> {
    let mut text = serde_json::to_string_pretty(value).map_err(io::Error::other)?;
    text.push('\n');
    std::fs::write(path, text)
}
