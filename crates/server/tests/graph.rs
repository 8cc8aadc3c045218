//! The security graph API: attack paths and neighbours over a workspace's relationships.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use rampart_server::{DEMO_EMAIL, prepare_demo};

async fn login(client: &reqwest::Client, base: &str, email: &str, password: &str) -> String {
    let resp = client.get(format!("{base}/login")).send().await.unwrap();
    let cookie = common::set_cookie_value(&resp, "__Host-rampart_login_csrf").unwrap();
    let token = common::form_token(&resp.text().await.unwrap());
    let resp = client
        .post(format!("{base}/login"))
        .header("cookie", format!("__Host-rampart_login_csrf={cookie}"))
        .form(&[
            ("email", email),
            ("password", password),
            ("csrf_token", &token),
        ])
        .send()
        .await
        .unwrap();
    common::set_cookie_value(&resp, "__Host-rampart_session").unwrap()
}

#[tokio::test]
async fn attack_paths_and_neighbours_on_the_demo_workspace() {
    common::install_crypto_provider();
    let dir = tempfile::tempdir().unwrap();
    let (store, _pg) = common::open_store(dir.path()).await;
    let catalog = Arc::new(rampart_rules::Catalog::builtin().unwrap());
    let text = rampart_rules::builtin::sample_inventory();
    let inventory =
        rampart_import::parse_snapshot("demo.jsonl", text, common::observed_at()).unwrap();
    let creds = prepare_demo(&store, &catalog, &inventory).await.unwrap();
    let server = common::start_server(dir.path(), &store, &catalog).await;
    let client = common::client_for(&server.cert_path);
    let base = format!("https://127.0.0.1:{}", server.addr.port());
    let session = login(&client, &base, DEMO_EMAIL, &creds.password).await;
    let get = |path: String| {
        let client = client.clone();
        let session = session.clone();
        let base = base.clone();
        async move {
            client
                .get(format!("{base}{path}"))
                .header("cookie", format!("__Host-rampart_session={session}"))
                .send()
                .await
                .unwrap()
        }
    };

    // The demo's web tier is internet-exposed and uses the app-server role.
    let role = "arn:aws:iam::111122223333:role/app-server";
    let resp = get(format!(
        "/api/v1/workspaces/demo/graph/paths?to={role}&limit=3"
    ))
    .await;
    assert_eq!(resp.status(), 200);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["target"]["native_id"], role);
    let paths = body["paths"].as_array().unwrap();
    assert!(!paths.is_empty() && paths.len() <= 3, "{body}");
    for p in paths {
        let hops = p["hops"].as_array().unwrap();
        assert_eq!(hops[0]["from"], "internet");
        assert!(hops[0]["reason"].as_str().unwrap().contains("ports"), "{p}");
        let last = p["nodes"].as_array().unwrap().last().unwrap().clone();
        assert_eq!(last, body["target"]["id"]);
        assert_eq!(hops.len(), p["nodes"].as_array().unwrap().len());
    }
    // Paths come shortest first.
    let lengths: Vec<usize> = paths
        .iter()
        .map(|p| p["hops"].as_array().unwrap().len())
        .collect();
    assert!(lengths.windows(2).all(|w| w[0] <= w[1]), "{lengths:?}");

    // Neighbours of the role: the instances that use it, one hop away.
    let target_id = body["target"]["id"].as_str().unwrap().to_string();
    let resp = get(format!(
        "/api/v1/workspaces/demo/graph/neighbours/{target_id}?depth=1"
    ))
    .await;
    assert_eq!(resp.status(), 200);
    let list: serde_json::Value = resp.json().await.unwrap();
    let list = list.as_array().unwrap();
    assert!(
        list.iter()
            .any(|n| n["type"] == "aws.ec2.instance" && n["via_kind"] == "uses")
    );
    assert!(list.iter().all(|n| n["distance"] == 1));

    // The asset detail (API and page) shows the exposure of an internet-facing instance and its
    // path from the internet.
    let web = inventory
        .assets
        .iter()
        .find(|a| a.name == "prod-web-1")
        .unwrap();
    let resp = get(format!("/api/v1/workspaces/demo/assets/{}", web.id)).await;
    assert_eq!(resp.status(), 200);
    let detail: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(
        detail["exposure"]["internet_exposed"], true,
        "{}",
        detail["exposure"]
    );
    assert!(
        !detail["exposure"]["exposed_ports"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let paths = detail["attack_paths"].as_array().unwrap();
    assert_eq!(
        paths[0]["hops"].as_array().unwrap().len(),
        1,
        "the entry point itself"
    );
    let resp = get(format!("/w/demo/assets/{}", web.id)).await;
    assert_eq!(resp.status(), 200);
    let html = resp.text().await.unwrap();
    assert!(html.contains("Paths from the internet"));
    assert!(
        html.contains("reachable from the internet on ports"),
        "{html}"
    );
    assert!(html.contains("internet_exposed"));

    // Bounds and unknowns.
    let resp = get(format!(
        "/api/v1/workspaces/demo/graph/neighbours/{target_id}?depth=9"
    ))
    .await;
    assert_eq!(resp.status(), 400);
    let resp = get("/api/v1/workspaces/demo/graph/paths?to=nothing-like-this".into()).await;
    assert_eq!(resp.status(), 404);
    let resp = get(format!(
        "/api/v1/workspaces/elsewhere/graph/paths?to={role}"
    ))
    .await;
    assert_eq!(resp.status(), 404);
    server.shutdown().await.unwrap();
}
