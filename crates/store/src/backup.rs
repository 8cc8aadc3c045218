//! Encrypted, verifiable backups of the SQLite store, and restore.
//!
//! A backup is taken online with `VACUUM INTO` (a consistent snapshot while the server keeps
//! running), then written as `rampart-backup-<UTC>.rbk`:
//!
//! ```text
//! RAMPART-BACKUP 1\n
//! <manifest JSON>\n
//! chunks: [u32 big-endian length][AES-256-GCM ciphertext of ≤ 1 MiB of the database + tag] …
//! ```
//!
//! Each chunk is sealed under the vault's current key with a nonce made of a random 8-byte
//! prefix (in the manifest) and the chunk counter, and associated data naming the backup id, the
//! chunk index and whether it is the last chunk — so chunks cannot be reordered, dropped,
//! truncated or moved between backups without the restore noticing. The manifest (creation time,
//! key id, schema migrations, SHA-256 and size of the plain database, per-workspace row counts and
//! content checksums) is also written beside the file as `<name>.manifest.json`, and is bound to
//! the ciphertext as associated data of chunk 0.
//!
//! Restore decrypts into a temporary file in the target directory, checks the SHA-256 and SQLite's
//! `integrity_check`, and only then renames it into place. It refuses a directory whose database
//! is in use by a running Rampart (its lock file is held) and, without `force`, one whose database
//! holds any workspace or user.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::Digest as _;
use sqlx::Row as _;

use crate::{Result, SQLITE_FILE_NAME, Store, StoreError, Vault};

const MAGIC: &str = "RAMPART-BACKUP 1";
const CHUNK: usize = 1 << 20;
/// Lock file a running server holds in its data directory.
pub const LOCK_FILE_NAME: &str = "rampart.lock";

/// Per-workspace figures recorded in the manifest and compared after a restore.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkspaceFingerprint {
    pub slug: String,
    pub assets: u64,
    pub relationships: u64,
    pub findings: u64,
    pub scans: u64,
    pub audit_entries: u64,
    /// SHA-256 over the workspace's rows (assets with their configuration, findings, scans), in
    /// primary-key order.
    pub checksum: String,
}

/// What a backup holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    pub id: String,
    pub created_at: DateTime<Utc>,
    pub backend: String,
    pub key_id: String,
    pub nonce_prefix: String,
    pub migrations: Vec<String>,
    pub database_bytes: u64,
    pub database_sha256: String,
    pub workspaces: Vec<WorkspaceFingerprint>,
}

/// A backup just written.
#[derive(Debug, Clone)]
pub struct BackupReport {
    pub path: PathBuf,
    pub manifest: Manifest,
    /// Older backups removed by the retention rule.
    pub removed: Vec<PathBuf>,
}

fn io(context: String) -> impl FnOnce(std::io::Error) -> StoreError {
    move |e| StoreError::Backup(format!("{context}: {e}"))
}

fn bad(message: impl Into<String>) -> StoreError {
    StoreError::Backup(message.into())
}

fn nonce(prefix: &[u8; 8], index: u32) -> [u8; 12] {
    let mut n = [0u8; 12];
    n[..8].copy_from_slice(prefix);
    n[8..].copy_from_slice(&index.to_be_bytes());
    n
}

fn aad(id: &str, index: u32, last: bool, manifest: Option<&str>) -> Vec<u8> {
    let mut a = format!(
        "rampart-backup/{id}/{index}/{}",
        if last { "last" } else { "more" }
    )
    .into_bytes();
    if let Some(m) = manifest {
        a.push(b'\n');
        a.extend_from_slice(m.as_bytes());
    }
    a
}

fn cipher(vault: &Vault, key_id: &str) -> Result<Aes256Gcm> {
    let key = vault
        .raw_key(key_id)
        .ok_or_else(|| bad(format!("the vault key text does not hold key {key_id:?}")))?;
    Aes256Gcm::new_from_slice(key).map_err(|_| bad("bad key"))
}

