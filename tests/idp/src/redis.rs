//! A throwaway `redis-server` on a free loopback port, with no persistence, for tests that
//! need a real Redis (the DPoP replay store). [`RedisServer::start`] returns `None`, after
//! saying so on stderr, when `redis-server` is not installed, unless the environment sets
//! `VERITOKEN_REQUIRE_REDIS` (as `make test` does): then a missing server fails the test.
//! [`RedisServer::stop`] and [`RedisServer::restart`] take it away and bring it back on the
//! same port; dropping it stops it.

use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct RedisServer {
    port: u16,
    child: Option<Child>,
}

/// `redis-server`'s path: `VERITOKEN_REDIS_SERVER`, else the first on `PATH` or in /usr/bin.
fn server_binary() -> Option<String> {
    if let Ok(path) = std::env::var("VERITOKEN_REDIS_SERVER") {
        return Some(path);
    }
    let path = std::env::var("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([std::path::PathBuf::from("/usr/bin")])
        .map(|dir| dir.join("redis-server"))
        .find(|p| p.is_file())
        .map(|p| p.to_string_lossy().into_owned())
}

impl RedisServer {
    /// A fresh server, or `None` (the test should return: it is skipped) when there is no
    /// `redis-server` and `VERITOKEN_REQUIRE_REDIS` is unset.
    pub fn start() -> Option<RedisServer> {
        if server_binary().is_none() {
            if std::env::var_os("VERITOKEN_REQUIRE_REDIS").is_some() {
                panic!("redis-server is required (VERITOKEN_REQUIRE_REDIS) but not installed");
            }
            eprintln!("SKIPPED: redis-server is not installed (make test installs it)");
            return None;
        }
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let mut server = RedisServer { port, child: None };
        server.restart();
        Some(server)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `redis://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Kills the server: its port refuses connections, and its data is gone.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it (again) on the same port, empty, and waits until it answers.
    pub fn restart(&mut self) {
        self.stop();
        let binary = server_binary().expect("redis-server");
        let child = Command::new(binary)
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
            .args(["--protected-mode", "yes", "--loglevel", "warning"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server starts");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok() && self.cli(&["PING"]) == "PONG"
            {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("redis-server did not start on port {}", self.port);
    }

    /// Freezes the server (SIGSTOP): connections stay open, nothing is answered.
    pub fn pause(&self) {
        self.signal("-STOP");
    }

    /// Undoes [`RedisServer::pause`].
    pub fn resume(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, which: &str) {
        let pid = self.child.as_ref().expect("running").id().to_string();
        let ok = Command::new("kill")
            .args([which, &pid])
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "kill {which} {pid}");
    }

    /// One command through `redis-cli` (installed with the server), its output trimmed.
    pub fn cli(&self, args: &[&str]) -> String {
        let out = Command::new("redis-cli")
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string()])
            .args(args)
            .stderr(Stdio::null())
            .output()
            .expect("redis-cli runs");
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    /// Every key, sorted.
    pub fn keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = self
            .cli(&["--scan"])
            .lines()
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect();
        keys.sort();
        keys
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        if self.child.is_some() {
            self.resume();
        }
        self.stop();
    }
}
