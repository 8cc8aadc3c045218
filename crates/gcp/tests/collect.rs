//! Record/replay tests of the collector against a local fake of the Google APIs (tests/fake).

mod fake;

use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use fake::{Behaviour, CLIENT_EMAIL, Fake, PRIVATE_KEY};
use rampart_gcp::{
    Collection, ContentType, Endpoints, GcpError, GcpScanConfig, NoProgress, Progress, Scope,
    ServiceAccountKey, collect,
};
use rampart_model::{FindingStatus, Inventory};

fn config(fake: &Fake) -> GcpScanConfig {
    let key = ServiceAccountKey::from_json(&fake::key_json(fake)).expect("key");
    let mut config = GcpScanConfig::new(Scope::parse(fake::SCOPE_PARENT).expect("scope"), key);
    config.endpoints = Endpoints {
        cloudasset: Some(format!("{}/cai", fake.base())),
        essentialcontacts: Some(format!("{}/ec", fake.base())),
        accessapproval: Some(format!("{}/aa", fake.base())),
        token_uri: None,
    };
    config.allow_insecure_http = true;
    config.page_size = Some(3);
    config.timeout = Some(Duration::from_secs(10));
    config.observed_at = Some(
        Utc.with_ymd_and_hms(2026, 11, 30, 1, 0, 0)
            .single()
            .expect("time"),
    );
    config
}

async fn scan(behaviour: Behaviour) -> (Fake, Collection) {
    let fake = fake::start(behaviour).await;
    let collection = collect(&config(&fake), &NoProgress).await.expect("scan");
    (fake, collection)
}

fn asset<'a>(inv: &'a Inventory, native_id: &str) -> &'a rampart_model::Asset {
    inv.assets
        .iter()
        .find(|a| a.native_id == native_id)
        .unwrap_or_else(|| panic!("no asset {native_id}"))
}

const BUCKET: &str = "//storage.googleapis.com/acme-public-assets";
const ORG: &str = "//cloudresourcemanager.googleapis.com/organizations/123";
const PROJECT: &str = "//cloudresourcemanager.googleapis.com/projects/111";
const FIREWALL: &str =
    "//compute.googleapis.com/projects/acme-prod/global/firewalls/default-allow-ssh";

#[derive(Default)]
struct Recorder {
    events: Mutex<Vec<String>>,
}

impl Progress for Recorder {
    fn plan(&self, units: &[String]) {
        self.events
            .lock()
            .expect("events")
            .push(format!("plan {}", units.join(",")));
    }
    fn started(&self, unit: &str) {
        self.events
            .lock()
            .expect("events")
            .push(format!("start {unit}"));
    }
    fn finished(&self, unit: &str, assets: usize, errors: usize) {
        self.events
            .lock()
            .expect("events")
            .push(format!("finish {unit} {assets} {errors}"));
    }
}

