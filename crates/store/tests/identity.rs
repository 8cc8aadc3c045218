//! Identity in the store: API tokens, invitations, password resets, TOTP and recovery codes,
//! throttling, support grants, the permission matrix on scopes, and the vault.
#![allow(clippy::unwrap_used)]

mod common;

use chrono::{TimeDelta, Utc};
use rampart_store::audit::{ActorKind, AuditEvent, Outcome};
use rampart_store::{
    Access, MAX_FAILED_LOGINS_PER_ACCOUNT, MAX_FAILED_LOGINS_PER_ADDRESS, Permission, Role, Store,
    StoreError, Throttle, Vault, WorkspaceScope, totp,
};

fn ev(action: &str) -> AuditEvent {
    AuditEvent::new(action, Outcome::Success).actor(ActorKind::User, "usr_x", "x@example.com")
}

const PW: &str = "violet kettle harbour";

async fn member(
    store: &Store,
    slug: &str,
    email: &str,
    role: Role,
) -> (rampart_store::User, WorkspaceScope) {
    if store.workspace_by_slug(slug).await.unwrap().is_none() {
        common::workspace(store, slug).await;
    }
    let user = store.create_user(email, PW).await.unwrap();
    let local = store.operator_scope(slug).await.unwrap().unwrap();
    store.set_membership(&local, &user.id, role).await.unwrap();
    let scope = store.member_scope(slug, &user.id).await.unwrap().unwrap();
    (user, scope)
}

async fn sql(db: &common::TestDb, q: &str) {
    db.admin_exec(&[q]).await;
}

#[tokio::test]
async fn api_tokens_are_hashed_scoped_expiring_and_revocable() {
    let db = common::open().await;
    let (_, owner) = member(&db.store, "acme", "o@example.com", Role::Owner).await;
    let (token, secret) = db
        .store
        .create_api_token(
            &owner,
            "ci",
            Role::Analyst,
            Utc::now() + TimeDelta::days(7),
            ev("token.create"),
        )
        .await
        .unwrap();
    assert!(secret.starts_with("rpt_") && secret.len() >= 47);
    // Stored only as a hash.
    let bytes = db.db_bytes();
    assert!(!bytes.windows(secret.len()).any(|w| w == secret.as_bytes()));
    let (scope, found) = db.store.token_scope(&secret).await.unwrap().unwrap();
    assert_eq!(scope.slug(), "acme");
    assert_eq!(scope.role(), Some(Role::Analyst));
    assert!(scope.allows(Permission::RunScans) && !scope.allows(Permission::ManageMembers));
    assert_eq!(found.id, token.id);
    let listed = db.store.list_api_tokens(&owner).await.unwrap();
    assert!(listed[0].last_used_at.is_some());
    assert!(db.store.token_scope("rpt_nope").await.unwrap().is_none());
    // An analyst cannot mint tokens; an admin cannot mint owner tokens.
    let (_, analyst) = member(&db.store, "acme", "a@example.com", Role::Analyst).await;
    assert!(matches!(
        db.store
            .create_api_token(
                &analyst,
                "x",
                Role::Viewer,
                Utc::now() + TimeDelta::days(1),
                ev("token.create")
            )
            .await,
        Err(StoreError::Forbidden(_))
    ));
    let (_, admin) = member(&db.store, "acme", "ad@example.com", Role::Admin).await;
    assert!(matches!(
        db.store
            .create_api_token(
                &admin,
                "x",
                Role::Owner,
                Utc::now() + TimeDelta::days(1),
                ev("token.create")
            )
            .await,
        Err(StoreError::Forbidden(_))
    ));
    // Lifetime bounds.
    assert!(
        db.store
            .create_api_token(
                &owner,
                "x",
                Role::Viewer,
                Utc::now() - TimeDelta::days(1),
                ev("t")
            )
            .await
            .is_err()
    );
    assert!(
        db.store
            .create_api_token(
                &owner,
                "x",
                Role::Viewer,
                Utc::now() + TimeDelta::days(400),
                ev("t")
            )
            .await
            .is_err()
    );
    // Expiry.
    sql(
        &db,
        &format!(
            "UPDATE api_tokens SET expires_at = '2020-01-01T00:00:00.000000Z' WHERE id = '{}'",
            token.id
        ),
    )
    .await;
    assert!(db.store.token_scope(&secret).await.unwrap().is_none());
    // Revocation.
    let (t2, s2) = db
        .store
        .create_api_token(
            &owner,
            "ci2",
            Role::Viewer,
            Utc::now() + TimeDelta::days(7),
            ev("token.create"),
        )
        .await
        .unwrap();
    assert!(db.store.token_scope(&s2).await.unwrap().is_some());
    db.store
        .revoke_api_token(&owner, &t2.id, ev("token.revoke"))
        .await
        .unwrap();
    assert!(db.store.token_scope(&s2).await.unwrap().is_none());
}

