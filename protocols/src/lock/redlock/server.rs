//! A Redis instance as Redlock uses it: one key, set only if absent, with an expiry on the
//! instance's wall clock (Redis stores absolute Unix times), let go lazily when a command
//! finds it expired. With persistence every change is recorded and synced before the
//! answer (AOF, `appendfsync always`); the expiry is absolute, so a restarted instance
//! expires a recorded key on time.

use super::{Redlock, RedlockMessage, RedlockRecord, RedlockSetup};
use crate::lock::{LockObservation, Tenure, UNLOCK_ANY};
use crate::node::{NodeId, ServerContext, Time};

/// A Redis instance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Instance {
    persistence: bool,
    unlock_any: bool,
    key: Option<Key>,
}

/// The lock's key: the tenure that set it, until `expires` on the wall clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Key {
    pub tenure: Tenure,
    pub expires: Time,
}

impl Instance {
    pub fn new(setup: &RedlockSetup) -> Instance {
        Instance { persistence: setup.settings.persistence, unlock_any: setup.is(UNLOCK_ANY), key: None }
    }

    /// An instance restarted from its records (none without persistence).
    pub fn recover(setup: &RedlockSetup, records: &[RedlockRecord]) -> Instance {
        let mut instance = Instance::new(setup);
        for record in records {
            match *record {
                RedlockRecord::Set { tenure, expires } => instance.key = Some(Key { tenure, expires }),
                RedlockRecord::Deleted => instance.key = None,
                RedlockRecord::Resource(_) => {}
            }
        }
        instance
    }

    /// The key as stored (it may have expired).
    pub fn key(&self) -> Option<&Key> {
        self.key.as_ref()
    }

    pub fn on_message(&mut self, ctx: &mut ServerContext<Redlock>, from: NodeId, message: RedlockMessage) {
        match message {
            RedlockMessage::Lock { tenure, ttl } => self.on_lock(ctx, from, tenure, ttl),
            RedlockMessage::Extend { tenure, ttl, round } => self.on_extend(ctx, from, tenure, ttl, round),
            RedlockMessage::Unlock { tenure } => self.on_unlock(ctx, tenure),
            _ => {}
        }
    }

    /// The key, unless it expired by the wall clock (then it is let go).
    fn live_key(&mut self, ctx: &mut ServerContext<Redlock>) -> Option<Key> {
        let key = self.key?;
        if ctx.wall() < key.expires {
            return Some(key);
        }
        self.key = None;
        ctx.observe(LockObservation::Freed { tenure: key.tenure });
        None
    }

    fn set(&mut self, ctx: &mut ServerContext<Redlock>, key: Key) {
        self.key = Some(key);
        if self.persistence {
            ctx.write(RedlockRecord::Set { tenure: key.tenure, expires: key.expires });
        }
    }

    fn on_lock(&mut self, ctx: &mut ServerContext<Redlock>, from: NodeId, tenure: Tenure, ttl: Time) {
        if self.live_key(ctx).is_some() {
            return ctx.send(from, RedlockMessage::NotLocked { tenure });
        }
        self.set(ctx, Key { tenure, expires: ctx.wall() + ttl });
        ctx.observe(LockObservation::Granted { tenure, token: None });
        ctx.send_after_sync(from, RedlockMessage::Locked { tenure });
    }

    fn on_extend(&mut self, ctx: &mut ServerContext<Redlock>, from: NodeId, tenure: Tenure, ttl: Time, round: u64) {
        match self.live_key(ctx) {
            Some(key) if key.tenure == tenure => {
                self.set(ctx, Key { tenure, expires: ctx.wall() + ttl });
                ctx.send_after_sync(from, RedlockMessage::Extended { tenure, round });
            }
            _ => ctx.send(from, RedlockMessage::NotExtended { tenure, round }),
        }
    }

    fn on_unlock(&mut self, ctx: &mut ServerContext<Redlock>, tenure: Tenure) {
        let Some(key) = self.key.filter(|key| self.unlock_any || key.tenure == tenure) else { return };
        self.key = None;
        ctx.observe(LockObservation::Freed { tenure: key.tenure });
        if self.persistence {
            ctx.write(RedlockRecord::Deleted);
            ctx.sync();
        }
    }
}
