//! The `Verifier`: built once from a [`Config`], shared across threads, and the one place a
//! token is judged. Order of checks (and so which code wins when several apply):
//! structure and header → payload JSON → `iss` routes to an issuer → `alg` allow-list →
//! key lookup → signature → `typ`, `aud`, `exp`, `nbf`, `iat`, lifetime, `max_age`,
//! required claims → the issuer's claim rules (`rules`). A route's requirement
//! ([`crate::Requirement`]) is checked by the caller after all of these.

use crate::config::claim_rule::{check_rules, ClaimRule};
use crate::config::DpopMode;
use crate::config::{read_small_file, Config, IssuerConfig, KeySource, SecretEncoding, SecretKey};
use crate::format::algorithm::{Algorithm, AlgorithmSet, KeyFamily};
use crate::format::jose_header::Header;
use crate::format::json_scanner::{Presence, MAX_PRESENCE_NAMES};
use crate::keys::jws;
use crate::keys::key_set::{material_from_pem, parse_jwks, Key, KeySet, Material, Origin};
use crate::remote::introspect::{Answer, Introspector};
use crate::remote::jwks::{Flight, KeyCheck, RemoteKeys};
use crate::remote::redis_store::RedisStore;
use crate::rules::claims::{self, normalize_typ, ClaimRules, PayloadClaims, Times};
use crate::rules::dpop::{self, Dpop, DpopProof, OwnedDpopProof};
use crate::rules::token::VerifiedToken;
use crate::rules::token_cache::{Entry, TokenCache, MAX_SLOTS};
use crate::support::clock::unix_now;
use crate::support::error::{Error, ErrorCode};
use crate::support::metrics::{Counter, Metrics, MetricsSnapshot};
use crate::surface::extract::{dpop_credential, extract_token, Credential, RequestView};
use crate::{format::strict_json, support::untrusted_text};
use base64::Engine;
use serde_json::Value;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

const MAX_LEEWAY: u64 = 86_400;
/// The presence bit of `cnf` (first in every verifier's presence list): a token with one may
/// be DPoP-bound.
const CNF_BIT: u32 = 0;
const TOKEN_SIZE_RANGE: std::ops::RangeInclusive<usize> = 256..=jws::LARGEST_MAX_TOKEN_SIZE;

/// Where an issuer's keys live.
enum IssuerKeys {
    /// Loaded once from the configuration.
    Static(KeySet),
    /// Fetched and cached; readers never lock.
    Remote(Arc<RemoteKeys>),
}

/// One trusted issuer, resolved: its allow-list, its keys and its claim rules.
struct Issuer {
    name: String,
    algorithms: AlgorithmSet,
    keys: IssuerKeys,
    rules: ClaimRules,
    /// The issuer's claim rules (`rules`), checked last: `claim_invalid` naming the claim.
    claim_rules: Vec<ClaimRule>,
}

impl Issuer {
    /// The issuer's claim rules on a payload whose JSON the scan already validated. The
    /// payload is parsed into a map only when there are rules.
    fn check_claim_rules(&self, payload: &[u8]) -> Result<(), Error> {
        if self.claim_rules.is_empty() {
            return Ok(());
        }
        let claims: serde_json::Map<String, Value> = serde_json::from_slice(payload)
            .map_err(|_| Error::malformed("payload is not a JSON object"))?;
        check_rules(&self.claim_rules, &claims, ErrorCode::ClaimInvalid)
    }
}

struct Inner {
    config: Config,
    issuers: Vec<Issuer>,
    /// The one issuer whose opaque tokens are introspected (its index) and its client.
    introspector: Option<(usize, Arc<Introspector>)>,
    /// `cnf`, then every issuer's required claim names, deduplicated: one payload scan
    /// notes them all.
    presence: Presence,
    dpop: Dpop,
    /// The verified-token cache, when `[cache] max_entries` is set.
    token_cache: Option<TokenCache>,
    metrics: Arc<Metrics>,
}

/// What the rules concluded about a token whose structure was sound.
enum Outcome {
    /// With whether the claims hold a `cnf`, and what the token cache keeps (when on).
    Accepted(bool, Option<Admission>),
    /// Keys are being fetched: wait (at most this long), then judge once more.
    Wait(Arc<Flight>, Duration),
}

/// What the token cache needs of an accepted token besides the token itself.
struct Admission {
    issuer: usize,
    times: Times,
    keys: Option<Arc<KeySet>>,
}

/// One try at a verification: a verdict, a key fetch to wait for before trying again, or
/// an introspection request to make.
enum Step {
    Done(Result<VerifiedToken, Error>),
    Wait(Arc<Flight>, Duration),
    Introspect(Arc<Introspector>),
}

/// Whether a verification still has to ask the token cache. Either way, a verification
/// the cache could not answer counts one miss, when the full path gives its answer: not
/// when it stops to wait for keys, so a non-waiting try followed by a waiting call (every
/// binding's way) is one miss, not two.
#[derive(Clone, Copy, PartialEq, Eq)]
enum CacheUse {
    /// Ask it first (before any wait).
    Ask,
    /// The caller asked it, and it had nothing.
    Asked,
}

/// A JWT verifier. Cheap to clone (clones share everything) and `Send + Sync`: build one per
/// process and use it from every thread.
#[derive(Clone)]
pub struct Verifier {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.inner.issuers.iter().map(|i| i.name.as_str()).collect();
        f.debug_struct("Verifier").field("issuers", &names).finish()
    }
}

