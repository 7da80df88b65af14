//! `InputError`: why a history file cannot be checked, with the line and what is allowed,
//! displayed as `FILE:LINE: what is wrong (what is allowed)`.

use std::error::Error;
use std::fmt;
use std::path::{Path, PathBuf};

/// A history file that cannot be read or makes no sense.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InputError {
    pub file: PathBuf,
    /// 1-based; `None` when the problem is the whole file (it cannot be read, it is empty,
    /// or the model does not fit it).
    pub line: Option<usize>,
    /// What is wrong.
    pub problem: String,
    /// What would be right.
    pub allowed: String,
}

impl InputError {
    /// A problem on one line; the file is filled in by [`InputError::in_file`].
    pub(crate) fn at(line: usize, problem: impl Into<String>, allowed: impl Into<String>) -> Self {
        InputError { file: PathBuf::new(), line: Some(line), problem: problem.into(), allowed: allowed.into() }
    }

    /// A problem with the whole file.
    pub(crate) fn whole(problem: impl Into<String>, allowed: impl Into<String>) -> Self {
        InputError { file: PathBuf::new(), line: None, problem: problem.into(), allowed: allowed.into() }
    }

    pub(crate) fn in_file(self, file: &Path) -> Self {
        InputError { file: file.to_path_buf(), ..self }
    }
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        write!(f, ": {}", self.problem)?;
        if !self.allowed.is_empty() {
            write!(f, " ({})", self.allowed)?;
        }
        Ok(())
    }
}

impl Error for InputError {}
