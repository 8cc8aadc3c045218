//! Record/replay tests of the live collector against a local fake of the token endpoint, Azure
//! Resource Manager (Resource Graph included) and Microsoft Graph (tests/fake).

mod fake;

use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use fake::{CLIENT_ID, Fake, SECRET, SUB, TENANT};
use rampart_azure::{AzureError, Collection, NoProgress, Progress, collect};
use rampart_model::{Asset, FindingStatus};

fn asset<'a>(c: &'a Collection, ty: &str, name: &str) -> &'a Asset {
    c.inventory
        .assets
        .iter()
        .find(|a| a.resource_type.as_str() == ty && a.name == name)
        .unwrap_or_else(|| panic!("no {ty} {name}"))
}

fn has_edge(c: &Collection, from: &Asset, kind: &str, to: &Asset) -> bool {
    c.inventory
        .relationships
        .iter()
        .any(|r| r.from == from.id && r.to == to.id && *r.kind == *kind)
}

#[derive(Default)]
struct Recorder {
    events: Mutex<Vec<String>>,
}

impl Progress for Recorder {
    fn plan(&self, units: &[(String, String)]) {
        self.events
            .lock()
            .expect("events")
            .push(format!("plan {}", units.len()));
    }
    fn started(&self, service: &str, scope: &str) {
        self.events
            .lock()
            .expect("events")
            .push(format!("start {service} {scope}"));
    }
    fn finished(&self, service: &str, scope: &str, assets: usize, errors: usize) {
        self.events
            .lock()
            .expect("events")
            .push(format!("finish {service} {scope} {assets} {errors}"));
    }
}

