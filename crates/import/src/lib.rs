//! Rampart importers.
//!
//! Turns files into an [`Inventory`]: the Rampart JSON-lines snapshot (docs/snapshot-format.md)
//! the configuration snapshot that AWS Config delivers to S3, Google Cloud Asset Inventory
//! exports and listings (docs/asset-types-gcp.md), and Azure exports: Azure Resource Graph query
//! output and Microsoft Graph (Entra ID) pages (docs/asset-types-azure.md); any of them
//! optionally gzipped.
//!
//! Architecture invariant: an import is all-or-nothing. Every function here either returns a
//! complete, validated inventory or an [`ImportError`] naming the file (and the 1-based line where
//! one is known); nothing partial ever escapes. No I/O happens here except in [`load_files`].

use std::io::Read;
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use rampart_model::Inventory;

mod awsconfig;
mod azure;
mod gcp;
pub mod policy;
mod snapshot;

pub use awsconfig::parse_aws_config;
pub use azure::{AzureDoc, build_azure, map_arm_type, parse_azure, parse_azure_doc};
pub use gcp::{
    map_asset_type as map_gcp_asset_type, mapped_asset_types as gcp_mapped_asset_types,
    parse_gcp_assets, parse_gcp_files,
};
pub use snapshot::{parse_snapshot, write_snapshot};

/// The file formats Rampart can import.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Rampart's own JSON-lines snapshot (docs/snapshot-format.md).
    RampartSnapshot,
    /// An AWS Config configuration snapshot (or configuration history) JSON document.
    AwsConfigSnapshot,
    /// A Google Cloud Asset Inventory export (`gcloud asset export`, JSON lines) or listing
    /// (`gcloud asset list --format=json`, a JSON array).
    GcpAssetInventory,
    /// Azure: Resource Graph output (`az graph query -o json`, or its `data` array) or Microsoft
    /// Graph (Entra ID) pages and arrays.
    Azure,
}

/// An import failure: the file, the 1-based line when known, and what is wrong.
///
/// Displays as `FILE:LINE: message`, or `FILE: message` when no line applies.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}{}: {message}", fmt_line(.line))]
pub struct ImportError {
    pub file: String,
    pub line: Option<usize>,
    pub message: String,
}

fn fmt_line(line: &Option<usize>) -> String {
    match line {
        Some(l) => format!(":{l}"),
        None => String::new(),
    }
}

impl ImportError {
    pub(crate) fn new(file: &str, line: Option<usize>, message: impl Into<String>) -> Self {
        ImportError {
            file: file.to_string(),
            line,
            message: message.into(),
        }
    }

    pub(crate) fn at(file: &str, line: usize, message: impl Into<String>) -> Self {
        Self::new(file, Some(line), message)
    }
}

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
/// How much of a (decompressed) file [`detect_format`] looks at.
const SNIFF_LIMIT: u64 = 64 * 1024;

fn is_gzip(bytes: &[u8]) -> bool {
    bytes.starts_with(&GZIP_MAGIC)
}

/// Returns the file's text: gunzipped when it starts with the gzip magic, BOM stripped,
/// checked to be UTF-8.
fn decode_text(name: &str, bytes: &[u8]) -> Result<String, ImportError> {
    let raw: Vec<u8> = if is_gzip(bytes) {
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(bytes)
            .read_to_end(&mut out)
            .map_err(|e| ImportError::new(name, None, format!("invalid gzip data: {e}")))?;
        out
    } else {
        bytes.to_vec()
    };
    to_text(name, raw)
}

fn to_text(name: &str, raw: Vec<u8>) -> Result<String, ImportError> {
    let mut text = String::from_utf8(raw).map_err(|e| {
        let valid = e.utf8_error().valid_up_to();
        let bytes = e.as_bytes();
        let line = bytes[..valid].iter().filter(|&&b| b == b'\n').count() + 1;
        ImportError::at(
            name,
            line,
            format!("the file is not UTF-8 text (invalid byte at offset {valid})"),
        )
    })?;
    if text.starts_with('\u{feff}') {
        text.remove(0);
    }
    Ok(text)
}

