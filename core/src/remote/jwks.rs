//! A remote key set (a JWKS URL, or one found by OIDC discovery) under the cache policy of
//! docs/design.md §4. The hot path reads an immutable snapshot without locking; only a cold cache,
//! an unknown `kid` or stale keys take the state lock, and every caller that needs a fetch
//! shares the one in flight (single flight), waiting at most the fetch timeout.
//!
//! Fork safety: the lock and the fetch in flight belong to one process ([`PerProcess`]), and
//! nothing slow (building the HTTP client, a request) runs under the lock, so a child forked
//! at any instant starts with a state of its own and its own I/O; it keeps the keys.
//!
//! One code for one situation: a verification that needs keys the source cannot give now
//! (cold cache, a refresh for an unknown `kid` that failed, or one skipped while the source
//! is failing) is `jwks_unavailable`; `key_not_found` means the source answered without it.
//! After a failed fetch the next waits a doubling backoff with jitter, shared by every
//! caller, so an IdP that is down sees O(log t) fetches, not one per verification.

use crate::config::{IssuerConfig, JwksCacheConfig, MAX_DURATION_SECONDS};
use crate::format::algorithm::AlgorithmSet;
use crate::keys::jws::{self, HeaderFields};
use crate::keys::key_set::{parse_jwks, KeySet, Origin};
use crate::remote::fetch;
use crate::support::error::{Error, ErrorCode};
use crate::support::io_runtime;
use crate::support::metrics::{Counter, Metrics};
use crate::support::process::{self, PerProcess};
use crate::support::untrusted_text::clip;
use arc_swap::ArcSwapOption;
use reqwest::{Client, Url};
use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError, Weak};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// Missing kids remembered at most (a flood of random kids cannot grow memory).
const MAX_MISSING_KIDS: usize = 4096;
/// Pause after the first failed fetch; it doubles with each failure in a row.
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
/// Longest pause between retries while the IdP keeps failing, whatever the cooldown.
const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// The pause after `failures` failed fetches in a row: doubling from [`FIRST_BACKOFF`] up to
/// the source's `cooldown` (between 1 s and [`MAX_BACKOFF`]), so keys past `max_stale` come
/// back within a cooldown of the IdP's return; with equal jitter (half fixed, half random)
/// so that a fleet restarted together does not retry in step.
fn backoff(failures: u32, cooldown: Duration) -> Duration {
    let cap = cooldown.clamp(FIRST_BACKOFF, MAX_BACKOFF);
    let full = FIRST_BACKOFF
        .saturating_mul(1 << failures.saturating_sub(1).min(6))
        .min(cap);
    let unit = (RandomState::new().hash_one(failures) >> 11) as f64 / (1u64 << 53) as f64;
    full / 2 + full.mul_f64(unit / 2.0)
}

/// Keys as fetched, with the times that govern their use.
pub(crate) struct Snapshot {
    pub keys: Arc<KeySet>,
    pub fetched_at: Instant,
    /// Refresh is due after this; still usable until `usable_until`.
    pub fresh_until: Instant,
    /// Past this the keys are too old (`max_stale`): `jwks_unavailable`.
    pub usable_until: Instant,
    /// SHA-256 of the key set document these keys came from: a refetch that returns the
    /// same bytes keeps these very keys, and with them the verified-token cache's entries.
    pub body_digest: [u8; 32],
}

