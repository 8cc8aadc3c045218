//! Custom controls in the store (issue 8): per workspace, ids made from titles and unique,
//! bounded fields, `manage_controls` to change them, audited in the change's transaction, and
//! deleting one takes its findings along. Runs on the backend under test (on PostgreSQL under
//! row-level security, as the application role).
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;

use chrono::{TimeDelta, Utc};
use common::{at, eval, inventory};
use rampart_model::{FindingStatus, Severity};
use rampart_store::audit::{ActorKind, AuditEvent, Outcome};
use rampart_store::{
    AuditFilter, CustomControlInput, FindingFilter, Page, Role, Store, StoreError, WorkspaceScope,
};

fn ev(action: &str) -> AuditEvent {
    AuditEvent::new(action, Outcome::Success).actor(ActorKind::User, "usr_x", "x@example.com")
}

async fn member(store: &Store, slug: &str, email: &str, role: Role) -> WorkspaceScope {
    if store.workspace_by_slug(slug).await.unwrap().is_none() {
        common::workspace(store, slug).await;
    }
    let user = store
        .create_user(email, "violet kettle harbour")
        .await
        .unwrap();
    let local = store.operator_scope(slug).await.unwrap().unwrap();
    store.set_membership(&local, &user.id, role).await.unwrap();
    store.member_scope(slug, &user.id).await.unwrap().unwrap()
}

fn input(title: &str) -> CustomControlInput {
    CustomControlInput {
        title: title.into(),
        severity: Severity::High,
        resource_types: vec!["aws.s3.bucket".into()],
        query: "resource.tags.env == 'prod'".into(),
        frameworks: BTreeMap::from([("cis-aws-3.0".into(), vec!["2.1.4".into()])]),
        rationale: Some("Production data must survive a bad delete.".into()),
        remediation: None,
    }
}

/// ASVS V4.1.1 / V4.1.3: only members who manage controls create or delete them, and only in
/// their own workspace; V5.1.3: every field is checked; V7.1.3: changes are audited.
#[tokio::test]
async fn custom_controls_are_per_workspace_checked_audited_and_take_their_findings_along() {
    let db = common::open().await;
    let analyst = member(&db.store, "alpha", "ana@example.com", Role::Analyst).await;
    let viewer = member(&db.store, "alpha", "vic@example.com", Role::Viewer).await;
    let other = member(&db.store, "beta", "bea@example.com", Role::Owner).await;

    let c = db
        .store
        .create_custom_control(
            &analyst,
            &input("Prod buckets are versioned"),
            ev("control.create"),
        )
        .await
        .unwrap();
    assert_eq!(c.id, "custom-prod-buckets-are-versioned");
    assert_eq!(c.severity, Severity::High);
    assert_eq!(c.frameworks["cis-aws-3.0"], ["2.1.4"]);
    assert_eq!(c.remediation, None);
    assert_eq!(c.created_by, "x@example.com");

    // The same slug again is a conflict, whatever the case and punctuation.
    assert!(matches!(
        db.store
            .create_custom_control(
                &analyst,
                &input("PROD buckets are versioned!"),
                ev("control.create")
            )
            .await,
        Err(StoreError::Conflict { .. })
    ));
    // Bad fields are refused, naming the field.
    let mut bad = input("Other");
    bad.resource_types = vec!["not a type".into()];
    assert!(matches!(
        db.store
            .create_custom_control(&analyst, &bad, ev("control.create"))
            .await,
        Err(StoreError::Invalid {
            field: "resource_types",
            ..
        })
    ));
    let mut bad = input("Other");
    bad.query = " ".into();
    assert!(matches!(
        db.store
            .create_custom_control(&analyst, &bad, ev("control.create"))
            .await,
        Err(StoreError::Invalid { field: "query", .. })
    ));
    assert!(matches!(
        db.store
            .create_custom_control(&analyst, &input("%%%"), ev("control.create"))
            .await,
        Err(StoreError::Invalid { field: "title", .. })
    ));
    // A viewer may read but not create or delete.
    assert!(matches!(
        db.store
            .create_custom_control(&viewer, &input("Mine"), ev("control.create"))
            .await,
        Err(StoreError::Forbidden(_))
    ));
    assert!(matches!(
        db.store
            .delete_custom_control(&viewer, &c.id, ev("control.delete"))
            .await,
        Err(StoreError::Forbidden(_))
    ));
    assert_eq!(
        db.store.custom_controls(&viewer).await.unwrap(),
        vec![c.clone()]
    );
    assert_eq!(
        db.store.custom_control(&viewer, &c.id).await.unwrap(),
        Some(c.clone())
    );

    // Another workspace sees none of it and cannot delete it.
    assert!(db.store.custom_controls(&other).await.unwrap().is_empty());
    assert_eq!(db.store.custom_control(&other, &c.id).await.unwrap(), None);
    assert!(matches!(
        db.store
            .delete_custom_control(&other, &c.id, ev("control.delete"))
            .await,
        Err(StoreError::NotFound { .. })
    ));
    // ... and may have its own with the same id.
    db.store
        .create_custom_control(
            &other,
            &input("Prod buckets are versioned"),
            ev("control.create"),
        )
        .await
        .unwrap();

    // Findings of the control (one exempted) and of another control.
    let ws = db.store.scoped(&analyst);
    let inv = inventory(at(1));
    let bucket = &inv.assets[0];
    let evals = vec![
        eval(&c.id, bucket, FindingStatus::Fail),
        eval("aws-demo-control", bucket, FindingStatus::Fail),
    ];
    ws.record_scan_at("test", &inv, &evals, |_| Severity::High, at(1))
        .await
        .unwrap();
    let filter = FindingFilter {
        control_id: Some(c.id.clone()),
        ..FindingFilter::default()
    };
    let finding = ws
        .list_findings(&filter, Page::new(10, 0))
        .await
        .unwrap()
        .items[0]
        .finding
        .id
        .clone();
    ws.exempt_finding(
        &finding,
        "accepted for now",
        Utc::now() + TimeDelta::days(1),
        ev("finding.exempt"),
    )
    .await
    .unwrap();

    let gone = db
        .store
        .delete_custom_control(&analyst, &c.id, ev("control.delete"))
        .await
        .unwrap();
    assert_eq!(gone, 1);
    assert!(db.store.custom_controls(&analyst).await.unwrap().is_empty());
    assert_eq!(
        ws.list_findings(&filter, Page::new(10, 0))
            .await
            .unwrap()
            .total,
        0
    );
    assert_eq!(ws.exemption(&finding).await.unwrap(), None);
    assert_eq!(
        ws.list_findings(&FindingFilter::default(), Page::new(10, 0))
            .await
            .unwrap()
            .total,
        1,
        "other controls' findings stay"
    );
    // The other workspace's control is untouched.
    assert_eq!(db.store.custom_controls(&other).await.unwrap().len(), 1);

    let owner = member(&db.store, "alpha", "own@example.com", Role::Owner).await;
    let log = db
        .store
        .scoped(&owner)
        .audit_log(&AuditFilter::default(), Page::new(100, 0))
        .await
        .unwrap();
    let actions: Vec<(&str, &str)> = log
        .items
        .iter()
        .map(|e| (e.event.action.as_str(), e.event.object_id.as_str()))
        .collect();
    assert!(
        actions.contains(&("control.create", c.id.as_str()))
            && actions.contains(&("control.delete", c.id.as_str())),
        "{actions:?}"
    );
    // The refused attempts changed nothing: one create, one delete.
    assert_eq!(
        actions.iter().filter(|a| a.0 == "control.create").count(),
        1,
        "{actions:?}"
    );
}
