//! Rampart's HTTPS server: the JSON API (described by OpenAPI 3.1 at `/api/openapi.json`), a
//! minimal server-rendered web app, and TLS.
//!
//! # Architecture invariants
//!
//! - **HTTPS only.** The one listening port speaks TLS 1.2/1.3 (rustls with the aws-lc-rs
//!   provider, Mozilla "intermediate" cipher suites). A plain-HTTP request gets no HTTP answer.
//!   Without a configured certificate, a self-signed ECDSA P-256 certificate is generated into
//!   `DATA_DIR/tls/` on first start and reused afterwards.
//! - **Security headers on every response**, errors and 404 included (one outermost layer).
//! - **Workspace data only through a scope.** Handlers turn the `{ws}` path segment into a
//!   [`rampart_store::WorkspaceScope`] with [`rampart_store::Store::member_scope`]; a workspace that
//!   does not exist and one the user is not a member of both answer 404.
//! - **Sessions** live in the `__Host-rampart_session` cookie (Secure, HttpOnly, SameSite=Strict,
//!   Path=/); the store keeps only the SHA-256 of the id. Every state-changing request carries
//!   the session's CSRF token.
//! - **No secrets in logs**: passwords, session ids and CSRF tokens are never logged.

mod admin;
mod api;
mod auth;
mod authz;
mod custom_controls;
mod demo;
mod error;
mod exemptions;
mod jobs;
mod links;
mod metrics;
mod notifications;
pub mod reports;
mod security;
pub mod selfcheck;
mod sso;
mod state;
mod tls;
mod ui;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use rampart_rules::Catalog;
use rampart_store::Store;

pub use api::ApiDoc;
pub use demo::{
    DEMO_EMAIL, DEMO_WORKSPACE, DemoCredentials, DemoError, generate_password, prepare_demo,
};
pub use metrics::{MAX_WORKSPACE_SERIES, Metrics, serve_metrics};
pub use reports::ReportExecutor;
pub use security::CONTENT_SECURITY_POLICY;
pub use state::{
    AlertFeed, AlertSink, Mailer, MemoryMailer, NoMailer, OutgoingMessage, SecurityAlert,
};
pub use tls::{SELF_SIGNED_CERT_FILE, SELF_SIGNED_KEY_FILE, TLS_DIR, self_signed_paths};

/// Where and how the server listens.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Data directory (the self-signed certificate goes to `DATA_DIR/tls/`).
    pub data_dir: PathBuf,
    /// Address to listen on, e.g. `127.0.0.1:8443` (port 0 picks a free port).
    pub listen: SocketAddr,
    /// PEM certificate chain; with `tls_key`, replaces the self-signed certificate.
    pub tls_cert: Option<PathBuf>,
    /// PEM private key (PKCS#8, PKCS#1 or SEC1).
    pub tls_key: Option<PathBuf>,
    /// Vault key file (see `rampart_store::vault`). Without it the key text comes from
    /// `RAMPART_VAULT_KEY`, or else from `DATA_DIR/vault.key`, generated on first start.
    pub vault_key_file: Option<PathBuf>,
    /// Where to serve Prometheus metrics (plain HTTP, `/metrics`); `None` = not served. Keep it
    /// on loopback or a private network.
    pub metrics_listen: Option<SocketAddr>,
    /// The encrypted-backup schedule (taken by the backup queue's workers, see
    /// [`BackupSchedule`]); `None` = only by `rampart backup`.
    pub backups: Option<BackupSchedule>,
    /// Ports besides the HTTPS port that may listen on non-loopback addresses of this host
    /// (the self-assessment's port check, [`selfcheck`]).
    pub allowed_ports: Vec<u16>,
    /// The installation's public base URL (`https://rampart.example.com`), used for the links in
    /// invitation and password-reset mails; `None` = `https://` + the listen address.
    pub public_url: Option<String>,
}

/// Checks a public base URL: `https://HOST[:PORT]` with an optional path prefix, no query,
/// fragment or user info. Answers it without a trailing slash.
pub fn parse_public_url(text: &str) -> Result<String, String> {
    let t = text.trim().trim_end_matches('/');
    let Some(rest) = t.strip_prefix("https://") else {
        return Err(format!("public URL {text:?}: must start with https://"));
    };
    let host = rest.split('/').next().unwrap_or_default();
    let host_ok = !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'));
    if !host_ok {
        return Err(format!(
            "public URL {text:?}: the host is missing or has characters a host name cannot have"
        ));
    }
    if rest.contains(['?', '#', '@', ' ']) {
        return Err(format!(
            "public URL {text:?}: no query, fragment, user info or spaces"
        ));
    }
    Ok(t.to_owned())
}

