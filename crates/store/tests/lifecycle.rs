//! `record_scan`: asset upserts, relationship replacement and the finding lifecycle.
#![allow(clippy::unwrap_used)]

mod common;

use common::{at, eval, inventory, severity_of};
use rampart_model::{FindingStatus, Relationship, Severity, finding_id};
use rampart_store::{AssetFilter, Direction, FindingFilter, MAX_PAGE_SIZE, Page};

#[tokio::test]
async fn finding_lifecycle_keeps_first_seen_and_tracks_resolution() {
    let db = common::open().await;
    let scope = common::workspace(&db.store, "acme").await;
    let ws = db.store.scoped(&scope);

    let inv1 = inventory(at(1));
    let sg = inv1.assets[1].clone();
    let control = "aws-ec2-sg-no-public-ssh";
    let fid = finding_id(scope.workspace_id(), control, &sg.id);

    // Scan 1: failing.
    let scan1 = ws
        .record_scan_at(
            "s1",
            &inv1,
            &[eval(control, &sg, FindingStatus::Fail)],
            severity_of,
            at(1),
        )
        .await
        .unwrap();
    assert_eq!(
        (scan1.fail_count, scan1.pass_count, scan1.asset_count),
        (1, 0, 3)
    );
    let f1 = ws.finding(&fid).await.unwrap().unwrap();
    assert_eq!(f1.finding.status, FindingStatus::Fail);
    assert_eq!(f1.finding.severity, Severity::High);
    assert_eq!(f1.finding.first_seen, at(1));
    assert_eq!(f1.finding.resolved_at, None);
    assert_eq!(f1.last_scan_id, scan1.id);
    assert_eq!(f1.asset_type, "aws.ec2.security_group");
    assert_eq!(f1.finding.reason, format!("{control} fails"));

    // Scan 2: fixed → resolved_at set, first_seen unchanged.
    let inv2 = inventory(at(2));
    let scan2 = ws
        .record_scan_at(
            "s2",
            &inv2,
            &[eval(control, &sg, FindingStatus::Pass)],
            severity_of,
            at(2),
        )
        .await
        .unwrap();
    let f2 = ws.finding(&fid).await.unwrap().unwrap();
    assert_eq!(f2.finding.id, fid);
    assert_eq!(f2.finding.status, FindingStatus::Pass);
    assert_eq!(f2.finding.first_seen, at(1));
    assert_eq!(f2.finding.last_seen, at(2));
    assert_eq!(f2.finding.resolved_at, Some(at(2)));
    assert_eq!(f2.last_scan_id, scan2.id);

    // Scan 3: still passing → resolved_at kept.
    ws.record_scan_at(
        "s3",
        &inventory(at(3)),
        &[eval(control, &sg, FindingStatus::Pass)],
        severity_of,
        at(3),
    )
    .await
    .unwrap();
    assert_eq!(
        ws.finding(&fid).await.unwrap().unwrap().finding.resolved_at,
        Some(at(2))
    );

    // Scan 4: regression → resolved_at cleared.
    ws.record_scan_at(
        "s4",
        &inventory(at(4)),
        &[eval(control, &sg, FindingStatus::Fail)],
        severity_of,
        at(4),
    )
    .await
    .unwrap();
    let f4 = ws.finding(&fid).await.unwrap().unwrap();
    assert_eq!(f4.finding.status, FindingStatus::Fail);
    assert_eq!(f4.finding.resolved_at, None);
    assert_eq!(f4.finding.first_seen, at(1));

    // Assets: first_seen from the first import, last_seen from the latest.
    let stored = ws.asset(&sg.id).await.unwrap().unwrap();
    assert_eq!(stored.first_seen, at(1));
    assert_eq!(stored.last_seen, at(4));
    assert_eq!(stored.config, sg.config);
    assert_eq!(stored.tags.get("env").map(String::as_str), Some("prod"));

    // Scans: newest first, counted.
    let scans = ws.list_scans(Page::default()).await.unwrap();
    assert_eq!(scans.total, 4);
    let sources: Vec<_> = scans.items.iter().map(|s| s.source.as_str()).collect();
    assert_eq!(sources, ["s4", "s3", "s2", "s1"]);
    assert_eq!(ws.latest_scan().await.unwrap().unwrap().source, "s4");
}

