//! The substrates the world runs on: what makes time pass and messages travel.
//!
//! - [`native`]: a discrete-event simulator, one event heap (the fast path for sweeps);
//! - [`madsim`]: madsim, a deterministic simulator of an async runtime and its network
//!   that also has a real-network mode; it shows that the protocols run unchanged on such
//!   a runtime and cross-checks the native substrate.
//!
//! Both implement `world::Substrate` and drive the same `World`, so they differ only in
//! scheduling and delivery.

pub mod madsim;
pub mod native;
