//! A small W3C WebDriver client over reqwest, enough to drive Debian's Chromium through
//! chromedriver: sessions, navigation, elements, screenshots and the browser console log.
//!
//! [`Driver::start`] runs chromedriver on a free loopback port in a process group of its own;
//! dropping the [`Driver`] (also when a test fails half-way) ends the sessions still open, then
//! kills that process group: chromedriver and the browsers it started.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// W3C element reference key.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// Where the browser and its driver are: `RAMPART_CHROMIUM` / `RAMPART_CHROMEDRIVER`, else
/// Debian's paths. A missing one is a test failure that says how to install it.
pub fn binaries() -> (PathBuf, PathBuf) {
    let chromium = std::env::var_os("RAMPART_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    let driver = std::env::var_os("RAMPART_CHROMEDRIVER")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromedriver"));
    for (what, path) in [("Chromium", &chromium), ("chromedriver", &driver)] {
        assert!(
            path.is_file(),
            "{what} not found at {}: install Debian's browser and driver with \
             `apt-get install chromium chromium-driver` (or run scripts/test-deps), or point \
             RAMPART_CHROMIUM / RAMPART_CHROMEDRIVER at them",
            path.display()
        );
    }
    (chromium, driver)
}

/// A running chromedriver, killed on drop with its browsers.
pub struct Driver {
    child: Child,
    port: u16,
    pub base: String,
    http: reqwest::Client,
    sessions: Arc<Mutex<Vec<String>>>,
}

impl Drop for Driver {
    fn drop(&mut self) {
        // Open sessions first, so that each browser exits cleanly (blocking: no runtime here).
        let open: Vec<String> = self.sessions.lock().map(|s| s.clone()).unwrap_or_default();
        for id in open {
            if let Ok(mut conn) = std::net::TcpStream::connect(("127.0.0.1", self.port)) {
                use std::io::{Read as _, Write as _};
                let _ = conn.set_read_timeout(Some(Duration::from_secs(10)));
                let _ = write!(
                    conn,
                    "DELETE /session/{id} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                    self.port
                );
                let mut answer = Vec::new();
                let _ = conn.read_to_end(&mut answer);
            }
        }
        // Then chromedriver's process group (it and anything it started and left behind).
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

impl Driver {
    pub async fn start(driver: &Path) -> Driver {
        use std::os::unix::process::CommandExt as _;
        let port = free_port();
        let child = Command::new(driver)
            .process_group(0)
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", driver.display()));
        let d = Driver {
            child,
            port,
            sessions: Arc::default(),
            base: format!("http://127.0.0.1:{port}"),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(120))
                .build()
                .expect("HTTP client"),
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(r) = d.http.get(format!("{}/status", d.base)).send().await
                && r.status().is_success()
            {
                break;
            }
            assert!(Instant::now() < deadline, "chromedriver did not start");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        d
    }

    /// A headless Chromium session at 1366×768 with its own profile directory, accepting the
    /// server's self-signed certificate and recording the console log.
    pub async fn session(&self, chromium: &Path, profile: &Path) -> Browser {
        let caps = json!({
            "capabilities": {
                "alwaysMatch": {
                    "browserName": "chrome",
                    "acceptInsecureCerts": true,
                    "pageLoadStrategy": "normal",
                    "unhandledPromptBehavior": "accept",
                    "goog:loggingPrefs": { "browser": "ALL" },
                    "goog:chromeOptions": {
                        "binary": chromium.to_string_lossy(),
                        "args": [
                            "--headless=new",
                            "--no-sandbox",
                            "--disable-gpu",
                            "--disable-quic",
                            "--no-first-run",
                            "--disable-background-networking",
                            "--disable-component-update",
                            "--disable-sync",
                            "--disable-dev-shm-usage",
                            format!("--user-data-dir={}", profile.display()),
                            "--window-size=1366,768",
                        ]
                    }
                }
            }
        });
        let resp: Value = self
            .http
            .post(format!("{}/session", self.base))
            .json(&caps)
            .send()
            .await
            .expect("new session")
            .json()
            .await
            .expect("new session JSON");
        let id = resp["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {resp}"))
            .to_owned();
        if let Ok(mut open) = self.sessions.lock() {
            open.push(id.clone());
        }
        Browser {
            http: self.http.clone(),
            url: format!("{}/session/{id}", self.base),
            id,
            sessions: self.sessions.clone(),
        }
    }
}

/// One browser session.
pub struct Browser {
    http: reqwest::Client,
    url: String,
    id: String,
    sessions: Arc<Mutex<Vec<String>>>,
}

/// An element of the current page.
#[derive(Clone)]
pub struct Element(String);

/// One console entry.
#[derive(Debug, Clone)]
pub struct LogEntry {
    pub level: String,
    pub message: String,
}

impl Browser {
    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut req = self
            .http
            .request(method.clone(), format!("{}{path}", self.url));
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("WebDriver request");
        let status = resp.status();
        let v: Value = resp.json().await.expect("WebDriver JSON");
        assert!(
            status.is_success(),
            "WebDriver {method} {path}: {status} {}",
            v["value"]
        );
        v["value"].clone()
    }

