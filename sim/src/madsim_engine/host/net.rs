//! Messages on the madsim engine: each process's madsim node and endpoint, the datagrams that
//! carry messages through madsim's network, and what the host layers on top.
//!
//! The host keeps every message in flight in its `transit` table and sends only its id through
//! madsim, so madsim decides latency (constant and uniform), loss, clogged links and delivery
//! order. The host adds duplication (a second datagram), the latency of the distributions
//! madsim lacks (the receiving node sleeps it before handing the message over), and the
//! native engine's rule that a partition also cuts messages already in flight.
//!
//! madsim never says that it dropped a datagram, so a message's fate is what the host saw: it
//! was delivered, cut in flight, or its receiver crashed; a message still undelivered when the
//! run ends, well after madsim would have delivered it, was blocked (if a fault blocked its
//! link when it left), found its receiver down, or was lost.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::ops::Range;
use std::sync::Arc;
use std::time::Duration;

use madsim::net::{Endpoint, NetSim};
use madsim::runtime::{Handle, NodeHandle};
use protocols::node::{NodeId, Protocol, Time};
use rand_chacha::ChaCha8Rng;

use super::inbox::{Inbox, Report};
use super::{is_slept, wait, Host, Input};
use crate::engine::network::{Network, Route};
use crate::engine::record::{Fate, MessageRecord};
use crate::madsim_engine::MADSIM_STEP;
use crate::scenario::{self, time_of, Latency};

/// What madsim adds to each datagram: its minimum sleep on the send and on the receive. The
/// host takes it off the scenario's latency, so a message takes the latency the scenario
/// asks for, or this much if it asks for less.
const OVERHEAD: Time = 2 * MADSIM_STEP;
/// Receive loops per node. Each receive costs madsim's 1 ms minimum sleep, so a node takes in
/// at most this many datagrams per millisecond; the rest wait in its mailbox.
const RECEIVERS: usize = 32;
/// Every datagram carries this tag.
const TAG: u64 = 0;
/// Every process listens on this port of its own address.
const PORT: u16 = 1;
/// The address of process 0; process `i` has the `i`-th address after it.
const FIRST_ADDRESS: u32 = u32::from_be_bytes([10, 0, 0, 1]);

/// A message in flight, kept by the host while its datagram travels.
pub(super) struct Transit<P: Protocol> {
    message: P::Message,
    from: NodeId,
    to: NodeId,
    /// Its id in the recorder.
    record: u64,
    /// When madsim would have delivered it, at the latest.
    deadline: Time,
    /// Whether a link fault blocked its link when it left.
    blocked: bool,
    /// Whether its receiver was down when it left.
    receiver_down: bool,
}

/// The latency the host adds to madsim's, and how long a datagram can stay inside madsim.
pub(super) struct Layered {
    latency: Latency,
    pub(super) transit_max: Time,
}

/// What travels through madsim: the id of a message in `transit`, and how long the receiving
/// node waits before handing it over.
struct Datagram {
    id: u64,
    delay: Time,
}

/// madsim's settings for the scenario's network, and what the host layers on top of them.
pub(super) fn configure(network: &scenario::Network) -> (madsim::Config, Layered) {
    let (send_latency, latency) = match network.latency {
        Latency::Constant { ms } => (span(ms, ms), Latency::Constant { ms: 0.0 }),
        Latency::Uniform { min_ms, max_ms } => (span(min_ms, max_ms), Latency::Constant { ms: 0.0 }),
        ref layered => (span(0.0, 0.0), layered.clone()),
    };
    let transit_max = send_latency.end.as_nanos() as Time + OVERHEAD + MADSIM_STEP;
    let mut config = madsim::Config::default();
    config.net.packet_loss_rate = network.loss;
    config.net.send_latency = send_latency;
    (config, Layered { latency, transit_max })
}

/// The host's model of the network: the link faults in force, duplication, and the latency it
/// layers on madsim's (loss is madsim's).
pub(super) fn mirror(
    network: &scenario::Network,
    layered: &Layered,
    servers: u32,
    processes: u32,
    rng: ChaCha8Rng,
) -> Network {
    let config =
        scenario::Network { latency: layered.latency.clone(), loss: 0.0, duplicate: network.duplicate, fifo: false };
    Network::new(&config, servers as usize, processes as usize, rng)
}

/// Creates the madsim node of process `id`, which boots at once and again at each restart.
pub(super) fn boot_node(madsim: &Handle, id: NodeId, inbox: &Arc<Inbox>) -> NodeHandle {
    let inbox = inbox.clone();
    madsim
        .create_node()
        .name(format!("process-{id}"))
        .ip(address(id).ip())
        .init(move || boot(id, inbox.clone()))
        .build()
}

impl<P: Protocol> Host<P> {
    /// Hands a message to madsim's network (twice, if the host duplicates it).
    pub(super) fn transmit(&mut self, from: NodeId, to: NodeId, message: P::Message) {
        assert!((to as usize) < self.nodes.len(), "node {from} sent {message:?} to node {to}, which does not exist");
        let record = self.recorder.message(from, to, &message, self.now);
        // A blocked message still goes to madsim, whose clogged link drops it.
        let (delay, copy_delay) = match self.network.route(self.now, from, to) {
            Route::Deliver { at, copy_at } => {
                (layered(at - self.now), copy_at.map(|copy_at| layered(copy_at - self.now)))
            }
            Route::Blocked | Route::Lost => (0, None),
        };
        if let Some(copy_delay) = copy_delay {
            self.send_datagram(MessageRecord { copy: true, ..record.clone() }, message.clone(), copy_delay);
        }
        self.send_datagram(record, message, delay);
    }