/// One fetch in progress; every caller that needs it waits on the same one.
pub(crate) struct Flight {
    outcome: Mutex<Option<Result<(), String>>>,
    done: Condvar,
    notify: Notify,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Flight {
    fn new() -> Arc<Flight> {
        Arc::new(Flight {
            outcome: Mutex::new(None),
            done: Condvar::new(),
            notify: Notify::new(),
        })
    }

    /// A flight that has already landed: the caller retries at once.
    fn landed() -> Arc<Flight> {
        let flight = Flight::new();
        flight.complete(Ok(()));
        flight
    }

    fn complete(&self, outcome: Result<(), String>) {
        *lock(&self.outcome) = Some(outcome);
        self.done.notify_all();
        self.notify.notify_waiters();
    }

    /// Blocks the calling thread until the fetch ends or `timeout` passes.
    pub fn wait_blocking(&self, timeout: Duration) {
        let guard = lock(&self.outcome);
        let _ = self
            .done
            .wait_timeout_while(guard, timeout, |o| o.is_none());
    }

    /// Waits without blocking the thread until the fetch ends or `timeout` passes.
    pub async fn wait(&self, timeout: Duration) {
        let _ = tokio::time::timeout(timeout, async {
            loop {
                let notified = self.notify.notified();
                if lock(&self.outcome).is_some() {
                    return;
                }
                notified.await;
            }
        })
        .await;
    }
}

/// Where the keys come from.
enum Target {
    Jwks(Url),
    Discovery(Url),
}

/// What fetching needs to remember, per process (see the module's doc on fork safety).
#[derive(Default)]
struct State {
    in_flight: Option<Arc<Flight>>,
    etag: Option<String>,
    jwks_url: Option<Url>,
    cooldown_until: Option<Instant>,
    /// The kid whose refresh started the cooldown: callers with that kid share its
    /// flight; other unknown kids fail fast meanwhile.
    refresh_kid: Option<String>,
    missing: HashMap<String, Instant>,
    /// Failed fetches in a row.
    failures: u32,
    /// While fetches fail, none starts before this (the backoff).
    retry_at: Option<Instant>,
    last_error: Option<String>,
}

impl State {
    fn live_flight(&self) -> Option<Arc<Flight>> {
        self.in_flight.clone()
    }

    /// Whether the source is failing and its backoff says not to fetch yet.
    fn backing_off(&self, now: Instant) -> bool {
        self.failures > 0 && self.retry_at.is_some_and(|at| now < at)
    }

    /// Why the source cannot give keys now, for `jwks_unavailable` messages.
    fn failure(&self) -> String {
        let why = self.last_error.as_deref().unwrap_or("the fetch failed");
        match self.retry_at {
            Some(at) if self.failures > 0 => {
                let wait = at.saturating_duration_since(Instant::now());
                format!("{why} (next try in {} ms)", wait.as_millis())
            }
            _ => why.to_owned(),
        }
    }
}

/// The outcome of checking a token's signature against a remote key set.
pub(crate) enum KeyCheck {
    /// With the key set that verified it, when the caller asked to keep it.
    Verified(Option<Arc<KeySet>>),
    Failed(Error),
    /// Keys are being fetched: wait on this flight, then try once more.
    Wait(Arc<Flight>),
}

pub(crate) struct RemoteKeys {
    issuer: String,
    target: Target,
    policy: JwksCacheConfig,
    allowed: AlgorithmSet,
    snapshot: ArcSwapOption<Snapshot>,
    state: PerProcess<Mutex<State>>,
    /// Built outside any lock (it reads every CA certificate) and once per process.
    client: PerProcess<Client>,
    metrics: Arc<Metrics>,
    /// The process ([`process::identity`]) whose refresher task is running (0: none yet).
    refresher_of: AtomicU64,
}

fn unavailable(message: impl Into<String>) -> Error {
    Error::new(ErrorCode::JwksUnavailable, message)
}

impl RemoteKeys {
    /// The remote source of `ic`, or `None` when it has only static keys.
    pub fn from_config(
        ic: &IssuerConfig,
        allowed: AlgorithmSet,
        metrics: &Arc<Metrics>,
    ) -> Result<Option<Arc<Self>>, Error> {
        let policy = ic.jwks_cache.clone();
        let target = match (&ic.jwks_uri, ic.discovery) {
            (None, false) => return Ok(None),
            (Some(_), true) => {
                return Err(Error::config(
                    "give \"jwks_uri\" or \"discovery\", not both",
                ))
            }
            (Some(uri), false) => Target::Jwks(
                fetch::parse_url(uri, policy.allow_http)
                    .map_err(|e| Error::config(format!("jwks_uri: {e}")))?,
            ),
            (None, true) => Target::Discovery(
                fetch::discovery_url(&ic.issuer, policy.allow_http)
                    .map_err(|e| Error::config(format!("discovery: {e}")))?,
            ),
        };
        if !ic.keys.is_empty() {
            return Err(Error::config(
                "a remote key source (jwks_uri or discovery) excludes static \"keys\"",
            ));
        }
        validate_policy(&policy)?;
        let remote = Arc::new(RemoteKeys {
            issuer: ic.issuer.clone(),
            target,
            policy,
            allowed,
            snapshot: ArcSwapOption::empty(),
            state: PerProcess::new(),
            client: PerProcess::new(),
            metrics: metrics.clone(),
            refresher_of: AtomicU64::new(0),
        });
        Ok(Some(remote))
    }