impl Verifier {
    /// Validates `config` and loads every static key (parsing each once).
    pub fn new(config: Config) -> Result<Verifier, Error> {
        validate_shared(&config)?;
        let metrics = Arc::new(Metrics::new());
        let store = RedisStore::from_config(&config.dpop.replay, &metrics)?;
        let dpop = Dpop::from_config(&config, store.clone())?;
        let mut presence_names: Vec<String> = vec!["cnf".to_owned()];
        for name in config.issuers.iter().flat_map(|i| &i.required_claims) {
            if !presence_names.contains(name) {
                presence_names.push(name.clone());
            }
        }
        if presence_names.len() > MAX_PRESENCE_NAMES {
            // One presence bit is `cnf`'s, for the DPoP binding.
            return Err(Error::config(format!(
                "required_claims: at most {} distinct names across all issuers",
                MAX_PRESENCE_NAMES - 1
            )));
        }
        let mut introspector = None;
        for (i, ic) in config.issuers.iter().enumerate() {
            let built = Introspector::from_config(ic, store.as_ref(), &metrics)
                .map_err(|e| e.context(format!("issuers[{i}]")))?;
            if let Some(built) = built {
                if introspector.is_some() {
                    return Err(Error::config(
                        "introspection: at most one issuer may introspect (an opaque token names no issuer)",
                    ));
                }
                introspector = Some((i, built));
            }
        }
        let mut issuers = Vec::with_capacity(config.issuers.len());
        for (i, ic) in config.issuers.iter().enumerate() {
            let label = format!("issuers[{i}]");
            if issuers.iter().any(|other: &Issuer| other.name == ic.issuer) {
                return Err(Error::config(format!(
                    "{label}: issuer {:?} is listed twice",
                    ic.issuer
                )));
            }
            let issuer = build_issuer(ic, config.leeway, &presence_names, &metrics)
                .map_err(|e| e.context(&label))?;
            issuers.push(issuer);
        }
        let token_cache = match config.cache.max_entries {
            0 => None,
            n if n > MAX_SLOTS => {
                return Err(Error::config(format!(
                    "cache.max_entries: at most {MAX_SLOTS} (a token cache entry holds the token \
                     and its claims, ~1.5 KB)"
                )))
            }
            n => Some(TokenCache::new(n, &metrics)),
        };
        let inner = Inner {
            config,
            issuers,
            introspector,
            presence: Presence::new(presence_names),
            dpop,
            token_cache,
            metrics,
        };
        for issuer in &inner.issuers {
            if let IssuerKeys::Remote(remote) = &issuer.keys {
                remote.start()?;
            }
        }
        Ok(Verifier {
            inner: Arc::new(inner),
        })
    }

    /// [`Config::from_file`] then [`Verifier::new`].
    pub fn from_file(path: impl AsRef<Path>) -> Result<Verifier, Error> {
        Verifier::new(Config::from_file(path)?)
    }

    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// Verifies `token` at the current time.
    pub fn verify(&self, token: &str) -> Result<VerifiedToken, Error> {
        self.verify_at(token, unix_now())
    }

    /// Verifies a bearer `token` as if the time were `now` (seconds since the epoch). With
    /// cached keys this never blocks; on a cold cache or an unknown `kid` it waits for the
    /// one shared fetch, at most the fetch timeout (`jwks_cache.timeout_ms`). A DPoP-bound
    /// token is refused here: it needs [`Verifier::verify_dpop_at`].
    pub fn verify_at(&self, token: &str, now: i64) -> Result<VerifiedToken, Error> {
        self.verify_presented_at(token, None, now)
    }

    /// Verifies a token sent with the DPoP scheme and its proof (RFC 9449), at `now`.
    pub fn verify_dpop_at(
        &self,
        token: &str,
        proof: &DpopProof,
        now: i64,
    ) -> Result<VerifiedToken, Error> {
        self.verify_presented_at(token, Some(proof), now)
    }

    /// [`Verifier::verify_dpop_at`] at the current time.
    pub fn verify_dpop(&self, token: &str, proof: &DpopProof) -> Result<VerifiedToken, Error> {
        self.verify_dpop_at(token, proof, unix_now())
    }

    /// [`Verifier::verify_at`] (`proof` `None`) or [`Verifier::verify_dpop_at`]: for callers
    /// that hold an optional proof, like [`Verifier::try_verify_at`] and
    /// [`Verifier::verify_at_async`].
    pub fn verify_presented_at(
        &self,
        token: &str,
        proof: Option<&DpopProof>,
        now: i64,
    ) -> Result<VerifiedToken, Error> {
        self.verify_loop(token, proof, now, CacheUse::Ask)
    }

    /// Tries, waits for keys when asked to and tries once more.
    fn verify_loop(
        &self,
        token: &str,
        proof: Option<&DpopProof>,
        now: i64,
        cache: CacheUse,
    ) -> Result<VerifiedToken, Error> {
        let mut waited = false;
        loop {
            match self.attempt(token, now, waited, cache) {
                Step::Done(result) => return self.finish(token, proof, now, result),
                Step::Wait(flight, limit) => {
                    flight.wait_blocking(limit);
                    waited = true;
                }
                Step::Introspect(intro) => {
                    let answer = intro.introspect_blocking(token);
                    let result = answer.and_then(|a| self.judge_introspected(a, now));
                    return self.finish(token, proof, now, result);
                }
            }
        }
    }

