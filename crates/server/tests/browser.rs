//! The web app in a real browser: Debian's headless Chromium driven through chromedriver
//! (W3C WebDriver, `browser/webdriver.rs`), against the HTTPS server started in-process on the
//! demo workspace.
//!
//! Every page visited is screenshotted into `target/screenshots/<page>.png` (1366×768, and the
//! dashboard at phone width too), and after every page the browser's console log must hold no
//! error and no Content Security Policy violation (ASVS 14.4.3: a CSP that forbids inline
//! script is only worth something if the pages never need it). `csp_violations_are_detected`
//! proves the detector: a page with an inline script and an inline style, served with the
//! server's own policy, is reported.
//!
//! Chromium and chromedriver are required, never skipped: install them with
//! `apt-get install chromium chromium-driver` (scripts/test-deps does), or set
//! `RAMPART_CHROMIUM` / `RAMPART_CHROMEDRIVER`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
#[path = "browser/webdriver.rs"]
mod webdriver;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use rampart_model::FindingStatus;
use rampart_server::{DEMO_EMAIL, prepare_demo};
use rampart_store::audit::{AuditEvent, Outcome};
use rampart_store::totp::{self, TotpAlgorithm};
use webdriver::{Browser, Driver, problems};

/// `target/screenshots`, from CARGO_TARGET_DIR or the workspace's `target/`.
fn screenshot_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    target.join("screenshots")
}

/// Asserts that the current page logged no console error and no CSP violation, and
/// screenshots it as `<name>.png`.
/// Fetches a download link's target from inside the page, as a click on it would (same
/// origin, the browser's cookies): status, content type, disposition, size and first bytes.
async fn download(b: &Browser, link: &str) -> serde_json::Value {
    let script = format!(
        r#"const done = arguments[arguments.length - 1];
        const a = document.querySelector({link:?});
        if (!a) {{ done({{ error: "no link" }}); return; }}
        fetch(a.getAttribute("href"), {{ credentials: "same-origin" }})
          .then(r => r.arrayBuffer().then(buf => done({{
            status: r.status,
            type: r.headers.get("content-type"),
            disposition: r.headers.get("content-disposition"),
            size: buf.byteLength,
            head: String.fromCharCode(...new Uint8Array(buf.slice(0, 5))),
          }})))
          .catch(e => done({{ error: String(e) }}));"#
    );
    b.script_async(&script).await
}

async fn check_page(b: &Browser, name: &str) {
    b.wait_loaded().await;
    b.screenshot(&screenshot_dir().join(format!("{name}.png")))
        .await;
    let entries = b.console().await;
    let bad = problems(&entries);
    assert!(
        bad.is_empty(),
        "page {name} ({}) logged console problems: {bad:#?}",
        b.current_url().await
    );
}

/// The demo workspace served over HTTPS, its owner enrolled in TOTP.
struct App {
    _dir: tempfile::TempDir,
    store: rampart_store::Store,
    catalog: Arc<rampart_rules::Catalog>,
    server: rampart_server::RunningServer,
    base: String,
    password: String,
    owner_id: String,
    totp_secret: Vec<u8>,
    _pg: Option<common::pg::PgServer>,
}

