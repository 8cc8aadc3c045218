//! Public value types of the store.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, TimeDelta, Utc};
use rampart_model::{Finding, FindingStatus, Severity};
use serde::{Deserialize, Serialize};

use crate::StoreError;

/// Largest page any list call returns.
pub const MAX_PAGE_SIZE: u32 = 500;
/// Page size when the caller does not say.
pub const DEFAULT_PAGE_SIZE: u32 = 50;
/// A session unused for this long is dead (ASVS 3.3.2).
pub const SESSION_IDLE_TIMEOUT: TimeDelta = TimeDelta::minutes(30);
/// A session is dead this long after login, however active (ASVS 3.3.2).
pub const SESSION_ABSOLUTE_TIMEOUT: TimeDelta = TimeDelta::hours(12);

/// Proof that the holder may read and write one workspace's customer data.
///
/// Its fields are private and it has no public constructor: only [`crate::Store::member_scope`]
/// and [`crate::Store::operator_scope`] make one, after checking the workspace exists (and that
/// the user is a member).
#[derive(Clone, PartialEq, Eq)]
pub struct WorkspaceScope {
    workspace_id: String,
    slug: String,
    /// The member's role, or `None` for an operator scope.
    role: Option<Role>,
}

impl WorkspaceScope {
    pub(crate) fn new(workspace_id: String, slug: String, role: Option<Role>) -> Self {
        WorkspaceScope {
            workspace_id,
            slug,
            role,
        }
    }

    pub fn workspace_id(&self) -> &str {
        &self.workspace_id
    }

    pub fn slug(&self) -> &str {
        &self.slug
    }

    /// The member's role; `None` for an operator (local CLI) scope.
    pub fn role(&self) -> Option<Role> {
        self.role
    }
}

impl fmt::Debug for WorkspaceScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WorkspaceScope")
            .field("slug", &self.slug)
            .field("role", &self.role)
            .finish()
    }
}

/// A tenant: every row of customer data belongs to exactly one workspace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Workspace {
    pub id: String,
    pub slug: String,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

/// A member's role in a workspace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Owner,
    Admin,
    Analyst,
    Viewer,
    Auditor,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Analyst => "analyst",
            Role::Viewer => "viewer",
            Role::Auditor => "auditor",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = StoreError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "owner" => Ok(Role::Owner),
            "admin" => Ok(Role::Admin),
            "analyst" => Ok(Role::Analyst),
            "viewer" => Ok(Role::Viewer),
            "auditor" => Ok(Role::Auditor),
            other => Err(StoreError::Invalid {
                field: "role",
                message: format!("{other:?} is not one of owner, admin, analyst, viewer, auditor"),
            }),
        }
    }
}

/// A user account (without its password hash, which never leaves the store).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: String,
    pub email: String,
    pub created_at: DateTime<Utc>,
    pub password_changed_at: DateTime<Utc>,
}

/// A session just created. `token` is the session id for the cookie; the store keeps only its
/// SHA-256, so this is the only time it is available.
#[derive(Clone)]
pub struct NewSession {
    pub token: String,
    pub csrf_token: String,
    pub expires_at: DateTime<Utc>,
}

impl fmt::Debug for NewSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewSession")
            .field("token", &"<redacted>")
            .field("csrf_token", &"<redacted>")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// A live session, as found by its id.
#[derive(Clone)]
pub struct Session {
    pub user: User,
    pub csrf_token: String,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("user", &self.user)
            .field("csrf_token", &"<redacted>")
            .field("created_at", &self.created_at)
            .field("last_seen_at", &self.last_seen_at)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// Which page of a list: `limit` is clamped to 1..=[`MAX_PAGE_SIZE`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    limit: u32,
    offset: u64,
}

impl Page {
    pub fn new(limit: u32, offset: u64) -> Page {
        Page {
            limit: limit.clamp(1, MAX_PAGE_SIZE),
            offset,
        }
    }

    pub fn limit(self) -> u32 {
        self.limit
    }

    pub fn offset(self) -> u64 {
        self.offset
    }
}

impl Default for Page {
    fn default() -> Self {
        Page::new(DEFAULT_PAGE_SIZE, 0)
    }
}

/// One page of results and the total number of matching rows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Paged<T> {
    pub items: Vec<T>,
    pub total: u64,
    pub limit: u32,
    pub offset: u64,
}

/// Asset list filter; `None` fields do not filter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AssetFilter {
    pub resource_type: Option<String>,
    pub provider: Option<String>,
    pub account: Option<String>,
    pub region: Option<String>,
}

/// Finding list filter; `None` fields do not filter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FindingFilter {
    pub status: Option<FindingStatus>,
    pub severity: Option<Severity>,
    pub control_id: Option<String>,
    pub asset_id: Option<String>,
}

/// A stored finding with the scan that last saw it and the asset's display fields.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FindingRecord {
    #[serde(flatten)]
    pub finding: Finding,
    pub last_scan_id: String,
    pub asset_name: String,
    pub asset_type: String,
}

/// Which way a relationship points, seen from the asset asked about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// The asset asked about is the `from` end.
    Outgoing,
    /// The asset asked about is the `to` end.
    Incoming,
}

/// A relationship of an asset, with the other end's display fields.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RelatedAsset {
    pub relationship: rampart_model::Relationship,
    pub direction: Direction,
    /// The asset at the other end.
    pub other_id: String,
    pub other_name: String,
    pub other_type: String,
}

/// Number of findings with one status and severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct FindingCount {
    pub status: FindingStatus,
    pub severity: Severity,
    pub count: u64,
}

/// Number of findings of one control with one status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ControlCount {
    pub control_id: String,
    pub status: FindingStatus,
    pub count: u64,
}