    async fn try_call(&self, method: reqwest::Method, path: &str, body: Value) -> Option<Value> {
        let resp = self
            .http
            .request(method, format!("{}{path}", self.url))
            .json(&body)
            .send()
            .await
            .ok()?;
        if !resp.status().is_success() {
            if std::env::var_os("RAMPART_WEBDRIVER_DEBUG").is_some() {
                eprintln!(
                    "webdriver {path}: {}",
                    resp.text().await.unwrap_or_default()
                );
            }
            return None;
        }
        let v: Value = resp.json().await.ok()?;
        Some(v["value"].clone())
    }

    pub async fn goto(&self, url: &str) {
        self.call(reqwest::Method::POST, "/url", Some(json!({ "url": url })))
            .await;
    }

    pub async fn current_url(&self) -> String {
        self.call(reqwest::Method::GET, "/url", None)
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    pub async fn title(&self) -> String {
        self.call(reqwest::Method::GET, "/title", None)
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// The first element matching `css`, waiting up to 10 s for it.
    pub async fn find(&self, css: &str) -> Element {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(v) = self
                .try_call(
                    reqwest::Method::POST,
                    "/element",
                    json!({ "using": "css selector", "value": css }),
                )
                .await
                && let Some(id) = v[ELEMENT_KEY].as_str()
            {
                return Element(id.to_owned());
            }
            assert!(
                Instant::now() < deadline,
                "no element {css:?} on {}",
                self.current_url().await
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Every element matching `css` now.
    pub async fn find_all(&self, css: &str) -> Vec<Element> {
        self.call(
            reqwest::Method::POST,
            "/elements",
            Some(json!({ "using": "css selector", "value": css })),
        )
        .await
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v[ELEMENT_KEY].as_str().map(|s| Element(s.to_owned())))
                .collect()
        })
        .unwrap_or_default()
    }

    pub async fn text(&self, e: &Element) -> String {
        self.call(
            reqwest::Method::GET,
            &format!("/element/{}/text", e.0),
            None,
        )
        .await
        .as_str()
        .unwrap_or_default()
        .to_owned()
    }

    /// Text of the first element matching `css`.
    pub async fn text_of(&self, css: &str) -> String {
        let e = self.find(css).await;
        self.text(&e).await
    }

    pub async fn attribute(&self, e: &Element, name: &str) -> Option<String> {
        self.call(
            reqwest::Method::GET,
            &format!("/element/{}/attribute/{name}", e.0),
            None,
        )
        .await
        .as_str()
        .map(str::to_owned)
    }

    pub async fn click(&self, e: &Element) {
        self.call(
            reqwest::Method::POST,
            &format!("/element/{}/click", e.0),
            Some(json!({})),
        )
        .await;
    }

    /// Clears a form field and types `text` into it.
    pub async fn fill(&self, css: &str, text: &str) {
        let e = self.find(css).await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{}/clear", e.0),
            Some(json!({})),
        )
        .await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{}/value", e.0),
            Some(json!({ "text": text })),
        )
        .await;
    }

    /// Clicks the first element matching `css` and waits until another document has loaded
    /// (the old one is marked first, so a page that reloads itself is noticed too).
    pub async fn submit(&self, css: &str) {
        let e = self.find(css).await;
        self.script("window.__rampartOldPage = true; return null")
            .await;
        self.click(&e).await;
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(v) = self
                .try_call(
                    reqwest::Method::POST,
                    "/execute/sync",
                    json!({
                        "script": "return window.__rampartOldPage === undefined && document.readyState === 'complete'",
                        "args": []
                    }),
                )
                .await
                && v.as_bool() == Some(true)
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "clicking {css:?} loaded no new page"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until the document is complete.
    pub async fn wait_loaded(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(v) = self
                .try_call(
                    reqwest::Method::POST,
                    "/execute/sync",
                    json!({ "script": "return document.readyState", "args": [] }),
                )
                .await
                && v.as_str() == Some("complete")
            {
                return;
            }
            assert!(Instant::now() < deadline, "page did not finish loading");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Sends keys to the focused element (e.g. "\u{E004}" for Tab).
    pub async fn keys(&self, text: &str) {
        let actions: Vec<Value> = text
            .chars()
            .flat_map(|c| {
                [
                    json!({ "type": "keyDown", "value": c.to_string() }),
                    json!({ "type": "keyUp", "value": c.to_string() }),
                ]
            })
            .collect();
        self.call(
            reqwest::Method::POST,
            "/actions",
            Some(json!({ "actions": [{ "type": "key", "id": "keyboard", "actions": actions }] })),
        )
        .await;
    }

    /// Runs a script in the page and returns its result.
    pub async fn script(&self, script: &str) -> Value {
        self.call(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({ "script": script, "args": [] })),
        )
        .await
    }

    /// Runs an asynchronous script: it receives a callback as its last argument and the result
    /// is what it passes to it.
    pub async fn script_async(&self, script: &str) -> Value {
        self.call(
            reqwest::Method::POST,
            "/execute/async",
            Some(json!({ "script": script, "args": [] })),
        )
        .await
    }

    pub async fn set_window(&self, width: u32, height: u32) {
        self.call(
            reqwest::Method::POST,
            "/window/rect",
            Some(json!({ "width": width, "height": height })),
        )
        .await;
    }

    /// A PNG of the viewport (retried: on a loaded machine the renderer can miss chromedriver's
    /// 10-second deadline once).
    pub async fn screenshot(&self, path: &Path) {
        use base64::Engine as _;
        let mut b64 = None;
        for _ in 0..3 {
            let resp = self
                .http
                .get(format!("{}/screenshot", self.url))
                .send()
                .await
                .expect("WebDriver screenshot");
            let ok = resp.status().is_success();
            let v: Value = resp.json().await.expect("WebDriver JSON");
            if ok {
                b64 = Some(v["value"].clone());
                break;
            }
            eprintln!("screenshot failed, retrying: {}", v["value"]["message"]);
        }
        let b64 = b64.expect("a screenshot within three tries");
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(b64.as_str().unwrap_or_default())
            .expect("screenshot base64");
        assert!(bytes.starts_with(b"\x89PNG"), "screenshot is not a PNG");
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).expect("screenshot directory");
        }
        std::fs::write(path, bytes).expect("write screenshot");
    }

    /// Console entries since the last call (chromedriver's `goog:loggingPrefs` browser log):
    /// JavaScript errors, failed loads and CSP violations are `SEVERE`.
    pub async fn console(&self) -> Vec<LogEntry> {
        self.call(
            reqwest::Method::POST,
            "/se/log",
            Some(json!({ "type": "browser" })),
        )
        .await
        .as_array()
        .map(|a| {
            a.iter()
                .map(|e| LogEntry {
                    level: e["level"].as_str().unwrap_or_default().to_owned(),
                    message: e["message"].as_str().unwrap_or_default().to_owned(),
                })
                .collect()
        })
        .unwrap_or_default()
    }

    pub async fn quit(self) {
        let _ = self.http.delete(&self.url).send().await;
        if let Ok(mut open) = self.sessions.lock() {
            open.retain(|s| *s != self.id);
        }
    }
}

/// Console problems: errors and warnings, and anything that mentions the Content Security
/// Policy whatever its level.
pub fn problems(entries: &[LogEntry]) -> Vec<String> {
    entries
        .iter()
        .filter(|e| {
            e.level == "SEVERE"
                || e.level == "WARNING"
                || e.message.contains("Content Security Policy")
                || e.message.contains("Content-Security-Policy")
        })
        .map(|e| format!("{}: {}", e.level, e.message))
        .collect()
}