    /// Starts the first fetch and the background refresher; with `wait_at_startup`, waits
    /// for the first fetch and fails unless it succeeded. The HTTP client is built here, on
    /// the caller's thread: a process that forks after this returns never forks in the
    /// middle of it.
    pub fn start(self: &Arc<Self>) -> Result<(), Error> {
        // A failure to build it is reported by the fetch, like any other fetch failure.
        let _ = self.client();
        self.ensure_refresher()?;
        let flight = {
            let cell = self.state();
            let mut st = lock(&cell);
            match st.live_flight() {
                Some(f) => f,
                None => self.start_fetch(&mut st)?,
            }
        };
        if self.policy.wait_at_startup {
            flight.wait_blocking(self.wait_limit());
            if self.snapshot.load().is_none() {
                let why = lock(&self.state())
                    .last_error
                    .clone()
                    .unwrap_or_else(|| "timed out".into());
                return Err(unavailable(format!(
                    "the first key fetch for {} failed: {why}",
                    self.issuer
                )));
            }
        }
        Ok(())
    }

    /// This process's fetch state.
    fn state(&self) -> Arc<crate::support::process::Owned<Mutex<State>>> {
        self.state.get_or_init(|| Mutex::new(State::default()))
    }

    /// How long a verification waits for a fetch: one request's timeout, or two while the
    /// discovery document is still to be read (discovery, then the key set, each with its
    /// own timeout: a caller gave up before a slow but working IdP had answered both).
    pub fn wait_limit(&self) -> Duration {
        let one = Duration::from_millis(self.policy.timeout_ms);
        let discovering =
            matches!(self.target, Target::Discovery(_)) && lock(&self.state()).jwks_url.is_none();
        if discovering {
            one * 2
        } else {
            one
        }
    }

    /// Whether a cached verification made with `keys` may answer: they must still be this
    /// source's keys, not past `max_stale`. Past their freshness (the IdP not answering)
    /// the full path would verify with these very keys, so the hit answers as it would:
    /// counted as a stale serve, with the refresher kept running.
    pub fn keys_still_usable(self: &Arc<Self>, keys: &Arc<KeySet>) -> bool {
        self.snapshot
            .load()
            .as_ref()
            .is_some_and(|snap| Arc::ptr_eq(&snap.keys, keys) && self.serves_now(snap))
    }

    /// Whether `snap`'s keys may serve now: fresh ones do; past freshness they still do
    /// until `max_stale`, each use counted as a stale serve and the refresher kept running.
    /// The one judgment of the full path and of a cache hit.
    fn serves_now(self: &Arc<Self>, snap: &Snapshot) -> bool {
        let now = Instant::now();
        if now <= snap.fresh_until {
            return true;
        }
        if now > snap.usable_until {
            return false;
        }
        self.metrics.add(Counter::StaleServes);
        let _ = self.ensure_refresher();
        true
    }

    /// Keys are loaded and not past `max_stale`.
    pub fn is_ready(&self) -> bool {
        self.snapshot
            .load()
            .as_ref()
            .is_some_and(|s| Instant::now() <= s.usable_until)
    }