    /// A datagram reached `node`: the message is delivered, unless a partition cut it in flight.
    pub(super) fn deliver(&mut self, node: NodeId, id: u64) {
        let Some(transit) = self.transit.remove(&id) else { return };
        let fate = if self.network.is_blocked(transit.from, node) {
            Fate::Blocked
        } else if self.is_crashed(node) {
            Fate::Crashed
        } else {
            Fate::Delivered(self.now)
        };
        self.recorder.fate(transit.record, fate);
        if fate == Fate::Delivered(self.now) {
            self.recorder.handling = Some(transit.record);
            self.dispatch(node, Input::Message { from: transit.from, message: transit.message });
            self.recorder.handling = None;
        }
    }

    /// `node` was killed: what was on its way to it is lost with its socket.
    pub(super) fn forget_transit_to(&mut self, node: NodeId) {
        let lost: Vec<u64> = self.transit.iter().filter(|(_, transit)| transit.to == node).map(|(&id, _)| id).collect();
        for id in lost {
            let transit = self.transit.remove(&id).expect("listed just now");
            self.recorder.fate(transit.record, Fate::Crashed);
        }
    }

    /// `node` resumed: the datagrams its paused tasks held come now, whatever their deadline.
    pub(super) fn release_transit_to(&mut self, node: NodeId) {
        let deadline = self.now + self.transit_max;
        for transit in self.transit.values_mut().filter(|transit| transit.to == node) {
            transit.deadline = transit.deadline.max(deadline);
            self.transit_until = self.transit_until.max(deadline);
        }
    }

    /// At the end of the run, the fate of each message that madsim would have delivered by
    /// `now` (madsim's time, which can be past the run's last event).
    pub(super) fn settle_transit(&mut self, now: Time) {
        for transit in std::mem::take(&mut self.transit).into_values() {
            if transit.deadline > now || self.nodes[transit.to as usize].paused {
                continue;
            }
            let fate = match (transit.blocked, transit.receiver_down) {
                (true, _) => Fate::Blocked,
                (false, true) => Fate::Crashed,
                (false, false) => Fate::Lost,
            };
            self.recorder.fate(transit.record, fate);
        }
    }

    /// Makes madsim's clogged links the server links that the faults in force block.
    pub(super) fn sync_clogs(&mut self) {
        let network = NetSim::current();
        let servers = self.setup.servers;
        for from in 0..servers {
            for to in 0..servers {
                let link = (from * servers + to) as usize;
                let blocked = self.network.is_blocked(from, to);
                if blocked == self.clogged[link] {
                    continue;
                }
                self.clogged[link] = blocked;
                let (source, target) = (self.nodes[from as usize].place.id(), self.nodes[to as usize].place.id());
                if blocked {
                    network.clog_link(source, target);
                } else {
                    network.unclog_link(source, target);
                }
            }
        }
    }

    fn send_datagram(&mut self, record: MessageRecord, message: P::Message, delay: Time) {
        let (from, to) = (record.from, record.to);
        let id = self.next_datagram;
        self.next_datagram += 1;
        let transit = Transit {
            message,
            from,
            to,
            record: self.recorder.sent(record),
            deadline: self.now + delay + self.transit_max,
            blocked: self.network.is_blocked(from, to),
            receiver_down: self.is_crashed(to),
        };
        self.transit_until = self.transit_until.max(transit.deadline);
        self.transit.insert(id, transit);
        let endpoint = self.nodes[from as usize].endpoint.clone().expect("a node sends only while it is up");
        // The host's own node carries the datagram out, so that its sender crashing or pausing
        // right after the send does not hold it back: the message is the network's now.
        self.world.spawn(async move {
            let datagram: madsim::net::Payload = Box::new(Datagram { id, delay });
            endpoint.send_to_raw(address(to), TAG, datagram).await.expect("madsim's sends do not fail");
        });
    }
}

/// Process `node`'s address.
fn address(node: NodeId) -> SocketAddr {
    SocketAddr::new(IpAddr::V4(Ipv4Addr::from(FIRST_ADDRESS + node)), PORT)
}

/// madsim's latency range for a scenario's range: less its send and receive costs (down to
/// nothing), and never empty, since madsim draws from a half-open range.
fn span(min_ms: f64, max_ms: f64) -> Range<Duration> {
    let min = Duration::from_nanos(time_of(min_ms).saturating_sub(OVERHEAD));
    let max = Duration::from_nanos(time_of(max_ms).saturating_sub(OVERHEAD)).max(min + Duration::from_nanos(1));
    min..max
}

/// What the receiving node waits of a latency the host drew: the rest, after madsim's costs.
fn layered(latency: Time) -> Time {
    latency.saturating_sub(OVERHEAD)
}

/// A process's life on its madsim node: bind its endpoint, start receiving, report that it is
/// up. It never returns, because madsim ends a node whose initial task does.
async fn boot(node: NodeId, inbox: Arc<Inbox>) {
    let endpoint =
        Endpoint::bind(address(node)).await.expect("a killed node's socket is closed, so its address is free");
    for _ in 0..RECEIVERS {
        madsim::task::spawn(receive(endpoint.clone(), node, inbox.clone()));
    }
    inbox.push(Report::Up { node, endpoint });
    std::future::pending::<()>().await;
}

/// One receive loop: reports each datagram, after the delay the host layered on it.
async fn receive(endpoint: Endpoint, node: NodeId, inbox: Arc<Inbox>) {
    while let Ok((payload, _)) = endpoint.recv_from_raw(TAG).await {
        let datagram = payload.downcast::<Datagram>().expect("only the host sends datagrams");
        let report = Report::Message { node, id: datagram.id };
        if !is_slept(datagram.delay) {
            inbox.push(report);
            continue;
        }
        let inbox = inbox.clone();
        madsim::task::spawn(async move {
            wait(datagram.delay).await;
            inbox.push(report);
        });
    }
}
