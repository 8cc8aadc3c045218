//! SSO at the data layer: sealed client secret, single-use expiring sign-ins in flight, and
//! just-in-time accounts and memberships with their audit entries (issue 6, point 5).
#![allow(clippy::unwrap_used)]

mod common;

use rampart_store::audit::{AuditEvent, Outcome};
use rampart_store::{
    AuditFilter, NewSsoLogin, Page, Role, SsoIdentity, SsoSettings, Store, StoreError, Vault,
    WorkspaceScope, sso_nonce_hash,
};

const ISSUER: &str = "https://idp.example.com";
const SECRET: &str = "client-secret-never-in-clear";

fn vault() -> Vault {
    Vault::from_key_text(&Vault::generate_key_line("k1"), "test").unwrap()
}

fn event(action: &str) -> AuditEvent {
    AuditEvent::new(action, Outcome::Success).from_client("127.0.0.1", "test")
}

async fn org_with_workspace(store: &Store, org: &str, ws: &str) -> WorkspaceScope {
    let org = store.create_organization(org, org).await.unwrap();
    store.create_workspace_in(&org.id, ws, ws).await.unwrap();
    store.operator_scope(ws).await.unwrap().unwrap()
}

async fn configure(
    store: &Store,
    scope: &WorkspaceScope,
    vault: &Vault,
) -> rampart_store::SsoConfig {
    let domains = vec!["example.com".to_string()];
    let settings = SsoSettings {
        issuer: ISSUER,
        client_id: "rampart",
        client_secret: Some(SECRET),
        allowed_domains: &domains,
        default_workspace: scope,
        default_role: Role::Viewer,
        enabled: true,
    };
    store
        .configure_sso(scope, &settings, vault, event("sso.configure"))
        .await
        .unwrap()
}

async fn raw(db: &common::TestDb, sql: &str) -> Vec<String> {
    db.admin_strings(sql).await
}

#[tokio::test]
async fn v8_3_client_secret_is_sealed_and_configuration_is_audited() {
    let db = common::open().await;
    let vault = vault();
    let scope = org_with_workspace(&db.store, "acme", "acme-prod").await;
    let config = configure(&db.store, &scope, &vault).await;
    assert_eq!(config.organization_slug, "acme");
    assert_eq!(config.default_workspace_slug, "acme-prod");
    assert_eq!(config.secret_key_id, "k1");
    let sealed = raw(&db, "SELECT client_secret FROM sso_configs").await;
    assert!(sealed[0].starts_with("v1:k1:") && !sealed[0].contains(SECRET));
    assert_eq!(
        db.store
            .sso_client_secret(&config.organization_id, &vault)
            .await
            .unwrap(),
        SECRET
    );
    let log = db
        .store
        .scoped(&scope)
        .audit_log(&AuditFilter::default(), Page::new(10, 0))
        .await
        .unwrap();
    assert_eq!(log.items[0].event.action, "sso.configure");
    assert!(!serde_json::to_string(&log.items).unwrap().contains(SECRET));

    // A workspace outside any organization has no SSO; a default workspace of another
    // organization is refused.
    let lone = common::workspace(&db.store, "lone").await;
    let domains = vec!["example.com".to_string()];
    let mut settings = SsoSettings {
        issuer: ISSUER,
        client_id: "rampart",
        client_secret: Some(SECRET),
        allowed_domains: &domains,
        default_workspace: &lone,
        default_role: Role::Viewer,
        enabled: true,
    };
    let err = db
        .store
        .configure_sso(&lone, &settings, &vault, event("sso.configure"))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Invalid { .. }), "{err}");
    let other = org_with_workspace(&db.store, "other", "other-prod").await;
    settings.default_workspace = &other;
    let err = db
        .store
        .configure_sso(&scope, &settings, &vault, event("sso.configure"))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Invalid { .. }), "{err}");
}

