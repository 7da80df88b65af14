//! How the reports say things, in one place so that every page and the terminal say them
//! the same way: one time format (`371.034 ms`), servers as nodes and clients as clients
//! (`node 2`, `client 3`: clients are numbered from 0, as a scenario's `clients = 5` makes
//! clients 0 to 4), and `n/a` for a figure with nothing to measure.

/// What a figure with nothing to measure prints.
pub const NOT_APPLICABLE: &str = "n/a";

/// A virtual time in milliseconds, as every report writes it: `371.034 ms`.
pub fn time(ms: f64) -> String {
    format!("{ms:.3} ms")
}

/// Process `id` of a run with `servers` servers: `node 2` or `client 3`.
pub fn process(id: u32, servers: u32) -> String {
    match id.checked_sub(servers) {
        Some(client) => format!("client {client}"),
        None => format!("node {id}"),
    }
}

/// Processes in words, servers first then clients, each once: `nodes 1 and 2, client 3`.
pub fn processes(ids: &[u32], servers: u32) -> String {
    let mut ids = ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    let (nodes, clients): (Vec<u32>, Vec<u32>) = ids.iter().partition(|id| **id < servers);
    let clients: Vec<u32> = clients.iter().map(|id| id - servers).collect();
    let group = |singular: &str, plural: &str, ids: &[u32]| match ids {
        [] => None,
        [one] => Some(format!("{singular} {one}")),
        [rest @ .., last] => {
            let rest: Vec<String> = rest.iter().map(u32::to_string).collect();
            Some(format!("{plural} {} and {last}", rest.join(", ")))
        }
    };
    let parts: Vec<String> =
        [group("node", "nodes", &nodes), group("client", "clients", &clients)].into_iter().flatten().collect();
    parts.join(", ")
}

/// `value` with two decimals, or `n/a`.
pub fn decimal(value: Option<f64>) -> String {
    value.map_or_else(|| NOT_APPLICABLE.to_string(), |value| format!("{value:.2}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn servers_are_nodes_and_clients_are_numbered_from_zero() {
        assert_eq!(process(4, 5), "node 4");
        assert_eq!(process(8, 5), "client 3");
        assert_eq!(processes(&[8, 5], 5), "clients 0 and 3");
        assert_eq!(processes(&[2, 1, 7, 2], 5), "nodes 1 and 2, client 2");
        assert_eq!(processes(&[0, 1, 2], 3), "nodes 0, 1 and 2");
        assert_eq!(processes(&[], 3), "");
    }

    #[test]
    fn one_time_format_and_n_a_for_nothing_to_measure() {
        assert_eq!(time(371.0344), "371.034 ms");
        assert_eq!(decimal(None), "n/a");
        assert_eq!(decimal(Some(3.125)), "3.12");
    }
}
