//! Jira Cloud (REST API v3): an issue per finding group (a control), a comment when more of its
//! findings fail, and a comment plus a transition (by name, default "Done") once none fails.
//! Basic authentication with the user's e-mail and API token.

use serde_json::json;

use crate::NotifyError;
use crate::send::{Sender, check_status, http_error, read_limited};

/// Most bytes of a Jira answer read (a transition list is a few kilobytes).
const MAX_JIRA_RESPONSE: usize = 1 << 20;

/// A Jira channel's settings with its token.
#[derive(Clone)]
pub struct JiraTarget {
    pub site_url: String,
    pub project_key: String,
    pub email: String,
    pub token: String,
    pub issue_type: String,
    pub resolve_transition: String,
}

impl std::fmt::Debug for JiraTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JiraTarget")
            .field("site_url", &self.site_url)
            .field("project_key", &self.project_key)
            .field("email", &self.email)
            .field("token", &"<redacted>")
            .finish()
    }
}

impl JiraTarget {
    pub fn from_settings(settings: &serde_json::Value, token: String) -> JiraTarget {
        let s = |k: &str| {
            settings
                .get(k)
                .and_then(serde_json::Value::as_str)
                .unwrap_or("")
                .to_owned()
        };
        let or = |v: String, d: &str| if v.is_empty() { d.to_owned() } else { v };
        JiraTarget {
            site_url: s("site_url").trim_end_matches('/').to_owned(),
            project_key: s("project_key"),
            email: s("email"),
            token,
            issue_type: or(s("issue_type"), "Task"),
            resolve_transition: or(s("resolve_transition"), "Done"),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.site_url)
    }
}

/// Atlassian Document Format: paragraphs of plain text.
pub fn adf(paragraphs: &[String]) -> serde_json::Value {
    json!({
        "type": "doc",
        "version": 1,
        "content": paragraphs.iter().map(|p| json!({
            "type": "paragraph",
            "content": [{ "type": "text", "text": p }],
        })).collect::<Vec<_>>(),
    })
}

impl Sender {
    async fn jira_send(
        &self,
        target: &JiraTarget,
        method: reqwest::Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> Result<serde_json::Value, NotifyError> {
        let url = self.check_url(&target.url(path))?;
        let mut req = self
            .http
            .request(method, url)
            .basic_auth(&target.email, Some(&target.token))
            .header(reqwest::header::ACCEPT, "application/json");
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.map_err(http_error)?;
        let resp = match check_status_keep(resp).await? {
            Ok(r) => r,
            Err(e) => return Err(e),
        };
        let body = read_limited(resp, MAX_JIRA_RESPONSE).await?;
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(serde_json::Value::Null);
        }
        serde_json::from_slice(&body).map_err(|e| NotifyError::Jira(format!("{path}: {e}")))
    }

    /// Creates an issue; answers its key.
    pub async fn jira_create(
        &self,
        target: &JiraTarget,
        summary: &str,
        description: &[String],
    ) -> Result<String, NotifyError> {
        let body = json!({
            "fields": {
                "project": { "key": target.project_key },
                "summary": summary,
                "issuetype": { "name": target.issue_type },
                "description": adf(description),
                "labels": ["rampart"],
            }
        });
        let answer = self
            .jira_send(
                target,
                reqwest::Method::POST,
                "/rest/api/3/issue",
                Some(body),
            )
            .await?;
        answer
            .get("key")
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| NotifyError::Jira("the created issue has no key".into()))
    }

    pub async fn jira_comment(
        &self,
        target: &JiraTarget,
        key: &str,
        text: &[String],
    ) -> Result<(), NotifyError> {
        self.jira_send(
            target,
            reqwest::Method::POST,
            &format!("/rest/api/3/issue/{}/comment", path_part(key)),
            Some(json!({ "body": adf(text) })),
        )
        .await?;
        Ok(())
    }

    /// Moves the issue through the transition named in the channel (e.g. "Done").
    pub async fn jira_transition(&self, target: &JiraTarget, key: &str) -> Result<(), NotifyError> {
        let path = format!("/rest/api/3/issue/{}/transitions", path_part(key));
        let list = self
            .jira_send(target, reqwest::Method::GET, &path, None)
            .await?;
        let id = list
            .get("transitions")
            .and_then(serde_json::Value::as_array)
            .and_then(|ts| {
                ts.iter().find(|t| {
                    t.get("name")
                        .and_then(serde_json::Value::as_str)
                        .is_some_and(|n| n.eq_ignore_ascii_case(&target.resolve_transition))
                })
            })
            .and_then(|t| t.get("id"))
            .and_then(serde_json::Value::as_str)
            .ok_or_else(|| {
                NotifyError::Jira(format!(
                    "issue {key} has no transition named {:?}",
                    target.resolve_transition
                ))
            })?
            .to_owned();
        self.jira_send(
            target,
            reqwest::Method::POST,
            &path,
            Some(json!({ "transition": { "id": id } })),
        )
        .await?;
        Ok(())
    }

    /// Checks the credentials and the project (the channel test).
    pub async fn jira_check(&self, target: &JiraTarget) -> Result<(), NotifyError> {
        self.jira_send(
            target,
            reqwest::Method::GET,
            &format!("/rest/api/3/project/{}", path_part(&target.project_key)),
            None,
        )
        .await?;
        Ok(())
    }
}

/// Issue keys and project keys are letters, digits, `-` and `_`; anything else is dropped.
fn path_part(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
        .collect()
}

async fn check_status_keep(
    resp: reqwest::Response,
) -> Result<Result<reqwest::Response, NotifyError>, NotifyError> {
    if resp.status().is_success() {
        return Ok(Ok(resp));
    }
    Ok(Err(check_status(resp).await.err().unwrap_or_else(|| {
        NotifyError::Jira("unexpected answer".into())
    })))
}