#[tokio::test]
async fn full_scan_pages_through_every_api_and_matches_the_importer_shapes() {
    let fake = Fake::start().await;
    let progress = Recorder::default();
    let c = collect(&fake.config(), &progress).await.expect("scan");
    assert!(c.errors.is_empty(), "{:#?}", c.errors);
    assert_eq!(c.subscriptions, vec![SUB.to_string()]);

    // Resource Graph: the resources query took two pages ($skipToken).
    assert_eq!(
        fake.requests("POST /providers/Microsoft.ResourceGraph/resources"),
        6
    );
    let bodies = fake.stats.lock().expect("stats").graph_queries.clone();
    assert!(
        bodies
            .iter()
            .any(|b| b["options"]["$skipToken"] == "page-1")
    );
    assert!(bodies.iter().all(|b| b["options"]["$top"] == 1000));
    let st = asset(&c, "azure.storage.account", "stprodlogs");
    assert_eq!(st.account, SUB);
    assert_eq!(st.region, "westeurope");
    assert_eq!(
        st.config["blobServiceProperties"]["deleteRetentionPolicy"]["enabled"],
        false
    );
    assert_eq!(st.config["containers"][0]["name"], "insights-logs");
    assert!(st.config["diagnosticSettings"]["account"].is_array());
    // The second page of Resource Graph and of the key listing (nextLink).
    let kv = asset(&c, "azure.keyvault.vault", "kv-prod");
    assert_eq!(kv.config["keys"].as_array().map(Vec::len), Some(2));
    assert_eq!(kv.config["diagnosticSettings"][0]["name"], "audit");
    let vm = asset(&c, "azure.compute.vm", "vm-web");
    assert_eq!(vm.config["extensions"][0]["name"], "MDE.Linux");
    let sql = asset(&c, "azure.sql.server", "sql-prod");
    assert_eq!(sql.config["auditingSettings"]["state"], "Disabled");
    assert_eq!(sql.config["firewallRules"][0]["name"], "AllowAll");
    assert_eq!(
        sql.config["encryptionProtector"]["serverKeyType"],
        "ServiceManaged"
    );
    // Not configured (404): absent, not an error.
    assert!(sql.config.get("vulnerabilityAssessments").is_none());
    let sub = asset(&c, "azure.resources.subscription", "prod");
    assert_eq!(sub.config["pricings"][0]["name"], "VirtualMachines");
    assert_eq!(
        sub.config["securityContacts"][0]["properties"]["alertNotifications"]["minimalSeverity"],
        "High"
    );
    assert_eq!(
        sub.config["autoProvisioningSettings"][0]["properties"]["autoProvision"],
        "Off"
    );
    assert_eq!(sub.config["securitySettings"][0]["name"], "MCAS");
    let rg = asset(&c, "azure.resources.resourcegroup", "rg-prod");
    assert_eq!(rg.config["locks"], serde_json::json!([]));
    // The built-in role definition (no subscription) belongs to the tenant.
    let owner = c
        .inventory
        .assets
        .iter()
        .find(|a| a.resource_type.as_str() == "azure.authorization.roledefinition")
        .expect("role definition");
    assert_eq!(owner.account, TENANT);

    // Microsoft Graph: users over two pages (@odata.nextLink), merged keys.
    let bob = asset(&c, "azure.entra.user", "Bob Builder");
    let bea = asset(&c, "azure.entra.user", "Bea Builder");
    assert_eq!(bob.account, TENANT);
    assert_eq!(bob.config["registrationDetails"]["isMfaRegistered"], true);
    assert_eq!(
        bob.config["directoryRoles"],
        serde_json::json!(["Global Administrator"])
    );
    assert_eq!(bea.config["directoryRoles"], serde_json::json!([]));
    // Role members are read per role, over two pages.
    let role = asset(&c, "azure.entra.directoryrole", "Global Administrator");
    assert_eq!(role.config["members"].as_array().map(Vec::len), Some(2));
    assert!(bob.config.get("@odata.context").is_none());
    let tenant = asset(&c, "azure.entra.tenant", "Contoso Ltd");
    assert_eq!(tenant.config["securityDefaults"]["isEnabled"], false);
    assert_eq!(
        tenant.config["authorizationPolicy"]["allowInvitesFrom"],
        "everyone"
    );
    assert_eq!(tenant.config["groupSettings"]["LockoutThreshold"], "10");
    assert_eq!(
        tenant.config["deviceRegistrationPolicy"]["multiFactorAuthConfiguration"],
        "notRequired"
    );
    assert_eq!(
        tenant.config["adminConsentRequestPolicy"]["isEnabled"],
        false
    );
    // The subscription policy comes from ARM, merged into the organization object.
    assert_eq!(
        tenant.config["subscriptionPolicy"]["blockSubscriptionsLeavingTenant"],
        true
    );
    asset(
        &c,
        "azure.entra.conditionalaccesspolicy",
        "Require MFA for admins",
    );
    asset(&c, "azure.entra.namedlocation", "Office");
    asset(&c, "azure.entra.group", "Admins");
    let sp = asset(&c, "azure.entra.serviceprincipal", "rampart-reader");
    let app = asset(&c, "azure.entra.application", "rampart-reader");
    assert!(has_edge(&c, sp, "instance_of", app));
    assert!(has_edge(&c, tenant, "contains", sub));
    let ra = c
        .inventory
        .assets
        .iter()
        .find(|a| a.resource_type.as_str() == "azure.authorization.roleassignment")
        .expect("role assignment");
    assert!(has_edge(&c, ra, "assigned_to", bob));
    // The group holding a role assignment has its (transitive) members read.
    let admins = asset(&c, "azure.entra.group", "Admins");
    assert_eq!(admins.config["members"][0]["displayName"], "Bea Builder");
    assert!(has_edge(&c, bea, "member_of", admins));
    assert!(has_edge(&c, ra, "uses", owner));
    assert!(has_edge(&c, kv, "contains", kv) || has_edge(&c, rg, "contains", kv));

    // One token per scope, reused.
    assert_eq!(
        fake.token_requests("https://management.azure.com/.default"),
        1
    );
    assert_eq!(
        fake.token_requests("https://graph.microsoft.com/.default"),
        1
    );

    // The same inventory as the offline importer would build from the same objects.
    let events = progress.events.lock().expect("events").clone();
    assert!(events[0].starts_with("plan "));
    assert!(events.contains(&"start resourcegraph subscriptions".to_string()));
    assert!(events.iter().any(|e| e.starts_with("finish entra tenant ")));
    assert!(
        events
            .iter()
            .any(|e| e == "finish resourcegraph subscriptions 11 0")
    );
}

#[tokio::test]
async fn subscriptions_are_listed_when_not_given() {
    let fake = Fake::start().await;
    let mut cfg = fake.config();
    cfg.subscriptions = None;
    cfg.skip_entra = true;
    let c = collect(&cfg, &NoProgress).await.expect("scan");
    assert!(c.errors.is_empty(), "{:#?}", c.errors);
    // The disabled subscription is skipped.
    assert_eq!(c.subscriptions, vec![SUB.to_string()]);
    assert_eq!(fake.requests("GET /v1.0"), 0);
    assert!(
        c.inventory
            .assets
            .iter()
            .all(|a| !a.resource_type.as_str().starts_with("azure.entra."))
    );
}

