//! Installation administration from the machine that holds the data directory: users and
//! operators, the audit log's integrity, and the secrets vault.

use std::io::Read as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use rampart_store::audit::{ActorKind, AuditEvent, Outcome};
use rampart_store::{Role, Store, Vault};

#[derive(Args, Debug, Clone)]
pub struct DataDir {
    /// Data directory holding the store.
    #[arg(
        long,
        env = "RAMPART_DATA_DIR",
        default_value = "rampart-data",
        value_name = "DIR"
    )]
    data_dir: PathBuf,
    #[command(flatten)]
    database: crate::database::DatabaseArgs,
}

#[derive(Subcommand, Debug)]
pub enum AuditCommand {
    /// Recompute every audit hash chain; exit 1 and name the first bad entry when one was
    /// edited, deleted, reordered or truncated.
    Verify {
        #[command(flatten)]
        dir: DataDir,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum VaultCommand {
    /// Print a new random key line (`ID:BASE64`) to put first in the vault key file.
    GenerateKey {
        /// Key id (1 to 32 characters of A-Z, a-z, 0-9, '-', '_'); default: k + today's date.
        #[arg(long)]
        id: Option<String>,
    },
    /// Re-seal every stored secret under the current (first) key of the key file. Put a new key
    /// line first (keep the old one below it), run this, then remove the old line.
    RotateKey {
        #[command(flatten)]
        dir: DataDir,
        /// Vault key file; default: RAMPART_VAULT_KEY, else DATA_DIR/vault.key.
        #[arg(long, env = "RAMPART_VAULT_KEY_FILE", value_name = "FILE")]
        key_file: Option<PathBuf>,
    },
}

#[derive(Subcommand, Debug)]
pub enum UserCommand {
    /// Create a user (password read from standard input, or generated and printed once), and
    /// optionally add them to a workspace with a role.
    Create {
        #[command(flatten)]
        dir: DataDir,
        /// Email address (the sign-in name).
        email: String,
        /// Workspace slug to add the user to.
        #[arg(long, requires = "role")]
        workspace: Option<String>,
        /// Role in --workspace.
        #[arg(long, value_parser = ["owner", "admin", "analyst", "viewer", "auditor"])]
        role: Option<String>,
        /// Read the password from standard input instead of generating one.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Give or take the installation-operator capability (support access through grants only).
    Operator {
        #[command(flatten)]
        dir: DataDir,
        email: String,
        /// Take the capability away instead.
        #[arg(long)]
        revoke: bool,
    },
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

async fn open(dir: &DataDir) -> anyhow::Result<Store> {
    dir.database.open(&dir.data_dir).await
}

fn local_event(action: &str) -> AuditEvent {
    let who = std::env::var("USER").unwrap_or_else(|_| "unknown".into());
    AuditEvent::new(action, Outcome::Success).actor(ActorKind::System, "local-cli", &who)
}

pub fn audit(cmd: AuditCommand) -> anyhow::Result<ExitCode> {
    let AuditCommand::Verify { dir, json } = cmd;
    runtime()?.block_on(async {
        let store = open(&dir).await?;
        let reports = store
            .verify_audit()
            .await
            .context("cannot read the audit log")?;
        let bad = reports.iter().filter(|r| r.first_bad.is_some()).count();
        if json {
            println!("{}", serde_json::to_string_pretty(&reports)?);
        } else {
            for r in &reports {
                match &r.first_bad {
                    None => println!("ok        {} ({} entries)", r.chain, r.entries),
                    Some(b) => println!(
                        "TAMPERED  {} ({} entries): first bad entry is #{}: {}",
                        r.chain, r.entries, b.seq, b.reason
                    ),
                }
            }
            println!(
                "{} chain(s) checked, {} intact, {} tampered",
                reports.len(),
                reports.len() - bad,
                bad
            );
        }
        Ok(if bad == 0 {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        })
    })
}

pub fn vault(cmd: VaultCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        VaultCommand::GenerateKey { id } => {
            let id = id.unwrap_or_else(|| format!("k{}", chrono::Utc::now().format("%Y%m%d")));
            let line = Vault::generate_key_line(&id);
            Vault::from_key_text(&line, "--id").map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("{line}");
            Ok(ExitCode::SUCCESS)
        }
        VaultCommand::RotateKey { dir, key_file } => {
            let vault = match key_file {
                Some(path) => Vault::from_file(&path),
                None => match std::env::var(rampart_store::VAULT_KEY_ENV) {
                    Ok(text) => Vault::from_key_text(&text, rampart_store::VAULT_KEY_ENV),
                    Err(_) => {
                        Vault::from_file(&dir.data_dir.join(rampart_server::VAULT_KEY_FILE_NAME))
                    }
                },
            }
            .map_err(|e| anyhow::anyhow!("{e}"))?;
            runtime()?.block_on(async {
                let store = open(&dir).await?;
                let n = store
                    .reseal_secrets(&vault, local_event("vault.rotate"))
                    .await
                    .context("re-sealing failed; nothing was changed")?;
                println!(
                    "re-sealed {n} secret(s) under key {}; older key lines can now be removed",
                    vault.current_key_id()
                );
                Ok(ExitCode::SUCCESS)
            })
        }
    }
}

pub fn user(cmd: UserCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        UserCommand::Create {
            dir,
            email,
            workspace,
            role,
            password_stdin,
        } => {
            let (password, generated) = if password_stdin {
                let mut p = String::new();
                std::io::stdin()
                    .read_to_string(&mut p)
                    .context("cannot read the password from standard input")?;
                (p.trim_end_matches(['\r', '\n']).to_owned(), false)
            } else {
                (rampart_server::generate_password(), true)
            };
            runtime()?.block_on(async {
                let store = open(&dir).await?;
                let user = store
                    .create_user(&email, &password)
                    .await
                    .with_context(|| format!("cannot create user {email}"))?;
                store
                    .audit(None, &local_event("user.create").object("user", &user.id))
                    .await?;
                if let (Some(slug), Some(role)) = (workspace, role) {
                    let role: Role = role.parse().map_err(|e| anyhow::anyhow!("{e}"))?;
                    let Some(scope) = store.operator_scope(&slug).await? else {
                        bail!("workspace {slug:?} does not exist");
                    };
                    store.set_membership(&scope, &user.id, role).await?;
                    store
                        .audit(
                            Some(&scope),
                            &local_event("member.add")
                                .object("member", &user.id)
                                .detail(serde_json::json!({ "role": role })),
                        )
                        .await?;
                }
                println!("created user {} ({})", user.email, user.id);
                if generated {
                    println!(
                        "password: {password}   (shown once; only its argon2id hash is stored)"
                    );
                }
                Ok(ExitCode::SUCCESS)
            })
        }
        UserCommand::Operator { dir, email, revoke } => runtime()?.block_on(async {
            let store = open(&dir).await?;
            let Some(user) = store.user_by_email(&email).await? else {
                bail!("no user with email {email:?}");
            };
            store
                .set_operator(&user.id, !revoke, local_event("user.operator"))
                .await?;
            println!(
                "{} is {} an installation operator",
                user.email,
                if revoke { "no longer" } else { "now" }
            );
            Ok(ExitCode::SUCCESS)
        }),
    }
}

fn load_vault(dir: &std::path::Path, key_file: Option<&std::path::Path>) -> anyhow::Result<Vault> {
    match key_file {
        Some(path) => Vault::from_file(path),
        None => match std::env::var(rampart_store::VAULT_KEY_ENV) {
            Ok(text) => Vault::from_key_text(&text, rampart_store::VAULT_KEY_ENV),
            Err(_) => Vault::from_file(&dir.join(rampart_server::VAULT_KEY_FILE_NAME)),
        },
    }
    .map_err(|e| anyhow::anyhow!("{e}"))
}

#[derive(Args, Debug)]
pub struct BackupArgs {
    #[command(flatten)]
    dir: DataDir,
    /// Directory the encrypted backup and its manifest are written to.
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Vault key file (the backup is sealed with its current key); default: RAMPART_VAULT_KEY,
    /// else DATA_DIR/vault.key. Keep the key apart from the backups.
    #[arg(long, env = "RAMPART_VAULT_KEY_FILE", value_name = "FILE")]
    key_file: Option<PathBuf>,
    /// Keep only the newest N backups in --out (0 keeps all).
    #[arg(long, default_value_t = 0)]
    retain: usize,
    /// PostgreSQL: URL of the role `pg_dump` connects as, one that may read every row (BYPASSRLS,
    /// e.g. `CREATE ROLE rampart_backup LOGIN BYPASSRLS IN ROLE pg_read_all_data`). Required when
    /// --database-url is PostgreSQL.
    #[arg(
        long,
        env = "RAMPART_BACKUP_DATABASE_URL",
        value_name = "URL",
        hide_env_values = true
    )]
    backup_database_url: Option<String>,
    #[command(flatten)]
    pg: PgBin,
}