impl Store {
    /// Per-workspace row counts and content checksums (read through each workspace's scope).
    pub async fn workspace_fingerprints(&self) -> Result<Vec<WorkspaceFingerprint>> {
        let mut out = Vec::new();
        for ws in self.all_workspaces().await? {
            // Each workspace under its own scope (row-level security on PostgreSQL).
            let mut tx = self.db().begin_workspace(&ws.id).await?;
            let mut counts = [0u64; 5];
            for (i, table) in ["assets", "relationships", "findings", "scans"]
                .into_iter()
                .enumerate()
            {
                let n: i64 = sqlx::query(&format!(
                    "SELECT COUNT(*) AS n FROM {table} WHERE workspace_id = $1"
                ))
                .bind(&ws.id)
                .fetch_one(&mut *tx)
                .await?
                .try_get("n")?;
                counts[i] = u64::try_from(n).unwrap_or(0);
            }
            let n: i64 = sqlx::query("SELECT COUNT(*) AS n FROM audit_log WHERE chain = $1")
                .bind(&ws.id)
                .fetch_one(&mut *tx)
                .await?
                .try_get("n")?;
            counts[4] = u64::try_from(n).unwrap_or(0);
            let mut h = sha2::Sha256::new();
            for (table, cols) in [
                (
                    "assets",
                    "id, type, name, tags, config, first_seen, last_seen",
                ),
                (
                    "findings",
                    "id, status, severity, reason, first_seen, last_seen, resolved_at",
                ),
                (
                    "scans",
                    "id, source, status, started_at, asset_count, fail_count",
                ),
                ("relationships", "from_id, to_id, kind"),
            ] {
                let rows = sqlx::query(&format!(
                    "SELECT {cols} FROM {table} WHERE workspace_id = $1 ORDER BY 1, 2"
                ))
                .bind(&ws.id)
                .fetch_all(&mut *tx)
                .await?;
                h.update(table.as_bytes());
                for r in rows {
                    for i in 0..r.len() {
                        let v: Option<String> =
                            r.try_get::<Option<String>, _>(i).or_else(|_| {
                                r.try_get::<Option<i64>, _>(i)
                                    .map(|x| x.map(|x| x.to_string()))
                            })?;
                        h.update(v.unwrap_or_default().as_bytes());
                        h.update([0u8]);
                    }
                }
            }
            tx.commit().await?;
            out.push(WorkspaceFingerprint {
                slug: ws.slug.clone(),
                assets: counts[0],
                relationships: counts[1],
                findings: counts[2],
                scans: counts[3],
                audit_entries: counts[4],
                checksum: hex::encode(h.finalize()),
            });
        }
        Ok(out)
    }

    /// Takes an encrypted backup into `dir` and keeps the newest `retain` backups there (0 keeps
    /// all).
    ///
    /// SQLite only: on PostgreSQL use [`Store::backup_postgres`].
    pub async fn backup(&self, dir: &Path, vault: &Vault, retain: usize) -> Result<BackupReport> {
        if self.backend_name() != "sqlite" {
            return Err(bad(
                "this store is on PostgreSQL: back it up with pg_dump (rampart backup --backup-database-url)",
            ));
        }
        std::fs::create_dir_all(dir).map_err(io(format!("cannot create {}", dir.display())))?;
        let now = Utc::now();
        let stamp = now.format("%Y%m%dT%H%M%S%.6fZ").to_string();
        let id = format!("bkp_{}", uuid::Uuid::new_v4().simple());
        let snapshot = dir.join(format!(".{id}.sqlite.partial"));
        let snapshot_text = snapshot
            .to_str()
            .ok_or_else(|| bad("backup directory path is not UTF-8"))?
            .to_owned();
        // The plain snapshot lives only until it is sealed, readable by its owner only (VACUUM
        // INTO accepts an existing empty file).
        drop(create_private(&snapshot)?);
        sqlx::query("VACUUM INTO $1")
            .bind(&snapshot_text)
            .execute(&self.db().pool)
            .await?;
        let result = self
            .seal_snapshot(&snapshot, dir, &stamp, &id, now, vault, "sqlite")
            .await;
        let _ = std::fs::remove_file(&snapshot);
        let (path, manifest) = result?;
        let removed = apply_retention(dir, retain)?;
        Ok(BackupReport {
            path,
            manifest,
            removed,
        })
    }