#[tokio::test]
async fn throttling_honours_retry_after_then_succeeds() {
    let fake = Fake::start().await;
    fake.knobs
        .lock()
        .expect("knobs")
        .throttle
        .insert("/providers/Microsoft.ResourceGraph".into(), 1);
    fake.knobs
        .lock()
        .expect("knobs")
        .throttle
        .insert("/v1.0/groups".into(), 1);
    let mut cfg = fake.config();
    cfg.subscriptions = Some(vec![SUB.into()]);
    let started = Instant::now();
    let c = collect(&cfg, &NoProgress).await.expect("scan");
    let took = started.elapsed();
    assert!(c.errors.is_empty(), "{:#?}", c.errors);
    assert!(
        took >= Duration::from_millis(1900),
        "Retry-After: 1 honoured twice: {took:?}"
    );
    // 6 answered + 1 throttled.
    assert_eq!(
        fake.requests("POST /providers/Microsoft.ResourceGraph/resources"),
        7
    );
    asset(&c, "azure.entra.group", "Admins");
}

#[tokio::test]
async fn persistent_throttling_gives_up_after_the_bounded_attempts() {
    let fake = Fake::start().await;
    {
        let mut k = fake.knobs.lock().expect("knobs");
        k.retry_after = "0".into();
        k.throttle.insert("/v1.0/applications".into(), 100);
    }
    let c = collect(&fake.config(), &NoProgress).await.expect("scan");
    assert_eq!(
        fake.requests("GET /v1.0/applications"),
        3,
        "max_attempts = 3"
    );
    let e = c
        .errors
        .iter()
        .find(|e| e.operation == "GET /applications")
        .expect("recorded");
    assert_eq!(e.service, "entra");
    assert!(e.message.contains("429"), "{}", e.message);
    asset(&c, "azure.entra.user", "Bob Builder");
}

#[tokio::test]
async fn an_expired_token_is_refreshed_once() {
    let fake = Fake::start().await;
    fake.knobs.lock().expect("knobs").expire_next_arm = true;
    let c = collect(&fake.config(), &NoProgress).await.expect("scan");
    assert!(c.errors.is_empty(), "{:#?}", c.errors);
    assert_eq!(
        fake.token_requests("https://management.azure.com/.default"),
        2
    );
    asset(&c, "azure.storage.account", "stprodlogs");
}

#[tokio::test]
async fn a_forbidden_api_is_a_service_error_and_the_rest_is_kept() {
    let fake = Fake::start().await;
    fake.knobs
        .lock()
        .expect("knobs")
        .forbid
        .push("/v1.0/identity/conditionalAccess".into());
    let progress = Recorder::default();
    let c = collect(&fake.config(), &progress).await.expect("scan");
    assert_eq!(c.errors.len(), 2, "{:#?}", c.errors);
    for e in &c.errors {
        assert_eq!(e.service, "conditional-access");
        assert_eq!(e.account, TENANT);
        assert!(e.message.contains("403"), "{}", e.message);
        assert!(
            e.message.contains("Insufficient privileges"),
            "{}",
            e.message
        );
    }
    assert!(
        c.errors
            .iter()
            .any(|e| e.operation == "GET /identity/conditionalAccess/policies")
    );
    // Users, tenant policies and every ARM asset are still there.
    asset(&c, "azure.entra.user", "Bob Builder");
    asset(&c, "azure.entra.tenant", "Contoso Ltd");
    asset(&c, "azure.storage.account", "stprodlogs");
    asset(&c, "azure.sql.server", "sql-prod");
    assert!(
        c.inventory
            .assets
            .iter()
            .all(|a| a.resource_type.as_str() != "azure.entra.conditionalaccesspolicy")
    );
    let events = progress.events.lock().expect("events").clone();
    assert!(
        events.contains(&"finish conditional-access tenant 0 2".to_string()),
        "{events:?}"
    );
}

#[tokio::test]
async fn refused_credentials_are_fatal_and_name_the_client_not_the_secret() {
    let fake = Fake::start().await;
    let mut cfg = fake.config();
    cfg.client_secret = rampart_azure::ClientSecret::new("wrong-secret-value");
    let err = collect(&cfg, &NoProgress).await.expect_err("refused");
    let AzureError::Authentication(msg) = &err else {
        panic!("{err:?}");
    };
    assert!(msg.contains(CLIENT_ID), "{msg}");
    assert!(msg.contains(TENANT), "{msg}");
    assert!(msg.contains("invalid_client"), "{msg}");
    assert!(msg.contains("AADSTS7000215"), "{msg}");
    for text in [err.to_string(), format!("{err:?}")] {
        assert!(!text.contains("wrong-secret-value"), "{text}");
        assert!(!text.contains(SECRET), "{text}");
    }
    assert_eq!(fake.requests("GET"), 0);
    assert_eq!(fake.requests("POST"), 0);
}

