//! moto_server on a free loopback port, stopped when the guard drops.
//!
//! One launcher for every test crate: `tests/common/moto.rs` wraps it with
//! SDK helpers, and the stand-in provider's round trip includes this file by
//! path (it is a crate of its own), with `process.rs` beside it. Standard
//! library only, for that reason.

use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running moto server.
pub struct MotoServer {
    child: Child,
    port: u16,
}

impl MotoServer {
    /// Starts the pinned moto of the repository at `repo` and waits up to
    /// `ready_within` for it to answer.
    pub fn start(repo: &Path, ready_within: Duration) -> MotoServer {
        MotoServer::start_program(repo, &[".venv/bin/moto_server"], &[], ready_within)
    }

    /// Starts `program` (paths relative to `repo`, then its arguments before
    /// `-H 127.0.0.1 -p PORT`, then `extra` after) as a moto server: for a
    /// launcher that adds to moto's own server.
    pub fn start_program(
        repo: &Path,
        program: &[&str],
        extra: &[String],
        ready_within: Duration,
    ) -> MotoServer {
        let binary = repo.join(program[0]);
        assert!(
            binary.exists(),
            "{} not found: run scripts/bootstrap (scripts/test does) to install the pinned moto",
            binary.display()
        );
        // Another test may take the port between probe and bind: try a few.
        for _ in 0..5 {
            let port = super::process::free_port();
            let child = Command::new(&binary)
                .args(program[1..].iter().map(|arg| repo.join(arg)))
                .args(["-H", "127.0.0.1", "-p", &port.to_string()])
                .args(extra)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("moto_server starts");
            let mut server = MotoServer { child, port };
            let started = Instant::now();
            while started.elapsed() < ready_within {
                if let Ok(Some(_)) = server.child.try_wait() {
                    break;
                }
                if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    return server;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            server.stop();
        }
        panic!("moto_server did not start on 127.0.0.1");
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Stops the server now.
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        self.stop();
    }
}
