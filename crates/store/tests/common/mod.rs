//! Shared helpers for the store's integration tests.
#![allow(dead_code)]

use std::collections::BTreeMap;

use chrono::{DateTime, TimeZone, Utc};
use rampart_model::{
    Asset, Evaluation, FindingStatus, Inventory, Provider, Relationship, ResourceType, Severity,
};
use rampart_store::{SQLITE_FILE_NAME, Store, WorkspaceScope};

pub mod pg;

pub use pg::{Backend, backend};

/// A store for one test on the backend under test (`RAMPART_TEST_BACKEND`), with its data
/// directory (SQLite: the database file is in it) and, for PostgreSQL, its server.
pub struct TestDb {
    pub dir: tempfile::TempDir,
    pub store: Store,
    /// Dropped last: stops the server.
    pub pg: Option<pg::PgServer>,
}

/// A fresh store on the backend under test.
pub async fn open() -> TestDb {
    match backend() {
        Backend::Sqlite => open_sqlite().await,
        Backend::Postgres => {
            let dir = tempfile::tempdir().expect("tempdir");
            let server = pg::PgServer::start().await;
            let store = Store::open_url(&server.app_url())
                .await
                .expect("open store as the application role");
            TestDb {
                dir,
                store,
                pg: Some(server),
            }
        }
    }
}

/// A fresh SQLite store, whatever the backend under test: for the tests about the SQLite file
/// itself (WAL, file mode, triggers dropped by someone holding the file).
pub async fn open_sqlite() -> TestDb {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open_data_dir(dir.path()).await.expect("open store");
    TestDb {
        dir,
        store,
        pg: None,
    }
}

impl TestDb {
    pub fn is_postgres(&self) -> bool {
        self.pg.is_some()
    }

    /// Opens the same database again (a second process, or after `close`).
    pub async fn reopen(&self) -> Store {
        match &self.pg {
            Some(server) => Store::open_url(&server.app_url()).await.expect("reopen"),
            None => Store::open_data_dir(self.dir.path()).await.expect("reopen"),
        }
    }

    /// Every byte the database stores: the SQLite file with its WAL and shared memory, or a
    /// `pg_dump` of the PostgreSQL database.
    pub fn db_bytes(&self) -> Vec<u8> {
        match &self.pg {
            Some(server) => server.dump(),
            None => {
                let mut bytes = Vec::new();
                for suffix in ["", "-wal", "-shm"] {
                    let path = self.dir.path().join(format!("{SQLITE_FILE_NAME}{suffix}"));
                    if let Ok(b) = std::fs::read(path) {
                        bytes.extend(b);
                    }
                }
                bytes
            }
        }
    }

    /// Runs statements as someone holding the database itself (the SQLite file, or the
    /// PostgreSQL superuser, which bypasses row-level security).
    pub async fn admin_exec(&self, statements: &[&str]) {
        use sqlx::Connection as _;
        match &self.pg {
            Some(server) => {
                let mut conn = server.superuser().await;
                for s in statements {
                    sqlx::query(s).execute(&mut conn).await.expect(s);
                }
                conn.close().await.expect("close");
            }
            None => {
                let options = sqlx::sqlite::SqliteConnectOptions::new()
                    .filename(self.dir.path().join(SQLITE_FILE_NAME));
                let mut conn = sqlx::SqliteConnection::connect_with(&options)
                    .await
                    .expect("open the database file");
                for s in statements {
                    sqlx::query(s).execute(&mut conn).await.expect(s);
                }
                conn.close().await.expect("close");
            }
        }
    }

    /// One text value read as someone holding the database (`$1` bound to `arg`).
    pub async fn admin_string(&self, query: &str, arg: &str) -> String {
        use sqlx::{Connection as _, Row as _};
        match &self.pg {
            Some(server) => {
                let mut conn = server.superuser().await;
                sqlx::query(query)
                    .bind(arg)
                    .fetch_one(&mut conn)
                    .await
                    .expect(query)
                    .get(0)
            }
            None => {
                let options = sqlx::sqlite::SqliteConnectOptions::new()
                    .filename(self.dir.path().join(SQLITE_FILE_NAME));
                let mut conn = sqlx::SqliteConnection::connect_with(&options)
                    .await
                    .expect("open the database file");
                sqlx::query(query)
                    .bind(arg)
                    .fetch_one(&mut conn)
                    .await
                    .expect(query)
                    .get(0)
            }
        }
    }

    /// The first column of every row of a query, as text, read as someone holding the database.
    pub async fn admin_strings(&self, query: &str) -> Vec<String> {
        use sqlx::{Connection as _, Row as _};
        match &self.pg {
            Some(server) => {
                let mut conn = server.superuser().await;
                sqlx::query(query)
                    .fetch_all(&mut conn)
                    .await
                    .expect(query)
                    .iter()
                    .map(|r| r.get::<String, _>(0))
                    .collect()
            }
            None => {
                let options = sqlx::sqlite::SqliteConnectOptions::new()
                    .filename(self.dir.path().join(SQLITE_FILE_NAME));
                let mut conn = sqlx::SqliteConnection::connect_with(&options)
                    .await
                    .expect("open the database file");
                sqlx::query(query)
                    .fetch_all(&mut conn)
                    .await
                    .expect(query)
                    .iter()
                    .map(|r| r.get::<String, _>(0))
                    .collect()
            }
        }
    }

    /// Removes the append-only triggers of the audit log (what someone holding the database
    /// could do; `rampart audit verify` must still find the edits).
    pub async fn drop_audit_triggers(&self) {
        if self.is_postgres() {
            self.admin_exec(&[
                "DROP TRIGGER IF EXISTS audit_log_no_update ON audit_log",
                "DROP TRIGGER IF EXISTS audit_log_no_delete ON audit_log",
            ])
            .await;
        } else {
            self.admin_exec(&[
                "DROP TRIGGER IF EXISTS audit_log_no_update",
                "DROP TRIGGER IF EXISTS audit_log_no_delete",
            ])
            .await;
        }
    }
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
