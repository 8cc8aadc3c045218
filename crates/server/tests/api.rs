//! The JSON API: assets, findings, controls, frameworks, scans, the CEL filter, workspace
//! isolation (ASVS 4.1.x, 4.2.1) and the generated OpenAPI 3.1 description.
#![allow(clippy::unwrap_used)]

mod common;

use common::{ALICE, ALICE_PASSWORD, BOB, BOB_PASSWORD};
use rampart_model::FindingStatus;
use rampart_store::Role;

#[tokio::test]
async fn assets_are_listed_filtered_paged_and_detailed() {
    let t = common::spawn().await;
    let s = t.login(ALICE, ALICE_PASSWORD).await;

    let all = t.get_json("/api/v1/workspaces/acme/assets", &s).await;
    assert_eq!(all["total"], t.inventory.assets.len());
    assert_eq!(all["limit"], 50);
    let first = &all["items"][0];
    for field in [
        "id",
        "provider",
        "account",
        "region",
        "type",
        "native_id",
        "name",
        "tags",
        "config",
        "first_seen",
        "last_seen",
    ] {
        assert!(!first[field].is_null(), "asset field {field}");
    }

    let buckets = t
        .get_json("/api/v1/workspaces/acme/assets?type=aws.s3.bucket", &s)
        .await;
    assert_eq!(buckets["total"], 1);
    assert_eq!(buckets["items"][0]["name"], "acme-logs");
    assert_eq!(buckets["items"][0]["tags"]["team"], "platform");
    let none = t
        .get_json("/api/v1/workspaces/acme/assets?region=us-east-1", &s)
        .await;
    assert_eq!(none["total"], 0);

    let page = t
        .get_json("/api/v1/workspaces/acme/assets?limit=2&offset=1", &s)
        .await;
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    assert_eq!(page["offset"], 1);
    let clamped = t
        .get_json("/api/v1/workspaces/acme/assets?limit=100000", &s)
        .await;
    assert_eq!(clamped["limit"], 500);
    let bad = t
        .get("/api/v1/workspaces/acme/assets?limit=-1", Some(&s))
        .await;
    assert_eq!(bad.status(), 400);
    let body: serde_json::Value = bad.json().await.unwrap();
    assert_eq!(body["error"]["code"], "bad_request");

    // Detail: the instance with its relationship to the security group.
    let instance = t
        .inventory
        .assets
        .iter()
        .find(|a| a.resource_type.as_str() == "aws.ec2.instance")
        .unwrap();
    let detail = t
        .get_json(
            &format!("/api/v1/workspaces/acme/assets/{}", instance.id),
            &s,
        )
        .await;
    assert_eq!(detail["asset"]["id"], instance.id.as_str());
    assert_eq!(detail["asset"]["config"]["instanceId"], "i-0abc");
    let rels = detail["relationships"].as_array().unwrap();
    assert_eq!(rels.len(), 1);
    assert_eq!(rels[0]["kind"], "uses");
    assert_eq!(rels[0]["direction"], "outgoing");
    assert_eq!(rels[0]["other_type"], "aws.ec2.security_group");
    assert!(detail["findings"].is_array());
    // The asset score: 100 times the severity factor of each failing control.
    let failing: Vec<&str> = detail["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["status"] == "fail")
        .map(|f| f["severity"].as_str().unwrap())
        .collect();
    let expected = rampart_rules::score::asset_score(
        failing
            .iter()
            .map(|s| s.parse::<rampart_model::Severity>().unwrap()),
    );
    assert_eq!(detail["score"].as_f64().unwrap(), expected);

    let missing = t
        .get("/api/v1/workspaces/acme/assets/ast_nope", Some(&s))
        .await;
    assert_eq!(missing.status(), 404);
    t.server.shutdown().await.unwrap();
}

/// `?q=` takes a CEL expression; a syntax error is a 400 naming line and column.
#[tokio::test]
async fn cel_filter_and_its_errors() {
    let t = common::spawn().await;
    let s = t.login(ALICE, ALICE_PASSWORD).await;
    let q = |expr: &str| {
        format!(
            "/api/v1/workspaces/acme/assets?q={}",
            percent_encoding::utf8_percent_encode(expr, percent_encoding::NON_ALPHANUMERIC)
        )
    };
    let prod = t.get_json(&q(r#"resource.tags.env == "prod""#), &s).await;
    let names: Vec<&str> = prod["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(prod["total"], 2, "{prod}");
    assert!(
        names.contains(&"acme-logs") && names.contains(&"web-1"),
        "{names:?}"
    );

    let resp = t.get(&q(r#"resource.tags.env == "#), Some(&s)).await;
    assert_eq!(resp.status(), 400);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "invalid_filter");
    assert_eq!(body["error"]["line"], 1);
    assert!(body["error"]["column"].as_u64().unwrap() >= 1);
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("line 1, column"), "{message}");
    t.server.shutdown().await.unwrap();
}

#[tokio::test]
async fn findings_summary_controls_frameworks_and_scans() {
    let t = common::spawn().await;
    let s = t.login(ALICE, ALICE_PASSWORD).await;

    let all = t
        .get_json("/api/v1/workspaces/acme/findings?limit=500", &s)
        .await;
    assert_eq!(all["total"], t.evaluations.len());
    let failing = t
        .get_json("/api/v1/workspaces/acme/findings?status=fail&limit=500", &s)
        .await;
    assert_eq!(failing["total"], t.fails());
    assert!(
        t.fails() > 0,
        "the test inventory should fail some built-in control"
    );
    let f = &failing["items"][0];
    assert_eq!(f["status"], "fail");
    assert!(f["id"].as_str().unwrap().starts_with("fnd_"));
    assert!(f["control_title"].is_string());
    assert!(f["first_seen"].is_string());
    assert!(f["resolved_at"].is_null());
    let one = t
        .get_json(
            &format!(
                "/api/v1/workspaces/acme/findings/{}",
                f["id"].as_str().unwrap()
            ),
            &s,
        )
        .await;
    assert_eq!(one["id"], f["id"]);
    let by_control = t
        .get_json(
            &format!(
                "/api/v1/workspaces/acme/findings?control={}",
                f["control_id"].as_str().unwrap()
            ),
            &s,
        )
        .await;
    assert!(by_control["total"].as_u64().unwrap() >= 1);
    let sev = f["severity"].as_str().unwrap();
    let by_sev = t
        .get_json(
            &format!("/api/v1/workspaces/acme/findings?severity={sev}&status=fail"),
            &s,
        )
        .await;
    assert!(
        by_sev["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|x| x["severity"] == sev)
    );
    let bad = t
        .get("/api/v1/workspaces/acme/findings?status=maybe", Some(&s))
        .await;
    assert_eq!(bad.status(), 400);

    let summary = t.get_json("/api/v1/workspaces/acme/summary", &s).await;
    assert_eq!(summary["by_severity"].as_array().unwrap().len(), 5);
    assert_eq!(summary["by_severity"][0]["severity"], "critical");
    assert_eq!(summary["totals"]["fail"], t.fails());
    assert_eq!(summary["latest_scan"]["source"], "test");

    let controls = t.get_json("/api/v1/workspaces/acme/controls", &s).await;
    assert_eq!(controls["total"], t.catalog.len());
    let failed_control = f["control_id"].as_str().unwrap();
    let c = t
        .get_json(
            &format!("/api/v1/workspaces/acme/controls/{failed_control}"),
            &s,
        )
        .await;
    assert_eq!(c["id"], failed_control);
    assert!(c["results"]["fail"].as_u64().unwrap() >= 1);
    assert!(c["condition"].is_string() && c["remediation"].is_string());
    assert_eq!(
        t.get("/api/v1/workspaces/acme/controls/nope", Some(&s))
            .await
            .status(),
        404
    );

    let frameworks = t.get_json("/api/v1/workspaces/acme/frameworks", &s).await;
    let items = frameworks["items"].as_array().unwrap();
    assert_eq!(items.len(), t.catalog.frameworks().len());
    if let Some(fw) = items.first() {
        assert!(fw["percent"].is_number());
        assert!(fw.get("requirements").is_none());
        let detail = t
            .get_json(
                &format!(
                    "/api/v1/workspaces/acme/frameworks/{}",
                    fw["id"].as_str().unwrap()
                ),
                &s,
            )
            .await;
        assert!(detail["requirements"].is_array());
    }

    let scans = t.get_json("/api/v1/workspaces/acme/scans", &s).await;
    assert_eq!(scans["total"], 1);
    assert_eq!(scans["items"][0]["asset_count"], t.inventory.assets.len());
    assert_eq!(
        scans["items"][0]["fail_count"],
        t.evaluations
            .iter()
            .filter(|e| e.status == FindingStatus::Fail)
            .count()
    );
    t.server.shutdown().await.unwrap();
}

/// V4.1.x / V4.2.1: a workspace the user is not a member of answers 404, exactly like one that
/// does not exist, on every route; another workspace's object ids do not resolve.
#[tokio::test]
async fn v4_2_1_foreign_workspace_is_404_never_200_or_403() {
    let t = common::spawn().await;
    let alice = t.login(ALICE, ALICE_PASSWORD).await;
    let bob = t.login(BOB, BOB_PASSWORD).await;

    let mine = t.get_json("/api/v1/workspaces", &alice).await;
    assert_eq!(mine["items"].as_array().unwrap().len(), 1);

    for route in [
        "assets",
        "findings",
        "controls",
        "frameworks",
        "scans",
        "summary",
    ] {
        let foreign = t
            .get(&format!("/api/v1/workspaces/other/{route}"), Some(&alice))
            .await;
        let missing = t
            .get(&format!("/api/v1/workspaces/nowhere/{route}"), Some(&alice))
            .await;
        assert_eq!(foreign.status(), 404, "{route}");
        assert_eq!(missing.status(), 404, "{route}");
        assert_eq!(
            foreign.text().await.unwrap(),
            missing.text().await.unwrap(),
            "{route}: foreign and missing workspaces must be indistinguishable"
        );
        // Bob sees his own workspace.
        assert_eq!(
            t.get(&format!("/api/v1/workspaces/other/{route}"), Some(&bob))
                .await
                .status(),
            200
        );
    }

    // Bob's asset id through Alice's workspace: 404.
    let secret = t
        .other_inventory
        .assets
        .iter()
        .find(|a| a.name == "bravo-secret")
        .unwrap();
    assert_eq!(
        t.get(
            &format!("/api/v1/workspaces/acme/assets/{}", secret.id),
            Some(&alice)
        )
        .await
        .status(),
        404
    );
    assert_eq!(
        t.get(
            &format!("/api/v1/workspaces/other/assets/{}", secret.id),
            Some(&alice)
        )
        .await
        .status(),
        404
    );
    assert_eq!(
        t.get(
            &format!("/api/v1/workspaces/other/assets/{}", secret.id),
            Some(&bob)
        )
        .await
        .status(),
        200
    );
    // Alice's lists never contain Bob's rows.
    let assets = t
        .get_json("/api/v1/workspaces/acme/assets?limit=500", &alice)
        .await;
    assert!(!assets.to_string().contains("bravo-secret"));
    let findings = t
        .get_json("/api/v1/workspaces/acme/findings?limit=500", &alice)
        .await;
    assert!(!findings.to_string().contains(&secret.id));
    // The web pages too.
    assert_eq!(t.get("/w/other", Some(&alice)).await.status(), 404);
    assert_eq!(
        t.get(&format!("/w/other/assets/{}", secret.id), Some(&alice))
            .await
            .status(),
        404
    );
    t.server.shutdown().await.unwrap();
}

/// The OpenAPI description is generated, 3.1, and lists every API path.
#[tokio::test]
async fn openapi_3_1_lists_the_paths() {
    let t = common::spawn().await;
    let doc: serde_json::Value = t.get("/api/openapi.json", None).await.json().await.unwrap();
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1."),
        "{}",
        doc["openapi"]
    );
    let paths = doc["paths"].as_object().unwrap();
    for p in [
        "/healthz",
        "/api/v1/workspaces",
        "/api/v1/workspaces/{ws}/summary",
        "/api/v1/workspaces/{ws}/assets",
        "/api/v1/workspaces/{ws}/assets/{id}",
        "/api/v1/workspaces/{ws}/findings",
        "/api/v1/workspaces/{ws}/findings/{id}",
        "/api/v1/workspaces/{ws}/controls",
        "/api/v1/workspaces/{ws}/controls/{id}",
        "/api/v1/workspaces/{ws}/frameworks",
        "/api/v1/workspaces/{ws}/frameworks/{id}",
        "/api/v1/workspaces/{ws}/scans",
    ] {
        assert!(paths.contains_key(p), "missing {p}");
    }
    let params = doc["paths"]["/api/v1/workspaces/{ws}/assets"]["get"]["parameters"]
        .as_array()
        .unwrap();
    let names: Vec<&str> = params.iter().map(|p| p["name"].as_str().unwrap()).collect();
    for n in ["ws", "type", "state", "q", "limit", "offset"] {
        assert!(
            names.contains(&n),
            "assets parameter {n} missing: {names:?}"
        );
    }
    assert!(doc["components"]["schemas"]["AssetOut"].is_object());
    assert!(doc["components"]["securitySchemes"]["session_cookie"].is_object());
    // Every schema reference resolves (a dangling one breaks generated clients).
    fn refs<'a>(v: &'a serde_json::Value, out: &mut Vec<&'a str>) {
        match v {
            serde_json::Value::Object(m) => {
                if let Some(r) = m.get("$ref").and_then(|r| r.as_str()) {
                    out.push(r);
                }
                m.values().for_each(|x| refs(x, out));
            }
            serde_json::Value::Array(a) => a.iter().for_each(|x| refs(x, out)),
            _ => {}
        }
    }
    let mut all = Vec::new();
    refs(&doc, &mut all);
    assert!(!all.is_empty());
    for r in all {
        let name = r.strip_prefix("#/components/schemas/").unwrap_or(r);
        assert!(
            doc["components"]["schemas"][name].is_object(),
            "dangling reference {r}"
        );
    }
    // Served without authentication, and identical to the in-process description.
    let local =
        serde_json::to_value(<rampart_server::ApiDoc as utoipa::OpenApi>::openapi()).unwrap();
    assert_eq!(doc, local);
    t.server.shutdown().await.unwrap();
}

/// The web pages render, with no inline script or style (the CSP forbids both).
#[tokio::test]
async fn web_pages_render_without_inline_script_or_style() {
    let t = common::spawn().await;
    let s = t.login(ALICE, ALICE_PASSWORD).await;
    let login = t.get("/login", None).await.text().await.unwrap();
    assert!(login.contains("Sign in") && !login.contains("style="));
    // The one script is a first-party file; no inline script.
    assert!(common::no_inline_script(&login), "{login}");
    // Signed in, the sign-in page sends you home.
    assert_eq!(t.get("/login", Some(&s)).await.status(), 303);
    let home = t.get("/", Some(&s)).await;
    assert_eq!(home.status(), 303);
    assert_eq!(home.headers().get("location").unwrap(), "/w/acme");
    let instance = t
        .inventory
        .assets
        .iter()
        .find(|a| a.resource_type.as_str() == "aws.ec2.instance")
        .unwrap();
    for (path, expect) in [
        ("/w/acme".to_string(), "Frameworks"),
        ("/w/acme/findings".to_string(), "Findings"),
        (
            "/w/acme/findings?severity=high&status=all".to_string(),
            "Findings",
        ),
        ("/w/acme/assets".to_string(), "acme-logs"),
        ("/w/acme/assets?type=aws.s3.bucket".to_string(), "acme-logs"),
        (format!("/w/acme/assets/{}", instance.id), "i-0abc"),
        ("/w/acme/controls".to_string(), "Controls"),
        ("/w/acme/settings".to_string(), "Members"),
    ] {
        let resp = t.get(&path, Some(&s)).await;
        assert_eq!(resp.status(), 200, "{path}");
        let html = resp.text().await.unwrap();
        assert!(html.contains(expect), "{path} lacks {expect}");
        assert!(
            common::no_inline_script(&html),
            "{path} has an inline script"
        );
        assert!(!html.contains("style="), "{path} has an inline style");
        assert!(!html.contains("<style"), "{path} has a style element");
    }
    let bad = t.get("/w/acme/assets?q=%28%28", Some(&s)).await;
    assert_eq!(bad.status(), 400);
    assert!(bad.text().await.unwrap().contains("column"));
    t.server.shutdown().await.unwrap();
}

/// Inventory facets (issue 8: "facets (provider, account, region, type …)"): counts per value,
/// each a link that filters by it and keeps the other filters; a chosen value is marked and can
/// be cleared; each dimension is counted under the other filters only.
#[tokio::test]
async fn inventory_facets_count_values_and_filter_by_them() {
    let t = common::spawn().await;
    let s = t.login(ALICE, ALICE_PASSWORD).await;
    let api_total = |v: serde_json::Value| v["total"].as_u64().unwrap();
    let all = api_total(
        t.get_json("/api/v1/workspaces/acme/assets?limit=1", &s)
            .await,
    );
    let in_region = api_total(
        t.get_json(
            "/api/v1/workspaces/acme/assets?limit=1&region=eu-west-1",
            &s,
        )
        .await,
    );
    assert!(in_region > 0 && in_region < all, "{in_region} of {all}");

    let html = t
        .get("/w/acme/assets", Some(&s))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("id=\"facet-provider\""), "{html}");
    // Provider "aws" counts every asset; region eu-west-1 its share, as a link.
    assert!(
        html.contains(&format!(
            "<a href=\"/w/acme/assets?provider=aws\">aws</a> <span class=\"muted\">{all}</span>"
        )),
        "{html}"
    );
    let region_link = format!(
        "<a href=\"/w/acme/assets?region=eu%2Dwest%2D1\">eu-west-1</a> <span class=\"muted\">{in_region}</span>"
    );
    assert!(html.contains(&region_link), "{html}");

    // Following it: the list is that region's, the value is marked, "any" clears it, and the
    // other regions stay listed (the region facet ignores its own filter).
    let resp = t.get("/w/acme/assets?region=eu%2Dwest%2D1", Some(&s)).await;
    assert_eq!(resp.status(), 200);
    let html = resp.text().await.unwrap();
    assert!(
        html.contains(&format!("1–{} of {in_region}", in_region.min(50))),
        "{html}"
    );
    assert!(html.contains("<strong aria-current=\"true\">eu-west-1</strong>"));
    assert!(html.contains("<a href=\"/w/acme/assets\" class=\"facet-clear\">any</a>"));
    assert!(
        html.contains(">ap-south-1</a>"),
        "other regions stay: {html}"
    );
    // A type link keeps the region.
    assert!(
        html.contains("href=\"/w/acme/assets?region=eu%2Dwest%2D1&#38;type=aws%2Es3%2Ebucket\""),
        "{html}"
    );
    assert!(!html.contains("style="), "no inline style");
}

/// The remaining inventory facets (issue 8: "tag, score, failing control"): each listed with
/// counts that add up, each a filter in the API and on the page, bad values refused by name.
#[tokio::test]
async fn tag_score_and_failing_control_facets_filter_the_inventory() {
    let t = common::spawn().await;
    let s = t.login(ALICE, ALICE_PASSWORD).await;
    let total = |v: serde_json::Value| v["total"].as_u64().unwrap();
    let all = total(
        t.get_json("/api/v1/workspaces/acme/assets?limit=1", &s)
            .await,
    );
    let html = t
        .get("/w/acme/assets", Some(&s))
        .await
        .text()
        .await
        .unwrap();
    for id in ["facet-tag", "facet-control", "facet-score"] {
        assert!(html.contains(&format!("id=\"{id}\"")), "{id}: {html}");
    }
    // Score bands partition the inventory.
    let mut banded = 0;
    for band in ["100", "75-99", "50-74", "25-49", "0-24"] {
        banded += total(
            t.get_json(
                &format!("/api/v1/workspaces/acme/assets?limit=1&score={band}"),
                &s,
            )
            .await,
        );
    }
    assert_eq!(banded, all);
    // A failing control filters to the assets it fails on: as many as its failing findings.
    let control = t
        .evaluations
        .iter()
        .find(|e| e.status == FindingStatus::Fail)
        .unwrap()
        .control_id
        .clone();
    let failing = t
        .evaluations
        .iter()
        .filter(|e| e.control_id == control && e.status == FindingStatus::Fail)
        .count() as u64;
    let listed = total(
        t.get_json(
            &format!("/api/v1/workspaces/acme/assets?limit=1&failing_control={control}"),
            &s,
        )
        .await,
    );
    assert_eq!(listed, failing);
    let page = t
        .get(&format!("/w/acme/assets?control={control}"), Some(&s))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains(&format!("<strong aria-current=\"true\">{control}</strong>")),
        "{page}"
    );
    // A tag of the sample inventory.
    let (k, v) = t
        .inventory
        .assets
        .iter()
        .find_map(|a| a.tags.iter().next().map(|(k, v)| (k.clone(), v.clone())))
        .expect("a tagged asset");
    let tagged = t
        .inventory
        .assets
        .iter()
        .filter(|a| a.tags.get(&k) == Some(&v))
        .count() as u64;
    let listed = total(
        t.get_json(
            &format!("/api/v1/workspaces/acme/assets?limit=1&tag={k}%3D{v}"),
            &s,
        )
        .await,
    );
    assert_eq!(listed, tagged);
    for bad in ["score=90-100", "tag=novalue"] {
        let resp = t
            .get(&format!("/api/v1/workspaces/acme/assets?{bad}"), Some(&s))
            .await;
        assert_eq!(resp.status(), 400, "{bad}");
        let body = resp.text().await.unwrap();
        assert!(body.contains(bad.split('=').next().unwrap()), "{body}");
    }
}

/// Changes between scans (issue 8, asset page): a second scan that changes a region's analyzers
/// keeps the earlier version; the API and the page show the field with its before and after.
#[tokio::test]
async fn the_asset_page_shows_what_a_scan_changed() {
    let t = common::spawn().await;
    let s = t.login(ALICE, ALICE_PASSWORD).await;
    let changed = t
        .inventory
        .assets
        .iter()
        .find(|a| a.config.get("accessAnalyzers") == Some(&serde_json::json!([])))
        .expect("a region without analyzers")
        .clone();
    let detail = |id: String| {
        let t = &t;
        let s = &s;
        async move {
            t.get_json(&format!("/api/v1/workspaces/acme/assets/{id}"), s)
                .await
        }
    };
    assert_eq!(
        detail(changed.id.clone()).await["changes"],
        serde_json::json!([])
    );
    let second = common::SNAPSHOT.replacen(
        "\"accessAnalyzers\": []",
        "\"accessAnalyzers\": [{\"name\": \"b\", \"arn\": \"arn:aws:access-analyzer:ap-south-1:111122223333:analyzer/b\", \"type\": \"ACCOUNT\", \"status\": \"ACTIVE\"}]",
        1,
    );
    t.record_at(
        "acme",
        "second scan",
        &second,
        common::observed_at() + chrono::TimeDelta::hours(1),
    )
    .await;
    let d = detail(changed.id.clone()).await;
    let changes = d["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 1, "{d}");
    let fields = changes[0]["fields"].as_array().unwrap();
    let field = fields
        .iter()
        .find(|f| f["path"] == "accessAnalyzers")
        .unwrap_or_else(|| panic!("{fields:?}"));
    assert_eq!(field["before"], serde_json::json!([]));
    assert_eq!(field["after"][0]["name"], "b");
    assert_eq!(fields.len(), 1, "only what changed: {fields:?}");
    let page = t
        .get(&format!("/w/acme/assets/{}", changed.id), Some(&s))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("id=\"changes\"") && page.contains("<code>accessAnalyzers</code>"),
        "{page}"
    );
}

/// Gone assets (issue 3: a scan that listed a type completely without an asset): out of the
/// inventory and its counts, listed apart (`state=gone`, the "State" facet), and their page and
/// API detail say since when.
#[tokio::test]
async fn gone_assets_leave_the_inventory_and_are_marked_on_their_page() {
    let t = common::spawn().await;
    let s = t.login(ALICE, ALICE_PASSWORD).await;
    let instance = t
        .inventory
        .assets
        .iter()
        .find(|a| a.resource_type.as_str() == "aws.ec2.instance")
        .unwrap()
        .clone();
    let total = |v: serde_json::Value| v["total"].as_u64().unwrap();
    let before = total(
        t.get_json("/api/v1/workspaces/acme/assets?limit=1", &s)
            .await,
    );

    // A scan that listed the instances of its account and region and saw none.
    let scope = t.store.operator_scope("acme").await.unwrap().unwrap();
    let mut inventory = t.inventory.clone();
    inventory
        .assets
        .retain(|a| a.resource_type.as_str() != "aws.ec2.instance");
    let instances_before = t
        .inventory
        .assets
        .iter()
        .filter(|a| {
            a.resource_type.as_str() == "aws.ec2.instance"
                && a.account == instance.account
                && a.region == instance.region
        })
        .count() as u64;
    let sweep = rampart_model::Sweep {
        provider: instance.provider,
        account: instance.account.clone(),
        region: Some(instance.region.clone()),
        resource_type: "aws.ec2.instance".into(),
    };
    let evaluations = t.catalog.evaluate(
        &inventory,
        common::observed_at() + chrono::TimeDelta::hours(1),
    );
    let catalog = t.catalog.clone();
    let scan = t
        .store
        .scoped(&scope)
        .record_swept_scan_at(
            "second scan",
            &inventory,
            &[sweep],
            &evaluations,
            |id| catalog.control(id).map(|c| c.severity).unwrap_or_default(),
            common::observed_at() + chrono::TimeDelta::hours(1),
        )
        .await
        .unwrap();
    assert_eq!(scan.gone_count, instances_before);

    let after = total(
        t.get_json("/api/v1/workspaces/acme/assets?limit=1", &s)
            .await,
    );
    assert_eq!(after, before - instances_before);
    let gone = t
        .get_json("/api/v1/workspaces/acme/assets?state=gone", &s)
        .await;
    assert_eq!(total(gone.clone()), instances_before);
    assert!(
        gone["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["id"] == instance.id.as_str())
    );
    let bad = t
        .get("/api/v1/workspaces/acme/assets?state=vanished", Some(&s))
        .await;
    assert_eq!(bad.status(), 400);
    let detail = t
        .get_json(
            &format!("/api/v1/workspaces/acme/assets/{}", instance.id),
            &s,
        )
        .await;
    assert!(detail["gone_at"].is_string(), "{detail}");
    let scans = t.get_json("/api/v1/workspaces/acme/scans", &s).await;
    assert_eq!(scans["items"][0]["gone_count"], instances_before);
    // Its findings no longer count as failing.
    let failing = t
        .get_json(
            &format!(
                "/api/v1/workspaces/acme/findings?status=fail&asset={}",
                instance.id
            ),
            &s,
        )
        .await;
    assert_eq!(total(failing), 0);

    let page = t
        .get(&format!("/w/acme/assets/{}", instance.id), Some(&s))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("id=\"gone-banner\""), "{page}");
    let list = t
        .get("/w/acme/assets", Some(&s))
        .await
        .text()
        .await
        .unwrap();
    assert!(list.contains("id=\"facet-state\""), "{list}");
    assert!(
        list.contains(&format!(
            "<a href=\"/w/acme/assets?state=gone\">gone</a> <span class=\"muted\">{instances_before}</span>"
        )),
        "{list}"
    );
    assert!(!list.contains(&format!("/w/acme/assets/{}\"", instance.id)));
    let gone_list = t
        .get("/w/acme/assets?state=gone", Some(&s))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        gone_list.contains(&format!("/w/acme/assets/{}\"", instance.id)),
        "{gone_list}"
    );
}

