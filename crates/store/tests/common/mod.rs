//! Shared helpers for the store's integration tests.
#![allow(dead_code)]

use std::collections::BTreeMap;

use chrono::{DateTime, TimeZone, Utc};
use rampart_model::{
    Asset, Evaluation, FindingStatus, Inventory, Provider, Relationship, ResourceType, Severity,
};
use rampart_store::{Store, WorkspaceScope};

pub struct TestDb {
    pub dir: tempfile::TempDir,
    pub store: Store,
}

pub async fn open() -> TestDb {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open_data_dir(dir.path()).await.expect("open store");
    TestDb { dir, store }
}

pub async fn workspace(store: &Store, slug: &str) -> WorkspaceScope {
    store
        .create_workspace(slug, &format!("Workspace {slug}"))
        .await
        .expect("create workspace");
    store
        .operator_scope(slug)
        .await
        .expect("scope query")
        .expect("scope")
}

pub fn at(hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, hour, 0, 0)
        .single()
        .expect("valid time")
}

pub fn asset(kind: &str, native_id: &str, seen: DateTime<Utc>, config: serde_json::Value) -> Asset {
    let resource_type = ResourceType::parse(kind).expect("resource type");
    let id = Asset::make_id(
        Provider::Aws,
        "111122223333",
        "eu-west-1",
        &resource_type,
        native_id,
    );
    Asset {
        id,
        provider: Provider::Aws,
        account: "111122223333".into(),
        region: "eu-west-1".into(),
        resource_type,
        native_id: native_id.into(),
        name: native_id.rsplit('/').next().unwrap_or(native_id).into(),
        tags: BTreeMap::from([("env".to_string(), "prod".to_string())]),
        config,
        first_seen: seen,
        last_seen: seen,
    }
}

/// A bucket, an instance and a security group; the instance uses the group.
pub fn inventory(seen: DateTime<Utc>) -> Inventory {
    let bucket = asset(
        "aws.s3.bucket",
        "arn:aws:s3:::acme-logs",
        seen,
        serde_json::json!({"versioning": "Enabled"}),
    );
    let sg = asset(
        "aws.ec2.security_group",
        "sg-0123",
        seen,
        serde_json::json!({"ingress": [{"from": 22, "to": 22, "cidr": "0.0.0.0/0"}]}),
    );
    let instance = asset(
        "aws.ec2.instance",
        "arn:aws:ec2:eu-west-1:111122223333:instance/i-0abc",
        seen,
        serde_json::json!({"imdsv2": true}),
    );
    let relationships = vec![Relationship {
        from: instance.id.clone(),
        to: sg.id.clone(),
        kind: "uses".into(),
    }];
    Inventory {
        assets: vec![bucket, sg, instance],
        relationships,
    }
}

pub fn eval(control: &str, asset: &Asset, status: FindingStatus) -> Evaluation {
    Evaluation {
        control_id: control.into(),
        asset_id: asset.id.clone(),
        status,
        reason: if status == FindingStatus::Fail {
            format!("{control} fails")
        } else {
            String::new()
        },
    }
}

pub fn severity_of(control: &str) -> Severity {
    if control.contains("ssh") {
        Severity::High
    } else {
        Severity::Medium
    }
}
