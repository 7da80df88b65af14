//! `faultline hashing`: the placement schemes measured side by side and drawn against the
//! theory on one page (`reports::hashing_page`): load per server, max/mean load against
//! virtual nodes, keys moved by a join against K/(N+1), and the wall-clock cost of a lookup.
//! Everything but the lookup times is computed exactly from the stable hash, so it is the
//! same on every machine; the lookup times are measured here, on this machine, and the page
//! says on what and at which load (`cargo xtask bench` measures them too, as ratios).

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Instant;

use protocols::hashing::placement::{
    is_prime, AnyPlacement, Labels, Placement, Scheme, TABLE_SIZE_MAX, VIRTUAL_NODES_MAX,
};
use protocols::node::NodeId;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use reports::hashing_page::{Curve, HashingPage, SchemeFigures};

/// `faultline hashing`'s arguments.
#[derive(clap::Args, Debug, Clone)]
pub struct HashingArgs {
    /// Servers of the cluster measured.
    #[arg(long, default_value_t = 20)]
    pub servers: usize,
    /// Keys: the universe 0..K.
    #[arg(long, default_value_t = 100_000)]
    pub keys: u64,
    /// Virtual nodes per server (ring and bounded loads).
    #[arg(long, default_value_t = 100)]
    pub virtual_nodes: u32,
    /// Bounded loads' epsilon: every server holds at most ceil((1 + epsilon) K / N) keys.
    #[arg(long, default_value_t = 0.1)]
    pub epsilon: f64,
    /// Maglev's table size, a prime.
    #[arg(long, default_value_t = 65537)]
    pub table_size: u64,
    /// Lookups timed per pass (the best of three passes is reported).
    #[arg(long, default_value_t = 200_000)]
    pub lookups: usize,
    /// Output directory.
    #[arg(long, default_value = "target/faultline/hashing")]
    pub out: PathBuf,
}

/// The most servers and keys the page measures.
pub const SERVERS_MAX: usize = 1000;
pub const KEYS_MAX: u64 = 10_000_000;
/// The most lookups timed per pass.
pub const LOOKUPS_MAX: usize = 10_000_000;
/// Cluster sizes the lookup cost is measured at.
pub const LOOKUP_SERVERS: [usize; 3] = [10, 100, 1000];

impl HashingArgs {
    /// What is wrong with the arguments, if anything.
    pub fn check(&self) -> Result<(), String> {
        if !(2..=SERVERS_MAX).contains(&self.servers) {
            return Err(format!("--servers {}: allowed 2 to {SERVERS_MAX}", self.servers));
        }
        if !(1000..=KEYS_MAX).contains(&self.keys) {
            return Err(format!("--keys {}: allowed 1000 to {KEYS_MAX}", self.keys));
        }
        if !(1..=VIRTUAL_NODES_MAX).contains(&self.virtual_nodes) {
            return Err(format!("--virtual-nodes {}: allowed 1 to {VIRTUAL_NODES_MAX}", self.virtual_nodes));
        }
        if !(self.epsilon > 0.0 && self.epsilon <= 10.0) {
            return Err(format!("--epsilon {}: allowed above 0, at most 10", self.epsilon));
        }
        if self.table_size as usize <= SERVERS_MAX || self.table_size > TABLE_SIZE_MAX || !is_prime(self.table_size) {
            return Err(format!(
                "--table-size {}: allowed a prime above {SERVERS_MAX} (the most servers measured) and at most \
                 {TABLE_SIZE_MAX}, such as 65537",
                self.table_size
            ));
        }
        if !(100..=LOOKUPS_MAX).contains(&self.lookups) {
            return Err(format!("--lookups {}: allowed 100 to {LOOKUPS_MAX}", self.lookups));
        }
        for scheme in self.schemes() {
            scheme.check().map_err(|error| format!("{}: {error}", scheme.name()))?;
        }
        Ok(())
    }

    /// Every scheme on the page, the flawed ring among them.
    pub fn schemes(&self) -> Vec<Scheme> {
        let v = self.virtual_nodes;
        vec![
            Scheme::Ring { virtual_nodes: v, labels: Labels::Hashed },
            Scheme::Ring { virtual_nodes: v, labels: Labels::Concatenated },
            Scheme::Rendezvous,
            Scheme::Jump,
            Scheme::Bounded { virtual_nodes: v, epsilon: self.epsilon, keys: self.keys },
            Scheme::Maglev { table_size: self.table_size },
            Scheme::Modulo,
        ]
    }
}

