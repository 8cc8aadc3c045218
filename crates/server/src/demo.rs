//! `rampart demo`: a demo workspace filled from the sample inventory, and an admin whose
//! freshly generated password is returned once for the CLI to print.

use chrono::Utc;
use rampart_model::{Inventory, Scan, Severity};
use rampart_rules::Catalog;
use rampart_store::{Role, Store, StoreError};

/// Slug of the demo workspace.
pub const DEMO_WORKSPACE: &str = "demo";
/// Email of the demo administrator.
pub const DEMO_EMAIL: &str = "admin@rampart.local";
const PASSWORD_LEN: usize = 24;

/// What `rampart demo` prints once. The password exists nowhere else: the store keeps only its
/// argon2id hash. `Debug` redacts it.
#[derive(Clone)]
pub struct DemoCredentials {
    pub workspace: String,
    pub email: String,
    pub password: String,
    /// The scan recorded from the sample inventory.
    pub scan: Scan,
}

impl std::fmt::Debug for DemoCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DemoCredentials")
            .field("workspace", &self.workspace)
            .field("email", &self.email)
            .field("password", &"<redacted>")
            .field("scan", &self.scan.id)
            .finish()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the demo workspace vanished while being prepared")]
    WorkspaceMissing,
}

/// A random password of [`PASSWORD_LEN`] letters and digits (about 143 bits).
pub fn generate_password() -> String {
    use rand::Rng as _;
    use rand::distributions::Alphanumeric;
    rand::rngs::OsRng
        .sample_iter(&Alphanumeric)
        .take(PASSWORD_LEN)
        .map(char::from)
        .collect()
}

/// Creates (or reuses) the `demo` workspace and the `admin@rampart.local` owner with a new random
/// password (resetting it, and so ending its sessions, when the user exists), evaluates `sample`
/// with `catalog` and records the result as a scan.
pub async fn prepare_demo(
    store: &Store,
    catalog: &Catalog,
    sample: &Inventory,
) -> Result<DemoCredentials, DemoError> {
    if store.workspace_by_slug(DEMO_WORKSPACE).await?.is_none() {
        match store.create_workspace(DEMO_WORKSPACE, "Demo").await {
            Ok(_) | Err(StoreError::Conflict { .. }) => {}
            Err(e) => return Err(e.into()),
        }
    }
    let scope = store
        .operator_scope(DEMO_WORKSPACE)
        .await?
        .ok_or(DemoError::WorkspaceMissing)?;

    let password = generate_password();
    let user = match store.user_by_email(DEMO_EMAIL).await? {
        Some(user) => {
            store.set_password(&user.id, &password).await?;
            user
        }
        None => store.create_user(DEMO_EMAIL, &password).await?,
    };
    store.set_membership(&scope, &user.id, Role::Owner).await?;

    // Evaluate as of the moment the sample was taken, so that its date-based results (key age,
    // unused credentials, log delivery) read the same whenever the demo is started.
    let now = sample
        .assets
        .iter()
        .map(|a| a.last_seen)
        .max()
        .unwrap_or_else(Utc::now);
    let evaluations = catalog.evaluate(sample, now);
    let severity_of =
        |id: &str| -> Severity { catalog.control(id).map(|c| c.severity).unwrap_or_default() };
    let scan = store
        .scoped(&scope)
        .record_scan_at(
            "demo: bundled sample inventory",
            sample,
            &evaluations,
            severity_of,
            now,
        )
        .await?;
    tracing::info!(workspace = DEMO_WORKSPACE, scan = %scan.id, assets = scan.asset_count, "demo workspace ready");
    Ok(DemoCredentials {
        workspace: DEMO_WORKSPACE.to_owned(),
        email: DEMO_EMAIL.to_owned(),
        password,
        scan,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_long_random_and_alphanumeric() {
        let a = generate_password();
        assert_eq!(a.len(), PASSWORD_LEN);
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(a, generate_password());
    }
}
