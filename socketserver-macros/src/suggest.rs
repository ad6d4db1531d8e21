//! "Did you mean …?" for near misses.

/// The candidate closest to `name`, if one is close enough to be a likely typo.
pub(crate) fn did_you_mean<'a>(name: &str, candidates: &[&'a str]) -> Option<&'a str> {
    // Jaro-Winkler favours a shared start (`verify` → `verify_request`);
    // Damerau-Levenshtein catches swaps in short words (`tpc` → `tcp`).
    candidates
        .iter()
        .map(|c| {
            let score = strsim::jaro_winkler(name, c)
                .max(strsim::normalized_damerau_levenshtein(name, c) + 0.2);
            (score, *c)
        })
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typos_find_their_word_and_strangers_find_nothing() {
        let keys = ["backlog", "nodelay", "timeout", "poll_interval", "workers"];
        assert_eq!(did_you_mean("backlogg", &keys), Some("backlog"));
        assert_eq!(did_you_mean("no_delay", &keys), Some("nodelay"));
        assert_eq!(did_you_mean("timout", &keys), Some("timeout"));
        assert_eq!(did_you_mean("worker", &keys), Some("workers"));
        assert_eq!(did_you_mean("colour", &keys), None);
        assert_eq!(did_you_mean("tpc", &["tcp", "udp", "unix"]), Some("tcp"));
        assert_eq!(
            did_you_mean("verify", &["verify_request", "setup", "finish"]),
            Some("verify_request")
        );
    }
}
