//! `veritoken-testidp [--host 127.0.0.1] [--port 0]`: runs the test IdP and prints its base
//! URL (also its issuer) on stdout once it accepts connections. Ctrl-C or SIGTERM stops it.

use clap::Parser;
use std::io::Write;

#[derive(Parser)]
#[command(
    name = "veritoken-testidp",
    version,
    about = "A test identity provider on loopback"
)]
struct Args {
    /// Address to listen on (loopback by default; this is a test tool).
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// Port; 0 picks a free one.
    #[arg(long, default_value_t = 0)]
    port: u16,
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("veritoken-testidp: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind((args.host.as_str(), args.port)).await.map_err(|e| e.to_string())?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        let base = format!("http://{addr}");
        println!("{base}");
        let _ = std::io::stdout().flush();
        let stop = async {
            let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending().await } } => {}
            }
        };
        tokio::select! {
            r = veritoken_testidp::run_binary(listener, base) => r,
            _ = stop => Ok(()),
        }
    });
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("veritoken-testidp: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