#[tokio::test]
async fn a_malformed_response_is_recorded_naming_the_operation() {
    let fake = Fake::start().await;
    {
        let mut k = fake.knobs.lock().expect("knobs");
        k.malformed.push(format!(
            "/subscriptions/{SUB}/providers/Microsoft.Security/pricings"
        ));
        k.malformed.push("/v1.0/groupSettings".into());
    }
    let c = collect(&fake.config(), &NoProgress).await.expect("scan");
    assert_eq!(c.errors.len(), 2, "{:#?}", c.errors);
    let pricing = c
        .errors
        .iter()
        .find(|e| e.operation == "GET /providers/Microsoft.Security/pricings")
        .expect("pricings error");
    assert_eq!(pricing.service, "defender");
    assert_eq!(pricing.account, SUB);
    assert!(
        pricing.message.contains("malformed response"),
        "{}",
        pricing.message
    );
    let settings = c
        .errors
        .iter()
        .find(|e| e.operation == "GET /groupSettings")
        .expect("groupSettings error");
    assert_eq!(settings.service, "entra-policies");
    let sub = asset(&c, "azure.resources.subscription", "prod");
    assert!(sub.config.get("pricings").is_none());
    assert_eq!(sub.config["securityContacts"][0]["name"], "default");
    let tenant = asset(&c, "azure.entra.tenant", "Contoso Ltd");
    assert!(tenant.config.get("groupSettings").is_none());
    assert_eq!(tenant.config["securityDefaults"]["isEnabled"], false);
}

#[tokio::test]
async fn a_malformed_resource_graph_answer_is_recorded_per_query() {
    // Every Resource Graph query answers something that is not JSON: one error per query, and
    // Microsoft Graph goes on.
    let fake = Fake::start().await;
    fake.knobs
        .lock()
        .expect("knobs")
        .malformed
        .push("/providers/Microsoft.ResourceGraph".into());
    let c = collect(&fake.config(), &NoProgress).await.expect("scan");
    assert_eq!(c.errors.len(), 5, "{:#?}", c.errors);
    assert!(c.errors.iter().all(|e| e.service == "resourcegraph"));
    assert!(c.errors.iter().any(|e| e.operation == "resources query"));
    assert!(
        c.errors
            .iter()
            .any(|e| e.operation == "securityresources assessments query")
    );
    assert!(
        c.errors
            .iter()
            .any(|e| e.operation == "authorizationresources query")
    );
    // Entra is still there: the tenant comes from the organization object.
    asset(&c, "azure.entra.user", "Bea Builder");
}

#[tokio::test]
async fn plain_http_is_refused_unless_allowed() {
    let fake = Fake::start().await;
    let mut cfg = fake.config();
    cfg.allow_insecure_http = false;
    let err = collect(&cfg, &NoProgress).await.expect_err("refused");
    assert!(matches!(err, AzureError::Config(_)), "{err:?}");
    assert!(err.to_string().contains("plain http"), "{err}");
    assert_eq!(
        fake.token_requests("https://management.azure.com/.default"),
        0
    );
}

#[test]
fn debug_output_never_shows_the_secret() {
    let cfg = rampart_azure::AzureScanConfig {
        tenant_id: TENANT.into(),
        client_id: CLIENT_ID.into(),
        client_secret: rampart_azure::ClientSecret::new(SECRET),
        ..Default::default()
    };
    let text = format!("{cfg:?} {:?}", cfg.clone());
    assert!(!text.contains(SECRET), "{text}");
    assert!(text.contains("redacted"));
    assert!(text.contains(CLIENT_ID));
}