#[tokio::test]
async fn v3_5_sign_in_in_flight_is_single_use_expires_and_keeps_no_plain_state() {
    let db = common::open().await;
    let vault = vault();
    let scope = org_with_workspace(&db.store, "acme", "acme-prod").await;
    let config = configure(&db.store, &scope, &vault).await;
    let state = "state-0123456789abcdef0123456789abcdef";
    let nonce = "nonce-0123456789abcdef0123456789abcdef";
    let verifier = "verifier-0123456789abcdef0123456789abcdef0123456789";
    let login = NewSsoLogin {
        organization_id: &config.organization_id,
        state,
        nonce,
        pkce_verifier: verifier,
        redirect_uri: "https://rampart.example/sso/callback",
    };
    db.store.begin_sso_login(&login, &vault).await.unwrap();
    let stored = raw(
        &db,
        "SELECT state_hash || nonce_hash || pkce_verifier FROM sso_logins",
    )
    .await;
    for secret in [state, nonce, verifier] {
        assert!(!stored[0].contains(secret));
    }
    let taken = db
        .store
        .take_sso_login(state, &vault)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(taken.pkce_verifier, verifier);
    assert_eq!(taken.nonce_hash, sso_nonce_hash(nonce));
    assert_eq!(taken.organization_id, config.organization_id);
    assert!(
        db.store
            .take_sso_login(state, &vault)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        db.store
            .take_sso_login("unknown", &vault)
            .await
            .unwrap()
            .is_none()
    );

    // Expired after 10 minutes.
    let state2 = "state2-0123456789abcdef0123456789abcdef";
    let login = NewSsoLogin {
        state: state2,
        ..login
    };
    db.store.begin_sso_login(&login, &vault).await.unwrap();
    db.admin_exec(&["UPDATE sso_logins SET expires_at = '2000-01-01T00:00:00.000000Z'"])
        .await;
    assert!(
        db.store
            .take_sso_login(state2, &vault)
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn v3_5_jit_sign_in_creates_user_once_and_refuses_foreign_accounts() {
    let db = common::open().await;
    let vault = vault();
    let scope = org_with_workspace(&db.store, "acme", "acme-prod").await;
    let config = configure(&db.store, &scope, &vault).await;
    let id = |sub: &'static str, email: &'static str| SsoIdentity {
        issuer: ISSUER,
        subject: sub,
        email,
    };

    // Domain not allowed: refused, nobody created.
    let err = db
        .store
        .sso_sign_in(&config, &id("s0", "eve@evil.com"), event("auth.sso_login"))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Forbidden(_)));
    assert!(
        db.store
            .user_by_email("eve@evil.com")
            .await
            .unwrap()
            .is_none()
    );

    // New user: created, joins as viewer; the second time neither happens again.
    let first = db
        .store
        .sso_sign_in(
            &config,
            &id("s1", "Carol@Example.com"),
            event("auth.sso_login"),
        )
        .await
        .unwrap();
    assert!(first.created);
    assert_eq!(first.joined, Some(Role::Viewer));
    assert_eq!(first.user.email, "carol@example.com");
    let again = db
        .store
        .sso_sign_in(
            &config,
            &id("s1", "carol@example.com"),
            event("auth.sso_login"),
        )
        .await
        .unwrap();
    assert!(!again.created);
    assert_eq!(again.joined, None);
    assert_eq!(again.user.id, first.user.id);
    let members = db.store.list_members(&scope).await.unwrap();
    assert_eq!(members.len(), 1);
    assert_eq!(members[0].role, Role::Viewer);
    let installation = db
        .store
        .installation_audit_log(
            &AuditFilter {
                action: Some("user.sso_create".into()),
                ..Default::default()
            },
            Page::new(10, 0),
        )
        .await
        .unwrap();
    assert_eq!(installation.total, 1);

    // An existing account of another tenant with an allowed email: refused, not linked.
    let other = org_with_workspace(&db.store, "other", "other-prod").await;
    let dave = db
        .store
        .create_user("dave@example.com", "dave correct horse battery")
        .await
        .unwrap();
    db.store
        .set_membership(&other, &dave.id, Role::Owner)
        .await
        .unwrap();
    let err = db
        .store
        .sso_sign_in(
            &config,
            &id("s2", "dave@example.com"),
            event("auth.sso_login"),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Forbidden(_)), "{err}");
    assert!(
        db.store
            .workspaces_of_user(&dave.id)
            .await
            .unwrap()
            .iter()
            .all(|(w, _)| w.slug == "other-prod")
    );
    // Once a member of the organization, the account is linked and keeps its role.
    db.store
        .set_membership(&scope, &dave.id, Role::Admin)
        .await
        .unwrap();
    let linked = db
        .store
        .sso_sign_in(
            &config,
            &id("s2", "dave@example.com"),
            event("auth.sso_login"),
        )
        .await
        .unwrap();
    assert_eq!(linked.user.id, dave.id);
    assert!(!linked.created);
    assert_eq!(linked.joined, None);
    let roles = db.store.list_members(&scope).await.unwrap();
    assert_eq!(
        roles.iter().find(|m| m.user_id == dave.id).unwrap().role,
        Role::Admin
    );
    for report in db.store.verify_audit().await.unwrap() {
        assert!(report.first_bad.is_none(), "{report:?}");
    }
}

/// Key rotation re-seals the SSO client secret (and PKCE verifiers in flight) under the new key.
#[tokio::test]
async fn v8_3_key_rotation_reseals_sso_secrets() {
    let db = common::open().await;
    let old_line = Vault::generate_key_line("k1");
    let old = Vault::from_key_text(&old_line, "test").unwrap();
    let scope = org_with_workspace(&db.store, "acme", "acme-prod").await;
    let config = configure(&db.store, &scope, &old).await;
    let login = NewSsoLogin {
        organization_id: &config.organization_id,
        state: "state-0123456789abcdef0123456789abcdef",
        nonce: "nonce-0123456789abcdef0123456789abcdef",
        pkce_verifier: "verifier-0123456789abcdef0123456789abcdef0123456789",
        redirect_uri: "https://rampart.example/sso/callback",
    };
    db.store.begin_sso_login(&login, &old).await.unwrap();
    let new = Vault::from_key_text(
        &format!("{}\n{old_line}\n", Vault::generate_key_line("k2")),
        "test",
    )
    .unwrap();
    let n = db
        .store
        .reseal_secrets(&new, event("vault.rotate"))
        .await
        .unwrap();
    assert_eq!(n, 2);
    // Sealed text now names the new key.
    let sealed = raw(&db, "SELECT client_secret FROM sso_configs").await;
    assert!(sealed[0].starts_with("v1:k2:"), "{}", sealed[0]);
    assert_eq!(
        db.store
            .sso_client_secret(&config.organization_id, &new)
            .await
            .unwrap(),
        SECRET
    );
    let taken = db
        .store
        .take_sso_login(login.state, &new)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(taken.pkce_verifier, login.pkce_verifier);
}
