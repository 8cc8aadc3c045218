//! IAM (global): users, groups, roles, managed and inline policies, instance profiles,
//! access keys, MFA, password policy, credential report, root user, server certificates,
//! SAML/OIDC providers.

use std::collections::HashMap;

use aws_sdk_iam::Client;
use futures_util::StreamExt;
use serde_json::{Value, json};

use crate::util::{b, code, document, e, s, strs, tags, ts};
use crate::{Ctx, key, obj};

const PER_ENTITY_CONCURRENCY: usize = 8;

pub async fn collect(ctx: &Ctx<'_>) {
    let client = Client::new(&ctx.config);
    let report = credential_report(ctx, &client).await;
    futures_util::join!(
        users(ctx, &client, &report),
        groups(ctx, &client),
        roles(ctx, &client),
        policies(ctx, &client),
        instance_profiles(ctx, &client),
        account_settings(ctx, &client, &report),
        server_certificates(ctx, &client),
        identity_providers(ctx, &client),
    );
}

type Report = HashMap<String, HashMap<String, String>>;

/// `GenerateCredentialReport` + `GetCredentialReport`, keyed by user name (`<root_account>`
/// for the root user). Empty when the report cannot be had.
async fn credential_report(ctx: &Ctx<'_>, client: &Client) -> Report {
    let mut out = Report::new();
    for attempt in 0..10 {
        match client.generate_credential_report().send().await {
            Ok(r) if r.state().map(|s| s.as_str()) == Some("COMPLETE") => break,
            Ok(_) => {}
            Err(err) => {
                ctx.error("GenerateCredentialReport", crate::util::error_message(&err));
                return out;
            }
        }
        if attempt < 9 {
            tokio::time::sleep(std::time::Duration::from_millis(500 * (attempt + 1))).await;
        }
    }
    let Some(report) = ctx.ok(
        "GetCredentialReport",
        client.get_credential_report().send().await,
    ) else {
        return out;
    };
    let Some(content) = report.content() else {
        return out;
    };
    let text = String::from_utf8_lossy(content.as_ref()).to_string();
    let mut lines = text.lines();
    let Some(header) = lines.next() else {
        return out;
    };
    let columns: Vec<&str> = header.split(',').collect();
    for line in lines {
        let row: HashMap<String, String> = columns
            .iter()
            .zip(line.split(','))
            .map(|(c, v)| (c.to_string(), v.to_string()))
            .collect();
        if let Some(user) = row.get("user").cloned() {
            out.insert(user, row);
        }
    }
    out
}

fn report_bool(row: Option<&HashMap<String, String>>, col: &str) -> Value {
    row.and_then(|r| r.get(col))
        .map(|v| Value::Bool(v == "true"))
        .unwrap_or(Value::Null)
}

/// A report date column, absent for `N/A`, `no_information`, `not_supported`.
fn report_date(row: Option<&HashMap<String, String>>, col: &str) -> Value {
    row.and_then(|r| r.get(col))
        .filter(|v| v.contains('T'))
        .map(|v| Value::String(v.replace("+00:00", "Z")))
        .unwrap_or(Value::Null)
}