#[tokio::test]
async fn the_builtin_catalog_finds_the_seeded_problems() {
    let fake = Fake::start().await;
    let mut cfg = fake.config();
    let now = Utc
        .with_ymd_and_hms(2026, 11, 30, 0, 0, 0)
        .single()
        .expect("time");
    cfg.observed_at = Some(now);
    let c = collect(&cfg, &NoProgress).await.expect("scan");
    assert!(c.errors.is_empty(), "{:#?}", c.errors);
    let catalog = rampart_rules::Catalog::builtin().expect("catalog");
    let evals = catalog.evaluate(&c.inventory, now);
    let status = |control: &str, a: &Asset| {
        evals
            .iter()
            .find(|e| e.control_id == control && e.asset_id == a.id)
            .map(|e| e.status)
            .unwrap_or_else(|| panic!("{control} not evaluated on {}", a.name))
    };
    let st = asset(&c, "azure.storage.account", "stprodlogs");
    let kv = asset(&c, "azure.keyvault.vault", "kv-prod");
    let sub = asset(&c, "azure.resources.subscription", "prod");
    let tenant = asset(&c, "azure.entra.tenant", "Contoso Ltd");
    let bob = asset(&c, "azure.entra.user", "Bob Builder");
    let bea = asset(&c, "azure.entra.user", "Bea Builder");
    assert_eq!(
        status("azure-storage-blob-anonymous-access-disabled", st),
        FindingStatus::Fail
    );
    assert_eq!(
        status("azure-keyvault-keys-expire", kv),
        FindingStatus::Fail
    );
    assert_eq!(
        status("azure-keyvault-rbac-authorization", kv),
        FindingStatus::Pass
    );
    assert_eq!(
        status("azure-security-defender-for-servers", sub),
        FindingStatus::Fail
    );
    assert_eq!(
        status("azure-security-defender-for-storage", sub),
        FindingStatus::Pass
    );
    // The Containers plan is on with agentless discovery, without image scanning.
    assert_eq!(
        status("azure-security-defender-for-containers", sub),
        FindingStatus::Pass
    );
    assert_eq!(
        status("azure-security-containers-agentless-discovery", sub),
        FindingStatus::Pass
    );
    assert_eq!(
        status(
            "azure-security-containers-agentless-vulnerability-assessment",
            sub
        ),
        FindingStatus::Fail
    );
    assert_eq!(
        status("azure-entra-security-defaults-enabled", tenant),
        FindingStatus::Fail
    );
    assert_eq!(
        status("azure-entra-subscription-transfer-blocked", tenant),
        FindingStatus::Fail
    );
    assert_eq!(
        status("azure-entra-privileged-user-mfa-registered", bob),
        FindingStatus::Pass
    );
    assert_eq!(
        status("azure-entra-user-mfa-registered", bob),
        FindingStatus::NotApplicable
    );
    // Bea holds Owner through the Admins group (its members were read because of the group's
    // role assignment): privileged, and without MFA.
    assert_eq!(
        status("azure-entra-privileged-user-mfa-registered", bea),
        FindingStatus::Fail
    );
    assert_eq!(
        status("azure-entra-user-mfa-registered", bea),
        FindingStatus::NotApplicable
    );
}

#[tokio::test]
async fn users_are_read_without_sign_in_activity_when_not_licensed() {
    let fake = Fake::start().await;
    fake.knobs.lock().expect("knobs").forbid.push(format!(
        "/v1.0/users?$select={}",
        rampart_azure::USER_SELECT
    ));
    let c = collect(&fake.config(), &NoProgress).await.expect("scan");
    assert!(c.errors.is_empty(), "{:#?}", c.errors);
    let bob = asset(&c, "azure.entra.user", "Bob Builder");
    assert!(bob.config.get("signInActivity").is_none());
    assert_eq!(bob.config["registrationDetails"]["isMfaRegistered"], true);
    assert_eq!(fake.requests("GET /v1.0/users"), 2);
}

#[tokio::test]
async fn a_malformed_row_is_skipped_and_named_and_truncation_is_reported() {
    let fake = Fake::start().await;
    let pages: serde_json::Value = serde_json::json!([{
        "totalRecords": 3, "count": 2, "resultTruncated": "true",
        "data": [
            {"id": format!("/subscriptions/{SUB}/resourceGroups/rg-prod/providers/Microsoft.Network/publicIPAddresses/pip-1"),
             "name": "pip-1", "location": "westeurope", "subscriptionId": SUB, "resourceGroup": "rg-prod",
             "properties": {"ipAddress": "203.0.113.7"}},
            {"id": format!("/subscriptions/{SUB}/resourceGroups/rg-prod/providers/Microsoft.Network/publicIPAddresses/pip-2"),
             "name": "pip-2", "type": "microsoft.network/publicipaddresses", "location": "westeurope",
             "subscriptionId": SUB, "resourceGroup": "rg-prod", "tenantId": TENANT,
             "properties": {"ipAddress": "203.0.113.8"}}
        ]
    }]);
    fake.knobs
        .lock()
        .expect("knobs")
        .table_overrides
        .insert("resources".into(), pages);
    let c = collect(&fake.config(), &NoProgress).await.expect("scan");
    assert_eq!(c.errors.len(), 2, "{:#?}", c.errors);
    let row = c
        .errors
        .iter()
        .find(|e| e.message.contains("malformed row"))
        .expect("row error");
    assert_eq!(row.operation, "resources query");
    assert!(row.message.contains("pip-1"), "{}", row.message);
    assert!(row.message.contains("type"), "{}", row.message);
    assert!(
        c.errors
            .iter()
            .any(|e| e.message.contains("resultTruncated"))
    );
    let pip = asset(&c, "azure.network.publicip", "pip-2");
    assert_eq!(pip.config["properties"]["ipAddress"], "203.0.113.8");
}