/// File name of the generated vault key inside the data directory.
pub const VAULT_KEY_FILE_NAME: &str = "vault.key";

/// Loads the vault key: the configured file, else `RAMPART_VAULT_KEY`, else
/// `DATA_DIR/vault.key` (created with mode 0600 when missing).
pub fn load_vault(config: &ServerConfig) -> Result<rampart_store::Vault, ServerError> {
    load_vault_at(&config.data_dir, config.vault_key_file.as_deref())
}

/// [`load_vault`] from a data directory and an optional key file (for `rampart worker`).
pub fn load_vault_at(
    data_dir: &std::path::Path,
    vault_key_file: Option<&std::path::Path>,
) -> Result<rampart_store::Vault, ServerError> {
    use rampart_store::{VAULT_KEY_ENV, Vault};
    let vault_err = |e: rampart_store::VaultError| ServerError::Vault(e.to_string());
    if let Some(path) = vault_key_file {
        return Vault::from_file(path).map_err(vault_err);
    }
    if let Ok(text) = std::env::var(VAULT_KEY_ENV) {
        return Vault::from_key_text(&text, VAULT_KEY_ENV).map_err(vault_err);
    }
    let path = data_dir.join(VAULT_KEY_FILE_NAME);
    if !path.exists() {
        std::fs::create_dir_all(data_dir)
            .map_err(|e| ServerError::io(format!("cannot create {}", data_dir.display()), e))?;
        let line = format!(
            "# Rampart vault key: keep a copy apart from database backups.\n{}\n",
            Vault::generate_key_line(&format!("k{}", chrono::Utc::now().format("%Y%m%d")))
        );
        write_private(&path, line.as_bytes())?;
        tracing::warn!(path = %path.display(), "generated a vault key; keep a copy apart from database backups, or pass --vault-key-file / RAMPART_VAULT_KEY");
    }
    Vault::from_file(&path).map_err(vault_err)
}

/// Writes a file readable by its owner only.
fn write_private(path: &std::path::Path, bytes: &[u8]) -> Result<(), ServerError> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut f = options
        .open(path)
        .map_err(|e| ServerError::io(format!("cannot create {}", path.display()), e))?;
    f.write_all(bytes)
        .map_err(|e| ServerError::io(format!("cannot write {}", path.display()), e))
}

/// Replaceable parts of the application (tests inject a mail sink and read the alert feed).
#[derive(Clone)]
pub struct AppParts {
    pub vault: Arc<rampart_store::Vault>,
    pub mailer: Arc<dyn Mailer>,
    pub alerts: Arc<AlertFeed>,
    pub metrics: Arc<Metrics>,
    /// What the operators' self-assessment page checks; set by [`start_with`].
    pub installation: Option<Arc<selfcheck::Installation>>,
    /// Base of mailed links; set by [`start_with`] from [`ServerConfig::public_url`].
    pub public_url: Option<String>,
    /// Assets the inventory page evaluates a CEL query over at most
    /// ([`DEFAULT_QUERY_SCAN_LIMIT`]; the API has no such bound).
    pub query_scan_limit: u64,
}

/// Assets the inventory page evaluates a CEL query over at most, unless configured otherwise.
pub const DEFAULT_QUERY_SCAN_LIMIT: u64 = 50_000;

impl AppParts {
    pub fn new(vault: rampart_store::Vault) -> AppParts {
        let metrics = Arc::new(Metrics::new());
        AppParts {
            vault: Arc::new(vault),
            mailer: Arc::new(NoMailer),
            alerts: Arc::new(AlertFeed::with_metrics(metrics.clone())),
            metrics,
            installation: None,
            public_url: None,
            query_scan_limit: DEFAULT_QUERY_SCAN_LIMIT,
        }
    }
}

impl ServerConfig {
    /// Default listen address: `127.0.0.1:8443`.
    pub const DEFAULT_LISTEN: SocketAddr =
        SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 8443);
}

