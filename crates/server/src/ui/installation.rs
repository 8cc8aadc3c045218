//! The installation page for operators: the self-assessment against the seed security policy
//! (`rampart selfcheck`), run live when the page is opened.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;

use super::{Nav, UiCaller, UiError, render};
use crate::error::ApiError;
use crate::selfcheck::{self, Report};
use crate::state::AppState;

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/installation", get(installation))
}

#[derive(Template)]
#[template(path = "installation.html")]
struct InstallationPage {
    nav: Option<Nav>,
    report: Report,
}

/// Runs the self-assessment for an operator; anyone else gets 403.
pub(crate) async fn assess(
    state: &AppState,
    session: &rampart_store::Session,
) -> Result<Report, ApiError> {
    if !session.is_operator {
        return Err(ApiError::new(
            axum::http::StatusCode::FORBIDDEN,
            "forbidden",
            "the installation self-assessment is for installation operators",
        ));
    }
    let Some(installation) = &state.installation else {
        return Err(ApiError::not_found("installation configuration"));
    };
    Ok(selfcheck::run(
        &state.store,
        Some(&state.vault),
        installation,
        chrono::Utc::now(),
    )
    .await)
}

async fn installation(State(state): State<AppState>, ui: UiCaller) -> Result<Response, UiError> {
    let report = assess(&state, &ui.auth.0).await.map_err(|e| ui.fail(e))?;
    Ok(render(&InstallationPage {
        nav: Some(Nav::new(&ui.auth, None)),
        report,
    }))
}
