//! Bad scenario files get a clear error naming the file, the line and the key, and saying
//! what is allowed; the command exits with code 2 and never panics.

use std::path::Path;
use std::process::Command;

use sim::scenario;

const GOOD: &str = r#"protocol = "paxos"
nodes = 5
duration_ms = 1000
expect = "ok"
"#;

/// Parses `GOOD` followed by `extra`; returns the error's text.
fn error_of(extra: &str) -> String {
    let text = format!("{GOOD}{extra}");
    match scenario::parse(Path::new("scenarios/bad.toml"), &text) {
        Ok(_) => panic!("accepted a bad scenario:\n{text}"),
        Err(error) => error.to_string(),
    }
}

#[test]
fn the_good_base_scenario_is_accepted() {
    assert!(scenario::parse(Path::new("good.toml"), GOOD).is_ok());
}

#[test]
fn unknown_key_names_file_line_key_and_the_allowed_keys() {
    let error = error_of("colour = \"red\"\n");
    assert!(error.starts_with("scenarios/bad.toml:5:"), "{error}");
    assert!(error.contains("unknown field `colour`"), "{error}");
    assert!(error.contains("protocol"), "lists the allowed keys: {error}");
}

#[test]
fn fault_naming_a_node_that_does_not_exist() {
    let error = error_of("\n[[faults]]\nat_ms = 10\nkind = \"crash\"\nnode = 7\n");
    assert!(error.starts_with("scenarios/bad.toml:9:"), "{error}");
    assert!(
        error.contains("faults.0.node") && error.contains("server 7 does not exist") && error.contains("0 to 4"),
        "{error}"
    );
}

#[test]
fn unknown_fault_kind_and_unknown_fault_key() {
    let error = error_of("\n[[faults]]\nat_ms = 10\nkind = \"meteor\"\n");
    assert!(error.contains("meteor") && error.contains("partition"), "{error}");
    let error = error_of("\n[[faults]]\nat_ms = 10\nkind = \"crash\"\nnode = 1\nspeed = 3\n");
    assert!(error.contains("speed"), "{error}");
}

#[test]
fn zero_nodes() {
    let text = GOOD.replace("nodes = 5", "nodes = 0");
    let error = scenario::parse(Path::new("bad.toml"), &text).unwrap_err().to_string();
    assert!(error.starts_with("bad.toml:2: nodes: 0 is not allowed; need at least 1"), "{error}");
}

#[test]
fn latency_range_upside_down() {
    let error = error_of("\n[network]\nlatency = { distribution = \"uniform\", min_ms = 9, max_ms = 2 }\n");
    assert!(error.starts_with("scenarios/bad.toml:7:"), "{error}");
    assert!(error.contains("min_ms 9 is above max_ms 2"), "{error}");
}

#[test]
fn unknown_protocol_variant_and_operation_list_what_is_allowed() {
    let text = GOOD.replace("\"paxos\"", "\"pax0s\"");
    let error = scenario::parse(Path::new("bad.toml"), &text).unwrap_err().to_string();
    assert!(error.starts_with("bad.toml:1: protocol: unknown protocol \"pax0s\"; allowed: paxos"), "{error}");
    let error = error_of("variant = \"sloppy\"\n");
    assert!(error.contains("no variant \"sloppy\"") && error.contains("acceptor-forgets"), "{error}");
    let error = error_of("\n[workload]\nmix = { append = 1.0 }\n");
    assert!(error.contains("do not perform \"append\"; allowed: propose"), "{error}");
}

#[test]
fn overlapping_partition_groups_and_bad_probabilities() {
    let error = error_of("\n[[faults]]\nat_ms = 1\nkind = \"partition\"\ngroups = [[0, 1], [1, 2]]\n");
    assert!(error.contains("node 1 is in two groups"), "{error}");
    let error = error_of("\n[network]\nloss = 1.5\n");
    assert!(error.starts_with("scenarios/bad.toml:7: network.loss: 1.5 is not allowed; need at most 1"), "{error}");
}

#[test]
fn wrong_type_names_the_line() {
    let text = GOOD.replace("duration_ms = 1000", "duration_ms = \"long\"");
    let error = scenario::parse(Path::new("bad.toml"), &text).unwrap_err().to_string();
    assert!(error.starts_with("bad.toml:3:"), "{error}");
}

#[test]
fn the_command_exits_2_with_the_error_on_stderr_and_no_panic() {
    let dir = std::env::temp_dir().join(format!("faultline-bad-input-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("bad.toml");
    std::fs::write(&path, format!("{GOOD}\n[[faults]]\nat_ms = 10\nkind = \"pause\"\nnode = 9\n")).expect("write");
    let output = Command::new(env!("CARGO_BIN_EXE_faultline")).arg("run").arg(&path).output().expect("runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains(&format!("{}:9:", path.display())) && stderr.contains("node 9 does not exist"), "{stderr}");
    assert!(!stderr.contains("panic"), "{stderr}");
    let missing = Command::new(env!("CARGO_BIN_EXE_faultline")).args(["run", "no/such.toml"]).output().expect("runs");
    assert_eq!(missing.status.code(), Some(2));
    let flag = Command::new(env!("CARGO_BIN_EXE_faultline"))
        .args(["run", "x.toml", "--seed", "minus"])
        .output()
        .expect("runs");
    assert_eq!(flag.status.code(), Some(2));
    std::fs::remove_dir_all(&dir).ok();
}
