//! The host: the madsim substrate's state (each process's madsim node and endpoint, the
//! events sleeping until they are due, the messages in flight) and the loop, madsim's
//! `block_on` future, that turns the tasks' reports into the world's events.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use madsim::net::{Endpoint, NetSim};
use madsim::runtime::{Handle, NodeHandle, Runtime};
use madsim::task::AbortHandle;
use madsim::time::TimeHandle;
use protocols::node::{NodeId, Protocol, Time};

use super::inbox::{Inbox, Report};
use super::net::{self, Layered, Transit};
use super::MADSIM_STEP;
use crate::record::Fate;
use crate::scenario::Scenario;
use crate::world::network::Network;
use crate::world::{Event, Place, RunOptions, Simulation, Substrate, World};

/// How long a node takes to boot (to bind its endpoint): the run's time starts when the
/// processes are up, as they are at time 0 on the native substrate.
const BOOT: Time = MADSIM_STEP;

/// Runs `scenario` in a fresh madsim runtime seeded with the run's seed.
pub(super) fn simulate<P: Protocol>(scenario: &Scenario, options: RunOptions) -> Simulation<P> {
    let (config, layered) = net::configure(&scenario.network);
    let runtime = Runtime::with_seed_and_config(options.seed, config);
    runtime.block_on(async {
        let host = Madsim::<P>::new(scenario.processes(), scenario.server_slots(), layered);
        let mut world = World::<P, Madsim<P>>::new(scenario, options, host);
        world.start();
        let end = world.end();
        world.substrate.report_end(end);
        let mut last = 0;
        loop {
            let report = world.substrate.inbox.next().await;
            let now = world.substrate.clock();
            if now > end || matches!(report, Report::End) {
                world.now = if world.substrate.is_busy(now) { end } else { last };
                break;
            }
            let Some(event) = world.substrate.receive(report) else { continue };
            last = now;
            if !world.step(now, event) || !world.substrate.is_busy(now) {
                break;
            }
        }
        let now = world.substrate.clock();
        for (record, fate) in world.substrate.shut_down(now) {
            world.recorder_mut().fate(record, fate);
        }
        world.finish()
    })
}

/// Where a process's madsim node is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Life {
    /// Binding its endpoint; the world hears `Start` (if it booted it) when it is up.
    Booting,
    Up,
    /// Killed.
    Down,
    /// Restarted, binding its endpoint; the world hears `Recover` when it is up.
    Rebooting,
}

/// One process's madsim node.
struct Node {
    place: NodeHandle,
    endpoint: Option<Endpoint>,
    life: Life,
    /// Whether the world booted it (a spare server's node is up before it joins).
    booted: bool,
    /// How many times it was killed: a datagram sent before a kill finds its receiver gone.
    kills: u32,
    paused: bool,
}

/// The madsim substrate.
pub(super) struct Madsim<P: Protocol> {
    madsim: Handle,
    time: TimeHandle,
    inbox: Arc<Inbox>,
    /// The world's own madsim node: its events, and datagrams on their way out (a message
    /// handed to the network is no longer its sender's).
    world: NodeHandle,
    nodes: Vec<Node>,
    servers: u32,
    /// Events sleeping until they are due, by id, with the process they die with.
    pending: BTreeMap<u64, (Place, Event<P>)>,
    /// Per timer generation: its event's id and sleeping task.
    timers: BTreeMap<u64, (u64, AbortHandle)>,
    next_id: u64,
    /// Which directed links are clogged in madsim, row-major by sender.
    clogged: Vec<bool>,
    layered: Layered,
    transit: BTreeMap<u64, Transit<P>>,
    /// The latest time until which madsim may deliver a datagram sent so far.
    transit_until: Time,
}

