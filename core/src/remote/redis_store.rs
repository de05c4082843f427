//! State shared by every process and host through one Redis (or Valkey) server: DPoP proof
//! ids for replay detection, and (optionally) introspection answers. Each process keeps its
//! own connections (a child after `fork()` never uses its parent's: see `support/process.rs`),
//! made lazily on the engine's I/O runtime, where every command runs, bounded by `timeout_ms`.
//! Only hashes are written as keys: never a token, a proof, or a `jti` in clear.

use crate::config::{ReplayConfig, ReplayStore};
use crate::support::error::{Error, ErrorCode};
use crate::support::io_runtime;
use crate::support::metrics::{Counter, Metrics};
use crate::support::process::{Owned, PerProcess};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::FromRedisValue;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Longest `key_prefix`.
const MAX_PREFIX: usize = 64;
/// Extra time a blocked caller waits for the I/O thread beyond the command's own timeout.
const BLOCKING_MARGIN: Duration = Duration::from_millis(50);

pub(crate) struct RedisStore {
    client: redis::Client,
    prefix: String,
    timeout: Duration,
    pool_size: usize,
    /// This process's connections.
    pool: PerProcess<Vec<ConnectionManager>>,
    next: AtomicUsize,
    /// Whether the last command succeeded (true until one fails), for readiness probes.
    healthy: AtomicBool,
    metrics: Arc<Metrics>,
}

/// A write's own id for [`RedisStore::record_once`]: 128 random bits, hex.
fn write_id() -> Result<String, Error> {
    let mut id = [0u8; 16];
    aws_lc_rs::rand::fill(&mut id).map_err(|_| {
        Error::new(
            ErrorCode::Internal,
            "no random bytes for a replay-store write",
        )
    })?;
    Ok(hex(&id))
}

fn unavailable(message: impl Into<String>) -> Error {
    Error::new(ErrorCode::ReplayStoreUnavailable, message)
}

/// Lowercase hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[(b >> 4) as usize] as char);
        out.push(DIGITS[(b & 15) as usize] as char);
    }
    out
}

impl RedisStore {
    /// The store of `[dpop.replay]`, when it names Redis; `None` for `memory`.
    pub fn from_config(
        c: &ReplayConfig,
        metrics: &Arc<Metrics>,
    ) -> Result<Option<Arc<RedisStore>>, Error> {
        let bad = |why: String| Error::config(format!("dpop.replay: {why}"));
        let url = match (&c.url, &c.url_env) {
            (Some(_), Some(_)) => return Err(bad("give at most one of url and url_env".into())),
            (Some(url), None) => Some(url.clone()),
            (None, Some(var)) => Some(std::env::var(var).map_err(|_| {
                bad(format!(
                    "url_env: environment variable {} is not set",
                    crate::support::untrusted_text::clip(var, 64)
                ))
            })?),
            (None, None) => None,
        };
        let url = match (c.store, url) {
            (ReplayStore::Memory, None) => return Ok(None),
            (ReplayStore::Memory, Some(_)) => {
                return Err(bad("url is set but store is \"memory\"".into()))
            }
            (ReplayStore::Redis, None) => {
                return Err(bad("store \"redis\" needs url or url_env".into()))
            }
            (ReplayStore::Redis, Some(url)) => url,
        };
        // The URL may carry a password: no message repeats it.
        let scheme = url.split_once("://").map(|(s, _)| s).unwrap_or("");
        if !matches!(scheme, "redis" | "rediss" | "unix" | "redis+unix") {
            return Err(bad(
                "url: the scheme must be redis://, rediss:// or unix://".into(),
            ));
        }
        let client = redis::Client::open(url.as_str())
            .map_err(|e| bad(format!("url is not a valid Redis URL ({:?})", e.kind())))?;
        if c.key_prefix.is_empty()
            || c.key_prefix.len() > MAX_PREFIX
            || !c.key_prefix.bytes().all(|b| b.is_ascii_graphic())
        {
            return Err(bad(format!(
                "key_prefix: 1 to {MAX_PREFIX} visible ASCII characters"
            )));
        }
        if !(1..=60_000).contains(&c.timeout_ms) {
            return Err(bad(format!(
                "timeout_ms: {} is outside 1..=60000",
                c.timeout_ms
            )));
        }
        if !(1..=64).contains(&c.pool_size) {
            return Err(bad(format!("pool_size: {} is outside 1..=64", c.pool_size)));
        }
        Ok(Some(Arc::new(RedisStore {
            client,
            prefix: c.key_prefix.clone(),
            timeout: Duration::from_millis(c.timeout_ms),
            pool_size: c.pool_size,
            pool: PerProcess::new(),
            next: AtomicUsize::new(0),
            healthy: AtomicBool::new(true),
            metrics: metrics.clone(),
        })))
    }

