//! Messages on the madsim substrate: each process's madsim node and endpoint, the datagrams
//! that carry messages through madsim's network, and what the world layers on top.
//!
//! The host keeps every message in flight in its `transit` table and sends only its id
//! through madsim, so madsim decides latency (constant and uniform), loss and delivery
//! order. The world adds duplication (a second datagram) and the latency of the
//! distributions madsim lacks (the receiving node sleeps it before handing the message over).
//!
//! madsim never says that it dropped a datagram, so a message still undelivered when the run
//! ends, well after madsim would have delivered it, was lost by madsim, or found its
//! receiver killed.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::ops::Range;
use std::sync::Arc;
use std::time::Duration;

use madsim::net::Endpoint;
use madsim::runtime::{Handle, NodeHandle};
use protocols::node::{NodeId, Protocol, Time};

use super::host::{is_slept, wait};
use super::inbox::{Inbox, Report};
use super::MADSIM_STEP;
use crate::scenario::{self, time_of, Latency};
use crate::world::Event;

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
    pub(super) to: NodeId,
    /// Its id in the recorder.
    pub(super) record: u64,
    /// How many times its receiver had been killed when it left.
    pub(super) kills: u32,
    /// When madsim would have delivered it, at the latest.
    pub(super) deadline: Time,
    pub(super) event: Event<P>,
}

impl<P: Protocol> Transit<P> {
    pub(super) fn into_event(self) -> Event<P> {
        self.event
    }
}

/// The latency the world layers on madsim's, how long a datagram can stay inside madsim, and
/// whether the world draws losses and holds back blocked messages itself (FIFO links).
pub(super) struct Layered {
    latency: Latency,
    pub(super) transit_max: Time,
    pub(super) fifo: bool,
}

/// What travels through madsim: the id of a message in `transit`, and how long the receiving
/// node waits before handing it over.
struct Datagram {
    id: u64,
    delay: Time,
}

/// madsim's settings for the scenario's network, and what the world layers on top of them.
pub(super) fn configure(network: &scenario::Network) -> (madsim::Config, Layered) {
    let (send_latency, latency) = match network.latency {
        Latency::Constant { ms } => (span(ms, ms), Latency::Constant { ms: 0.0 }),
        Latency::Uniform { min_ms, max_ms } => (span(min_ms, max_ms), Latency::Constant { ms: 0.0 }),
        ref layered => (span(0.0, 0.0), layered.clone()),
    };
    let transit_max = send_latency.end.as_nanos() as Time + OVERHEAD + MADSIM_STEP;
    let mut config = madsim::Config::default();
    config.net.packet_loss_rate = if network.fifo { 0.0 } else { network.loss };
    config.net.send_latency = send_latency;
    (config, Layered { latency, transit_max, fifo: network.fifo })
}

/// The network the world models on madsim: link faults, duplication and the latency it
/// layers on madsim's, and on FIFO links the connections and the losses (elsewhere loss is
/// madsim's).
pub(super) fn layered_network(network: &scenario::Network, layered: &Layered) -> scenario::Network {
    let loss = if layered.fifo { network.loss } else { 0.0 };
    scenario::Network {
        latency: layered.latency.clone(),
        loss,
        duplicate: network.duplicate,
        fifo: layered.fifo,
        replay: 0.0,
    }
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

/// Sends the datagram of message `id` to `to` through `endpoint`, from the world's node, so
/// that its sender crashing or pausing right after the send does not hold it back: the
/// message is the network's now.
pub(super) fn send(world: &NodeHandle, endpoint: Endpoint, to: NodeId, id: u64, delay: Time) {
    world.spawn(async move {
        let datagram: madsim::net::Payload = Box::new(Datagram { id, delay });
        endpoint.send_to_raw(address(to), TAG, datagram).await.expect("madsim's sends do not fail");
    });
}

/// What the receiving node waits of a latency the world drew: the rest, after madsim's costs.
pub(super) fn layered(latency: Time) -> Time {
    latency.saturating_sub(OVERHEAD)
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

/// A process's life on its madsim node: bind its endpoint, start receiving, report that it is
/// up. It never returns, because madsim ends a node whose initial task does.
async fn boot(node: NodeId, inbox: Arc<Inbox>) {
    let endpoint =
        Endpoint::bind(address(node)).await.expect("a killed node's socket is closed, so its address is free");
    for _ in 0..RECEIVERS {
        madsim::task::spawn(receive(endpoint.clone(), inbox.clone()));
    }
    inbox.push(Report::Up { node, endpoint });
    std::future::pending::<()>().await;
}

/// One receive loop: reports each datagram, after the delay the world layered on it.
async fn receive(endpoint: Endpoint, inbox: Arc<Inbox>) {
    while let Ok((payload, _)) = endpoint.recv_from_raw(TAG).await {
        let datagram = payload.downcast::<Datagram>().expect("only the host sends datagrams");
        let report = Report::Datagram { id: datagram.id };
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