#[tokio::test]
async fn full_scan_paginates_merges_content_types_and_reports_progress() {
    let fake = fake::start(Behaviour::default()).await;
    let progress = Recorder::default();
    let c = collect(&config(&fake), &progress).await.expect("scan");
    assert!(c.errors.is_empty(), "{:?}", c.errors);
    assert_eq!(c.scope, "organizations/123");
    assert_eq!(c.principal, CLIENT_EMAIL);
    // 6 CAI assets (2 pages), 1 contact, 1 Access Approval settings.
    assert_eq!(c.inventory.assets.len(), 8, "{:#?}", c.inventory.assets);

    let requests = fake.state.requests();
    let resource_pages: Vec<&String> = requests
        .iter()
        .filter(|r| r.contains("/assets?") && r.contains("contentType=RESOURCE"))
        .collect();
    assert_eq!(resource_pages.len(), 2, "{requests:#?}");
    assert!(!resource_pages[0].contains("pageToken"));
    assert!(resource_pages[1].contains("pageToken=page-2"));
    assert!(resource_pages[0].contains("pageSize=3"));
    assert!(resource_pages[0].contains("assetTypes=storage.googleapis.com/Bucket"));
    // ORG_POLICY is only asked for the resource-manager types.
    let org = requests
        .iter()
        .find(|r| r.contains("contentType=ORG_POLICY"))
        .expect("org policy request");
    assert!(!org.contains("compute.googleapis.com"), "{org}");
    assert_eq!(fake.state.tokens_issued(), 1, "the token is cached");

    // RESOURCE and IAM_POLICY merged onto one asset, as the importer does.
    let bucket = asset(&c.inventory, BUCKET);
    assert_eq!(bucket.resource_type.as_str(), "gcp.storage.bucket");
    assert_eq!(bucket.account, "acme-prod");
    assert_eq!(bucket.region, "eu");
    assert_eq!(bucket.tags.get("team").map(String::as_str), Some("web"));
    assert_eq!(
        bucket.config["iamConfiguration"]["uniformBucketLevelAccess"]["enabled"],
        true
    );
    assert_eq!(
        bucket.config["iamPolicy"]["bindings"][0]["members"][0],
        "allUsers"
    );
    let project = asset(&c.inventory, PROJECT);
    assert_eq!(project.name, "acme-prod");
    assert_eq!(
        project.config["iamPolicy"]["auditConfigs"][0]["auditLogConfigs"][0]["logType"],
        "ADMIN_READ"
    );
    let org = asset(&c.inventory, ORG);
    assert_eq!(
        org.config["orgPolicies"][0]["constraint"],
        "constraints/iam.disableServiceAccountKeyCreation"
    );
    // Direct reads, shaped as CAI records.
    let contact = asset(
        &c.inventory,
        "//essentialcontacts.googleapis.com/organizations/123/contacts/901",
    );
    assert_eq!(
        contact.resource_type.as_str(),
        "gcp.essentialcontacts.contact"
    );
    assert_eq!(contact.account, "organizations/123");
    assert_eq!(
        contact.config["notificationCategorySubscriptions"][0],
        "SECURITY"
    );
    let settings = asset(
        &c.inventory,
        "//accessapproval.googleapis.com/organizations/123/accessApprovalSettings",
    );
    assert_eq!(
        settings.resource_type.as_str(),
        "gcp.accessapproval.accessapprovalsettings"
    );
    assert_eq!(
        settings.config["enrolledServices"][0]["cloudProduct"],
        "all"
    );
    // Relationships: the organisation contains the project and the contact; the firewall applies
    // to the network.
    let id = |n: &str| asset(&c.inventory, n).id.clone();
    let has = |from: &str, to: &str, kind: &str| {
        c.inventory
            .relationships
            .iter()
            .any(|r| r.from == id(from) && r.to == id(to) && r.kind == kind)
    };
    assert!(has(ORG, PROJECT, "contains"));
    assert!(has(
        ORG,
        "//essentialcontacts.googleapis.com/organizations/123/contacts/901",
        "contains"
    ));
    assert!(has(
        FIREWALL,
        "//compute.googleapis.com/projects/acme-prod/global/networks/default",
        "applies_to"
    ));

    let events = progress.events.lock().expect("events").clone();
    assert_eq!(
        events[0],
        "plan cloudasset RESOURCE,cloudasset IAM_POLICY,cloudasset ORG_POLICY,essentialcontacts,accessapproval"
    );
    assert!(
        events.contains(&"finish cloudasset RESOURCE 6 0".to_string()),
        "{events:?}"
    );
    assert!(
        events.contains(&"finish essentialcontacts 1 0".to_string()),
        "{events:?}"
    );
    assert_eq!(events.len(), 11);
}

#[tokio::test]
async fn same_inventory_as_importing_the_listing() {
    let (_fake, c) = scan(Behaviour {
        ..Behaviour::default()
    })
    .await;
    // The CAI pages, as `gcloud asset list --format=json` would print them, imported.
    let mut files = Vec::new();
    for name in [
        "resource-1.json",
        "resource-2.json",
        "iam-policy-1.json",
        "org-policy-1.json",
    ] {
        let path = format!("{}/tests/fixtures/api/{name}", env!("CARGO_MANIFEST_DIR"));
        let page: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).expect("read")).expect("json");
        files.push((name, page["assets"].to_string()));
    }
    let refs: Vec<(&str, &str)> = files.iter().map(|(n, t)| (*n, t.as_str())).collect();
    let imported = rampart_import::parse_gcp_files(
        &refs,
        Utc.with_ymd_and_hms(2026, 11, 30, 1, 0, 0)
            .single()
            .expect("time"),
    )
    .expect("import");
    for a in &imported.assets {
        let collected = asset(&c.inventory, &a.native_id);
        assert_eq!(collected, a, "{}", a.native_id);
    }
    for r in &imported.relationships {
        assert!(c.inventory.relationships.contains(r), "{r:?}");
    }
}