/// The overview (issue 8: "trend across scans, top failing controls, recent changes"): after a
/// second scan that adds a bucket and fixes the region without an analyzer, the dashboard draws
/// one bar per scan, ranks the failing controls, and lists what the latest scan changed.
#[tokio::test]
async fn the_dashboard_shows_the_trend_top_failing_controls_and_recent_changes() {
    let t = common::spawn().await;
    let s = t.login(ALICE, ALICE_PASSWORD).await;
    let html = t.get("/w/acme", Some(&s)).await.text().await.unwrap();
    assert!(
        html.contains("A trend appears after the second scan."),
        "{html}"
    );
    assert!(html.contains("id=\"top-controls\""));

    let second = common::SNAPSHOT
        .replace("\"accessAnalyzers\": []", "\"accessAnalyzers\": [{\"name\": \"b\", \"arn\": \"arn:aws:access-analyzer:ap-south-1:111122223333:analyzer/b\", \"type\": \"ACCOUNT\", \"status\": \"ACTIVE\"}]")
        + r#"{"kind": "asset", "provider": "aws", "account": "111122223333", "region": "eu-west-1", "type": "aws.s3.bucket", "native_id": "arn:aws:s3:::acme-new", "name": "acme-new", "config": {}}
"#;
    t.record_at(
        "acme",
        "second scan",
        &second,
        common::observed_at() + chrono::TimeDelta::hours(1),
    )
    .await;

    let resp = t.get("/w/acme", Some(&s)).await;
    assert_eq!(resp.status(), 200);
    let html = resp.text().await.unwrap();
    assert!(!html.contains("style="), "no inline style");
    assert!(common::no_inline_script(&html));
    // One bar per scan, each with its figures.
    assert!(
        html.contains("<svg role=\"img\" aria-labelledby=\"trend-title\""),
        "{html}"
    );
    assert_eq!(html.matches("<rect ").count(), 2, "{html}");
    assert!(html.contains("failing, "), "{html}");
    assert!(html.contains("(2 scans)"), "{html}");
    // Top failing controls link to their failing findings.
    assert!(
        html.contains("/findings?control=") && html.contains("&amp;status=fail"),
        "{html}"
    );
    // Recent changes: the new bucket's failures are "new", the fixed region "resolved".
    assert!(html.contains("class=\"badge change-new\""), "{html}");
    assert!(html.contains("class=\"badge change-resolved\""), "{html}");
    assert!(html.contains(" on acme-new</li>"), "{html}");
}