/// Runs `faultline hashing`: measures, writes the page, prints where. Exit code 2 on bad
/// arguments or an unwritable directory.
pub fn command(args: &HashingArgs, line: &str) -> i32 {
    if let Err(error) = args.check() {
        eprintln!("error: {error}");
        return crate::cli::EXIT_BAD_INPUT;
    }
    if let Err(error) = std::fs::create_dir_all(&args.out) {
        eprintln!("error: cannot write {}: {error}", args.out.display());
        return crate::cli::EXIT_BAD_INPUT;
    }
    let page = measure(args, line);
    for scheme in &page.schemes {
        println!(
            "{:<28} max/mean {:.3}  join moves {:>6}  leave moves {:>6}  lookup ns {}",
            scheme.name,
            scheme.max_over_mean,
            scheme.join_moved,
            scheme.leave_moved,
            scheme.lookup_ns.iter().map(|ns| format!("{ns:.1}")).collect::<Vec<_>>().join(" / ")
        );
    }
    match reports::hashing_page::render(&page, &args.out) {
        Ok(path) => {
            println!("wrote {}", path.display());
            crate::cli::EXIT_OK
        }
        Err(error) => {
            eprintln!("error: cannot write {}: {error}", args.out.display());
            crate::cli::EXIT_BAD_INPUT
        }
    }
}

/// Measures every scheme.
pub fn measure(args: &HashingArgs, line: &str) -> HashingPage {
    let members: Vec<NodeId> = (0..args.servers as NodeId).collect();
    let schemes: Vec<SchemeFigures> = args.schemes().iter().map(|scheme| figures(args, scheme, &members)).collect();
    HashingPage {
        servers: args.servers,
        keys: args.keys,
        virtual_nodes: args.virtual_nodes,
        epsilon: args.epsilon,
        table_size: args.table_size,
        command: line.to_string(),
        machine: machine(),
        schemes,
        balance_by_virtual_nodes: balance_curves(args, &members),
        moved_by_servers: movement_curves(args),
        lookup_servers: LOOKUP_SERVERS.to_vec(),
    }
}

fn owners(placement: &AnyPlacement, keys: u64) -> Vec<NodeId> {
    (0..keys).map(|key| placement.owner(key)).collect()
}

/// Max/mean and min/mean of `owners` over `members`, and the keys each holds.
fn balance(members: &[NodeId], owners: &[NodeId]) -> (Vec<u64>, f64, f64) {
    let mut loads = vec![0u64; members.len()];
    for owner in owners {
        if let Some(slot) = members.iter().position(|member| member == owner) {
            loads[slot] += 1;
        }
    }
    let mean = owners.len() as f64 / members.len() as f64;
    let max = loads.iter().copied().max().unwrap_or(0) as f64 / mean;
    let min = loads.iter().copied().min().unwrap_or(0) as f64 / mean;
    (loads, max, min)
}

/// Keys moved between `before` and `after`, and those moved between two servers in both.
fn moved(before: &[NodeId], after: &[NodeId], stay: impl Fn(NodeId) -> bool) -> (u64, u64) {
    let mut counts = (0, 0);
    for (from, to) in before.iter().zip(after) {
        if from != to {
            counts.0 += 1;
            counts.1 += u64::from(stay(*from) && stay(*to));
        }
    }
    counts
}

fn figures(args: &HashingArgs, scheme: &Scheme, members: &[NodeId]) -> SchemeFigures {
    let n = members.len() as f64;
    let base = owners(&scheme.place(members), args.keys);
    let (loads, max_over_mean, min_over_mean) = balance(members, &base);
    let mut joined = members.to_vec();
    joined.push(members.len() as NodeId);
    let (join_moved, join_between_survivors) =
        moved(&base, &owners(&scheme.place(&joined), args.keys), |node| members.contains(&node));
    let mut left = members.to_vec();
    let leaver = left.swap_remove(members.len() / 2);
    let (leave_moved, leave_between_survivors) =
        moved(&base, &owners(&scheme.place(&left), args.keys), |node| node != leaver);
    let balls = 1.0 + (2.0 * n * n.ln() / args.keys as f64).sqrt();
    let (bound, bound_words) = match scheme {
        Scheme::Ring { virtual_nodes, .. } => {
            (1.0 + (2.0 * n.ln() / f64::from(*virtual_nodes)).sqrt(), "about 1 + sqrt(2 ln N / v)".to_string())
        }
        Scheme::Bounded { epsilon, keys, .. } => {
            let capacity = ((1.0 + epsilon) * *keys as f64 / n).ceil();
            (capacity / (*keys as f64 / n), "at most ceil((1 + epsilon) K / N) / (K / N)".to_string())
        }
        _ => (balls, "balls in bins: about 1 + sqrt(2 N ln N / K)".to_string()),
    };
    let (lookup_ns, build_us) =
        LOOKUP_SERVERS.iter().map(|&servers| lookup_cost(scheme, servers, args.keys, args.lookups)).unzip();
    SchemeFigures {
        name: scheme.name().to_string(),
        loads,
        max_over_mean,
        min_over_mean,
        bound,
        bound_words,
        join_moved,
        join_between_survivors,
        leave_moved,
        leave_between_survivors,
        lookup_ns,
        build_us,
    }
}