    #[allow(clippy::too_many_arguments)]
    async fn seal_snapshot(
        &self,
        snapshot: &Path,
        dir: &Path,
        stamp: &str,
        id: &str,
        now: DateTime<Utc>,
        vault: &Vault,
        backend: &str,
    ) -> Result<(PathBuf, Manifest)> {
        let (bytes, sha) = file_sha256(snapshot)?;
        let mut prefix = [0u8; 8];
        {
            use rand::RngCore as _;
            rand::rngs::OsRng.fill_bytes(&mut prefix);
        }
        let manifest = Manifest {
            format: 1,
            id: id.to_owned(),
            created_at: now,
            backend: backend.into(),
            key_id: vault.current_key_id().to_owned(),
            nonce_prefix: hex::encode(prefix),
            migrations: self.applied_migrations().await?,
            database_bytes: bytes,
            database_sha256: sha,
            workspaces: self.workspace_fingerprints().await?,
        };
        let manifest_json =
            serde_json::to_string(&manifest).map_err(|e| bad(format!("manifest: {e}")))?;
        let name = format!("rampart-backup-{stamp}.rbk");
        let path = dir.join(&name);
        let partial = dir.join(format!(".{name}.partial"));
        let cipher = cipher(vault, &manifest.key_id)?;
        {
            let mut input = BufReader::new(
                File::open(snapshot).map_err(io(format!("cannot read {}", snapshot.display())))?,
            );
            let mut out = BufWriter::new(create_private(&partial)?);
            let w = |e| bad(format!("cannot write {}: {e}", partial.display()));
            writeln!(out, "{MAGIC}").map_err(&w)?;
            writeln!(out, "{manifest_json}").map_err(&w)?;
            let total_chunks = bytes.div_ceil(CHUNK as u64).max(1);
            let mut buf = vec![0u8; CHUNK];
            for index in 0..total_chunks {
                let n = read_full(&mut input, &mut buf)?;
                let last = index + 1 == total_chunks;
                let index = u32::try_from(index).map_err(|_| bad("database too large"))?;
                let a = aad(
                    id,
                    index,
                    last,
                    (index == 0).then_some(manifest_json.as_str()),
                );
                let ct = cipher
                    .encrypt(
                        Nonce::from_slice(&nonce(&prefix, index)),
                        Payload {
                            msg: &buf[..n],
                            aad: &a,
                        },
                    )
                    .map_err(|_| bad("encryption failed"))?;
                let len = u32::try_from(ct.len()).map_err(|_| bad("chunk too large"))?;
                out.write_all(&len.to_be_bytes()).map_err(&w)?;
                out.write_all(&ct).map_err(&w)?;
            }
            out.flush().map_err(&w)?;
            out.get_ref()
                .sync_all()
                .map_err(io(format!("cannot sync {}", partial.display())))?;
        }
        std::fs::rename(&partial, &path)
            .map_err(io(format!("cannot rename to {}", path.display())))?;
        let manifest_path = dir.join(format!("{name}.manifest.json"));
        create_private(&manifest_path)?
            .write_all(
                serde_json::to_string_pretty(&manifest)
                    .map_err(|e| bad(e.to_string()))?
                    .as_bytes(),
            )
            .map_err(io(format!("cannot write {}", manifest_path.display())))?;
        Ok((path, manifest))
    }
}