/// The asset page draws its relationships as a graph (issue 8: "relationships drawn as a
/// graph"): server-rendered SVG, an arrow per relationship in its direction, each neighbour a
/// link to its page; names are escaped.
#[tokio::test]
async fn the_asset_page_draws_relationships_as_an_svg_graph() {
    let t = common::spawn().await;
    let s = t.login(ALICE, ALICE_PASSWORD).await;
    let find = |ty: &str| {
        t.inventory
            .assets
            .iter()
            .find(|a| a.resource_type.as_str() == ty)
            .unwrap()
            .clone()
    };
    let (instance, sg) = (find("aws.ec2.instance"), find("aws.ec2.security_group"));
    let html = t
        .get(&format!("/w/acme/assets/{}", instance.id), Some(&s))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("<figure id=\"relationship-graph\"><svg role=\"img\""),
        "{html}"
    );
    assert!(html.contains("marker-end=\"url(#arrow)\""));
    assert!(
        html.contains(&format!("<a href=\"/w/acme/assets/{}\"><circle", sg.id)),
        "{html}"
    );
    assert!(
        html.contains(">uses</text>"),
        "the edge is labelled: {html}"
    );
    assert!(!html.contains("style="), "no inline style");
    // The security group's page shows the same edge from the other end.
    let html = t
        .get(&format!("/w/acme/assets/{}", sg.id), Some(&s))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        html.contains(&format!(
            "<a href=\"/w/acme/assets/{}\"><circle",
            instance.id
        )),
        "{html}"
    );
}

