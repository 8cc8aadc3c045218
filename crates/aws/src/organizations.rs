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
