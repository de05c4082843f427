//! `veritoken serve`: an nginx `auth_request` / forward-auth backend on the same engine.

mod app;
mod config;
mod metrics;
mod refusals;

use crate::EXIT_USAGE;
use config::ServeConfig;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

#[derive(clap::Args)]
pub struct Args {
    /// The sidecar configuration (.json, .toml, .yaml).
    #[arg(long, value_name = "FILE")]
    config: PathBuf,
    /// Check the configuration (and build every verifier), then exit.
    #[arg(long)]
    check: bool,
    /// Listen here instead of the configured address (port 0 picks a free one).
    #[arg(long, value_name = "ADDR")]
    listen: Option<String>,
}

fn fail(message: impl std::fmt::Display) -> ExitCode {
    report!("veritoken serve: {message}");
    ExitCode::from(EXIT_USAGE)
}

pub fn run(args: Args) -> ExitCode {
    let config = match ServeConfig::load(&args.config) {
        Ok(c) => c,
        Err(e) => return fail(format!("invalid configuration: {}", e.message())),
    };
    let listen = args.listen.clone().unwrap_or_else(|| config.listen.clone());
    let limits = Limits {
        header_timeout: Duration::from_millis(config.header_read_timeout_ms),
        header_bytes: config.header_limit(),
        headers: config.max_headers,
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return fail(e),
    };
    // Before the verifiers are built: keys they skip are logged (with --check too).
    tracing_subscriber::fmt()
        .json()
        .with_current_span(false)
        .with_target(false)
        .with_writer(std::io::stderr)
        .init();
    // Built inside the runtime so key fetches can start at once.
    let built = runtime.block_on(async { app::App::new(config) });
    let (app, routes) = match built {
        Ok(b) => b,
        Err(e) => return crate::build_failed(&e),
    };
    if args.check {
        let (clients, paths) = (
            routes.len(),
            routes.iter().map(|(_, p)| p.len()).sum::<usize>(),
        );
        // The router too, so that a path it cannot take fails here as it would at start.
        drop(app::router(Arc::new(app), routes));
        return crate::emit(
            &format!("configuration OK: {clients} client(s), {paths} path(s)"),
            ExitCode::SUCCESS,
        );
    }
    raise_open_file_limit();
    let app = Arc::new(app);
    let result = runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&listen)
            .await
            .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        // Nobody reading the address (stdout closed) is no reason to stop serving.
        let _ = writeln!(
            std::io::stdout(),
            "veritoken serve: listening on http://{addr}"
        );
        let _ = std::io::stdout().flush();
        let router = app::router(app.clone(), routes);
        serve(listener, router, app, limits).await;
        Ok::<(), String>(())
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            report!("veritoken serve: {e}");
            ExitCode::FAILURE
        }
    }
}

/// What the HTTP layer may read before the handler sees a request.
struct Limits {
    header_timeout: Duration,
    header_bytes: usize,
    headers: usize,
}

/// Raises the soft open-file limit to the hard one, as nginx and envoy do: each connection
/// is a descriptor, and the common soft limit of 1024 would refuse connections long before
/// the machine runs short. Logged either way.
fn raise_open_file_limit() {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one rlimit into the struct it is given.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        tracing::warn!(error = %std::io::Error::last_os_error(), "cannot read the open-file limit");
        return;
    }
    let before = limit.rlim_cur;
    if before >= limit.rlim_max {
        tracing::info!(limit = before, "open-file limit");
        return;
    }
    limit.rlim_cur = limit.rlim_max;
    // SAFETY: setrlimit reads one valid rlimit.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) } == 0 {
        tracing::info!(from = before, to = limit.rlim_cur, "open-file limit raised");
    } else {
        tracing::warn!(
            limit = before,
            error = %std::io::Error::last_os_error(),
            "cannot raise the open-file limit"
        );
    }
}

/// Serves HTTP/1.1 until SIGTERM or Ctrl-C. Unlike `axum::serve`, a connection must send
/// complete request headers within the header timeout, and hyper's read buffer is bounded
/// by the header limit (slow or huge headers cannot pile up memory); what hyper refuses
/// while reading is answered with the JSON body, logged and counted ([`refusals::Io`]).
///
/// On the signal it stops accepting and drains: every answer then carries
/// `Connection: close`, so requests already sent on keep-alive connections are answered
/// and each connection closes after its answer. After at most 2 s the idle rest are closed
/// and requests in flight get up to 10 s in all.
async fn serve(
    listener: tokio::net::TcpListener,
    router: axum::Router,
    app: Arc<app::App>,
    limits: Limits,
) {
    use hyper_util::rt::{TokioIo, TokioTimer};
    use hyper_util::server::graceful::GracefulShutdown;
    use hyper_util::service::TowerToHyperService;
    use std::sync::atomic::{AtomicBool, Ordering};

    let graceful = GracefulShutdown::new();
    let draining = Arc::new(AtomicBool::new(false));
    // hyper's buffer holds the request line and headers: the header limit plus room for the
    // request line (and hyper needs at least 8 KiB).
    let max_buf = (limits.header_bytes + 4096).max(8192);
    let mut shutdown = std::pin::pin!(shutdown_signal());
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let (routes, drain) = (TowerToHyperService::new(router.clone()), draining.clone());
        let service = hyper::service::service_fn(move |request| {
            let answer = hyper::service::Service::call(&routes, request);
            let drain = drain.clone();
            async move {
                let mut response = answer.await?;
                if drain.load(Ordering::Relaxed) {
                    response.headers_mut().insert(
                        axum::http::header::CONNECTION,
                        axum::http::HeaderValue::from_static("close"),
                    );
                }
                Ok::<_, std::convert::Infallible>(response)
            }
        });
        let connection = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(limits.header_timeout)
            .max_buf_size(max_buf)
            .max_headers(limits.headers)
            .serve_connection(
                TokioIo::new(refusals::Io::new(stream, app.clone())),
                service,
            );
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "connection closed with an error");
            }
        });
    }
    drop(listener);
    draining.store(true, Ordering::Relaxed);
    let drained = async {
        while graceful.count() > 0 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(2), drained).await;
    tokio::select! {
        _ = graceful.shutdown() => {}
        _ = tokio::time::sleep(Duration::from_secs(8)) => {
            tracing::warn!("connections still open after 10 s; exiting anyway");
        }
    }
}

/// SIGTERM or Ctrl-C: stop accepting, finish what is in flight, exit.
async fn shutdown_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = async {
            match term.as_mut() {
                Some(t) => { t.recv().await; }
                None => std::future::pending::<()>().await,
            }
        } => {}
    }
    tracing::info!("shutting down");
}