/// A new file readable by its owner only.
fn create_private(path: &Path) -> Result<File> {
    let mut options = File::options();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    options
        .open(path)
        .map_err(io(format!("cannot create {}", path.display())))
}

fn read_full(input: &mut impl Read, buf: &mut [u8]) -> Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        let k = input
            .read(&mut buf[n..])
            .map_err(|e| bad(format!("read failed: {e}")))?;
        if k == 0 {
            break;
        }
        n += k;
    }
    Ok(n)
}

fn file_sha256(path: &Path) -> Result<(u64, String)> {
    let mut f =
        BufReader::new(File::open(path).map_err(io(format!("cannot read {}", path.display())))?);
    let mut h = sha2::Sha256::new();
    let mut buf = vec![0u8; CHUNK];
    let mut total = 0u64;
    loop {
        let n = read_full(&mut f, &mut buf)?;
        if n == 0 {
            break;
        }
        total += n as u64;
        h.update(&buf[..n]);
    }
    Ok((total, hex::encode(h.finalize())))
}

/// Backups in `dir`, oldest first.
pub fn list_backups(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(io(format!("cannot list {}", dir.display())))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("rampart-backup-") && n.ends_with(".rbk"))
        })
        .collect();
    out.sort();
    Ok(out)
}

fn apply_retention(dir: &Path, retain: usize) -> Result<Vec<PathBuf>> {
    if retain == 0 {
        return Ok(Vec::new());
    }
    let all = list_backups(dir)?;
    let excess = all.len().saturating_sub(retain);
    let mut removed = Vec::new();
    for old in all.into_iter().take(excess) {
        std::fs::remove_file(&old).map_err(io(format!("cannot remove {}", old.display())))?;
        let mut manifest = old.clone().into_os_string();
        manifest.push(".manifest.json");
        let _ = std::fs::remove_file(PathBuf::from(manifest));
        removed.push(old);
    }
    Ok(removed)
}

/// Reads and checks a backup's manifest (without decrypting).
pub fn read_manifest(path: &Path) -> Result<Manifest> {
    let mut r =
        BufReader::new(File::open(path).map_err(io(format!("cannot read {}", path.display())))?);
    read_header(&mut r, path)
}

fn read_line(r: &mut impl Read, limit: usize) -> Result<String> {
    let mut out = Vec::new();
    let mut b = [0u8; 1];
    loop {
        let n = r
            .read(&mut b)
            .map_err(|e| bad(format!("read failed: {e}")))?;
        if n == 0 || b[0] == b'\n' {
            break;
        }
        out.push(b[0]);
        if out.len() > limit {
            return Err(bad("header line too long"));
        }
    }
    String::from_utf8(out).map_err(|_| bad("header is not UTF-8"))
}

fn read_header(r: &mut impl Read, path: &Path) -> Result<Manifest> {
    if read_line(r, 64)? != MAGIC {
        return Err(bad(format!("{} is not a Rampart backup", path.display())));
    }
    let json = read_line(r, 16 << 20)?;
    serde_json::from_str(&json).map_err(|e| bad(format!("{}: bad manifest: {e}", path.display())))
}

/// Restores `backup` into `data_dir` (see the module docs for the refusals). Answers the
/// manifest of the restored backup.
pub fn restore(backup: &Path, data_dir: &Path, vault: &Vault, force: bool) -> Result<Manifest> {
    std::fs::create_dir_all(data_dir)
        .map_err(io(format!("cannot create {}", data_dir.display())))?;
    let lock_path = data_dir.join(LOCK_FILE_NAME);
    let lock = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(io(format!("cannot open {}", lock_path.display())))?;
    if lock.try_lock().is_err() {
        return Err(bad(format!(
            "{} is in use by a running Rampart (its lock file is held): stop it before restoring",
            data_dir.display()
        )));
    }
    let target = data_dir.join(SQLITE_FILE_NAME);
    if target.exists() && !force && !database_is_empty(&target)? {
        return Err(bad(format!(
            "{} already holds data; restore into an empty directory or pass --force to replace it",
            target.display()
        )));
    }
    let partial = data_dir.join(".restore.partial");
    let result = decrypt_to(backup, vault, &partial, "sqlite")
        .and_then(|manifest| integrity_check(&partial).map(|()| manifest));
    let manifest = match result {
        Ok(m) => m,
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            return Err(e);
        }
    };
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(data_dir.join(format!("{SQLITE_FILE_NAME}{suffix}")));
    }
    std::fs::rename(&partial, &target)
        .map_err(io(format!("cannot move into {}", target.display())))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let _ = std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o600));
    }
    drop(lock);
    Ok(manifest)
}

