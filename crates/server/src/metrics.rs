//! Prometheus metrics, served on their own listener (plain HTTP, loopback by default) so the one
//! public port stays HTTPS-only.
//!
//! Label cardinality is bounded: routes are axum's matched route templates (never raw paths),
//! methods and status classes are small sets, and per-workspace gauges cover at most
//! [`MAX_WORKSPACE_SERIES`] workspaces (the rest are summed under `workspace="_other"`).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use rampart_store::JobState;
use rampart_store::Store;

/// Workspaces given their own series; beyond this they are summed into `_other`.
pub const MAX_WORKSPACE_SERIES: usize = 200;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct RequestLabels {
    pub route: String,
    pub method: String,
    pub status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct RouteLabels {
    pub route: String,
    pub method: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct WorkspaceLabels {
    pub workspace: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct FindingLabels {
    pub workspace: String,
    pub status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct StateLabels {
    pub state: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct KindLabels {
    pub kind: String,
}

/// The installation's metrics.
pub struct Metrics {
    registry: Registry,
    pub(crate) requests: Family<RequestLabels, Counter>,
    pub(crate) latency: Family<RouteLabels, Histogram>,
    pub(crate) login_failures: Counter,
    pub(crate) alerts: Family<KindLabels, Counter>,
    pub(crate) assets: Family<WorkspaceLabels, Gauge>,
    pub(crate) findings: Family<FindingLabels, Gauge>,
    pub(crate) workspaces: Gauge,
    pub(crate) database_up: Gauge,
    pub(crate) jobs: Family<StateLabels, Gauge>,
    pub(crate) job_attempts: Family<JobLabels, Counter>,
    pub(crate) job_duration: Family<KindLabels, Histogram>,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct JobLabels {
    pub kind: String,
    pub outcome: String,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("rampart");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests by route template, method and status",
            requests.clone(),
        );
        let latency = Family::<RouteLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.001, 2.0, 14))
        });
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency by route template and method",
            latency.clone(),
        );
        let login_failures = Counter::default();
        registry.register(
            "login_failures",
            "Failed sign-in attempts (wrong password or second factor, throttled)",
            login_failures.clone(),
        );
        let alerts = Family::<KindLabels, Counter>::default();
        registry.register(
            "security_alerts",
            "Security alerts raised, by kind",
            alerts.clone(),
        );
        let assets = Family::<WorkspaceLabels, Gauge>::default();
        registry.register("assets", "Assets per workspace", assets.clone());
        let findings = Family::<FindingLabels, Gauge>::default();
        registry.register(
            "findings",
            "Findings per workspace and status",
            findings.clone(),
        );
        let workspaces = Gauge::default();
        registry.register(
            "workspaces",
            "Workspaces in the installation",
            workspaces.clone(),
        );
        let database_up = Gauge::default();
        registry.register(
            "database_up",
            "1 when the last database check succeeded",
            database_up.clone(),
        );
        let jobs = Family::<StateLabels, Gauge>::default();
        registry.register(
            "jobs",
            "Jobs waiting in the queue (queued) and being run by workers (running), installation-wide",
            jobs.clone(),
        );
        let job_attempts = Family::<JobLabels, Counter>::default();
        registry.register(
            "job_attempts",
            "Job attempts run by this process's workers, by kind and outcome (succeeded, queued = failed and retried, failed, cancelled, lease_lost)",
            job_attempts.clone(),
        );
        let job_duration = Family::<KindLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.05, 2.0, 18))
        });
        registry.register(
            "job_duration_seconds",
            "Duration of job attempts run by this process's workers, by kind (a scan job is a whole connector scan)",
            job_duration.clone(),
        );
        Metrics {
            jobs,
            job_attempts,
            job_duration,
            registry,
            requests,
            latency,
            login_failures,
            alerts,
            assets,
            findings,
            workspaces,
            database_up,
        }
    }

    /// The OpenMetrics text exposition.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }

    /// Records one job attempt (see `rampart_worker::JobObserver`). Labels are bounded: a job
    /// kind and one of five outcomes.
    pub fn observe_job(&self, kind: &str, outcome: &str, elapsed: Duration) {
        self.job_attempts
            .get_or_create(&JobLabels {
                kind: kind.to_owned(),
                outcome: outcome.to_owned(),
            })
            .inc();
        self.job_duration
            .get_or_create(&KindLabels {
                kind: kind.to_owned(),
            })
            .observe(elapsed.as_secs_f64());
    }

    /// Refreshes the per-workspace gauges from the store (bounded: see the module docs).
    pub async fn refresh(&self, store: &Store) {
        match store.workspace_stats().await {
            Ok(stats) => {
                self.database_up.set(1);
                self.workspaces
                    .set(i64::try_from(stats.len()).unwrap_or(i64::MAX));
                self.assets.clear();
                self.findings.clear();
                for (n, s) in stats.iter().enumerate() {
                    let workspace = if n < MAX_WORKSPACE_SERIES {
                        s.slug.clone()
                    } else {
                        "_other".to_owned()
                    };
                    self.assets
                        .get_or_create(&WorkspaceLabels {
                            workspace: workspace.clone(),
                        })
                        .inc_by(to_i64(s.assets));
                    for (status, count) in [("fail", s.failing), ("pass", s.passing)] {
                        self.findings
                            .get_or_create(&FindingLabels {
                                workspace: workspace.clone(),
                                status: status.into(),
                            })
                            .inc_by(to_i64(count));
                    }
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "metrics refresh: database check failed");
                self.database_up.set(0);
                return;
            }
        }
        match store.job_counts().await {
            Ok(counts) => {
                for state in [JobState::Queued, JobState::Running] {
                    let n = counts
                        .iter()
                        .find(|(s, _)| *s == state)
                        .map_or(0, |(_, n)| *n);
                    self.jobs
                        .get_or_create(&StateLabels {
                            state: state.as_str().into(),
                        })
                        .set(to_i64(n));
                }
            }
            Err(e) => tracing::warn!(error = %e, "metrics refresh: job counts failed"),
        }
    }
}

fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Counts and times every request by its route template.
pub(crate) async fn track(
    State(metrics): State<Arc<Metrics>>,
    request: Request,
    next: Next,
) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let method = match request.method().as_str() {
        m @ ("GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE" | "OPTIONS") => m.to_owned(),
        _ => "other".to_owned(),
    };
    let started = Instant::now();
    let response = next.run(request).await;
    let elapsed = started.elapsed();
    metrics
        .requests
        .get_or_create(&RequestLabels {
            route: route.clone(),
            method: method.clone(),
            status: response.status().as_u16().to_string(),
        })
        .inc();
    metrics
        .latency
        .get_or_create(&RouteLabels { route, method })
        .observe(elapsed.as_secs_f64());
    response
}

/// Serves `/metrics` on `addr` (plain HTTP; meant for loopback or a private network). Refreshes
/// the store-derived gauges every 30 seconds.
pub async fn serve_metrics(
    addr: SocketAddr,
    metrics: Arc<Metrics>,
    store: Store,
) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    if !bound.ip().is_loopback() {
        tracing::warn!(%bound, "metrics listener is not on loopback: keep it on a private network");
    }
    let app = axum::Router::new()
        .route("/metrics", get(metrics_handler))
        .with_state(metrics.clone());
    let task = tokio::spawn(async move {
        let refresher = {
            let metrics = metrics.clone();
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(Duration::from_secs(30));
                loop {
                    tick.tick().await;
                    metrics.refresh(&store).await;
                }
            })
        };
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "metrics listener failed");
        }
        refresher.abort();
    });
    Ok((bound, task))
}

async fn metrics_handler(State(metrics): State<Arc<Metrics>>) -> Response {
    let mut response = (StatusCode::OK, metrics.encode()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
    );
    response
}