    /// Checks the signature with the cached keys, or says what to wait for. `waited`: this
    /// verification already waited once, so it must not wait again.
    pub fn check(
        self: &Arc<Self>,
        header: &HeaderFields,
        signing_input: &str,
        signature: &[u8],
        waited: bool,
        keep_keys: bool,
    ) -> KeyCheck {
        let guard = self.snapshot.load();
        let Some(snap) = guard.as_ref() else {
            if waited {
                let why = lock(&self.state())
                    .last_error
                    .clone()
                    .unwrap_or_else(|| "the fetch did not finish in time".into());
                return KeyCheck::Failed(unavailable(format!(
                    "no keys for {} yet: {why}",
                    self.issuer
                )));
            }
            return match self.join_or_start() {
                Ok(flight) => KeyCheck::Wait(flight),
                Err(e) => KeyCheck::Failed(e),
            };
        };
        if !self.serves_now(snap) {
            self.kick();
            return KeyCheck::Failed(unavailable(format!(
                "the keys of {} are older than max_stale and cannot be refreshed",
                self.issuer
            )));
        }
        let result =
            jws::verify_signature(&snap.keys, self.allowed, header, signing_input, signature);
        match (&result, header.kid.as_deref()) {
            (Err(e), Some(kid))
                if e.code() == ErrorCode::KeyNotFound && !snap.keys.has_kid(kid) =>
            {
                self.metrics.add(Counter::KeyCacheMisses);
                let outcome = match waited {
                    true => self
                        .after_refresh(kid)
                        .map(|()| KeyCheck::Failed(result.unwrap_err())),
                    false => self.refresh_for_unknown_kid(kid).map(KeyCheck::Wait),
                };
                match outcome {
                    Ok(check) => check,
                    Err(e) => KeyCheck::Failed(e),
                }
            }
            _ => {
                self.metrics.add(Counter::KeyCacheHits);
                match result {
                    Ok(()) => KeyCheck::Verified(keep_keys.then(|| snap.keys.clone())),
                    Err(e) => KeyCheck::Failed(e),
                }
            }
        }
    }

    /// After waiting on the refresh an unknown `kid` started, and the kid is still not
    /// there: `key_not_found` (the kid is remembered missing) only when the source
    /// answered; `jwks_unavailable` when the refresh failed or has not ended.
    fn after_refresh(&self, kid: &str) -> Result<(), Error> {
        let cell = self.state();
        let mut st = lock(&cell);
        if st.live_flight().is_some() {
            return Err(unavailable(format!(
                "the key refresh for {} did not finish in time",
                self.issuer
            )));
        }
        if st.failures > 0 {
            return Err(self.source_failing(&st, kid));
        }
        remember_missing(&mut st, kid, self.policy.missing_kid_ttl);
        Ok(())
    }

    /// `jwks_unavailable` for a `kid` the cached keys lack while the source is failing.
    fn source_failing(&self, st: &State, kid: &str) -> Error {
        unavailable(format!(
            "no key with kid {:?} in the cached keys of {}, and refreshing them failed: {}",
            clip(kid, 64),
            self.issuer,
            st.failure()
        ))
    }

    /// Starts a fetch without waiting for it, at most once per cooldown and never during
    /// the backoff: keys past `max_stale` come back as soon as the IdP does.
    fn kick(self: &Arc<Self>) {
        let _ = self.ensure_refresher();
        let now = Instant::now();
        let cell = self.state();
        let mut st = lock(&cell);
        if st.live_flight().is_some() || st.cooldown_until.is_some_and(|until| now < until) {
            return;
        }
        if st.backing_off(now) {
            self.metrics.add(Counter::JwksFetchesSkipped);
            return;
        }
        st.cooldown_until = Some(now + Duration::from_secs(self.policy.cooldown));
        let _ = self.start_fetch(&mut st);
    }

    /// A cold cache: join the fetch in flight or start one, unless the source is failing
    /// and its backoff has not passed (then fail fast, without a request).
    fn join_or_start(self: &Arc<Self>) -> Result<Arc<Flight>, Error> {
        self.ensure_refresher()?;
        let cell = self.state();
        let mut st = lock(&cell);
        if self.snapshot.load().is_some() {
            // Keys landed between the caller's look and this lock.
            return Ok(Flight::landed());
        }
        if let Some(f) = st.live_flight() {
            return Ok(f);
        }
        if st.backing_off(Instant::now()) {
            self.metrics.add(Counter::JwksFetchesSkipped);
            return Err(unavailable(format!(
                "no keys for {} yet: {}",
                self.issuer,
                st.failure()
            )));
        }
        self.start_fetch(&mut st)
    }