#[tokio::test]
async fn throttling_honours_retry_after() {
    let started = Instant::now();
    let (fake, c) = scan(Behaviour {
        throttle_first_resource: true,
        ..Behaviour::default()
    })
    .await;
    let elapsed = started.elapsed();
    assert!(c.errors.is_empty(), "{:?}", c.errors);
    assert!(
        elapsed >= Duration::from_secs(1),
        "Retry-After: 1 was not honoured ({elapsed:?})"
    );
    assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");
    let first_pages = fake
        .state
        .requests()
        .iter()
        .filter(|r| r.contains("contentType=RESOURCE") && !r.contains("pageToken"))
        .count();
    assert_eq!(first_pages, 2, "one refused, one retried");
    asset(&c.inventory, FIREWALL);
}

#[tokio::test]
async fn throttling_retries_are_bounded() {
    let fake = fake::start(Behaviour {
        always_throttle_access_approval: true,
        ..Behaviour::default()
    })
    .await;
    let mut cfg = config(&fake);
    cfg.max_attempts = Some(3);
    cfg.max_retry_wait = Some(Duration::from_millis(200));
    let started = Instant::now();
    let c = collect(&cfg, &NoProgress).await.expect("scan");
    assert!(started.elapsed() < Duration::from_secs(3));
    let calls = fake
        .state
        .requests()
        .iter()
        .filter(|r| r.contains("accessApprovalSettings"))
        .count();
    assert_eq!(calls, 3);
    assert_eq!(c.errors.len(), 1, "{:?}", c.errors);
    let e = &c.errors[0];
    assert_eq!(e.service, "accessapproval");
    assert_eq!(e.operation, "getAccessApprovalSettings");
    assert!(
        e.message.contains("HTTP 429 RESOURCE_EXHAUSTED"),
        "{}",
        e.message
    );
    asset(&c.inventory, BUCKET);
}

#[tokio::test]
async fn a_refused_token_is_refreshed_once() {
    let (fake, c) = scan(Behaviour {
        reject_first_token: true,
        ..Behaviour::default()
    })
    .await;
    assert!(c.errors.is_empty(), "{:?}", c.errors);
    assert_eq!(fake.state.tokens_issued(), 2);
    assert_eq!(c.inventory.assets.len(), 8);
}

#[tokio::test]
async fn tokens_are_renewed_before_they_expire() {
    let (fake, c) = scan(Behaviour {
        // Less than the renewal margin: every call needs a fresh token.
        token_lifetime: Some(60),
        ..Behaviour::default()
    })
    .await;
    assert!(c.errors.is_empty(), "{:?}", c.errors);
    let api_calls = fake
        .state
        .requests()
        .iter()
        .filter(|r| r.starts_with("GET "))
        .count();
    assert_eq!(fake.state.tokens_issued(), api_calls + 1);
}

#[tokio::test]
async fn a_token_refused_after_refresh_is_a_recorded_error_per_unit() {
    let (fake, c) = scan(Behaviour {
        refuse_all_tokens: true,
        ..Behaviour::default()
    })
    .await;
    assert!(c.inventory.assets.is_empty());
    assert_eq!(c.errors.len(), 5, "{:?}", c.errors);
    for e in &c.errors {
        assert!(
            e.message.contains("HTTP 401 UNAUTHENTICATED"),
            "{}",
            e.message
        );
        assert!(
            !e.message.contains("ya29."),
            "no token in errors: {}",
            e.message
        );
        assert!(
            rampart_gcp::OPERATIONS
                .iter()
                .any(|(s, o, _)| *s == e.service && *o == e.operation),
            "{e:?} not in OPERATIONS"
        );
    }
    // At most one refresh per unit, no loop (units running at the same time share the refresh).
    let issued = fake.state.tokens_issued();
    assert!((2..=6).contains(&issued), "{issued} tokens issued");
}

#[tokio::test]
async fn permission_denied_on_one_api_is_a_recorded_error() {
    let (_fake, c) = scan(Behaviour {
        forbid_iam_policy: true,
        ..Behaviour::default()
    })
    .await;
    assert_eq!(c.errors.len(), 1, "{:?}", c.errors);
    let e = &c.errors[0];
    assert_eq!(e.service, "cloudasset");
    assert_eq!(e.operation, "assets.list IAM_POLICY");
    assert_eq!(e.scope, "organizations/123");
    assert!(
        e.message.contains("HTTP 403 PERMISSION_DENIED"),
        "{}",
        e.message
    );
    assert!(
        e.message.contains("cloudasset.assets.listIamPolicy"),
        "{}",
        e.message
    );
    // The other content types and APIs are there.
    let bucket = asset(&c.inventory, BUCKET);
    assert!(bucket.config.get("iamPolicy").is_none());
    assert!(bucket.config.get("iamConfiguration").is_some());
    assert!(asset(&c.inventory, ORG).config.get("orgPolicies").is_some());
    asset(
        &c.inventory,
        "//essentialcontacts.googleapis.com/organizations/123/contacts/901",
    );
}

