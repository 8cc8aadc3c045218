//! moto_server for the tests that collect from AWS (installed by scripts/test-deps).
#![allow(dead_code)]

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const INSTALL: &str = "moto_server is required: run `eval \"$(scripts/test-deps)\"` (installs \
     moto[server]==5.1.22 and exports RAMPART_MOTO_SERVER and RAMPART_MOTO_PYTHON), or ./scripts/test";

pub struct Moto {
    child: Child,
    pub url: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn env_path(name: &str) -> PathBuf {
    let path = std::env::var_os(name)
        .map(PathBuf::from)
        .unwrap_or_else(|| panic!("{name} is not set. {INSTALL}"));
    assert!(
        path.exists(),
        "{} does not exist. {INSTALL}",
        path.display()
    );
    path
}

pub fn start_moto() -> Moto {
    start_moto_seeded(&[], "../aws/tests/seed_moto.py").0
}

/// moto_server with extra environment variables, seeded by `script` (relative to this crate);
/// answers the server and the seed script's JSON output.
pub fn start_moto_seeded(env: &[(&str, &str)], script: &str) -> (Moto, serde_json::Value) {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(env_path("RAMPART_MOTO_SERVER"))
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .env("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start moto_server: {e}. {INSTALL}"));
    let moto = Moto {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "moto_server did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    let seed = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(script);
    let out = Command::new(env_path("RAMPART_MOTO_PYTHON"))
        .arg(seed)
        .env("AWS_ENDPOINT_URL", &moto.url)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "seeding failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ids = serde_json::from_slice(&out.stdout).unwrap();
    (moto, ids)
}
