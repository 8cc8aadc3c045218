//! HTTPS only (ASVS 9.1.1–9.1.3): TLS 1.2/1.3 via rustls, plain HTTP gets no HTTP answer, the
//! self-signed certificate is generated once (key mode 0600) and reused.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// V9.1.1: a plain-HTTP request to the port receives no HTTP response (at most a TLS alert).
#[tokio::test]
async fn v9_1_1_plain_http_gets_no_http_data() {
    let t = common::spawn().await;
    let mut stream = tokio::net::TcpStream::connect(t.addr()).await.unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut received = Vec::new();
    let read =
        tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut received)).await;
    // Either the server closed the connection (possibly after a TLS alert) or it said nothing.
    let _ = read;
    let text = String::from_utf8_lossy(&received);
    assert!(
        !text.contains("HTTP/"),
        "plain HTTP got an HTTP answer: {text:?}"
    );
    assert!(!text.contains("ok"), "plain HTTP got data: {text:?}");
    if let Some(first) = received.first() {
        assert_eq!(
            *first, 0x15,
            "only a TLS alert record may come back: {received:?}"
        );
    }
    t.server.shutdown().await.unwrap();
}

/// V9.1.1: HTTPS works with the generated certificate; /healthz needs no authentication.
#[tokio::test]
async fn v9_1_1_https_healthz() {
    let t = common::spawn().await;
    let resp = t.get("/healthz", None).await;
    assert_eq!(resp.status(), 200);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["status"], "ok");
    t.server.shutdown().await.unwrap();
}

/// V9.1.2/V9.1.3: TLS 1.2 and TLS 1.3 are both accepted (older versions do not exist in rustls).
#[tokio::test]
async fn v9_1_2_tls12_and_tls13_accepted() {
    let t = common::spawn().await;
    let pem = std::fs::read(&t.server.cert_path).unwrap();
    for (min, max) in [
        (
            reqwest::tls::Version::TLS_1_2,
            reqwest::tls::Version::TLS_1_2,
        ),
        (
            reqwest::tls::Version::TLS_1_3,
            reqwest::tls::Version::TLS_1_3,
        ),
    ] {
        let client = reqwest::Client::builder()
            .add_root_certificate(reqwest::Certificate::from_pem(&pem).unwrap())
            .min_tls_version(min)
            .max_tls_version(max)
            .build()
            .unwrap();
        let resp = client.get(t.url("/healthz")).send().await.unwrap();
        assert_eq!(resp.status(), 200, "{min:?}");
    }
    t.server.shutdown().await.unwrap();
}

/// V9.1.1: the self-signed certificate is generated on first start with a private key file,
/// and reused on the next start.
#[tokio::test]
async fn v9_1_1_self_signed_certificate_generated_once_and_reused() {
    let t = common::spawn().await;
    let (cert, key) = rampart_server::self_signed_paths(t.dir.path());
    assert!(t.server.self_signed);
    assert_eq!(t.server.cert_path, cert);
    let cert_pem = std::fs::read_to_string(&cert).unwrap();
    assert!(cert_pem.starts_with("-----BEGIN CERTIFICATE-----"));
    let key_pem = std::fs::read_to_string(&key).unwrap();
    assert!(key_pem.contains("PRIVATE KEY"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&key).unwrap().permissions().mode() & 0o777;
        assert_eq!(
            mode, 0o600,
            "private key must be readable by its owner only"
        );
    }
    // Restart on the same data directory: same certificate, and the old client still trusts it.
    t.server.shutdown().await.unwrap();
    let again = common::start_server(t.dir.path(), &t.store, &t.catalog).await;
    assert_eq!(std::fs::read_to_string(&cert).unwrap(), cert_pem);
    let resp = t
        .client
        .get(format!("https://127.0.0.1:{}/healthz", again.addr.port()))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    // It is valid for "localhost" as well as 127.0.0.1.
    let resp = t
        .client
        .get(format!("https://localhost:{}/healthz", again.addr.port()))
        .send()
        .await;
    if let Ok(resp) = resp {
        assert_eq!(resp.status(), 200);
    }
    again.shutdown().await.unwrap();
}

/// A configured certificate and key replace the self-signed one.
#[tokio::test]
async fn configured_certificate_is_used() {
    common::install_crypto_provider();
    let dir = tempfile::tempdir().unwrap();
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let cert = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    let cert_path = dir.path().join("operator-cert.pem");
    let key_path = dir.path().join("operator-key.pem");
    std::fs::write(&cert_path, cert.pem()).unwrap();
    std::fs::write(&key_path, key.serialize_pem()).unwrap();

    let (store, _pg) = common::open_store(dir.path()).await;
    let catalog = std::sync::Arc::new(rampart_rules::Catalog::builtin().unwrap());
    let config = rampart_server::ServerConfig {
        data_dir: dir.path().to_path_buf(),
        listen: "127.0.0.1:0".parse().unwrap(),
        tls_cert: Some(cert_path.clone()),
        tls_key: Some(key_path),
        vault_key_file: None,
        metrics_listen: None,
        backups: None,
        allowed_ports: Vec::new(),
        public_url: None,
    };
    let server = rampart_server::start(config, store, catalog).await.unwrap();
    assert!(!server.self_signed);
    assert!(!rampart_server::self_signed_paths(dir.path()).0.exists());
    let client = common::client_for(&cert_path);
    let resp = client
        .get(format!("https://127.0.0.1:{}/healthz", server.addr.port()))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    server.shutdown().await.unwrap();
}
