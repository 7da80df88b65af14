//! `cargo xtask mutants`: how much to trust a green sweep. Hand-made mutations of the
//! correct protocols (a flipped comparison, an off-by-one majority, a skipped check, a lock
//! not taken again after a crash), none of them a bundled variant, are applied one at a time
//! to a copy of the workspace (`target/mutants/work`: the sources are never touched); each
//! is built and followed by a time-boxed sweep of its family's scenarios that stops at the
//! first failure of a scenario expecting `ok`. An unmutated baseline runs first under the
//! same box: it must pass, or the catches mean nothing. The table gives, per mutant, whether
//! it was caught, by which scenario and seed, and how fast, and the share caught per
//! protocol.
//!
//! The mutations are exact text replacements: one that no longer matches its file exactly
//! once is an error, so the list cannot silently go stale.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// One mutation: in `file`, `find` (exactly once) becomes `replace`.
struct Mutant {
    name: &'static str,
    protocol: &'static str,
    file: &'static str,
    find: &'static str,
    replace: &'static str,
}

const MUTANTS: &[Mutant] = &[
    Mutant {
        name: "raft-vote-majority-off-by-one",
        protocol: "raft",
        file: "protocols/src/raft/election.rs",
        find: "if votes.len() >= self.majority {",
        replace: "if votes.len() + 1 >= self.majority {",
    },
    Mutant {
        name: "raft-commit-one-replica-short",
        protocol: "raft",
        file: "protocols/src/raft/replication.rs",
        find: "let majority_index = matched[self.majority - 1];",
        replace: "let majority_index = matched[self.majority.saturating_sub(2)];",
    },
    Mutant {
        name: "raft-accept-stale-term-append",
        protocol: "raft",
        file: "protocols/src/raft/replication.rs",
        find: "if request.term < self.current_term {\n            return self.refuse_earlier_term",
        replace: "if request.term + 1 < self.current_term {\n            return self.refuse_earlier_term",
    },
    Mutant {
        name: "raft-skip-log-matching",
        protocol: "raft",
        file: "protocols/src/raft/replication.rs",
        find: "if self.log.term_at(request.prev_log_index) != Some(request.prev_log_term) {",
        replace: "if self.log.term_at(request.prev_log_index).is_none() {",
    },
    Mutant {
        name: "paxos-promise-equal-ballot-refused-late",
        protocol: "paxos",
        file: "protocols/src/paxos/mod.rs",
        find: "if promises.len() >= self.setup.majority() {",
        replace: "if promises.len() + 1 >= self.setup.majority() {",
    },
    Mutant {
        name: "paxos-ignore-highest-accepted",
        protocol: "paxos",
        file: "protocols/src/paxos/mod.rs",
        find: "if accepted.map(|(b, _)| b) > highest.map(|(b, _)| b) {",
        replace: "if accepted.map(|(b, _)| b) < highest.map(|(b, _)| b) {",
    },
    Mutant {
        name: "multipaxos-accept-below-promise",
        protocol: "multipaxos",
        file: "protocols/src/multipaxos/acceptor.rs",
        find: "        self.note_round(ballot);\n        if ballot < self.acceptor.promised {\n            let promised = self.acceptor.promised;\n            return ctx.send(leader, MultiPaxosMessage::Nack { ballot, promised });",
        replace: "        self.note_round(ballot);\n        if ballot < self.acceptor.promised && false {\n            let promised = self.acceptor.promised;\n            return ctx.send(leader, MultiPaxosMessage::Nack { ballot, promised });",
    },
    Mutant {
        name: "twopc-forget-locks-after-crash",
        protocol: "twopc",
        file: "protocols/src/twopc/participant.rs",
        find: "let locked = participant.locks.lock(transaction, keys);",
        replace: "let locked = { let _ = (transaction, keys); true };",
    },
    Mutant {
        name: "threepc-forget-locks-after-crash",
        protocol: "threepc",
        file: "protocols/src/threepc/participant/mod.rs",
        find: "let locked = locks.lock(transaction, &entry.keys);",
        replace: "let locked = { let _ = (transaction, &entry.keys, &mut locks); true };",
    },
];

/// What one sweep found: the first failure (scenario, seed, verdict) and the wall seconds.
struct Found {
    failure: Option<String>,
    seconds: f64,
}

