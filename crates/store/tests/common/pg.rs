//! A throw-away PostgreSQL server for the test suites (shared by the store and server tests).
//!
//! Which backend a test run covers is `RAMPART_TEST_BACKEND` (`sqlite`, the default, or
//! `postgres`). For PostgreSQL every test gets its own server: Debian's binaries (the directory
//! in `RAMPART_PG_BIN`, else the newest `/usr/lib/postgresql/*/bin`) make a cluster by copying a
//! template cluster (made once per machine and user by `initdb`, with the owner and application
//! roles and an empty `rampart` database, under a file lock; in `/dev/shm` when there is one, else
//! the temporary directory, or `RAMPART_PG_TMPDIR`), start it on a free 127.0.0.1 port with its
//! unix socket in the test's own directory, run the migrations as the owner role and hand out the
//! application role's URL. Dropping the [`PgServer`] stops the server and removes
//! its files. `initdb` and `postgres` refuse to run as root: as root they run as the `postgres`
//! user (which Debian's package creates).
//!
//! A missing PostgreSQL is a test failure, never a skip.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// The owner role: runs the migrations, owns every table.
pub const OWNER_ROLE: &str = "rampart_owner";
/// The application role: not superuser, not BYPASSRLS, owns nothing.
pub const APP_ROLE: &str = "rampart_app";
const OWNER_PASSWORD: &str = "owner-test-password";
const APP_PASSWORD: &str = "app-test-password";
/// The database each test server holds.
pub const DATABASE: &str = "rampart";

const MISSING: &str = "PostgreSQL server binaries not found (no initdb in RAMPART_PG_BIN or \
    /usr/lib/postgresql/*/bin): run `eval \"$(scripts/test-deps)\"` first";

/// The backend under test, from `RAMPART_TEST_BACKEND`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub fn backend() -> Backend {
    match std::env::var("RAMPART_TEST_BACKEND").as_deref() {
        Ok("postgres") => Backend::Postgres,
        Ok("sqlite") | Ok("") | Err(_) => Backend::Sqlite,
        Ok(other) => panic!("RAMPART_TEST_BACKEND={other}: must be sqlite or postgres"),
    }
}

fn bin_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("RAMPART_PG_BIN") {
        let dir = PathBuf::from(dir);
        assert!(dir.join("initdb").exists(), "{MISSING}");
        return dir;
    }
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, bin)| bin).expect(MISSING)
}

/// `(user, uid, gid)` to run the server as when this process is root.
fn run_as() -> Option<(String, u32, u32)> {
    let id = |args: &[&str]| -> Option<u32> {
        let out = Command::new("id").args(args).output().ok()?;
        String::from_utf8(out.stdout).ok()?.trim().parse().ok()
    };
    if id(&["-u"])? != 0 {
        return None;
    }
    let uid = id(&["-u", "postgres"]).expect(
        "running as root and there is no `postgres` user to run the PostgreSQL server as \
         (Debian's postgresql package creates it: run `eval \"$(scripts/test-deps)\"`)",
    );
    let gid = id(&["-g", "postgres"]).expect("gid of postgres");
    Some(("postgres".into(), uid, gid))
}

