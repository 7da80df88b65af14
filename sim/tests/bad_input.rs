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

#[test]
fn a_run_longer_than_its_limit_is_refused_at_load_naming_the_limit() {
    let text = GOOD.replace("duration_ms = 1000", "duration_ms = 1000000000000");
    let error = scenario::parse(Path::new("bad.toml"), &text).unwrap_err().to_string();
    assert!(error.starts_with("bad.toml:3: duration_ms:") && error.contains("max_duration_ms"), "{error}");
    // Raising the limit allows more, up to its own ceiling.
    let longer = GOOD.replace("duration_ms = 1000", "duration_ms = 7200000") + "[limits]\nmax_duration_ms = 7200000\n";
    assert!(scenario::parse(Path::new("ok.toml"), &longer).is_ok());
    let error = error_of("[limits]\nmax_duration_ms = 100000000000\n");
    assert!(error.contains("limits.max_duration_ms") && error.contains("at most 86400000"), "{error}");
    let error = error_of("[checks]\nliveness_ms = 99999999999\n");
    assert!(
        error.starts_with("scenarios/bad.toml:6: checks.liveness_ms:") && error.contains("liveness window"),
        "{error}"
    );
    let error = error_of("[limits]\ndrain_ms = 99999999999\n");
    assert!(error.contains("limits.drain_ms"), "{error}");
    let error = error_of("[limits]\nmax_events = 99999999999999\n");
    assert!(error.contains("limits.max_events") && error.contains("at most 1000000000"), "{error}");
    let error = error_of("[workload]\nrate = 1000000000\n");
    assert!(error.contains("workload.rate") && error.contains("max_events"), "{error}");
}

#[test]
fn a_nemesis_that_ends_after_the_run_is_refused() {
    let error = error_of("[nemesis]\nkinds = [\"crash\"]\ninterval_ms = 10\nfault_ms = 10\nend_ms = 5000\n");
    assert!(error.starts_with("scenarios/bad.toml:9: nemesis.end_ms: end_ms 5000 is beyond the run"), "{error}");
}

#[test]
fn commit_protocols_need_a_participant() {
    for protocol in ["twopc", "threepc"] {
        let text = format!("protocol = \"{protocol}\"\nnodes = 1\nduration_ms = 100\nexpect = \"ok\"\n");
        let error = scenario::parse(Path::new("bad.toml"), &text).unwrap_err().to_string();
        assert!(error.starts_with("bad.toml:2: nodes:") && error.contains("at least 2 nodes"), "{error}");
    }
}

#[test]
fn a_timeline_that_cannot_happen_is_refused_with_its_line() {
    let fault =
        |at: u32, kind: &str, extra: &str| format!("\n[[faults]]\nat_ms = {at}\nkind = \"{kind}\"\nnode = 1\n{extra}");
    let cases = [
        (fault(10, "restart", ""), "not crashed at 10 ms, so it cannot restart"),
        (fault(10, "resume", ""), "not paused at 10 ms, so it cannot resume"),
        (fault(10, "crash", "") + &fault(20, "crash", ""), "already crashed at 20 ms (by faults.0)"),
        (fault(10, "crash", "duration_ms = 50\n") + &fault(60, "crash", ""), "already crashed at 60 ms"),
        (fault(10, "crash", "") + &fault(20, "pause", ""), "cannot pause"),
    ];
    for (extra, message) in cases {
        let error = error_of(&extra);
        assert!(error.contains(message) && error.contains(": faults."), "{error} should say {message}");
    }
    // A crash, its restart, and a crash again are fine; so is a pause ended by a crash.
    let fine = fault(10, "crash", "") + &fault(20, "restart", "") + &fault(30, "crash", "duration_ms = 5\n");
    assert!(scenario::parse(Path::new("ok.toml"), &format!("{GOOD}{fine}")).is_ok());
    let fine = fault(10, "pause", "") + &fault(20, "crash", "") + &fault(30, "restart", "");
    assert!(scenario::parse(Path::new("ok.toml"), &format!("{GOOD}{fine}")).is_ok());
    // The nemesis may have crashed the node the timeline restarts.
    let nemesis = "\n[nemesis]\nkinds = [\"crash\"]\ninterval_ms = 10\nfault_ms = 10\n";
    assert!(scenario::parse(Path::new("ok.toml"), &format!("{GOOD}{}{nemesis}", fault(10, "restart", ""))).is_ok());
}

#[test]
fn two_clocks_for_one_node_and_zero_operations_are_refused() {
    let error = error_of("\n[[clocks]]\nnode = 1\noffset_ms = 5\n\n[[clocks]]\nnode = 1\ndrift_ppm = 10\n");
    assert!(error.starts_with("scenarios/bad.toml:11: clocks.1.node: node 1 already has a clock"), "{error}");
    let error = error_of("[workload]\noperations = 0\n");
    assert!(error.starts_with("scenarios/bad.toml:6: workload.operations:") && error.contains("at least 1"), "{error}");
}

#[test]
fn list_outside_the_checkout_says_where_it_looked() {
    let dir = std::env::temp_dir().join(format!("faultline-list-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let output = Command::new(env!("CARGO_BIN_EXE_faultline")).arg("list").current_dir(&dir).output().expect("runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let looked = dir.canonicalize().expect("exists").join("scenarios");
    assert!(stdout.contains(&format!("none found in {}", looked.display())), "{stdout}");
    assert!(stdout.contains("--scenarios DIR"), "{stdout}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_replication_factor_beyond_the_servers_is_refused_with_its_line() {
    let store = |replicas: u32| {
        format!(
            "protocol = \"shardkv\"\nnodes = 3\nduration_ms = 100\nexpect = \"ok\"\n\n[settings]\nreplicas = \
             {replicas}\n"
        )
    };
    for (replicas, allowed) in [(4, "allowed: 1 to 3 (the initial servers)"), (0, "allowed: 1 to 7")] {
        let error = scenario::parse(Path::new("bad.toml"), &store(replicas)).unwrap_err().to_string();
        assert!(
            error.starts_with("bad.toml:") && error.contains(&format!("replicas is {replicas}; {allowed}")),
            "{error}"
        );
    }
    assert!(scenario::parse(Path::new("ok.toml"), &store(3)).is_ok());
}

#[test]
fn a_store_with_fewer_keys_than_its_workload_is_refused_with_its_line() {
    let store = |store_keys: u32, workload_keys: u32| {
        format!(
            "protocol = \"shardkv\"\nnodes = 3\nduration_ms = 100\nexpect = \"ok\"\n\n[settings]\nkeys = \
             {store_keys}\n\n[workload]\nkeys = {workload_keys}\n"
        )
    };
    let error = scenario::parse(Path::new("bad.toml"), &store(32, 57)).unwrap_err().to_string();
    assert!(
        error.starts_with("bad.toml:")
            && error.contains("keys is 32, fewer than the workload's 57 keys; allowed: 57 to"),
        "{error}"
    );
    assert!(scenario::parse(Path::new("ok.toml"), &store(32, 32)).is_ok());
}