#[derive(Args, Debug, Clone)]
pub struct PgBin {
    /// Directory of PostgreSQL's client tools (pg_dump, pg_restore), at least as new as the
    /// server; default: the PATH.
    #[arg(long, env = "RAMPART_PG_BIN", value_name = "DIR")]
    pg_bin: Option<PathBuf>,
}

impl PgBin {
    pub(crate) fn tools(&self) -> rampart_store::backup::PgTools {
        rampart_store::backup::PgTools {
            bin_dir: self.pg_bin.clone(),
        }
    }
}

#[derive(Args, Debug)]
pub struct RestoreArgs {
    /// Backup file (`rampart-backup-….rbk`).
    #[arg(long, value_name = "FILE")]
    from: PathBuf,
    /// Data directory to restore into (created if missing).
    #[arg(long, value_name = "DIR")]
    data_dir: PathBuf,
    /// Vault key file holding the backup's key.
    #[arg(long, env = "RAMPART_VAULT_KEY_FILE", value_name = "FILE")]
    key_file: Option<PathBuf>,
    /// Replace a database that holds data (never one in use by a running server).
    #[arg(long)]
    force: bool,
    /// PostgreSQL backups: URL of the (empty) database to restore into, connecting as its owner
    /// role or a superuser; the roles the backup names must exist. Then --database-url (the
    /// application role) is used to verify the restored data against the manifest.
    #[arg(
        long,
        env = "RAMPART_RESTORE_DATABASE_URL",
        value_name = "URL",
        hide_env_values = true,
        requires = "database_url"
    )]
    restore_database_url: Option<String>,
    #[command(flatten)]
    database: crate::database::DatabaseArgs,
    #[command(flatten)]
    pg: PgBin,
}

