//! `faultline hashing`: the measured figures agree with the theory the page sets beside
//! them, the command writes its page and plots, and bad arguments get a clear error and
//! exit code 2.

use std::path::PathBuf;
use std::process::{Command, Output};

use sim::hashing::{measure, HashingArgs};

fn small(out: PathBuf) -> HashingArgs {
    HashingArgs { servers: 20, keys: 20_000, virtual_nodes: 100, epsilon: 0.1, table_size: 65537, lookups: 100, out }
}

fn faultline(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_faultline")).args(args).output().expect("runs")
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("faultline-hashing-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[test]
fn the_measured_figures_agree_with_the_theory_beside_them() {
    let args = small(temp_dir("measure"));
    let page = measure(&args, "test");
    let scheme = |name: &str| page.schemes.iter().find(|s| s.name == name).unwrap_or_else(|| panic!("no {name}"));
    let least_join = args.keys as f64 / (args.servers + 1) as f64;
    for name in ["ring", "rendezvous", "jump"] {
        let s = scheme(name);
        assert_eq!(s.join_between_survivors, 0, "{name}: a join moves keys only to the new server");
        assert!((s.join_moved as f64) < 1.3 * least_join, "{name}: {} moved on a join", s.join_moved);
        assert!(s.max_over_mean <= s.bound * 1.05, "{name}: max/mean {} over {}", s.max_over_mean, s.bound);
        assert_eq!(s.loads.iter().sum::<u64>(), args.keys, "{name}: every key has one owner");
    }
    assert_eq!(scheme("ring").leave_between_survivors, 0);
    assert_eq!(scheme("rendezvous").leave_between_survivors, 0);
    let bounded = scheme("bounded");
    let capacity = ((1.0 + args.epsilon) * args.keys as f64 / args.servers as f64).ceil() as u64;
    assert!(bounded.loads.iter().all(|&load| load <= capacity), "{:?} over {capacity}", bounded.loads);
    let modulo = scheme("modulo");
    assert!(modulo.join_moved as f64 > 0.8 * args.keys as f64, "hash mod N moves nearly every key");
    let collided = scheme("ring (concatenated labels)");
    // Server 1's labels "1" + "2x" are server 12's "12" + "x", and so on: it keeps a tenth.
    let starved = collided.loads[1];
    assert!(starved * 4 < args.keys / args.servers as u64, "server 1 holds {starved} keys");
    let theory = &page.moved_by_servers[0];
    assert!(theory.theory && theory.points.iter().all(|&(n, share)| (share - 1.0 / (n + 1.0)).abs() < 1e-9));
    assert_eq!(page.schemes.iter().map(|s| s.lookup_ns.len()).collect::<Vec<_>>(), vec![3; page.schemes.len()]);
}

#[test]
fn the_command_writes_the_page_and_its_plots() {
    let out = temp_dir("page");
    let output = faultline(&[
        "hashing",
        "--servers",
        "10",
        "--keys",
        "5000",
        "--lookups",
        "100",
        "--out",
        out.to_str().expect("utf-8"),
    ]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let html = std::fs::read_to_string(out.join("report.html")).expect("report.html");
    for needed in ["rendezvous", "maglev", "K/(N+1)", "load-per-server.png", "lookup ns, N = 1000"] {
        assert!(html.contains(needed), "the page lacks {needed}");
    }
    for png in ["load-per-server.png", "balance-by-virtual-nodes.png", "keys-moved-by-join.png", "lookup-cost.png"] {
        let bytes = std::fs::read(out.join(png)).unwrap_or_else(|_| panic!("{png}"));
        assert!(bytes.starts_with(b"\x89PNG"), "{png} is a PNG");
    }
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn bad_arguments_get_a_clear_error_and_exit_code_2() {
    let cases: [(&[&str], &str); 6] = [
        (&["--servers", "1"], "--servers 1: allowed 2 to 1000"),
        (&["--keys", "20000000"], "--keys 20000000: allowed 1000 to 10000000"),
        (&["--virtual-nodes", "0"], "--virtual-nodes 0: allowed 1 to 10000"),
        (&["--epsilon", "0"], "--epsilon 0: allowed above 0"),
        (&["--table-size", "65536"], "--table-size 65536: allowed a prime above 1000"),
        (&["--servers", "many"], "invalid value 'many' for '--servers"),
    ];
    for (args, message) in cases {
        let output = faultline(&[&["hashing"], args].concat());
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(message), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
    let file = temp_dir("file");
    std::fs::write(&file, "not a directory").expect("writes");
    let out = file.join("page");
    let output = faultline(&["hashing", "--keys", "1000", "--lookups", "100", "--out", out.to_str().expect("utf-8")]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("cannot write") && stderr.contains("page"), "{stderr}");
    let _ = std::fs::remove_file(&file);
}
