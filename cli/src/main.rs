//! `veritoken`: verify and inspect JWTs, and serve as an nginx `auth_request` backend, with
//! the same engine every binding uses.
//!
//! Exit status: 0 valid (or inspected), 1 rejected, 2 bad usage or configuration.

/// `eprintln!` that cannot panic: a diagnostic that standard error does not take (closed,
/// or a pipe whose reader has gone) is dropped, not turned into exit status 101.
macro_rules! report {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

mod inspect;
mod serve;
mod verify;

use clap::{Parser, Subcommand};
use std::io::{ErrorKind, Read, Write};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "veritoken",
    version,
    about = "Strict JWT/JWKS verification from the command line"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Decode a token's header and claims WITHOUT verifying anything.
    Inspect(inspect::Args),
    /// Verify a token; print its claims (exit 0) or the error (exit 1).
    Verify(Box<verify::Args>),
    /// Run the nginx auth_request / forward-auth backend.
    Serve(serve::Args),
}

/// Exit status for bad usage or configuration (clap uses it for usage errors too).
pub const EXIT_USAGE: u8 = 2;

/// Reports a verifier that could not be built. A configuration error exits 2; keys that
/// could not be fetched (`wait_at_startup` with the key server down) are no configuration
/// error: they exit 1 with their code, as a refused token does.
pub fn build_failed(e: &veritoken::Error) -> ExitCode {
    match e.code() {
        veritoken::ErrorCode::ConfigInvalid => {
            report!("veritoken: invalid configuration: {}", e.message());
            ExitCode::from(EXIT_USAGE)
        }
        code => {
            let what = match code {
                veritoken::ErrorCode::JwksUnavailable => "key fetch failed",
                _ => "cannot start",
            };
            report!(
                "veritoken: {what} ({code}): {}",
                e.message(),
                code = code.as_str()
            );
            ExitCode::FAILURE
        }
    }
}

/// Writes `text` and a newline to standard output and exits with `status`, the verdict.
/// A reader that has gone (`veritoken verify … | head -1`) is a quiet exit with that same
/// status, as a command killed by SIGPIPE would be quiet: the verdict does not change
/// because nobody reads it (`println!` panicked there, exit 101). Any other write failure
/// (a full disk) is reported and exits 2, as a token that cannot be read does: output that
/// was not written never passes for a success.
pub fn emit(text: &str, status: ExitCode) -> ExitCode {
    let mut out = std::io::stdout().lock();
    match writeln!(out, "{text}").and_then(|()| out.flush()) {
        Ok(()) => status,
        Err(e) if e.kind() == ErrorKind::BrokenPipe => status,
        Err(e) => {
            report!("veritoken: cannot write to standard output: {e}");
            ExitCode::from(EXIT_USAGE)
        }
    }
}

/// The token argument, or standard input for `-` (surrounding whitespace trimmed there,
/// since shells and `echo` add a newline).
pub fn read_token(arg: &str) -> Result<String, String> {
    if arg != "-" {
        return Ok(arg.to_owned());
    }
    let mut text = String::new();
    std::io::stdin()
        .take(1024 * 1024)
        .read_to_string(&mut text)
        .map_err(|e| format!("cannot read the token from standard input: {e}"))?;
    Ok(text.trim().to_owned())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Inspect(args) => inspect::run(args),
        Command::Verify(args) => verify::run(*args),
        Command::Serve(args) => serve::run(args),
    }
}