async fn users(ctx: &Ctx<'_>, client: &Client, report: &Report) {
    let Some(list) = ctx.ok(
        "ListUsers",
        client
            .list_users()
            .into_paginator()
            .page_size(ctx.scan.page_size.unwrap_or(100))
            .items()
            .send()
            .try_collect()
            .await,
    ) else {
        return;
    };
    futures_util::stream::iter(list)
        .map(|u| async move {
            let name = u.user_name().to_string();
            // ListUsers leaves the permission boundary out; GetUser has it.
            let boundary = ctx
                .ok("GetUser", client.get_user().user_name(&name).send().await)
                .and_then(|d| d.user().and_then(|u| u.permissions_boundary()).cloned())
                .or_else(|| u.permissions_boundary().cloned());
            let (groups, attached, inline, keys) = (
                ctx.ok(
                    "ListGroupsForUser",
                    client
                        .list_groups_for_user()
                        .user_name(&name)
                        .into_paginator()
                        .items()
                        .send()
                        .try_collect()
                        .await,
                ),
                ctx.ok(
                    "ListAttachedUserPolicies",
                    client
                        .list_attached_user_policies()
                        .user_name(&name)
                        .into_paginator()
                        .items()
                        .send()
                        .try_collect()
                        .await,
                ),
                inline_user_policies(ctx, client, &name).await,
                access_keys(ctx, client, &name).await,
            );
            let row = report.get(&name);
            let groups = groups.unwrap_or_default();
            let attached = attached.unwrap_or_default();
            let config = obj([
                ("userName", json!(name)),
                ("userId", json!(u.user_id())),
                ("arn", json!(u.arn())),
                ("path", json!(u.path())),
                ("createDate", ts(Some(u.create_date()))),
                (
                    "groupList",
                    strs(&groups.iter().map(|g| g.group_name()).collect::<Vec<_>>()),
                ),
                (
                    "attachedManagedPolicies",
                    Value::Array(
                        attached
                            .iter()
                            .map(|p| {
                                obj([
                                    ("policyName", s(p.policy_name())),
                                    ("policyArn", s(p.policy_arn())),
                                ])
                            })
                            .collect(),
                    ),
                ),
                ("userPolicyList", Value::Array(inline)),
                (
                    "permissionsBoundary",
                    boundary
                        .as_ref()
                        .map(|pb| {
                            obj([
                                ("permissionsBoundaryType", e(pb.permissions_boundary_type())),
                                ("permissionsBoundaryArn", s(pb.permissions_boundary_arn())),
                            ])
                        })
                        .unwrap_or(Value::Null),
                ),
                ("passwordEnabled", report_bool(row, "password_enabled")),
                ("passwordLastUsed", report_date(row, "password_last_used")),
                (
                    "passwordLastChanged",
                    report_date(row, "password_last_changed"),
                ),
                ("mfaActive", report_bool(row, "mfa_active")),
                ("accessKeys", Value::Array(keys)),
            ]);
            let tag_list = tags(u.tags(), |t| Some(t.key()), |t| Some(t.value()));
            let k = ctx.asset("aws.iam.user", u.arn(), &name, tag_list, config);
            if let Some(arn) = boundary.as_ref().and_then(|b| b.permissions_boundary_arn()) {
                ctx.edge(&k, key("aws.iam.policy", arn), "bounded_by");
            }
            for g in &groups {
                ctx.edge(&k, key("aws.iam.group", g.arn()), "member_of");
            }
            for p in &attached {
                if let Some(arn) = p.policy_arn() {
                    ctx.edge(&k, key("aws.iam.policy", arn), "attached_to");
                }
            }
        })
        .buffer_unordered(PER_ENTITY_CONCURRENCY)
        .collect::<Vec<()>>()
        .await;
}

async fn inline_user_policies(ctx: &Ctx<'_>, client: &Client, user: &str) -> Vec<Value> {
    let Some(names) = ctx.ok(
        "ListUserPolicies",
        client
            .list_user_policies()
            .user_name(user)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await,
    ) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for n in names {
        if let Some(p) = ctx.ok(
            "GetUserPolicy",
            client
                .get_user_policy()
                .user_name(user)
                .policy_name(&n)
                .send()
                .await,
        ) {
            out.push(obj([
                ("policyName", json!(n)),
                ("policyDocument", document(Some(p.policy_document()))),
            ]));
        }
    }
    out
}

async fn access_keys(ctx: &Ctx<'_>, client: &Client, user: &str) -> Vec<Value> {
    let Some(keys) = ctx.ok(
        "ListAccessKeys",
        client
            .list_access_keys()
            .user_name(user)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await,
    ) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for k in keys {
        let id = k.access_key_id().unwrap_or_default().to_string();
        let last_used = ctx
            .ok(
                "GetAccessKeyLastUsed",
                client
                    .get_access_key_last_used()
                    .access_key_id(&id)
                    .send()
                    .await,
            )
            .and_then(|r| {
                r.access_key_last_used()
                    .and_then(|l| l.last_used_date().copied())
            });
        out.push(obj([
            ("accessKeyId", json!(id)),
            ("status", e(k.status())),
            ("createDate", ts(k.create_date())),
            ("lastUsedDate", ts(last_used.as_ref())),
        ]));
    }
    out
}

