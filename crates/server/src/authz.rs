//! Who is calling, and what they may do: the one place where requests are authorised.
//!
//! [`Caller`] is extracted from every API request: a session cookie (the browser) or an
//! `Authorization: Bearer rpt_…` API token (automation). [`authorize`] turns a caller, a
//! workspace slug and a [`Permission`] into a [`WorkspaceStore`], or an error:
//!
//! - 401 when there is no valid session or token (an MFA-pending session counts as none);
//! - 404 when the workspace does not exist **or** the caller has no access to it (members,
//!   the token's own workspace, or an operator's active support grant) — the two cannot be told
//!   apart;
//! - 403 when the access does not allow the permission (role matrix in
//!   `rampart_store::Permission`, read-only for support access), when the workspace requires MFA
//!   and the user has none, or when an administrative permission is asked of a session that has
//!   not passed its enrolled second factor. Every 403 is audited (outcome `denied`).
//!
//! Every request made under a support grant is audited with the grant id.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use rampart_store::audit::{ActorKind, AuditEvent, Outcome};
use rampart_store::{Access, ApiToken, Permission, Session, WorkspaceScope, WorkspaceStore};

use crate::error::ApiError;
use crate::security::{SESSION_COOKIE, cookie};
use crate::state::AppState;

/// Where a request came from, for the audit log.
#[derive(Debug, Clone, Default)]
pub(crate) struct ClientMeta {
    pub address: String,
    pub user_agent: String,
    pub method: String,
    pub path: String,
}

impl ClientMeta {
    pub fn from_parts(parts: &Parts) -> ClientMeta {
        let address = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip().to_string())
            .unwrap_or_default();
        let user_agent = parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        ClientMeta {
            address,
            user_agent,
            method: parts.method.to_string(),
            path: crate::links::redact_path(parts.uri.path()).into_owned(),
        }
    }
}

/// The client metadata of an unauthenticated request (password reset).
pub(crate) struct ClientMetaExtract(pub ClientMeta);

impl<S: Send + Sync> FromRequestParts<S> for ClientMetaExtract {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientMetaExtract(ClientMeta::from_parts(parts)))
    }
}

/// How the caller authenticated.
#[derive(Clone)]
pub(crate) enum Credential {
    /// A full (not MFA-pending) browser session; `token` is the cookie value.
    Session { session: Session, token: String },
    /// An API token, already resolved to its workspace scope.
    Token {
        scope: WorkspaceScope,
        token: ApiToken,
    },
}

/// An authenticated API caller.
#[derive(Clone)]
pub(crate) struct Caller {
    pub credential: Credential,
    pub meta: ClientMeta,
}

impl Caller {
    /// The signed-in session, or 403 for API tokens on routes that are about a person.
    pub fn session(&self) -> Result<&Session, ApiError> {
        match &self.credential {
            Credential::Session { session, .. } => Ok(session),
            Credential::Token { .. } => Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                "this route needs a signed-in user, not an API token",
            )),
        }
    }

    /// An audit event with this caller as the actor.
    pub fn event(&self, action: &str) -> AuditEvent {
        let e = AuditEvent::new(action, Outcome::Success)
            .from_client(&self.meta.address, &self.meta.user_agent);
        match &self.credential {
            Credential::Session { session, .. } => {
                let kind = if session.is_operator {
                    ActorKind::Operator
                } else {
                    ActorKind::User
                };
                e.actor(kind, &session.user.id, &session.user.email)
            }
            Credential::Token { token, .. } => e.actor(ActorKind::ApiToken, &token.id, &token.name),
        }
    }

    /// An audit event for an action on `scope`, with the grant id when under support access.
    pub fn event_in(&self, scope: &WorkspaceScope, action: &str) -> AuditEvent {
        let e = self.event(action).grant(scope.grant_id());
        if matches!(scope.access(), Access::Support { .. }) {
            let Credential::Session { session, .. } = &self.credential else {
                return e;
            };
            return e.actor(ActorKind::Operator, &session.user.id, &session.user.email);
        }
        e
    }
}

