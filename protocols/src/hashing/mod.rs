//! Consistent hashing: placement schemes, and a sharded key-value store whose servers join
//! and leave during a run (Karger et al., STOC 1997; Thaler and Ravishankar, 1998; Lamping
//! and Veach, 2014; Mirrokni, Thorup and Zadimoghaddam, SODA 2018; Eisenbud et al., NSDI
//! 2016).
//!
//! - [`hash`]: a stable 64-bit hash, the same on every build.
//! - [`placement`]: the schemes as pure code behind one trait, [`placement::Placement`].

pub mod hash;
pub mod placement;