/// Regressions are marked (issue 8): a finding that fails again after it was resolved carries
/// `last_change: "regressed"` in the API and a "regressed" badge in the findings list.
#[tokio::test]
async fn a_finding_failing_again_after_being_resolved_is_marked_regressed() {
    let t = common::spawn().await;
    let s = t.login(ALICE, ALICE_PASSWORD).await;
    let fixed = common::SNAPSHOT.replace(
        "\"accessAnalyzers\": []",
        "\"accessAnalyzers\": [{\"name\": \"b\", \"arn\": \"arn:aws:access-analyzer:ap-south-1:111122223333:analyzer/b\", \"type\": \"ACCOUNT\", \"status\": \"ACTIVE\"}]",
    );
    let regressed_ids = |list: serde_json::Value| -> Vec<String> {
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["last_change"] == "regressed")
            .map(|f| f["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let all = "/api/v1/workspaces/acme/findings?limit=500";
    assert!(regressed_ids(t.get_json(all, &s).await).is_empty());
    let later = |h: i64| common::observed_at() + chrono::TimeDelta::hours(h);
    t.record_at("acme", "fixed", &fixed, later(1)).await;
    let after_fix = t.get_json(all, &s).await;
    assert!(
        after_fix["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["last_change"] == "resolved"),
        "{after_fix}"
    );
    t.record_at("acme", "broken again", common::SNAPSHOT, later(2))
        .await;
    let regressed = regressed_ids(t.get_json(all, &s).await);
    assert!(!regressed.is_empty(), "the analyzer finding regressed");
    let html = t
        .get("/w/acme/findings?status=fail", Some(&s))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("<span class=\"badge change-regressed\">regressed</span>"),
        "{html}"
    );
}

/// Findings grouped by control, asset or severity (issue 8): one row per group with its counts
/// (summing to the flat list's total), most failing first, each a link; a bad grouping is 400.
#[tokio::test]
async fn findings_are_grouped_by_control_asset_or_severity() {
    let t = common::spawn().await;
    let s = t.login(ALICE, ALICE_PASSWORD).await;
    let failing = t
        .get_json("/api/v1/workspaces/acme/findings?status=fail&limit=1", &s)
        .await["total"]
        .as_u64()
        .unwrap();
    assert!(failing > 1);
    let count = |html: &str| -> (usize, u64) {
        let table = html.split("<table id=\"finding-groups\">").nth(1).unwrap();
        let rows: Vec<&str> = table.split("<tr><td>").skip(1).collect();
        let sum = rows
            .iter()
            .map(|r| {
                r.split("<td class=\"num\">")
                    .nth(1)
                    .unwrap()
                    .split('<')
                    .next()
                    .unwrap()
                    .parse::<u64>()
                    .unwrap()
            })
            .sum();
        (rows.len(), sum)
    };
    for (group, link) in [
        ("control", "/w/acme/findings?control="),
        ("asset", "/w/acme/assets/"),
        ("severity", "/w/acme/findings?severity="),
    ] {
        let resp = t
            .get(
                &format!("/w/acme/findings?status=fail&group={group}"),
                Some(&s),
            )
            .await;
        assert_eq!(resp.status(), 200, "{group}");
        let html = resp.text().await.unwrap();
        let (rows, sum) = count(&html);
        assert!(rows >= 1, "{group}: {html}");
        assert_eq!(
            sum, failing,
            "{group}: the groups add up to the failing findings"
        );
        assert!(
            html.contains(&format!("<a href=\"{link}")),
            "{group}: {html}"
        );
        assert!(
            html.contains(
                "<option value=\"{group}\" selected>"
                    .replace("{group}", group)
                    .as_str()
            )
        );
    }
    let resp = t.get("/w/acme/findings?group=colour", Some(&s)).await;
    assert_eq!(resp.status(), 400);
}

/// Saved queries on the inventory page (issue 8): a valid query is saved under a name, listed
/// for every member as a link that runs it, deleted by those who manage findings; a query that
/// does not compile is refused.
#[tokio::test]
async fn inventory_queries_are_saved_listed_and_deleted() {
    let t = common::spawn().await;
    let s = t.login(ALICE, ALICE_PASSWORD).await;
    let q = "resource.tags.env == \"prod\"";
    let url = format!("/w/acme/assets?q={}", percent_encode(q));
    let html = t.get(&url, Some(&s)).await.text().await.unwrap();
    assert!(html.contains("id=\"save-query\""), "{html}");
    let csrf = common::form_token(&html);
    let post = |path: &str, form: Vec<(&str, &str)>| {
        t.client
            .post(t.url(path))
            .header(
                reqwest::header::COOKIE,
                format!("__Host-rampart_session={s}"),
            )
            .form(&form)
            .send()
    };
    let resp = post(
        "/w/acme/queries",
        vec![
            ("csrf_token", &csrf),
            ("name", "Production"),
            ("query", "(("),
        ],
    )
    .await
    .unwrap();
    assert_eq!(resp.status(), 400);
    let resp = post(
        "/w/acme/queries",
        vec![("csrf_token", &csrf), ("name", "Production"), ("query", q)],
    )
    .await
    .unwrap();
    assert_eq!(resp.status(), 303);
    let html = t
        .get("/w/acme/assets", Some(&s))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains(">Production</a>"), "{html}");
    let id = format!(
        "qry_{}",
        html.split("id=\"saved-qry_")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap()
    );
    assert!(
        !html.contains("id=\"save-query\""),
        "nothing to save without a query"
    );

    // A viewer sees the saved query but no form.
    let (_, viewer, _) = t.member("vero@example.com", "acme", Role::Viewer).await;
    let html = t
        .get("/w/acme/assets", Some(&viewer))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        html.contains(">Production</a>") && !html.contains("/queries/"),
        "{html}"
    );

    let resp = post(
        &format!("/w/acme/queries/{id}/delete"),
        vec![("csrf_token", &csrf)],
    )
    .await
    .unwrap();
    assert_eq!(resp.status(), 303);
    let html = t
        .get("/w/acme/assets", Some(&s))
        .await
        .text()
        .await
        .unwrap();
    assert!(!html.contains(">Production</a>"));
}