async fn groups(ctx: &Ctx<'_>, client: &Client) {
    let Some(list) = ctx.ok(
        "ListGroups",
        client
            .list_groups()
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await,
    ) else {
        return;
    };
    futures_util::stream::iter(list)
        .map(|g| async move {
            let name = g.group_name().to_string();
            let attached = ctx
                .ok(
                    "ListAttachedGroupPolicies",
                    client
                        .list_attached_group_policies()
                        .group_name(&name)
                        .into_paginator()
                        .items()
                        .send()
                        .try_collect()
                        .await,
                )
                .unwrap_or_default();
            let mut inline = Vec::new();
            if let Some(names) = ctx.ok(
                "ListGroupPolicies",
                client
                    .list_group_policies()
                    .group_name(&name)
                    .into_paginator()
                    .items()
                    .send()
                    .try_collect()
                    .await,
            ) {
                for n in names {
                    if let Some(p) = ctx.ok(
                        "GetGroupPolicy",
                        client
                            .get_group_policy()
                            .group_name(&name)
                            .policy_name(&n)
                            .send()
                            .await,
                    ) {
                        inline.push(obj([
                            ("policyName", json!(n)),
                            ("policyDocument", document(Some(p.policy_document()))),
                        ]));
                    }
                }
            }
            let config = obj([
                ("groupName", json!(name)),
                ("groupId", json!(g.group_id())),
                ("arn", json!(g.arn())),
                ("path", json!(g.path())),
                ("createDate", ts(Some(g.create_date()))),
                ("attachedManagedPolicies", attached_json(&attached)),
                ("groupPolicyList", Value::Array(inline)),
            ]);
            let k = ctx.asset("aws.iam.group", g.arn(), &name, Vec::new(), config);
            for p in &attached {
                if let Some(arn) = p.policy_arn() {
                    ctx.edge(&k, key("aws.iam.policy", arn), "attached_to");
                }
            }
        })
        .buffer_unordered(PER_ENTITY_CONCURRENCY)
        .collect::<Vec<()>>()
        .await;
}

fn attached_json(list: &[aws_sdk_iam::types::AttachedPolicy]) -> Value {
    Value::Array(
        list.iter()
            .map(|p| {
                obj([
                    ("policyName", s(p.policy_name())),
                    ("policyArn", s(p.policy_arn())),
                ])
            })
            .collect(),
    )
}

async fn roles(ctx: &Ctx<'_>, client: &Client) {
    let mut pages = client.list_roles().into_paginator();
    if let Some(n) = ctx.scan.page_size {
        pages = pages.page_size(n);
    }
    let Some(list) = ctx.ok("ListRoles", pages.items().send().try_collect().await) else {
        return;
    };
    futures_util::stream::iter(list)
        .map(|r| async move {
            let name = r.role_name().to_string();
            // ListRoles leaves the permission boundary out; GetRole has it.
            let boundary = ctx
                .ok("GetRole", client.get_role().role_name(&name).send().await)
                .and_then(|d| d.role().and_then(|r| r.permissions_boundary()).cloned())
                .or_else(|| r.permissions_boundary().cloned());
            let (attached, profiles) = (
                ctx.ok(
                    "ListAttachedRolePolicies",
                    client
                        .list_attached_role_policies()
                        .role_name(&name)
                        .into_paginator()
                        .items()
                        .send()
                        .try_collect()
                        .await,
                ),
                ctx.ok(
                    "ListInstanceProfilesForRole",
                    client
                        .list_instance_profiles_for_role()
                        .role_name(&name)
                        .into_paginator()
                        .items()
                        .send()
                        .try_collect()
                        .await,
                ),
            );
            let attached = attached.unwrap_or_default();
            let mut inline = Vec::new();
            if let Some(names) = ctx.ok(
                "ListRolePolicies",
                client
                    .list_role_policies()
                    .role_name(&name)
                    .into_paginator()
                    .items()
                    .send()
                    .try_collect()
                    .await,
            ) {
                for n in names {
                    if let Some(p) = ctx.ok(
                        "GetRolePolicy",
                        client
                            .get_role_policy()
                            .role_name(&name)
                            .policy_name(&n)
                            .send()
                            .await,
                    ) {
                        inline.push(obj([
                            ("policyName", json!(n)),
                            ("policyDocument", document(Some(p.policy_document()))),
                        ]));
                    }
                }
            }
            let profiles: Vec<Value> = profiles
                .unwrap_or_default()
                .iter()
                .map(|p| {
                    obj([
                        ("instanceProfileName", json!(p.instance_profile_name())),
                        ("instanceProfileId", json!(p.instance_profile_id())),
                        ("arn", json!(p.arn())),
                        ("path", json!(p.path())),
                    ])
                })
                .collect();
            let config = obj([
                ("roleName", json!(name)),
                ("roleId", json!(r.role_id())),
                ("arn", json!(r.arn())),
                ("path", json!(r.path())),
                ("description", s(r.description())),
                ("createDate", ts(Some(r.create_date()))),
                (
                    "maxSessionDuration",
                    crate::util::i(r.max_session_duration()),
                ),
                (
                    "assumeRolePolicyDocument",
                    document(r.assume_role_policy_document()),
                ),
                ("attachedManagedPolicies", attached_json(&attached)),
                ("rolePolicyList", Value::Array(inline)),
                ("instanceProfileList", Value::Array(profiles)),
                (
                    "permissionsBoundary",
                    boundary
                        .as_ref()
                        .map(|pb| {
                            obj([
                                ("permissionsBoundaryType", e(pb.permissions_boundary_type())),
                                ("permissionsBoundaryArn", s(pb.permissions_boundary_arn())),
                            ])
                        })
                        .unwrap_or(Value::Null),
                ),
                (
                    "roleLastUsed",
                    r.role_last_used()
                        .map(|l| {
                            obj([
                                ("lastUsedDate", ts(l.last_used_date())),
                                ("region", s(l.region())),
                            ])
                        })
                        .unwrap_or(Value::Null),
                ),
            ]);
            let tag_list = tags(r.tags(), |t| Some(t.key()), |t| Some(t.value()));
            let k = ctx.asset("aws.iam.role", r.arn(), &name, tag_list, config);
            if let Some(arn) = boundary.as_ref().and_then(|b| b.permissions_boundary_arn()) {
                ctx.edge(&k, key("aws.iam.policy", arn), "bounded_by");
            }
            for p in &attached {
                if let Some(arn) = p.policy_arn() {
                    ctx.edge(&k, key("aws.iam.policy", arn), "attached_to");
                }
            }
        })
        .buffer_unordered(PER_ENTITY_CONCURRENCY)
        .collect::<Vec<()>>()
        .await;
}