/// Works out which format a file is in from its name and its first bytes (gzip is looked through).
pub fn detect_format(name: &str, bytes: &[u8]) -> Result<Format, ImportError> {
    let head: Vec<u8> = if is_gzip(bytes) {
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(bytes)
            .take(SNIFF_LIMIT)
            .read_to_end(&mut out)
            .map_err(|e| ImportError::new(name, None, format!("invalid gzip data: {e}")))?;
        out
    } else {
        bytes[..bytes.len().min(SNIFF_LIMIT as usize)].to_vec()
    };
    // The head may end inside a multi-byte character: decode lossily for sniffing only.
    let text = String::from_utf8_lossy(&head);
    let text = text.trim_start_matches('\u{feff}');
    let first_line = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    let first_line = first_line.trim();
    if first_line.starts_with('{') && first_line.contains("\"rampart_snapshot\"") {
        return Ok(Format::RampartSnapshot);
    }
    if text.contains("\"configurationItems\"") || text.contains("\"baseConfigurationItems\"") {
        return Ok(Format::AwsConfigSnapshot);
    }
    if gcp::looks_like_cai(text) {
        return Ok(Format::GcpAssetInventory);
    }
    if azure::sniff(name, text) {
        return Ok(Format::Azure);
    }
    let lower = name.to_ascii_lowercase();
    let stem = lower.strip_suffix(".gz").unwrap_or(&lower);
    if stem.ends_with(".jsonl") || stem.ends_with(".ndjson") {
        return Ok(Format::RampartSnapshot);
    }
    if text.trim().is_empty() {
        return Err(ImportError::new(name, None, "the file is empty"));
    }
    Err(ImportError::new(
        name,
        None,
        "unrecognised format: expected a Rampart snapshot (JSON lines starting with \
         {\"rampart_snapshot\": 1}), an AWS Config snapshot (JSON with \"configurationItems\"), \
         a Cloud Asset Inventory export (JSON lines or array of assets with \"asset_type\"), \
         Azure Resource Graph output (JSON with \"data\" rows) or a Microsoft Graph export \
         (JSON with \"@odata.context\")",
    ))
}

/// Parses one file of either format (detected), gunzipping it first when needed.
pub fn parse_bytes(
    name: &str,
    bytes: &[u8],
    observed_at: DateTime<Utc>,
) -> Result<Inventory, ImportError> {
    let format = detect_format(name, bytes)?;
    let text = decode_text(name, bytes)?;
    match format {
        Format::RampartSnapshot => parse_snapshot(name, &text, observed_at),
        Format::AwsConfigSnapshot => parse_aws_config(name, &text, observed_at),
        Format::GcpAssetInventory => parse_gcp_assets(name, &text, observed_at),
        Format::Azure => parse_azure(name, &text, observed_at),
    }
}

/// Reads, validates and merges several files. Any error in any file fails the whole load.
///
/// Cloud Asset Inventory files are parsed together, so that the RESOURCE and IAM_POLICY exports
/// of the same assets (written to separate files) merge onto one asset each; Azure files alike.
pub fn load_files(paths: &[PathBuf], observed_at: DateTime<Utc>) -> Result<Inventory, ImportError> {
    let mut inventory = Inventory::default();
    let mut cai: Vec<(String, String)> = Vec::new();
    // Azure files are built together: Entra objects, registration reports and tenant policies
    // of one tenant usually arrive in separate files and refer to each other.
    let mut azure_docs = Vec::new();
    for path in paths {
        let name = path.display().to_string();
        let bytes = std::fs::read(path)
            .map_err(|e| ImportError::new(&name, None, format!("cannot read the file: {e}")))?;
        match detect_format(&name, &bytes)? {
            Format::GcpAssetInventory => {
                let text = decode_text(&name, &bytes)?;
                cai.push((name, text));
                continue;
            }
            Format::Azure => {
                let text = decode_text(&name, &bytes)?;
                azure_docs.push(azure::parse_doc(&name, &text)?);
                continue;
            }
            Format::RampartSnapshot | Format::AwsConfigSnapshot => {}
        }
        let parsed = parse_bytes(&name, &bytes, observed_at)?;
        inventory.merge(parsed);
    }
    if !cai.is_empty() {
        let files: Vec<(&str, &str)> = cai.iter().map(|(n, t)| (n.as_str(), t.as_str())).collect();
        inventory.merge(parse_gcp_files(&files, observed_at)?);
    }
    if !azure_docs.is_empty() {
        inventory.merge(azure::build(azure_docs, observed_at)?);
    }
    Ok(inventory)
}

