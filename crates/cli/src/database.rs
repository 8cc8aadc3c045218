//! `--database-url` and `--owner-database-url`: which database the store commands use.

use std::path::Path;

use anyhow::{Context, bail};
use clap::Args;
use rampart_store::Store;

/// The database of the commands that use the store. Without `--database-url`: SQLite in the data
/// directory (`DATA_DIR/rampart.db`).
#[derive(Args, Clone, Default)]
pub struct DatabaseArgs {
    /// Database URL: `sqlite://PATH`, or `postgres://APP_ROLE:PASSWORD@HOST:PORT/DB` for
    /// PostgreSQL, connecting as the application role (not superuser, not BYPASSRLS, owning no
    /// table). Default: SQLite in the data directory.
    #[arg(
        long,
        env = "RAMPART_DATABASE_URL",
        value_name = "URL",
        hide_env_values = true
    )]
    pub database_url: Option<String>,
    /// PostgreSQL URL of the owner role (which owns the tables). When given, the migrations run
    /// with it first and the application role (the user of --database-url) is granted what it
    /// needs; without it the schema must already be current.
    #[arg(
        long,
        env = "RAMPART_DATABASE_OWNER_URL",
        value_name = "URL",
        hide_env_values = true,
        requires = "database_url"
    )]
    pub owner_database_url: Option<String>,
}

impl std::fmt::Debug for DatabaseArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URLs may carry passwords.
        f.debug_struct("DatabaseArgs")
            .field("database_url", &self.database_url.as_ref().map(|_| "…"))
            .field(
                "owner_database_url",
                &self.owner_database_url.as_ref().map(|_| "…"),
            )
            .finish()
    }
}

impl DatabaseArgs {
    /// Opens (and, with an owner URL, first migrates) the store. Error messages never repeat a
    /// URL, which may hold a password.
    pub async fn open(&self, data_dir: &Path) -> anyhow::Result<Store> {
        let Some(url) = &self.database_url else {
            return Store::open_data_dir(data_dir)
                .await
                .with_context(|| format!("cannot open the store in {}", data_dir.display()));
        };
        if let Some(owner) = &self.owner_database_url {
            if !rampart_store::is_postgres_url(owner) || !rampart_store::is_postgres_url(url) {
                bail!("--owner-database-url needs PostgreSQL URLs for both it and --database-url");
            }
            let Some(app_role) = rampart_store::database_url_user(url) else {
                bail!(
                    "--database-url must name the application role (postgres://ROLE:PASSWORD@HOST/DB)"
                );
            };
            Store::migrate_url(owner, &app_role)
                .await
                .context("cannot migrate the database with --owner-database-url")?;
        }
        Store::open_url(url)
            .await
            .context("cannot open the database at --database-url")
    }
}