    /// [`Verifier::verify_presented_at`] for a binding whose callers share a global lock
    /// (Python's GIL): a verification that costs less than releasing and taking the lock
    /// again (a token-cache hit, or an HMAC token whose header this thread has seen, with
    /// its keys at hand) runs here as is; any other (RSA, ECDSA, EdDSA, a wait for keys or
    /// an introspection) runs inside `offload`, which releases the lock around the call it
    /// is handed. Nothing waits under the caller's lock: the HMAC token's one try never
    /// waits, and a token whose keys must first be fetched goes to `offload`.
    pub fn verify_offloading(
        &self,
        token: &str,
        proof: Option<&DpopProof>,
        now: i64,
        offload: impl FnOnce(
            &(dyn Fn() -> Result<VerifiedToken, Error> + Sync),
        ) -> Result<VerifiedToken, Error>,
    ) -> Result<VerifiedToken, Error> {
        // Recording a proof in a shared store (Redis) is a round trip: never under the lock.
        let shared_proof = proof.is_some() && self.inner.dpop.shared_store();
        if !shared_proof {
            if let Some(hit) = self.cache_hit(token, now) {
                return self.finish(token, proof, now, hit);
            }
        }
        let cache = match shared_proof {
            true => CacheUse::Ask,
            false => CacheUse::Asked,
        };
        if !shared_proof && self.is_cheap(token) {
            // The header says HMAC, but the issuer it names may have no keys yet: a wait
            // here would stop every thread sharing the lock.
            match self.attempt(token, now, false, cache) {
                Step::Done(result) => return self.finish(token, proof, now, result),
                Step::Wait(..) | Step::Introspect(_) => {}
            }
        }
        offload(&|| self.verify_loop(token, proof, now, cache))
    }

    /// An HMAC token (by the header this thread memoized) that no introspection claims:
    /// verified in well under a microsecond, with no wait.
    fn is_cheap(&self, token: &str) -> bool {
        if let Some((_, intro)) = &self.inner.introspector {
            if intro.wants(token) {
                return false;
            }
        }
        let segment = token.split('.').next().unwrap_or("");
        crate::format::header_memo::get(segment).is_some_and(|h| h.alg().family() == KeyFamily::Oct)
    }

    /// Verifies without ever waiting: `None` when keys must be fetched first (the fetch is
    /// started; a later `verify_at` or `verify_at_async` joins it). Lets a binding answer
    /// on its event loop and move only the rare waiting call to a worker thread. `proof`:
    /// the DPoP proof when the token came with the DPoP scheme.
    pub fn try_verify_at(
        &self,
        token: &str,
        proof: Option<&DpopProof>,
        now: i64,
    ) -> Option<Result<VerifiedToken, Error>> {
        if proof.is_some() && self.inner.dpop.shared_store() {
            // Recording the proof takes a round trip to Redis.
            return None;
        }
        match self.attempt(token, now, false, CacheUse::Ask) {
            Step::Done(result) => Some(self.finish(token, proof, now, result)),
            Step::Wait(..) | Step::Introspect(_) => None,
        }
    }

    /// [`Verifier::verify`] for async callers: a key fetch is awaited, never blocking the
    /// thread (the event loop keeps running).
    pub async fn verify_async(&self, token: &str) -> Result<VerifiedToken, Error> {
        self.verify_at_async(token, None, unix_now()).await
    }

    /// [`Verifier::verify_at_async`] as a task on the engine's I/O thread, whose result goes
    /// to `done` on that thread. For bindings: a promise or future completes from `done`, so
    /// no thread of the host's pool (Python's executor, libuv's) is held while keys or an
    /// introspection answer are fetched. Pair it with [`Verifier::try_verify_at`], which
    /// answers at once when nothing must be waited for. A panic in the verification reaches
    /// `done` as `internal`; `done` itself must not panic.
    pub fn verify_in_background(
        &self,
        token: String,
        proof: Option<OwnedDpopProof>,
        now: i64,
        done: impl FnOnce(Result<VerifiedToken, Error>) + Send + 'static,
    ) -> Result<(), Error> {
        let handle = crate::support::io_runtime::handle()?;
        let verifier = self.clone();
        let task = handle.spawn(async move {
            let proof = proof.as_ref().map(OwnedDpopProof::as_proof);
            verifier.verify_at_async(&token, proof.as_ref(), now).await
        });
        handle.spawn(async move {
            let result = task.await.unwrap_or_else(|_| {
                Err(Error::new(
                    ErrorCode::Internal,
                    "the verification panicked or was cancelled",
                ))
            });
            done(result);
        });
        Ok(())
    }

    /// [`Verifier::verify_at`] (`proof` `None`) or [`Verifier::verify_dpop_at`] for async
    /// callers.
    pub async fn verify_at_async(
        &self,
        token: &str,
        proof: Option<&DpopProof<'_>>,
        now: i64,
    ) -> Result<VerifiedToken, Error> {
        let mut waited = false;
        loop {
            match self.attempt(token, now, waited, CacheUse::Ask) {
                Step::Done(result) => return self.finish_async(token, proof, now, result).await,
                Step::Wait(flight, limit) => {
                    flight.wait(limit).await;
                    waited = true;
                }
                Step::Introspect(intro) => {
                    let answer = intro.introspect(token.to_owned()).await;
                    let result = answer.and_then(|a| self.judge_introspected(a, now));
                    return self.finish_async(token, proof, now, result).await;
                }
            }
        }
    }

