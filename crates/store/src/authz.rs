//! The permission matrix: which workspace role may do what. The one place where roles are
//! turned into permissions (documented in docs/security/permissions.md, which a test keeps in
//! step with this table).

use serde::Serialize;

use crate::Role;

/// Something a caller may do within a workspace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    /// Read inventory, findings, controls, frameworks, scans, the graph.
    ReadData,
    /// Export findings and inventory (CSV, OCSF, reports).
    ExportData,
    /// Change findings: exempt, reopen, comment.
    ManageFindings,
    /// Start and cancel scans.
    RunScans,
    /// Create and delete custom controls.
    ManageControls,
    /// Create, change and delete cloud connectors (and their credentials).
    ManageConnectors,
    /// Invite members, change roles, remove members.
    ManageMembers,
    /// Create and revoke API tokens.
    ManageTokens,
    /// Change workspace settings (MFA requirement, notifications, SSO).
    ManageSettings,
    /// Grant and revoke installation-operator support access.
    ManageSupportGrants,
    /// Read and export the workspace audit log.
    ReadAudit,
}

impl Permission {
    pub const ALL: [Permission; 11] = [
        Permission::ReadData,
        Permission::ExportData,
        Permission::ManageFindings,
        Permission::RunScans,
        Permission::ManageControls,
        Permission::ManageConnectors,
        Permission::ManageMembers,
        Permission::ManageTokens,
        Permission::ManageSettings,
        Permission::ManageSupportGrants,
        Permission::ReadAudit,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Permission::ReadData => "read_data",
            Permission::ExportData => "export_data",
            Permission::ManageFindings => "manage_findings",
            Permission::RunScans => "run_scans",
            Permission::ManageControls => "manage_controls",
            Permission::ManageConnectors => "manage_connectors",
            Permission::ManageMembers => "manage_members",
            Permission::ManageTokens => "manage_tokens",
            Permission::ManageSettings => "manage_settings",
            Permission::ManageSupportGrants => "manage_support_grants",
            Permission::ReadAudit => "read_audit",
        }
    }

    /// Administrative permissions: held only by owners and admins, and needing an MFA-verified
    /// session when the user has MFA enrolled.
    pub fn is_administrative(self) -> bool {
        matches!(
            self,
            Permission::ManageConnectors
                | Permission::ManageMembers
                | Permission::ManageTokens
                | Permission::ManageSettings
                | Permission::ManageSupportGrants
        )
    }
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::Owner,
        Role::Admin,
        Role::Analyst,
        Role::Viewer,
        Role::Auditor,
    ];

    /// The matrix.
    pub fn allows(self, p: Permission) -> bool {
        use Permission::*;
        match self {
            Role::Owner | Role::Admin => true,
            Role::Analyst => matches!(
                p,
                ReadData | ExportData | ManageFindings | RunScans | ManageControls
            ),
            Role::Viewer => matches!(p, ReadData),
            Role::Auditor => matches!(p, ReadData | ExportData | ReadAudit),
        }
    }

    /// Rank for "may not hand out more than you hold": owner 4, admin 3, analyst/auditor 2,
    /// viewer 1.
    pub fn rank(self) -> u8 {
        match self {
            Role::Owner => 4,
            Role::Admin => 3,
            Role::Analyst | Role::Auditor => 2,
            Role::Viewer => 1,
        }
    }

    /// Whether a member with this role may give `other` to someone (invitation, role change,
    /// API token): only owners hand out owner; admins hand out admin and below.
    pub fn may_assign(self, other: Role) -> bool {
        self.allows(Permission::ManageMembers) && other.rank() <= self.rank()
    }
}

/// The matrix as Markdown rows (`| permission | owner | admin | … |`), for the documentation
/// test.
pub fn matrix_markdown() -> String {
    let mut out = String::from("| Permission | owner | admin | analyst | viewer | auditor |\n");
    out.push_str("|---|---|---|---|---|---|\n");
    for p in Permission::ALL {
        out.push_str(&format!("| `{}` |", p.as_str()));
        for r in Role::ALL {
            out.push_str(if r.allows(p) { " yes |" } else { " — |" });
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn support_and_low_roles_are_read_only() {
        for p in Permission::ALL {
            assert_eq!(Role::Viewer.allows(p), p == Permission::ReadData);
            if p.is_administrative() {
                assert!(!Role::Analyst.allows(p) && !Role::Auditor.allows(p));
            }
        }
        assert!(Role::Owner.may_assign(Role::Owner));
        assert!(!Role::Admin.may_assign(Role::Owner));
        assert!(Role::Admin.may_assign(Role::Admin));
        assert!(!Role::Analyst.may_assign(Role::Viewer));
    }
}
