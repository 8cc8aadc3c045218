//! Microsoft Graph v1.0: the Entra ID objects and tenant policies of
//! docs/asset-types-azure.md, each response validated through the importer on its own.

use rampart_import::AzureDoc;
use reqwest::Method;
use serde_json::{Map, Value, json};

use crate::Scan;
use crate::arm::get_list;
use crate::http::{CallError, Scope};

/// User properties asked for (`signInActivity` needs AuditLog.Read.All and an Entra ID P1/P2
/// licence: without it the list is read again without that property).
pub const USER_SELECT: &str = "id,displayName,userPrincipalName,userType,accountEnabled,\
createdDateTime,mail,externalUserState,onPremisesSyncEnabled,signInActivity";

/// One Graph read: (service, path with its version, `@odata.context` fragment, single entity).
/// Everything is v1.0 except `deviceRegistrationPolicy`, which Microsoft Graph only serves
/// under /beta.
pub const READS: &[(&str, &str, &str, bool)] = &[
    ("entra", "/v1.0/organization", "organization", false),
    ("entra", "/v1.0/users", "users", false),
    ("entra", "/v1.0/groups?$top=999", "groups", false),
    (
        "entra",
        "/v1.0/servicePrincipals?$top=999",
        "servicePrincipals",
        false,
    ),
    (
        "entra",
        "/v1.0/applications?$top=999",
        "applications",
        false,
    ),
    ("entra", "/v1.0/directoryRoles", "directoryRoles", false),
    (
        "entra-policies",
        "/v1.0/policies/identitySecurityDefaultsEnforcementPolicy",
        "policies/identitySecurityDefaultsEnforcementPolicy",
        true,
    ),
    (
        "entra-policies",
        "/v1.0/policies/authorizationPolicy",
        "policies/authorizationPolicy",
        true,
    ),
    (
        "entra-policies",
        "/v1.0/policies/authenticationMethodsPolicy",
        "policies/authenticationMethodsPolicy",
        true,
    ),
    (
        "entra-policies",
        "/v1.0/policies/adminConsentRequestPolicy",
        "policies/adminConsentRequestPolicy",
        true,
    ),
    (
        "entra-policies",
        "/beta/policies/deviceRegistrationPolicy",
        "policies/deviceRegistrationPolicy",
        true,
    ),
    (
        "entra-policies",
        "/v1.0/groupSettings",
        "groupSettings",
        false,
    ),
    (
        "conditional-access",
        "/v1.0/identity/conditionalAccess/policies",
        "identity/conditionalAccess/policies",
        false,
    ),
    (
        "conditional-access",
        "/v1.0/identity/conditionalAccess/namedLocations",
        "identity/conditionalAccess/namedLocations",
        false,
    ),
    (
        "entra-reports",
        "/v1.0/reports/authenticationMethods/userRegistrationDetails",
        "reports/authenticationMethods/userRegistrationDetails",
        false,
    ),
];

const CONTEXT_BASE: &str = "https://graph.microsoft.com/v1.0/$metadata#";

