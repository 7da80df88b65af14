//! The store's client: it caches a view, sends each command to the key's owner in that view,
//! and follows redirects, which carry a newer view. One operation at a time.
//!
//! A `Retry` (the owner does not hold the key yet) or no answer within twice the base
//! timeout makes it back off for a random pause and try again; after a silence it tries a
//! random member of its view instead of the owner, which redirects it if the view moved on
//! (another than the owner it believed in, which may have left). Every try carries the same sequence number, so
//! the key's sessions apply the command once. After [`ATTEMPTS_MAX`](crate::kv::ATTEMPTS_MAX)
//! tries it gives up: a read completes `Fail`, an update `Info` (it may have applied). An
//! acknowledged update is reported to the checkers with its position in its key's history.

use rand::seq::SliceRandom;
use rand::Rng;

use super::messages::{Answer, ShardMessage};
use super::placement::{AnyPlacement, Placement};
use super::view::View;
use super::{ShardKv, ShardObservation, ShardSettings, ShardTimer};
use crate::kv::{Command, KvOperation, Sequence, ATTEMPTS_MAX};
use crate::node::{Client, ClientContext, NodeId, Setup, Time};
use crate::service::Outcome;

#[derive(Debug)]
pub struct ShardClient {
    id: NodeId,
    settings: ShardSettings,
    timeout: Time,
    view: View,
    placement: AnyPlacement,
    sequence: Sequence,
    pending: Option<Pending>,
    /// Operations started, and redirects followed: the redirects-per-operation figure.
    pub operations: u64,
    pub redirects: u64,
}

#[derive(Debug)]
struct Pending {
    command: Command,
    attempts: u32,
    /// The next try goes to a random member rather than the owner.
    wander: bool,
}

impl ShardClient {
    pub fn new(setup: &Setup<ShardSettings>, id: NodeId) -> ShardClient {
        let view = View::initial(setup.servers);
        ShardClient {
            id,
            placement: setup.settings.scheme().place(&view.members),
            settings: setup.settings.clone(),
            timeout: setup.timeout,
            view,
            sequence: 0,
            pending: None,
            operations: 0,
            redirects: 0,
        }
    }

    /// The view the client believes in.
    pub fn view(&self) -> &View {
        &self.view
    }

    fn send(&mut self, ctx: &mut ClientContext<ShardKv>) {
        let Some(pending) = self.pending.as_mut() else { return };
        if pending.attempts >= ATTEMPTS_MAX {
            return self.give_up(ctx);
        }
        pending.attempts += 1;
        let owner = self.placement.owner(pending.command.operation.key());
        let others: Vec<NodeId> = self.view.members.iter().copied().filter(|member| *member != owner).collect();
        let to = if pending.wander { *others.choose(ctx.rng()).unwrap_or(&owner) } else { owner };
        pending.wander = false;
        let request = ShardMessage::Request { command: pending.command.clone(), view: self.view.number };
        ctx.send(to, request);
        ctx.set_timer(2 * self.timeout, ShardTimer::Reply);
    }

    fn back_off(&mut self, ctx: &mut ClientContext<ShardKv>, wander: bool) {
        let Some(pending) = self.pending.as_mut() else { return };
        pending.wander = wander;
        let pause = ctx.rng().gen_range(self.timeout / 8..=self.timeout / 4);
        ctx.set_timer(pause, ShardTimer::Retry);
    }

    fn on_answer(&mut self, ctx: &mut ClientContext<ShardKv>, sequence: Sequence, answer: Answer) {
        let Some(pending) = &self.pending else { return };
        if pending.command.sequence != sequence {
            return;
        }
        ctx.cancel_timer(ShardTimer::Reply);
        match answer {
            Answer::Done { outcome, position } => {
                if let (Outcome::Ok(_), Some(position)) = (&outcome, position) {
                    let key = pending.command.operation.key();
                    ctx.observe(ShardObservation::Acknowledged { key, position, sequence });
                }
                self.complete(ctx, outcome);
            }
            Answer::Redirect { view } if view.number > self.view.number => {
                self.redirects += 1;
                let key = pending.command.operation.key();
                ctx.observe(ShardObservation::Redirected { key, view: view.number });
                self.placement = self.settings.scheme().place(&view.members);
                self.view = view;
                self.send(ctx);
            }
            Answer::Redirect { .. } | Answer::Retry => self.back_off(ctx, false),
        }
    }

    fn give_up(&mut self, ctx: &mut ClientContext<ShardKv>) {
        let Some(pending) = &self.pending else { return };
        let outcome = match pending.command.operation {
            KvOperation::Read { .. } => Outcome::Fail,
            _ => Outcome::Info,
        };
        self.complete(ctx, outcome);
    }

    fn complete(&mut self, ctx: &mut ClientContext<ShardKv>, outcome: Outcome<crate::kv::KvReply>) {
        self.pending = None;
        ctx.cancel_timer(ShardTimer::Reply);
        ctx.cancel_timer(ShardTimer::Retry);
        ctx.complete(outcome);
    }
}

impl Client<ShardKv> for ShardClient {
    fn on_request(&mut self, ctx: &mut ClientContext<ShardKv>, operation: KvOperation) {
        assert!(self.pending.is_none(), "client {} was given a second operation", self.id);
        self.sequence += 1;
        self.operations += 1;
        let command = Command { client: self.id, sequence: self.sequence, operation };
        self.pending = Some(Pending { command, attempts: 0, wander: false });
        self.send(ctx);
    }

    fn on_message(&mut self, ctx: &mut ClientContext<ShardKv>, _from: NodeId, message: ShardMessage) {
        if let ShardMessage::Reply { sequence, answer } = message {
            self.on_answer(ctx, sequence, answer);
        }
    }

    fn on_timer(&mut self, ctx: &mut ClientContext<ShardKv>, timer: ShardTimer) {
        match timer {
            ShardTimer::Reply => self.back_off(ctx, true),
            ShardTimer::Retry => self.send(ctx),
            ShardTimer::Tick => {}
        }
    }

    fn invariants(&self) {
        if let Some(pending) = &self.pending {
            assert!(pending.attempts <= ATTEMPTS_MAX, "client {} exceeded its attempts", self.id);
            assert_eq!(pending.command.sequence, self.sequence, "client {} lost its sequence", self.id);
        }
    }
}