#[tokio::test]
async fn assets_update_and_relationships_are_replaced() {
    let db = common::open().await;
    let scope = common::workspace(&db.store, "acme").await;
    let ws = db.store.scoped(&scope);
    let inv = inventory(at(1));
    let (bucket, sg, instance) = (
        inv.assets[0].clone(),
        inv.assets[1].clone(),
        inv.assets[2].clone(),
    );
    ws.record_scan_at("s1", &inv, &[], severity_of, at(1))
        .await
        .unwrap();

    let rels = ws.relationships_of(&sg.id).await.unwrap();
    assert_eq!(rels.len(), 1);
    assert_eq!(rels[0].direction, Direction::Incoming);
    assert_eq!(rels[0].other_id, instance.id);
    assert_eq!(rels[0].other_type, "aws.ec2.instance");

    // Second import: the instance now uses the bucket instead of the group, and its config changed.
    let mut inv2 = inventory(at(2));
    inv2.assets[2].config = serde_json::json!({"imdsv2": false});
    inv2.relationships = vec![Relationship {
        from: instance.id.clone(),
        to: bucket.id.clone(),
        kind: "reads".into(),
    }];
    ws.record_scan_at("s2", &inv2, &[], severity_of, at(2))
        .await
        .unwrap();
    assert!(ws.relationships_of(&sg.id).await.unwrap().is_empty());
    let out = ws.relationships_of(&instance.id).await.unwrap();
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].direction, Direction::Outgoing);
    assert_eq!(out[0].relationship.kind, "reads");
    assert_eq!(
        ws.asset(&instance.id).await.unwrap().unwrap().config,
        serde_json::json!({"imdsv2": false})
    );
}

#[tokio::test]
async fn lists_filter_and_page() {
    let db = common::open().await;
    let scope = common::workspace(&db.store, "acme").await;
    let ws = db.store.scoped(&scope);
    let mut inv = inventory(at(1));
    for i in 0..20 {
        inv.assets.push(common::asset(
            "aws.iam.user",
            &format!("arn:aws:iam::111122223333:user/u{i:02}"),
            at(1),
            serde_json::json!({}),
        ));
    }
    let evals: Vec<_> = inv
        .assets
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let status = if i % 2 == 0 {
                FindingStatus::Fail
            } else {
                FindingStatus::Pass
            };
            eval(
                if i == 1 {
                    "aws-ec2-sg-no-public-ssh"
                } else {
                    "aws-generic"
                },
                a,
                status,
            )
        })
        .collect();
    ws.record_scan_at("s", &inv, &evals, severity_of, at(1))
        .await
        .unwrap();

    let users = ws
        .list_assets(
            &AssetFilter {
                resource_type: Some("aws.iam.user".into()),
                ..AssetFilter::default()
            },
            Page::new(7, 14),
        )
        .await
        .unwrap();
    assert_eq!(users.total, 20);
    assert_eq!(users.items.len(), 6);
    assert_eq!(users.items[0].name, "u14");
    let none = ws
        .list_assets(
            &AssetFilter {
                region: Some("us-east-1".into()),
                ..AssetFilter::default()
            },
            Page::default(),
        )
        .await
        .unwrap();
    assert_eq!(none.total, 0);
    assert!(none.items.is_empty());

    // Page size is bounded.
    assert_eq!(Page::new(10_000, 0).limit(), MAX_PAGE_SIZE);
    assert_eq!(Page::new(0, 0).limit(), 1);

    let failing = ws
        .list_findings(
            &FindingFilter {
                status: Some(FindingStatus::Fail),
                ..FindingFilter::default()
            },
            Page::new(500, 0),
        )
        .await
        .unwrap();
    assert_eq!(failing.total, 12);
    let high = ws
        .list_findings(
            &FindingFilter {
                severity: Some(Severity::High),
                ..FindingFilter::default()
            },
            Page::default(),
        )
        .await
        .unwrap();
    assert_eq!(high.total, 1);
    assert_eq!(high.items[0].finding.control_id, "aws-ec2-sg-no-public-ssh");
    // Most severe first.
    let all = ws
        .list_findings(&FindingFilter::default(), Page::new(3, 0))
        .await
        .unwrap();
    assert_eq!(all.items[0].finding.severity, Severity::High);
    assert_eq!(all.total, 23);

    let counts = ws.finding_counts().await.unwrap();
    let fail_medium = counts
        .iter()
        .find(|c| c.status == FindingStatus::Fail && c.severity == Severity::Medium)
        .map(|c| c.count);
    assert_eq!(fail_medium, Some(12));
    let controls = ws.control_counts().await.unwrap();
    assert!(
        controls
            .iter()
            .any(|c| c.control_id == "aws-ec2-sg-no-public-ssh"
                && c.status == FindingStatus::Pass
                && c.count == 1)
    );
}

