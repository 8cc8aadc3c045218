//! Workspace settings in the web app: members and roles, invitations, API tokens, support-access
//! grants, and the audit log with filters and server-side paging.
//!
//! Every change goes through the same functions as the JSON API (`crate::admin`), which call
//! [`authorize`] with the permission and let the store audit the change in its transaction.
//! Secrets (an API token, an invitation code) are in the response to the POST that made them and
//! nowhere else: the page is rendered directly instead of redirecting.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use chrono::{TimeDelta, Utc};
use rampart_store::{AuditFilter, Page, Permission, Role};
use serde::Deserialize;

use super::{Nav, Pager, UiCaller, UiError, enc, form_date, pager, render, when};
use crate::admin::{self, GrantOut};
use crate::authz::authorize;
use crate::error::ApiError;
use crate::state::AppState;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/w/{ws}/settings", get(settings))
        .route("/w/{ws}/settings/invitations", post(invite))
        .route(
            "/w/{ws}/settings/invitations/{id}/revoke",
            post(revoke_invitation),
        )
        .route("/w/{ws}/settings/sso", post(configure_sso))
        .route("/w/{ws}/settings/tokens", post(create_token))
        .route("/w/{ws}/settings/tokens/{id}/revoke", post(revoke_token))
        .route("/w/{ws}/settings/members/{id}/role", post(change_role))
        .route("/w/{ws}/settings/members/{id}/remove", post(remove_member))
        .route("/w/{ws}/settings/support/{id}/grant", post(grant_support))
        .route("/w/{ws}/settings/support/{id}/revoke", post(revoke_support))
        .route("/w/{ws}/audit", get(audit))
}

const ROLES: [&str; 5] = ["owner", "admin", "analyst", "viewer", "auditor"];

struct RoleOption {
    value: &'static str,
    selected: bool,
}

fn role_options(selected: &str) -> Vec<RoleOption> {
    ROLES
        .iter()
        .map(|r| RoleOption {
            value: r,
            selected: *r == selected,
        })
        .collect()
}

struct MemberRow {
    user_id: String,
    email: String,
    role: String,
    mfa: bool,
    since: String,
    roles: Vec<RoleOption>,
}

struct InvitationRow {
    id: String,
    email: String,
    role: String,
    expires: String,
    state: &'static str,
}

struct TokenRow {
    id: String,
    name: String,
    role: String,
    expires: String,
    last_used: String,
    active: bool,
}

struct GrantRow {
    id: String,
    operator: String,
    note: String,
    requested: String,
    status: String,
    reason: String,
    expires: String,
}

/// A secret shown once, right after it was made.
/// The organization's OIDC settings as the form shows them (never the client secret).
struct SsoView {
    organization: String,
    issuer: String,
    client_id: String,
    domains: String,
    default_workspace: String,
    enabled: bool,
    updated: String,
    updated_by: String,
}

struct ShownOnce {
    what: &'static str,
    secret: String,
}

#[derive(Template)]
#[template(path = "settings.html")]
struct SettingsPage {
    nav: Option<Nav>,
    ws: String,
    csrf: String,
    my_role: String,
    manage_members: bool,
    manage_tokens: bool,
    manage_grants: bool,
    read_audit: bool,
    /// Owners and admins see and change the organization's single sign-on.
    manage_settings: bool,
    sso: Option<SsoView>,
    sso_roles: Vec<RoleOption>,
    sso_error: Option<String>,
    /// The redirect URI to register at the identity provider.
    sso_redirect: String,
    members: Vec<MemberRow>,
    invitations: Vec<InvitationRow>,
    tokens: Vec<TokenRow>,
    grants: Vec<GrantRow>,
    shown_once: Option<ShownOnce>,
    new_roles: Vec<RoleOption>,
    max_token_expiry: String,
    default_token_expiry: String,
    min_expiry: String,
}

async fn settings_page(
    state: &AppState,
    ui: &UiCaller,
    slug: &str,
    shown_once: Option<ShownOnce>,
) -> Result<Response, UiError> {
    settings_page_with(state, ui, slug, shown_once, None).await
}

