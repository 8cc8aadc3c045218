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

/// How the holder of a [`WorkspaceScope`] came by it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Access {
    /// A member of the workspace, with the member's role.
    Member { user_id: String, role: Role },
    /// An API token of the workspace, with the token's role.
    Token {
        token_id: String,
        created_by: String,
        role: Role,
    },
    /// An installation operator under an active support grant: read-only.
    Support {
        operator_id: String,
        grant_id: String,
    },
    /// The local CLI, which holds the database file (`rampart import`, `rampart demo`).
    Local,
    /// A worker running a queued job: reads the workspace's data and records scans, nothing
    /// else (no members, tokens, settings, connectors' management, audit log).
    Job {
        job_id: String,
        requested_by: String,
    },
}

/// Proof that the holder may reach one workspace's customer data, and how.
///
/// Its fields are private and it has no public constructor: only the scope functions of
/// [`crate::Store`] make one ([`crate::Store::member_scope`], [`crate::Store::token_scope`],
/// [`crate::Store::support_scope`], [`crate::Store::operator_scope`]), after checking the
/// workspace exists and the caller's right to it.
#[derive(Clone, PartialEq, Eq)]
pub struct WorkspaceScope {
    workspace_id: String,
    slug: String,
    access: Access,
}

impl WorkspaceScope {
    pub(crate) fn new(workspace_id: String, slug: String, access: Access) -> Self {
        WorkspaceScope {
            workspace_id,
            slug,
            access,
        }
    }

    pub fn workspace_id(&self) -> &str {
        &self.workspace_id
    }

    pub fn slug(&self) -> &str {
        &self.slug
    }

    pub fn access(&self) -> &Access {
        &self.access
    }

    /// The member's or token's role; `None` for support and local scopes.
    pub fn role(&self) -> Option<Role> {
        match &self.access {
            Access::Member { role, .. } | Access::Token { role, .. } => Some(*role),
            Access::Support { .. } | Access::Local | Access::Job { .. } => None,
        }
    }

    /// The support grant this scope was opened under, if any.
    pub fn grant_id(&self) -> Option<&str> {
        match &self.access {
            Access::Support { grant_id, .. } => Some(grant_id),
            _ => None,
        }
    }

    /// Whether this scope allows `p`: members and tokens per the role matrix
    /// ([`Role::allows`]); support access reads only; the local CLI everything.
    pub fn allows(&self, p: crate::Permission) -> bool {
        match &self.access {
            Access::Member { role, .. } | Access::Token { role, .. } => role.allows(p),
            Access::Support { .. } => p == crate::Permission::ReadData,
            Access::Local => true,
            Access::Job { .. } => matches!(
                p,
                crate::Permission::ReadData
                    | crate::Permission::RunScans
                    | crate::Permission::ExportData
            ),
        }
    }
}

impl fmt::Debug for WorkspaceScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WorkspaceScope")
            .field("slug", &self.slug)
            .field("access", &self.access)
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
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
    /// Password checked, second factor still owed: the session opens nothing but the MFA step.
    pub mfa_pending: bool,
    /// The second factor was passed in this session.
    pub mfa_verified: bool,
    /// The user is an installation operator.
    pub is_operator: bool,
    /// The user has TOTP enrolled.
    pub mfa_enabled: bool,
}

/// How a session starts.
#[derive(Debug, Clone, Default)]
pub struct SessionOptions {
    pub mfa_pending: bool,
    pub mfa_verified: bool,
    pub address: String,
    pub user_agent: String,
}

/// Session lifetimes (ASVS 3.3.1, 3.3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionTimeouts {
    /// A session unused this long ends.
    pub idle: TimeDelta,
    /// A session ends this long after sign-in, however active.
    pub absolute: TimeDelta,
}

impl Default for SessionTimeouts {
    fn default() -> Self {
        SessionTimeouts {
            idle: SESSION_IDLE_TIMEOUT,
            absolute: SESSION_ABSOLUTE_TIMEOUT,
        }
    }
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("user", &self.user)
            .field("csrf_token", &"<redacted>")
            .field("created_at", &self.created_at)
            .field("last_seen_at", &self.last_seen_at)
            .field("expires_at", &self.expires_at)
            .field("mfa_pending", &self.mfa_pending)
            .field("mfa_verified", &self.mfa_verified)
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
    /// The assets a scan found gone instead of the present ones.
    pub gone: bool,
    /// `key=value`: assets carrying this tag.
    pub tag: Option<String>,
    /// Assets on which this control fails.
    pub failing_control: Option<String>,
    /// Assets whose security score is in this band.
    pub score: Option<ScoreBand>,
}

