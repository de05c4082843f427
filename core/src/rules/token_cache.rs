//! The opt-in verified-token cache (`[cache] max_entries`). Clients send the same access
//! token with every request until it expires; a hit answers without the signature check.
//!
//! What a hit still requires, every time:
//! - the exact token: slots are found by a randomly seeded hash, but the whole token is
//!   compared (in constant time) before an entry is used (a hash never decides alone);
//! - the same process: entries made before a `fork()` are not used in the child;
//! - for remote keys, the very key set that verified it, not past `max_stale`: a rotation,
//!   a removal or a refetch of another document makes it a miss (the same bytes again
//!   keep the same key set). Past their freshness (the IdP not answering)
//!   the full path would use these same keys, so a hit still answers, counted as a stale
//!   serve;
//! - the time rules (`exp`, `nbf`, `iat`, `max_age`, leeway), judged again against the
//!   current time, so an entry never turns an expired token valid.
//!
//! Every other rule (`iss`, `aud`, `typ`, required claims, lifetime) gives the same verdict
//! on the same token with the same configuration, and a verifier's configuration never
//! changes: a new configuration is a new verifier with an empty cache. DPoP proofs are not
//! cached: the verifier checks them (and records their `jti`) after this. Memory is bounded:
//! a fixed table where a new token may replace an older one (counted as an eviction). A hit
//! takes no lock: each slot is an atomically swapped pointer.

use crate::keys::key_set::KeySet;
use crate::rules::claims::Times;
use crate::rules::token::VerifiedToken;
use crate::support::metrics::{Counter, Metrics};
use crate::support::process;
use arc_swap::ArcSwapOption;
use std::hash::BuildHasher;
use std::sync::Arc;

/// The largest table (entries hold the token and its claims: about 1.5 KB each for a
/// typical 800-byte access token).
pub(crate) const MAX_SLOTS: usize = 1 << 20;

/// One verified token and what a hit must check again.
pub(crate) struct Entry {
    token: Box<str>,
    /// The length of the token's header segment (found once, not on every hit).
    header_len: usize,
    pub verified: VerifiedToken,
    /// The issuer (its index in the verifier) whose keys and rules accepted it.
    pub issuer: usize,
    pub times: Times,
    /// The remote key set that verified it (`None` for static keys, which never change).
    pub keys: Option<Arc<KeySet>>,
    generation: u64,
}

impl Entry {
    /// The token's header segment (all of it when it has no `.`).
    pub fn header_segment(&self) -> &str {
        self.token.get(..self.header_len).unwrap_or_default()
    }

    pub fn new(
        token: &str,
        verified: VerifiedToken,
        issuer: usize,
        times: Times,
        keys: Option<Arc<KeySet>>,
    ) -> Entry {
        Entry {
            token: token.into(),
            header_len: token.find('.').unwrap_or(token.len()),
            verified,
            issuer,
            times,
            keys,
            generation: process::fork_generation(),
        }
    }
}

pub(crate) struct TokenCache {
    slots: Box<[ArcSwapOption<Entry>]>,
    mask: usize,
    hasher: foldhash::fast::RandomState,
    metrics: Arc<Metrics>,
}

impl TokenCache {
    /// A cache of `max_entries` (rounded up to a power of two, at most [`MAX_SLOTS`]).
    pub fn new(max_entries: usize, metrics: &Arc<Metrics>) -> TokenCache {
        process::watch_forks();
        let size = max_entries.clamp(1, MAX_SLOTS).next_power_of_two();
        TokenCache {
            slots: (0..size).map(|_| ArcSwapOption::empty()).collect(),
            mask: size - 1,
            hasher: foldhash::fast::RandomState::default(),
            metrics: metrics.clone(),
        }
    }

    fn slot(&self, token: &str) -> &ArcSwapOption<Entry> {
        let hash = self.hasher.hash_one(token.as_bytes()) as usize;
        &self.slots[hash & self.mask]
    }