impl<P: Protocol> Madsim<P> {
    /// One madsim node per process, each booting at once.
    fn new(processes: u32, servers: u32, layered: Layered) -> Madsim<P> {
        let madsim = Handle::current();
        let inbox = Arc::new(Inbox::default());
        let nodes = (0..processes)
            .map(|id| Node {
                place: net::boot_node(&madsim, id, &inbox),
                endpoint: None,
                life: Life::Booting,
                booted: false,
                kills: 0,
                paused: false,
            })
            .collect();
        Madsim {
            world: madsim.create_node().name("world").build(),
            time: TimeHandle::current(),
            nodes,
            servers,
            pending: BTreeMap::new(),
            timers: BTreeMap::new(),
            next_id: 0,
            clogged: vec![false; (processes * processes) as usize],
            layered,
            transit: BTreeMap::new(),
            transit_until: 0,
            madsim,
            inbox,
        }
    }

    /// The run's virtual time: madsim's, from the moment the nodes are up.
    fn clock(&self) -> Time {
        (self.time.elapsed().as_nanos() as Time).saturating_sub(BOOT)
    }

    /// Whether anything can still happen: a report waiting, an event sleeping, a node
    /// booting, or a message madsim may still deliver.
    fn is_busy(&self, now: Time) -> bool {
        !self.inbox.is_empty()
            || !self.pending.is_empty()
            || self.nodes.iter().any(|node| matches!(node.life, Life::Booting | Life::Rebooting))
            || self.transit_until > now
    }

    /// The world's event for `report`, if it still has one.
    fn receive(&mut self, report: Report) -> Option<Event<P>> {
        match report {
            Report::Up { node, endpoint } => self.on_up(node, endpoint),
            Report::Due { id } => {
                let (_, event) = self.pending.remove(&id)?;
                if let Event::Timer { generation, .. } = event {
                    self.timers.remove(&generation);
                }
                Some(event)
            }
            Report::Datagram { id } => self.transit.remove(&id).map(Transit::into_event),
            Report::End => None,
        }
    }

    /// A node bound its endpoint: the world hears that it started or recovered.
    fn on_up(&mut self, node: NodeId, endpoint: Endpoint) -> Option<Event<P>> {
        let state = &mut self.nodes[node as usize];
        state.endpoint = Some(endpoint);
        match std::mem::replace(&mut state.life, Life::Up) {
            Life::Booting => state.booted.then_some(Event::Start(node)),
            Life::Rebooting => Some(Event::Recover(node)),
            life => unreachable!("node {node} came up while {life:?}: a kill forgets its reports"),
        }
    }

    /// Reports `Report::End` at the run's end time.
    fn report_end(&self, end: Time) {
        let inbox = self.inbox.clone();
        self.world.spawn(async move {
            wait(BOOT + end).await;
            inbox.push(Report::End);
        });
    }

    /// Reports `report` after `delay`, from a task on `place` (which dies with it).
    fn after(&self, place: &NodeHandle, delay: Time, report: Report) -> AbortHandle {
        let inbox = self.inbox.clone();
        let task = place.spawn(async move {
            wait(delay).await;
            inbox.push(report);
        });
        task.abort_handle()
    }

    /// Kills every node, so that no task, timer or socket outlives the run, and settles the
    /// fate of each message madsim would have delivered by `now`.
    fn shut_down(&mut self, now: Time) -> Vec<(u64, Fate)> {
        for node in &self.nodes {
            self.madsim.kill(node.place.id());
        }
        self.madsim.kill(self.world.id());
        let mut fates = Vec::new();
        for transit in std::mem::take(&mut self.transit).into_values() {
            let receiver = &self.nodes[transit.to as usize];
            if transit.deadline > now || receiver.paused {
                continue;
            }
            let fate = if receiver.kills > transit.kills { Fate::Crashed } else { Fate::Lost };
            fates.push((transit.record, fate));
        }
        fates
    }
}

impl<P: Protocol> Substrate<P> for Madsim<P> {
    fn network(&self, scenario: &Scenario) -> crate::scenario::Network {
        net::layered_network(&scenario.network, &self.layered)
    }

    fn boot(&mut self, node: NodeId) {
        self.nodes[node as usize].booted = true;
    }

