//! AWS Organizations (global): the organization the account belongs to and, from the
//! management account (or a delegated administrator), its member accounts.

use serde_json::json;

use crate::util::{code, e, error_message, s, ts};
use crate::{Ctx, obj};

/// The organization, or `None` when the account is in none (or the call failed, recorded).
pub async fn describe(ctx: &Ctx<'_>) -> Option<aws_sdk_organizations::types::Organization> {
    let client = aws_sdk_organizations::Client::new(&ctx.config);
    match client.describe_organization().send().await {
        Ok(r) => r.organization().cloned(),
        Err(err) if code(&err) == Some("AWSOrganizationsNotInUseException") => None,
        Err(err) => {
            ctx.error("DescribeOrganization", error_message(&err));
            None
        }
    }
}

/// Member accounts of the organization, `None` when they cannot be listed (recorded as an
/// error unless the account simply is not allowed to list them: a plain member account).
pub async fn accounts(
    ctx: &Ctx<'_>,
    org: &aws_sdk_organizations::types::Organization,
) -> Option<Vec<aws_sdk_organizations::types::Account>> {
    let client = aws_sdk_organizations::Client::new(&ctx.config);
    let mut list = client.list_accounts().into_paginator();
    if let Some(n) = ctx.scan.page_size {
        list = list.page_size(n);
    }
    match list.send().try_collect().await {
        Ok(pages) => Some(
            pages
                .iter()
                .flat_map(|p| p.accounts().iter().cloned())
                .collect(),
        ),
        Err(err)
            if code(&err) == Some("AccessDeniedException")
                && org.master_account_id() != Some(ctx.account()) =>
        {
            None
        }
        Err(err) => {
            ctx.error("ListAccounts", error_message(&err));
            None
        }
    }
}

pub async fn collect(ctx: &Ctx<'_>) {
    let Some(org) = describe(ctx).await else {
        return;
    };
    let org_id = org.id().unwrap_or_default().to_string();
    ctx.scan.set_part(
        "account",
        "organization",
        obj([
            ("id", s(org.id())),
            ("arn", s(org.arn())),
            ("featureSet", e(org.feature_set())),
            ("masterAccountId", s(org.master_account_id())),
        ]),
    );
    let Some(list) = accounts(ctx, &org).await else {
        return;
    };
    let mut ids: Vec<String> = list
        .iter()
        .filter_map(|a| a.id().map(str::to_string))
        .collect();
    ids.sort();
    service_control_policies(ctx, &org, &ids).await;
    for a in list {
        let Some(id) = a.id() else { continue };
        let arn = a.arn().map(str::to_string).unwrap_or_else(|| {
            format!(
                "arn:{}:organizations::{}:account/{org_id}/{id}",
                ctx.scan.partition,
                org.master_account_id().unwrap_or_default()
            )
        });
        let config = obj([
            ("id", json!(id)),
            ("arn", json!(arn)),
            ("name", s(a.name())),
            ("email", s(a.email())),
            ("status", e(a.status())),
            ("state", e(a.state())),
            ("joinedMethod", e(a.joined_method())),
            ("joinedTimestamp", ts(a.joined_timestamp())),
            ("organizationId", json!(org_id)),
            (
                "managementAccount",
                json!(org.master_account_id() == Some(id)),
            ),
        ]);
        let name = a.name().unwrap_or(id).to_string();
        ctx.asset_in(
            "global",
            "aws.organizations.account",
            &arn,
            &name,
            Vec::new(),
            config,
        );
    }
}

