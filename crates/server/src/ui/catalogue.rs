//! The controls catalogue: every control with its severity and results in the workspace (the
//! workspace's custom controls included, marked "Custom"), and one control's rationale and
//! remediation rendered from Markdown **safely**: raw HTML in the text is shown as text, and only
//! `http`, `https` and `mailto` links (or relative ones) stay links (ASVS 5.3.3, output encoding
//! for the context). A custom control's page shows its query and who made it, with a delete
//! button for members who manage controls.

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::get;
use pulldown_cmark::{CowStr, Event, Options, Parser, Tag};
use rampart_model::{FindingStatus, Severity};
use rampart_store::{Paged, Permission};
use serde::Deserialize;

use super::{Nav, Pager, SEVERITY_OPTIONS, SelectOption, UiCaller, UiError, enc, pager, render};
use crate::error::ApiError;
use crate::state::AppState;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/w/{ws}/controls", get(controls))
        .route("/w/{ws}/controls/{id}", get(control))
}

/// Markdown to HTML with raw HTML escaped and unsafe link targets dropped.
pub(crate) fn safe_markdown(text: &str) -> String {
    let safe_url = |url: &str| {
        let lower = url.trim().to_ascii_lowercase();
        match lower.split_once(':') {
            // A colon before any '/', '?' or '#' names a scheme.
            Some((scheme, _)) if !scheme.contains(['/', '?', '#']) => {
                matches!(scheme, "http" | "https" | "mailto")
            }
            _ => true,
        }
    };
    let mut dropped_links = 0usize;
    let events = Parser::new_ext(text, Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH)
        .filter_map(|event| match event {
            Event::Html(raw) | Event::InlineHtml(raw) => Some(Event::Text(raw)),
            Event::Start(Tag::Link { dest_url, .. }) if !safe_url(&dest_url) => {
                dropped_links += 1;
                None
            }
            Event::End(pulldown_cmark::TagEnd::Link) if dropped_links > 0 => {
                dropped_links -= 1;
                None
            }
            Event::Start(Tag::Image {
                dest_url, title, ..
            }) => {
                // No images from content: show the target as text instead.
                let _ = title;
                Some(Event::Text(CowStr::from(format!("[image: {dest_url}]"))))
            }
            Event::End(pulldown_cmark::TagEnd::Image) => None,
            other => Some(other),
        });
    let mut html = String::new();
    pulldown_cmark::html::push_html(&mut html, events);
    html
}

struct ControlRow {
    id: String,
    title: String,
    /// One of the workspace's custom controls.
    custom: bool,
    severity: &'static str,
    types: String,
    failing: u64,
    passing: u64,
}

#[derive(Template)]
#[template(path = "controls.html")]
struct ControlsPage {
    nav: Option<Nav>,
    ws: String,
    q: String,
    severities: Vec<SelectOption>,
    rows: Vec<ControlRow>,
    pager: Pager,
}

#[derive(Deserialize)]
struct ControlsQuery {
    q: Option<String>,
    severity: Option<String>,
    offset: Option<u64>,
}