    /// The last rule, on a token that passed all others: how it was presented (bearer or
    /// DPoP, and the proof), then the verdict is counted.
    fn finish(
        &self,
        token: &str,
        proof: Option<&DpopProof>,
        now: i64,
        result: Result<VerifiedToken, Error>,
    ) -> Result<VerifiedToken, Error> {
        let result = match self.presented(token, proof, now, result) {
            Ok((verified, None)) => Ok(verified),
            Ok((verified, Some(replay))) => self.inner.dpop.record(replay, now).map(|()| verified),
            Err(e) => Err(e),
        };
        self.counted(result)
    }

    /// [`Verifier::finish`] for async callers: a Redis replay store is awaited.
    async fn finish_async(
        &self,
        token: &str,
        proof: Option<&DpopProof<'_>>,
        now: i64,
        result: Result<VerifiedToken, Error>,
    ) -> Result<VerifiedToken, Error> {
        let result = match self.presented(token, proof, now, result) {
            Ok((verified, None)) => Ok(verified),
            Ok((verified, Some(replay))) => self
                .inner
                .dpop
                .record_async(replay, now)
                .await
                .map(|()| verified),
            Err(e) => Err(e),
        };
        self.counted(result)
    }

    /// The presentation checks of [`Verifier::finish`]: the proof id still to record.
    fn presented(
        &self,
        token: &str,
        proof: Option<&DpopProof>,
        now: i64,
        result: Result<VerifiedToken, Error>,
    ) -> Result<(VerifiedToken, Option<dpop::Replay>), Error> {
        let verified = result?;
        let bound = match verified.has_cnf() {
            true => dpop::bound_key(&verified)?,
            false => None,
        };
        let replay = self.inner.dpop.check(token, bound.as_deref(), proof, now)?;
        Ok((verified, replay))
    }

    fn counted(&self, result: Result<VerifiedToken, Error>) -> Result<VerifiedToken, Error> {
        match &result {
            Ok(_) => self.inner.metrics.add(Counter::Verified),
            Err(e) => self.inner.metrics.reject(e.code()),
        }
        result
    }

    /// The token cache's answer for `token`, when it holds a usable entry.
    fn cache_hit(&self, token: &str, now: i64) -> Option<Result<VerifiedToken, Error>> {
        let cache = self.inner.token_cache.as_ref()?;
        cache.lookup(token, |e| self.judge_cached(e, now))
    }

    /// One non-blocking try. After a wait (`waited`) it never asks to wait again, nor asks
    /// the token cache.
    fn attempt(&self, token: &str, now: i64, waited: bool, cache_use: CacheUse) -> Step {
        if let Some((_, intro)) = &self.inner.introspector {
            if intro.wants(token) {
                if let Err(e) = check_opaque(token, self.inner.config.max_token_size) {
                    return Step::Done(Err(e));
                }
                return match intro.cached(token) {
                    Some(answer) => Step::Done(self.judge_introspected(answer, now)),
                    None => Step::Introspect(intro.clone()),
                };
            }
        }
        if cache_use == CacheUse::Ask && !waited {
            if let Some(hit) = self.cache_hit(token, now) {
                return Step::Done(hit);
            }
        }
        let step = self.full_path(token, now, waited);
        if let (Some(cache), Step::Done(_)) = (self.inner.token_cache.as_ref(), &step) {
            cache.count_miss();
        }
        step
    }

    /// Every rule on a token the cache did not answer; an accepted token goes into the
    /// cache (when there is one).
    fn full_path(&self, token: &str, now: i64, waited: bool) -> Step {
        let cache = self.inner.token_cache.as_ref();
        let mut buf = jws::signature_buf();
        let decoded = match jws::decode_checked(token, self.inner.config.max_token_size, &mut buf) {
            Ok(d) => d,
            Err(e) => return Step::Done(Err(e)),
        };
        match self.judge(&decoded, now, waited) {
            Ok(Outcome::Accepted(has_cnf, admission)) => {
                let verified = VerifiedToken::new(decoded.header, decoded.payload, has_cnf);
                if let (Some(cache), Some(a)) = (cache, admission) {
                    cache.insert(Entry::new(
                        token,
                        verified.clone(),
                        a.issuer,
                        a.times,
                        a.keys,
                    ));
                }
                Step::Done(Ok(verified))
            }
            Ok(Outcome::Wait(flight, limit)) => Step::Wait(flight, limit),
            Err(e) => Step::Done(Err(e)),
        }
    }

    /// A token the cache holds: reused while its keys are unchanged and not past
    /// `max_stale` (`None` otherwise: the full path runs), with its time rules judged again
    /// at `now`.
    fn judge_cached(&self, entry: &Entry, now: i64) -> Option<Result<VerifiedToken, Error>> {
        let issuer = &self.inner.issuers[entry.issuer];
        if let (IssuerKeys::Remote(remote), Some(keys)) = (&issuer.keys, &entry.keys) {
            if !remote.keys_still_usable(keys) {
                return None;
            }
        }
        let verdict = issuer.rules.check_times(&entry.times, now);
        // This thread's own copy of the header, kept in its memo on the first hit: threads
        // answering the same token then share no reference count (cloning the entry's
        // header on every hit made two threads slower than one).
        let segment = entry.header_segment();
        Some(verdict.map(|()| {
            let header = crate::format::header_memo::get(segment).or_else(|| {
                let shared = entry.verified.protected()?;
                Some(crate::format::header_memo::put(
                    segment,
                    Header::clone(shared),
                ))
            });
            match header {
                Some(header) => entry.verified.cache_hit(header),
                None => entry.verified.clone(),
            }
        }))
    }