#[tokio::test]
async fn refused_credentials_are_fatal_and_name_the_account_not_the_key() {
    let fake = fake::start(Behaviour {
        refuse_credentials: true,
        ..Behaviour::default()
    })
    .await;
    let err = collect(&config(&fake), &NoProgress)
        .await
        .expect_err("must fail");
    assert!(matches!(err, GcpError::Credentials { .. }), "{err:?}");
    let text = format!("{err} {err:?}");
    assert!(text.contains(CLIENT_EMAIL), "{text}");
    assert!(text.contains("invalid_grant"), "{text}");
    assert!(!text.contains("PRIVATE KEY"), "{text}");
    let body_line = PRIVATE_KEY.lines().nth(1).expect("key body");
    assert!(!text.contains(body_line), "{text}");
    assert!(!text.contains("eyJ"), "no assertion in errors: {text}");
    // Nothing but the token endpoint was called.
    assert!(fake.state.requests().iter().all(|r| r == "POST /token"));
}

#[tokio::test]
async fn a_garbled_response_is_a_recorded_error_naming_the_operation() {
    let (_fake, c) = scan(Behaviour {
        garbled_org_policy: true,
        ..Behaviour::default()
    })
    .await;
    assert_eq!(c.errors.len(), 1, "{:?}", c.errors);
    assert_eq!(c.errors[0].operation, "assets.list ORG_POLICY");
    assert!(
        c.errors[0].message.contains("malformed response"),
        "{}",
        c.errors[0].message
    );
    assert!(asset(&c.inventory, ORG).config.get("orgPolicies").is_none());
    asset(&c.inventory, BUCKET);
}

#[tokio::test]
async fn a_malformed_asset_is_a_recorded_error_naming_the_operation() {
    let (_fake, c) = scan(Behaviour {
        malformed_org_policy: true,
        ..Behaviour::default()
    })
    .await;
    assert_eq!(c.errors.len(), 1, "{:?}", c.errors);
    let e = &c.errors[0];
    assert_eq!(e.service, "cloudasset");
    assert_eq!(e.operation, "assets.list ORG_POLICY");
    assert!(e.message.contains("malformed response"), "{}", e.message);
    assert!(e.message.contains("org_policy"), "{}", e.message);
    assert_eq!(c.inventory.assets.len(), 8);
}

#[tokio::test]
async fn an_unknown_asset_type_only_loses_itself() {
    let fake = fake::start(Behaviour::default()).await;
    let mut cfg = config(&fake);
    cfg.asset_types = Some(vec![
        "storage.googleapis.com/Bucket".into(),
        "bogus.googleapis.com/Nothing".into(),
        "compute.googleapis.com/Firewall".into(),
    ]);
    cfg.content_types = Some(vec![ContentType::Resource]);
    cfg.direct_reads = false;
    let c = collect(&cfg, &NoProgress).await.expect("scan");
    assert_eq!(c.errors.len(), 1, "{:?}", c.errors);
    assert!(c.errors[0].message.contains("bogus.googleapis.com/Nothing"));
    assert!(c.errors[0].message.contains("INVALID_ARGUMENT"));
    assert_eq!(c.inventory.assets.len(), 2);
    asset(&c.inventory, BUCKET);
    asset(&c.inventory, FIREWALL);
}

#[tokio::test]
async fn absent_settings_are_not_errors() {
    let (_fake, c) = scan(Behaviour {
        access_approval_not_found: true,
        ..Behaviour::default()
    })
    .await;
    assert!(c.errors.is_empty(), "{:?}", c.errors);
    assert_eq!(c.inventory.assets.len(), 7);
}

#[tokio::test]
async fn plain_http_is_refused_unless_allowed() {
    let fake = fake::start(Behaviour::default()).await;
    let mut cfg = config(&fake);
    cfg.allow_insecure_http = false;
    let err = collect(&cfg, &NoProgress).await.expect_err("must refuse");
    assert!(matches!(err, GcpError::Config(_)), "{err:?}");
    assert!(err.to_string().contains("plain http"), "{err}");
    assert!(fake.state.requests().is_empty(), "no request may be sent");
    // The key's token_uri (http) alone is refused too.
    let mut cfg = config(&fake);
    cfg.allow_insecure_http = false;
    cfg.endpoints = Endpoints::default();
    let err = collect(&cfg, &NoProgress).await.expect_err("must refuse");
    assert!(err.to_string().contains("token endpoint"), "{err}");
    assert!(fake.state.requests().is_empty());
}