fn bearer(parts: &Parts) -> Option<&str> {
    parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let meta = ClientMeta::from_parts(parts);
        if let Some(secret) = bearer(parts) {
            return match state.store.token_scope(secret).await? {
                Some((scope, token)) => Ok(Caller {
                    credential: Credential::Token { scope, token },
                    meta,
                }),
                None => {
                    let event = AuditEvent::new("auth.token", Outcome::Failure)
                        .from_client(&meta.address, &meta.user_agent)
                        .detail(serde_json::json!({ "path": meta.path }));
                    state.store.audit(None, &event).await?;
                    Err(ApiError::new(
                        StatusCode::UNAUTHORIZED,
                        "unauthenticated",
                        "the API token is invalid, expired or revoked",
                    ))
                }
            };
        }
        let Some(token) = cookie(&parts.headers, SESSION_COOKIE) else {
            return Err(ApiError::unauthenticated());
        };
        match state.store.session(token).await? {
            Some(session) if !session.mfa_pending => Ok(Caller {
                credential: Credential::Session {
                    session,
                    token: token.to_owned(),
                },
                meta,
            }),
            _ => Err(ApiError::unauthenticated()),
        }
    }
}

/// Resolves the caller's scope on workspace `slug` and checks `permission`. See the module docs.
pub(crate) async fn authorize(
    state: &AppState,
    caller: &Caller,
    slug: &str,
    permission: Permission,
) -> Result<WorkspaceStore, ApiError> {
    let scope = match &caller.credential {
        Credential::Token { scope, .. } => (scope.slug() == slug).then(|| scope.clone()),
        Credential::Session { session, .. } => {
            match state.store.member_scope(slug, &session.user.id).await? {
                Some(s) => Some(s),
                None if session.is_operator => {
                    state.store.support_scope(slug, &session.user.id).await?
                }
                None => None,
            }
        }
    };
    let Some(scope) = scope else {
        return Err(ApiError::not_found("workspace"));
    };
    if let Credential::Session { session, .. } = &caller.credential
        && matches!(scope.access(), Access::Member { .. })
    {
        // An SSO session whose IdP reported MFA (`amr`) is MFA-verified without Rampart TOTP.
        if !session.mfa_enabled
            && !session.mfa_verified
            && state
                .store
                .workspace_requires_mfa(scope.workspace_id())
                .await?
        {
            return Err(deny(
                state,
                caller,
                &scope,
                permission,
                "mfa_enrollment_required",
                "this workspace requires multi-factor authentication: enrol TOTP first",
            )
            .await);
        }
        if permission.is_administrative() && session.mfa_enabled && !session.mfa_verified {
            return Err(deny(
                state,
                caller,
                &scope,
                permission,
                "mfa_required",
                "administrative actions need a session that passed multi-factor authentication",
            )
            .await);
        }
    }
    if !scope.allows(permission) {
        return Err(deny(
            state,
            caller,
            &scope,
            permission,
            "forbidden",
            &format!(
                "your access to this workspace does not allow {}",
                permission.as_str()
            ),
        )
        .await);
    }
    if let Access::Support { .. } = scope.access() {
        let event = caller
            .event_in(&scope, "support.access")
            .object("route", &caller.meta.path)
            .detail(serde_json::json!({ "method": caller.meta.method }));
        state.store.audit(Some(&scope), &event).await?;
    }
    Ok(state.store.scoped(&scope))
}

async fn deny(
    state: &AppState,
    caller: &Caller,
    scope: &WorkspaceScope,
    permission: Permission,
    code: &'static str,
    message: &str,
) -> ApiError {
    let event = caller
        .event_in(scope, "authz.denied")
        .outcome(Outcome::Denied)
        .object("route", &caller.meta.path)
        .detail(
            serde_json::json!({ "permission": permission.as_str(), "method": caller.meta.method }),
        );
    if let Err(e) = state.store.audit(Some(scope), &event).await {
        return ApiError::from(e);
    }
    ApiError::new(StatusCode::FORBIDDEN, code, message)
}