async fn settings_page_with(
    state: &AppState,
    ui: &UiCaller,
    slug: &str,
    shown_once: Option<ShownOnce>,
    sso_error: Option<String>,
) -> Result<Response, UiError> {
    let ws = authorize(state, &ui.caller, slug, Permission::ReadData)
        .await
        .map_err(|e| ui.fail(e))?;
    let scope = ws.scope();
    let manage_members = scope.allows(Permission::ManageMembers);
    let manage_tokens = scope.allows(Permission::ManageTokens);
    let manage_grants = scope.allows(Permission::ManageSupportGrants);
    let now = Utc::now();
    let members = state
        .store
        .list_members(scope)
        .await?
        .into_iter()
        .map(|m| MemberRow {
            roles: role_options(m.role.as_str()),
            user_id: m.user_id,
            email: m.email,
            role: m.role.as_str().to_owned(),
            mfa: m.mfa_enabled,
            since: when(m.since),
        })
        .collect();
    let invitations = if manage_members {
        state
            .store
            .list_invitations(scope)
            .await?
            .into_iter()
            .map(|i| InvitationRow {
                state: if i.revoked_at.is_some() {
                    "revoked"
                } else if i.accepted_at.is_some() {
                    "accepted"
                } else if i.expires_at <= now {
                    "expired"
                } else {
                    "open"
                },
                id: i.id,
                email: i.email,
                role: i.role.as_str().to_owned(),
                expires: when(i.expires_at),
            })
            .collect()
    } else {
        Vec::new()
    };
    let tokens = if manage_tokens {
        state
            .store
            .list_api_tokens(scope)
            .await?
            .into_iter()
            .map(|t| TokenRow {
                active: t.revoked_at.is_none() && t.expires_at > now,
                id: t.id,
                name: t.name,
                role: t.role.as_str().to_owned(),
                expires: when(t.expires_at),
                last_used: t.last_used_at.map_or_else(|| "never".to_owned(), when),
            })
            .collect()
    } else {
        Vec::new()
    };
    let grants = if manage_grants {
        state
            .store
            .list_support_grants(scope)
            .await?
            .into_iter()
            .map(|g| {
                let g = GrantOut::from(g);
                GrantRow {
                    id: g.id,
                    operator: g.operator_email,
                    note: g.request_note,
                    requested: when(g.requested_at),
                    reason: g.reason.unwrap_or_default(),
                    expires: g.expires_at.map(when).unwrap_or_default(),
                    status: g.status,
                }
            })
            .collect()
    } else {
        Vec::new()
    };
    // SSO is configured per organization: a workspace outside one has no SSO card.
    let manage_settings = scope.allows(Permission::ManageSettings)
        && state.store.organization_of(scope).await?.is_some();
    let sso = if manage_settings {
        crate::sso::sso_config_of(state, &ui.caller, slug, &axum::http::HeaderMap::new())
            .await
            .map_err(|e| ui.fail(e))?
    } else {
        None
    };
    let sso_role = sso
        .as_ref()
        .map_or("viewer", |c| c.default_role.as_str())
        .to_owned();
    let sso = sso.map(|c| SsoView {
        organization: c.organization,
        issuer: c.issuer,
        client_id: c.client_id,
        domains: c.allowed_domains.join(", "),
        default_workspace: c.default_workspace,
        enabled: c.enabled,
        updated: when(c.updated_at),
        updated_by: c.updated_by,
    });
    let day = |d: i64| (now + TimeDelta::days(d)).format("%Y-%m-%d").to_string();
    let page = SettingsPage {
        nav: Some(Nav::new(&ui.auth, Some(slug))),
        ws: slug.to_owned(),
        csrf: ui.auth.0.csrf_token.clone(),
        my_role: scope
            .role()
            .map(|r| r.as_str().to_owned())
            .unwrap_or_else(|| "support (read-only)".to_owned()),
        manage_members,
        manage_tokens,
        manage_grants,
        read_audit: scope.allows(Permission::ReadAudit),
        manage_settings,
        sso,
        sso_roles: role_options(&sso_role)
            .into_iter()
            .filter(|r| r.value != "owner")
            .collect(),
        sso_error,
        sso_redirect: format!("{}{}", state.public_url, crate::sso::SSO_CALLBACK_PATH),
        members,
        invitations,
        tokens,
        grants,
        shown_once,
        new_roles: role_options("viewer"),
        max_token_expiry: day(365),
        default_token_expiry: day(90),
        min_expiry: day(1),
    };
    Ok(render(&page))
}

async fn settings(
    State(state): State<AppState>,
    ui: UiCaller,
    Path(slug): Path<String>,
) -> Result<Response, UiError> {
    settings_page(&state, &ui, &slug, None).await
}

#[derive(Deserialize)]
struct SsoForm {
    issuer: String,
    client_id: String,
    /// Blank keeps the stored secret.
    #[serde(default)]
    client_secret: String,
    /// Comma- or space-separated.
    allowed_domains: String,
    #[serde(default)]
    default_workspace: String,
    default_role: String,
    /// A checkbox: present when ticked.
    #[serde(default)]
    enabled: Option<String>,
}