/// Decrypts and verifies `backup` (of a `backend` store) into `partial`, a new private file.
fn decrypt_to(backup: &Path, vault: &Vault, partial: &Path, backend: &str) -> Result<Manifest> {
    let mut input = BufReader::new(
        File::open(backup).map_err(io(format!("cannot read {}", backup.display())))?,
    );
    let manifest = read_header(&mut input, backup)?;
    let manifest_json = serde_json::to_string(&manifest).map_err(|e| bad(e.to_string()))?;
    let cipher = cipher(vault, &manifest.key_id)?;
    let prefix: [u8; 8] = hex::decode(&manifest.nonce_prefix)
        .ok()
        .and_then(|v| v.try_into().ok())
        .ok_or_else(|| bad("bad nonce prefix in manifest"))?;
    let total_chunks = manifest.database_bytes.div_ceil(CHUNK as u64).max(1);
    if manifest.backend != backend {
        return Err(bad(format!(
            "{} is a backup of a {} store; restore it into {}",
            backup.display(),
            manifest.backend,
            if manifest.backend == "sqlite" {
                "a data directory (SQLite)"
            } else {
                "PostgreSQL (--restore-database-url)"
            }
        )));
    }
    {
        let mut out = BufWriter::new(create_private(partial)?);
        let mut h = sha2::Sha256::new();
        for index in 0..total_chunks {
            let mut len = [0u8; 4];
            input
                .read_exact(&mut len)
                .map_err(|_| bad("the backup is truncated"))?;
            let len = u32::from_be_bytes(len) as usize;
            if len > CHUNK + 16 {
                return Err(bad("corrupt chunk length"));
            }
            let mut ct = vec![0u8; len];
            input
                .read_exact(&mut ct)
                .map_err(|_| bad("the backup is truncated"))?;
            let last = index + 1 == total_chunks;
            let index = u32::try_from(index).map_err(|_| bad("too many chunks"))?;
            let a = aad(
                &manifest.id,
                index,
                last,
                (index == 0).then_some(manifest_json.as_str()),
            );
            let plain = cipher
                .decrypt(
                    Nonce::from_slice(&nonce(&prefix, index)),
                    Payload { msg: &ct, aad: &a },
                )
                .map_err(|_| {
                    bad(format!(
                        "chunk {index} does not decrypt: wrong key, or the backup was altered"
                    ))
                })?;
            h.update(&plain);
            out.write_all(&plain)
                .map_err(|e| bad(format!("write failed: {e}")))?;
        }
        let mut rest = [0u8; 1];
        if input.read(&mut rest).map_err(|e| bad(e.to_string()))? != 0 {
            return Err(bad(
                "trailing data after the last chunk: the backup was altered",
            ));
        }
        out.flush().map_err(|e| bad(format!("write failed: {e}")))?;
        out.get_ref()
            .sync_all()
            .map_err(|e| bad(format!("sync failed: {e}")))?;
        if hex::encode(h.finalize()) != manifest.database_sha256 {
            return Err(bad(
                "the restored database does not match the manifest checksum",
            ));
        }
    }
    Ok(manifest)
}

fn sqlite_runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| bad(format!("runtime: {e}")))
}

