//! The store's architecture invariant (ASVS 4.1.x, 4.2.1): a workspace's handle never returns
//! another workspace's rows, and a scope is only granted to members of an existing workspace.
#![allow(clippy::unwrap_used)]

mod common;

use common::{asset, at, eval, inventory, severity_of};
use rampart_model::{FindingStatus, Inventory, finding_id};
use rampart_store::{AssetFilter, FindingFilter, Page, Role};

#[tokio::test]
async fn workspace_a_handle_never_returns_workspace_b_rows() {
    let db = common::open().await;
    let scope_a = common::workspace(&db.store, "alpha").await;
    let scope_b = common::workspace(&db.store, "bravo").await;
    let a = db.store.scoped(&scope_a);
    let b = db.store.scoped(&scope_b);

    // Both workspaces import the same inventory (same asset ids), B also has a private asset.
    let inv = inventory(at(1));
    let evals: Vec<_> = inv
        .assets
        .iter()
        .map(|x| eval("aws-demo-control", x, FindingStatus::Fail))
        .collect();
    a.record_scan_at("a", &inv, &evals, severity_of, at(1))
        .await
        .unwrap();

    let secret = asset(
        "aws.s3.bucket",
        "arn:aws:s3:::bravo-secret",
        at(2),
        serde_json::json!({"secret": "bravo only"}),
    );
    let mut inv_b = inv.clone();
    inv_b.assets.push(secret.clone());
    let mut evals_b = evals.clone();
    evals_b.push(eval("aws-demo-control", &secret, FindingStatus::Fail));
    b.record_scan_at("b", &inv_b, &evals_b, severity_of, at(2))
        .await
        .unwrap();

    // Lists are confined.
    let assets_a = a
        .list_assets(&AssetFilter::default(), Page::new(500, 0))
        .await
        .unwrap();
    assert_eq!(assets_a.total, 3);
    assert!(assets_a.items.iter().all(|x| x.id != secret.id));
    assert_eq!(
        b.list_assets(&AssetFilter::default(), Page::default())
            .await
            .unwrap()
            .total,
        4
    );

    // Facets count only the workspace's own assets; each dimension ignores its own filter.
    let facets_a = a.asset_facets(&AssetFilter::default()).await.unwrap();
    let facets_b = b.asset_facets(&AssetFilter::default()).await.unwrap();
    let sum = |v: &[rampart_store::FacetValue]| v.iter().map(|f| f.count).sum::<u64>();
    assert_eq!((sum(&facets_a.types), sum(&facets_b.types)), (3, 4));
    assert_eq!(sum(&facets_a.providers), 3);
    let buckets = AssetFilter {
        resource_type: Some("aws.s3.bucket".into()),
        ..AssetFilter::default()
    };
    let facets_b = b.asset_facets(&buckets).await.unwrap();
    assert_eq!(
        sum(&facets_b.types),
        4,
        "the type facet ignores the type filter"
    );
    assert_eq!(
        facets_b
            .types
            .iter()
            .find(|f| f.value == "aws.s3.bucket")
            .map(|f| f.count),
        Some(2)
    );
    assert_eq!(sum(&facets_b.regions), 2, "the other facets apply it");

    // B's asset id through A's handle: None.
    assert!(a.asset(&secret.id).await.unwrap().is_none());
    assert!(b.asset(&secret.id).await.unwrap().is_some());
    assert!(a.relationships_of(&secret.id).await.unwrap().is_empty());

    // Findings are confined, and B's finding ids do not resolve through A.
    let fa = a
        .list_findings(&FindingFilter::default(), Page::default())
        .await
        .unwrap();
    assert_eq!(fa.total, 3);
    assert!(
        fa.items
            .iter()
            .all(|f| f.finding.id.starts_with("fnd_") && f.finding.asset_id != secret.id)
    );
    let b_secret_finding = finding_id(scope_b.workspace_id(), "aws-demo-control", &secret.id);
    assert!(b.finding(&b_secret_finding).await.unwrap().is_some());
    assert!(a.finding(&b_secret_finding).await.unwrap().is_none());
    // The same control on the same asset is a different finding in each workspace.
    let shared = &inv.assets[0].id;
    let fa_id = finding_id(scope_a.workspace_id(), "aws-demo-control", shared);
    let fb_id = finding_id(scope_b.workspace_id(), "aws-demo-control", shared);
    assert_ne!(fa_id, fb_id);
    assert!(a.finding(&fb_id).await.unwrap().is_none());
    assert!(b.finding(&fa_id).await.unwrap().is_none());
    let by_asset = a
        .list_findings(
            &FindingFilter {
                asset_id: Some(secret.id.clone()),
                ..FindingFilter::default()
            },
            Page::default(),
        )
        .await
        .unwrap();
    assert_eq!(by_asset.total, 0);

    // Counts and scans are confined.
    let counts_a: u64 = a
        .finding_counts()
        .await
        .unwrap()
        .iter()
        .map(|c| c.count)
        .sum();
    assert_eq!(counts_a, 3);
    let scans_a = a.list_scans(Page::default()).await.unwrap();
    assert_eq!(scans_a.total, 1);
    assert_eq!(scans_a.items[0].source, "a");
    assert_eq!(b.latest_scan().await.unwrap().unwrap().source, "b");

    // Writing through A never touches B: A's empty re-import leaves B's relationships alone.
    a.record_scan_at("a2", &Inventory::default(), &[], severity_of, at(3))
        .await
        .unwrap();
    let instance = &inv.assets[2];
    assert_eq!(b.relationships_of(&instance.id).await.unwrap().len(), 1);
}

#[tokio::test]
async fn scopes_are_granted_only_to_members_of_existing_workspaces() {
    let db = common::open().await;
    let scope_a = common::workspace(&db.store, "alpha").await;
    common::workspace(&db.store, "bravo").await;
    let alice = db
        .store
        .create_user("alice@example.com", "correct horse battery staple")
        .await
        .unwrap();
    db.store
        .set_membership(&scope_a, &alice.id, Role::Analyst)
        .await
        .unwrap();

    let granted = db
        .store
        .member_scope("alpha", &alice.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(granted.workspace_id(), scope_a.workspace_id());
    assert_eq!(granted.role(), Some(Role::Analyst));

    // Not a member and does not exist answer the same: None.
    assert!(
        db.store
            .member_scope("bravo", &alice.id)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        db.store
            .member_scope("nope", &alice.id)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        db.store
            .member_scope("alpha", "usr_unknown")
            .await
            .unwrap()
            .is_none()
    );
    assert!(db.store.operator_scope("nope").await.unwrap().is_none());

    let mine = db.store.workspaces_of_user(&alice.id).await.unwrap();
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].0.slug, "alpha");
    assert_eq!(mine[0].1, Role::Analyst);
}
