//! `faultline check-history` on histories recorded by other tools: the verdict on stdout,
//! exit 0 for linearizable, 1 for not, 2 for bad input naming the file and line, 3 when the
//! budget or the memory bound ran out first; and the history view, from `--html` and in a
//! run's report.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn histories() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/histories")
}

fn faultline(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_faultline")).args(args).output().expect("runs")
}

fn check(file: &str, args: &[&str]) -> Output {
    let path = histories().join(file);
    let mut all = vec!["check-history", path.to_str().expect("utf-8 path")];
    all.extend(args);
    faultline(&all)
}

fn scratch(test: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("check-history").join(test);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// A page that is well formed and fetches nothing.
fn checked_page(path: &Path) -> String {
    let html = std::fs::read_to_string(path).expect("the page was written");
    assert_eq!(reports::html::check_well_formed(&html), Ok(()), "{}", path.display());
    let fetches = ["http://", "https://", "<script"].iter().any(|needle| html.contains(needle));
    assert!(!fetches, "{} fetches or runs something", path.display());
    html
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
    assert!(report["peak_memory_bytes"].as_u64() <= report["memory_limit_bytes"].as_u64());
}

#[test]
fn a_history_in_the_wrong_format_exits_2_naming_the_file() {
    let output = check("kv/c01-ok.txt", &["--format", "jepsen-log"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr.contains("c01-ok.txt") && stderr.contains("no client operations"), "{stderr}");
}

#[test]
fn a_tiny_budget_or_memory_bound_exits_3_for_unknown() {
    let output = check("etcd/etcd_002.log", &["--format", "jepsen-log", "--budget", "10"]);
    assert_eq!(output.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&output.stdout).starts_with("unknown"));
    let dir = scratch("memory");
    let hard = dir.join("hard.edn");
    // Forty concurrent writes, then a read that no order of them explains.
    let mut text: String =
        (0..40).map(|p| format!("{{:process {p}, :type :invoke, :f :write, :value {p}}}\n")).collect();
    text.extend((0..40).map(|p| format!("{{:process {p}, :type :ok, :f :write, :value {p}}}\n")));
    text.push_str(
        "{:process 99, :type :invoke, :f :read, :value nil}\n{:process 99, :type :ok, :f :read, :value 77}\n",
    );
    std::fs::write(&hard, text).expect("writes");
    let path = hard.to_str().expect("utf-8");
    let output =
        faultline(&["check-history", path, "--format", "jepsen-edn", "--max-memory", "2", "--budget", "1000000000000"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(3), "{stdout}");
    assert!(stdout.contains("memory limit of 2 MB"), "{stdout}");
}

#[test]
fn the_semantics_flag_chooses_what_a_failed_cas_means() {
    let dir = scratch("semantics");
    let file = dir.join("failed-cas.edn");
    std::fs::write(
        &file,
        "[{:process 0, :type :invoke, :f :write, :value 1}\n {:process 0, :type :ok, :f :write, :value 1}\n \
         {:process 1, :type :invoke, :f :cas, :value [1 2]}\n {:process 1, :type :fail, :f :cas, :value [1 2]}]\n",
    )
    .expect("writes");
    let path = file.to_str().expect("utf-8");
    let knossos = faultline(&["check-history", path, "--format", "jepsen-edn"]);
    assert_eq!(knossos.status.code(), Some(0), "a failed cas did not happen, and says nothing more");
    let porcupine = faultline(&["check-history", path, "--format", "jepsen-edn", "--semantics", "porcupine"]);
    assert_eq!(porcupine.status.code(), Some(1), "a failed cas saw the register not holding 1");
    let bad = faultline(&["check-history", path, "--format", "jepsen-edn", "--semantics", "jepsen"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("allowed: knossos, porcupine"));
}

#[test]
fn html_writes_the_history_view_of_a_violation() {
    let dir = scratch("html");
    let page = dir.join("etcd_000.html");
    let output = check("etcd/etcd_000.log", &["--format", "jepsen-log", "--html", page.to_str().expect("utf-8")]);
    assert_eq!(output.status.code(), Some(1));
    let html = checked_page(&page);
    assert!(html.contains("not linearizable by line 86") && html.contains("linearizable up to line 85"), "{html}");
    assert!(html.contains("client 11") && html.contains("fill=\"#d6453d\""), "the witness is drawn in red");
    let good = dir.join("c10-ok.html");
    let output = check("kv/c10-ok.txt", &["--format", "porcupine-kv", "--html", good.to_str().expect("utf-8")]);
    assert_eq!(output.status.code(), Some(0));
    assert!(checked_page(&good).contains("Every key is linearizable."));
}

#[test]
fn a_run_report_shows_the_history_view_of_its_linearizability_violation() {
    let dir = scratch("run");
    let scenario = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scenarios/raft/stale-read.toml");
    let output = faultline(&["run", scenario.to_str().expect("utf-8"), "--out", dir.to_str().expect("utf-8")]);
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stdout));
    let check: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("linearizability.json")).expect("written"))
            .expect("json");
    assert_eq!(check["verdict"], "not-linearizable");
    let html = checked_page(&dir.join("report.html"));
    assert!(html.contains("Client history (linearizability)") && html.contains("not linearizable by "), "{html}");
}