/// Reads everything; a failing read is a recorded error, the others go on.
/// One validated Graph answer: (service, operation, document).
pub(crate) type GraphDoc = (&'static str, String, AzureDoc);

pub(crate) async fn collect(
    scan: &Scan<'_>,
    groups_with_roles: &std::collections::HashSet<String>,
) -> Vec<GraphDoc> {
    let tenant = scan.tenant.clone();
    // One token check first: without a Graph token every read would fail the same way.
    if let Err(e) = scan.api.token(Scope::Graph, false).await {
        for s in crate::GRAPH_SERVICES {
            scan.progress.started(s, "tenant");
        }
        scan.error(
            &tenant,
            "entra",
            "global",
            "token for Microsoft Graph",
            format!("Microsoft Graph skipped: {e}"),
        );
        for s in crate::GRAPH_SERVICES {
            scan.progress.finished(s, "tenant", 0, scan.error_count(s));
        }
        return Vec::new();
    }
    let mut docs = Vec::new();
    for service in crate::GRAPH_SERVICES {
        scan.progress.started(service, "tenant");
        let mut objects = 0usize;
        for (svc, path, context, single) in READS.iter().filter(|r| r.0 == *service) {
            let bare = path.split('?').next().unwrap_or(path);
            let bare = bare
                .strip_prefix("/v1.0")
                .or_else(|| bare.strip_prefix("/beta"))
                .unwrap_or(bare);
            let op = format!("GET {bare}");
            let result = if *path == "/v1.0/users" {
                read_users(scan).await
            } else if *path == "/v1.0/directoryRoles" {
                read_roles(scan).await
            } else {
                let url = format!("{}{path}", scan.api.graph);
                if *single {
                    scan.api
                        .call(Scope::Graph, Method::GET, &url, None)
                        .await
                        .map(|v| {
                            match v.get("value") {
                                // Some tenants answer a singleton policy as a collection.
                                Some(Value::Array(items)) => items.clone(),
                                _ => vec![v],
                            }
                        })
                } else {
                    get_list(scan, Scope::Graph, &url).await
                }
            };
            let mut items = match result {
                Ok(items) => items,
                Err(e) => {
                    scan.error(&tenant, svc, "global", &op, e.to_string());
                    continue;
                }
            };
            if *path == "/v1.0/organization" {
                add_subscription_policy(scan, &mut items).await;
            }
            if path.starts_with("/v1.0/groups?") {
                add_group_members(scan, &mut items, groups_with_roles).await;
            }
            let page = if *single && items.len() == 1 {
                let mut obj: Map<String, Value> = items[0].as_object().cloned().unwrap_or_default();
                obj.insert(
                    "@odata.context".into(),
                    Value::String(format!("{CONTEXT_BASE}{context}/$entity")),
                );
                obj.remove("value");
                Value::Object(obj)
            } else {
                json!({ "@odata.context": format!("{CONTEXT_BASE}{context}"), "value": items })
            };
            let count = if *single { 1 } else { items.len() };
            let name = format!("Microsoft Graph {op}");
            match rampart_import::parse_azure_doc(&name, &page.to_string()) {
                Ok(doc) => {
                    objects += count;
                    docs.push((*svc, op.clone(), doc));
                }
                Err(e) => scan.error(
                    &tenant,
                    svc,
                    "global",
                    &op,
                    format!("malformed response: {e}"),
                ),
            }
        }
        scan.progress
            .finished(service, "tenant", objects, scan.error_count(service));
    }
    docs
}

/// `GET /users` with `signInActivity`, else (no licence or no AuditLog.Read.All) without it.
async fn read_users(scan: &Scan<'_>) -> Result<Vec<Value>, CallError> {
    let base = format!("{}/v1.0/users", scan.api.graph);
    let with = format!("{base}?$select={USER_SELECT}&$top=999");
    match get_list(scan, Scope::Graph, &with).await {
        Ok(v) => Ok(v),
        Err(e) if matches!(e.status(), Some(400 | 403)) => {
            tracing::info!(error = %e, "users without signInActivity");
            let plain = USER_SELECT.trim_end_matches(",signInActivity");
            get_list(
                scan,
                Scope::Graph,
                &format!("{base}?$select={plain}&$top=999"),
            )
            .await
        }
        Err(e) => Err(e),
    }
}

/// `GET /directoryRoles`, then each role's members (paged: `$expand=members` stops at 20), set
/// as the role's `members` the way `$expand=members` would. A role whose members cannot be read
/// is kept without them and the failure recorded.
async fn read_roles(scan: &Scan<'_>) -> Result<Vec<Value>, CallError> {
    let base = format!("{}/v1.0/directoryRoles", scan.api.graph);
    let mut roles = get_list(scan, Scope::Graph, &base).await?;
    for role in &mut roles {
        let Some(id) = role.get("id").and_then(Value::as_str).map(str::to_string) else {
            continue;
        };
        if !id.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
            continue;
        }
        let url = format!("{base}/{id}/members?$select=id,displayName,userPrincipalName");
        match get_list(scan, Scope::Graph, &url).await {
            Ok(members) => {
                if let Some(obj) = role.as_object_mut() {
                    obj.insert("members".into(), Value::Array(members));
                }
            }
            Err(e) => scan.error(
                &scan.tenant,
                "entra",
                "global",
                "GET /directoryRoles/{id}/members",
                format!("{id}: {e}"),
            ),
        }
    }
    Ok(roles)
}

/// Subscription policy API version (`Microsoft.Subscription/policies/default`).
pub const SUBSCRIPTION_POLICY_API: &str = "2021-10-01";

/// Adds the tenant's subscription policy (ARM, not Microsoft Graph) to the organization object
/// as `subscriptionPolicy`, the optional key of docs/asset-types-azure.md.
async fn add_subscription_policy(scan: &Scan<'_>, orgs: &mut [Value]) {
    if orgs.is_empty() {
        return;
    }
    let url = format!(
        "{}/providers/Microsoft.Subscription/policies/default?api-version={SUBSCRIPTION_POLICY_API}",
        scan.api.arm
    );
    match scan.api.call(Scope::Arm, Method::GET, &url, None).await {
        Ok(v) => match v.get("properties") {
            Some(p @ Value::Object(_)) => {
                for org in orgs.iter_mut() {
                    if let Some(obj) = org.as_object_mut() {
                        obj.insert("subscriptionPolicy".into(), p.clone());
                    }
                }
            }
            _ => scan.error(
                &scan.tenant,
                "entra-policies",
                "global",
                "GET /providers/Microsoft.Subscription/policies/default",
                "malformed response: no \"properties\" object",
            ),
        },
        Err(e) => scan.error(
            &scan.tenant,
            "entra-policies",
            "global",
            "GET /providers/Microsoft.Subscription/policies/default",
            e.to_string(),
        ),
    }
}

/// Sets `members` (transitive: nested groups' members hold the role too) on the groups that
/// hold an Azure role assignment, the way `$expand=members` would. Other groups are left as
/// listed: reading every group's members would cost a call per group.
async fn add_group_members(
    scan: &Scan<'_>,
    groups: &mut [Value],
    wanted: &std::collections::HashSet<String>,
) {
    for group in groups.iter_mut() {
        let Some(id) = group.get("id").and_then(Value::as_str).map(str::to_string) else {
            continue;
        };
        if !wanted.contains(&id.to_ascii_lowercase())
            || !id.chars().all(|c| c.is_ascii_hexdigit() || c == '-')
        {
            continue;
        }
        let url = format!(
            "{}/v1.0/groups/{id}/transitiveMembers?$select=id,displayName,userPrincipalName",
            scan.api.graph
        );
        match get_list(scan, Scope::Graph, &url).await {
            Ok(members) => {
                if let Some(obj) = group.as_object_mut() {
                    obj.insert("members".into(), Value::Array(members));
                }
            }
            Err(e) => scan.error(
                &scan.tenant,
                "entra",
                "global",
                "GET /groups/{id}/transitiveMembers",
                format!("{id}: {e}"),
            ),
        }
    }
}
