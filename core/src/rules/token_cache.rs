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
//! a fixed table of two-slot sets, where a new token takes a free slot of its set or
//! replaces the older of the two (counted as an eviction); two hot tokens whose hashes
//! meet in one set both stay. A hit takes no lock: each slot is an atomically swapped
//! pointer.

use crate::keys::key_set::KeySet;
use crate::rules::claims::Times;
use crate::rules::token::VerifiedToken;
use crate::support::metrics::{Counter, Metrics};
use crate::support::process;
use arc_swap::ArcSwapOption;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};
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
    /// The token's hash: a different hash rules an entry out before the whole token is
    /// compared (equal hashes still need equal tokens). Set by [`TokenCache::insert`].
    hash: u64,
    /// When it was inserted (the cache's own count): the older of a set's two is replaced.
    stamp: u64,
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
            hash: 0,
            stamp: 0,
        }
    }
}

pub(crate) struct TokenCache {
    slots: Box<[ArcSwapOption<Entry>]>,
    mask: usize,
    hasher: foldhash::fast::RandomState,
    /// Insertions so far: each entry's `stamp`. Touched only on misses, not by hits.
    inserted: AtomicU64,
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
            inserted: AtomicU64::new(0),
            metrics: metrics.clone(),
        }
    }

    fn hash(&self, token: &str) -> u64 {
        self.hasher.hash_one(token.as_bytes())
    }

    /// A token's set: its first slot, then the other one (the same slot in a table of
    /// one). Inserts fill the first slot before the second, so most hits read one slot.
    fn set(&self, hash: u64) -> [&ArcSwapOption<Entry>; 2] {
        let first = hash as usize & self.mask;
        [&self.slots[first], &self.slots[(first ^ 1) & self.mask]]
    }

    /// `judge` on the entry of exactly this token, if there is one from this process;
    /// `judge` answers `None` when the entry cannot be used (keys changed). Counts a hit;
    /// the verifier counts the miss ([`TokenCache::count_miss`]) once the full path has
    /// answered, so that a verification that waits for keys in between is one miss.
    pub fn lookup<R>(&self, token: &str, judge: impl FnOnce(&Entry) -> Option<R>) -> Option<R> {
        let hash = self.hash(token);
        let guard = self
            .set(hash)
            .into_iter()
            .map(|slot| slot.load())
            .find(|guard| guard.as_ref().is_some_and(|e| is_entry_of(e, hash, token)))?;
        let found = guard.as_ref().and_then(|e| judge(e));
        if found.is_some() {
            self.metrics.add(Counter::TokenCacheHits);
        }
        found
    }

    /// One verification the cache could not answer.
    pub fn count_miss(&self) {
        self.metrics.add(Counter::TokenCacheMisses);
    }

    /// Keeps `entry` in its token's set: in the slot of the same token's unusable entry
    /// (or a copy another thread just put there), else in an empty slot or one a parent
    /// process filled, else in place of the older of the two. The slot is chosen from a
    /// snapshot; what is swapped out decides the count, so an entry another thread stored
    /// in between is counted as the eviction it is.
    pub fn insert(&self, mut entry: Entry) {
        entry.hash = self.hash(&entry.token);
        entry.stamp = self.inserted.fetch_add(1, Ordering::Relaxed);
        let (hash, set) = (entry.hash, self.set(entry.hash));
        let held = set.map(|slot| slot.load_full());
        let own = |e: &Option<Arc<Entry>>| {
            e.as_deref()
                .is_some_and(|e| is_entry_of(e, hash, &entry.token))
        };
        let free = |e: &Option<Arc<Entry>>| e.as_deref().is_none_or(|e| !is_current(e));
        let i = held
            .iter()
            .position(own)
            .or_else(|| held.iter().position(free))
            .unwrap_or_else(|| {
                let stamp = |i: usize| held[i].as_ref().map_or(0, |e| e.stamp);
                usize::from(stamp(1) < stamp(0))
            });
        let entry = Arc::new(entry);
        let previous = set[i].swap(Some(entry.clone()));
        // In constant time too: the previous token may be another client's.
        if previous.is_some_and(|p| is_current(&p) && !is_entry_of(&p, hash, &entry.token)) {
            self.metrics.add(Counter::TokenCacheEvictions);
        }
    }
}

/// Whether `entry` was made in this process (not before a `fork()`).
fn is_current(entry: &Entry) -> bool {
    entry.generation == process::fork_generation()
}

/// Whether `entry` is this process's entry of exactly `token`.
fn is_entry_of(entry: &Entry, hash: u64, token: &str) -> bool {
    entry.hash == hash && same_token(&entry.token, token) && is_current(entry)
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
    fn two_tokens_in_one_set_both_stay() {
        let metrics = Arc::new(Metrics::new());
        // Two slots: one set, which every token shares.
        let cache = TokenCache::new(2, &metrics);
        let hits = |tokens: &[&str]| {
            tokens
                .iter()
                .map(|t| cache.lookup(t, |_| Some(())).is_some())
                .collect::<Vec<_>>()
        };
        cache.insert(entry("a.a.a"));
        cache.insert(entry("b.b.b"));
        for _ in 0..3 {
            assert_eq!(hits(&["a.a.a", "b.b.b"]), [true, true]);
        }
        assert_eq!(metrics.snapshot().token_cache_evictions, 0);
        // A third replaces the older of the two, whichever slot it is in.
        cache.insert(entry("c.c.c"));
        assert_eq!(hits(&["a.a.a", "b.b.b", "c.c.c"]), [false, true, true]);
        cache.insert(entry("d.d.d"));
        assert_eq!(hits(&["b.b.b", "c.c.c", "d.d.d"]), [false, true, true]);
        // A token put again takes its own slot back: nothing else leaves.
        cache.insert(entry("c.c.c"));
        assert_eq!(hits(&["c.c.c", "d.d.d"]), [true, true]);
        assert_eq!(metrics.snapshot().token_cache_evictions, 2);
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
