//! `veritoken serve`: an nginx `auth_request` / forward-auth backend on the same engine.

mod app;
mod config;
mod metrics;

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
    eprintln!("veritoken serve: {message}");
    ExitCode::from(EXIT_USAGE)
}

pub fn run(args: Args) -> ExitCode {
    let config = match ServeConfig::load(&args.config) {
        Ok(c) => c,
        Err(e) => return fail(format!("invalid configuration: {}", e.message())),
    };
    let listen = args.listen.clone().unwrap_or_else(|| config.listen.clone());
    let header_timeout = Duration::from_millis(config.header_read_timeout_ms);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return fail(e),
    };
    // Built inside the runtime so key fetches can start at once.
    let built = runtime.block_on(async { app::App::new(config) });
    let (app, routes) = match built {
        Ok(b) => b,
        Err(e) => return fail(format!("invalid configuration: {}", e.message())),
    };
    if args.check {
        let paths: usize = routes.iter().map(|(_, p)| p.len()).sum();
        println!(
            "configuration OK: {} client(s), {paths} path(s)",
            routes.len()
        );
        return ExitCode::SUCCESS;
    }
    tracing_subscriber::fmt()
        .json()
        .with_current_span(false)
        .with_target(false)
        .with_writer(std::io::stderr)
        .init();
    let app = Arc::new(app);
    let result = runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&listen)
            .await
            .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        println!("veritoken serve: listening on http://{addr}");
        let _ = std::io::stdout().flush();
        serve(listener, app::router(app, routes), header_timeout).await;
        Ok::<(), String>(())
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("veritoken serve: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Serves HTTP/1.1 until SIGTERM or Ctrl-C, then lets requests in flight finish (at most
/// 10 s). Unlike `axum::serve`, a connection must send complete request headers within
/// `header_timeout` (hyper's timer), so slow-header clients cannot pile up connections.
async fn serve(listener: tokio::net::TcpListener, router: axum::Router, header_timeout: Duration) {
    use hyper_util::rt::{TokioIo, TokioTimer};
    use hyper_util::server::graceful::GracefulShutdown;
    use hyper_util::service::TowerToHyperService;

    let graceful = GracefulShutdown::new();
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
        let connection = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(header_timeout)
            .serve_connection(
                TokioIo::new(stream),
                TowerToHyperService::new(router.clone()),
            );
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "connection closed with an error");
            }
        });
    }
    drop(listener);
    tokio::select! {
        _ = graceful.shutdown() => {}
        _ = tokio::time::sleep(Duration::from_secs(10)) => {
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