    /// An endpoint's answer body read as the introspector reads it, then judged (for the
    /// fuzz target of introspection answers).
    #[cfg(any(test, feature = "fuzzing"))]
    pub(crate) fn judge_introspection_body(
        &self,
        body: &[u8],
        now: i64,
    ) -> Result<VerifiedToken, Error> {
        let Some((_, intro)) = &self.inner.introspector else {
            return Err(Error::new(ErrorCode::Internal, "no introspector"));
        };
        let map = crate::format::strict_json::parse_object(body).map_err(|e| {
            Error::new(
                ErrorCode::IntrospectionUnavailable,
                format!("the answer {e}"),
            )
        })?;
        let answer = crate::remote::introspect::answer_from(intro.issuer(), map)?;
        self.judge_introspected(answer, now)
    }

    /// An introspection answer judged like a JWT's claims: `active`, then `iss` (the
    /// introspecting issuer's, when the answer names one), `aud`, times, required claims.
    pub(crate) fn judge_introspected(
        &self,
        answer: Answer,
        now: i64,
    ) -> Result<VerifiedToken, Error> {
        let Some((index, intro)) = &self.inner.introspector else {
            return Err(Error::new(ErrorCode::Internal, "no introspector"));
        };
        let claims = match answer {
            Answer::Inactive => {
                return Err(Error::new(
                    ErrorCode::TokenInactive,
                    "the token is not active",
                ))
            }
            Answer::Active(claims) => claims,
        };
        let mut scanned = PayloadClaims::new();
        claims::scan_claims(&claims.json, &self.inner.presence, &mut scanned)?;
        let iss = scanned.issuer()?;
        if iss != intro.issuer() {
            return Err(claims::unknown_issuer(iss));
        }
        let issuer = &self.inner.issuers[*index];
        issuer.rules.check_claims(&scanned, now)?;
        issuer.check_claim_rules(&claims.json)?;
        Ok(VerifiedToken::introspected(
            claims.json.clone(),
            scanned.has(CNF_BIT),
        ))
    }

    /// Every rule, in the documented order, on a decoded token.
    fn judge(
        &self,
        decoded: &jws::Decoded<Arc<jws::Header>>,
        now: i64,
        waited: bool,
    ) -> Result<Outcome, Error> {
        let inner = &*self.inner;
        let header = decoded.header.fields();
        let mut claims = PayloadClaims::new();
        claims::scan_claims(&decoded.payload, &inner.presence, &mut claims)?;
        let iss = claims.issuer()?;
        let (index, issuer) = inner
            .issuers
            .iter()
            .enumerate()
            .find(|(_, i)| i.name == iss)
            .ok_or_else(|| claims::unknown_issuer(iss))?;
        let (input, signature) = (decoded.signing_input, &*decoded.signature);
        let caching = inner.token_cache.is_some();
        let keys = match &issuer.keys {
            IssuerKeys::Static(keys) => {
                jws::verify_signature(keys, issuer.algorithms, &header, input, signature)?;
                None
            }
            IssuerKeys::Remote(remote) => {
                match remote.check(&header, input, signature, waited, caching) {
                    KeyCheck::Verified(keys) => keys,
                    KeyCheck::Failed(e) => return Err(e),
                    KeyCheck::Wait(flight) => {
                        return Ok(Outcome::Wait(flight, remote.wait_limit()))
                    }
                }
            }
        };
        issuer.rules.check(header.typ.as_deref(), &claims, now)?;
        issuer.check_claim_rules(&decoded.payload)?;
        let admission = match caching {
            true => Some(Admission {
                issuer: index,
                times: claims.times()?,
                keys,
            }),
            false => None,
        };
        Ok(Outcome::Accepted(claims.has(CNF_BIT), admission))
    }

    /// Whether every issuer has usable keys (static ones always; remote ones once fetched
    /// and until `max_stale`). For readiness probes.
    /// With a Redis replay store, also whether its last command succeeded (only while DPoP
    /// is on: an introspection cache on Redis falls back to the endpoint, so it never makes
    /// the verifier unready).
    pub fn is_ready(&self) -> bool {
        let store_ok = self.replay_store().is_none_or(|s| s.is_healthy());
        store_ok
            && self.inner.issuers.iter().all(|i| match &i.keys {
                IssuerKeys::Static(_) => true,
                IssuerKeys::Remote(remote) => remote.is_ready(),
            })
    }

    /// [`Verifier::is_ready`], asking a Redis replay store (`PING`, within its timeout)
    /// rather than trusting its last command. For `/readyz`.
    pub async fn check_ready(&self) -> bool {
        if let Some(store) = self.replay_store() {
            if !store.ping().await {
                return false;
            }
        }
        self.is_ready()
    }

    /// The Redis that DPoP proofs are recorded in, when DPoP is on and uses one.
    fn replay_store(&self) -> Option<&Arc<RedisStore>> {
        match self.inner.dpop.mode() {
            DpopMode::Disabled => None,
            _ => self.inner.dpop.redis(),
        }
    }

    /// A copy of this verifier's counters.
    pub fn metrics(&self) -> MetricsSnapshot {
        self.inner.metrics.snapshot()
    }

    /// The token of a request, per the configured `token_sources`.
    pub fn extract_token(&self, request: &impl RequestView) -> Result<String, Error> {
        extract_token(&self.inner.config.token_sources, request)
    }

