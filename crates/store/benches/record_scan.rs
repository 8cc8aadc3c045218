//! Benchmark: `record_scan` of a large inventory (first and repeated scan) and a findings page.
//! Run with `cargo bench -p rampart-store --bench record_scan` (RAMPART_VOLUME_ASSETS=N to resize).
#![allow(clippy::unwrap_used, dead_code)]

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::Instant;

use common::{at, eval, severity_of};
use rampart_model::{FindingStatus, Inventory};
use rampart_store::{FindingFilter, Page};

fn main() {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(record_scan_of_many_assets());
}

async fn record_scan_of_many_assets() {
    let n: usize = std::env::var("RAMPART_VOLUME_ASSETS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    let db = common::open().await;
    let scope = common::workspace(&db.store, "big").await;
    let ws = db.store.scoped(&scope);
    let assets: Vec<_> = (0..n)
        .map(|i| {
            common::asset(
                "aws.ec2.security_group",
                &format!("sg-{i:08}"),
                at(1),
                serde_json::json!({"groupId": format!("sg-{i:08}"), "ipPermissions": [{"fromPort": 22, "toPort": 22, "ipRanges": ["0.0.0.0/0"]}]}),
            )
        })
        .collect();
    let evals: Vec<_> = assets
        .iter()
        .flat_map(|a| {
            ["aws-ssh", "aws-rdp", "aws-default-sg"].map(|c| {
                eval(
                    c,
                    a,
                    if a.native_id.ends_with('0') {
                        FindingStatus::Fail
                    } else {
                        FindingStatus::Pass
                    },
                )
            })
        })
        .collect();
    let inv = Inventory {
        assets,
        relationships: vec![],
    };
    let t0 = Instant::now();
    ws.record_scan_at("first", &inv, &evals, severity_of, at(1))
        .await
        .unwrap();
    let first = t0.elapsed();
    let t1 = Instant::now();
    ws.record_scan_at("second", &inv, &evals, severity_of, at(2))
        .await
        .unwrap();
    let second = t1.elapsed();
    let t2 = Instant::now();
    let page = ws
        .list_findings(
            &FindingFilter {
                status: Some(FindingStatus::Fail),
                ..FindingFilter::default()
            },
            Page::new(50, 0),
        )
        .await
        .unwrap();
    let query = t2.elapsed();
    assert_eq!(
        page.total as usize,
        evals
            .iter()
            .filter(|e| e.status == FindingStatus::Fail)
            .count()
    );
    println!(
        "{n} assets, {} evaluations: first scan {first:?}, second scan {second:?}, failing-findings page {query:?}",
        evals.len()
    );
}
