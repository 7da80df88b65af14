//! A stable 64-bit hash for placement: the same input gives the same output on every
//! machine, build and Rust release (unlike `std::hash::DefaultHasher`, whose algorithm the
//! standard library may change), so a placement computed by a server, a client, a test and
//! the `faultline hashing` page agree, and pinned figures stay pinned.
//!
//! Integers go through SplitMix64's finalizer (Steele, Lea and Flood, "Fast Splittable
//! Pseudorandom Number Generators", OOPSLA 2014): a bijection of `u64` with full avalanche,
//! cheap enough to run per lookup. Byte strings (only the flawed concatenated ring labels
//! use them) go through 64-bit FNV-1a and then the finalizer.

/// SplitMix64's increment, the golden ratio in 64 bits.
const GAMMA: u64 = 0x9e37_79b9_7f4a_7c15;

/// SplitMix64's finalizer: every bit of the output depends on every bit of `x`.
pub fn mix(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// The hash of `value` for the purpose `seed` (each scheme hashes with its own seed, so
/// that, say, Maglev's offsets and skips are independent).
pub fn hash(seed: u64, value: u64) -> u64 {
    mix(value.wrapping_add(GAMMA).wrapping_add(mix(seed)))
}

/// The hash of the pair `(a, b)` for the purpose `seed`.
pub fn pair(seed: u64, a: u64, b: u64) -> u64 {
    hash(hash(seed, a), b)
}

/// The hash of a byte string: FNV-1a (Fowler, Noll and Vo), then the finalizer.
pub fn bytes(data: &[u8]) -> u64 {
    let mut state: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in data {
        state = (state ^ u64::from(*byte)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    mix(state)
}

/// Where a key lands on the hash circle: every scheme starts from this.
pub fn key(key: u64) -> u64 {
    hash(KEY_SEED, key)
}

/// The seed of key hashes.
const KEY_SEED: u64 = 0x006b_6579;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_is_pinned_so_placements_never_change_between_builds() {
        // Values computed once by this code; a change of the algorithm must change them.
        assert_eq!(mix(1), 0x5692_161d_100b_05e5);
        assert_eq!(key(0), key(0));
        assert_ne!(key(0), key(1));
        assert_eq!(bytes(b""), mix(0xcbf2_9ce4_8422_2325));
        assert_eq!(bytes(b"a"), mix(0xaf63_dc4c_8601_ec8c), "FNV-1a of \"a\" is af63dc4c8601ec8c");
    }

    #[test]
    fn hashes_of_nearby_inputs_spread_over_the_whole_range() {
        // Keys 0..4096 fall evenly into 16 buckets by their top four bits.
        let mut buckets = [0u32; 16];
        for value in 0..4096 {
            buckets[(key(value) >> 60) as usize] += 1;
        }
        assert!(buckets.iter().all(|count| (192..=320).contains(count)), "{buckets:?}");
    }
}
