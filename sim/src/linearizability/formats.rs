//! The history file formats, read into one stream of Jepsen-style events (invoke, ok,
//! fail, info), one per operation record, in file order.
//!
//! - `jepsen-log`: Jepsen's console log, `INFO  jepsen.util - PROCESS :TYPE :F VALUE` per
//!   line; other log lines are skipped.
//! - `jepsen-edn`: Jepsen's or Maelstrom's `history.edn`, one operation map per line or
//!   all of them inside one top-level vector or list; fields other than `:process`,
//!   `:type`, `:f`, `:key` and `:value` (Jepsen's `:index`, `:time`, `:error`, ...) are
//!   read past.
//! - `porcupine-kv`: Porcupine's kv test histories, one operation map per line.
//!
//! Operations of keyword processes (`:nemesis`) are skipped: they are faults, not client
//! operations. A Jepsen "independent" value `[key value]` (or an `independent.Tuple`
//! record) is split into its key and value when invocations are paired with completions
//! ([`split_tuple`]): whether a completion's pair is a tuple depends on its invocation (a
//! set read may return two elements).

use std::fmt;
use std::str::FromStr;

use super::edn::{Edn, Reader};
use super::error::InputError;

/// A history file format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Format {
    JepsenLog,
    JepsenEdn,
    PorcupineKv,
}

impl Format {
    /// Every format, in the order above.
    pub const ALL: [Format; 3] = [Format::JepsenLog, Format::JepsenEdn, Format::PorcupineKv];

    /// The name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Format::JepsenLog => "jepsen-log",
            Format::JepsenEdn => "jepsen-edn",
            Format::PorcupineKv => "porcupine-kv",
        }
    }

    /// What a record of this format looks like, for error messages.
    pub(crate) fn example(self) -> &'static str {
        match self {
            Format::JepsenLog => "lines like `INFO  jepsen.util - 3 :invoke :read nil`",
            Format::JepsenEdn => "maps like `{:process 3, :type :invoke, :f :read, :value nil}`",
            Format::PorcupineKv => "maps like `{:process 3, :type :invoke, :f :get, :key \"4\", :value nil}`",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Format {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Format::ALL
            .into_iter()
            .find(|format| format.name() == text)
            .ok_or_else(|| format!("unknown format `{text}` (allowed: jepsen-log, jepsen-edn, porcupine-kv)"))
    }
}

/// One record of a history: an invocation or a completion.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Event {
    /// Where the record starts in the file (1-based).
    pub line: usize,
    pub process: u64,
    pub kind: EventKind,
    /// The operation's function, without the colon (`read`, `cas`, `append`).
    pub f: String,
    pub key: Option<Edn>,
    pub value: Edn,
}

/// Jepsen's operation types.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum EventKind {
    Invoke,
    Ok,
    Fail,
    Info,
}

/// Reads the client events of a history file.
pub(crate) fn read_events(text: &str, format: Format) -> Result<Vec<Event>, InputError> {
    match format {
        Format::JepsenLog => read_log(text),
        Format::JepsenEdn | Format::PorcupineKv => read_maps(text, format),
    }
}

const LOG_MARKER: &str = "jepsen.util - ";
const LOG_ALLOWED: &str = "`PROCESS :TYPE :F VALUE` after `jepsen.util - `";

fn read_log(text: &str) -> Result<Vec<Event>, InputError> {
    let mut events = Vec::new();
    for (index, line) in text.lines().enumerate() {
        if let Some((_, record)) = line.split_once(LOG_MARKER) {
            events.extend(log_event(index + 1, record)?);
        }
    }
    Ok(events)
}

fn log_event(line: usize, record: &str) -> Result<Option<Event>, InputError> {
    let mut reader = Reader::new(record, line);
    let mut next = |what: &str| match reader.peek()? {
        Some(_) => reader.read(),
        None => Err(InputError::at(line, format!("the record ends before its {what}"), LOG_ALLOWED)),
    };
    let Some(process) = process(line, &next("process")?)? else {
        return Ok(None);
    };
    let kind = kind(line, &next(":type")?)?;
    let f = function(line, &next(":f")?)?;
    let value = next("value")?;
    Ok(Some(event(line, process, kind, f, None, value)))
}