/// Keyset pages (`findings_after`) walk the same order as `list_findings`, each finding once,
/// with and without a filter, across severities and controls (both backends).
#[tokio::test]
async fn keyset_pages_walk_the_list_order_exactly_once() {
    let db = common::open().await;
    let scope = common::workspace(&db.store, "acme").await;
    let ws = db.store.scoped(&scope);
    let mut inv = inventory(at(1));
    for i in 0..40 {
        inv.assets.push(common::asset(
            "aws.s3.bucket",
            &format!("arn:aws:s3:::b-{i:02}"),
            at(1),
            serde_json::json!({}),
        ));
    }
    let mut evals = Vec::new();
    for (i, a) in inv.assets.iter().enumerate() {
        for control in [
            "aws-ec2-sg-no-public-ssh",
            "aws-s3-versioning",
            "aws-s3-logging",
        ] {
            let status = if (i + control.len()) % 3 == 0 {
                FindingStatus::Pass
            } else {
                FindingStatus::Fail
            };
            evals.push(eval(control, a, status));
        }
    }
    ws.record_scan_at("s", &inv, &evals, severity_of, at(1))
        .await
        .unwrap();
    for filter in [
        FindingFilter::default(),
        FindingFilter {
            status: Some(FindingStatus::Fail),
            ..FindingFilter::default()
        },
    ] {
        let all = ws
            .list_findings(&filter, Page::new(MAX_PAGE_SIZE, 0))
            .await
            .unwrap();
        let expected: Vec<String> = all.items.iter().map(|f| f.finding.id.clone()).collect();
        assert!(expected.len() > 20);
        let mut walked = Vec::new();
        let mut cursor = None;
        loop {
            let page = ws
                .findings_after(&filter, cursor.as_ref(), 7)
                .await
                .unwrap();
            if page.is_empty() {
                break;
            }
            assert!(page.len() <= 7);
            cursor = page.last().map(rampart_store::FindingCursor::after);
            walked.extend(page.into_iter().map(|f| f.finding.id));
        }
        assert_eq!(walked, expected);
    }
}

fn sweep(resource_type: &str, account: &str, region: Option<&str>) -> rampart_model::Sweep {
    rampart_model::Sweep {
        provider: rampart_model::Provider::Aws,
        account: account.into(),
        region: region.map(str::to_string),
        resource_type: resource_type.into(),
    }
}