    fn schedule(&mut self, _now: Time, at: Time, place: Place, event: Event<P>) {
        self.next_id += 1;
        let id = self.next_id;
        let host = match place {
            Place::World => &self.world,
            Place::Process(node) => &self.nodes[node as usize].place,
        };
        // From madsim's own clock, which reads 0 before the nodes are up.
        let elapsed = self.time.elapsed().as_nanos() as Time;
        let sleeper = self.after(host, (BOOT + at).saturating_sub(elapsed), Report::Due { id });
        if let Event::Timer { generation, .. } = event {
            self.timers.insert(generation, (id, sleeper));
        }
        self.pending.insert(id, (place, event));
    }

    fn transmit(&mut self, now: Time, at: Time, from: NodeId, event: Event<P>) {
        let Event::Message { to, id: record, .. } = event else { unreachable!("only messages travel") };
        let delay = net::layered(at - now);
        self.next_id += 1;
        let id = self.next_id;
        let transit = Transit {
            to,
            record,
            kills: self.nodes[to as usize].kills,
            deadline: now + delay + self.layered.transit_max,
            event,
        };
        self.transit_until = self.transit_until.max(transit.deadline);
        self.transit.insert(id, transit);
        let endpoint = self.nodes[from as usize].endpoint.clone().expect("a node sends only while it is up");
        net::send(&self.world, endpoint, to, id, delay);
    }

    fn cancel_timer(&mut self, _node: NodeId, generation: u64) {
        if let Some((id, sleeper)) = self.timers.remove(&generation) {
            sleeper.abort();
            self.pending.remove(&id);
        }
    }

    fn crashed(&mut self, node: NodeId) {
        let state = &mut self.nodes[node as usize];
        self.madsim.kill(state.place.id());
        state.life = Life::Down;
        state.endpoint = None;
        state.kills += 1;
        state.paused = false;
        self.pending.retain(|_, (place, _)| *place != Place::Process(node));
        self.timers.retain(|_, (id, _)| self.pending.contains_key(id));
    }

    fn restart(&mut self, _now: Time, node: NodeId) {
        let state = &mut self.nodes[node as usize];
        let id = state.place.id();
        self.madsim.restart(id);
        state.place = self.madsim.get_node(id).expect("a restarted node still exists");
        state.life = Life::Rebooting;
    }

    fn paused(&mut self, node: NodeId) {
        let state = &mut self.nodes[node as usize];
        self.madsim.pause(state.place.id());
        state.paused = true;
    }

    fn resumed(&mut self, node: NodeId) {
        let state = &mut self.nodes[node as usize];
        self.madsim.resume(state.place.id());
        state.paused = false;
        // The datagrams its paused tasks held come now, whatever their deadline.
        let deadline = self.clock() + self.layered.transit_max;
        for transit in self.transit.values_mut().filter(|transit| transit.to == node) {
            transit.deadline = transit.deadline.max(deadline);
            self.transit_until = self.transit_until.max(deadline);
        }
    }

    /// Makes madsim's clogged links the links that the faults in force block (the world
    /// already holds back every message a fault blocks; the clogs mirror it in madsim). On
    /// FIFO links madsim carries every datagram, so nothing is clogged.
    fn links_changed(&mut self, network: &Network) {
        if self.layered.fifo {
            return;
        }
        let simulator = NetSim::current();
        let processes = self.nodes.len() as NodeId;
        for from in 0..processes {
            for to in 0..processes {
                let link = (from * processes + to) as usize;
                let blocked = network.is_blocked(from, to);
                if blocked == self.clogged[link] || from >= self.servers && to >= self.servers {
                    continue;
                }
                self.clogged[link] = blocked;
                let (source, target) = (self.nodes[from as usize].place.id(), self.nodes[to as usize].place.id());
                if blocked {
                    simulator.clog_link(source, target);
                } else {
                    simulator.unclog_link(source, target);
                }
            }
        }
    }
}

/// Sleeps `delay`, as near as madsim can (see [`is_slept`]).
pub(super) async fn wait(delay: Time) {
    if is_slept(delay) {
        madsim::time::sleep(Duration::from_nanos(delay)).await;
    }
}

/// madsim's sleeps last at least 1 ms, so a delay under half of that is not slept at all, and
/// one from half to a whole millisecond lasts 1 ms: the nearest madsim can do.
pub(super) fn is_slept(delay: Time) -> bool {
    delay >= MADSIM_STEP / 2
}
