//! Loopback ports and child processes for the tests that start servers.
//!
//! Standard library only: the stand-in provider's round trip includes this
//! file by path (through `moto_server.rs`), being a crate of its own.

use std::net::{TcpListener, TcpStream};
use std::process::Child;
use std::time::{Duration, Instant};

/// A port free on 127.0.0.1 right now (another process may take it before
/// it is bound: callers that can, retry).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// Waits up to two minutes for something to listen on 127.0.0.1:`port`.
pub fn wait_for_port(port: u16, what: &str) {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(120) {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("{what} did not listen on 127.0.0.1:{port}");
}

/// A child process killed when dropped.
pub struct Background(pub Child);

impl Drop for Background {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
