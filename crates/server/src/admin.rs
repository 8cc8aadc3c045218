//! Identity and workspace administration API: the caller's account (password, MFA), password
//! reset, members, invitations, API tokens, settings, support-access grants, connectors and the
//! audit log. Every state change is audited by the store in the same transaction.

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{AppendHeaders, IntoResponse, Response};
use axum::routing::{delete, get, patch, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use rampart_store::audit::{AuditEntry, AuditEvent, Outcome};
use rampart_store::{
    ApiToken, AuditFilter, Connector, Invitation, Member, Page, Permission, Role, SessionOptions,
    SupportGrant, totp,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::api::{ApiPath, ApiQuery};
use crate::authz::{Caller, Credential, authorize};
use crate::error::{ApiError, ErrorBody};
use crate::security::{SESSION_COOKIE, set_cookie};
use crate::state::{AppState, OutgoingMessage, SecurityAlert};

#[derive(FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub(crate) struct ApiJson<T>(pub T);

use axum::extract::FromRequest;

impl From<axum::extract::rejection::JsonRejection> for ApiError {
    fn from(e: axum::extract::rejection::JsonRejection) -> ApiError {
        ApiError::bad_request(e.body_text())
    }
}

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/me", get(me))
        .route("/api/v1/me/password", post(change_password))
        .route("/api/v1/me/mfa/totp", post(begin_totp))
        .route("/api/v1/me/mfa/totp/confirm", post(confirm_totp))
        .route("/api/v1/me/mfa", delete(disable_mfa))
        .route("/api/v1/password-reset", post(request_reset))
        .route("/api/v1/password-reset/confirm", post(confirm_reset))
        .route("/api/v1/invitations/accept", post(accept_invitation))
        .route("/api/v1/support/requests", post(request_support))
        .route("/api/v1/support/grants", get(my_grants))
        .route("/api/v1/installation/selfcheck", get(selfcheck))
        .route("/api/v1/installation/backups", get(installation_backups))
        .route("/api/v1/workspaces/{ws}/members", get(list_members))
        .route(
            "/api/v1/workspaces/{ws}/members/{user}",
            patch(change_role).delete(remove_member),
        )
        .route(
            "/api/v1/workspaces/{ws}/invitations",
            get(list_invitations).post(create_invitation),
        )
        .route(
            "/api/v1/workspaces/{ws}/invitations/{id}",
            delete(revoke_invitation),
        )
        .route(
            "/api/v1/workspaces/{ws}/tokens",
            get(list_tokens).post(create_token),
        )
        .route("/api/v1/workspaces/{ws}/tokens/{id}", delete(revoke_token))
        .route(
            "/api/v1/workspaces/{ws}/settings",
            get(get_settings).patch(update_settings),
        )
        .route("/api/v1/workspaces/{ws}/support-grants", get(list_grants))
        .route(
            "/api/v1/workspaces/{ws}/support-grants/{id}/grant",
            post(grant_support),
        )
        .route(
            "/api/v1/workspaces/{ws}/support-grants/{id}/revoke",
            post(revoke_support),
        )
        .route(
            "/api/v1/workspaces/{ws}/support-grants/{id}/accesses",
            get(grant_accesses),
        )
        .route(
            "/api/v1/workspaces/{ws}/connectors",
            get(list_connectors).post(create_connector),
        )
        .route(
            "/api/v1/workspaces/{ws}/connectors/{id}",
            delete(delete_connector),
        )
        .route("/api/v1/workspaces/{ws}/audit", get(audit_log))
}

// ----- the caller's account ---------------------------------------------------------------------

/// The signed-in user.
#[derive(Debug, Serialize, ToSchema)]
pub struct MeOut {
    pub id: String,
    pub email: String,
    pub mfa_enabled: bool,
    /// Whether this session passed the second factor.
    pub mfa_verified: bool,
    /// Installation operator (support access only through grants).
    pub operator: bool,
}

/// The signed-in user and session.
#[utoipa::path(get, path = "/api/v1/me", tag = "account",
    responses((status = 200, body = MeOut), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(crate) async fn me(auth: Caller) -> Result<Json<MeOut>, ApiError> {
    let s = auth.session()?;
    Ok(Json(MeOut {
        id: s.user.id.clone(),
        email: s.user.email.clone(),
        mfa_enabled: s.mfa_enabled,
        mfa_verified: s.mfa_verified,
        operator: s.is_operator,
    }))
}

#[derive(Deserialize, ToSchema)]
pub struct PasswordChange {
    pub current_password: String,
    pub new_password: String,
}

/// Changes the caller's password; every other session of the user ends.
#[utoipa::path(post, path = "/api/v1/me/password", tag = "account", request_body = PasswordChange,
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(crate) async fn change_password(
    State(state): State<AppState>,
    auth: Caller,
    ApiJson(body): ApiJson<PasswordChange>,
) -> Result<StatusCode, ApiError> {
    password_change(&state, &auth, &body).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Changes the caller's password (API and account page); every other session ends.
pub(crate) async fn password_change(
    state: &AppState,
    auth: &Caller,
    body: &PasswordChange,
) -> Result<(), ApiError> {
    let Credential::Session { session, token } = &auth.credential else {
        return Err(auth.session().err().unwrap_or_else(ApiError::internal));
    };
    let changed = state
        .store
        .change_password(
            &session.user,
            &body.current_password,
            &body.new_password,
            token,
            auth.event("user.password_change"),
        )
        .await?;
    if !changed {
        state
            .store
            .audit(
                None,
                &auth
                    .event("user.password_change")
                    .outcome(Outcome::Failure)
                    .object("user", &session.user.id),
            )
            .await?;
        return Err(ApiError::bad_request("the current password is wrong"));
    }
    Ok(())
}

/// A TOTP secret to enrol in an authenticator app.
#[derive(Debug, Serialize, ToSchema)]
pub struct TotpEnrolment {
    /// Base32 secret (type it in, or scan `otpauth_uri` as a QR code).
    pub secret: String,
    pub otpauth_uri: String,
}

/// Starts TOTP enrolment for the caller. The secret is shown here once.
#[utoipa::path(post, path = "/api/v1/me/mfa/totp", tag = "account",
    responses((status = 200, body = TotpEnrolment), (status = 401, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub(crate) async fn begin_totp(
    State(state): State<AppState>,
    auth: Caller,
) -> Result<Json<TotpEnrolment>, ApiError> {
    Ok(Json(totp_begin(&state, &auth).await?))
}

/// Starts TOTP enrolment for the caller (API and account page).
pub(crate) async fn totp_begin(state: &AppState, auth: &Caller) -> Result<TotpEnrolment, ApiError> {
    let s = auth.session()?;
    let secret = state.store.begin_totp(&s.user.id, &state.vault).await?;
    Ok(TotpEnrolment {
        secret: totp::base32_encode(&secret),
        otpauth_uri: totp::otpauth_uri("Rampart", &s.user.email, &secret),
    })
}

#[derive(Deserialize, ToSchema)]
pub struct TotpCode {
    pub code: String,
}

/// Recovery codes, shown once.
#[derive(Debug, Serialize, ToSchema)]
pub struct RecoveryCodes {
    pub recovery_codes: Vec<String>,
}

/// Confirms TOTP enrolment with a first code; answers single-use recovery codes and replaces
/// the session by an MFA-verified one.
#[utoipa::path(post, path = "/api/v1/me/mfa/totp/confirm", tag = "account", request_body = TotpCode,
    responses((status = 200, body = RecoveryCodes), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub(crate) async fn confirm_totp(
    State(state): State<AppState>,
    auth: Caller,
    ApiJson(body): ApiJson<TotpCode>,
) -> Result<Response, ApiError> {
    let (codes, cookie, _) = totp_confirm(&state, &auth, &body.code).await?;
    Ok((
        AppendHeaders([(header::SET_COOKIE, cookie)]),
        Json(RecoveryCodes {
            recovery_codes: codes,
        }),
    )
        .into_response())
}

/// Completes TOTP enrolment with a first code (API and account page): answers the recovery
/// codes, the `Set-Cookie` value of the new, MFA-verified session that replaces the caller's,
/// and that session's CSRF token.
pub(crate) async fn totp_confirm(
    state: &AppState,
    auth: &Caller,
    code: &str,
) -> Result<(Vec<String>, HeaderValue, String), ApiError> {
    let Credential::Session { session, token } = &auth.credential else {
        return Err(auth.session().err().unwrap_or_else(ApiError::internal));
    };
    let Some(codes) = state
        .store
        .confirm_totp(
            &session.user.id,
            code,
            &state.vault,
            auth.event("user.mfa_enable"),
        )
        .await?
    else {
        return Err(ApiError::bad_request("the code is not valid"));
    };
    let options = SessionOptions {
        mfa_pending: false,
        mfa_verified: true,
        address: auth.meta.address.clone(),
        user_agent: auth.meta.user_agent.clone(),
    };
    let fresh = state
        .store
        .complete_mfa_session(token, &session.user.id, &options, auth.event("auth.mfa"))
        .await?;
    let max_age = state.store.session_timeouts().absolute.num_seconds();
    Ok((
        codes,
        set_cookie(SESSION_COOKIE, &fresh.token, max_age),
        fresh.csrf_token,
    ))
}

/// Turns MFA off for the caller (needs a current code). Raises a security alert.
#[utoipa::path(delete, path = "/api/v1/me/mfa", tag = "account", request_body = TotpCode,
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub(crate) async fn disable_mfa(
    State(state): State<AppState>,
    auth: Caller,
    ApiJson(body): ApiJson<TotpCode>,
) -> Result<StatusCode, ApiError> {
    mfa_disable(&state, &auth, &body.code).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Turns MFA off for the caller with a current code (API and account page); raises an alert.
pub(crate) async fn mfa_disable(
    state: &AppState,
    auth: &Caller,
    code: &str,
) -> Result<(), ApiError> {
    let s = auth.session()?;
    if !state
        .store
        .verify_second_factor(&s.user.id, code, &state.vault)
        .await?
    {
        state
            .store
            .audit(
                None,
                &auth
                    .event("user.mfa_disable")
                    .outcome(Outcome::Failure)
                    .object("user", &s.user.id),
            )
            .await?;
        return Err(ApiError::bad_request("the code is not valid"));
    }
    state
        .store
        .disable_totp(&s.user.id, auth.event("user.mfa_disable"))
        .await?;
    state.alerts.raise(SecurityAlert {
        kind: "mfa_disabled",
        workspace: None,
        subject: s.user.email.clone(),
    });
    Ok(())
}

// ----- password reset ---------------------------------------------------------------------------

#[derive(Deserialize, ToSchema)]
pub struct ResetRequest {
    pub email: String,
}

/// Asks for a password-reset link by email. Always 202, whether or not the account exists.
#[utoipa::path(post, path = "/api/v1/password-reset", tag = "account", security(()), request_body = ResetRequest,
    responses((status = 202)))]
pub(crate) async fn request_reset(
    State(state): State<AppState>,
    meta: crate::authz::ClientMetaExtract,
    ApiJson(body): ApiJson<ResetRequest>,
) -> Result<StatusCode, ApiError> {
    crate::links::send_reset(&state, &body.email, &meta.0).await?;
    Ok(StatusCode::ACCEPTED)
}

#[derive(Deserialize, ToSchema)]
pub struct ResetConfirm {
    pub token: String,
    pub new_password: String,
}

/// Sets a new password with a reset code (single use, 30 minutes); all sessions end.
#[utoipa::path(post, path = "/api/v1/password-reset/confirm", tag = "account", security(()), request_body = ResetConfirm,
    responses((status = 204), (status = 400, body = ErrorBody)))]
pub(crate) async fn confirm_reset(
    State(state): State<AppState>,
    meta: crate::authz::ClientMetaExtract,
    ApiJson(body): ApiJson<ResetConfirm>,
) -> Result<StatusCode, ApiError> {
    let meta = meta.0;
    let event = AuditEvent::new("user.password_reset", Outcome::Success)
        .from_client(&meta.address, &meta.user_agent);
    match state
        .store
        .reset_password(&body.token, &body.new_password, event)
        .await?
    {
        Some(_) => Ok(StatusCode::NO_CONTENT),
        None => Err(ApiError::bad_request(
            "the reset code is invalid, used or expired",
        )),
    }
}

// ----- invitations (accepting) and support requests ----------------------------------------------

#[derive(Deserialize, ToSchema)]
pub struct AcceptInvitation {
    pub token: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct JoinedWorkspace {
    pub slug: String,
    pub name: String,
}

/// Accepts an invitation sent to the caller's email (single use, expiring).
#[utoipa::path(post, path = "/api/v1/invitations/accept", tag = "members", request_body = AcceptInvitation,
    responses((status = 200, body = JoinedWorkspace), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn accept_invitation(
    State(state): State<AppState>,
    auth: Caller,
    ApiJson(body): ApiJson<AcceptInvitation>,
) -> Result<Json<JoinedWorkspace>, ApiError> {
    let s = auth.session()?;
    let ws = state
        .store
        .accept_invitation(&body.token, &s.user, auth.event("invitation.accept"))
        .await?;
    Ok(Json(JoinedWorkspace {
        slug: ws.slug,
        name: ws.name,
    }))
}

#[derive(Deserialize, ToSchema)]
pub struct SupportRequest {
    /// Workspace slug.
    pub workspace: String,
    /// Why access is needed (shown to the workspace admins).
    pub note: String,
}

/// A support-access grant.
#[derive(Debug, Serialize, ToSchema)]
pub struct GrantOut {
    pub id: String,
    pub operator_id: String,
    pub operator_email: String,
    pub request_note: String,
    pub requested_at: DateTime<Utc>,
    pub reason: Option<String>,
    pub granted_by: Option<String>,
    pub granted_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_by: Option<String>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// `requested`, `active`, `expired` or `revoked`.
    pub status: String,
}

impl From<SupportGrant> for GrantOut {
    fn from(g: SupportGrant) -> Self {
        let now = Utc::now();
        let status = if g.revoked_at.is_some() {
            "revoked"
        } else if g.is_active(now) {
            "active"
        } else if g.granted_at.is_some() {
            "expired"
        } else {
            "requested"
        };
        GrantOut {
            id: g.id,
            operator_id: g.operator_id,
            operator_email: g.operator_email,
            request_note: g.request_note,
            requested_at: g.requested_at,
            reason: g.reason,
            granted_by: g.granted_by,
            granted_at: g.granted_at,
            expires_at: g.expires_at,
            revoked_by: g.revoked_by,
            revoked_at: g.revoked_at,
            status: status.into(),
        }
    }
}

/// An installation operator asks a workspace for support access.
#[utoipa::path(post, path = "/api/v1/support/requests", tag = "support", request_body = SupportRequest,
    responses((status = 201, body = GrantOut), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn request_support(
    State(state): State<AppState>,
    auth: Caller,
    ApiJson(body): ApiJson<SupportRequest>,
) -> Result<(StatusCode, Json<GrantOut>), ApiError> {
    let s = auth.session()?;
    let grant = state
        .store
        .request_support(
            &s.user,
            &body.workspace,
            &body.note,
            auth.event("support.request"),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(grant.into())))
}

/// The caller's own support grants (operators).
#[utoipa::path(get, path = "/api/v1/support/grants", tag = "support",
    responses((status = 200, body = Vec<GrantOut>), (status = 401, body = ErrorBody)))]
pub(crate) async fn my_grants(
    State(state): State<AppState>,
    auth: Caller,
) -> Result<Json<Vec<GrantOut>>, ApiError> {
    let s = auth.session()?;
    let grants = state.store.support_grants_of_operator(&s.user.id).await?;
    Ok(Json(grants.into_iter().map(Into::into).collect()))
}

/// The installation self-assessment (operators): this installation held to the seed security
/// policy, as `rampart selfcheck` reports it.
#[utoipa::path(get, path = "/api/v1/installation/selfcheck", tag = "support",
    responses((status = 200, body = crate::selfcheck::Report), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn selfcheck(
    State(state): State<AppState>,
    auth: Caller,
) -> Result<Json<crate::selfcheck::Report>, ApiError> {
    let s = auth.session()?;
    Ok(Json(crate::ui::installation_report(&state, s).await?))
}

/// Newest scheduled backups listed by the API.
const BACKUP_JOBS_LISTED: u32 = 50;

/// The installation's scheduled backups (operators): the newest jobs of the backup queue, each
/// with its state, attempts, last error and the file it wrote (metadata only).
#[utoipa::path(get, path = "/api/v1/installation/backups", tag = "support",
    responses((status = 200, body = Vec<rampart_store::BackupJob>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(crate) async fn installation_backups(
    State(state): State<AppState>,
    auth: Caller,
) -> Result<Json<Vec<rampart_store::BackupJob>>, ApiError> {
    let s = auth.session()?;
    if !s.is_operator {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "the installation's backups are for installation operators",
        ));
    }
    Ok(Json(state.store.backup_jobs(BACKUP_JOBS_LISTED).await?))
}

// ----- members and invitations ------------------------------------------------------------------

/// Path of a workspace sub-object.
#[derive(Deserialize)]
pub(crate) struct WsObject {
    pub(crate) ws: String,
    pub(crate) id: String,
}

#[derive(Deserialize)]
pub(crate) struct WsUser {
    ws: String,
    user: String,
}

/// Members of the workspace.
#[utoipa::path(get, path = "/api/v1/workspaces/{ws}/members", tag = "members",
    params(("ws" = String, Path, description = "Workspace slug")),
    responses((status = 200, body = Vec<Member>), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn list_members(
    State(state): State<AppState>,
    auth: Caller,
    ApiPath(ws): ApiPath<String>,
) -> Result<Json<Vec<Member>>, ApiError> {
    let ws = authorize(&state, &auth, &ws, Permission::ReadData).await?;
    Ok(Json(state.store.list_members(ws.scope()).await?))
}

#[derive(Deserialize, ToSchema)]
pub struct RoleChange {
    pub role: Role,
}

/// Changes a member's role (owner and admin only; only owners make owners).
#[utoipa::path(patch, path = "/api/v1/workspaces/{ws}/members/{user}", tag = "members", request_body = RoleChange,
    params(("ws" = String, Path, description = "Workspace slug"), ("user" = String, Path, description = "User id")),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn change_role(
    State(state): State<AppState>,
    auth: Caller,
    ApiPath(p): ApiPath<WsUser>,
    ApiJson(body): ApiJson<RoleChange>,
) -> Result<StatusCode, ApiError> {
    change_role_of(&state, &auth, &p.ws, &p.user, body.role).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Changes a member's role (shared by the API and the settings page).
pub(crate) async fn change_role_of(
    state: &AppState,
    auth: &Caller,
    ws: &str,
    user: &str,
    role: Role,
) -> Result<(), ApiError> {
    let ws = authorize(state, auth, ws, Permission::ManageMembers).await?;
    state
        .store
        .change_member_role(
            ws.scope(),
            user,
            role,
            auth.event_in(ws.scope(), "member.role_change"),
        )
        .await?;
    if matches!(role, Role::Owner | Role::Admin) {
        state.alerts.raise(SecurityAlert {
            kind: "new_admin",
            workspace: Some(ws.scope().slug().to_owned()),
            subject: user.to_owned(),
        });
    }
    Ok(())
}

/// Removes a member.
#[utoipa::path(delete, path = "/api/v1/workspaces/{ws}/members/{user}", tag = "members",
    params(("ws" = String, Path, description = "Workspace slug"), ("user" = String, Path, description = "User id")),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn remove_member(
    State(state): State<AppState>,
    auth: Caller,
    ApiPath(p): ApiPath<WsUser>,
) -> Result<StatusCode, ApiError> {
    remove_member_of(&state, &auth, &p.ws, &p.user).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Removes a member (shared by the API and the settings page).
pub(crate) async fn remove_member_of(
    state: &AppState,
    auth: &Caller,
    ws: &str,
    user: &str,
) -> Result<(), ApiError> {
    let ws = authorize(state, auth, ws, Permission::ManageMembers).await?;
    state
        .store
        .remove_member(ws.scope(), user, auth.event_in(ws.scope(), "member.remove"))
        .await?;
    Ok(())
}

/// Invitations of the workspace.
#[utoipa::path(get, path = "/api/v1/workspaces/{ws}/invitations", tag = "members",
    params(("ws" = String, Path, description = "Workspace slug")),
    responses((status = 200, body = Vec<Invitation>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn list_invitations(
    State(state): State<AppState>,
    auth: Caller,
    ApiPath(ws): ApiPath<String>,
) -> Result<Json<Vec<Invitation>>, ApiError> {
    let ws = authorize(&state, &auth, &ws, Permission::ManageMembers).await?;
    Ok(Json(state.store.list_invitations(ws.scope()).await?))
}

#[derive(Deserialize, ToSchema)]
pub struct NewInvitation {
    pub email: String,
    pub role: Role,
}

/// A new invitation and its single-use token (shown once; valid 7 days).
#[derive(Debug, Serialize, ToSchema)]
pub struct InvitationCreated {
    pub invitation: Invitation,
    pub token: String,
}

/// Invites someone by email with a role.
#[utoipa::path(post, path = "/api/v1/workspaces/{ws}/invitations", tag = "members", request_body = NewInvitation,
    params(("ws" = String, Path, description = "Workspace slug")),
    responses((status = 201, body = InvitationCreated), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn create_invitation(
    State(state): State<AppState>,
    auth: Caller,
    ApiPath(ws): ApiPath<String>,
    ApiJson(body): ApiJson<NewInvitation>,
) -> Result<(StatusCode, Json<InvitationCreated>), ApiError> {
    let created = invite(&state, &auth, &ws, body).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// Creates an invitation and mails its code (shared by the API and the settings page).
pub(crate) async fn invite(
    state: &AppState,
    auth: &Caller,
    ws: &str,
    body: NewInvitation,
) -> Result<InvitationCreated, ApiError> {
    let ws = authorize(state, auth, ws, Permission::ManageMembers).await?;
    let (invitation, token) = state
        .store
        .create_invitation(
            ws.scope(),
            &body.email,
            body.role,
            auth.event_in(ws.scope(), "member.invite"),
        )
        .await?;
    state.mailer.send(OutgoingMessage {
        to: invitation.email.clone(),
        subject: format!("You are invited to the Rampart workspace {}", ws.scope().slug()),
        body: format!(
            "You were invited as {} to the Rampart workspace {}. Open this link within 7 days to accept (it works once; if you have no Rampart account yet, you choose a password there):\n\n{}\n\nOr, signed in, accept with this code:\n\n{token}\n",
            invitation.role,
            ws.scope().slug(),
            crate::links::invitation_link(state, &token),
        ),
    });
    Ok(InvitationCreated { invitation, token })
}

/// Revokes an open invitation.
#[utoipa::path(delete, path = "/api/v1/workspaces/{ws}/invitations/{id}", tag = "members",
    params(("ws" = String, Path, description = "Workspace slug"), ("id" = String, Path, description = "Invitation id")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn revoke_invitation(
    State(state): State<AppState>,
    auth: Caller,
    ApiPath(p): ApiPath<WsObject>,
) -> Result<StatusCode, ApiError> {
    revoke_invitation_of(&state, &auth, &p.ws, &p.id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Revokes an open invitation (shared by the API and the settings page).
pub(crate) async fn revoke_invitation_of(
    state: &AppState,
    auth: &Caller,
    ws: &str,
    id: &str,
) -> Result<(), ApiError> {
    let ws = authorize(state, auth, ws, Permission::ManageMembers).await?;
    state
        .store
        .revoke_invitation(
            ws.scope(),
            id,
            auth.event_in(ws.scope(), "invitation.revoke"),
        )
        .await?;
    Ok(())
}

// ----- API tokens -------------------------------------------------------------------------------

/// API tokens of the workspace (never their secrets).
#[utoipa::path(get, path = "/api/v1/workspaces/{ws}/tokens", tag = "tokens",
    params(("ws" = String, Path, description = "Workspace slug")),
    responses((status = 200, body = Vec<ApiToken>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn list_tokens(
    State(state): State<AppState>,
    auth: Caller,
    ApiPath(ws): ApiPath<String>,
) -> Result<Json<Vec<ApiToken>>, ApiError> {
    let ws = authorize(&state, &auth, &ws, Permission::ManageTokens).await?;
    Ok(Json(state.store.list_api_tokens(ws.scope()).await?))
}

#[derive(Deserialize, ToSchema)]
pub struct NewToken {
    pub name: String,
    pub role: Role,
    /// Expiry, at most 366 days away.
    pub expires_at: DateTime<Utc>,
}

/// A new API token; `secret` is shown this once (send it as `Authorization: Bearer …`).
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenCreated {
    pub token: ApiToken,
    pub secret: String,
}

/// Creates an API token scoped to this workspace and a role.
#[utoipa::path(post, path = "/api/v1/workspaces/{ws}/tokens", tag = "tokens", request_body = NewToken,
    params(("ws" = String, Path, description = "Workspace slug")),
    responses((status = 201, body = TokenCreated), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn create_token(
    State(state): State<AppState>,
    auth: Caller,
    ApiPath(ws): ApiPath<String>,
    ApiJson(body): ApiJson<NewToken>,
) -> Result<(StatusCode, Json<TokenCreated>), ApiError> {
    let created = new_token(&state, &auth, &ws, body).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// Creates an API token; its secret is in the answer only (shared by the API and the settings
/// page).
pub(crate) async fn new_token(
    state: &AppState,
    auth: &Caller,
    ws: &str,
    body: NewToken,
) -> Result<TokenCreated, ApiError> {
    let ws = authorize(state, auth, ws, Permission::ManageTokens).await?;
    let (token, secret) = state
        .store
        .create_api_token(
            ws.scope(),
            &body.name,
            body.role,
            body.expires_at,
            auth.event_in(ws.scope(), "token.create"),
        )
        .await?;
    state.alerts.raise(SecurityAlert {
        kind: "api_token_created",
        workspace: Some(ws.scope().slug().to_owned()),
        subject: token.name.clone(),
    });
    Ok(TokenCreated { token, secret })
}

/// Revokes an API token (effective at its next use).
#[utoipa::path(delete, path = "/api/v1/workspaces/{ws}/tokens/{id}", tag = "tokens",
    params(("ws" = String, Path, description = "Workspace slug"), ("id" = String, Path, description = "Token id")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn revoke_token(
    State(state): State<AppState>,
    auth: Caller,
    ApiPath(p): ApiPath<WsObject>,
) -> Result<StatusCode, ApiError> {
    revoke_token_of(&state, &auth, &p.ws, &p.id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Revokes an API token (shared by the API and the settings page).
pub(crate) async fn revoke_token_of(
    state: &AppState,
    auth: &Caller,
    ws: &str,
    id: &str,
) -> Result<(), ApiError> {
    let ws = authorize(state, auth, ws, Permission::ManageTokens).await?;
    state
        .store
        .revoke_api_token(ws.scope(), id, auth.event_in(ws.scope(), "token.revoke"))
        .await?;
    Ok(())
}

// ----- settings ---------------------------------------------------------------------------------

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Settings {
    /// Members must have MFA enrolled to reach this workspace.
    pub require_mfa: bool,
}

/// Workspace settings.
#[utoipa::path(get, path = "/api/v1/workspaces/{ws}/settings", tag = "settings",
    params(("ws" = String, Path, description = "Workspace slug")),
    responses((status = 200, body = Settings), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn get_settings(
    State(state): State<AppState>,
    auth: Caller,
    ApiPath(ws): ApiPath<String>,
) -> Result<Json<Settings>, ApiError> {
    let ws = authorize(&state, &auth, &ws, Permission::ManageSettings).await?;
    Ok(Json(Settings {
        require_mfa: state
            .store
            .workspace_requires_mfa(ws.scope().workspace_id())
            .await?,
    }))
}

/// Changes workspace settings.
#[utoipa::path(patch, path = "/api/v1/workspaces/{ws}/settings", tag = "settings", request_body = Settings,
    params(("ws" = String, Path, description = "Workspace slug")),
    responses((status = 200, body = Settings), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn update_settings(
    State(state): State<AppState>,
    auth: Caller,
    ApiPath(ws): ApiPath<String>,
    ApiJson(body): ApiJson<Settings>,
) -> Result<Json<Settings>, ApiError> {
    let ws = authorize(&state, &auth, &ws, Permission::ManageSettings).await?;
    state
        .store
        .set_require_mfa(
            ws.scope(),
            body.require_mfa,
            auth.event_in(ws.scope(), "settings.update"),
        )
        .await?;
    Ok(Json(body))
}

// ----- support grants (workspace side) ----------------------------------------------------------

/// Every support grant of the workspace.
#[utoipa::path(get, path = "/api/v1/workspaces/{ws}/support-grants", tag = "support",
    params(("ws" = String, Path, description = "Workspace slug")),
    responses((status = 200, body = Vec<GrantOut>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn list_grants(
    State(state): State<AppState>,
    auth: Caller,
    ApiPath(ws): ApiPath<String>,
) -> Result<Json<Vec<GrantOut>>, ApiError> {
    let ws = authorize(&state, &auth, &ws, Permission::ManageSupportGrants).await?;
    let grants = state.store.list_support_grants(ws.scope()).await?;
    Ok(Json(grants.into_iter().map(Into::into).collect()))
}

#[derive(Deserialize, ToSchema)]
pub struct GrantDecision {
    pub reason: String,
    /// At most 72 hours away.
    pub expires_at: DateTime<Utc>,
}

/// Grants a requested support access (owner/admin), read-only, until `expires_at` (≤ 72 h).
#[utoipa::path(post, path = "/api/v1/workspaces/{ws}/support-grants/{id}/grant", tag = "support", request_body = GrantDecision,
    params(("ws" = String, Path, description = "Workspace slug"), ("id" = String, Path, description = "Grant id")),
    responses((status = 200, body = GrantOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn grant_support(
    State(state): State<AppState>,
    auth: Caller,
    ApiPath(p): ApiPath<WsObject>,
    ApiJson(body): ApiJson<GrantDecision>,
) -> Result<Json<GrantOut>, ApiError> {
    Ok(Json(
        grant_support_of(&state, &auth, &p.ws, &p.id, body).await?,
    ))
}

/// Grants a requested support access (shared by the API and the settings page).
pub(crate) async fn grant_support_of(
    state: &AppState,
    auth: &Caller,
    ws: &str,
    id: &str,
    body: GrantDecision,
) -> Result<GrantOut, ApiError> {
    let ws = authorize(state, auth, ws, Permission::ManageSupportGrants).await?;
    let grant = state
        .store
        .grant_support(
            ws.scope(),
            id,
            &body.reason,
            body.expires_at,
            auth.event_in(ws.scope(), "support.grant"),
        )
        .await?;
    state.alerts.raise(SecurityAlert {
        kind: "support_grant_created",
        workspace: Some(ws.scope().slug().to_owned()),
        subject: grant.operator_email.clone(),
    });
    Ok(grant.into())
}

/// Revokes (or declines) a support grant; the operator's next request is refused.
#[utoipa::path(post, path = "/api/v1/workspaces/{ws}/support-grants/{id}/revoke", tag = "support",
    params(("ws" = String, Path, description = "Workspace slug"), ("id" = String, Path, description = "Grant id")),
    responses((status = 200, body = GrantOut), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn revoke_support(
    State(state): State<AppState>,
    auth: Caller,
    ApiPath(p): ApiPath<WsObject>,
) -> Result<Json<GrantOut>, ApiError> {
    Ok(Json(revoke_support_of(&state, &auth, &p.ws, &p.id).await?))
}

/// Revokes a support grant (shared by the API and the settings page).
pub(crate) async fn revoke_support_of(
    state: &AppState,
    auth: &Caller,
    ws: &str,
    id: &str,
) -> Result<GrantOut, ApiError> {
    let ws = authorize(state, auth, ws, Permission::ManageSupportGrants).await?;
    let grant = state
        .store
        .revoke_support(ws.scope(), id, auth.event_in(ws.scope(), "support.revoke"))
        .await?;
    state.alerts.raise(SecurityAlert {
        kind: "support_grant_revoked",
        workspace: Some(ws.scope().slug().to_owned()),
        subject: grant.operator_email.clone(),
    });
    Ok(grant.into())
}

/// Every request made under a support grant (from the workspace audit log).
#[utoipa::path(get, path = "/api/v1/workspaces/{ws}/support-grants/{id}/accesses", tag = "support",
    params(("ws" = String, Path, description = "Workspace slug"), ("id" = String, Path, description = "Grant id")),
    responses((status = 200, body = AuditPage), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn grant_accesses(
    State(state): State<AppState>,
    auth: Caller,
    ApiPath(p): ApiPath<WsObject>,
) -> Result<Json<AuditPage>, ApiError> {
    let ws = authorize(&state, &auth, &p.ws, Permission::ManageSupportGrants).await?;
    let filter = AuditFilter {
        grant_id: Some(p.id),
        ..Default::default()
    };
    // The audit log needs ReadAudit; owners and admins hold it with ManageSupportGrants.
    let page = ws.audit_log(&filter, Page::new(500, 0)).await?;
    Ok(Json(AuditPage::from(page)))
}

// ----- connectors -------------------------------------------------------------------------------

/// Connectors of the workspace. Secrets are write-only: never returned.
#[utoipa::path(get, path = "/api/v1/workspaces/{ws}/connectors", tag = "connectors",
    params(("ws" = String, Path, description = "Workspace slug")),
    responses((status = 200, body = Vec<Connector>), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn list_connectors(
    State(state): State<AppState>,
    auth: Caller,
    ApiPath(ws): ApiPath<String>,
) -> Result<Json<Vec<Connector>>, ApiError> {
    let ws = authorize(&state, &auth, &ws, Permission::ReadData).await?;
    Ok(Json(state.store.list_connectors(ws.scope()).await?))
}

#[derive(Deserialize, ToSchema)]
pub struct NewConnector {
    pub name: String,
    /// `aws`, `gcp` or `azure`.
    pub provider: String,
    /// Non-secret settings (role ARN, regions, project id …).
    #[serde(default)]
    pub settings: serde_json::Value,
    /// Credentials (e.g. `{"access_key_id": …, "secret_access_key": …}` or an external id);
    /// sealed with AES-256-GCM before storage and never returned.
    pub secret: serde_json::Value,
}

/// Adds a connector with write-only credentials.
#[utoipa::path(post, path = "/api/v1/workspaces/{ws}/connectors", tag = "connectors", request_body = NewConnector,
    params(("ws" = String, Path, description = "Workspace slug")),
    responses((status = 201, body = Connector), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub(crate) async fn create_connector(
    State(state): State<AppState>,
    auth: Caller,
    ApiPath(ws): ApiPath<String>,
    ApiJson(body): ApiJson<NewConnector>,
) -> Result<(StatusCode, Json<Connector>), ApiError> {
    let ws = authorize(&state, &auth, &ws, Permission::ManageConnectors).await?;
    let settings = if body.settings.is_null() {
        serde_json::json!({})
    } else {
        body.settings
    };
    let connector = state
        .store
        .create_connector(
            ws.scope(),
            &body.name,
            &body.provider,
            &settings,
            body.secret.to_string().as_bytes(),
            &state.vault,
            auth.event_in(ws.scope(), "connector.create"),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(connector)))
}

/// Deletes a connector and its sealed credentials.
#[utoipa::path(delete, path = "/api/v1/workspaces/{ws}/connectors/{id}", tag = "connectors",
    params(("ws" = String, Path, description = "Workspace slug"), ("id" = String, Path, description = "Connector id")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn delete_connector(
    State(state): State<AppState>,
    auth: Caller,
    ApiPath(p): ApiPath<WsObject>,
) -> Result<StatusCode, ApiError> {
    let ws = authorize(&state, &auth, &p.ws, Permission::ManageConnectors).await?;
    state
        .store
        .delete_connector(
            ws.scope(),
            &p.id,
            auth.event_in(ws.scope(), "connector.delete"),
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

// ----- audit log --------------------------------------------------------------------------------

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditParams {
    /// Only this action (e.g. `auth.login`, `token.create`).
    pub action: Option<String>,
    /// Only this actor id.
    pub actor: Option<String>,
    /// `success`, `failure` or `denied`.
    pub outcome: Option<String>,
    /// Only requests under this support grant.
    pub grant: Option<String>,
    /// Entries at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// Entries before this time.
    pub until: Option<DateTime<Utc>>,
    /// `json` (default, one page) or `jsonl` (every matching entry, one JSON object per line).
    pub format: Option<String>,
    pub limit: Option<u32>,
    pub offset: Option<u64>,
}

/// A page of audit entries, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditPage {
    #[schema(value_type = Vec<Object>)]
    pub items: Vec<AuditEntry>,
    pub total: u64,
    pub limit: u32,
    pub offset: u64,
}

impl From<rampart_store::Paged<AuditEntry>> for AuditPage {
    fn from(p: rampart_store::Paged<AuditEntry>) -> Self {
        AuditPage {
            items: p.items,
            total: p.total,
            limit: p.limit,
            offset: p.offset,
        }
    }
}

/// The workspace audit log (owner, admin, auditor), filtered; `format=jsonl` exports it.
#[utoipa::path(get, path = "/api/v1/workspaces/{ws}/audit", tag = "audit",
    params(("ws" = String, Path, description = "Workspace slug"), AuditParams),
    responses((status = 200, body = AuditPage, description = "A page (JSON) or every entry (JSON lines)"),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn audit_log(
    State(state): State<AppState>,
    auth: Caller,
    ApiPath(ws): ApiPath<String>,
    ApiQuery(p): ApiQuery<AuditParams>,
) -> Result<Response, ApiError> {
    let ws = authorize(&state, &auth, &ws, Permission::ReadAudit).await?;
    let filter = AuditFilter {
        action: p.action,
        actor_id: p.actor,
        outcome: p.outcome,
        grant_id: p.grant,
        since: p.since,
        until: p.until,
    };
    match p.format.as_deref() {
        None | Some("json") => {
            let page = Page::new(
                p.limit.unwrap_or(rampart_store::DEFAULT_PAGE_SIZE),
                p.offset.unwrap_or(0),
            );
            Ok(Json(AuditPage::from(ws.audit_log(&filter, page).await?)).into_response())
        }
        Some("jsonl") => {
            let mut out = String::new();
            let mut offset = 0;
            loop {
                let page = ws
                    .audit_log(&filter, Page::new(rampart_store::MAX_PAGE_SIZE, offset))
                    .await?;
                for e in &page.items {
                    out.push_str(&serde_json::to_string(e).map_err(|_| ApiError::internal())?);
                    out.push('\n');
                }
                offset += page.items.len() as u64;
                if page.items.is_empty() || offset >= page.total {
                    break;
                }
            }
            let mut resp = out.into_response();
            resp.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/jsonl"),
            );
            Ok(resp)
        }
        Some(other) => Err(ApiError::bad_request(format!(
            "format {other:?} is not one of json, jsonl"
        ))),
    }
}
