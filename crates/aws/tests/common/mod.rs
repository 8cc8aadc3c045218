//! Helpers shared by the tests that run the collector against moto_server
//! (moto[server]==5.1.22, installed by scripts/test-deps): start the server on 127.0.0.1 on a
//! free port, seed it with a boto3 script, put the protocol shim in front of it, collect, and
//! look assets up.
//!
//! Each test crate that declares `mod common;` uses a different subset of these helpers.
#![allow(dead_code)]

use std::io::Read;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rampart_aws::{AwsScanConfig, Collection, StaticCredentials};
use rampart_model::Asset;
use serde_json::Value;

pub const INSTALL: &str = "moto_server is required for the AWS tests: run `eval \"$(scripts/test-deps)\"` \
     (installs moto[server]==5.1.22 into target/test-deps/moto-venv and exports RAMPART_MOTO_SERVER \
     and RAMPART_MOTO_PYTHON), or ./scripts/test";

/// A moto_server child process, killed on drop.
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
    start_moto_with(&[])
}

/// moto_server with extra environment variables (`INITIAL_NO_AUTH_ACTION_COUNT`...).
pub fn start_moto_with(env: &[(&str, &str)]) -> Moto {
    let server = env_path("RAMPART_MOTO_SERVER");
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(server)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .env("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
        .env("MOTO_ENABLE_ISO_REGIONS", "false")
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
    loop {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "moto_server did not start on port {port}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    moto
}

pub fn seed(moto: &Moto) -> Value {
    seed_with(moto, "tests/seed_moto.py")
}

pub fn seed_with(moto: &Moto, script: &str) -> Value {
    seed_with_args(moto, script, &[])
}

/// Runs `script` (relative to the crate) with the moto venv's python and `args`, with
/// `AWS_ENDPOINT_URL` pointing at `moto`; the script prints one JSON object on stdout.
pub fn seed_with_args(moto: &Moto, script: &str, args: &[&str]) -> Value {
    let python = env_path("RAMPART_MOTO_PYTHON");
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(script);
    let mut child = Command::new(python)
        .arg(script)
        .args(args)
        .env("AWS_ENDPOINT_URL", &moto.url)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(child.wait().unwrap().success(), "seeding failed: {err}");
    serde_json::from_str(out.trim()).unwrap()
}

pub fn config(moto: &Moto) -> AwsScanConfig {
    AwsScanConfig {
        credentials: Some(StaticCredentials {
            access_key_id: "testing".into(),
            secret_access_key: "testing".into(),
            session_token: None,
        }),
        regions: Some(vec!["us-east-1".into()]),
        endpoint_url: Some(moto.url.clone()),
        max_attempts: Some(1),
        page_size: Some(5),
        ..AwsScanConfig::default()
    }
}

pub fn collect(config: &AwsScanConfig) -> Collection {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(rampart_aws::collect(config, &rampart_aws::NoProgress))
        .unwrap()
}

pub fn find<'a>(c: &'a Collection, ty: &str, native_id: &str) -> &'a Asset {
    c.inventory
        .assets
        .iter()
        .find(|a| a.resource_type.as_str() == ty && a.native_id == native_id)
        .unwrap_or_else(|| {
            let have: Vec<_> = c
                .inventory
                .assets
                .iter()
                .filter(|a| a.resource_type.as_str() == ty)
                .map(|a| a.native_id.as_str())
                .collect();
            panic!("no {ty} {native_id}; have {have:?}")
        })
}

pub fn has_edge(c: &Collection, from: &Asset, to: &Asset, kind: &str) -> bool {
    c.inventory
        .relationships
        .iter()
        .any(|r| r.from == from.id && r.to == to.id && r.kind == kind)
}

pub fn has_error(c: &Collection, service: &str, operation: &str) -> bool {
    c.errors.iter().any(|e| {
        e.service == service
            && e.operation == operation
            && e.region == "us-east-1"
            && !e.message.is_empty()
    })
}

pub fn ec2_arn(kind: &str, id: &Value) -> String {
    format!(
        "arn:aws:ec2:us-east-1:123456789012:{kind}/{}",
        id.as_str().unwrap()
    )
}

/// tests/protocol_shim.py in front of a moto server, killed on drop: it answers CloudWatch
/// `DescribeAlarms` in RPC v2 CBOR and Lambda `ListFunctionUrlConfigs` from moto's own data
/// (the query-protocol `DescribeAlarms` and `GetFunctionUrlConfig`), and relays the rest.
pub struct Shim {
    child: Child,
    pub url: String,
}

impl Drop for Shim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn start_shim(moto: &Moto) -> Shim {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/protocol_shim.py");
    let mut child = Command::new(env_path("RAMPART_MOTO_PYTHON"))
        .arg(script)
        .arg(&moto.url)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    while stdout.read(&mut byte).unwrap() == 1 && byte[0] != b'\n' {
        line.push(byte[0]);
    }
    let port: u16 = String::from_utf8(line).unwrap().trim().parse().unwrap();
    Shim {
        child,
        url: format!("http://127.0.0.1:{port}"),
    }
}