/// Saves the organization's OIDC settings through the API's function; a refusal is shown on
/// the page next to the form (the values typed are not kept: the secret must not round-trip).
async fn configure_sso(
    State(state): State<AppState>,
    ui: UiCaller,
    headers: axum::http::HeaderMap,
    Path(slug): Path<String>,
    Form(form): Form<SsoForm>,
) -> Result<Response, UiError> {
    let body = crate::sso::SsoConfigIn {
        issuer: form.issuer,
        client_id: form.client_id.trim().to_owned(),
        client_secret: Some(form.client_secret).filter(|s| !s.is_empty()),
        allowed_domains: form
            .allowed_domains
            .split([',', ' ', '\n'])
            .map(str::trim)
            .filter(|d| !d.is_empty())
            .map(str::to_owned)
            .collect(),
        default_workspace: Some(form.default_workspace.trim().to_owned()).filter(|s| !s.is_empty()),
        default_role: role(&form.default_role)?,
        enabled: form.enabled.is_some(),
    };
    match crate::sso::configure(&state, &ui.caller, &slug, body, &headers).await {
        Ok(_) => Ok(back(&slug, "sso")),
        Err(e) if e.status == axum::http::StatusCode::BAD_REQUEST => {
            settings_page_with(&state, &ui, &slug, None, Some(e.message)).await
        }
        Err(e) => Err(ui.fail(e)),
    }
}

fn back(slug: &str, section: &str) -> Response {
    Redirect::to(&format!("/w/{slug}/settings#{section}")).into_response()
}

fn role(value: &str) -> Result<Role, ApiError> {
    value
        .parse()
        .map_err(|_| ApiError::bad_request("unknown role"))
}

#[derive(Deserialize)]
struct InviteForm {
    email: String,
    role: String,
}

async fn invite(
    State(state): State<AppState>,
    ui: UiCaller,
    Path(slug): Path<String>,
    Form(form): Form<InviteForm>,
) -> Result<Response, UiError> {
    let body = admin::NewInvitation {
        email: form.email,
        role: role(&form.role)?,
    };
    let created = admin::invite(&state, &ui.caller, &slug, body)
        .await
        .map_err(|e| ui.fail(e))?;
    let shown = ShownOnce {
        what: "invitation code (also sent by email)",
        secret: created.token,
    };
    settings_page(&state, &ui, &slug, Some(shown)).await
}

async fn revoke_invitation(
    State(state): State<AppState>,
    ui: UiCaller,
    Path((slug, id)): Path<(String, String)>,
) -> Result<Response, UiError> {
    admin::revoke_invitation_of(&state, &ui.caller, &slug, &id)
        .await
        .map_err(|e| ui.fail(e))?;
    Ok(back(&slug, "invitations"))
}

#[derive(Deserialize)]
struct TokenForm {
    name: String,
    role: String,
    expires: String,
}

async fn create_token(
    State(state): State<AppState>,
    ui: UiCaller,
    Path(slug): Path<String>,
    Form(form): Form<TokenForm>,
) -> Result<Response, UiError> {
    let body = admin::NewToken {
        name: form.name,
        role: role(&form.role)?,
        expires_at: form_date("the expiry", &form.expires)?,
    };
    let created = admin::new_token(&state, &ui.caller, &slug, body)
        .await
        .map_err(|e| ui.fail(e))?;
    let shown = ShownOnce {
        what: "API token",
        secret: created.secret,
    };
    settings_page(&state, &ui, &slug, Some(shown)).await
}

async fn revoke_token(
    State(state): State<AppState>,
    ui: UiCaller,
    Path((slug, id)): Path<(String, String)>,
) -> Result<Response, UiError> {
    admin::revoke_token_of(&state, &ui.caller, &slug, &id)
        .await
        .map_err(|e| ui.fail(e))?;
    Ok(back(&slug, "tokens"))
}

#[derive(Deserialize)]
struct RoleForm {
    role: String,
}

async fn change_role(
    State(state): State<AppState>,
    ui: UiCaller,
    Path((slug, id)): Path<(String, String)>,
    Form(form): Form<RoleForm>,
) -> Result<Response, UiError> {
    admin::change_role_of(&state, &ui.caller, &slug, &id, role(&form.role)?)
        .await
        .map_err(|e| ui.fail(e))?;
    Ok(back(&slug, "members"))
}

async fn remove_member(
    State(state): State<AppState>,
    ui: UiCaller,
    Path((slug, id)): Path<(String, String)>,
) -> Result<Response, UiError> {
    admin::remove_member_of(&state, &ui.caller, &slug, &id)
        .await
        .map_err(|e| ui.fail(e))?;
    Ok(back(&slug, "members"))
}

#[derive(Deserialize)]
struct GrantForm {
    reason: String,
    /// Hours of access, 1 to 72.
    hours: i64,
}