/// Errors that stop the server from starting or running.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    #[error("TLS configuration: {0}")]
    Tls(String),
    #[error("certificate generation failed: {0}")]
    CertGen(#[from] rcgen::Error),
    #[error(transparent)]
    Store(#[from] rampart_store::StoreError),
    #[error("{0}")]
    Vault(String),
}

impl ServerError {
    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> ServerError {
        ServerError::Io {
            context: context.into(),
            source,
        }
    }
}

/// A server started by [`start`]: its bound address and a handle to stop it.
pub struct RunningServer {
    /// The address actually bound (useful with port 0).
    pub addr: SocketAddr,
    /// The PEM certificate the server presents (the self-signed one unless configured).
    pub cert_path: PathBuf,
    /// Whether `cert_path` is a self-signed certificate generated or reused by Rampart.
    pub self_signed: bool,
    /// Where `/metrics` is served, when enabled.
    pub metrics_addr: Option<SocketAddr>,
    handle: axum_server::Handle,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
    housekeeping: tokio::task::JoinHandle<()>,
    metrics_task: Option<tokio::task::JoinHandle<()>>,
    /// Shared lock on `DATA_DIR/rampart.lock` while serving: `rampart restore` refuses to replace
    /// a database in use.
    _lock: std::fs::File,
}

/// The installation's backup schedule. The server itself takes no backups: they are jobs of the
/// backup queue, run by a [`rampart_worker::BackupWorker`] in each process given a backup
/// directory (`rampart serve` and `rampart worker` start one); the server reads the schedule for
/// the self-assessment (the directory's newest backup against the interval).
#[derive(Debug, Clone)]
pub struct BackupSchedule {
    pub dir: PathBuf,
    pub every: Duration,
    /// Newest backups kept (0 = all).
    pub retain: usize,
}

impl std::fmt::Debug for RunningServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningServer")
            .field("addr", &self.addr)
            .field("cert_path", &self.cert_path)
            .finish()
    }
}

impl RunningServer {
    /// `https://ADDR` of the running server.
    pub fn url(&self) -> String {
        format!("https://{}", self.addr)
    }

    /// Stops accepting connections, lets in-flight requests finish (up to 5 s), and waits.
    pub async fn shutdown(self) -> Result<(), ServerError> {
        self.handle.graceful_shutdown(Some(Duration::from_secs(5)));
        self.housekeeping.abort();
        if let Some(t) = &self.metrics_task {
            t.abort();
        }
        join(self.task).await
    }

    /// Waits until the server stops on its own (normally never).
    pub async fn wait(self) -> Result<(), ServerError> {
        let result = join(self.task).await;
        self.housekeeping.abort();
        result
    }
}

async fn join(task: tokio::task::JoinHandle<std::io::Result<()>>) -> Result<(), ServerError> {
    match task.await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(ServerError::io("server", e)),
        Err(e) => Err(ServerError::io("server task", std::io::Error::other(e))),
    }
}

/// The application's routes and layers, with the given parts.
pub fn router(store: Store, catalog: Arc<Catalog>, parts: AppParts) -> Router {
    let state = state::AppState {
        store,
        catalog,
        workspace_catalogs: Default::default(),
        vault: parts.vault,
        mailer: parts.mailer,
        alerts: parts.alerts,
        metrics: parts.metrics.clone(),
        installation: parts.installation.clone(),
        public_url: parts
            .public_url
            .clone()
            .unwrap_or_else(|| "https://localhost:8443".to_owned()),
        query_scan_limit: parts.query_scan_limit.max(1),
    };
    let request_id = axum::http::HeaderName::from_static("x-request-id");
    Router::new()
        .merge(api::routes())
        .merge(admin::routes())
        .merge(jobs::routes())
        .merge(exemptions::routes())
        .merge(notifications::routes())
        .merge(custom_controls::routes())
        .merge(ui::routes())
        .merge(auth::routes())
        .merge(sso::routes())
        .merge(links::routes())
        .fallback(error::fallback)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            security::csrf_guard,
        ))
        .layer(axum::middleware::from_fn_with_state(
            parts.metrics,
            metrics::track,
        ))
        .layer(axum::middleware::map_response(security::security_headers))
        // Every request gets an id (kept from a trusted proxy's `x-request-id` otherwise
        // generated), logged on its span and echoed in the response.
        .layer(
            tower::ServiceBuilder::new()
                .layer(tower_http::request_id::SetRequestIdLayer::new(
                    request_id.clone(),
                    tower_http::request_id::MakeRequestUuid,
                ))
                .layer(
                    tower_http::trace::TraceLayer::new_for_http().make_span_with(
                        |req: &axum::http::Request<_>| {
                            let id = req
                                .headers()
                                .get("x-request-id")
                                .and_then(|v| v.to_str().ok())
                                .unwrap_or_default();
                            // `otel.*` fields name the span for OpenTelemetry exporters (`--otlp-endpoint`).
                            tracing::info_span!("request", method = %req.method(), path = %links::redact_path(req.uri().path()), request_id = %id, otel.name = %format!("HTTP {}", req.method()), otel.kind = "server")
                        },
                    ),
                )
                .layer(tower_http::request_id::PropagateRequestIdLayer::new(request_id)),
        )
        .with_state(state)
}