/// A band of the asset security score (100 × the severity factor of each failing, unexempted
/// control: critical 0.5, high 0.7, medium 0.85, low 0.95, info 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, utoipa::ToSchema)]
pub enum ScoreBand {
    /// 100: nothing fails (or only informational controls).
    #[serde(rename = "100")]
    Full,
    #[serde(rename = "75-99")]
    Good,
    #[serde(rename = "50-74")]
    Fair,
    #[serde(rename = "25-49")]
    Poor,
    #[serde(rename = "0-24")]
    Bad,
}

impl ScoreBand {
    pub const ALL: [ScoreBand; 5] = [
        ScoreBand::Full,
        ScoreBand::Good,
        ScoreBand::Fair,
        ScoreBand::Poor,
        ScoreBand::Bad,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ScoreBand::Full => "100",
            ScoreBand::Good => "75-99",
            ScoreBand::Fair => "50-74",
            ScoreBand::Poor => "25-49",
            ScoreBand::Bad => "0-24",
        }
    }

    pub fn parse(s: &str) -> Option<ScoreBand> {
        ScoreBand::ALL.into_iter().find(|b| b.as_str() == s)
    }

    /// The band's penalty range `(above, at_most)`: the sum of `ln(1 / factor)` over the
    /// failing controls (score = 100 × e^-penalty), with a margin for float rounding.
    pub(crate) fn penalty_range(self) -> (f64, f64) {
        const E: f64 = 1e-6;
        let (q, h, t) = ((4.0f64 / 3.0).ln() + E, 2.0f64.ln() + E, 4.0f64.ln() + E);
        match self {
            ScoreBand::Full => (f64::NEG_INFINITY, E),
            ScoreBand::Good => (E, q),
            ScoreBand::Fair => (q, h),
            ScoreBand::Poor => (h, t),
            ScoreBand::Bad => (t, f64::INFINITY),
        }
    }
}

/// A version an asset had before a scan changed it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AssetVersion {
    /// The scan that recorded the next version.
    pub scan_id: String,
    /// When that scan replaced this version.
    pub replaced_at: DateTime<Utc>,
    pub config: serde_json::Value,
    pub tags: std::collections::BTreeMap<String, String>,
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
    /// The finding's last status change: `new` (failing for the first time), `regressed`
    /// (failing again after it was resolved) or `resolved`; `None` before any.
    pub last_change: Option<String>,
    pub asset_name: String,
    pub asset_type: String,
}

/// Where a keyset page of findings starts: after this finding in the list order (severity,
/// most severe first, then control, then asset).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FindingCursor {
    pub severity: Severity,
    pub control_id: String,
    pub asset_id: String,
}

impl FindingCursor {
    /// The cursor just after `record`.
    pub fn after(record: &FindingRecord) -> FindingCursor {
        FindingCursor {
            severity: record.finding.severity,
            control_id: record.finding.control_id.clone(),
            asset_id: record.finding.asset_id.clone(),
        }
    }
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

/// A privileged account without a second factor (see `Store::privileged_without_mfa`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MfaGap {
    pub email: String,
    /// The workspace slug; `None` for an installation operator.
    pub workspace: Option<String>,
    /// `owner`, `admin` or `operator`.
    pub role: String,
    /// Whether the workspace requires MFA (the account is then asked to enrol at its next
    /// sign-in, but has not yet).
    pub workspace_requires_mfa: bool,
}

/// Values shown per facet of the inventory (the most frequent first).
pub const FACET_LIMIT: u32 = 25;

/// Assets a facet counts at most: beyond this many matching assets, each facet counts the
/// first `FACET_SAMPLE` of them (in primary-key order) and says so ([`AssetFacets::sampled`]),
/// so that the inventory page costs the same on a workspace of a million assets as on one of
/// twenty-five thousand.
pub const FACET_SAMPLE: u64 = 25_000;

/// One value of a facet and how many assets have it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FacetValue {
    pub value: String,
    pub count: u64,
}

/// Asset counts by provider, account, region and type (see `WorkspaceStore::asset_facets`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct AssetFacets {
    pub providers: Vec<FacetValue>,
    pub accounts: Vec<FacetValue>,
    pub regions: Vec<FacetValue>,
    pub types: Vec<FacetValue>,
    /// `key=value` tags.
    pub tags: Vec<FacetValue>,
    /// Controls failing on the assets (each asset counted once per control).
    pub failing_controls: Vec<FacetValue>,
    /// Score bands (`100`, `75-99`, `50-74`, `25-49`, `0-24`).
    pub scores: Vec<FacetValue>,
    /// True when at least one facet had more than [`FACET_SAMPLE`] assets to count and counted
    /// only the first of them.
    pub sampled: bool,
}

/// How the findings list groups its rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FindingGrouping {
    Control,
    Asset,
    Severity,
}

/// One group of findings and how many of them have each status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FindingGroup {
    /// Control id, asset id or severity.
    pub key: String,
    /// What to show: the control id, the asset's name, the severity.
    pub label: String,
    pub fail: u64,
    pub error: u64,
    pub pass: u64,
}