async fn grant_support(
    State(state): State<AppState>,
    ui: UiCaller,
    Path((slug, id)): Path<(String, String)>,
    Form(form): Form<GrantForm>,
) -> Result<Response, UiError> {
    if !(1..=72).contains(&form.hours) {
        return Err(ApiError::bad_request("support access lasts 1 to 72 hours").into());
    }
    let body = admin::GrantDecision {
        reason: form.reason,
        expires_at: Utc::now() + TimeDelta::hours(form.hours),
    };
    admin::grant_support_of(&state, &ui.caller, &slug, &id, body)
        .await
        .map_err(|e| ui.fail(e))?;
    Ok(back(&slug, "support"))
}

async fn revoke_support(
    State(state): State<AppState>,
    ui: UiCaller,
    Path((slug, id)): Path<(String, String)>,
) -> Result<Response, UiError> {
    admin::revoke_support_of(&state, &ui.caller, &slug, &id)
        .await
        .map_err(|e| ui.fail(e))?;
    Ok(back(&slug, "support"))
}

// ----- audit log --------------------------------------------------------------------------------

struct AuditRow {
    at: String,
    actor: String,
    actor_kind: &'static str,
    action: String,
    object: String,
    outcome: &'static str,
    address: String,
    grant: String,
}

struct ActorOption {
    id: String,
    label: String,
    selected: bool,
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    nav: Option<Nav>,
    ws: String,
    actors: Vec<ActorOption>,
    action: String,
    from: String,
    to: String,
    rows: Vec<AuditRow>,
    pager: Pager,
}

#[derive(Deserialize)]
struct AuditQuery {
    actor: Option<String>,
    action: Option<String>,
    /// First day (`YYYY-MM-DD`, UTC), inclusive.
    from: Option<String>,
    /// Last day (`YYYY-MM-DD`, UTC), inclusive.
    to: Option<String>,
    offset: Option<u64>,
}

fn non_empty(v: Option<String>) -> Option<String> {
    v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

async fn audit(
    State(state): State<AppState>,
    ui: UiCaller,
    Path(slug): Path<String>,
    Query(q): Query<AuditQuery>,
) -> Result<Response, UiError> {
    let ws = authorize(&state, &ui.caller, &slug, Permission::ReadAudit)
        .await
        .map_err(|e| ui.fail(e))?;
    let actor = non_empty(q.actor);
    let action = non_empty(q.action);
    let from = non_empty(q.from);
    let to = non_empty(q.to);
    let filter = AuditFilter {
        action: action.clone(),
        actor_id: actor.clone(),
        since: from.as_deref().map(|d| form_date("from", d)).transpose()?,
        until: to
            .as_deref()
            .map(|d| form_date("to", d).map(|t| t + TimeDelta::days(1)))
            .transpose()?,
        ..AuditFilter::default()
    };
    let result = ws
        .audit_log(&filter, Page::new(super::PAGE_SIZE, q.offset.unwrap_or(0)))
        .await?;
    let members = state.store.list_members(ws.scope()).await?;
    let mut actors: Vec<ActorOption> = vec![ActorOption {
        id: String::new(),
        label: "anyone".into(),
        selected: actor.is_none(),
    }];
    actors.extend(members.into_iter().map(|m| ActorOption {
        selected: actor.as_deref() == Some(m.user_id.as_str()),
        id: m.user_id,
        label: m.email,
    }));
    let base = format!(
        "/w/{slug}/audit?actor={}&action={}&from={}&to={}",
        enc(actor.as_deref().unwrap_or_default()),
        enc(action.as_deref().unwrap_or_default()),
        enc(from.as_deref().unwrap_or_default()),
        enc(to.as_deref().unwrap_or_default()),
    );
    let page = AuditPage {
        nav: Some(Nav::new(&ui.auth, Some(&slug))),
        pager: pager(&result, &base),
        ws: slug,
        actors,
        action: action.unwrap_or_default(),
        from: from.unwrap_or_default(),
        to: to.unwrap_or_default(),
        rows: result
            .items
            .into_iter()
            .map(|e| {
                let ev = e.event;
                AuditRow {
                    at: e.at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
                    actor: if ev.actor_label.is_empty() {
                        ev.actor_id
                    } else {
                        ev.actor_label
                    },
                    actor_kind: ev.actor_kind.as_str(),
                    action: ev.action,
                    object: if ev.object_type.is_empty() {
                        String::new()
                    } else {
                        format!("{} {}", ev.object_type, ev.object_id)
                    },
                    outcome: ev.outcome.as_str(),
                    address: ev.address,
                    grant: ev.grant_id.unwrap_or_default(),
                }
            })
            .collect(),
    };
    Ok(render(&page))
}