#[tokio::test]
async fn secrets_never_appear_in_debug_output() {
    let fake = fake::start(Behaviour::default()).await;
    let cfg = config(&fake);
    let text = format!("{cfg:?}");
    assert!(text.contains(CLIENT_EMAIL));
    assert!(!text.contains("PRIVATE KEY"), "{text}");
    assert!(!text.contains(PRIVATE_KEY.lines().nth(1).expect("line")));
    // Key-file errors never quote the file.
    let mut broken: serde_json::Value = serde_json::from_str(&fake::key_json(&fake)).expect("json");
    broken["client_email"] = serde_json::Value::Null;
    let err = ServiceAccountKey::from_json(&broken.to_string()).expect_err("incomplete");
    let text = format!("{err} {err:?}");
    assert!(!text.contains("PRIVATE KEY"), "{text}");
    let err =
        ServiceAccountKey::from_json(r#"{"type": "authorized_user", "client_secret": "s3cr3t"}"#)
            .expect_err("wrong type");
    assert!(err.to_string().contains("authorized_user"));
    assert!(!format!("{err:?}").contains("s3cr3t"));
    // A key that is not RSA PEM: the error names the account, not the key.
    let mut cfg = config(&fake);
    cfg.credentials.private_key =
        "-----BEGIN PRIVATE KEY-----\nnot-a-key-AAAA\n-----END PRIVATE KEY-----\n".into();
    let err = collect(&cfg, &NoProgress).await.expect_err("bad key");
    let text = format!("{err} {err:?}");
    assert!(text.contains(CLIENT_EMAIL));
    assert!(!text.contains("not-a-key-AAAA"), "{text}");
}

#[tokio::test]
async fn built_in_controls_find_the_seeded_problems() {
    let (_fake, c) = scan(Behaviour::default()).await;
    let catalog = rampart_rules::Catalog::builtin().expect("catalog");
    let now = Utc
        .with_ymd_and_hms(2026, 11, 30, 2, 0, 0)
        .single()
        .expect("time");
    let evaluations = catalog.evaluate(&c.inventory, now);
    let status = |control: &str, native_id: &str| {
        let id = asset(&c.inventory, native_id).id.clone();
        evaluations
            .iter()
            .find(|e| e.control_id == control && e.asset_id == id)
            .map(|e| e.status)
            .unwrap_or_else(|| panic!("{control} not evaluated on {native_id}"))
    };
    assert_eq!(
        status("gcp-compute-firewall-no-public-ssh", FIREWALL),
        FindingStatus::Fail
    );
    assert_eq!(
        status("gcp-compute-firewall-no-public-rdp", FIREWALL),
        FindingStatus::Pass
    );
    assert_eq!(
        status(
            "gcp-compute-no-default-network",
            "//compute.googleapis.com/projects/acme-prod/global/networks/default"
        ),
        FindingStatus::Fail
    );
    assert_eq!(
        status(
            "gcp-compute-subnet-flow-logs",
            "//compute.googleapis.com/projects/acme-prod/regions/europe-west1/subnetworks/default"
        ),
        FindingStatus::Fail
    );
    // Needs the IAM_POLICY content type merged onto the bucket.
    assert_eq!(
        status("gcp-storage-bucket-not-public", BUCKET),
        FindingStatus::Fail
    );
    assert_eq!(
        status("gcp-storage-bucket-uniform-access", BUCKET),
        FindingStatus::Pass
    );
    // Needs the directly-read contacts related to the organisation: only SECURITY is covered.
    assert_eq!(
        status("gcp-essentialcontacts-organization", ORG),
        FindingStatus::Fail
    );
}

/// Connection checks (the connectors page's "Test connection"): a good key signs in and names
/// its account without calling any API; a refused key is the same named error as for a scan.
#[tokio::test]
async fn a_connection_check_signs_in_and_calls_nothing_else() {
    let fake = fake::start(Behaviour::default()).await;
    let who = rampart_gcp::check(&config(&fake)).await.expect("signed in");
    assert_eq!(who, CLIENT_EMAIL);
    assert!(fake.state.requests().iter().all(|r| r == "POST /token"));
    let refused = fake::start(Behaviour {
        refuse_credentials: true,
        ..Behaviour::default()
    })
    .await;
    let err = rampart_gcp::check(&config(&refused))
        .await
        .expect_err("refused");
    assert!(matches!(err, GcpError::Credentials { .. }), "{err:?}");
    assert!(err.to_string().contains(CLIENT_EMAIL), "{err}");
}