#[tokio::test]
async fn a_swept_scan_marks_unseen_assets_gone_and_keeps_those_it_could_not_list() {
    let db = common::open().await;
    let scope = common::workspace(&db.store, "acme").await;
    let ws = db.store.scoped(&scope);
    let inv1 = inventory(at(1));
    let (bucket, sg, instance) = (
        inv1.assets[0].clone(),
        inv1.assets[1].clone(),
        inv1.assets[2].clone(),
    );
    let data = common::asset(
        "aws.s3.bucket",
        "arn:aws:s3:::acme-data",
        at(1),
        serde_json::json!({}),
    );
    let mut first = inv1.clone();
    first.assets.push(data.clone());
    let ssh = "aws-ec2-sg-no-public-ssh";
    let versioning = "aws-s3-versioning";
    ws.record_scan_at(
        "s1",
        &first,
        &[
            eval(ssh, &sg, FindingStatus::Fail),
            eval(versioning, &bucket, FindingStatus::Pass),
        ],
        severity_of,
        at(1),
    )
    .await
    .unwrap();

    // Scan 2 listed every bucket of the account and the security groups of eu-west-1 and saw
    // only acme-data. Instances were not listed (their listing failed); the instance sweep of
    // another account says nothing about this one.
    let second = rampart_model::Inventory {
        assets: vec![common::asset(
            "aws.s3.bucket",
            "arn:aws:s3:::acme-data",
            at(2),
            serde_json::json!({}),
        )],
        relationships: Vec::new(),
    };
    let sweeps = [
        sweep("aws.s3.bucket", "111122223333", None),
        sweep("aws.ec2.security_group", "111122223333", Some("eu-west-1")),
        sweep("aws.ec2.security_group", "111122223333", Some("us-east-1")),
        sweep("aws.ec2.instance", "999999999999", Some("eu-west-1")),
    ];
    let scan2 = ws
        .record_swept_scan_at("s2", &second, &sweeps, &[], severity_of, at(2))
        .await
        .unwrap();
    assert_eq!(scan2.gone_count, 2, "acme-logs and the security group");
    let listed = ws.list_scans(Page::default()).await.unwrap();
    assert_eq!(listed.items[0].gone_count, 2, "stored with the scan");

    let ids = |p: rampart_store::Paged<rampart_model::Asset>| {
        let mut v: Vec<String> = p.items.into_iter().map(|a| a.id).collect();
        v.sort();
        v
    };
    let sorted = |mut v: Vec<String>| {
        v.sort();
        v
    };
    let present = ids(ws
        .list_assets(&AssetFilter::default(), Page::default())
        .await
        .unwrap());
    assert_eq!(present, sorted(vec![data.id.clone(), instance.id.clone()]));
    let gone_filter = AssetFilter {
        gone: true,
        ..AssetFilter::default()
    };
    let gone = ids(ws.list_assets(&gone_filter, Page::default()).await.unwrap());
    assert_eq!(gone, sorted(vec![bucket.id.clone(), sg.id.clone()]));
    assert_eq!(ws.asset_gone_at(&sg.id).await.unwrap(), Some(Some(at(2))));
    assert_eq!(ws.asset_gone_at(&instance.id).await.unwrap(), Some(None));
    assert_eq!(ws.asset_gone_at("nope").await.unwrap(), None);
    // A gone asset is still readable (its last known configuration) ...
    assert!(ws.asset(&sg.id).await.unwrap().is_some());
    // ... but out of the inventory, the graph's edges and the facets.
    let inv = ws.inventory().await.unwrap();
    assert_eq!(inv.assets.len(), 2);
    assert!(inv.relationships.is_empty(), "{:?}", inv.relationships);
    assert!(ws.relationships_of(&instance.id).await.unwrap().is_empty());
    let facets = ws.asset_facets(&AssetFilter::default()).await.unwrap();
    assert_eq!(facets.types.iter().map(|f| f.count).sum::<u64>(), 2);

    // Its findings no longer apply; the failing one is resolved by the scan that found it gone.
    let f = ws
        .finding(&finding_id(scope.workspace_id(), ssh, &sg.id))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(f.finding.status, FindingStatus::NotApplicable);
    assert_eq!(f.finding.resolved_at, Some(at(2)));
    assert_eq!(f.last_change.as_deref(), Some("resolved"));
    assert_eq!(f.last_scan_id, scan2.id);
    assert!(f.finding.reason.contains("gone"), "{}", f.finding.reason);
    let passing = ws
        .finding(&finding_id(scope.workspace_id(), versioning, &bucket.id))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(passing.finding.status, FindingStatus::NotApplicable);
    assert_eq!(passing.finding.resolved_at, None, "it never failed");
    let failing = FindingFilter {
        status: Some(FindingStatus::Fail),
        ..FindingFilter::default()
    };
    assert_eq!(
        ws.list_findings(&failing, Page::default())
            .await
            .unwrap()
            .total,
        0
    );

    // The same sweep again: what is gone stays gone since scan 2.
    ws.record_swept_scan_at("s3", &second, &sweeps, &[], severity_of, at(3))
        .await
        .unwrap();
    assert_eq!(ws.asset_gone_at(&sg.id).await.unwrap(), Some(Some(at(2))));

    // The group comes back, still open to SSH: present again, and the finding regressed.
    let mut back = second.clone();
    back.assets.push(common::asset(
        "aws.ec2.security_group",
        "sg-0123",
        at(4),
        serde_json::json!({}),
    ));
    let scan4 = ws
        .record_swept_scan_at(
            "s4",
            &back,
            &sweeps,
            &[eval(ssh, &sg, FindingStatus::Fail)],
            severity_of,
            at(4),
        )
        .await
        .unwrap();
    assert_eq!(scan4.gone_count, 0);
    assert_eq!(ws.asset_gone_at(&sg.id).await.unwrap(), Some(None));
    let f = ws
        .finding(&finding_id(scope.workspace_id(), ssh, &sg.id))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(f.finding.status, FindingStatus::Fail);
    assert_eq!(f.last_change.as_deref(), Some("regressed"));
    assert_eq!(f.finding.first_seen, at(1));
}