/// Binds the listener, prepares TLS (generating the self-signed certificate if needed) and starts
/// serving in the background. Returns once the port is bound.
pub async fn start(
    config: ServerConfig,
    store: Store,
    catalog: Arc<Catalog>,
) -> Result<RunningServer, ServerError> {
    let parts = AppParts::new(load_vault(&config)?);
    start_with(config, store, catalog, parts).await
}

/// [`start`] with the given application parts.
pub async fn start_with(
    config: ServerConfig,
    store: Store,
    catalog: Arc<Catalog>,
    mut parts: AppParts,
) -> Result<RunningServer, ServerError> {
    let tls = tls::prepare(&config)?;
    let listener = std::net::TcpListener::bind(config.listen)
        .map_err(|e| ServerError::io(format!("cannot listen on {}", config.listen), e))?;
    listener
        .set_nonblocking(true)
        .map_err(|e| ServerError::io("listener", e))?;
    let addr = listener
        .local_addr()
        .map_err(|e| ServerError::io("listener", e))?;

    let lock_path = config.data_dir.join(rampart_store::backup::LOCK_FILE_NAME);
    std::fs::create_dir_all(&config.data_dir)
        .map_err(|e| ServerError::io(format!("cannot create {}", config.data_dir.display()), e))?;
    let lock = std::fs::File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| ServerError::io(format!("cannot open {}", lock_path.display()), e))?;
    lock.lock_shared()
        .map_err(|e| ServerError::io(format!("cannot lock {}", lock_path.display()), e))?;
    let metrics_task = match config.metrics_listen {
        Some(addr) => {
            parts.metrics.refresh(&store).await;
            let (bound, task) = metrics::serve_metrics(addr, parts.metrics.clone(), store.clone())
                .await
                .map_err(|e| ServerError::io(format!("cannot listen for metrics on {addr}"), e))?;
            tracing::info!(%bound, "metrics at http://{bound}/metrics");
            Some((bound, task))
        }
        None => None,
    };
    parts.installation = Some(Arc::new(selfcheck::Installation::from_config(
        &config,
        addr,
        metrics_task.as_ref().map(|(bound, _)| *bound),
    )));
    if parts.public_url.is_none() {
        parts.public_url = Some(
            config
                .public_url
                .clone()
                .unwrap_or_else(|| format!("https://{addr}")),
        );
    }
    let app = router(store.clone(), catalog, parts);
    let handle = axum_server::Handle::new();
    let server = axum_server::from_tcp_rustls(
        listener,
        axum_server::tls_rustls::RustlsConfig::from_config(tls.config),
    )
    .handle(handle.clone());
    let task = tokio::spawn(async move {
        server
            .serve(app.into_make_service_with_connect_info::<SocketAddr>())
            .await
    });
    let housekeeping = tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(600));
        loop {
            tick.tick().await;
            if let Err(e) = store.purge_expired_sessions(chrono::Utc::now()).await {
                tracing::warn!(error = %e, "purging expired sessions failed");
            }
        }
    });
    tracing::info!(%addr, cert = %tls.cert_path.display(), self_signed = tls.self_signed, "listening (HTTPS only)");
    let (metrics_addr, metrics_task) = match metrics_task {
        Some((a, t)) => (Some(a), Some(t)),
        None => (None, None),
    };
    Ok(RunningServer {
        addr,
        cert_path: tls.cert_path,
        self_signed: tls.self_signed,
        metrics_addr,
        metrics_task,
        _lock: lock,
        handle,
        task,
        housekeeping,
    })
}

/// Runs the server until it fails or the process receives Ctrl-C / SIGTERM.
pub async fn serve(
    config: ServerConfig,
    store: Store,
    catalog: Arc<Catalog>,
) -> Result<(), ServerError> {
    let parts = AppParts::new(load_vault(&config)?);
    serve_with(config, store, catalog, parts).await
}

/// [`serve`] with the given application parts (the caller keeps their metrics and vault, e.g.
/// for the job workers it runs in the same process).
pub async fn serve_with(
    config: ServerConfig,
    store: Store,
    catalog: Arc<Catalog>,
    parts: AppParts,
) -> Result<(), ServerError> {
    let running = start_with(config, store, catalog, parts).await?;
    let handle = running.handle.clone();
    tokio::spawn(async move {
        shutdown_signal().await;
        tracing::info!("shutting down");
        handle.graceful_shutdown(Some(Duration::from_secs(10)));
    });
    running.wait().await
}

pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}
