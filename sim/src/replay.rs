//! The one command that replays a run: `faultline run SCENARIO --seed N --engine E [--swarm]`,
//! with the path of the binary that is running, so that it can be pasted into any shell,
//! inside the checkout or not. Every place that prints a replay command (a run's terminal
//! output and `summary.json`, its HTML report, a sweep's summary and page, a shrunk
//! scenario's header, a comparison) builds it here.

use std::path::{Path, PathBuf};

use crate::scenario::EngineKind;

/// What a replay needs: the scenario file, the seed, the engine, and whether the seed drew
/// its swarm weather.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Replay {
    pub scenario: PathBuf,
    pub seed: u64,
    pub engine: EngineKind,
    pub swarm: bool,
}

impl Replay {
    pub fn new(scenario: &Path, seed: u64, engine: EngineKind, swarm: bool) -> Replay {
        Replay { scenario: scenario.to_path_buf(), seed, engine, swarm }
    }

    /// The command line, with the program that is running.
    pub fn command(&self) -> String {
        self.command_with(&program())
    }

    /// The command line with `program` in front.
    pub fn command_with(&self, program: &str) -> String {
        let swarm = if self.swarm { " --swarm" } else { "" };
        format!(
            "{program} run {} --seed {} --engine {}{swarm}",
            quoted(&self.scenario.display().to_string()),
            self.seed,
            self.engine.name()
        )
    }
}

/// The program to put in front of a command: this executable's path when it is the
/// `faultline` binary (`faultline` alone when that is what `PATH` finds), and `faultline`
/// when the simulator runs inside another program (a test).
pub fn program() -> String {
    let Ok(exe) = std::env::current_exe() else { return "faultline".to_string() };
    let is_faultline = exe.file_stem().is_some_and(|stem| stem == "faultline");
    if !is_faultline {
        return "faultline".to_string();
    }
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths).map(|dir| dir.join("faultline")).find(|candidate| candidate.is_file())
    });
    let same = |a: &Path, b: &Path| a.canonicalize().ok().is_some_and(|a| b.canonicalize().ok() == Some(a));
    match on_path {
        Some(found) if same(&found, &exe) => "faultline".to_string(),
        _ => quoted(&exe.display().to_string()),
    }
}

/// `text` as one shell word: as it is when it holds only safe characters, else in single quotes.
fn quoted(text: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "/._-+=:,@%".contains(c);
    if !text.is_empty() && text.chars().all(safe) {
        text.to_string()
    } else {
        format!("'{}'", text.replace('\'', "'\\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_replay_carries_the_seed_the_engine_and_the_swarm_flag() {
        let replay = Replay::new(Path::new("scenarios/raft/stale-read.toml"), 2, EngineKind::Madsim, true);
        assert_eq!(
            replay.command_with("/opt/bin/faultline"),
            "/opt/bin/faultline run scenarios/raft/stale-read.toml --seed 2 --engine madsim --swarm"
        );
        let plain = Replay::new(Path::new("my scenarios/it's.toml"), 7, EngineKind::Native, false);
        assert_eq!(
            plain.command_with("faultline"),
            "faultline run 'my scenarios/it'\\''s.toml' --seed 7 --engine native"
        );
    }

    #[test]
    fn inside_a_test_the_program_is_faultline() {
        assert_eq!(program(), "faultline");
    }
}