/// Runs a PostgreSQL server program (as `postgres` when root); panics with its output on failure.
fn pg(bin: &Path, user: &Option<(String, u32, u32)>, program: &str, args: &[&str]) {
    let exe = bin.join(program);
    let mut cmd = match user {
        Some((name, _, _)) => {
            let mut c = Command::new("runuser");
            c.args(["-u", name, "--"]).arg(&exe);
            c
        }
        None => Command::new(&exe),
    };
    let out = cmd
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", exe.display()));
    assert!(
        out.status.success(),
        "{program} {args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn chown(path: &Path, user: &Option<(String, u32, u32)>) {
    if let Some((_, uid, gid)) = user {
        std::os::unix::fs::chown(path, Some(*uid), Some(*gid)).expect("chown to postgres");
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// Where clusters live: `RAMPART_PG_TMPDIR`, else memory (`/dev/shm`) when there is one (a
/// cluster is ~30 MB in about 1,300 files: copying it to a disk-backed /tmp takes seconds, to
/// memory a tenth of one), else the temporary directory.
fn scratch() -> PathBuf {
    if let Ok(dir) = std::env::var("RAMPART_PG_TMPDIR") {
        return PathBuf::from(dir);
    }
    let shm = Path::new("/dev/shm");
    if shm.is_dir()
        && tempfile::Builder::new()
            .prefix("rampart-probe-")
            .tempfile_in(shm)
            .is_ok()
    {
        shm.to_path_buf()
    } else {
        std::env::temp_dir()
    }
}

const SERVER_OPTIONS: &str = "-c fsync=off -c synchronous_commit=off -c full_page_writes=off \
    -c max_connections=100 -c shared_buffers=16MB";

/// The template cluster: `initdb` once per machine and PostgreSQL version, with the two roles.
fn template(bin: &Path, user: &Option<(String, u32, u32)>) -> PathBuf {
    let version = bin
        .parent()
        .and_then(|p| p.file_name())
        .and_then(|n| n.to_str())
        .unwrap_or("pg")
        .to_owned();
    // Per PostgreSQL version and per user running the tests (the lock and the files are theirs).
    let uid = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    let root = scratch().join(format!("rampart-pg-template-{version}-u{uid}-v1"));
    let done = root.join("ready");
    if done.exists() {
        return root.join("data");
    }
    let lock_path = scratch().join(format!("rampart-pg-template-{version}-u{uid}.lock"));
    let lock = std::fs::File::create(&lock_path).expect("template lock file");
    lock.lock().expect("lock the template");
    if !done.exists() {
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(&root).expect("template dir");
        chown(&root, user);
        let data = root.join("data");
        let data_s = data.to_str().expect("utf-8 path");
        pg(
            bin,
            user,
            "initdb",
            &[
                "-D",
                data_s,
                "-U",
                "postgres",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "--no-locale",
                "-E",
                "UTF8",
                "-N",
                "--wal-segsize=1",
            ],
        );
        // The roles, created once in the template (roles are cluster-wide).
        let port = free_port();
        let root_s = root.to_str().expect("utf-8 path");
        let opts = format!("-p {port} -h '' -k {root_s} {SERVER_OPTIONS}");
        let log = root.join("setup.log");
        pg(
            bin,
            user,
            "pg_ctl",
            &[
                "start",
                "-w",
                "-D",
                data_s,
                "-l",
                log.to_str().expect("utf-8"),
                "-o",
                &opts,
            ],
        );
        let statements = [
            format!("CREATE ROLE {OWNER_ROLE} LOGIN PASSWORD '{OWNER_PASSWORD}'"),
            format!(
                "CREATE ROLE {APP_ROLE} LOGIN PASSWORD '{APP_PASSWORD}' NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE"
            ),
            format!(
                "CREATE DATABASE {DATABASE} OWNER {OWNER_ROLE} TEMPLATE template0 ENCODING 'UTF8' LOCALE 'C'"
            ),
            format!("REVOKE ALL ON DATABASE {DATABASE} FROM PUBLIC"),
            format!("GRANT CONNECT ON DATABASE {DATABASE} TO {APP_ROLE}"),
        ];
        let psql = bin.join("psql");
        let mut cmd = Command::new(&psql);
        cmd.args([
            "-h",
            root_s,
            "-p",
            &port.to_string(),
            "-U",
            "postgres",
            "-d",
            "postgres",
        ])
        .args(["-v", "ON_ERROR_STOP=1", "-q"]);
        for s in &statements {
            cmd.args(["-c", s]);
        }
        let out = cmd.output().expect("run psql");
        pg(
            bin,
            user,
            "pg_ctl",
            &["stop", "-w", "-D", data_s, "-m", "fast"],
        );
        assert!(
            out.status.success(),
            "creating the roles failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::fs::write(&done, b"ok").expect("mark template ready");
    }
    drop(lock);
    root.join("data")
}

/// One running PostgreSQL server with the migrated `rampart` database; stopped on drop.
pub struct PgServer {
    dir: tempfile::TempDir,
    bin: PathBuf,
    user: Option<(String, u32, u32)>,
    pub port: u16,
}

impl PgServer {
    /// Starts a fresh server and migrates its database as the owner role.
    pub async fn start() -> PgServer {
        let server = PgServer::start_unmigrated();
        rampart_store::Store::migrate_url(&server.owner_url(), APP_ROLE)
            .await
            .expect("migrate as the owner role");
        server
    }

    /// Starts a fresh server whose `rampart` database is empty (roles created, no schema).
    pub fn start_unmigrated() -> PgServer {
        let bin = bin_dir();
        let user = run_as();
        let template = template(&bin, &user);
        let dir = tempfile::Builder::new()
            .prefix("rampart-pg-")
            .tempdir_in(scratch())
            .expect("tempdir");
        chown(dir.path(), &user);
        let data = dir.path().join("data");
        let status = Command::new("cp")
            .arg("-a")
            .arg(&template)
            .arg(&data)
            .status()
            .expect("cp");
        assert!(status.success(), "copying the template cluster failed");
        let port = free_port();
        let server = PgServer {
            dir,
            bin,
            user,
            port,
        };
        server.start_again();
        server
    }

    /// Starts the server's cluster (again, after [`PgServer::stop`]) on the same port, with
    /// `RAMPART_PG_OPTIONS` after the test settings (benchmarks give a production-sized
    /// `shared_buffers` there; later `-c` settings win).
    pub fn start_again(&self) {
        let opts = format!(
            "-p {} -h 127.0.0.1 -k {} {SERVER_OPTIONS} {}",
            self.port,
            self.dir.path().display(),
            std::env::var("RAMPART_PG_OPTIONS").unwrap_or_default()
        );
        let data = self.dir.path().join("data");
        let log = self.dir.path().join("postgres.log");
        pg(
            &self.bin,
            &self.user,
            "pg_ctl",
            &[
                "start",
                "-w",
                "-D",
                data.to_str().expect("utf-8"),
                "-l",
                log.to_str().expect("utf-8"),
                "-o",
                &opts,
            ],
        );
    }

    /// Stops the server (fast shutdown: open connections are cut), keeping its data.
    pub fn stop(&self) {
        let data = self.dir.path().join("data");
        pg(
            &self.bin,
            &self.user,
            "pg_ctl",
            &[
                "stop",
                "-w",
                "-m",
                "fast",
                "-D",
                data.to_str().expect("utf-8"),
            ],
        );
    }

    /// The application role's URL (what `Store::open_url` takes).
    pub fn app_url(&self) -> String {
        format!(
            "postgres://{APP_ROLE}:{APP_PASSWORD}@127.0.0.1:{}/{DATABASE}",
            self.port
        )
    }

    /// The owner role's URL (migrations).
    pub fn owner_url(&self) -> String {
        format!(
            "postgres://{OWNER_ROLE}:{OWNER_PASSWORD}@127.0.0.1:{}/{DATABASE}",
            self.port
        )
    }

    /// The bootstrap superuser over the unix socket (bypasses row-level security: for tests
    /// that play someone holding the database server).
    pub fn superuser_options(&self) -> sqlx::postgres::PgConnectOptions {
        sqlx::postgres::PgConnectOptions::new()
            .socket(self.dir.path())
            .port(self.port)
            .username("postgres")
            .database(DATABASE)
    }

    pub async fn superuser(&self) -> sqlx::PgConnection {
        use sqlx::Connection as _;
        sqlx::PgConnection::connect_with(&self.superuser_options())
            .await
            .expect("superuser connection")
    }

    /// A connection as the application role.
    pub async fn app(&self) -> sqlx::PgConnection {
        use sqlx::Connection as _;
        sqlx::PgConnection::connect(&self.app_url())
            .await
            .expect("app connection")
    }

    /// The directory of this server's binaries (pg_dump and pg_restore among them).
    pub fn bin_dir(&self) -> &Path {
        &self.bin
    }

    /// Creates the documented backup role (`BYPASSRLS IN ROLE pg_read_all_data`, docs/deploy.md)
    /// and answers its URL, for `pg_dump` backups.
    pub async fn backup_role_url(&self) -> String {
        let mut su = self.superuser().await;
        for s in [
            "CREATE ROLE rampart_backup LOGIN PASSWORD 'backup-test-password' BYPASSRLS IN ROLE pg_read_all_data",
            "GRANT CONNECT ON DATABASE rampart TO rampart_backup",
        ] {
            sqlx::query(s).execute(&mut su).await.expect(s);
        }
        format!(
            "postgres://rampart_backup:backup-test-password@127.0.0.1:{}/{DATABASE}",
            self.port
        )
    }

    /// A plain-text `pg_dump` of the whole database: every byte it stores, for canary scans.
    pub fn dump(&self) -> Vec<u8> {
        let out = Command::new(self.bin.join("pg_dump"))
            .args(["-h", self.dir.path().to_str().expect("utf-8")])
            .args(["-p", &self.port.to_string(), "-U", "postgres", DATABASE])
            .output()
            .expect("run pg_dump");
        assert!(
            out.status.success(),
            "pg_dump failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }
}

impl PgServer {
    /// Hands the server to a watchdog that stops it and removes its files once this test
    /// process has exited, however it exits (for servers kept in a `static`, which is never
    /// dropped). The watchdog is its own session, so it outlives the process it watches.
    pub fn stop_when_this_process_exits(self) {
        let data = self.dir.path().join("data");
        let pg_ctl = self.bin.join("pg_ctl");
        let as_user = match &self.user {
            Some((name, _, _)) => format!("runuser -u {name} -- "),
            None => String::new(),
        };
        let script = format!(
            "while kill -0 {pid} 2>/dev/null; do sleep 0.2; done; \
             {as_user}'{pg_ctl}' stop -D '{data}' -m immediate -w >/dev/null 2>&1; \
             rm -rf '{dir}'",
            pid = std::process::id(),
            pg_ctl = pg_ctl.display(),
            data = data.display(),
            dir = self.dir.path().display(),
        );
        Command::new("setsid")
            .args(["-f", "sh", "-c", &script])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .expect("start the watchdog of a test PostgreSQL server (setsid, util-linux)");
        // The watchdog owns the server and its directory now.
        std::mem::forget(self);
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        let data = self.dir.path().join("data");
        let exe = self.bin.join("pg_ctl");
        let mut cmd = match &self.user {
            Some((name, _, _)) => {
                let mut c = Command::new("runuser");
                c.args(["-u", name, "--"]).arg(&exe);
                c
            }
            None => Command::new(&exe),
        };
        let _ = cmd
            .arg("stop")
            .arg("-D")
            .arg(&data)
            .args(["-m", "immediate", "-w"])
            .output();
    }
}