fn block<T>(f: impl std::future::Future<Output = Result<T>> + Send + 'static) -> Result<T>
where
    T: Send + 'static,
{
    // Restore runs from the CLI, possibly inside a runtime: use a thread of its own.
    std::thread::spawn(move || sqlite_runtime()?.block_on(f))
        .join()
        .map_err(|_| bad("restore thread panicked"))?
}

fn database_is_empty(path: &Path) -> Result<bool> {
    let path = path.to_path_buf();
    block(async move {
        use sqlx::Connection as _;
        let opts = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(&path)
            .read_only(true);
        let mut c = sqlx::SqliteConnection::connect_with(&opts).await?;
        let tables: i64 = sqlx::query(
            "SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' AND name IN ('workspaces', 'users')",
        )
        .fetch_one(&mut c)
        .await?
        .try_get("n")?;
        if tables < 2 {
            return Ok(true);
        }
        let n: i64 = sqlx::query(
            "SELECT (SELECT COUNT(*) FROM workspaces) + (SELECT COUNT(*) FROM users) AS n",
        )
        .fetch_one(&mut c)
        .await?
        .try_get("n")?;
        c.close().await?;
        Ok(n == 0)
    })
}

fn integrity_check(path: &Path) -> Result<()> {
    let path = path.to_path_buf();
    block(async move {
        use sqlx::Connection as _;
        let opts = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(&path)
            .read_only(true);
        let mut c = sqlx::SqliteConnection::connect_with(&opts).await?;
        let r: String = sqlx::query("PRAGMA integrity_check")
            .fetch_one(&mut c)
            .await?
            .try_get(0)?;
        c.close().await?;
        if r == "ok" {
            Ok(())
        } else {
            Err(bad(format!(
                "the restored database fails its integrity check: {r}"
            )))
        }
    })
}

// ----- PostgreSQL: pg_dump / pg_restore under the same sealing -------------------------------

/// Where the PostgreSQL client tools are: a directory holding `pg_dump` and `pg_restore` (for
/// example `/usr/lib/postgresql/15/bin`), or `None` for the `PATH`. They must be at least as new
/// as the server.
#[derive(Debug, Clone, Default)]
pub struct PgTools {
    pub bin_dir: Option<PathBuf>,
}

impl PgTools {
    fn command(&self, tool: &str) -> std::process::Command {
        let exe = match &self.bin_dir {
            Some(dir) => dir.join(tool),
            None => PathBuf::from(tool),
        };
        std::process::Command::new(exe)
    }
}

/// The libpq environment for a `postgres://` URL: the password travels in `PGPASSWORD`, never on
/// a command line that `ps` would show.
fn libpq_env(url: &str) -> Result<Vec<(&'static str, String)>> {
    let parsed = url::Url::parse(url).map_err(|_| bad("the PostgreSQL URL does not parse"))?;
    if !matches!(parsed.scheme(), "postgres" | "postgresql") {
        return Err(bad("a postgres:// URL is needed"));
    }
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(s)
            .decode_utf8_lossy()
            .into_owned()
    };
    let mut env = Vec::new();
    if let Some(host) = parsed.host_str().filter(|h| !h.is_empty()) {
        env.push(("PGHOST", host.trim_matches(['[', ']']).to_owned()));
    }
    if let Some(port) = parsed.port() {
        env.push(("PGPORT", port.to_string()));
    }
    if !parsed.username().is_empty() {
        env.push(("PGUSER", decode(parsed.username())));
    }
    if let Some(pw) = parsed.password() {
        env.push(("PGPASSWORD", decode(pw)));
    }
    let db = parsed.path().trim_start_matches('/');
    if !db.is_empty() {
        env.push(("PGDATABASE", decode(db)));
    }
    for (k, v) in parsed.query_pairs() {
        let var = match k.as_ref() {
            "host" => "PGHOST",
            "port" => "PGPORT",
            "user" => "PGUSER",
            "sslmode" => "PGSSLMODE",
            "sslrootcert" => "PGSSLROOTCERT",
            _ => continue,
        };
        // A query parameter overrides the authority part (libpq's own rule).
        env.retain(|(name, _)| *name != var);
        env.push((var, v.into_owned()));
    }
    Ok(env)
}