/// Nanoseconds per lookup (best of three passes over the same `lookups` random keys) and microseconds
/// to build the placement, for `scheme` on `servers` servers over `keys` keys.
pub fn lookup_cost(scheme: &Scheme, servers: usize, keys: u64, lookups: usize) -> (f64, f64) {
    let members: Vec<NodeId> = (0..servers as NodeId).collect();
    let started = Instant::now();
    let placement = scheme.place(&members);
    let build_us = started.elapsed().as_secs_f64() * 1e6;
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let sample: Vec<u64> = (0..lookups).map(|_| rng.gen_range(0..keys)).collect();
    let best = (0..3)
        .map(|_| {
            let started = Instant::now();
            let mut sum = 0u64;
            for &key in &sample {
                sum = sum.wrapping_add(u64::from(black_box(&placement).owner(black_box(key))));
            }
            black_box(sum);
            started.elapsed().as_secs_f64() * 1e9 / lookups as f64
        })
        .fold(f64::INFINITY, f64::min);
    (best, build_us)
}

fn balance_curves(args: &HashingArgs, members: &[NodeId]) -> Vec<Curve> {
    const VIRTUAL_NODES: [u32; 10] = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000];
    let n = members.len() as f64;
    let curve = |name: &str, scheme: &dyn Fn(u32) -> Scheme| Curve {
        name: name.to_string(),
        points: VIRTUAL_NODES
            .iter()
            .map(|&v| (f64::from(v), balance(members, &owners(&scheme(v).place(members), args.keys)).1))
            .collect(),
        theory: false,
    };
    let capacity = ((1.0 + args.epsilon) * args.keys as f64 / n).ceil() / (args.keys as f64 / n);
    vec![
        Curve {
            name: "theory: 1 + sqrt(2 ln N / v)".to_string(),
            points: VIRTUAL_NODES.iter().map(|&v| (f64::from(v), 1.0 + (2.0 * n.ln() / f64::from(v)).sqrt())).collect(),
            theory: true,
        },
        Curve {
            name: "bounded capacity".to_string(),
            points: VIRTUAL_NODES.iter().map(|&v| (f64::from(v), capacity)).collect(),
            theory: true,
        },
        curve("ring", &|v| Scheme::Ring { virtual_nodes: v, labels: Labels::Hashed }),
        curve("bounded", &|v| Scheme::Bounded { virtual_nodes: v, epsilon: args.epsilon, keys: args.keys }),
    ]
}

fn movement_curves(args: &HashingArgs) -> Vec<Curve> {
    const SERVERS: [usize; 7] = [2, 4, 8, 16, 32, 64, 128];
    let keys = args.keys.min(50_000);
    let mut schemes = args.schemes();
    schemes.remove(1); // the flawed ring moves keys as the ring does
    let mut curves: Vec<Curve> = schemes
        .iter()
        .map(|scheme| {
            let scheme = match scheme {
                Scheme::Bounded { virtual_nodes, epsilon, .. } => {
                    Scheme::Bounded { virtual_nodes: *virtual_nodes, epsilon: *epsilon, keys }
                }
                other => other.clone(),
            };
            let points = SERVERS
                .iter()
                .map(|&servers| {
                    let members: Vec<NodeId> = (0..servers as NodeId).collect();
                    let mut joined = members.clone();
                    joined.push(servers as NodeId);
                    let before = owners(&scheme.place(&members), keys);
                    let after = owners(&scheme.place(&joined), keys);
                    (servers as f64, moved(&before, &after, |_| true).0 as f64 / keys as f64)
                })
                .collect();
            Curve { name: scheme.name().to_string(), points, theory: false }
        })
        .collect();
    curves.insert(
        0,
        Curve {
            name: "theory: 1/(N+1)".to_string(),
            points: SERVERS.iter().map(|&n| (n as f64, 1.0 / (n + 1) as f64)).collect(),
            theory: true,
        },
    );
    curves
}

/// This machine: cores and load average, as the page reports them.
pub fn machine() -> String {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let load = std::fs::read_to_string("/proc/loadavg")
        .map(|text| text.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".to_string());
    format!("{cores} cores, load average {load}")
}