#[tokio::test]
async fn a_next_link_to_another_host_gets_no_token() {
    let fake = Fake::start().await;
    fake.knobs.lock().expect("knobs").overrides.insert(
        "/v1.0/groups?$top=999".into(),
        serde_json::json!({
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#groups",
            "@odata.nextLink": "https://collector.example.net/v1.0/groups?$skiptoken=x",
            "value": []
        }),
    );
    let c = collect(&fake.config(), &NoProgress).await.expect("scan");
    assert_eq!(c.errors.len(), 1, "{:#?}", c.errors);
    assert_eq!(c.errors[0].operation, "GET /groups");
    assert!(
        c.errors[0].message.contains("refusing to send a token"),
        "{}",
        c.errors[0].message
    );
    asset(&c, "azure.entra.user", "Bob Builder");
}

#[tokio::test]
async fn a_token_refused_twice_is_an_error_not_a_loop() {
    let fake = Fake::start().await;
    let mut cfg = fake.config();
    cfg.skip_entra = true;
    fake.knobs.lock().expect("knobs").reject_arm_tokens = true;
    let c = collect(&cfg, &NoProgress).await.expect("scan");
    // Each of the five Resource Graph queries: one call, one refresh, one more call.
    assert_eq!(
        fake.requests("POST /providers/Microsoft.ResourceGraph/resources"),
        10
    );
    assert_eq!(c.errors.len(), 5, "{:#?}", c.errors);
    assert!(c.errors.iter().all(|e| e.message.contains("401")));
    assert!(c.inventory.assets.is_empty());
}

#[tokio::test]
async fn a_long_retry_after_is_capped_by_max_backoff() {
    let fake = Fake::start().await;
    {
        let mut k = fake.knobs.lock().expect("knobs");
        k.retry_after = "120".into();
        k.throttle.insert("/v1.0/organization".into(), 1);
    }
    let mut cfg = fake.config();
    cfg.max_backoff = Some(Duration::from_millis(300));
    let started = Instant::now();
    let c = collect(&cfg, &NoProgress).await.expect("scan");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert!(c.errors.is_empty(), "{:#?}", c.errors);
    assert_eq!(fake.requests("GET /v1.0/organization"), 2);
    asset(&c, "azure.entra.tenant", "Contoso Ltd");
}

#[tokio::test]
async fn a_throttled_token_endpoint_is_retried() {
    let fake = Fake::start().await;
    {
        let mut k = fake.knobs.lock().expect("knobs");
        k.retry_after = "0".into();
        k.throttle.insert(format!("/{TENANT}/oauth2"), 2);
    }
    let c = collect(&fake.config(), &NoProgress).await.expect("scan");
    assert!(c.errors.is_empty(), "{:#?}", c.errors);
    assert_eq!(
        fake.token_requests("https://management.azure.com/.default"),
        1
    );
    asset(&c, "azure.storage.account", "stprodlogs");
}

#[tokio::test]
async fn defender_plans_from_resource_graph_spare_the_arm_read() {
    let fake = Fake::start().await;
    let row = |plan: &str, tier: &str| {
        serde_json::json!({
            "id": format!("/subscriptions/{SUB}/providers/Microsoft.Security/pricings/{plan}"),
            "name": plan, "type": "microsoft.security/pricings", "tenantId": TENANT, "kind": "",
            "location": "", "resourceGroup": "", "subscriptionId": SUB, "managedBy": "",
            "sku": null, "plan": null, "tags": null, "identity": null, "zones": null,
            "extendedLocation": null,
            "properties": {"pricingTier": tier, "freeTrialRemainingTime": "PT0S"}
        })
    };
    fake.knobs.lock().expect("knobs").table_overrides.insert(
        "securityresources".into(),
        serde_json::json!([{"totalRecords": 2, "count": 2, "resultTruncated": "false",
            "data": [row("VirtualMachines", "Standard"), row("Containers", "Free")]}]),
    );
    let c = collect(&fake.config(), &NoProgress).await.expect("scan");
    assert!(c.errors.is_empty(), "{:#?}", c.errors);
    assert_eq!(
        fake.requests(&format!(
            "GET /subscriptions/{SUB}/providers/Microsoft.Security/pricings"
        )),
        0
    );
    let sub = asset(&c, "azure.resources.subscription", "prod");
    assert_eq!(sub.config["pricings"].as_array().map(Vec::len), Some(2));
    assert_eq!(
        sub.config["pricings"][0]["type"],
        "Microsoft.Security/pricings"
    );
    assert_eq!(
        sub.config["pricings"][0]["properties"]["pricingTier"],
        "Standard"
    );
    // The plans are settings of the subscription, not assets.
    assert!(
        c.inventory
            .assets
            .iter()
            .all(|a| !a.resource_type.as_str().starts_with("azure.security."))
    );
    let catalog = rampart_rules::Catalog::builtin().expect("catalog");
    let now = Utc::now();
    let evals = catalog.evaluate(&c.inventory, now);
    let servers = evals
        .iter()
        .find(|e| e.control_id == "azure-security-defender-for-servers" && e.asset_id == sub.id)
        .expect("evaluated");
    assert_eq!(servers.status, FindingStatus::Pass);
}