    /// The token of a request and its DPoP proof: with DPoP allowed or required,
    /// `Authorization: DPoP <token>` plus exactly one `DPoP` header; otherwise (and
    /// always when DPoP is disabled) the configured `token_sources`, without a proof.
    pub fn extract_credential(&self, request: &impl RequestView) -> Result<Credential, Error> {
        if self.inner.dpop.mode() != DpopMode::Disabled {
            if let Some(credential) = dpop_credential(request)? {
                return Ok(credential);
            }
        }
        Ok(Credential {
            token: self.extract_token(request)?,
            proof: None,
        })
    }

    /// The request headers [`Verifier::extract_credential`] reads (lowercase): the
    /// configured header and cookie sources, plus `authorization` and `dpop` when DPoP is
    /// enabled. A binding may pass only these; other headers never change the outcome.
    pub fn credential_header_names(&self) -> Vec<String> {
        crate::surface::extract::credential_header_names(
            &self.inner.config.token_sources,
            self.inner.dpop.mode() != DpopMode::Disabled,
        )
    }

    /// [`Verifier::extract_credential`], then the verification its scheme calls for.
    pub fn verify_request(&self, request: &impl RequestView) -> Result<VerifiedToken, Error> {
        self.verify_request_at(request, unix_now())
    }

    /// [`Verifier::verify_request`] as if the time were `now`.
    pub fn verify_request_at(
        &self,
        request: &impl RequestView,
        now: i64,
    ) -> Result<VerifiedToken, Error> {
        let credential = self.extract_credential(request)?;
        let proof = credential.dpop_proof(request)?;
        self.verify_presented_at(&credential.token, proof.as_ref(), now)
    }

    /// [`Verifier::verify_request`] for a route that also serves anonymous callers: `None`
    /// when the request carries no token; a token that fails is still its error.
    pub fn verify_request_optional_at(
        &self,
        request: &impl RequestView,
        now: i64,
    ) -> Result<Option<VerifiedToken>, Error> {
        optional(self.verify_request_at(request, now))
    }

    /// [`Verifier::verify_request`] for async callers.
    pub async fn verify_request_async(
        &self,
        request: &impl RequestView,
    ) -> Result<VerifiedToken, Error> {
        let credential = self.extract_credential(request)?;
        let proof = credential.dpop_proof(request)?;
        self.verify_at_async(&credential.token, proof.as_ref(), unix_now())
            .await
    }

    /// The headers a middleware answers `error` with: JSON, `no-store`, the challenge of
    /// this verifier's DPoP mode (Bearer, DPoP or both, with `algs`), and a fresh
    /// `DPoP-Nonce` when the error asks the client to use one.
    pub fn error_headers(&self, error: &Error, realm: Option<&str>) -> Vec<(&'static str, String)> {
        let dpop = &self.inner.dpop;
        let algs = (dpop.mode() != DpopMode::Disabled).then(|| dpop.algs());
        let mut headers = crate::surface::http::headers_with(crate::surface::http::challenge(
            error,
            realm,
            dpop.mode(),
            algs,
        ));
        if error.code() == ErrorCode::DpopInvalid && error.claim() == Some("nonce") {
            if let Some(nonce) = self.dpop_nonce() {
                headers.push(("dpop-nonce", nonce));
            }
        }
        headers
    }

    /// The configured DPoP mode (`dpop.mode`).
    pub fn dpop_mode(&self) -> DpopMode {
        self.inner.dpop.mode()
    }

    /// The DPoP nonce clients must use now (`None` unless `dpop.nonce` is on). Servers
    /// may also send it on successful responses as `DPoP-Nonce`.
    pub fn dpop_nonce(&self) -> Option<String> {
        self.inner.dpop.nonce(unix_now())
    }

    /// [`Verifier::dpop_nonce`] as of `now`.
    pub fn dpop_nonce_at(&self, now: i64) -> Option<String> {
        self.inner.dpop.nonce(now)
    }
}

/// Optional authentication's one rule, for every binding and the sidecar: a request with no
/// token (`token_missing`) goes on anonymous (`None`); any other error stays an error.
pub fn optional<T>(result: Result<T, Error>) -> Result<Option<T>, Error> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(e) if e.code() == ErrorCode::TokenMissing => Ok(None),
        Err(e) => Err(e),
    }
}

/// An opaque token must fit the size cap and be one word of visible ASCII.
fn check_opaque(token: &str, max_size: usize) -> Result<(), Error> {
    if token.is_empty() || token.len() > max_size {
        return Err(Error::new(
            ErrorCode::TokenMalformed,
            format!("the token is empty or longer than {max_size} bytes"),
        ));
    }
    if !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(Error::new(
            ErrorCode::TokenMalformed,
            "the token holds characters other than visible ASCII",
        ));
    }
    Ok(())
}

fn validate_shared(config: &Config) -> Result<(), Error> {
    if config.issuers.is_empty() {
        return Err(Error::config("issuers: at least one issuer is required"));
    }
    if config.leeway > MAX_LEEWAY {
        return Err(Error::config(format!(
            "leeway: {} s is over the {MAX_LEEWAY} s maximum",
            config.leeway
        )));
    }
    if !TOKEN_SIZE_RANGE.contains(&config.max_token_size) {
        return Err(Error::config(format!(
            "max_token_size: {} is outside {}..={}",
            config.max_token_size,
            TOKEN_SIZE_RANGE.start(),
            TOKEN_SIZE_RANGE.end()
        )));
    }
    if config.token_sources.is_empty() {
        return Err(Error::config(
            "token_sources: at least one source is required",
        ));
    }
    for (i, source) in config.token_sources.iter().enumerate() {
        source
            .validate()
            .map_err(|e| Error::config(format!("token_sources[{i}]: {e}")))?;
    }
    Ok(())
}