/// Runs a PostgreSQL client tool with the URL's connection in its environment; a failure
/// reports the tool's own message (which never holds the password).
fn run_pg_tool(tools: &PgTools, tool: &str, url: &str, args: &[&std::ffi::OsStr]) -> Result<()> {
    let mut cmd = tools.command(tool);
    for var in [
        "PGHOST",
        "PGPORT",
        "PGUSER",
        "PGPASSWORD",
        "PGDATABASE",
        "PGSERVICE",
        "PGSSLMODE",
        "PGSSLROOTCERT",
    ] {
        cmd.env_remove(var);
    }
    cmd.envs(libpq_env(url)?).args(args);
    let out = cmd.output().map_err(|e| {
        bad(format!(
            "cannot run {tool} ({e}): install PostgreSQL's client tools (Debian: postgresql-client) \
             or name their directory with --pg-bin"
        ))
    })?;
    if out.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let message: Vec<&str> = stderr
        .lines()
        .filter(|l| !l.trim().is_empty())
        .take(6)
        .collect();
    Err(bad(format!("{tool} failed: {}", message.join(" / "))))
}

impl Store {
    /// Backs up a PostgreSQL store with `pg_dump --format=custom` (a consistent snapshot of the
    /// whole database, taken online) under the same encryption, manifest and retention as the
    /// SQLite backups. `dump_url` connects as a role that can read every row: one with `BYPASSRLS`
    /// (for example `CREATE ROLE rampart_backup LOGIN BYPASSRLS IN ROLE pg_read_all_data`);
    /// `pg_dump` refuses rather than silently dumping nothing when row-level security would hide
    /// rows.
    pub async fn backup_postgres(
        &self,
        dump_url: &str,
        tools: &PgTools,
        dir: &Path,
        vault: &Vault,
        retain: usize,
    ) -> Result<BackupReport> {
        if self.backend_name() != "postgres" {
            return Err(bad(
                "this store is on SQLite: use the SQLite backup (no --backup-database-url)",
            ));
        }
        std::fs::create_dir_all(dir).map_err(io(format!("cannot create {}", dir.display())))?;
        let now = Utc::now();
        let stamp = now.format("%Y%m%dT%H%M%S%.6fZ").to_string();
        let id = format!("bkp_{}", uuid::Uuid::new_v4().simple());
        let dump = dir.join(format!(".{id}.pgdump.partial"));
        drop(create_private(&dump)?);
        let result = {
            let (tools, url, file) = (tools.clone(), dump_url.to_owned(), dump.clone());
            tokio::task::spawn_blocking(move || {
                run_pg_tool(
                    &tools,
                    "pg_dump",
                    &url,
                    &[
                        "--format=custom".as_ref(),
                        "--no-password".as_ref(),
                        "--file".as_ref(),
                        file.as_os_str(),
                    ],
                )
            })
            .await
            .map_err(|e| bad(format!("pg_dump task: {e}")))?
        };
        let result = match result {
            Ok(()) => {
                self.seal_snapshot(&dump, dir, &stamp, &id, now, vault, "postgres")
                    .await
            }
            Err(e) => Err(e),
        };
        let _ = std::fs::remove_file(&dump);
        let (path, manifest) = result?;
        let removed = apply_retention(dir, retain)?;
        Ok(BackupReport {
            path,
            manifest,
            removed,
        })
    }
}

