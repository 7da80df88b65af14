//! Every kind of replay command faultline prints, pasted into a shell as a user would: a
//! run's (on the madsim engine, and in swarm mode), a sweep's first failures (plain and in
//! swarm mode), a shrunk scenario's, and a comparison's. Each must name the binary that ran
//! (not `cargo run`, which fails outside the checkout) and give back the same trace hash.

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").canonicalize().expect("the workspace")
}

fn scratch(test: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("replay").join(test);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("the scratch directory can be made");
    dir
}

/// Runs `faultline ARGS` in the workspace; returns its standard output.
fn faultline(args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_faultline")).args(args).current_dir(root()).output().expect("runs");
    let code = output.status.code();
    assert!(
        matches!(code, Some(0 | 1)),
        "faultline {args:?} exited {code:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Pastes `command` into a shell in the workspace, with `--out DIR`; returns the trace hash
/// of the run it made.
fn paste(command: &str, out: &Path) -> String {
    let binary = env!("CARGO_BIN_EXE_faultline");
    assert!(command.starts_with(&format!("{binary} run ")), "{command} starts with the binary that ran");
    assert!(!command.contains("cargo"), "{command}");
    let line = format!("{command} --out {} --no-report", out.display());
    let output = Command::new("sh").args(["-c", &line]).current_dir(root()).output().expect("sh runs");
    assert!(matches!(output.status.code(), Some(0 | 1)), "{line}: {}", String::from_utf8_lossy(&output.stderr));
    summary(out)["trace_hash"].as_str().expect("a trace hash").to_string()
}

fn summary(dir: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(dir.join("summary.json")).expect("summary.json");
    serde_json::from_str(&text).expect("json")
}

/// The commands after `replay: ` in `output`.
fn replays(output: &str) -> Vec<String> {
    output.lines().filter_map(|line| line.split("replay: ").nth(1)).map(|command| command.trim().to_string()).collect()
}

#[test]
fn a_run_on_madsim_or_in_swarm_mode_replays_from_its_own_command() {
    let kinds: [(&str, &[&str]); 2] =
        [("madsim", &["--engine", "madsim"]), ("swarm", &["--swarm", "--engine", "native"])];
    for (test, extra) in kinds {
        let dir = scratch(test);
        let first = dir.join("first");
        let first_out = first.display().to_string();
        let mut args = vec!["run", "scenarios/raft/stale-read.toml", "--seed", "2", "--out", &first_out];
        args.extend_from_slice(extra);
        faultline(&args);
        let recorded = summary(&first);
        let command = recorded["replay"].as_str().expect("summary.json carries the replay command").to_string();
        for flag in extra {
            assert!(command.contains(flag), "{command} carries {flag}");
        }
        assert!(command.contains("--seed 2"), "{command}");
        let html = std::fs::read_to_string(first.join("report.html")).expect("the report");
        assert!(html.contains(&reports::html::escape(&command)), "the page shows the same command");
        assert_eq!(paste(&command, &dir.join("again")), recorded["trace_hash"].as_str().expect("a hash"), "{command}");
    }
}

#[test]
fn a_sweeps_first_failures_and_shrunk_scenarios_replay() {
    for (test, swarm) in [("sweep", false), ("swarm-sweep", true)] {
        let dir = scratch(test);
        let out = dir.join("sweep").display().to_string();
        let mut args = vec!["sweep", "scenarios/paxos/ignore-accepted.toml", "--seeds", "1..6", "--out", &out];
        if swarm {
            args.push("--swarm");
        }
        let output = faultline(&args);
        let commands = replays(&output);
        assert!(commands.len() >= 2, "a first failure and a shrunk scenario: {output}");
        let rows = sim::sweep::read_rows(&Path::new(&out).join("sweep.csv")).expect("rows");
        for (index, command) in commands.iter().enumerate() {
            assert_eq!(command.contains("--swarm"), swarm && !command.contains("/shrunk/"), "{command}");
            let hash = paste(command, &dir.join(format!("replay-{index}")));
            if command.contains("/shrunk/") {
                // The shrunk scenario fails the same way on its own.
                let replayed = summary(&dir.join(format!("replay-{index}")));
                assert_eq!(replayed["verdict"], "violation", "{command}");
                continue;
            }
            let seed: u64 =
                command.split("--seed ").nth(1).and_then(|rest| rest.split(' ').next()?.parse().ok()).expect("a seed");
            let row = rows.iter().find(|row| row.seed == seed).expect("the seed's row");
            assert_eq!(hash, row.trace_hash, "{command} replays seed {seed}");
        }
    }
}

#[test]
fn a_comparisons_runs_replay_from_their_commands() {
    let dir = scratch("comparison");
    let file = dir.join("pair.toml");
    std::fs::write(
        &file,
        "seeds = \"1..=2\"\nprotocols = [{ protocol = \"paxos\" }, { protocol = \"raft\" }]\nnodes = 3\n\
         duration_ms = 400\n[workload]\nclients = 2\nrate = 40\n",
    )
    .expect("written");
    let out = dir.join("out");
    faultline(&["report", "--compare", &file.display().to_string(), "--out", &out.display().to_string()]);
    for run in ["paxos/seed-1", "raft/seed-2"] {
        let recorded = summary(&out.join(run));
        let command = recorded["replay"].as_str().expect("a replay command");
        assert_eq!(paste(command, &dir.join(run.replace('/', "-"))), recorded["trace_hash"].as_str().expect("a hash"));
    }
}