pub fn backup(args: BackupArgs) -> anyhow::Result<ExitCode> {
    let vault = load_vault(&args.dir.data_dir, args.key_file.as_deref())?;
    runtime()?.block_on(async {
        let store = open(&args.dir).await?;
        let started = std::time::Instant::now();
        let report = match (store.backend_name(), &args.backup_database_url) {
            ("postgres", Some(url)) => {
                store
                    .backup_postgres(url, &args.pg.tools(), &args.out, &vault, args.retain)
                    .await
            }
            ("postgres", None) => bail!(
                "--backup-database-url is required on PostgreSQL: a role that may read every row \
                 (BYPASSRLS), see docs/operations.md"
            ),
            (_, Some(_)) => bail!("--backup-database-url applies to PostgreSQL stores only"),
            _ => store.backup(&args.out, &vault, args.retain).await,
        }
        .context("backup failed")?;
        store
            .audit(
                None,
                &local_event("backup.create")
                    .object("backup", &report.manifest.id)
                    .detail(serde_json::json!({ "bytes": report.manifest.database_bytes, "key_id": report.manifest.key_id })),
            )
            .await?;
        println!(
            "wrote {} ({} bytes of database, {} workspace(s), key {}) in {:.2} s",
            report.path.display(),
            report.manifest.database_bytes,
            report.manifest.workspaces.len(),
            report.manifest.key_id,
            started.elapsed().as_secs_f64()
        );
        for removed in &report.removed {
            println!("removed old backup {}", removed.display());
        }
        Ok(ExitCode::SUCCESS)
    })
}