fn non_empty_strings(list: &[String], field: &str) -> Result<(), Error> {
    if list.iter().any(String::is_empty) {
        return Err(Error::config(format!(
            "{field}: empty strings are not allowed"
        )));
    }
    Ok(())
}

fn build_issuer(
    ic: &IssuerConfig,
    leeway: u64,
    presence_names: &[String],
    metrics: &Arc<Metrics>,
) -> Result<Issuer, Error> {
    if ic.issuer.is_empty() {
        return Err(Error::config("issuer: must not be empty"));
    }
    if ic.audiences.is_empty() {
        return Err(Error::config(
            "audiences: at least one audience is required",
        ));
    }
    non_empty_strings(&ic.audiences, "audiences")?;
    non_empty_strings(&ic.required_claims, "required_claims")?;
    if ic.algorithms.is_empty() {
        return Err(Error::config(
            "algorithms: at least one algorithm is required",
        ));
    }
    if ic.typ.as_deref() == Some("") {
        return Err(Error::config("typ: must not be empty"));
    }
    let algorithms: AlgorithmSet = ic.algorithms.iter().copied().collect();
    let keys = match RemoteKeys::from_config(ic, algorithms, metrics)? {
        Some(remote) => IssuerKeys::Remote(remote),
        None => IssuerKeys::Static(load_static_keys(ic, algorithms)?),
    };
    Ok(Issuer {
        name: ic.issuer.clone(),
        algorithms,
        keys,
        rules: ClaimRules {
            audiences: ic.audiences.clone(),
            require_exp: ic.require_exp,
            required_claims: ic
                .required_claims
                .iter()
                .map(|name| {
                    (
                        name.clone(),
                        presence_names.iter().position(|n| n == name).unwrap_or(0) as u32,
                    )
                })
                .collect(),
            max_age: ic.max_age,
            max_lifetime: ic.max_lifetime,
            typ: ic.typ.as_deref().map(normalize_typ),
            leeway,
        },
        claim_rules: ic.rules.clone(),
    })
}