fn percent_encode(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// Big data (issue 8): the inventory page evaluates a CEL query over a bounded number of assets
/// and says so, with the matches among those; the API evaluates the whole inventory. Exactly as
/// many assets as the bound is not "stopped".
#[tokio::test]
async fn the_inventory_page_bounds_a_cel_query_and_says_where_it_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _pg) = common::open_store(dir.path()).await;
    let catalog = std::sync::Arc::new(rampart_rules::Catalog::builtin().unwrap());
    store.create_workspace("acme", "Acme").await.unwrap();
    let scope = store.operator_scope("acme").await.unwrap().unwrap();
    let user = store.create_user(ALICE, ALICE_PASSWORD).await.unwrap();
    store
        .set_membership(&scope, &user.id, rampart_store::Role::Analyst)
        .await
        .unwrap();
    let inventory = common::inventory(common::SNAPSHOT); // five assets
    store
        .scoped(&scope)
        .record_scan_at(
            "t",
            &inventory,
            &[],
            |_| Default::default(),
            common::observed_at(),
        )
        .await
        .unwrap();
    let t = |limit: u64| {
        let (mut parts, _) = common::parts(dir.path());
        parts.query_scan_limit = limit;
        parts
    };
    for (limit, stopped, matches) in [(2, true, 2), (5, false, 5), (50, false, 5)] {
        let server = common::start_server_with(dir.path(), &store, &catalog, t(limit)).await;
        let client = common::client_for(&server.cert_path);
        let base = format!("https://127.0.0.1:{}", server.addr.port());
        let form = client.get(format!("{base}/login")).send().await.unwrap();
        let login_cookie = common::set_cookie_value(&form, "__Host-rampart_login_csrf").unwrap();
        let token = common::form_token(&form.text().await.unwrap());
        let resp = client
            .post(format!("{base}/login"))
            .header(
                "cookie",
                format!("__Host-rampart_login_csrf={login_cookie}"),
            )
            .form(&[
                ("email", ALICE),
                ("password", ALICE_PASSWORD),
                ("csrf_token", token.as_str()),
            ])
            .send()
            .await
            .unwrap();
        let session = common::set_cookie_value(&resp, "__Host-rampart_session").unwrap();
        let page = client
            .get(format!("{base}/w/acme/assets?q=true"))
            .header("cookie", format!("__Host-rampart_session={session}"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_eq!(
            page.contains("id=\"query-stopped\""),
            stopped,
            "limit {limit}: {page}"
        );
        if stopped {
            assert!(page.contains(&format!("first {limit} assets only")));
        }
        let rows = page.matches("<td><a href=\"/w/acme/assets/").count();
        assert_eq!(rows, matches, "limit {limit}");
        // The API is not bounded.
        let api: serde_json::Value = client
            .get(format!("{base}/api/v1/workspaces/acme/assets?q=true"))
            .header("cookie", format!("__Host-rampart_session={session}"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(api["total"], 5);
        server.shutdown().await.unwrap();
    }
}