#[tokio::test]
async fn entra_objects_without_a_tenant_are_dropped_with_an_error() {
    // No organization object (403) and no subscription to take the tenant id from: the Entra
    // objects cannot be placed; the failure is recorded instead of failing the scan.
    let fake = Fake::start().await;
    fake.knobs
        .lock()
        .expect("knobs")
        .forbid
        .push("/v1.0/organization".into());
    let mut cfg = fake.config();
    cfg.subscriptions = Some(Vec::new());
    let c = collect(&cfg, &NoProgress).await.expect("scan");
    assert!(
        c.errors.iter().any(|e| e.operation == "GET /organization"),
        "{:#?}",
        c.errors
    );
    // Every Graph answer is left out, each named.
    let normalise: Vec<_> = c
        .errors
        .iter()
        .filter(|e| e.operation.starts_with("normalise GET /"))
        .collect();
    assert!(
        normalise
            .iter()
            .any(|e| e.operation == "normalise GET /users"),
        "{normalise:#?}"
    );
    assert!(
        normalise.iter().all(|e| e.message.contains("tenant")),
        "{normalise:#?}"
    );
    assert!(c.inventory.assets.is_empty());
    assert_eq!(fake.requests("POST /providers/Microsoft.ResourceGraph"), 0);
}

#[tokio::test]
async fn resource_graph_quota_reset_header_is_honoured() {
    let fake = Fake::start().await;
    {
        let mut k = fake.knobs.lock().expect("knobs");
        k.quota_header = true;
        k.throttle
            .insert("/providers/Microsoft.ResourceGraph".into(), 1);
    }
    let started = Instant::now();
    let c = collect(&fake.config(), &NoProgress).await.expect("scan");
    assert!(c.errors.is_empty(), "{:#?}", c.errors);
    assert!(
        started.elapsed() >= Duration::from_millis(950),
        "{:?}",
        started.elapsed()
    );
    asset(&c, "azure.storage.account", "stprodlogs");
}

#[tokio::test]
async fn a_graph_answer_that_breaks_the_build_is_left_out_alone() {
    // Directory settings whose values lack a value: the importer refuses them only when it
    // builds the tenant; they are left out, everything else is kept.
    let fake = Fake::start().await;
    fake.knobs.lock().expect("knobs").overrides.insert(
        "/v1.0/groupSettings".into(),
        serde_json::json!({
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#groupSettings",
            "value": [{"id": "d1000000-0000-4000-8000-000000000001", "values": [{"name": "LockoutThreshold"}]}]
        }),
    );
    let c = collect(&fake.config(), &NoProgress).await.expect("scan");
    assert_eq!(c.errors.len(), 1, "{:#?}", c.errors);
    assert_eq!(c.errors[0].operation, "normalise GET /groupSettings");
    assert_eq!(c.errors[0].service, "entra-policies");
    let tenant = asset(&c, "azure.entra.tenant", "Contoso Ltd");
    assert!(tenant.config.get("groupSettings").is_none());
    assert_eq!(tenant.config["securityDefaults"]["isEnabled"], false);
    asset(&c, "azure.entra.user", "Bob Builder");
    asset(&c, "azure.storage.account", "stprodlogs");
}

#[tokio::test]
async fn a_token_revoked_mid_scan_is_refreshed_once_for_all_calls_in_flight() {
    let fake = Fake::start().await;
    fake.knobs.lock().expect("knobs").revoke_arm_on = Some(format!(
        "/subscriptions/{SUB}/resourceGroups/rg-prod/providers/Microsoft.Storage"
    ));
    let mut cfg = fake.config();
    cfg.concurrency = Some(16);
    let c = collect(&cfg, &NoProgress).await.expect("scan");
    assert!(c.errors.is_empty(), "{:#?}", c.errors);
    assert_eq!(
        fake.token_requests("https://management.azure.com/.default"),
        2
    );
    let st = asset(&c, "azure.storage.account", "stprodlogs");
    assert!(st.config.get("blobServiceProperties").is_some());
}