fn load_static_keys(ic: &IssuerConfig, algorithms: AlgorithmSet) -> Result<KeySet, Error> {
    if ic.keys.is_empty() {
        return Err(Error::config(
            "keys: give at least one key source, or jwks_uri, or discovery",
        ));
    }
    let mut keys = Vec::new();
    let mut skipped = Vec::new();
    for (i, source) in ic.keys.iter().enumerate() {
        load_source(source, algorithms, &mut keys, &mut skipped)
            .map_err(|e| e.context(format!("keys[{i}]")))?;
    }
    if !keys.iter().any(|k| k.algorithms().next().is_some()) {
        let why = if skipped.is_empty() {
            String::new()
        } else {
            format!("; skipped: {}", skipped.join("; "))
        };
        return Err(Error::config(format!(
            "keys: no key can verify any of the allowed algorithms ({}){why}",
            algorithms
                .iter()
                .map(Algorithm::name)
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    for why in &skipped {
        tracing::warn!(issuer = %ic.issuer, reason = %why, "JWKS key skipped");
    }
    tracing::debug!(issuer = %ic.issuer, keys = keys.len(), "loaded static keys");
    Ok(KeySet::new(keys))
}

/// Adds a static JWKS's usable keys to `out` and, for each key left out, why to `skipped`
/// (the same rule as a fetched set: one bad key does not refuse the others).
fn load_jwks_value(
    doc: &Value,
    allowed: AlgorithmSet,
    out: &mut Vec<Key>,
    skipped: &mut Vec<String>,
) -> Result<(), Error> {
    let parsed =
        parse_jwks(doc, Origin::Static, allowed).map_err(|e| Error::config(format!("JWKS {e}")))?;
    skipped.extend(parsed.skipped);
    out.extend(parsed.keys);
    Ok(())
}

fn load_source(
    source: &KeySource,
    allowed: AlgorithmSet,
    out: &mut Vec<Key>,
    skipped: &mut Vec<String>,
) -> Result<(), Error> {
    match source {
        KeySource::Jwks(Value::String(text)) => {
            let doc = strict_json::parse(text.as_bytes())
                .map_err(|e| Error::config(format!("jwks is not valid JSON: {e}")))?;
            load_jwks_value(&doc, allowed, out, skipped)
        }
        KeySource::Jwks(doc @ Value::Object(_)) => load_jwks_value(doc, allowed, out, skipped),
        KeySource::Jwks(_) => Err(Error::config(
            "jwks: expected a JWKS object or its JSON text",
        )),
        KeySource::JwksFile(path) => {
            let bytes = read_small_file(path)?;
            let doc = strict_json::parse(&bytes)
                .map_err(|e| Error::config(format!("{} is not valid JSON: {e}", path.display())))?;
            load_jwks_value(&doc, allowed, out, skipped).map_err(|e| e.context(path.display()))
        }
        KeySource::Pem(pem) => {
            let text = match (&pem.key, &pem.path) {
                (Some(text), None) => text.clone(),
                (None, Some(path)) => String::from_utf8(read_small_file(path)?)
                    .map_err(|_| Error::config(format!("{} is not a PEM file", path.display())))?,
                _ => {
                    return Err(Error::config(
                        "pem: give exactly one of \"key\" and \"path\"",
                    ))
                }
            };
            let material =
                material_from_pem(&text).map_err(|e| Error::config(format!("pem {e}")))?;
            let key = Key::new(material, pem.kid.clone(), pem.alg, allowed)
                .map_err(|e| Error::config(format!("pem: {e}")))?;
            out.push(key);
            Ok(())
        }
        KeySource::Secret(secret) => {
            let bytes = secret_bytes(secret)?;
            let key = Key::new(
                Material::Oct(bytes),
                secret.kid.clone(),
                Some(secret.alg),
                allowed,
            )
            .map_err(|e| Error::config(format!("secret: {e}")))?;
            out.push(key);
            Ok(())
        }
    }
}

/// The bytes of an HMAC secret. Errors never include the secret.
fn secret_bytes(secret: &SecretKey) -> Result<Vec<u8>, Error> {
    if secret.alg.family() != KeyFamily::Oct {
        return Err(Error::config(format!(
            "secret: alg {} is not an HMAC algorithm",
            secret.alg
        )));
    }
    let text = match (&secret.value, &secret.env) {
        (Some(value), None) => value.clone(),
        (None, Some(var)) => std::env::var(var).map_err(|_| {
            Error::config(format!(
                "secret: environment variable {} is not set",
                untrusted_text::clip(var, 64)
            ))
        })?,
        _ => {
            return Err(Error::config(
                "secret: give exactly one of \"value\" and \"env\"",
            ))
        }
    };
    let decoded = match secret.encoding {
        SecretEncoding::Utf8 => Ok(text.into_bytes()),
        SecretEncoding::Base64 => base64::engine::general_purpose::STANDARD
            .decode(text.trim_end_matches('='))
            .or_else(|_| {
                base64::engine::general_purpose::STANDARD_NO_PAD.decode(text.trim_end_matches('='))
            }),
        SecretEncoding::Base64url => {
            crate::format::b64::decode(&text).map_err(|_| base64::DecodeError::InvalidPadding)
        }
    };
    decoded.map_err(|_| {
        Error::config(format!("secret: not valid {:?} text", secret.encoding).to_lowercase())
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_required_claims_limit_is_stated_exactly() {
        let config = |n: usize| {
            let names: Vec<String> = (0..n).map(|i| format!("c{i}")).collect();
            crate::Config::from_value(serde_json::json!({"issuers": [{"issuer": "https://i",
                "audiences": ["a"], "algorithms": ["HS256"], "required_claims": names,
                "keys": [{"secret": {"value": "0123456789abcdef0123456789abcdef", "alg": "HS256"}}]}]}))
            .unwrap()
        };
        assert!(super::Verifier::new(config(63)).is_ok());
        let err = super::Verifier::new(config(64)).unwrap_err();
        assert!(err.message().contains("at most 63"), "{err}");
    }

    /// A thread that only ever hits the token cache holds its own copy of the header, so
    /// that threads answering one token share no reference count (two threads were slower
    /// than one when every hit cloned the entry's header).
    #[test]
    fn cache_hits_on_another_thread_hold_that_threads_header() {
        use jsonwebtoken::{encode, EncodingKey, Header};
        use std::sync::Arc;
        const SECRET: &str = "0123456789abcdef0123456789abcdef";
        let v = super::Verifier::new(
            crate::Config::from_value(serde_json::json!({"issuers": [{"issuer": "https://i",
                "audiences": ["a"], "algorithms": ["HS256"],
                "keys": [{"secret": {"value": SECRET, "alg": "HS256"}}]}],
                "cache": {"max_entries": 16}}))
            .unwrap(),
        )
        .unwrap();
        let claims = serde_json::json!({"iss": "https://i", "aud": "a", "exp": 2_000_000_000});
        let token = encode(
            &Header::default(),
            &claims,
            &EncodingKey::from_secret(SECRET.as_bytes()),
        )
        .unwrap();
        let first = v.verify_at(&token, 1_000_000_000).unwrap();
        let entry_header = first.protected().unwrap().clone();
        std::thread::scope(|s| {
            s.spawn(|| {
                let a = v.verify_at(&token, 1_000_000_000).unwrap();
                let b = v.verify_at(&token, 1_000_000_000).unwrap();
                let (a, b) = (a.protected().unwrap(), b.protected().unwrap());
                assert!(Arc::ptr_eq(a, b), "both hits hold this thread's header");
                assert!(!Arc::ptr_eq(a, &entry_header), "not the entry's shared one");
                assert_eq!(a.json, entry_header.json);
            });
        });
        assert_eq!(v.metrics().token_cache_hits, 2);
    }

    /// `leeway` is capped at one day (documented on `Config::leeway`).
    #[test]
    fn leeway_is_at_most_a_day() {
        let at_top = |leeway: u64| {
            let mut c = crate::Config::from_value(serde_json::json!({"issuers": [{"issuer": "https://i",
                "audiences": ["a"], "algorithms": ["HS256"],
                "keys": [{"secret": {"value": "0123456789abcdef0123456789abcdef", "alg": "HS256"}}]}]}))
            .unwrap();
            c.leeway = leeway;
            super::Verifier::new(c)
        };
        assert!(at_top(86_400).is_ok());
        let err = at_top(86_401).unwrap_err();
        assert_eq!(err.code(), crate::ErrorCode::ConfigInvalid);
        assert!(err.message().contains("86400 s maximum"), "{err}");
    }

    #[test]
    fn verifier_is_send_and_sync() {
        fn is<T: Send + Sync + Clone>() {}
        is::<super::Verifier>();
    }
}