/// Customer-managed policies, and AWS-managed ones that are attached to something.
async fn policies(ctx: &Ctx<'_>, client: &Client) {
    let mut all = Vec::new();
    for (scope, only_attached) in [
        (aws_sdk_iam::types::PolicyScopeType::Local, false),
        (aws_sdk_iam::types::PolicyScopeType::Aws, true),
    ] {
        if let Some(list) = ctx.ok(
            "ListPolicies",
            client
                .list_policies()
                .scope(scope)
                .only_attached(only_attached)
                .into_paginator()
                .items()
                .send()
                .try_collect()
                .await,
        ) {
            all.extend(list);
        }
    }
    futures_util::stream::iter(all)
        .map(|p| async move {
            let Some(arn) = p.arn().map(str::to_string) else {
                return;
            };
            let version = match p.default_version_id() {
                Some(v) => ctx
                    .ok(
                        "GetPolicyVersion",
                        client
                            .get_policy_version()
                            .policy_arn(&arn)
                            .version_id(v)
                            .send()
                            .await,
                    )
                    .and_then(|r| r.policy_version().cloned()),
                None => None,
            };
            let doc = version
                .as_ref()
                .map(|v| document(v.document()))
                .unwrap_or(Value::Null);
            let versions = match &version {
                Some(v) => json!([obj([
                    ("versionId", s(v.version_id())),
                    ("isDefaultVersion", json!(v.is_default_version())),
                    ("createDate", ts(v.create_date())),
                    ("document", doc.clone()),
                ])]),
                None => json!([]),
            };
            let name = p.policy_name().unwrap_or_default().to_string();
            let config = obj([
                ("policyName", json!(name)),
                ("policyId", s(p.policy_id())),
                ("arn", json!(arn)),
                ("path", s(p.path())),
                ("description", s(p.description())),
                ("defaultVersionId", s(p.default_version_id())),
                ("attachmentCount", crate::util::i(p.attachment_count())),
                (
                    "permissionsBoundaryUsageCount",
                    crate::util::i(p.permissions_boundary_usage_count()),
                ),
                ("isAttachable", json!(p.is_attachable())),
                ("createDate", ts(p.create_date())),
                ("updateDate", ts(p.update_date())),
                ("policyVersionList", versions),
                ("document", doc),
            ]);
            ctx.asset("aws.iam.policy", &arn, &name, Vec::new(), config);
        })
        .buffer_unordered(PER_ENTITY_CONCURRENCY)
        .collect::<Vec<()>>()
        .await;
}