#[tokio::test]
async fn invitations_are_single_use_expiring_and_bound_to_the_email() {
    let db = common::open().await;
    let (_, admin) = member(&db.store, "acme", "admin@example.com", Role::Admin).await;
    assert!(matches!(
        db.store
            .create_invitation(&admin, "x@example.com", Role::Owner, ev("member.invite"))
            .await,
        Err(StoreError::Forbidden(_))
    ));
    let (inv, token) = db
        .store
        .create_invitation(
            &admin,
            "New@Example.com",
            Role::Analyst,
            ev("member.invite"),
        )
        .await
        .unwrap();
    assert_eq!(inv.email, "new@example.com");
    let stranger = db
        .store
        .create_user("stranger@example.com", PW)
        .await
        .unwrap();
    assert!(matches!(
        db.store
            .accept_invitation(&token, &stranger, ev("invitation.accept"))
            .await,
        Err(StoreError::Forbidden(_))
    ));
    let invited = db.store.create_user("new@example.com", PW).await.unwrap();
    let ws = db
        .store
        .accept_invitation(&token, &invited, ev("invitation.accept"))
        .await
        .unwrap();
    assert_eq!(ws.slug, "acme");
    let scope = db
        .store
        .member_scope("acme", &invited.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(scope.role(), Some(Role::Analyst));
    // Single use.
    assert!(matches!(
        db.store
            .accept_invitation(&token, &invited, ev("invitation.accept"))
            .await,
        Err(StoreError::NotFound { .. })
    ));
    // Expired.
    let (inv2, token2) = db
        .store
        .create_invitation(
            &admin,
            "late@example.com",
            Role::Viewer,
            ev("member.invite"),
        )
        .await
        .unwrap();
    sql(
        &db,
        &format!(
            "UPDATE invitations SET expires_at = '2020-01-01T00:00:00.000000Z' WHERE id = '{}'",
            inv2.id
        ),
    )
    .await;
    let late = db.store.create_user("late@example.com", PW).await.unwrap();
    assert!(
        db.store
            .accept_invitation(&token2, &late, ev("invitation.accept"))
            .await
            .is_err()
    );
    assert!(
        db.store
            .member_scope("acme", &late.id)
            .await
            .unwrap()
            .is_none()
    );
}

/// An invitation link for someone without an account creates the account and the membership
/// in one transaction: preview uses nothing; a used, expired or unknown code, a weak password or
/// an email that already has an account leave no user and no membership behind.
#[tokio::test]
async fn a_new_account_from_an_invitation_is_all_or_nothing() {
    let db = common::open().await;
    let (_, admin) = member(&db.store, "acme", "admin@example.com", Role::Admin).await;
    let (inv, token) = db
        .store
        .create_invitation(
            &admin,
            "fresh@example.com",
            Role::Analyst,
            ev("member.invite"),
        )
        .await
        .unwrap();
    let preview = db.store.invitation_preview(&token).await.unwrap().unwrap();
    assert_eq!(
        (
            preview.email.as_str(),
            preview.role,
            preview.workspace.slug.as_str()
        ),
        ("fresh@example.com", Role::Analyst, "acme")
    );
    assert!(db.store.invitation_preview("nope").await.unwrap().is_none());
    // A weak password: refused before anything is written.
    assert!(matches!(
        db.store
            .accept_invitation_with_new_account(&token, "short", ev("invitation.accept"))
            .await,
        Err(StoreError::Invalid { .. })
    ));
    assert!(
        db.store
            .user_by_email("fresh@example.com")
            .await
            .unwrap()
            .is_none()
    );
    let (ws, user) = db
        .store
        .accept_invitation_with_new_account(&token, PW, ev("invitation.accept"))
        .await
        .unwrap();
    assert_eq!(
        (ws.slug.as_str(), user.email.as_str()),
        ("acme", "fresh@example.com")
    );
    let scope = db
        .store
        .member_scope("acme", &user.id)
        .await
        .unwrap()
        .unwrap();
    assert!(
        scope.allows(rampart_store::Permission::ManageFindings),
        "analyst"
    );
    assert!(
        db.store
            .verify_password("fresh@example.com", PW)
            .await
            .unwrap()
            .is_some()
    );
    // Spent: a second use creates nothing, and the preview is gone.
    assert!(db.store.invitation_preview(&token).await.unwrap().is_none());
    assert!(matches!(
        db.store
            .accept_invitation_with_new_account(&token, PW, ev("invitation.accept"))
            .await,
        Err(StoreError::NotFound { .. })
    ));
    let _ = inv;

    // An email that already has an account: the transaction rolls back (no membership, the
    // invitation still open for the owner of that account to accept signed in).
    let taken = db.store.create_user("taken@example.com", PW).await.unwrap();
    let (_, token2) = db
        .store
        .create_invitation(
            &admin,
            "taken@example.com",
            Role::Viewer,
            ev("member.invite"),
        )
        .await
        .unwrap();
    assert!(matches!(
        db.store
            .accept_invitation_with_new_account(
                &token2,
                "another long enough password",
                ev("invitation.accept")
            )
            .await,
        Err(StoreError::Conflict { .. })
    ));
    assert!(
        db.store
            .member_scope("acme", &taken.id)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        db.store
            .invitation_preview(&token2)
            .await
            .unwrap()
            .is_some(),
        "not used"
    );
    assert!(
        db.store
            .verify_password("taken@example.com", PW)
            .await
            .unwrap()
            .is_some(),
        "password unchanged"
    );
}

#[tokio::test]
async fn password_resets_are_single_use_and_expiring_and_end_sessions() {
    let db = common::open().await;
    let user = db.store.create_user("r@example.com", PW).await.unwrap();
    let session = db.store.create_session(&user.id).await.unwrap();
    assert!(
        db.store
            .create_password_reset("nobody@example.com", ev("r"))
            .await
            .unwrap()
            .is_none()
    );
    let (_, token) = db
        .store
        .create_password_reset("r@example.com", ev("r"))
        .await
        .unwrap()
        .unwrap();
    // The new password must meet the policy.
    assert!(
        db.store
            .reset_password(&token, "password1234", ev("r"))
            .await
            .is_err()
    );
    let done = db
        .store
        .reset_password(&token, "amber lantern orchard", ev("r"))
        .await
        .unwrap();
    assert_eq!(done.unwrap().id, user.id);
    assert!(
        db.store.session(&session.token).await.unwrap().is_none(),
        "sessions end"
    );
    assert!(
        db.store
            .verify_password("r@example.com", "amber lantern orchard")
            .await
            .unwrap()
            .is_some()
    );
    // Single use.
    assert!(
        db.store
            .reset_password(&token, "another fine password", ev("r"))
            .await
            .unwrap()
            .is_none()
    );
    // Expired.
    let (_, token2) = db
        .store
        .create_password_reset("r@example.com", ev("r"))
        .await
        .unwrap()
        .unwrap();
    sql(&db, "UPDATE password_resets SET expires_at = '2020-01-01T00:00:00.000000Z' WHERE used_at IS NULL").await;
    assert!(
        db.store
            .reset_password(&token2, "another fine password", ev("r"))
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn v2_8_totp_codes_work_once_and_recovery_codes_are_single_use() {
    let db = common::open().await;
    let vault = Vault::from_key_text(&Vault::generate_key_line("k1"), "test").unwrap();
    let user = db.store.create_user("m@example.com", PW).await.unwrap();
    assert!(!db.store.mfa_enabled(&user.id).await.unwrap());
    let secret = db.store.begin_totp(&user.id, &vault).await.unwrap();
    let now = Utc::now().timestamp();
    let wrong = if totp::totp_at(totp::TotpAlgorithm::Sha1, &secret, now, 6) == "000000" {
        "111111"
    } else {
        "000000"
    };
    assert!(
        db.store
            .confirm_totp(&user.id, wrong, &vault, ev("mfa"))
            .await
            .unwrap()
            .is_none()
    );
    let code = totp::totp_at(totp::TotpAlgorithm::Sha1, &secret, now, 6);
    let recovery = db
        .store
        .confirm_totp(&user.id, &code, &vault, ev("mfa"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(recovery.len(), 10);
    assert!(db.store.mfa_enabled(&user.id).await.unwrap());
    // The code just used is refused (replay), also at sign-in.
    assert!(
        !db.store
            .verify_second_factor(&user.id, &code, &vault)
            .await
            .unwrap()
    );
    // The next step's code is accepted once (±1 step).
    let next = totp::totp_at(totp::TotpAlgorithm::Sha1, &secret, now + 30, 6);
    assert!(
        db.store
            .verify_second_factor(&user.id, &next, &vault)
            .await
            .unwrap()
    );
    assert!(
        !db.store
            .verify_second_factor(&user.id, &next, &vault)
            .await
            .unwrap()
    );
    // Recovery codes: each works once; stored only hashed.
    assert!(
        db.store
            .verify_second_factor(&user.id, &recovery[0], &vault)
            .await
            .unwrap()
    );
    assert!(
        !db.store
            .verify_second_factor(&user.id, &recovery[0], &vault)
            .await
            .unwrap()
    );
    assert!(
        db.store
            .verify_second_factor(&user.id, &recovery[1].to_uppercase(), &vault)
            .await
            .unwrap()
    );
    // The seed is sealed: it does not open with another key.
    let other = Vault::from_key_text(&Vault::generate_key_line("k1"), "test").unwrap();
    assert!(
        db.store
            .verify_second_factor(&user.id, "123456", &other)
            .await
            .is_err()
    );
    db.store.disable_totp(&user.id, ev("mfa")).await.unwrap();
    assert!(!db.store.mfa_enabled(&user.id).await.unwrap());
}

#[tokio::test]
async fn v2_2_1_throttling_counts_per_account_across_addresses_and_per_address() {
    let db = common::open().await;
    for i in 0..MAX_FAILED_LOGINS_PER_ACCOUNT {
        assert_eq!(
            db.store
                .login_throttled("v@example.com", &format!("10.0.0.{i}"))
                .await
                .unwrap(),
            None
        );
        db.store
            .record_login_failure(
                "V@example.com",
                &format!("10.0.0.{i}"),
                ev("auth.login").outcome(Outcome::Failure),
            )
            .await
            .unwrap();
    }
    // Spread over many addresses, the account is throttled anyway, from any address.
    assert_eq!(
        db.store
            .login_throttled("v@example.com", "203.0.113.9")
            .await
            .unwrap(),
        Some(Throttle::Account)
    );
    assert_eq!(
        db.store
            .login_throttled("w@example.com", "203.0.113.9")
            .await
            .unwrap(),
        None
    );
    // One address failing on many accounts is throttled for every account.
    for i in 0..MAX_FAILED_LOGINS_PER_ADDRESS {
        db.store
            .record_login_failure(
                &format!("u{i}@example.com"),
                "198.51.100.1",
                ev("auth.login").outcome(Outcome::Failure),
            )
            .await
            .unwrap();
    }
    assert_eq!(
        db.store
            .login_throttled("fresh@example.com", "198.51.100.1")
            .await
            .unwrap(),
        Some(Throttle::Address)
    );
}

#[tokio::test]
async fn support_grants_are_requested_granted_bounded_read_only_and_revocable() {
    let db = common::open().await;
    let (_, owner) = member(&db.store, "acme", "owner@example.com", Role::Owner).await;
    let (_, viewer) = member(&db.store, "acme", "viewer@example.com", Role::Viewer).await;
    let op = db
        .store
        .create_user("op@rampart.example", PW)
        .await
        .unwrap();
    let not_op = db
        .store
        .create_user("mallory@example.com", PW)
        .await
        .unwrap();
    assert!(matches!(
        db.store
            .request_support(&not_op, "acme", "please", ev("support.request"))
            .await,
        Err(StoreError::Forbidden(_))
    ));
    db.store
        .set_operator(&op.id, true, ev("user.operator"))
        .await
        .unwrap();
    // Operators are no members: no scope without a grant.
    assert!(
        db.store
            .member_scope("acme", &op.id)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        db.store
            .support_scope("acme", &op.id)
            .await
            .unwrap()
            .is_none()
    );
    let req = db
        .store
        .request_support(
            &op,
            "acme",
            "ticket 42: findings look wrong",
            ev("support.request"),
        )
        .await
        .unwrap();
    assert!(
        db.store
            .support_scope("acme", &op.id)
            .await
            .unwrap()
            .is_none(),
        "requested is not granted"
    );
    // Only owners/admins grant; at most 72 h.
    assert!(
        db.store
            .grant_support(
                &viewer,
                &req.id,
                "ok",
                Utc::now() + TimeDelta::hours(1),
                ev("support.grant")
            )
            .await
            .is_err()
    );
    assert!(
        db.store
            .grant_support(
                &owner,
                &req.id,
                "ok",
                Utc::now() + TimeDelta::hours(73),
                ev("support.grant")
            )
            .await
            .is_err()
    );
    let g = db
        .store
        .grant_support(
            &owner,
            &req.id,
            "ticket 42",
            Utc::now() + TimeDelta::hours(72) - TimeDelta::minutes(1),
            ev("support.grant"),
        )
        .await
        .unwrap();
    assert!(g.is_active(Utc::now()));
    let scope = db
        .store
        .support_scope("acme", &op.id)
        .await
        .unwrap()
        .unwrap();
    assert!(matches!(scope.access(), Access::Support { .. }));
    assert_eq!(scope.grant_id(), Some(req.id.as_str()));
    for p in Permission::ALL {
        assert_eq!(scope.allows(p), p == Permission::ReadData, "{p:?}");
    }
    // Only that workspace.
    common::workspace(&db.store, "other").await;
    assert!(
        db.store
            .support_scope("other", &op.id)
            .await
            .unwrap()
            .is_none()
    );
    // Revoked: refused at once.
    db.store
        .revoke_support(&owner, &req.id, ev("support.revoke"))
        .await
        .unwrap();
    assert!(
        db.store
            .support_scope("acme", &op.id)
            .await
            .unwrap()
            .is_none()
    );
    // Expired: refused.
    let req2 = db
        .store
        .request_support(&op, "acme", "again", ev("support.request"))
        .await
        .unwrap();
    db.store
        .grant_support(
            &owner,
            &req2.id,
            "again",
            Utc::now() + TimeDelta::hours(1),
            ev("support.grant"),
        )
        .await
        .unwrap();
    assert!(
        db.store
            .support_scope("acme", &op.id)
            .await
            .unwrap()
            .is_some()
    );
    sql(
        &db,
        &format!(
            "UPDATE support_grants SET expires_at = '2020-01-01T00:00:00.000000Z' WHERE id = '{}'",
            req2.id
        ),
    )
    .await;
    assert!(
        db.store
            .support_scope("acme", &op.id)
            .await
            .unwrap()
            .is_none()
    );
    // An operator who loses the capability loses the grant too.
    let req3 = db
        .store
        .request_support(&op, "acme", "third", ev("support.request"))
        .await
        .unwrap();
    db.store
        .grant_support(
            &owner,
            &req3.id,
            "third",
            Utc::now() + TimeDelta::hours(1),
            ev("support.grant"),
        )
        .await
        .unwrap();
    db.store
        .set_operator(&op.id, false, ev("user.operator"))
        .await
        .unwrap();
    assert!(
        db.store
            .support_scope("acme", &op.id)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(db.store.list_support_grants(&owner).await.unwrap().len(), 3);
}

#[tokio::test]
async fn connector_secrets_are_sealed_write_only_and_survive_key_rotation() {
    let db = common::open().await;
    let (_, admin) = member(&db.store, "acme", "admin@example.com", Role::Admin).await;
    let (_, viewer) = member(&db.store, "acme", "viewer@example.com", Role::Viewer).await;
    let old_line = Vault::generate_key_line("old");
    let vault = Vault::from_key_text(&old_line, "t").unwrap();
    let canary = "wJalrXUtnFEMI/K7MDENG/CANARYSECRET0001";
    let secret =
        serde_json::json!({ "access_key_id": "AKIACANARY0001", "secret_access_key": canary })
            .to_string();
    assert!(
        db.store
            .create_connector(
                &viewer,
                "prod",
                "aws",
                &serde_json::json!({}),
                secret.as_bytes(),
                &vault,
                ev("c")
            )
            .await
            .is_err()
    );
    let c = db
        .store
        .create_connector(
            &admin,
            "prod",
            "aws",
            &serde_json::json!({"role_arn": "arn:aws:iam::1:role/r"}),
            secret.as_bytes(),
            &vault,
            ev("connector.create"),
        )
        .await
        .unwrap();
    assert_eq!(c.key_id, "old");
    let listed = serde_json::to_string(&db.store.list_connectors(&viewer).await.unwrap()).unwrap();
    assert!(!listed.contains(canary) && listed.contains("role_arn"));
    let raw = db.db_bytes();
    assert!(!raw.windows(canary.len()).any(|w| w == canary.as_bytes()));
    assert_eq!(
        db.store
            .connector_secret(&admin, &c.id, &vault)
            .await
            .unwrap(),
        secret.as_bytes()
    );
    assert!(
        db.store
            .connector_secret(&viewer, &c.id, &vault)
            .await
            .is_err()
    );
    // Rotation: a new current key; every secret re-sealed; the old key is then unneeded.
    let new_line = Vault::generate_key_line("new");
    let rotated = Vault::from_key_text(&format!("{new_line}\n{old_line}"), "t").unwrap();
    let n = db
        .store
        .reseal_secrets(&rotated, ev("vault.rotate"))
        .await
        .unwrap();
    assert_eq!(n, 1);
    assert_eq!(
        db.store.list_connectors(&admin).await.unwrap()[0].key_id,
        "new"
    );
    let new_only = Vault::from_key_text(&new_line, "t").unwrap();
    assert_eq!(
        db.store
            .connector_secret(&admin, &c.id, &new_only)
            .await
            .unwrap(),
        secret.as_bytes()
    );
    assert!(
        db.store
            .connector_secret(&admin, &c.id, &vault)
            .await
            .is_err(),
        "the old key alone no longer opens it"
    );
}

#[tokio::test]
async fn last_owner_stays_and_admins_cannot_make_owners() {
    let db = common::open().await;
    let (o, owner) = member(&db.store, "acme", "owner@example.com", Role::Owner).await;
    let (v, admin) = member(&db.store, "acme", "admin@example.com", Role::Admin).await;
    assert!(
        db.store
            .change_member_role(&owner, &o.id, Role::Viewer, ev("m"))
            .await
            .is_err()
    );
    assert!(
        db.store
            .remove_member(&owner, &o.id, ev("m"))
            .await
            .is_err()
    );
    assert!(matches!(
        db.store
            .change_member_role(&admin, &v.id, Role::Owner, ev("m"))
            .await,
        Err(StoreError::Forbidden(_))
    ));
    assert!(matches!(
        db.store
            .change_member_role(&admin, &o.id, Role::Viewer, ev("m"))
            .await,
        Err(StoreError::Forbidden(_))
    ));
    db.store
        .change_member_role(&owner, &v.id, Role::Owner, ev("m"))
        .await
        .unwrap();
    db.store
        .change_member_role(&owner, &o.id, Role::Viewer, ev("m"))
        .await
        .unwrap();
    let members = db.store.list_members(&owner).await.unwrap();
    assert_eq!(members.iter().filter(|m| m.role == Role::Owner).count(), 1);
}

/// docs/security/permissions.md shows the matrix the code enforces.
#[test]
fn permission_matrix_is_documented() {
    let doc = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/security/permissions.md"
    ))
    .expect("docs/security/permissions.md");
    let matrix = rampart_store::matrix_markdown();
    assert!(
        doc.contains(&matrix),
        "docs/security/permissions.md must contain exactly:\n{matrix}"
    );
}

/// First uses of API tokens record `last_used_at` while other connections write: every one must
/// succeed. (Found by schemathesis: the update ran in the transaction that had read the token,
/// and SQLite refuses to upgrade a reader whose snapshot another writer has moved past —
/// `SQLITE_BUSY_SNAPSHOT` — so requests failed with 500.)
#[tokio::test]
async fn token_first_use_succeeds_while_others_write() {
    let db = common::open().await;
    let (_, owner) = member(&db.store, "acme", "o@example.com", Role::Owner).await;
    let mut secrets = Vec::new();
    for i in 0..24 {
        let (_, secret) = db
            .store
            .create_api_token(
                &owner,
                &format!("t{i}"),
                Role::Viewer,
                Utc::now() + TimeDelta::days(1),
                ev("token.create"),
            )
            .await
            .unwrap();
        secrets.push(secret);
    }
    let mut tasks = tokio::task::JoinSet::new();
    for (i, secret) in secrets.into_iter().enumerate() {
        let store = db.store.clone();
        tasks.spawn(async move {
            store
                .token_scope(&secret)
                .await
                .map(|found| assert!(found.is_some()))
        });
        let store = db.store.clone();
        tasks.spawn(async move {
            store
                .create_user(&format!("w{i}@example.com"), PW)
                .await
                .map(|_| ())
        });
    }
    while let Some(result) = tasks.join_next().await {
        result.unwrap().unwrap();
    }
    let listed = db.store.list_api_tokens(&owner).await.unwrap();
    assert!(listed.iter().all(|t| t.last_used_at.is_some()));
}

/// `rampart selfcheck`'s MFA requirement: owners, admins and operators without TOTP, across
/// workspaces; on PostgreSQL as the application role, each workspace read under its own scope.
#[tokio::test]
async fn privileged_accounts_without_mfa_are_listed_across_workspaces() {
    let db = common::open().await;
    let vault = Vault::from_key_text(&Vault::generate_key_line("k1"), "test").unwrap();
    member(&db.store, "alpha", "owner-a@example.com", Role::Owner).await;
    member(&db.store, "alpha", "analyst-a@example.com", Role::Analyst).await;
    let (admin_b, _) = member(&db.store, "beta", "admin-b@example.com", Role::Admin).await;
    member(&db.store, "beta", "viewer-b@example.com", Role::Viewer).await;
    let op = db.store.create_user("op@example.com", PW).await.unwrap();
    db.store.set_operator(&op.id, true, ev("op")).await.unwrap();
    let beta = db.store.operator_scope("beta").await.unwrap().unwrap();
    db.store
        .set_require_mfa(&beta, true, ev("require"))
        .await
        .unwrap();

    let gaps = db.store.privileged_without_mfa().await.unwrap();
    let seen: Vec<_> = gaps
        .iter()
        .map(|g| (g.email.as_str(), g.workspace.as_deref(), g.role.as_str()))
        .collect();
    assert_eq!(
        seen,
        vec![
            ("owner-a@example.com", Some("alpha"), "owner"),
            ("admin-b@example.com", Some("beta"), "admin"),
            ("op@example.com", None, "operator"),
        ]
    );
    assert!(!gaps[0].workspace_requires_mfa && gaps[1].workspace_requires_mfa);

    // Enrolling removes the account from the list.
    let secret = db.store.begin_totp(&admin_b.id, &vault).await.unwrap();
    let code = totp::totp_at(
        totp::TotpAlgorithm::Sha1,
        &secret,
        Utc::now().timestamp(),
        6,
    );
    db.store
        .confirm_totp(&admin_b.id, &code, &vault, ev("mfa"))
        .await
        .unwrap()
        .unwrap();
    let emails: Vec<_> = db
        .store
        .privileged_without_mfa()
        .await
        .unwrap()
        .into_iter()
        .map(|g| g.email)
        .collect();
    assert_eq!(emails, ["owner-a@example.com", "op@example.com"]);
}

/// Saved inventory queries: per workspace, unique names, bounded, audited, only by those who
/// manage findings; another workspace never sees them (on PostgreSQL, under row-level security).
#[tokio::test]
async fn saved_queries_are_per_workspace_unique_and_audited() {
    let db = common::open().await;
    let (_, analyst) = member(&db.store, "alpha", "ana@example.com", Role::Analyst).await;
    let (_, viewer) = member(&db.store, "alpha", "vic@example.com", Role::Viewer).await;
    let (_, other) = member(&db.store, "beta", "bea@example.com", Role::Owner).await;
    let q = db
        .store
        .save_query(
            &analyst,
            "prod buckets",
            "resource.tags.env == 'prod'",
            ev("query.save"),
        )
        .await
        .unwrap();
    assert!(q.id.starts_with("qry_"));
    assert!(matches!(
        db.store
            .save_query(&analyst, "prod buckets", "true", ev("query.save"))
            .await,
        Err(StoreError::Conflict { .. })
    ));
    assert!(matches!(
        db.store
            .save_query(&analyst, " ", "true", ev("query.save"))
            .await,
        Err(StoreError::Invalid { field: "name", .. })
    ));
    assert!(matches!(
        db.store
            .save_query(&viewer, "mine", "true", ev("query.save"))
            .await,
        Err(StoreError::Forbidden(_))
    ));
    let listed = db.store.saved_queries(&viewer).await.unwrap();
    assert_eq!(
        listed
            .iter()
            .map(|s| (&s.id, &s.name, &s.query))
            .collect::<Vec<_>>(),
        vec![(&q.id, &q.name, &q.query)]
    );
    assert!(db.store.saved_queries(&other).await.unwrap().is_empty());
    assert!(matches!(
        db.store
            .delete_saved_query(&other, &q.id, ev("query.delete"))
            .await,
        Err(StoreError::NotFound { .. })
    ));
    db.store
        .delete_saved_query(&analyst, &q.id, ev("query.delete"))
        .await
        .unwrap();
    assert!(db.store.saved_queries(&analyst).await.unwrap().is_empty());
    let (_, owner) = member(&db.store, "alpha", "own@example.com", Role::Owner).await;
    let log = db
        .store
        .scoped(&owner)
        .audit_log(
            &rampart_store::AuditFilter::default(),
            rampart_store::Page::default(),
        )
        .await
        .unwrap();
    let actions: Vec<&str> = log.items.iter().map(|e| e.event.action.as_str()).collect();
    assert!(
        actions.contains(&"query.save") && actions.contains(&"query.delete"),
        "{actions:?}"
    );
}