/// Inventory facets beyond provider/account/region/type (issue 8): tags, failing controls and
/// score bands, each counted under the other filters, and the matching filters (tag pairs are
/// matched exactly: `_` and `%` in a value are not wildcards).
#[tokio::test]
async fn tag_failing_control_and_score_facets_count_and_filter() {
    use rampart_store::ScoreBand;
    let db = common::open().await;
    let scope = common::workspace(&db.store, "acme").await;
    let ws = db.store.scoped(&scope);
    let mut inv = inventory(at(1));
    let (bucket, sg, instance) = (
        inv.assets[0].clone(),
        inv.assets[1].clone(),
        inv.assets[2].clone(),
    );
    let mut odd = common::asset(
        "aws.sqs.queue",
        "arn:aws:sqs:eu-west-1:111122223333:odd",
        at(1),
        serde_json::json!({}),
    );
    odd.tags = [("team".to_string(), "data_x%".to_string())].into();
    let mut lookalike = common::asset(
        "aws.sqs.queue",
        "arn:aws:sqs:eu-west-1:111122223333:lookalike",
        at(1),
        serde_json::json!({}),
    );
    lookalike.tags = [("team".to_string(), "dataAxyz".to_string())].into();
    inv.assets.push(odd.clone());
    inv.assets.push(lookalike.clone());
    // sg: one high (score 70); bucket: one medium (85); odd: two mediums (72.25);
    // instance and lookalike: nothing fails (100).
    let evals = [
        eval("aws-ec2-sg-no-public-ssh", &sg, FindingStatus::Fail),
        eval("aws-s3-versioning", &bucket, FindingStatus::Fail),
        eval("aws-sqs-encrypted", &odd, FindingStatus::Fail),
        eval("aws-sqs-policy", &odd, FindingStatus::Fail),
        eval("aws-ec2-imdsv2", &instance, FindingStatus::Pass),
    ];
    ws.record_scan_at("s1", &inv, &evals, severity_of, at(1))
        .await
        .unwrap();
    let pairs = |v: &[rampart_store::FacetValue]| -> Vec<(String, u64)> {
        v.iter().map(|f| (f.value.clone(), f.count)).collect()
    };
    let own = |v: &str, n: u64| (v.to_string(), n);
    let all = ws.asset_facets(&AssetFilter::default()).await.unwrap();
    assert_eq!(
        pairs(&all.scores),
        [own("100", 2), own("75-99", 1), own("50-74", 2)]
    );
    assert_eq!(
        pairs(&all.tags),
        [
            own("env=prod", 3),
            own("team=dataAxyz", 1),
            own("team=data_x%", 1)
        ]
    );
    let mut controls = pairs(&all.failing_controls);
    controls.sort();
    assert_eq!(
        controls,
        [
            own("aws-ec2-sg-no-public-ssh", 1),
            own("aws-s3-versioning", 1),
            own("aws-sqs-encrypted", 1),
            own("aws-sqs-policy", 1)
        ]
    );

    let ids = |p: rampart_store::Paged<rampart_model::Asset>| {
        let mut v: Vec<String> = p.items.into_iter().map(|a| a.id).collect();
        v.sort();
        v
    };
    let sorted = |mut v: Vec<String>| {
        v.sort();
        v
    };
    let list = |f: AssetFilter| {
        let ws = &ws;
        async move { ids(ws.list_assets(&f, Page::default()).await.unwrap()) }
    };
    assert_eq!(
        list(AssetFilter {
            tag: Some("team=data_x%".into()),
            ..AssetFilter::default()
        })
        .await,
        vec![odd.id.clone()],
        "_ and % match themselves"
    );
    assert_eq!(
        list(AssetFilter {
            failing_control: Some("aws-ec2-sg-no-public-ssh".into()),
            ..AssetFilter::default()
        })
        .await,
        vec![sg.id.clone()]
    );
    assert_eq!(
        list(AssetFilter {
            score: Some(ScoreBand::Fair),
            ..AssetFilter::default()
        })
        .await,
        sorted(vec![sg.id.clone(), odd.id.clone()])
    );
    assert_eq!(
        list(AssetFilter {
            score: Some(ScoreBand::Full),
            ..AssetFilter::default()
        })
        .await,
        sorted(vec![instance.id.clone(), lookalike.id.clone()])
    );
    // A facet ignores its own filter and applies the others.
    let tagged = ws
        .asset_facets(&AssetFilter {
            tag: Some("env=prod".into()),
            score: Some(ScoreBand::Fair),
            ..AssetFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(
        pairs(&tagged.scores),
        [own("100", 1), own("75-99", 1), own("50-74", 1)]
    );
    assert_eq!(
        pairs(&tagged.tags),
        [own("env=prod", 1), own("team=data_x%", 1)]
    );

    // An exemption lifts its finding out of the score.
    let finding = finding_id(scope.workspace_id(), "aws-s3-versioning", &bucket.id);
    ws.exempt_finding(
        &finding,
        "accepted for the archive bucket",
        chrono::Utc::now() + chrono::TimeDelta::days(1),
        rampart_store::audit::AuditEvent::new(
            "finding.exempt",
            rampart_store::audit::Outcome::Success,
        ),
    )
    .await
    .unwrap();
    let after = ws.asset_facets(&AssetFilter::default()).await.unwrap();
    assert_eq!(pairs(&after.scores), [own("100", 3), own("50-74", 2)]);
}

/// Changes between scans (issue 8, asset page): a scan that records a different configuration
/// or different tags keeps the version it replaced; an unchanged asset keeps nothing; versions
/// come newest first and belong to their workspace.
#[tokio::test]
async fn changed_assets_keep_the_version_a_scan_replaced() {
    let db = common::open().await;
    let scope = common::workspace(&db.store, "acme").await;
    let ws = db.store.scoped(&scope);
    let inv1 = inventory(at(1));
    let (bucket, sg) = (inv1.assets[0].clone(), inv1.assets[1].clone());
    ws.record_scan_at("s1", &inv1, &[], severity_of, at(1))
        .await
        .unwrap();
    assert!(ws.asset_versions(&bucket.id, 10).await.unwrap().is_empty());

    // Scan 2: the bucket's versioning is suspended; the group is unchanged.
    let mut inv2 = inventory(at(2));
    inv2.assets[0].config = serde_json::json!({"versioning": "Suspended"});
    let s2 = ws
        .record_scan_at("s2", &inv2, &[], severity_of, at(2))
        .await
        .unwrap();
    let v = ws.asset_versions(&bucket.id, 10).await.unwrap();
    assert_eq!(v.len(), 1);
    assert_eq!(v[0].scan_id, s2.id);
    assert_eq!(v[0].replaced_at, at(2));
    assert_eq!(v[0].config, serde_json::json!({"versioning": "Enabled"}));
    assert!(ws.asset_versions(&sg.id, 10).await.unwrap().is_empty());

    // Scan 3 only retags it: another version; scan 4 repeats scan 3: none.
    let mut inv3 = inv2.clone();
    inv3.assets[0].tags.insert("owner".into(), "data".into());
    let s3 = ws
        .record_scan_at("s3", &inv3, &[], severity_of, at(3))
        .await
        .unwrap();
    ws.record_scan_at("s4", &inv3, &[], severity_of, at(4))
        .await
        .unwrap();
    let v = ws.asset_versions(&bucket.id, 10).await.unwrap();
    assert_eq!(
        v.iter().map(|x| x.scan_id.clone()).collect::<Vec<_>>(),
        [s3.id.clone(), s2.id.clone()]
    );
    assert_eq!(v[0].config, serde_json::json!({"versioning": "Suspended"}));
    assert!(!v[0].tags.contains_key("owner"));
    assert_eq!(ws.asset_versions(&bucket.id, 1).await.unwrap().len(), 1);

    // Another workspace sees none of them.
    let other = common::workspace(&db.store, "other").await;
    assert!(
        db.store
            .scoped(&other)
            .asset_versions(&bucket.id, 10)
            .await
            .unwrap()
            .is_empty()
    );
}

/// Inventory facets on a very large workspace (issue 8, big data): each facet counts at most
/// `FACET_SAMPLE` assets and says so, while the list's count stays exact; below the sample the
/// counts are exact and not marked.
#[tokio::test]
async fn facets_count_a_bounded_sample_of_a_large_workspace_and_say_so() {
    let db = common::open().await;
    let scope = common::workspace(&db.store, "acme").await;
    let ws = db.store.scoped(&scope);
    let n = usize::try_from(rampart_store::FACET_SAMPLE).unwrap() + 10;
    let assets: Vec<_> = (0..n)
        .map(|i| {
            common::asset(
                if i % 2 == 0 {
                    "aws.s3.bucket"
                } else {
                    "aws.ec2.security_group"
                },
                &format!("bulk-{i:06}"),
                at(1),
                serde_json::json!({}),
            )
        })
        .collect();
    let inv = rampart_model::Inventory {
        assets,
        relationships: Vec::new(),
    };
    ws.record_scan_at("big", &inv, &[], severity_of, at(1))
        .await
        .unwrap();
    let all = AssetFilter::default();
    assert_eq!(ws.count_assets(&all).await.unwrap(), n as u64);
    let facets = ws.asset_facets(&all).await.unwrap();
    assert!(facets.sampled);
    let counted: u64 = facets.types.iter().map(|f| f.count).sum();
    assert_eq!(counted, rampart_store::FACET_SAMPLE);
    let scored: u64 = facets.scores.iter().map(|f| f.count).sum();
    assert_eq!(scored, rampart_store::FACET_SAMPLE);

    // Narrowed below the sample by a filter that every facet but `type` applies: those facets
    // are exact; the type facet ignores its own filter and still counts a sample.
    let buckets = AssetFilter {
        resource_type: Some("aws.s3.bucket".into()),
        ..AssetFilter::default()
    };
    let narrowed = ws.asset_facets(&buckets).await.unwrap();
    assert!(narrowed.sampled, "the type facet still had more to count");
    let providers: u64 = narrowed.providers.iter().map(|f| f.count).sum();
    assert_eq!(providers, (n as u64).div_ceil(2));

    // A small workspace is counted exactly and not marked.
    let small = common::workspace(&db.store, "small").await;
    let small = db.store.scoped(&small);
    small
        .record_scan_at("s1", &inventory(at(1)), &[], severity_of, at(1))
        .await
        .unwrap();
    let facets = small.asset_facets(&AssetFilter::default()).await.unwrap();
    assert!(!facets.sampled);
    assert_eq!(facets.types.iter().map(|f| f.count).sum::<u64>(), 3);
}
