//! The quorum store's settings (`[settings]` in a scenario) and the vote arithmetic of
//! Gifford's weighted voting.
//!
//! Each server has a number of votes (one by default); a read needs replies carrying `r`
//! votes and a write acknowledgements carrying `w` votes, out of the `V` votes of the key's
//! replicas. Gifford's conditions are r + w > V (every read quorum meets every write quorum,
//! so a read sees the latest write) and 2w > V (two write quorums meet). They are not
//! enforced: a configuration that breaks them is the `r-plus-w-le-n` scenario's point. Only
//! what cannot run is refused when the scenario is loaded.

use serde::Deserialize;

use crate::node::NodeId;

/// The `[settings]` of the quorum store.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuorumSettings {
    /// How many servers hold the registers (the preference list); default every initial server.
    pub replicas: Option<u32>,
    /// Votes of each server, by id (Gifford's weighted voting); default one each.
    pub votes: Option<Vec<u32>>,
    /// Votes a read needs (r); default a majority of the replicas' votes.
    pub read_quorum: Option<u32>,
    /// Votes a write needs (w); default a majority of the replicas' votes.
    pub write_quorum: Option<u32>,
    /// Whether a read writes the newest version back to a write quorum before it answers
    /// (blocking read repair); default true.
    pub read_repair: Option<bool>,
    /// Dynamo's sloppy quorum: a write that cannot reach a replica stores a hint on the
    /// next server outside the replicas and counts it for the replica; default false.
    pub sloppy: Option<bool>,
}

/// The most votes one server may have.
pub const VOTES_MAX: u32 = 1_000;

/// The settings, resolved for a run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// How many servers hold the registers.
    pub replicas: usize,
    /// Votes per server slot.
    pub votes: Vec<u32>,
    pub read_quorum: u32,
    pub write_quorum: u32,
    pub read_repair: bool,
    pub sloppy: bool,
}

impl Config {
    /// The settings of a run of `servers` initial members and `spares` more slots.
    pub fn new(settings: &QuorumSettings, servers: u32, spares: u32) -> Config {
        let replicas = settings.replicas.unwrap_or(servers) as usize;
        let slots = (servers + spares) as usize;
        let mut votes = settings.votes.clone().unwrap_or_default();
        votes.resize(slots, 1);
        let total: u32 = votes.iter().take(replicas).sum();
        let majority = total / 2 + 1;
        Config {
            replicas,
            votes,
            read_quorum: settings.read_quorum.unwrap_or(majority),
            write_quorum: settings.write_quorum.unwrap_or(majority),
            read_repair: settings.read_repair.unwrap_or(true),
            sloppy: settings.sloppy.unwrap_or(false),
        }
    }

    /// What cannot run, in words.
    pub fn check(settings: &QuorumSettings, servers: u32, spares: u32) -> Result<(), String> {
        let replicas = settings.replicas.unwrap_or(servers);
        if replicas == 0 || replicas > servers {
            return Err(format!("replicas = {replicas}: need 1 to {servers} (the initial servers)"));
        }
        if let Some(votes) = &settings.votes {
            if spares > 0 || replicas != servers {
                return Err("votes need a fixed set of replicas: every initial server, no max_nodes".to_string());
            }
            if votes.len() != servers as usize {
                return Err(format!("votes has {} entries for {servers} servers: give one per server", votes.len()));
            }
            if let Some(too_many) = votes.iter().find(|&&votes| votes > VOTES_MAX) {
                return Err(format!("{too_many} votes is more than the {VOTES_MAX} a server may have"));
            }
        }
        let config = Config::new(settings, servers, spares);
        let total = config.total(&(0..replicas).collect::<Vec<_>>());
        if total == 0 {
            return Err("the replicas have no votes: give at least one a vote".to_string());
        }
        for (name, quorum) in [("read_quorum", config.read_quorum), ("write_quorum", config.write_quorum)] {
            if quorum == 0 || quorum > total {
                return Err(format!("{name} = {quorum}: need 1 to {total} (the replicas' votes)"));
            }
        }
        if config.sloppy && replicas >= servers {
            return Err(format!(
                "sloppy quorums hand writes to servers outside the replicas: set replicas below {servers}"
            ));
        }
        Ok(())
    }

    /// The votes of `servers`.
    pub fn total(&self, servers: &[NodeId]) -> u32 {
        servers.iter().map(|&server| self.votes[server as usize]).sum()
    }

    /// The votes of those of `voters` that are among `replicas`.
    pub fn votes_among(&self, voters: impl IntoIterator<Item = NodeId>, replicas: &[NodeId]) -> u32 {
        self.total(&voters.into_iter().filter(|voter| replicas.contains(voter)).collect::<Vec<_>>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(replicas: Option<u32>, votes: Option<Vec<u32>>, quorums: (Option<u32>, Option<u32>)) -> QuorumSettings {
        let (read_quorum, write_quorum) = quorums;
        QuorumSettings { replicas, votes, read_quorum, write_quorum, ..QuorumSettings::default() }
    }

    #[test]
    fn defaults_are_majorities_of_one_vote_per_server_with_read_repair() {
        let config = Config::new(&QuorumSettings::default(), 5, 0);
        assert_eq!((config.replicas, config.read_quorum, config.write_quorum), (5, 3, 3));
        assert!(config.read_repair && !config.sloppy);
        let weighted = Config::new(&settings(None, Some(vec![3, 1, 1]), (None, None)), 3, 0);
        assert_eq!((weighted.read_quorum, weighted.write_quorum), (3, 3), "a majority of 5 votes");
        assert_eq!(weighted.votes_among([0, 2, 7], &[0, 1, 2]), 4);
    }

    #[test]
    fn what_cannot_run_is_refused_and_gifford_violations_are_allowed() {
        let check = |settings: QuorumSettings, servers, spares| Config::check(&settings, servers, spares);
        let quorums = |read, write| settings(None, None, (read, write));
        assert_eq!(check(quorums(Some(1), Some(1)), 3, 0), Ok(()), "r + w <= V runs, and shows its cost");
        assert!(check(quorums(Some(4), None), 3, 0).unwrap_err().contains("need 1 to 3"));
        assert!(check(quorums(None, Some(0)), 3, 0).unwrap_err().contains("write_quorum = 0"));
        assert!(check(settings(Some(4), None, (None, None)), 3, 0).unwrap_err().contains("need 1 to 3"));
        let votes = |votes: Vec<u32>| settings(None, Some(votes), (None, None));
        assert!(check(votes(vec![1, 1]), 3, 0).unwrap_err().contains("one per server"));
        assert!(check(votes(vec![1, 1, 1]), 3, 1).unwrap_err().contains("no max_nodes"));
        assert!(check(votes(vec![0, 0, 0]), 3, 0).unwrap_err().contains("no votes"));
        assert!(check(votes(vec![1, 2000, 1]), 3, 0).unwrap_err().contains("more than the 1000"));
        let sloppy = |replicas| QuorumSettings { replicas, sloppy: Some(true), ..QuorumSettings::default() };
        assert!(check(sloppy(None), 3, 0).unwrap_err().contains("replicas below 3"));
        assert_eq!(check(sloppy(Some(3)), 5, 0), Ok(()));
        assert_eq!(check(settings(None, Some(vec![2, 1, 1]), (Some(2), Some(3))), 3, 0), Ok(()));
    }
}