    /// An unknown `kid`: join the fetch in flight, or start one unless the kid is
    /// remembered missing, the refresh is cooling down, or the source is failing and backing
    /// off (then fail fast, without queueing).
    fn refresh_for_unknown_kid(self: &Arc<Self>, kid: &str) -> Result<Arc<Flight>, Error> {
        let now = Instant::now();
        let cell = self.state();
        let mut st = lock(&cell);
        if self
            .snapshot
            .load()
            .as_ref()
            .is_some_and(|snap| snap.keys.has_kid(kid))
        {
            // A fetch that ended between the caller's look and this lock brought the kid.
            return Ok(Flight::landed());
        }
        if st.missing.get(kid).is_some_and(|until| now < *until) {
            self.metrics.add(Counter::CooldownRejections);
            return Err(Error::new(
                ErrorCode::KeyNotFound,
                format!("no key with kid {:?} (checked recently)", clip(kid, 64)),
            ));
        }
        // Cooling down, another unknown kid fails fast, never waiting on the refresh in
        // flight either (DESIGN §4: never queue, never block). Callers with the kid that
        // started it share it (a new key, all callers at once).
        let cooling = st.cooldown_until.is_some_and(|until| now < until);
        if !cooling || st.refresh_kid.as_deref() == Some(kid) {
            if let Some(flight) = st.live_flight() {
                return Ok(flight);
            }
        }
        if st.failures > 0 && (cooling || st.backing_off(now)) {
            self.metrics.add(Counter::JwksFetchesSkipped);
            return Err(self.source_failing(&st, kid));
        }
        if cooling {
            self.metrics.add(Counter::CooldownRejections);
            return Err(Error::new(
                ErrorCode::KeyNotFound,
                format!(
                    "no key with kid {:?} (key refresh cooling down)",
                    clip(kid, 64)
                ),
            ));
        }
        st.cooldown_until = Some(now + Duration::from_secs(self.policy.cooldown));
        st.refresh_kid = Some(kid.to_owned());
        self.start_fetch(&mut st)
    }

    fn start_fetch(self: &Arc<Self>, st: &mut State) -> Result<Arc<Flight>, Error> {
        let handle = io_runtime::handle()?;
        let flight = Flight::new();
        st.in_flight = Some(flight.clone());
        let me = self.clone();
        let task_flight = flight.clone();
        handle.spawn(async move {
            // Completes the flight even if the fetch panics or the runtime drops the task:
            // a flight left open would hold every later caller until its timeout, for good.
            let mut landing = Landing {
                keys: &me,
                flight: &task_flight,
                outcome: Err("the key fetch ended without an answer".into()),
            };
            landing.outcome = me.fetch_once().await;
        });
        Ok(flight)
    }

    fn finish(&self, flight: &Arc<Flight>, outcome: Result<(), String>) {
        // Logged once the state lock is released: a sink may wait for a lock of its own
        // (Python's takes the GIL), held by a thread that waits for this one.
        let failed = {
            let cell = self.state();
            let mut st = lock(&cell);
            if st
                .in_flight
                .as_ref()
                .is_some_and(|f| Arc::ptr_eq(f, flight))
            {
                st.in_flight = None;
            }
            match &outcome {
                Ok(()) => {
                    st.failures = 0;
                    st.retry_at = None;
                    st.last_error = None;
                    None
                }
                Err(why) => {
                    let now = Instant::now();
                    st.failures = st.failures.saturating_add(1);
                    let cooldown = Duration::from_secs(self.policy.cooldown);
                    let mut retry_at = now + backoff(st.failures, cooldown);
                    // Keys about to pass max_stale get their retry no later than that.
                    if let Some(snap) = self.snapshot.load().as_ref() {
                        if snap.usable_until > now {
                            retry_at = retry_at.min(snap.usable_until);
                        }
                    }
                    st.retry_at = Some(retry_at);
                    st.last_error = Some(why.clone());
                    self.metrics.add(Counter::JwksFetchFailures);
                    let retry_ms = retry_at.saturating_duration_since(now).as_millis() as u64;
                    Some((st.failures, retry_ms))
                }
            }
        };
        if let (Some((failures, retry_ms)), Err(why)) = (failed, &outcome) {
            tracing::warn!(issuer = %self.issuer, error = %why, failures, retry_ms, "key fetch failed; keeping the last good keys");
        }
        flight.complete(outcome);
    }

    /// The HTTP client of this process (one made before fork() is not reused: its
    /// connection pool's lock may be held by a thread the child does not have).
    fn client(&self) -> Result<Client, String> {
        self.client
            .get_or_try_init(|| fetch::client(&self.policy))
            .map(|c| Client::clone(&c))
    }