async fn instance_profiles(ctx: &Ctx<'_>, client: &Client) {
    let Some(list) = ctx.ok(
        "ListInstanceProfiles",
        client
            .list_instance_profiles()
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await,
    ) else {
        return;
    };
    for p in list {
        let config = obj([
            ("instanceProfileName", json!(p.instance_profile_name())),
            ("instanceProfileId", json!(p.instance_profile_id())),
            ("arn", json!(p.arn())),
            ("path", json!(p.path())),
            ("createDate", ts(Some(p.create_date()))),
            (
                "roles",
                Value::Array(
                    p.roles()
                        .iter()
                        .map(|r| obj([("roleName", json!(r.role_name())), ("arn", json!(r.arn()))]))
                        .collect(),
                ),
            ),
        ]);
        let k = ctx.asset(
            "aws.iam.instance_profile",
            p.arn(),
            p.instance_profile_name(),
            Vec::new(),
            config,
        );
        for r in p.roles() {
            ctx.edge(&k, key("aws.iam.role", r.arn()), "uses");
        }
    }
}

/// Password policy and the root user (credential report + account summary + virtual MFA).
async fn account_settings(ctx: &Ctx<'_>, client: &Client, report: &Report) {
    let account = ctx.account().to_string();
    let policy = match client.get_account_password_policy().send().await {
        Ok(r) => r.password_policy().map(|p| {
            obj([
                (
                    "minimumPasswordLength",
                    crate::util::i(p.minimum_password_length()),
                ),
                ("requireSymbols", json!(p.require_symbols())),
                ("requireNumbers", json!(p.require_numbers())),
                (
                    "requireUppercaseCharacters",
                    json!(p.require_uppercase_characters()),
                ),
                (
                    "requireLowercaseCharacters",
                    json!(p.require_lowercase_characters()),
                ),
                (
                    "allowUsersToChangePassword",
                    json!(p.allow_users_to_change_password()),
                ),
                ("expirePasswords", json!(p.expire_passwords())),
                ("hardExpiry", b(p.hard_expiry())),
                ("maxPasswordAge", crate::util::i(p.max_password_age())),
                (
                    "passwordReusePrevention",
                    crate::util::i(p.password_reuse_prevention()),
                ),
            ])
        }),
        Err(err) if code(&err) == Some("NoSuchEntity") => Some(json!({})),
        Err(err) => {
            ctx.error("GetAccountPasswordPolicy", crate::util::error_message(&err));
            None
        }
    };
    if let Some(config) = policy {
        ctx.asset(
            "aws.iam.password_policy",
            &format!("{account}/password-policy"),
            "password-policy",
            Vec::new(),
            config,
        );
    }

    let summary = ctx
        .ok(
            "GetAccountSummary",
            client.get_account_summary().send().await,
        )
        .map(|r| {
            r.summary_map()
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| (k.as_str().to_string(), *v))
                        .collect::<HashMap<String, i32>>()
                })
                .unwrap_or_default()
        });
    let virtual_mfa = ctx.ok(
        "ListVirtualMFADevices",
        client
            .list_virtual_mfa_devices()
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await,
    );
    let root_arn = format!("arn:{}:iam::{account}:root", ctx.scan.partition);
    let root_serials: Vec<String> = virtual_mfa
        .unwrap_or_default()
        .iter()
        .filter(|d| {
            d.user()
                .is_some_and(|u| u.arn() == root_arn || u.user_name() == "<root_account>")
        })
        .map(|d| d.serial_number().to_string())
        .collect();
    let row = report.get("<root_account>");
    let flag = |name: &str| -> Value {
        summary
            .as_ref()
            .map(|m| Value::Bool(m.get(name).copied().unwrap_or(0) == 1))
            .unwrap_or(Value::Null)
    };
    // Without a `<root_account>` report row (an emulator's report may lack it), the account
    // summary still tells whether the root user has MFA and access keys.
    let (mfa, key1, key2) = match row {
        Some(_) => (
            report_bool(row, "mfa_active"),
            report_bool(row, "access_key_1_active"),
            report_bool(row, "access_key_2_active"),
        ),
        None => (
            flag("AccountMFAEnabled"),
            flag("AccountAccessKeysPresent"),
            summary
                .as_ref()
                .map(|_| json!(false))
                .unwrap_or(Value::Null),
        ),
    };
    let config = obj([
        ("arn", json!(root_arn)),
        ("passwordLastUsed", report_date(row, "password_last_used")),
        ("mfaActive", mfa),
        ("accessKey1Active", key1),
        ("accessKey2Active", key2),
        (
            "accessKey1LastUsedDate",
            report_date(row, "access_key_1_last_used_date"),
        ),
        (
            "accessKey2LastUsedDate",
            report_date(row, "access_key_2_last_used_date"),
        ),
        ("accountMfaEnabled", flag("AccountMFAEnabled")),
        ("accountAccessKeysPresent", flag("AccountAccessKeysPresent")),
        ("virtualMfaSerialNumbers", strs(&root_serials)),
    ]);
    ctx.asset("aws.iam.root_user", &root_arn, "root", Vec::new(), config);
}