pub fn run(args: &[String]) -> Result<(), String> {
    let mut time = 30u64;
    let mut swarm = false;
    let mut only: Option<String> = None;
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        match arg.as_str() {
            "--time" => {
                let value = rest.next().ok_or("--time takes seconds")?;
                time = value.parse().map_err(|_| format!("--time takes whole seconds, not {value:?}"))?;
            }
            "--swarm" => swarm = true,
            "--only" => only = Some(rest.next().ok_or("--only takes a mutant or protocol name")?.clone()),
            _ => {
                return Err(format!("usage: cargo xtask mutants [--time SECONDS] [--swarm] [--only NAME], not {arg:?}"))
            }
        }
    }
    let chosen: Vec<&Mutant> = MUTANTS
        .iter()
        .filter(|mutant| only.as_deref().is_none_or(|name| mutant.name == name || mutant.protocol == name))
        .collect();
    if chosen.is_empty() {
        return Err(format!("no mutant or protocol named {:?}", only.unwrap_or_default()));
    }
    let work = PathBuf::from("target/mutants/work");
    copy_workspace(&work)?;
    let mut families: Vec<&str> = chosen.iter().map(|mutant| mutant.protocol).collect();
    families.dedup();
    let mode = if swarm { "swarm" } else { "plain" };
    println!(
        "mutants: {} mutants, a {time} s {mode} sweep of its family each, stopping at the first failure",
        chosen.len()
    );
    for family in &families {
        build(&work)?;
        let found = sweep(&work, family, time, swarm, "baseline")?;
        if let Some(failure) = found.failure {
            return Err(format!(
                "the unmutated {family} fails its own sweep ({failure}): a catch would mean nothing; fix it first"
            ));
        }
        println!("mutants: baseline {family}: green for {time} s");
    }
    let mut rows = Vec::new();
    for mutant in chosen {
        let path = work.join(mutant.file);
        let original = std::fs::read_to_string(&path).map_err(|error| format!("{}: {error}", path.display()))?;
        if original.matches(mutant.find).count() != 1 {
            return Err(format!("mutant {}: its text is not exactly once in {}; update it", mutant.name, mutant.file));
        }
        let write = |text: &str| std::fs::write(&path, text).map_err(|error| format!("{}: {error}", path.display()));
        write(&original.replacen(mutant.find, mutant.replace, 1))?;
        let found = build(&work).and_then(|()| sweep(&work, mutant.protocol, time, swarm, mutant.name));
        write(&original)?;
        let found = found?;
        println!(
            "mutants: {:<40} {}",
            mutant.name,
            found
                .failure
                .as_deref()
                .map_or("survived".to_string(), |f| format!("caught in {:.1} s: {f}", found.seconds))
        );
        rows.push((mutant, found));
    }
    println!("\n{:<12} {:<40} {:<8} {:>8}  first failure", "protocol", "mutant", "caught", "seconds");
    for (mutant, found) in &rows {
        let caught = if found.failure.is_some() { "yes" } else { "no" };
        let seconds = found.failure.as_ref().map_or("-".to_string(), |_| format!("{:.1}", found.seconds));
        let failure = found.failure.as_deref().unwrap_or("");
        println!("{:<12} {:<40} {caught:<8} {seconds:>8}  {failure}", mutant.protocol, mutant.name);
    }
    println!();
    for family in families {
        let of: Vec<_> = rows.iter().filter(|(mutant, _)| mutant.protocol == family).collect();
        let caught = of.iter().filter(|(_, found)| found.failure.is_some()).count();
        println!("mutants: {family}: {caught} of {} caught within {time} s", of.len());
    }
    let caught = rows.iter().filter(|(_, found)| found.failure.is_some()).count();
    println!("mutants: {caught} of {} caught ({:.0}%)", rows.len(), 100.0 * caught as f64 / rows.len() as f64);
    Ok(())
}

/// Copies what a build and a sweep need into `work`, fresh.
fn copy_workspace(work: &Path) -> Result<(), String> {
    std::fs::create_dir_all(work).map_err(|error| format!("{}: {error}", work.display()))?;
    for part in ["Cargo.toml", "Cargo.lock", "protocols", "sim", "reports", "xtask", "scenarios"] {
        let target = work.join(part);
        let _ = std::fs::remove_dir_all(&target);
        let status = Command::new("cp")
            .args(["-r", part])
            .arg(&target)
            .status()
            .map_err(|error| format!("cannot run cp: {error}"))?;
        if !status.success() {
            return Err(format!("cp -r {part} {} failed", target.display()));
        }
    }
    Ok(())
}

fn build(work: &Path) -> Result<(), String> {
    let status = crate::cargo_command()
        .args(["build", "--quiet", "--release", "--bin", "faultline"])
        .current_dir(work)
        .env("CARGO_TARGET_DIR", "../target")
        .status()
        .map_err(|error| format!("cannot run cargo: {error}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("the build in {} failed ({status})", work.display()))
    }
}

/// A time-boxed sweep of `scenarios/<family>` in `work`, stopping at the first failure.
fn sweep(work: &Path, family: &str, time: u64, swarm: bool, name: &str) -> Result<Found, String> {
    let out = format!("../out/{name}");
    let mut args = vec!["sweep".to_string(), format!("scenarios/{family}"), "--time".to_string(), format!("{time}s")];
    args.extend(["--until-first", "--no-shrink", "--out", &out].map(String::from));
    if swarm {
        args.push("--swarm".to_string());
    }
    let started = Instant::now();
    let output = Command::new("../target/release/faultline")
        .args(&args)
        .current_dir(work)
        .output()
        .map_err(|error| format!("cannot run the mutated faultline: {error}"))?;
    let seconds = started.elapsed().as_secs_f64();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let failure = stdout
        .lines()
        .find_map(|line| line.strip_prefix("sweep: stopped at the first failure (--until-first): "))
        .map(str::to_string);
    Ok(Found { failure, seconds })
}