async fn controls(
    State(state): State<AppState>,
    ui: UiCaller,
    Path(slug): Path<String>,
    Query(q): Query<ControlsQuery>,
) -> Result<Response, UiError> {
    let ws = super::scoped(&state, &ui, &slug).await?;
    let text = q.q.unwrap_or_default();
    let needle = text.trim().to_lowercase();
    let severity_param = q.severity.unwrap_or_default();
    let severity: Option<Severity> = match severity_param.as_str() {
        "" => None,
        s => Some(
            s.parse()
                .map_err(|_| ApiError::bad_request("unknown severity"))?,
        ),
    };
    let counts = ws.control_counts().await?;
    let count = |id: &str, status: FindingStatus| -> u64 {
        counts
            .iter()
            .filter(|c| c.control_id == id && c.status == status)
            .map(|c| c.count)
            .sum()
    };
    let catalog = state.catalog_for(ws.scope()).await?;
    let matching: Vec<&rampart_model::Control> = catalog
        .controls()
        .filter(|c| severity.is_none_or(|s| c.severity == s))
        .filter(|c| {
            needle.is_empty()
                || c.id.to_lowercase().contains(&needle)
                || c.title.to_lowercase().contains(&needle)
        })
        .collect();
    let offset = q.offset.unwrap_or(0);
    let limit = super::PAGE_SIZE;
    let rows: Vec<ControlRow> = matching
        .iter()
        .skip(usize::try_from(offset).unwrap_or(usize::MAX))
        .take(limit as usize)
        .map(|c| ControlRow {
            custom: catalog.is_custom(&c.id),
            id: c.id.clone(),
            title: c.title.clone(),
            severity: c.severity.as_str(),
            types: c
                .resource_types
                .iter()
                .map(|t| t.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            failing: count(&c.id, FindingStatus::Fail) + count(&c.id, FindingStatus::Error),
            passing: count(&c.id, FindingStatus::Pass),
        })
        .collect();
    let paged = Paged {
        items: vec![(); rows.len()],
        total: matching.len() as u64,
        limit,
        offset,
    };
    let base = format!(
        "/w/{slug}/controls?q={}&severity={}",
        enc(&text),
        enc(&severity_param)
    );
    let pg = pager(&paged, &base);
    let page = ControlsPage {
        nav: Some(Nav::new(&ui.auth, Some(&slug))),
        ws: slug,
        q: text,
        severities: SEVERITY_OPTIONS
            .iter()
            .map(|(value, label)| SelectOption {
                value,
                label,
                selected: *value == severity_param,
            })
            .collect(),
        rows,
        pager: pg,
    };
    Ok(render(&page))
}

#[derive(Template)]
#[template(path = "control.html")]
struct ControlPage {
    nav: Option<Nav>,
    ws: String,
    id: String,
    title: String,
    severity: &'static str,
    types: Vec<String>,
    /// Rendered by [`safe_markdown`].
    rationale_html: String,
    remediation_html: String,
    references: Vec<(String, bool)>,
    frameworks: Vec<(String, String)>,
    condition: String,
    applies_if: Option<String>,
    failing: u64,
    passing: u64,
    /// For one of the workspace's custom controls.
    custom: Option<CustomView>,
}

struct CustomView {
    query: String,
    created_by: String,
    created: String,
    /// The delete form's CSRF token, for members who manage controls.
    delete_csrf: Option<String>,
}

async fn control(
    State(state): State<AppState>,
    ui: UiCaller,
    Path((slug, id)): Path<(String, String)>,
) -> Result<Response, UiError> {
    let ws = super::scoped(&state, &ui, &slug).await?;
    let catalog = state.catalog_for(ws.scope()).await?;
    let c = catalog
        .control(&id)
        .ok_or_else(|| ApiError::not_found("control"))?;
    let custom = if catalog.is_custom(&c.id) {
        state
            .store
            .custom_control(ws.scope(), &c.id)
            .await?
            .map(|stored| CustomView {
                query: stored.query,
                created_by: stored.created_by,
                created: super::when(stored.created_at),
                delete_csrf: ws
                    .scope()
                    .allows(Permission::ManageControls)
                    .then(|| ui.auth.0.csrf_token.clone()),
            })
    } else {
        None
    };
    let counts = ws.control_counts().await?;
    let count = |status: FindingStatus| -> u64 {
        counts
            .iter()
            .filter(|r| r.control_id == c.id && r.status == status)
            .map(|r| r.count)
            .sum()
    };
    let page = ControlPage {
        nav: Some(Nav::new(&ui.auth, Some(&slug))),
        ws: slug,
        id: c.id.clone(),
        title: c.title.clone(),
        severity: c.severity.as_str(),
        types: c
            .resource_types
            .iter()
            .map(|t| t.as_str().to_owned())
            .collect(),
        rationale_html: safe_markdown(&c.rationale),
        remediation_html: safe_markdown(&c.remediation),
        references: c
            .references
            .iter()
            .map(|r| {
                let link = r.starts_with("https://") || r.starts_with("http://");
                (r.clone(), link)
            })
            .collect(),
        frameworks: c
            .frameworks
            .iter()
            .map(|f| (f.framework.clone(), f.requirement.clone()))
            .collect(),
        condition: c.condition.clone(),
        applies_if: c.applies_if.clone(),
        failing: count(FindingStatus::Fail) + count(FindingStatus::Error),
        passing: count(FindingStatus::Pass),
        custom,
    };
    Ok(render(&page))
}

#[cfg(test)]
mod tests {
    use super::safe_markdown;

    /// ASVS 5.3.3: content text cannot inject markup or script into the page.
    #[test]
    fn v5_3_3_markdown_escapes_raw_html_and_drops_script_links() {
        let html = safe_markdown(
            "Run **this**:\n\n<script>alert(1)</script>\n\nand <img src=x onerror=alert(2)> \
             [click](javascript:alert(3)) [docs](https://docs.aws.amazon.com/) ![i](https://x/y.png)",
        );
        assert!(!html.contains("<script"), "{html}");
        assert!(
            html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{html}"
        );
        assert!(!html.contains("<img"), "{html}");
        assert!(!html.contains("javascript:"), "{html}");
        assert!(html.contains("<strong>this</strong>"), "{html}");
        assert!(
            html.contains("<a href=\"https://docs.aws.amazon.com/\">docs</a>"),
            "{html}"
        );
    }
}