    async fn jwks_url(&self, client: &Client) -> Result<Url, String> {
        let discovery = match &self.target {
            Target::Jwks(url) => return Ok(url.clone()),
            Target::Discovery(url) => url,
        };
        if let Some(url) = lock(&self.state()).jwks_url.clone() {
            return Ok(url);
        }
        let p = &self.policy;
        let url = fetch::discover(
            client,
            discovery,
            &self.issuer,
            "jwks_uri",
            p.max_response_size,
            p.allow_http,
        )
        .await?;
        lock(&self.state()).jwks_url = Some(url.clone());
        Ok(url)
    }

    fn ttl(&self, max_age: Option<u64>) -> Duration {
        let p = &self.policy;
        Duration::from_secs(max_age.unwrap_or(p.ttl).clamp(p.min_ttl, p.max_ttl))
    }

    async fn fetch_once(&self) -> Result<(), String> {
        self.metrics.add(Counter::JwksFetches);
        let client = self.client()?;
        let url = self.jwks_url(&client).await?;
        let etag = match self.snapshot.load().as_ref() {
            Some(_) => lock(&self.state()).etag.clone(),
            None => None,
        };
        tracing::debug!(issuer = %self.issuer, url = %fetch::redact(&url), "fetching keys");
        let fetched = fetch::get(
            &client,
            &url,
            etag.as_deref(),
            self.policy.max_response_size,
        )
        .await?;
        let now = Instant::now();
        let usable_until = now + Duration::from_secs(self.policy.max_stale);
        // Never fresher than usable: a max_stale shorter than the ttl still ends the keys.
        let fresh_until = (now + self.ttl(fetched.max_age)).min(usable_until);
        let previous = self.snapshot.load_full();
        let (keys, body_digest) = match fetched.body {
            None => {
                self.metrics.add(Counter::JwksNotModified);
                match previous {
                    Some(old) => (old.keys.clone(), old.body_digest),
                    None => return Err("304 Not Modified without cached keys".into()),
                }
            }
            Some(body) => {
                let digest = super::sha256(&body);
                let keys = match previous.filter(|old| old.body_digest == digest) {
                    // The same document (an IdP without ETags): the same keys, so the
                    // verified-token cache's entries stay usable. Missing kids stay missing.
                    Some(old) => {
                        tracing::debug!(issuer = %self.issuer, "keys fetched, unchanged");
                        old.keys.clone()
                    }
                    None => self.parse_keys(&body, &url)?,
                };
                // Kept for the next fetch's If-None-Match.
                lock(&self.state()).etag = fetched.etag;
                (keys, digest)
            }
        };
        self.snapshot.store(Some(Arc::new(Snapshot {
            keys,
            fetched_at: now,
            fresh_until,
            usable_until,
            body_digest,
        })));
        Ok(())
    }

    /// A newly fetched key set document's keys; kids remembered as missing are forgotten.
    fn parse_keys(&self, body: &[u8], url: &Url) -> Result<Arc<KeySet>, String> {
        let doc = crate::format::strict_json::parse(body)
            .map_err(|_| format!("{} is not valid JSON", fetch::redact(url)))?;
        let parsed = parse_jwks(&doc, Origin::Remote, self.allowed)
            .map_err(|e| format!("the key set {e}"))?;
        for why in &parsed.skipped {
            tracing::info!(issuer = %self.issuer, reason = %why, "remote key ignored");
        }
        if !parsed.keys.iter().any(|k| k.algorithms().next().is_some()) {
            // Still the issuer's answer, not a failed fetch: its keys were removed (or
            // never matched the allow-list), and the ones it had must stop verifying now,
            // not after max_stale. Tokens get key_not_found until it publishes one.
            tracing::warn!(issuer = %self.issuer, "the key set has no key for the allowed algorithms: every token is refused until it has one");
        }
        lock(&self.state()).missing.clear();
        tracing::info!(issuer = %self.issuer, keys = parsed.keys.len(), "keys fetched");
        Ok(Arc::new(KeySet::new(parsed.keys)))
    }