/// Connection checks (the connectors page's "Test connection"): tokens for Resource Manager and
/// Graph, no API call; a wrong secret is the named authentication error, never the secret.
#[tokio::test]
async fn a_connection_check_obtains_tokens_and_calls_nothing_else() {
    let fake = Fake::start().await;
    let who = rampart_azure::check(&fake.config())
        .await
        .expect("signed in");
    assert!(who.contains(TENANT) && who.contains(CLIENT_ID), "{who}");
    assert_eq!(fake.requests("GET"), 0);
    let mut cfg = fake.config();
    cfg.client_secret = rampart_azure::ClientSecret::new("wrong-secret-value");
    let err = rampart_azure::check(&cfg).await.expect_err("refused");
    assert!(matches!(err, AzureError::Authentication(_)), "{err:?}");
    assert!(!format!("{err:?}").contains("wrong-secret-value"));
}

/// Defender for Cloud's system updates recommendations (CIS Azure 3.0 3.1.10): one Resource Graph
/// query on `securityresources` bounded to assessments whose display name mentions system updates,
/// each row an `azure.security.assessments` asset of the assessed machine's subscription,
/// evaluated by `azure-security-system-updates-applied`.
#[tokio::test]
async fn system_update_assessments_are_collected_and_evaluated() {
    let fake = Fake::start().await;
    let c = collect(&fake.config(), &NoProgress).await.expect("scan");
    assert!(c.errors.is_empty(), "{:#?}", c.errors);

    // The query asked for: assessments only, and only those about system updates.
    let bodies = fake.stats.lock().expect("stats").graph_queries.clone();
    let query = bodies
        .iter()
        .filter_map(|b| b["query"].as_str())
        .find(|q| q.contains("microsoft.security/assessments"))
        .expect("assessments query");
    assert!(
        query.starts_with("securityresources | where type =~ "),
        "{query}"
    );
    assert!(
        query.contains("tostring(properties.displayName) contains 'system update'"),
        "{query}"
    );
    assert!(
        rampart_azure::QUERIES
            .iter()
            .any(|(op, q)| *op == "securityresources assessments query" && *q == query)
    );

    // The two system updates assessments of vm-web; the just-in-time one is not collected.
    let mut assessments: Vec<&Asset> = c
        .inventory
        .assets
        .iter()
        .filter(|a| a.resource_type.as_str() == "azure.security.assessments")
        .collect();
    assessments.sort_by(|a, b| a.name.cmp(&b.name));
    assert_eq!(assessments.len(), 2, "{assessments:#?}");
    let vm = asset(&c, "azure.compute.vm", "vm-web");
    let missing = assessments[0];
    let periodic = assessments[1];
    assert_eq!(missing.name, "4ab6e3c5-74dd-8b35-9ab9-f61b30875b27");
    assert_eq!(missing.account, SUB);
    assert_eq!(missing.region, "global");
    assert_eq!(
        missing.native_id,
        format!(
            "{}/providers/Microsoft.Security/assessments/{}",
            vm.native_id, missing.name
        )
    );
    assert_eq!(
        missing.config["properties"]["displayName"],
        "System updates should be installed on your machines"
    );
    assert_eq!(missing.config["properties"]["status"]["code"], "Unhealthy");
    assert_eq!(
        missing.config["properties"]["resourceDetails"]["Id"].as_str(),
        Some(vm.native_id.as_str())
    );
    assert_eq!(periodic.config["properties"]["status"]["code"], "Healthy");
    assert!(
        periodic.config["properties"]["displayName"]
            .as_str()
            .is_some_and(|n| n.contains("missing system updates"))
    );
    // Contained by the machine's resource group, like any resource.
    let rg = asset(&c, "azure.resources.resourcegroup", "rg-prod");
    assert!(has_edge(&c, rg, "contains", missing));

    // The control's findings: the machine missing updates fails, the healthy check passes.
    let catalog = rampart_rules::Catalog::builtin().expect("catalog");
    let evals = catalog.evaluate(&c.inventory, Utc::now());
    let status = |a: &Asset| {
        evals
            .iter()
            .find(|e| e.control_id == "azure-security-system-updates-applied" && e.asset_id == a.id)
            .map(|e| e.status)
            .unwrap_or_else(|| panic!("not evaluated on {}", a.native_id))
    };
    assert_eq!(status(missing), FindingStatus::Fail);
    assert_eq!(status(periodic), FindingStatus::Pass);
}