/// Accounts under an organizational unit, at any depth.
async fn accounts_under(
    ctx: &Ctx<'_>,
    client: &aws_sdk_organizations::Client,
    ou: &str,
) -> Option<Vec<String>> {
    let mut out = Vec::new();
    let mut pending = vec![ou.to_string()];
    while let Some(parent) = pending.pop() {
        let pages = ctx.ok(
            "ListAccountsForParent",
            client
                .list_accounts_for_parent()
                .parent_id(&parent)
                .into_paginator()
                .send()
                .try_collect()
                .await,
        )?;
        out.extend(
            pages
                .iter()
                .flat_map(|p| p.accounts())
                .filter_map(|a| a.id().map(str::to_string)),
        );
        let pages = ctx.ok(
            "ListOrganizationalUnitsForParent",
            client
                .list_organizational_units_for_parent()
                .parent_id(&parent)
                .into_paginator()
                .send()
                .try_collect()
                .await,
        )?;
        pending.extend(
            pages
                .iter()
                .flat_map(|p| p.organizational_units())
                .filter_map(|u| u.id().map(str::to_string)),
        );
    }
    Some(out)
}

/// Service control policies, each with its document and the member accounts it applies to
/// (through the root, an organizational unit or the account itself; never the management
/// account, which SCPs do not restrict). Listed from the management account only.
async fn service_control_policies(
    ctx: &Ctx<'_>,
    org: &aws_sdk_organizations::types::Organization,
    accounts: &[String],
) {
    use aws_sdk_organizations::types::{PolicyType, TargetType};
    let management = org.master_account_id().unwrap_or_default();
    if management != ctx.account() {
        return;
    }
    let client = aws_sdk_organizations::Client::new(&ctx.config);
    let Some(pages) = ctx.ok(
        "ListPolicies",
        client
            .list_policies()
            .filter(PolicyType::ServiceControlPolicy)
            .into_paginator()
            .send()
            .try_collect()
            .await,
    ) else {
        return;
    };
    let policies: Vec<_> = pages.iter().flat_map(|p| p.policies()).cloned().collect();
    for summary in policies {
        let Some(id) = summary.id() else { continue };
        let Some(described) = ctx.ok(
            "DescribePolicy",
            client.describe_policy().policy_id(id).send().await,
        ) else {
            continue;
        };
        let Some(pages) = ctx.ok(
            "ListTargetsForPolicy",
            client
                .list_targets_for_policy()
                .policy_id(id)
                .into_paginator()
                .send()
                .try_collect()
                .await,
        ) else {
            continue;
        };
        let targets: Vec<_> = pages.iter().flat_map(|p| p.targets()).cloned().collect();
        let mut applies: Vec<String> = Vec::new();
        for t in &targets {
            let target = t.target_id().unwrap_or_default();
            match t.r#type() {
                Some(TargetType::Root) => applies.extend(accounts.iter().cloned()),
                Some(TargetType::Account) => applies.push(target.to_string()),
                Some(TargetType::OrganizationalUnit) => {
                    if let Some(under) = accounts_under(ctx, &client, target).await {
                        applies.extend(under);
                    }
                }
                _ => {}
            }
        }
        applies.retain(|a| a != management);
        applies.sort();
        applies.dedup();
        let content = described
            .policy()
            .and_then(|p| p.content())
            .and_then(|c| serde_json::from_str::<serde_json::Value>(c).ok())
            .unwrap_or(serde_json::Value::Null);
        let arn = summary.arn().unwrap_or(id);
        let config = obj([
            ("id", json!(id)),
            ("arn", json!(arn)),
            ("name", s(summary.name())),
            ("description", s(summary.description())),
            ("type", json!("SERVICE_CONTROL_POLICY")),
            ("awsManaged", json!(summary.aws_managed())),
            ("content", content),
            (
                "targets",
                serde_json::Value::Array(
                    targets
                        .iter()
                        .map(|t| {
                            obj([
                                ("targetId", s(t.target_id())),
                                ("type", e(t.r#type())),
                                ("name", s(t.name())),
                            ])
                        })
                        .collect(),
                ),
            ),
            ("appliesToAccounts", json!(applies)),
        ]);
        let name = summary.name().unwrap_or(id).to_string();
        ctx.asset_in(
            "global",
            "aws.organizations.policy",
            arn,
            &name,
            Vec::new(),
            config,
        );
    }
}