    /// `judge` on the entry of exactly this token, if there is one from this process;
    /// `judge` answers `None` when the entry cannot be used (keys changed). Counts a hit;
    /// the verifier counts the miss ([`TokenCache::count_miss`]) once the full path has
    /// answered, so that a verification that waits for keys in between is one miss.
    pub fn lookup<R>(&self, token: &str, judge: impl FnOnce(&Entry) -> Option<R>) -> Option<R> {
        let guard = self.slot(token).load();
        let found = guard
            .as_ref()
            .filter(|e| same_token(&e.token, token) && e.generation == process::fork_generation())
            .and_then(|e| judge(e));
        if found.is_some() {
            self.metrics.add(Counter::TokenCacheHits);
        }
        found
    }

    /// One verification the cache could not answer.
    pub fn count_miss(&self) {
        self.metrics.add(Counter::TokenCacheMisses);
    }

    /// Keeps `entry` in its token's slot, replacing what was there: an eviction when that
    /// was another token (not the same token's unusable entry, or a copy another thread
    /// just put there).
    pub fn insert(&self, entry: Entry) {
        let slot = self.slot(&entry.token);
        let entry = Arc::new(entry);
        let previous = slot.swap(Some(entry.clone()));
        // In constant time too: the slot's previous token may be another client's.
        if previous.is_some_and(|p| !same_token(&p.token, &entry.token)) {
            self.metrics.add(Counter::TokenCacheEvictions);
        }
    }
}

/// Whether `cached` is exactly `token`, compared in constant time: `token` is a caller's,
/// `cached` may be another client's bearer token in the same slot, and the time an
/// ordinary comparison takes tells how long a prefix they share. (Lengths are compared
/// first; a token's length is no secret.)
fn same_token(cached: &str, token: &str) -> bool {
    aws_lc_rs::constant_time::verify_slices_are_equal(cached.as_bytes(), token.as_bytes()).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(token: &str) -> Entry {
        Entry::new(
            token,
            VerifiedToken::introspected(br#"{"sub":"x"}"#.to_vec(), false),
            0,
            Times::default(),
            None,
        )
    }

    #[test]
    fn only_the_exact_token_hits() {
        let metrics = Arc::new(Metrics::new());
        // One slot: every token is looked up in the entry of "a.b.c", so only the
        // comparison of the whole token can tell them apart.
        let cache = TokenCache::new(1, &metrics);
        cache.insert(entry("a.b.c"));
        assert_eq!(cache.lookup("a.b.c", |e| Some(e.issuer)), Some(0));
        for other in ["a.b.d", "a.b.c.", "a.b", "A.b.c", ""] {
            assert_eq!(cache.lookup(other, |e| Some(e.issuer)), None, "{other}");
        }
        assert_eq!(cache.lookup("a.b.c", |_| None::<()>), None);
        let m = metrics.snapshot();
        // Misses are the verifier's to count, once the full path has answered.
        assert_eq!((m.token_cache_hits, m.token_cache_misses), (1, 0));
    }

    #[test]
    fn replacing_a_tokens_own_entry_is_no_eviction() {
        let metrics = Arc::new(Metrics::new());
        let cache = TokenCache::new(1, &metrics);
        cache.insert(entry("a.b.c"));
        cache.insert(entry("a.b.c"));
        assert_eq!(metrics.snapshot().token_cache_evictions, 0);
        cache.insert(entry("x.y.z"));
        assert_eq!(metrics.snapshot().token_cache_evictions, 1);
    }

    #[test]
    fn a_full_table_replaces_and_counts_evictions() {
        let metrics = Arc::new(Metrics::new());
        let cache = TokenCache::new(4, &metrics);
        for i in 0..100 {
            cache.insert(entry(&format!("token-{i}")));
        }
        let live = (0..100)
            .filter(|i| cache.lookup(&format!("token-{i}"), |_| Some(())).is_some())
            .count();
        assert!(live <= 4, "{live}");
        assert!(metrics.snapshot().token_cache_evictions >= 96);
    }
}