    /// The key for `kind` (`jti`, `introspect`) and a hash.
    pub fn key(&self, kind: &str, hash: &[u8]) -> String {
        format!("{}:{kind}:{}", self.prefix, hex(hash))
    }

    /// This process's connections, made (without connecting) on the I/O runtime.
    fn pool(
        &self,
        handle: &tokio::runtime::Handle,
    ) -> Result<Arc<Owned<Vec<ConnectionManager>>>, Error> {
        self.pool.get_or_try_init(|| {
            let _entered = handle.enter();
            let config = ConnectionManagerConfig::new()
                .set_connection_timeout(Some(self.timeout))
                .set_response_timeout(Some(self.timeout))
                .set_number_of_retries(1)
                .set_min_delay(Duration::from_millis(10))
                .set_max_delay(self.timeout);
            (0..self.pool_size)
                .map(|_| {
                    ConnectionManager::new_lazy_with_config(self.client.clone(), config.clone())
                        .map_err(|e| {
                            unavailable(format!(
                                "redis: cannot set up a connection ({:?})",
                                e.kind()
                            ))
                        })
                })
                .collect()
        })
    }

    /// `cmd` as a task for the I/O runtime, with its timeout, counted.
    fn task<T: FromRedisValue + Send + 'static>(
        self: &Arc<Self>,
        cmd: redis::Cmd,
    ) -> Result<
        (
            tokio::runtime::Handle,
            impl Future<Output = Result<T, Error>> + Send + 'static,
        ),
        Error,
    > {
        let handle = io_runtime::handle()?;
        let pool = self.pool(&handle)?;
        let mut conn = pool[self.next.fetch_add(1, Ordering::Relaxed) % pool.len()].clone();
        let store = self.clone();
        let task = async move {
            let started = Instant::now();
            // A connection lost earlier (Redis restarted) fails the first command and starts
            // a reconnect: one more try, within the same timeout, uses the new connection.
            let attempts = async {
                match cmd.query_async::<T>(&mut conn).await {
                    Err(e) if e.is_io_error() || e.is_connection_dropped() => {
                        cmd.query_async::<T>(&mut conn).await
                    }
                    other => other,
                }
            };
            let outcome = tokio::time::timeout(store.timeout, attempts).await;
            let micros = started.elapsed().as_micros() as u64;
            store.metrics.add(Counter::StoreRequests);
            store.metrics.add_n(Counter::StoreMicros, micros);
            let result = match outcome {
                Ok(Ok(value)) => Ok(value),
                Ok(Err(e)) => Err(unavailable(format!(
                    "redis: {} ({:?})",
                    if e.is_timeout() {
                        "timed out"
                    } else {
                        "request failed"
                    },
                    e.kind()
                ))),
                Err(_) => Err(unavailable(format!(
                    "redis: no answer within {} ms",
                    store.timeout.as_millis()
                ))),
            };
            store.healthy.store(result.is_ok(), Ordering::Relaxed);
            if let Err(e) = &result {
                store.metrics.add(Counter::StoreErrors);
                tracing::warn!(error = %e.message(), "redis store command failed");
            }
            result
        };
        Ok((handle, task))
    }

    /// Runs `cmd` on the I/O runtime and awaits it (from any executor).
    pub async fn query<T: FromRedisValue + Send + 'static>(
        self: &Arc<Self>,
        cmd: redis::Cmd,
    ) -> Result<T, Error> {
        let (handle, task) = self.task(cmd)?;
        handle.spawn(task).await.unwrap_or_else(|_| {
            Err(Error::new(
                ErrorCode::Internal,
                "the redis command panicked or was cancelled",
            ))
        })
    }

    /// Runs `cmd` on the I/O runtime; the calling thread waits at most the timeout.
    pub fn query_blocking<T: FromRedisValue + Send + 'static>(
        self: &Arc<Self>,
        cmd: redis::Cmd,
    ) -> Result<T, Error> {
        let (handle, task) = self.task(cmd)?;
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        handle.spawn(async move {
            let _ = tx.send(task.await);
        });
        rx.recv_timeout(self.timeout + BLOCKING_MARGIN)
            .unwrap_or_else(|_| {
                self.healthy.store(false, Ordering::Relaxed);
                Err(unavailable(format!(
                    "redis: no answer within {} ms",
                    self.timeout.as_millis()
                )))
            })
    }

    /// Records a DPoP proof id until `ttl_ms` from now: true when it was new, false when
    /// another write had recorded it (a replay).
    ///
    /// `SET NX` writes a random id of this write. When it finds the key taken, a `GET`
    /// tells whether the id there is this write's own: the command resent after its reply
    /// was lost (the connection dropped after Redis ran it; [`RedisStore::query`] tries once
    /// more), which is the same first use, not a replay of itself. Only a replay pays
    /// that second round trip.
    pub async fn record_once(self: &Arc<Self>, hash: &[u8], ttl_ms: u64) -> Result<bool, Error> {
        let id = write_id()?;
        let set: Option<String> = self.query(self.set_nx_cmd(hash, ttl_ms, &id)).await?;
        if set.is_some() {
            return Ok(true);
        }
        let held: Option<String> = self.query(self.get_cmd("jti", hash)).await?;
        Ok(held.as_deref() == Some(id.as_str()))
    }

    /// [`RedisStore::record_once`], the calling thread waiting (each command at most the
    /// timeout).
    pub fn record_once_blocking(self: &Arc<Self>, hash: &[u8], ttl_ms: u64) -> Result<bool, Error> {
        let id = write_id()?;
        let set: Option<String> = self.query_blocking(self.set_nx_cmd(hash, ttl_ms, &id))?;
        if set.is_some() {
            return Ok(true);
        }
        let held: Option<String> = self.query_blocking(self.get_cmd("jti", hash))?;
        Ok(held.as_deref() == Some(id.as_str()))
    }

    /// `SET <prefix>:jti:<hash> <id> NX PX <ttl_ms>`: `OK` when the key was new, nil when
    /// it was there.
    fn set_nx_cmd(&self, hash: &[u8], ttl_ms: u64, id: &str) -> redis::Cmd {
        let mut cmd = redis::cmd("SET");
        cmd.arg(self.key("jti", hash))
            .arg(id)
            .arg("NX")
            .arg("PX")
            .arg(ttl_ms.max(1));
        cmd
    }

    /// Reads the value under `<prefix>:<kind>:<hex hash>` (`None` when there is none).
    pub fn get_cmd(&self, kind: &str, hash: &[u8]) -> redis::Cmd {
        let mut cmd = redis::cmd("GET");
        cmd.arg(self.key(kind, hash));
        cmd
    }

    /// Writes `value` under `<prefix>:<kind>:<hex hash>` for `ttl_ms`, replacing any.
    pub fn set_px_cmd(&self, kind: &str, hash: &[u8], value: &[u8], ttl_ms: u64) -> redis::Cmd {
        let mut cmd = redis::cmd("SET");
        cmd.arg(self.key(kind, hash))
            .arg(value)
            .arg("PX")
            .arg(ttl_ms.max(1));
        cmd
    }

    /// The longest one command may take.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Whether the server answers `PING` now (and the store's health is updated).
    pub async fn ping(self: &Arc<Self>) -> bool {
        self.query::<String>(redis::cmd("PING")).await.is_ok()
    }

    /// Whether the last command succeeded.
    pub fn is_healthy(&self) -> bool {
        self.healthy.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(v: serde_json::Value) -> ReplayConfig {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn settings_are_checked_and_the_url_never_echoed() {
        let m = Arc::new(Metrics::new());
        let err = |v| RedisStore::from_config(&config(v), &m).err().unwrap();
        assert!(RedisStore::from_config(&config(serde_json::json!({})), &m)
            .unwrap()
            .is_none());
        let e = err(serde_json::json!({"store": "redis"}));
        assert_eq!(e.code(), ErrorCode::ConfigInvalid);
        let e = err(serde_json::json!({"store": "redis", "url": "http://u:hunter2@h"}));
        assert!(!e.message().contains("hunter2"), "{e}");
        let e = err(serde_json::json!({"url": "redis://h"}));
        assert!(e.message().contains("memory"), "{e}");
        for bad in [
            serde_json::json!({"store": "redis", "url": "redis://h", "timeout_ms": 0}),
            serde_json::json!({"store": "redis", "url": "redis://h", "pool_size": 0}),
            serde_json::json!({"store": "redis", "url": "redis://h", "key_prefix": ""}),
            serde_json::json!({"store": "redis", "url": "redis://h", "key_prefix": "a b"}),
            serde_json::json!({"store": "redis", "url_env": "VERITOKEN_NO_SUCH_VAR_30"}),
        ] {
            assert_eq!(err(bad).code(), ErrorCode::ConfigInvalid);
        }
        let store = RedisStore::from_config(
            &config(serde_json::json!({"store": "redis", "url": "redis://127.0.0.1:1/0", "key_prefix": "app1"})),
            &m,
        )
        .unwrap()
        .unwrap();
        assert_eq!(store.key("jti", &[0xab, 0x01]), "app1:jti:ab01");
    }
}