fn read_maps(text: &str, format: Format) -> Result<Vec<Event>, InputError> {
    let mut reader = Reader::new(text, 1);
    // The whole history may be one vector or list of maps (Knossos's data files, many
    // Jepsen `history.edn` files), or the maps may follow each other (one per line).
    let close = match reader.peek()? {
        Some(b'[') => Some(b']'),
        Some(b'(') => Some(b')'),
        _ => None,
    };
    let opened = reader.line();
    if close.is_some() {
        reader.advance();
    }
    let mut events = Vec::new();
    loop {
        match (reader.peek()?, close) {
            (None, Some(close)) => {
                let problem = format!("the top-level `{}` opened on line {opened} is never closed", opening(close));
                return Err(InputError::at(reader.line(), problem, format!("a closing `{}`", close as char)));
            }
            (None, None) => return Ok(events),
            (Some(byte), Some(close)) if byte == close => {
                reader.advance();
                if reader.peek()?.is_some() {
                    let problem = format!("text after the top-level `{}`", close as char);
                    return Err(InputError::at(reader.line(), problem, "nothing"));
                }
                return Ok(events);
            }
            (Some(_), _) => {
                let line = reader.line();
                events.extend(map_event(line, &reader.read()?, format)?);
            }
        }
    }
}

fn opening(close: u8) -> char {
    if close == b']' {
        '['
    } else {
        '('
    }
}

fn map_event(line: usize, form: &Edn, format: Format) -> Result<Option<Event>, InputError> {
    if !matches!(form, Edn::Map(_) | Edn::Tagged(_, _)) {
        return Err(InputError::at(line, format!("`{form}` is not an operation map"), format.example()));
    }
    let field = |name: &str| {
        form.get(name).ok_or_else(|| InputError::at(line, format!("the operation has no :{name}"), format.example()))
    };
    let Some(process) = process(line, field("process")?)? else {
        return Ok(None);
    };
    let kind = kind(line, field("type")?)?;
    let f = function(line, field("f")?)?;
    let value = form.get("value").cloned().unwrap_or(Edn::Nil);
    Ok(Some(event(line, process, kind, f, form.get("key").cloned(), value)))
}

/// The client process, or `None` for a keyword process such as `:nemesis`.
fn process(line: usize, form: &Edn) -> Result<Option<u64>, InputError> {
    match form {
        Edn::Integer(number) => match u64::try_from(*number) {
            Ok(process) => Ok(Some(process)),
            Err(_) => Err(InputError::at(line, format!("process {number} is negative"), "a process number from 0")),
        },
        Edn::Keyword(_) => Ok(None),
        other => Err(InputError::at(
            line,
            format!("`{other}` is not a process"),
            "an integer, or a keyword such as :nemesis for records to skip",
        )),
    }
}

fn kind(line: usize, form: &Edn) -> Result<EventKind, InputError> {
    match form.as_keyword() {
        Some("invoke") => Ok(EventKind::Invoke),
        Some("ok") => Ok(EventKind::Ok),
        Some("fail") => Ok(EventKind::Fail),
        Some("info") => Ok(EventKind::Info),
        _ => Err(InputError::at(line, format!("`{form}` is not an operation type"), ":invoke, :ok, :fail or :info")),
    }
}

fn function(line: usize, form: &Edn) -> Result<String, InputError> {
    match form.as_keyword() {
        Some(name) => Ok(name.to_string()),
        None => Err(InputError::at(line, format!("`{form}` is not an operation function"), "a keyword such as :read")),
    }
}

fn event(line: usize, process: u64, kind: EventKind, f: String, key: Option<Edn>, value: Edn) -> Event {
    Event { line, process, kind, f, key, value }
}

/// Splits a Jepsen "independent" invocation value `[key value]` (or an
/// `independent.Tuple` record) into key and value. Some values are pairs of their own: a
/// cas's `[from to]`, so for cas only `[key [from to]]` is a tuple, and a transaction's two
/// micro-operations, so for `:txn` only `[key [micro ...]]` is.
pub(crate) fn split_tuple(f: &str, value: Edn, completion: bool) -> (Option<Edn>, Edn) {
    let is_tuple = |pair: &[Edn]| match f {
        _ if completion => true,
        "cas" => matches!(pair[1], Edn::Vector(_)),
        "txn" => !matches!(pair[0], Edn::Vector(_) | Edn::List(_)) && matches!(pair[1], Edn::Vector(_)),
        _ => true,
    };
    match value {
        Edn::Vector(pair) if pair.len() == 2 && is_tuple(&pair) => {
            let mut pair = pair.into_iter();
            (pair.next(), pair.next().unwrap_or(Edn::Nil))
        }
        Edn::Tagged(tag, inner) if tag.ends_with("independent.Tuple") => {
            (inner.get("key").cloned(), inner.get("value").cloned().unwrap_or(Edn::Nil))
        }
        value => (None, value),
    }
}