impl App {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A TOTP code the server will accept now and that was not used yet (the next step's: the
    /// server allows one step of skew and refuses a step already used).
    fn next_code(&self) -> String {
        totp::totp_at(
            TotpAlgorithm::Sha1,
            &self.totp_secret,
            chrono::Utc::now().timestamp() + 30,
            6,
        )
    }
}

async fn demo_app() -> App {
    common::install_crypto_provider();
    let dir = tempfile::tempdir().unwrap();
    let (store, pg) = common::open_store(dir.path()).await;
    let catalog = Arc::new(rampart_rules::Catalog::builtin().unwrap());
    let text = rampart_rules::builtin::sample_inventory();
    let inventory =
        rampart_import::parse_snapshot("demo.jsonl", text, common::observed_at()).unwrap();
    let creds = prepare_demo(&store, &catalog, &inventory).await.unwrap();
    let owner = store.user_by_email(DEMO_EMAIL).await.unwrap().unwrap();
    let (parts, _mailer) = common::parts(dir.path());
    let vault = parts.vault.clone();
    // TOTP enrolment through the store, as the account page's API does.
    let secret = store.begin_totp(&owner.id, &vault).await.unwrap();
    let code = totp::totp_at(
        TotpAlgorithm::Sha1,
        &secret,
        chrono::Utc::now().timestamp(),
        6,
    );
    store
        .confirm_totp(
            &owner.id,
            &code,
            &vault,
            AuditEvent::new("user.mfa_enable", Outcome::Success),
        )
        .await
        .unwrap()
        .expect("first TOTP code accepted");
    let server = common::start_server_with(dir.path(), &store, &catalog, parts).await;
    let base = format!("https://127.0.0.1:{}", server.addr.port());
    App {
        _dir: dir,
        store,
        catalog,
        server,
        base,
        password: creds.password,
        owner_id: owner.id,
        totp_secret: secret,
        _pg: pg,
    }
}

/// Signs in through the forms: password, then the TOTP step (ASVS 2.8.x).
async fn sign_in(b: &Browser, app: &App) {
    b.goto(&app.url("/login")).await;
    check_page(b, "login").await;
    b.fill("input[name=email]", DEMO_EMAIL).await;
    b.fill("input[name=password]", &app.password).await;
    b.submit("form[action='/login'] button[type=submit]").await;
    let url = b.current_url().await;
    assert!(
        url.ends_with("/login/mfa"),
        "TOTP step expected, not {url}: {}",
        b.script("return document.documentElement.outerHTML").await
    );
    check_page(b, "login-mfa").await;
    // A wrong code first: refused with a message, still on the step.
    b.fill("input[name=code]", "000000").await;
    b.submit("form[action='/login/mfa'] button[type=submit]")
        .await;
    assert!(b.text_of("[role=alert]").await.contains("not valid"));
    let _ = b.console().await; // the 401 of the wrong code is expected
    b.fill("input[name=code]", &app.next_code()).await;
    b.submit("form[action='/login/mfa'] button[type=submit]")
        .await;
    assert!(
        b.current_url().await.ends_with("/w/demo"),
        "signed in to the only workspace: {}",
        b.current_url().await
    );
}

/// Number after "of" in a pager's "1–50 of 123", or 0 for "none".
fn total_of(showing: &str) -> u64 {
    showing
        .rsplit(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

#[tokio::test]
async fn web_app_in_headless_chromium() {
    let started = Instant::now();
    let (chromium, chromedriver) = webdriver::binaries();
    let app = demo_app().await;
    // An installation operator asks the demo workspace for support access.
    let operator = app
        .store
        .create_user("operator@rampart.local", "operator violet kettle harbour")
        .await
        .unwrap();
    app.store
        .set_operator(
            &operator.id,
            true,
            AuditEvent::new("user.operator", Outcome::Success),
        )
        .await
        .unwrap();
    app.store
        .request_support(
            &operator,
            "demo",
            "Ticket 4711: the nightly import fails",
            AuditEvent::new("support.request", Outcome::Success),
        )
        .await
        .unwrap();
    let setup = started.elapsed();

    let driver = Driver::start(&chromedriver).await;
    let profile = tempfile::tempdir().unwrap();
    let b = driver.session(&chromium, profile.path()).await;

    // ---- sign in with password, then TOTP -------------------------------------------------
    sign_in(&b, &app).await;
    check_page(&b, "dashboard").await;
    assert_eq!(b.text_of("h1").await, "Demo");
    let score_before = b.text_of("#posture-score").await;
    let failing_before: u64 = b.text_of("#total-failing").await.parse().unwrap();
    assert!(score_before.ends_with('%'), "{score_before}");

    // ---- inventory: a CEL query narrows the list; a bad one shows the parser's message ---------
    b.goto(&app.url("/w/demo/assets")).await;
    check_page(&b, "inventory").await;
    let all = total_of(&b.text_of("#result-count").await);
    b.fill("#cel-query", r#"resource.type == "aws.s3.bucket""#)
        .await;
    b.submit("form.filters button[type=submit]").await;
    check_page(&b, "inventory-query").await;
    let buckets = total_of(&b.text_of("#result-count").await);
    assert!(buckets > 0 && buckets < all, "{buckets} of {all}");
    b.fill("#cel-query", "type == ((").await;
    b.submit("form.filters button[type=submit]").await;
    b.wait_loaded().await;
    let message = b.text_of("#cel-error").await;
    assert!(message.contains("line 1, column"), "{message}");
    let invalid = b.find("#cel-query").await;
    assert_eq!(
        b.attribute(&invalid, "aria-invalid").await.as_deref(),
        Some("true")
    );
    b.screenshot(&screenshot_dir().join("inventory-error.png"))
        .await;
    // The page answers 400 (as the API does); that status is the only console entry allowed.
    let entries = b.console().await;
    let bad: Vec<String> = problems(&entries)
        .into_iter()
        .filter(|p| !p.contains("status of 400"))
        .collect();
    assert!(bad.is_empty(), "{bad:#?}");

    // ---- an asset and its exposure path from the internet ------------------------------------
    b.fill(
        "#cel-query",
        r#"resource.name == "app-server" && resource.account == "111122223333""#,
    )
    .await;
    b.submit("form.filters button[type=submit]").await;
    b.submit("table tbody tr td a").await;
    check_page(&b, "asset").await;
    let hops = b.find_all("ol.path li").await;
    assert!(
        !hops.is_empty(),
        "the app-server role is reachable from the internet"
    );
    let first = b.text(&hops[0]).await;
    assert!(first.starts_with("Internet"), "{first}");
    b.script("document.querySelector('ol.path').scrollIntoView(); return null")
        .await;
    b.screenshot(&screenshot_dir().join("asset-exposure-path.png"))
        .await;

    // ---- exempt a finding; the dashboard's score changes ----------------------------------------
    // A control failing on exactly one asset: exempting that finding makes the control pass.
    let scope = app.store.operator_scope("demo").await.unwrap().unwrap();
    let counts = app.store.scoped(&scope).control_counts().await.unwrap();
    let failing_of = |id: &str, status| {
        counts
            .iter()
            .filter(|c| c.control_id == id && c.status == status)
            .map(|c| c.count)
            .sum::<u64>()
    };
    let control = counts
        .iter()
        .map(|c| c.control_id.as_str())
        .find(|id| {
            failing_of(id, FindingStatus::Fail) == 1 && failing_of(id, FindingStatus::Error) == 0
        })
        .expect("a control failing on one asset")
        .to_owned();
    b.goto(&app.url("/w/demo/findings?status=fail")).await;
    check_page(&b, "findings").await;
    let export = b
        .script("return document.querySelector('#export-findings').getAttribute('href')")
        .await;
    assert_eq!(
        export.as_str(),
        Some("/api/v1/workspaces/demo/findings/export?format=csv&status=fail"),
        "the CSV export keeps the page's filter"
    );
    // The OCSF export, downloaded by the browser with its own session.
    let ocsf = download(&b, "#export-findings-ocsf").await;
    assert_eq!(ocsf["status"], 200, "{ocsf}");
    assert_eq!(ocsf["type"], "application/json");
    assert!(
        ocsf["disposition"]
            .as_str()
            .unwrap_or_default()
            .ends_with(".ocsf.json\""),
        "{ocsf}"
    );
    assert!(
        ocsf["head"].as_str().unwrap_or_default().starts_with('['),
        "{ocsf}"
    );
    b.goto(&app.url(&format!("/w/demo/controls/{control}")))
        .await;
    check_page(&b, "control").await;
    b.submit("#control-failing").await;
    check_page(&b, "findings-of-control").await;
    b.submit("table tbody tr td a[href*='/findings/']").await;
    check_page(&b, "finding").await;
    let finding_url = b.current_url().await;
    b.fill("#exempt-reason", "Accepted until the Q3 network redesign")
        .await;
    b.submit("#exempt").await;
    check_page(&b, "finding-exempted").await;
    assert_eq!(
        b.text_of("#exemption-reason").await,
        "Accepted until the Q3 network redesign"
    );
    b.goto(&app.url("/w/demo")).await;
    check_page(&b, "dashboard-exempted").await;
    let score_after = b.text_of("#posture-score").await;
    let failing_after: u64 = b.text_of("#total-failing").await.parse().unwrap();
    assert_eq!(failing_after + 1, failing_before);
    assert_ne!(score_after, score_before, "the posture score moves");
    // Reopen (the page asks for confirmation with the first-party script; accepted).
    b.goto(&finding_url).await;
    b.submit("#reopen").await;
    check_page(&b, "finding-reopened").await;
    b.goto(&app.url("/w/demo")).await;
    b.wait_loaded().await;
    assert_eq!(b.text_of("#posture-score").await, score_before);
    let _ = b.console().await;

    // ---- settings: an API token shown once, support access granted and revoked ---------------
    b.goto(&app.url("/w/demo/settings")).await;
    check_page(&b, "settings").await;
    b.fill("#tokens input[name=name]", "ci pipeline").await;
    b.submit("#tokens button[type=submit]").await;
    check_page(&b, "settings-token").await;
    assert!(b.text_of("#shown-secret").await.starts_with("rpt_"));
    b.goto(&app.url("/w/demo/settings#support")).await;
    b.fill(
        "#support input[name=reason]",
        "Ticket 4711, read-only for the import bug",
    )
    .await;
    b.fill("#support input[name=hours]", "2").await;
    b.submit("#support form[action$='/grant'] button[type=submit]")
        .await;
    check_page(&b, "settings-support-granted").await;
    assert!(b.find_all("#support tr.grant-active").await.len() == 1);
    b.submit("#support tr.grant-active form[action$='/revoke'] button")
        .await;
    check_page(&b, "settings-support-revoked").await;
    assert!(b.find_all("#support tr.grant-revoked").await.len() == 1);

    // ---- the audit log shows what those actions wrote ------------------------------------------
    b.goto(&app.url("/w/demo/audit")).await;
    check_page(&b, "audit").await;
    let log = b.text_of("table.audit").await;
    for action in [
        "finding.exempt",
        "finding.reopen",
        "token.create",
        "support.grant",
        "support.revoke",
    ] {
        assert!(
            log.contains(action),
            "{action} missing from the audit log:\n{log}"
        );
    }
    b.fill("input[name=action]", "support.grant").await;
    b.submit("form.filters button[type=submit]").await;
    check_page(&b, "audit-filtered").await;
    let rows = b.find_all("table.audit tbody tr").await;
    assert_eq!(rows.len(), 1);
    assert!(b.text(&rows[0]).await.contains(DEMO_EMAIL));

    // ---- the controls catalogue ---------------------------------------------------------------
    b.goto(&app.url("/w/demo/controls")).await;
    check_page(&b, "controls").await;
    b.submit("table tbody tr td a").await;
    check_page(&b, "control-first").await;
    assert!(!b.text_of("#remediation").await.is_empty());

    // ---- compliance: framework → requirements → controls, with the report downloads ------------
    b.goto(&app.url("/w/demo/compliance")).await;
    check_page(&b, "compliance").await;
    b.submit("a[href='/w/demo/compliance/cis-aws-3.0']").await;
    check_page(&b, "compliance-cis-aws").await;
    let table = b.text_of("table").await;
    assert!(
        table.contains("2.1.1") && table.contains("manual"),
        "{table}"
    );
    assert!(
        !b.find_all("a[href$='/frameworks/cis-aws-3.0/report?format=pdf'][download]")
            .await
            .is_empty(),
        "the owner may download the PDF report"
    );
    // Download it as the browser does (same origin, the session cookie): a PDF attachment.
    let pdf = download(
        &b,
        "a[href$='/frameworks/cis-aws-3.0/report?format=pdf'][download]",
    )
    .await;
    assert_eq!(pdf["status"], 200, "{pdf}");
    assert_eq!(pdf["type"], "application/pdf");
    assert_eq!(pdf["head"], "%PDF-", "{pdf}");
    assert!(pdf["size"].as_u64().unwrap_or_default() > 2000, "{pdf}");
    b.submit("tr#req-1\\.4 a[href^='/w/demo/controls/']").await;
    check_page(&b, "compliance-control").await;

    // ---- notifications: channels, rules and the delivery log ----------------------------------
    b.goto(&app.url("/w/demo/notifications")).await;
    check_page(&b, "notifications").await;
    assert!(
        !b.find_all("form#add-channel").await.is_empty(),
        "the owner may add channels"
    );

    // ---- account: MFA on for the demo owner, and the password form -----------------------------
    b.goto(&app.url("/account")).await;
    check_page(&b, "account").await;
    assert!(
        !b.find_all("#mfa-disable").await.is_empty(),
        "the owner enrolled TOTP, so the page offers to turn it off"
    );

    // ---- scans: start a scan of the demo (a re-evaluation) and watch it finish ----------------
    b.goto(&app.url("/w/demo/scans")).await;
    check_page(&b, "scans").await;
    let history_before = b.find_all("table#history tbody tr").await.len();
    assert!(history_before > 0, "the demo's scan is in the history");
    b.submit("#evaluate-now button").await;
    assert!(
        !b.find_all("#live").await.is_empty(),
        "a queued job makes the page say it refreshes itself"
    );
    assert!(!b.find_all("#jobs tr.job-queued").await.is_empty());
    // A worker picks the job up while the page is open.
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let worker = rampart_worker::Worker::new(
        app.store.clone(),
        rampart_worker::WorkerConfig {
            poll: std::time::Duration::from_millis(200),
            scheduler: false,
            ..rampart_worker::WorkerConfig::default()
        },
    )
    .with_executor(
        rampart_store::JobKind::Evaluate,
        Arc::new(rampart_worker::EvaluateExecutor {
            catalog: app.catalog.clone(),
        }),
    );
    let running = tokio::spawn(async move { worker.run(stopped).await });
    let deadline = Instant::now() + std::time::Duration::from_secs(60);
    loop {
        tokio::time::sleep(std::time::Duration::from_millis(700)).await;
        b.goto(&app.url("/w/demo/scans")).await;
        if b.find_all("#live").await.is_empty() {
            break;
        }
        assert!(Instant::now() < deadline, "the demo scan did not finish");
    }
    let _ = stop.send(true);
    running.await.unwrap();
    assert!(!b.find_all("#jobs tr.job-succeeded").await.is_empty());
    assert_eq!(
        b.find_all("table#history tbody tr").await.len(),
        history_before + 1,
        "the finished scan is in the history"
    );
    check_page(&b, "scans-after-evaluation").await;

    // ---- connectors: onboarding steps, templates, a form per provider --------------------------
    b.goto(&app.url("/w/demo/connectors")).await;
    check_page(&b, "connectors").await;
    b.fill("#new-azure input[name=name]", "prod tenant").await;
    b.fill(
        "#new-azure input[name=tenant_id]",
        "5f1c2a3b-7d4e-4c1a-9b2f-0e6d8a7c1b23",
    )
    .await;
    b.fill(
        "#new-azure input[name=client_id]",
        "9d000000-0000-4000-8000-000000000001",
    )
    .await;
    b.fill("#new-azure input[name=client_secret]", "not-shown-again")
        .await;
    b.submit("#new-azure button[type=submit]").await;
    check_page(&b, "connectors-added").await;
    let table = b.text_of("table#connectors").await;
    assert!(
        table.contains("prod tenant") && table.contains("tenant 5f1c2a3b"),
        "{table}"
    );
    assert!(!table.contains("not-shown-again"));

    // ---- keyboard: the skip link is the first stop and the sign-out form is reachable -----------
    b.goto(&app.url("/w/demo")).await;
    b.wait_loaded().await;
    b.keys("\u{E004}").await;
    let focused = b.script("return document.activeElement.textContent").await;
    assert_eq!(focused.as_str(), Some("Skip to content"));

    // ---- phone width ----------------------------------------------------------------------------
    b.set_window(390, 844).await;
    b.goto(&app.url("/w/demo")).await;
    check_page(&b, "dashboard-phone").await;
    let overflow = b
        .script("return document.documentElement.scrollWidth <= window.innerWidth + 1")
        .await;
    assert_eq!(
        overflow.as_bool(),
        Some(true),
        "no horizontal scrolling at phone width"
    );
    b.set_window(1366, 768).await;

    b.quit().await;
    drop(driver);
    let _ = &app.owner_id;
    app.server.shutdown().await.unwrap();
    eprintln!(
        "browser flow: {:.1} s in the browser, {:.1} s of setup",
        (started.elapsed() - setup).as_secs_f64(),
        setup.as_secs_f64()
    );
}

/// The detector itself: a page with an inline script and an inline style under the server's
/// Content Security Policy must show up as console problems (and a clean page must not).
#[tokio::test]
async fn csp_violations_are_detected() {
    use axum::http::header;
    common::install_crypto_provider();
    let (chromium, chromedriver) = webdriver::binaries();
    let page = |body: &'static str| {
        (
            [
                (
                    header::CONTENT_SECURITY_POLICY,
                    rampart_server::CONTENT_SECURITY_POLICY,
                ),
                (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            ],
            body,
        )
    };
    let app = axum::Router::new()
        .route(
            "/broken",
            axum::routing::get(move || async move {
                page("<!doctype html><html><head><title>t</title><style>body{color:red}</style></head>\
                      <body><p style=\"color:blue\">x</p><script>document.title='inline ran'</script></body></html>")
            }),
        )
        .route(
            "/clean",
            axum::routing::get(move || async move {
                page("<!doctype html><html><head><title>clean</title></head><body><p>x</p></body></html>")
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move { axum::serve(listener, app).await });

    let driver = Driver::start(&chromedriver).await;
    let profile = tempfile::tempdir().unwrap();
    let b = driver.session(&chromium, profile.path()).await;
    // Only on a page that is clean: the favicon's 404 of a bare server is not our concern.
    b.goto(&format!("http://{addr}/clean")).await;
    b.wait_loaded().await;
    let clean: Vec<String> = problems(&b.console().await)
        .into_iter()
        .filter(|p| !p.contains("favicon"))
        .collect();
    assert!(clean.is_empty(), "{clean:#?}");

    b.goto(&format!("http://{addr}/broken")).await;
    b.wait_loaded().await;
    assert_ne!(
        b.title().await,
        "inline ran",
        "the inline script must not run"
    );
    let found = problems(&b.console().await);
    let script = found
        .iter()
        .any(|p| p.contains("Content Security Policy") && p.contains("script"));
    let style = found
        .iter()
        .any(|p| p.contains("Content Security Policy") && p.contains("style"));
    assert!(script && style, "both violations reported: {found:#?}");
    b.quit().await;
    task.abort();
}
