//! The run's random streams: every random choice of a run comes from a ChaCha stream derived
//! from its seed, one stream per purpose, so adding a node or a fault does not reshuffle
//! unrelated choices.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Latencies, losses and duplicates of messages.
pub const NETWORK: u64 = 1;
/// Which unsynced records a crash loses.
pub const FAULTS: u64 = 2;
/// Think times and the service's operations.
pub const WORKLOAD: u64 = 3;
/// The random nemesis.
pub const NEMESIS: u64 = 4;
/// How long each sync takes.
pub const STORAGE: u64 = 5;
/// A swarm sweep's weather for the seed.
pub const SWARM: u64 = 6;
/// Which messages the network replays to a restarted server, and when.
pub const REPLAY: u64 = 7;
/// Node `i` uses stream `NODE + i`.
pub const NODE: u64 = 1 << 32;

/// The random stream for one purpose of the run with `seed`.
pub fn stream(seed: u64, purpose: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(purpose);
    rng
}