async fn server_certificates(ctx: &Ctx<'_>, client: &Client) {
    let Some(list) = ctx.ok(
        "ListServerCertificates",
        client
            .list_server_certificates()
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await,
    ) else {
        return;
    };
    for c in list {
        let config = obj([
            ("serverCertificateName", json!(c.server_certificate_name())),
            ("serverCertificateId", json!(c.server_certificate_id())),
            ("arn", json!(c.arn())),
            ("path", json!(c.path())),
            ("uploadDate", ts(c.upload_date())),
            ("expiration", ts(c.expiration())),
        ]);
        ctx.asset(
            "aws.iam.server_certificate",
            c.arn(),
            c.server_certificate_name(),
            Vec::new(),
            config,
        );
    }
}

async fn identity_providers(ctx: &Ctx<'_>, client: &Client) {
    if let Some(r) = ctx.ok(
        "ListSAMLProviders",
        client.list_saml_providers().send().await,
    ) {
        for p in r.saml_provider_list() {
            let Some(arn) = p.arn() else { continue };
            let name = arn.rsplit('/').next().unwrap_or(arn);
            let config = obj([
                ("arn", json!(arn)),
                ("validUntil", ts(p.valid_until())),
                ("createDate", ts(p.create_date())),
            ]);
            ctx.asset("aws.iam.saml_provider", arn, name, Vec::new(), config);
        }
    }
    if let Some(r) = ctx.ok(
        "ListOpenIDConnectProviders",
        client.list_open_id_connect_providers().send().await,
    ) {
        for p in r.open_id_connect_provider_list() {
            let Some(arn) = p.arn() else { continue };
            let name = arn.rsplit('/').next().unwrap_or(arn);
            ctx.asset(
                "aws.iam.oidc_provider",
                arn,
                name,
                Vec::new(),
                obj([("arn", json!(arn))]),
            );
        }
    }
}

/// `ListAccountAliases` (first alias) for the `aws.account` asset.
pub async fn account_alias(ctx: &Ctx<'_>) -> Option<String> {
    let client = Client::new(&ctx.config);
    ctx.ok(
        "ListAccountAliases",
        client.list_account_aliases().send().await,
    )
    .and_then(|r| r.account_aliases().first().cloned())
}

/// `ListEntitiesForPolicy` of the AWSSupportAccess managed policy.
pub async fn support_policy_entities(ctx: &Ctx<'_>) -> Value {
    let client = Client::new(&ctx.config);
    let arn = format!(
        "arn:{}:iam::aws:policy/AWSSupportAccess",
        ctx.scan.partition
    );
    let Some(r) = ctx.ok(
        "ListEntitiesForPolicy",
        client
            .list_entities_for_policy()
            .policy_arn(arn)
            .send()
            .await,
    ) else {
        return Value::Null;
    };
    json!({
        "policyRoles": r.policy_roles().iter().map(|x| obj([("roleName", s(x.role_name())), ("roleId", s(x.role_id()))])).collect::<Vec<_>>(),
        "policyUsers": r.policy_users().iter().map(|x| obj([("userName", s(x.user_name())), ("userId", s(x.user_id()))])).collect::<Vec<_>>(),
        "policyGroups": r.policy_groups().iter().map(|x| obj([("groupName", s(x.group_name())), ("groupId", s(x.group_id()))])).collect::<Vec<_>>(),
    })
}
