//! "Save as custom control" on the inventory page (issue 8): the query in the query box becomes a
//! control of the workspace with a title, a severity, resource types (the type facet's by
//! default) and a framework mapping; the workspace is then evaluated again (a queued job, as the
//! scans page's "Re-evaluate now") and the control's page shown. The control's page has the
//! delete button. Both forms post with the session's CSRF token; the permission is checked by
//! [`crate::custom_controls`] and again by the store.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::post;
use rampart_model::Severity;
use rampart_rules::Catalog;
use rampart_store::{CustomControlInput, NewJob, Permission};

use super::{UiCaller, UiError, segment};
use crate::authz::authorize;
use crate::custom_controls::{new_custom_control, parse_pairs, remove_custom_control};
use crate::error::ApiError;
use crate::state::AppState;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/w/{ws}/custom-controls", post(create))
        .route("/w/{ws}/custom-controls/{id}/delete", post(delete))
}

pub(crate) struct TypeOption {
    pub value: String,
    pub selected: bool,
}

/// What the inventory page's "save as custom control" form offers.
pub(crate) struct ControlForm {
    pub csrf: String,
    /// The inventory's resource types; the type facet's choice selected.
    pub types: Vec<TypeOption>,
    /// Severities, most severe first, with the default (medium) selected.
    pub severities: Vec<(&'static str, bool)>,
    /// The catalog's framework ids, for the mapping field's hint.
    pub frameworks: String,
}

impl ControlForm {
    pub(crate) fn new(
        catalog: &Catalog,
        csrf: String,
        mut types: Vec<String>,
        selected: &str,
    ) -> ControlForm {
        if !selected.is_empty() && !types.iter().any(|t| t == selected) {
            types.push(selected.to_owned());
        }
        types.sort();
        ControlForm {
            csrf,
            types: types
                .into_iter()
                .map(|value| TypeOption {
                    selected: value == selected,
                    value,
                })
                .collect(),
            severities: Severity::ALL
                .iter()
                .map(|s| (s.as_str(), *s == Severity::Medium))
                .collect(),
            frameworks: catalog
                .frameworks()
                .iter()
                .map(|f| f.id.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        }
    }
}

use super::{form_fields as fields, form_value as one};

/// The control the form describes; a malformed field is a 400 naming it.
fn control_input(form: &[(String, String)]) -> Result<CustomControlInput, ApiError> {
    let severity: Severity = one(form, "severity").parse().map_err(|_| {
        ApiError::bad_request("invalid severity: choose critical, high, medium, low or info")
    })?;
    let text = |name: &str| Some(one(form, name).trim().to_owned()).filter(|t| !t.is_empty());
    Ok(CustomControlInput {
        title: one(form, "title").to_owned(),
        severity,
        resource_types: form
            .iter()
            .filter(|(k, v)| k == "resource_types" && !v.trim().is_empty())
            .map(|(_, v)| v.trim().to_owned())
            .collect(),
        query: one(form, "query").to_owned(),
        frameworks: parse_pairs(one(form, "frameworks"))?,
        rationale: text("rationale"),
        remediation: text("remediation"),
    })
}

/// Saves the inventory query as a custom control, queues a re-evaluation of the workspace, and
/// shows the new control.
async fn create(
    State(state): State<AppState>,
    ui: UiCaller,
    Path(slug): Path<String>,
    body: Bytes,
) -> Result<Response, UiError> {
    let input = match control_input(&fields(&body)) {
        Ok(input) => input,
        Err(e) => {
            // A caller who may not create controls hears that first (ASVS V4.1.1).
            authorize(&state, &ui.caller, &slug, Permission::ManageControls)
                .await
                .map_err(|e| ui.fail(e))?;
            return Err(ui.fail(e));
        }
    };
    let (ws, control) = new_custom_control(&state, &ui.caller, &slug, &input)
        .await
        .map_err(|e| ui.fail(e))?;
    // Its findings come from an evaluation of the stored inventory, as "Re-evaluate now".
    if ws.scope().allows(Permission::RunScans) {
        crate::jobs::queue_for_connector(&state, &ui.caller, &slug, NewJob::evaluate())
            .await
            .map_err(|e| ui.fail(e))?;
    }
    Ok(Redirect::to(&format!(
        "/w/{}/controls/{}",
        segment(&slug),
        segment(&control.id)
    ))
    .into_response())
}

/// Deletes a custom control (and its findings), back to the controls catalogue.
async fn delete(
    State(state): State<AppState>,
    ui: UiCaller,
    Path((slug, id)): Path<(String, String)>,
) -> Result<Response, UiError> {
    remove_custom_control(&state, &ui.caller, &slug, &id)
        .await
        .map_err(|e| ui.fail(e))?;
    Ok(Redirect::to(&format!("/w/{}/controls", segment(&slug))).into_response())
}