/// Restores a PostgreSQL backup into the database of `target_url` with `pg_restore` in one
/// transaction (all or nothing). The roles the dump names (owner and application role) must exist
/// in the target cluster; connect as the owner role or a superuser.
///
/// Refuses a database other sessions are connected to (a running Rampart), whatever `force`
/// says, and without `force` one that holds any table. With `force` the existing objects are
/// dropped first (`--clean --if-exists`), inside the same transaction.
pub async fn restore_postgres(
    backup: &Path,
    target_url: &str,
    tools: &PgTools,
    vault: &Vault,
    force: bool,
) -> Result<Manifest> {
    {
        use sqlx::Connection as _;
        let mut c = sqlx::PgConnection::connect(target_url)
            .await
            .map_err(|e| bad(format!("cannot connect to the target database: {e}")))?;
        let others: i64 = sqlx::query(
            "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()",
        )
        .fetch_one(&mut c)
        .await?
        .try_get(0)?;
        if others > 0 {
            return Err(bad(format!(
                "the target database has {others} other connection(s): stop every Rampart using it before restoring"
            )));
        }
        let tables: i64 = sqlx::query(
            "SELECT COUNT(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') \
             AND n.nspname NOT LIKE 'pg_toast%'",
        )
        .fetch_one(&mut c)
        .await?
        .try_get(0)?;
        c.close().await?;
        if tables > 0 && !force {
            return Err(bad(format!(
                "the target database already holds {tables} table(s); restore into an empty database or pass --force to replace them"
            )));
        }
    }
    let dir = std::env::temp_dir();
    let partial = dir.join(format!(
        ".rampart-restore-{}.pgdump",
        uuid::Uuid::new_v4().simple()
    ));
    let result = (|| -> Result<Manifest> {
        let manifest = decrypt_to(backup, vault, &partial, "postgres")?;
        let mut args: Vec<&std::ffi::OsStr> = vec![
            "--exit-on-error".as_ref(),
            "--single-transaction".as_ref(),
            "--no-password".as_ref(),
        ];
        if force {
            args.push("--clean".as_ref());
            args.push("--if-exists".as_ref());
        }
        // pg_restore takes the database from --dbname, not from PGDATABASE.
        let db = libpq_env(target_url)?
            .into_iter()
            .find(|(k, _)| *k == "PGDATABASE")
            .map(|(_, v)| v)
            .ok_or_else(|| bad("the target URL names no database"))?;
        let dbname = std::ffi::OsString::from(db);
        args.push("--dbname".as_ref());
        args.push(&dbname);
        args.push(partial.as_os_str());
        run_pg_tool(tools, "pg_restore", target_url, &args)?;
        Ok(manifest)
    })();
    let _ = std::fs::remove_file(&partial);
    result
}

#[cfg(test)]
mod pg_tests {
    use super::*;

    #[test]
    fn the_password_goes_to_the_environment_decoded() {
        let env = libpq_env("postgres://rampart%5Fbackup:p%40ss%3Aword@db.internal:6432/rampart?sslmode=verify-full")
            .expect("parses");
        let get = |k: &str| env.iter().find(|(n, _)| *n == k).map(|(_, v)| v.as_str());
        assert_eq!(get("PGHOST"), Some("db.internal"));
        assert_eq!(get("PGPORT"), Some("6432"));
        assert_eq!(get("PGUSER"), Some("rampart_backup"));
        assert_eq!(get("PGPASSWORD"), Some("p@ss:word"));
        assert_eq!(get("PGDATABASE"), Some("rampart"));
        assert_eq!(get("PGSSLMODE"), Some("verify-full"));
        let socket =
            libpq_env("postgres://postgres@localhost/rampart?host=/run/postgresql&port=5433")
                .expect("parses");
        assert!(socket.contains(&("PGHOST", "/run/postgresql".to_owned())));
        assert!(!socket.contains(&("PGHOST", "localhost".to_owned())));
        assert!(socket.contains(&("PGPORT", "5433".to_owned())));
        assert!(libpq_env("mysql://x@y/z").is_err());
    }
}