pub fn restore(args: RestoreArgs) -> anyhow::Result<ExitCode> {
    let vault = load_vault(&args.data_dir, args.key_file.as_deref())?;
    let started = std::time::Instant::now();
    let manifest = match &args.restore_database_url {
        Some(url) => runtime()?.block_on(rampart_store::backup::restore_postgres(
            &args.from,
            url,
            &args.pg.tools(),
            &vault,
            args.force,
        )),
        None if args.database.database_url.is_some() => {
            bail!("--restore-database-url is needed to restore into PostgreSQL")
        }
        None => rampart_store::backup::restore(&args.from, &args.data_dir, &vault, args.force),
    }
    .map_err(|e| anyhow::anyhow!("{e}"))
    .context("restore refused or failed; the target was not changed")?;
    let restore_secs = started.elapsed().as_secs_f64();
    // Open (and migrate, if the backup is older) the restored store and compare it with the
    // manifest, workspace by workspace.
    runtime()?.block_on(async {
        let store = args.database.open(&args.data_dir).await?;
        let now = store.workspace_fingerprints().await?;
        if now != manifest.workspaces {
            bail!("the restored data does not match the backup's manifest");
        }
        store
            .audit(
                None,
                &local_event("backup.restore").object("backup", &manifest.id),
            )
            .await?;
        println!(
            "restored backup {} of {} into {} ({} workspace(s) verified) in {:.2} s",
            manifest.id,
            manifest.created_at.to_rfc3339(),
            args.data_dir.display(),
            now.len(),
            restore_secs
        );
        Ok(ExitCode::SUCCESS)
    })
}

#[derive(Subcommand, Debug)]
pub enum OrgCommand {
    /// Create an organization (a group of workspaces with one SSO configuration).
    Create {
        #[command(flatten)]
        dir: DataDir,
        /// Slug: 1 to 63 characters of a-z, 0-9 and '-'.
        slug: String,
        /// Display name (default: the slug).
        #[arg(long)]
        name: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
pub enum WorkspaceCommand {
    /// Create a workspace, optionally inside an organization, optionally with an owner.
    Create {
        #[command(flatten)]
        dir: DataDir,
        slug: String,
        #[arg(long)]
        name: Option<String>,
        /// Organization slug.
        #[arg(long)]
        org: Option<String>,
        /// Email of an existing user to make owner.
        #[arg(long)]
        owner: Option<String>,
    },
}

pub fn org(cmd: OrgCommand) -> anyhow::Result<ExitCode> {
    let OrgCommand::Create { dir, slug, name } = cmd;
    runtime()?.block_on(async {
        let store = open(&dir).await?;
        let org = store
            .create_organization(&slug, name.as_deref().unwrap_or(&slug))
            .await
            .with_context(|| format!("cannot create organization {slug:?}"))?;
        store
            .audit(
                None,
                &local_event("organization.create").object("organization", &org.id),
            )
            .await?;
        println!("created organization {} ({})", org.slug, org.id);
        Ok(ExitCode::SUCCESS)
    })
}

pub fn workspace(cmd: WorkspaceCommand) -> anyhow::Result<ExitCode> {
    let WorkspaceCommand::Create {
        dir,
        slug,
        name,
        org,
        owner,
    } = cmd;
    runtime()?.block_on(async {
        let store = open(&dir).await?;
        let name = name.as_deref().unwrap_or(&slug).to_owned();
        let owner = match owner {
            Some(email) => Some(
                store
                    .user_by_email(&email)
                    .await?
                    .ok_or_else(|| anyhow::anyhow!("no user with email {email:?}"))?,
            ),
            None => None,
        };
        let ws = match org {
            Some(org_slug) => {
                let Some(o) = store.organization_by_slug(&org_slug).await? else {
                    bail!("organization {org_slug:?} does not exist");
                };
                store.create_workspace_in(&o.id, &slug, &name).await
            }
            None => store.create_workspace(&slug, &name).await,
        }
        .with_context(|| format!("cannot create workspace {slug:?}"))?;
        let Some(scope) = store.operator_scope(&ws.slug).await? else {
            bail!("the workspace vanished while being created");
        };
        store
            .audit(
                Some(&scope),
                &local_event("workspace.create").object("workspace", &ws.id),
            )
            .await?;
        if let Some(user) = owner {
            store.set_membership(&scope, &user.id, Role::Owner).await?;
            store
                .audit(
                    Some(&scope),
                    &local_event("member.add")
                        .object("member", &user.id)
                        .detail(serde_json::json!({ "role": "owner" })),
                )
                .await?;
        }
        println!("created workspace {} ({})", ws.slug, ws.id);
        Ok(ExitCode::SUCCESS)
    })
}
