//! `faultline check-history` on histories recorded by other tools: the verdict on stdout,
//! exit 0 for linearizable, 1 for not, 2 for bad input naming the file and line.

use std::path::PathBuf;
use std::process::{Command, Output};

fn histories() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/histories")
}

fn check(file: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_faultline"))
        .arg("check-history")
        .arg(histories().join(file))
        .args(args)
        .output()
        .expect("runs")
}

#[test]
fn a_linearizable_history_exits_0_and_says_so() {
    let output = check("etcd/etcd_002.log", &["--format", "jepsen-log"]);
    assert_eq!(output.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&output.stdout).starts_with("linearizable"));
}

#[test]
fn a_history_that_is_not_linearizable_exits_1_with_the_operations() {
    let output = check("kv/c01-bad.txt", &["--format", "porcupine-kv"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(stdout.starts_with("NOT linearizable") && stdout.contains("process 0, lines"), "{stdout}");
    let json = check("kv/c01-bad.txt", &["--format", "porcupine-kv", "--json"]);
    let report: serde_json::Value = serde_json::from_slice(&json.stdout).expect("json");
    assert_eq!(report["verdict"], "not-linearizable");
}

#[test]
fn a_history_in_the_wrong_format_exits_2_naming_the_file() {
    let output = check("kv/c01-ok.txt", &["--format", "jepsen-log"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr.contains("c01-ok.txt") && stderr.contains("no client operations"), "{stderr}");
}

#[test]
fn a_tiny_budget_exits_3_for_unknown() {
    let output = check("etcd/etcd_002.log", &["--format", "jepsen-log", "--budget", "10"]);
    assert_eq!(output.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&output.stdout).starts_with("unknown"));
}