/// Formats a serde_json error without its " at line L column C" suffix (the caller places the
/// line itself), adding a hint when the input simply ended too early.
pub(crate) fn json_error_message(e: &serde_json::Error, what: &str) -> String {
    let full = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    let base = full.strip_suffix(&suffix).unwrap_or(&full);
    if e.is_eof() {
        format!("invalid JSON: {base} ({what} is cut off?)")
    } else {
        format!("invalid JSON: {base} (column {})", e.column())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::io::Write;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-01T09:00:00Z")
            .expect("time")
            .with_timezone(&Utc)
    }

    const SNAP: &str = concat!(
        "{\"rampart_snapshot\": 1}\n",
        "{\"kind\": \"asset\", \"provider\": \"aws\", \"account\": \"1\", \"region\": \"us-east-1\", ",
        "\"type\": \"aws.s3.bucket\", \"native_id\": \"arn:aws:s3:::b\"}\n"
    );

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(bytes).expect("write");
        enc.finish().expect("finish")
    }

    #[test]
    fn display_with_and_without_line() {
        assert_eq!(
            ImportError::at("demo.jsonl", 17, "boom").to_string(),
            "demo.jsonl:17: boom"
        );
        assert_eq!(
            ImportError::new("demo.jsonl", None, "boom").to_string(),
            "demo.jsonl: boom"
        );
    }

    #[test]
    fn detects_formats() {
        assert_eq!(
            detect_format("x.jsonl", SNAP.as_bytes()),
            Ok(Format::RampartSnapshot)
        );
        assert_eq!(
            detect_format("x.json", SNAP.as_bytes()),
            Ok(Format::RampartSnapshot)
        );
        let cfg = br#"{"fileVersion":"1.0","configurationItems":[]}"#;
        assert_eq!(detect_format("x.json", cfg), Ok(Format::AwsConfigSnapshot));
        assert_eq!(
            detect_format("x.json.gz", &gzip(cfg)),
            Ok(Format::AwsConfigSnapshot)
        );
        assert!(detect_format("x.json", b"{\"hello\": 1}").is_err());
        assert!(detect_format("x.json", b"   ").is_err());
        // A .jsonl without a header is still routed to the snapshot parser (which explains).
        assert_eq!(
            detect_format("x.jsonl", b"{\"kind\":\"asset\"}"),
            Ok(Format::RampartSnapshot)
        );
    }

    #[test]
    fn parses_gzipped_files() {
        let inv = parse_bytes("s.jsonl.gz", &gzip(SNAP.as_bytes()), now()).expect("parse");
        assert_eq!(inv.assets.len(), 1);
        let cfg = br#"{"fileVersion":"1.0","configurationItems":[{"configurationItemStatus":"OK","resourceType":"AWS::S3::Bucket","resourceId":"b","resourceName":"b","awsAccountId":"1","awsRegion":"us-east-1","ARN":"arn:aws:s3:::b","configuration":{"name":"b"},"supplementaryConfiguration":{}}]}"#;
        let inv = parse_bytes("c.json.gz", &gzip(cfg), now()).expect("parse");
        assert_eq!(inv.assets.len(), 1);
        assert_eq!(inv.assets[0].resource_type.as_str(), "aws.s3.bucket");
    }

    #[test]
    fn corrupt_gzip_is_an_error() {
        let mut bytes = gzip(SNAP.as_bytes());
        bytes.truncate(bytes.len() / 2);
        let err = parse_bytes("s.jsonl.gz", &bytes, now()).expect_err("cut gzip");
        assert!(err.message.contains("gzip"), "{err}");
    }

    #[test]
    fn non_utf8_reports_line() {
        let mut bytes = SNAP.as_bytes().to_vec();
        bytes.extend_from_slice(b"{\"kind\": \"asset\xff\"}\n");
        let err = parse_bytes("s.jsonl", &bytes, now()).expect_err("bad utf8");
        assert_eq!(err.line, Some(3));
    }

    #[test]
    fn bom_is_ignored() {
        let text = format!("\u{feff}{SNAP}");
        let inv = parse_bytes("s.jsonl", text.as_bytes(), now()).expect("parse");
        assert_eq!(inv.assets.len(), 1);
    }

    #[test]
    fn load_files_merges_and_fails_whole() {
        let dir = tempfile::tempdir().expect("tempdir");
        let a = dir.path().join("a.jsonl");
        let b = dir.path().join("b.jsonl");
        std::fs::write(&a, SNAP).expect("write");
        std::fs::write(&b, SNAP.replace("arn:aws:s3:::b", "arn:aws:s3:::c")).expect("write");
        let inv = load_files(&[a.clone(), b.clone()], now()).expect("load");
        assert_eq!(inv.assets.len(), 2);

        let bad = dir.path().join("bad.jsonl");
        std::fs::write(&bad, "{\"rampart_snapshot\": 1}\n{\"kind\": \"asset\"").expect("write");
        let err = load_files(&[a, bad, b], now()).expect_err("bad file");
        assert!(err.file.ends_with("bad.jsonl"));
        assert_eq!(err.line, Some(2));

        let missing = dir.path().join("nope.jsonl");
        let err = load_files(&[missing], now()).expect_err("missing");
        assert!(err.message.contains("cannot read"));
    }

    #[test]
    fn bundled_samples_import() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../content/samples");
        for name in ["demo.jsonl", "aws-config-snapshot.json"] {
            let path = root.join(name);
            if !path.exists() {
                continue;
            }
            let inv = load_files(&[path], now()).expect(name);
            assert!(!inv.assets.is_empty(), "{name}");
            assert!(!inv.relationships.is_empty(), "{name}");
        }
    }
}
