//! `record_scan` is all-or-nothing: a failure half-way leaves the workspace exactly as it was.
#![allow(clippy::unwrap_used)]

mod common;

use common::{at, eval, inventory, severity_of};
use rampart_model::{Evaluation, FindingStatus, Relationship};
use rampart_store::{AssetFilter, FindingFilter, Page, WorkspaceStore};

async fn snapshot(ws: &WorkspaceStore) -> String {
    let assets = ws
        .list_assets(&AssetFilter::default(), Page::new(500, 0))
        .await
        .unwrap();
    let findings = ws
        .list_findings(&FindingFilter::default(), Page::new(500, 0))
        .await
        .unwrap();
    let scans = ws.list_scans(Page::new(500, 0)).await.unwrap();
    let mut rels = Vec::new();
    for a in &assets.items {
        rels.push(ws.relationships_of(&a.id).await.unwrap());
    }
    serde_json::to_string(&(assets, findings, scans, rels)).unwrap()
}

#[tokio::test]
async fn failed_scan_rolls_back_everything() {
    let db = common::open().await;
    let scope = common::workspace(&db.store, "acme").await;
    let ws = db.store.scoped(&scope);
    let inv = inventory(at(1));
    let evals: Vec<_> = inv
        .assets
        .iter()
        .map(|a| eval("aws-generic", a, FindingStatus::Fail))
        .collect();
    ws.record_scan_at("good", &inv, &evals, severity_of, at(1))
        .await
        .unwrap();
    let before = snapshot(&ws).await;

    // A second scan that changes every asset and finding, then evaluates an asset that does not
    // exist: refused after every asset was already rewritten in the transaction.
    let mut inv2 = inventory(at(2));
    for a in &mut inv2.assets {
        a.config = serde_json::json!({"changed": true});
        a.name = "renamed".into();
    }
    inv2.relationships.clear();
    let mut evals2: Vec<_> = inv2
        .assets
        .iter()
        .map(|a| eval("aws-generic", a, FindingStatus::Pass))
        .collect();
    evals2.push(Evaluation {
        control_id: "aws-generic".into(),
        asset_id: "ast_does_not_exist".into(),
        status: FindingStatus::Fail,
        reason: "x".into(),
    });
    let err = ws
        .record_scan_at("bad", &inv2, &evals2, severity_of, at(2))
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains(
            "invalid evaluations: asset ast_does_not_exist is evaluated but neither in the scan's inventory nor stored"
        ),
        "{err}"
    );
    assert_eq!(
        snapshot(&ws).await,
        before,
        "a failed scan must leave no trace"
    );

    // Same for a relationship to an unknown asset.
    let mut inv3 = inventory(at(3));
    inv3.relationships.push(Relationship {
        from: inv3.assets[0].id.clone(),
        to: "ast_missing".into(),
        kind: "uses".into(),
    });
    assert!(
        ws.record_scan_at("bad2", &inv3, &[], severity_of, at(3))
            .await
            .is_err()
    );
    assert_eq!(snapshot(&ws).await, before);
    assert_eq!(ws.list_scans(Page::default()).await.unwrap().total, 1);
}