    /// Starts the background refresher of this process if it is not running.
    fn ensure_refresher(self: &Arc<Self>) -> Result<(), Error> {
        let me = process::identity();
        // A load first: cache hits in the stale window call this on every hit.
        if self.refresher_of.load(Ordering::Acquire) == me
            || self.refresher_of.swap(me, Ordering::AcqRel) == me
        {
            return Ok(());
        }
        let weak = Arc::downgrade(self);
        io_runtime::handle()?.spawn(refresh_loop(weak));
        Ok(())
    }

    /// When the next background fetch is due: ahead of expiry while fetches succeed, after
    /// the backoff while they fail.
    fn refresh_due(&self) -> Instant {
        let now = Instant::now();
        let retry_at = {
            let cell = self.state();
            let st = lock(&cell);
            (st.failures > 0).then_some(st.retry_at).flatten()
        };
        if let Some(at) = retry_at {
            return at;
        }
        match self.snapshot.load().as_ref() {
            Some(snap) => {
                let ttl = snap.fresh_until.saturating_duration_since(snap.fetched_at);
                let ahead = Duration::from_secs(self.policy.refresh_ahead).min(ttl / 2);
                (snap.fresh_until - ahead).max(snap.fetched_at + Duration::from_millis(500))
            }
            // The first fetch is still running: look again soon.
            None => now + Duration::from_secs(1),
        }
    }
}

/// Finishes a flight with its outcome when dropped: after the fetch, or on a panic.
struct Landing<'a> {
    keys: &'a RemoteKeys,
    flight: &'a Arc<Flight>,
    outcome: Result<(), String>,
}

impl Drop for Landing<'_> {
    fn drop(&mut self) {
        let outcome = std::mem::replace(&mut self.outcome, Ok(()));
        self.keys.finish(self.flight, outcome);
    }
}

/// Notes `kid` as missing from a key set the source gave, for `missing_kid_ttl` seconds.
fn remember_missing(st: &mut State, kid: &str, ttl: u64) {
    let now = Instant::now();
    if st.missing.len() >= MAX_MISSING_KIDS {
        st.missing.retain(|_, until| *until > now);
        if st.missing.len() >= MAX_MISSING_KIDS {
            st.missing.clear();
        }
    }
    st.missing
        .insert(kid.to_owned(), now + Duration::from_secs(ttl));
}

/// Refreshes ahead of expiry, and retries with backoff while fetches fail. Holds only a weak
/// reference between fetches, so dropping the verifier ends it.
async fn refresh_loop(weak: Weak<RemoteKeys>) {
    loop {
        let due = match weak.upgrade() {
            Some(me) => me.refresh_due(),
            None => return,
        };
        tokio::time::sleep_until(due.into()).await;
        let Some(me) = weak.upgrade() else { return };
        // Another fetch (start-up, an unknown kid) may have moved the schedule meanwhile.
        if Instant::now() < me.refresh_due() {
            continue;
        }
        let flight = {
            let cell = me.state();
            let mut st = lock(&cell);
            match st.live_flight() {
                Some(f) => f,
                None => match me.start_fetch(&mut st) {
                    Ok(f) => f,
                    Err(_) => return,
                },
            }
        };
        flight.wait(me.wait_limit() * 3).await;
    }
}

fn validate_policy(p: &JwksCacheConfig) -> Result<(), Error> {
    let bad = |m: &str| Err(Error::config(format!("jwks_cache: {m}")));
    if p.min_ttl == 0 || p.min_ttl > p.max_ttl {
        return bad("need 1 <= min_ttl <= max_ttl");
    }
    if p.max_stale == 0 {
        return bad("max_stale must be at least 1 s");
    }
    if p.timeout_ms == 0 || p.connect_timeout_ms == 0 {
        return bad("timeouts must be at least 1 ms");
    }
    if p.max_response_size < 1024 {
        return bad("max_response_size must be at least 1024 bytes");
    }
    // Added to Instant::now() (see MAX_DURATION_SECONDS).
    let longest = [
        p.ttl,
        p.min_ttl,
        p.max_ttl,
        p.refresh_ahead,
        p.cooldown,
        p.missing_kid_ttl,
        p.max_stale,
        p.connect_timeout_ms / 1000,
        p.timeout_ms / 1000,
    ];
    if longest.iter().any(|&s| s > MAX_DURATION_SECONDS) {
        return bad("durations must be at most ten years (315360000 s)");
    }
    Ok(())
}
