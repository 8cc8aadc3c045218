//! Helpers shared by the CLI's integration tests.
//!
//! The backend: with `RAMPART_TEST_BACKEND=postgres` every data directory a test hands to
//! `rampart` (`--data-dir`) gets its own throw-away PostgreSQL server (`pg.rs`, shared with the
//! store's tests), and the command runs with `RAMPART_DATABASE_URL` (the application role) and
//! `RAMPART_DATABASE_OWNER_URL` (migrations) pointing at it; [`open_store`] opens the same
//! database from the test. Without it, SQLite in the data directory, as `rampart` does by
//! default. A test of something only SQLite has (the `rampart.db` file, file backups) uses
//! [`sqlite_only`].
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod moto;
#[path = "../../../store/tests/common/pg.rs"]
pub mod pg;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};

/// `(application URL, owner URL)` of each data directory's server in this test process.
fn servers() -> &'static Mutex<HashMap<PathBuf, (String, String)>> {
    static SERVERS: OnceLock<Mutex<HashMap<PathBuf, (String, String)>>> = OnceLock::new();
    SERVERS.get_or_init(Default::default)
}

/// The PostgreSQL URLs for `data_dir` (starting its server on first use), or `None` on SQLite.
pub fn database_urls(data_dir: &Path) -> Option<(String, String)> {
    if pg::backend() != pg::Backend::Postgres {
        return None;
    }
    let mut map = servers().lock().unwrap();
    let urls = map.entry(data_dir.to_path_buf()).or_insert_with(|| {
        let server = pg::PgServer::start_unmigrated();
        let urls = (server.app_url(), server.owner_url());
        server.stop_when_this_process_exits();
        urls
    });
    Some(urls.clone())
}

/// The data directory a `rampart` command line names (`--data-dir DIR` or `--data-dir=DIR`).
fn data_dir_of<'a>(args: impl IntoIterator<Item = &'a std::ffi::OsStr>) -> Option<PathBuf> {
    let mut args = args.into_iter();
    while let Some(a) = args.next() {
        let a = a.to_str()?;
        if a == "--data-dir" {
            return args.next().map(PathBuf::from);
        }
        if let Some(v) = a.strip_prefix("--data-dir=") {
            return Some(PathBuf::from(v));
        }
    }
    None
}

/// Points a `rampart` command at the backend under test: on PostgreSQL, the server of the
/// data directory its arguments name (none named: left alone). Call after the arguments are set.
pub fn use_backend(cmd: &mut Command) -> &mut Command {
    cmd.env_remove("RAMPART_DATABASE_URL")
        .env_remove("RAMPART_DATABASE_OWNER_URL");
    let dir = data_dir_of(cmd.get_args());
    if let Some((app, owner)) = dir.as_deref().and_then(database_urls) {
        cmd.env("RAMPART_DATABASE_URL", app)
            .env("RAMPART_DATABASE_OWNER_URL", owner);
    }
    cmd
}

/// Runs a `rampart` command on SQLite whatever the backend under test, for what only SQLite
/// has (its database file, file backups; PostgreSQL's own are in `tests/postgres.rs`).
pub fn sqlite_only(cmd: &mut Command) -> &mut Command {
    cmd.env_remove("RAMPART_DATABASE_URL")
        .env_remove("RAMPART_DATABASE_OWNER_URL")
}

/// Opens the store of `data_dir` as `rampart` would under the backend being tested (on
/// PostgreSQL: migrated as the owner role, opened as the application role).
pub async fn open_store(data_dir: &Path) -> rampart_store::Store {
    match database_urls(data_dir) {
        None => rampart_store::Store::open_data_dir(data_dir).await.unwrap(),
        Some((app, owner)) => {
            rampart_store::Store::migrate_url(&owner, pg::APP_ROLE)
                .await
                .expect("migrate as the owner role");
            rampart_store::Store::open_url(&app).await.unwrap()
        }
    }
}

/// [`use_backend`] as a method, for `Command` builder chains (after the arguments).
pub trait OnBackend {
    fn on_backend(&mut self) -> &mut Self;
    /// [`sqlite_only`] as a method.
    fn on_sqlite(&mut self) -> &mut Self;
}

impl OnBackend for Command {
    fn on_backend(&mut self) -> &mut Self {
        use_backend(self)
    }
    fn on_sqlite(&mut self) -> &mut Self {
        sqlite_only(self)
    }
}
