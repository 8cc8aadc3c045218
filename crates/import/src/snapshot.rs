//! The Rampart JSON-lines snapshot: strict parsing and writing (docs/snapshot-format.md).

use std::collections::{BTreeMap, HashMap};
use std::io::Write;

use chrono::{DateTime, Utc};
use rampart_model::{Asset, Inventory, Provider, Relationship, ResourceType};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{ImportError, json_error_message};

const VERSION: u64 = 1;

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct Header {
    rampart_snapshot: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    generated_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    source: Option<String>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct AssetLine {
    kind: String,
    provider: String,
    account: String,
    region: String,
    #[serde(rename = "type")]
    resource_type: String,
    native_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    tags: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Value::is_null")]
    config: Value,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct RelationshipLine {
    kind: String,
    from: String,
    to: String,
    #[serde(rename = "type")]
    edge_type: String,
}

/// Strips serde's " at line 1 column N" from a typed-deserialisation error of one line.
fn field_error(e: &serde_json::Error) -> String {
    let full = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    full.strip_suffix(&suffix).unwrap_or(&full).to_string()
}

fn is_snake_case(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && s.as_bytes()[0].is_ascii_lowercase()
}

/// Parses a Rampart JSON-lines snapshot. Validates everything before returning.
pub fn parse_snapshot(
    name: &str,
    text: &str,
    observed_at: DateTime<Utc>,
) -> Result<Inventory, ImportError> {
    let mut seen_at = observed_at;
    let mut header_seen = false;
    let mut assets: Vec<Asset> = Vec::new();
    // native_id -> (asset id, line)
    let mut by_native: HashMap<String, (String, usize)> = HashMap::new();
    let mut pending_edges: Vec<(usize, RelationshipLine)> = Vec::new();

    for (index, raw_line) in text.split('\n').enumerate() {
        let line_no = index + 1;
        let line = raw_line.strip_suffix('\r').unwrap_or(raw_line);
        if line.trim().is_empty() {
            continue;
        }
        let value: Value = serde_json::from_str(line)
            .map_err(|e| ImportError::at(name, line_no, json_error_message(&e, "the line")))?;
        let Value::Object(map) = &value else {
            return Err(ImportError::at(
                name,
                line_no,
                "expected a JSON object on every line",
            ));
        };

        if !header_seen {
            if !map.contains_key("rampart_snapshot") {
                return Err(ImportError::at(
                    name,
                    line_no,
                    "missing header: the first line must be {\"rampart_snapshot\": 1, ...}",
                ));
            }
            let header: Header = serde_json::from_value(value.clone()).map_err(|e| {
                ImportError::at(name, line_no, format!("header: {}", field_error(&e)))
            })?;
            if header.rampart_snapshot != VERSION {
                return Err(ImportError::at(
                    name,
                    line_no,
                    format!(
                        "unsupported snapshot version {} (this Rampart reads version {VERSION})",
                        header.rampart_snapshot
                    ),
                ));
            }
            if let Some(generated_at) = &header.generated_at {
                seen_at = DateTime::parse_from_rfc3339(generated_at)
                    .map_err(|e| {
                        ImportError::at(
                            name,
                            line_no,
                            format!(
                                "header: generated_at {generated_at:?} is not an RFC 3339 time: {e}"
                            ),
                        )
                    })?
                    .with_timezone(&Utc);
            }
            header_seen = true;
            continue;
        }

        if map.contains_key("rampart_snapshot") {
            return Err(ImportError::at(
                name,
                line_no,
                "a second header line: only the first line may be a header",
            ));
        }
        let kind = match map.get("kind") {
            Some(Value::String(k)) => k.as_str(),
            Some(_) => return Err(ImportError::at(name, line_no, "\"kind\" must be a string")),
            None => {
                return Err(ImportError::at(
                    name,
                    line_no,
                    "missing \"kind\" (expected \"asset\" or \"relationship\")",
                ));
            }
        };
        match kind {
            "asset" => {
                let line_asset: AssetLine = serde_json::from_value(value.clone()).map_err(|e| {
                    ImportError::at(name, line_no, format!("asset: {}", field_error(&e)))
                })?;
                let asset = build_asset(name, line_no, line_asset, seen_at)?;
                if let Some((_, first)) = by_native.get(&asset.native_id) {
                    return Err(ImportError::at(
                        name,
                        line_no,
                        format!(
                            "duplicate native_id {:?} (first defined on line {first})",
                            asset.native_id
                        ),
                    ));
                }
                by_native.insert(asset.native_id.clone(), (asset.id.clone(), line_no));
                assets.push(asset);
            }
            "relationship" => {
                let edge: RelationshipLine =
                    serde_json::from_value(value.clone()).map_err(|e| {
                        ImportError::at(name, line_no, format!("relationship: {}", field_error(&e)))
                    })?;
                if !is_snake_case(&edge.edge_type) {
                    return Err(ImportError::at(
                        name,
                        line_no,
                        format!(
                            "relationship type {:?} must be snake case (e.g. \"attached_to\")",
                            edge.edge_type
                        ),
                    ));
                }
                pending_edges.push((line_no, edge));
            }
            other => {
                return Err(ImportError::at(
                    name,
                    line_no,
                    format!("unknown kind {other:?} (expected \"asset\" or \"relationship\")"),
                ));
            }
        }
    }

    if !header_seen {
        return Err(ImportError::new(
            name,
            None,
            "missing header: the file is empty; the first line must be {\"rampart_snapshot\": 1, ...}",
        ));
    }

    let mut relationships = Vec::with_capacity(pending_edges.len());
    for (line_no, edge) in pending_edges {
        let resolve = |end: &str, native: &str| {
            by_native.get(native).map(|(id, _)| id.clone()).ok_or_else(|| {
                ImportError::at(
                    name,
                    line_no,
                    format!("relationship {end} {native:?}: no asset with this native_id in the snapshot"),
                )
            })
        };
        let from = resolve("from", &edge.from)?;
        let to = resolve("to", &edge.to)?;
        relationships.push(Relationship {
            from,
            to,
            kind: edge.edge_type,
        });
    }
    relationships.sort();
    relationships.dedup();
    Ok(Inventory {
        assets,
        relationships,
    })
}

fn build_asset(
    name: &str,
    line_no: usize,
    line: AssetLine,
    seen_at: DateTime<Utc>,
) -> Result<Asset, ImportError> {
    let err = |m: String| ImportError::at(name, line_no, m);
    let provider: Provider = line
        .provider
        .parse()
        .map_err(|e: rampart_model::ModelError| err(e.to_string()))?;
    let resource_type = ResourceType::parse(&line.resource_type).map_err(|e| err(e.to_string()))?;
    if resource_type.provider() != provider {
        return Err(err(format!(
            "provider {:?} does not match type {:?} (its first segment must be the provider)",
            line.provider, line.resource_type
        )));
    }
    for (field, value) in [
        ("account", &line.account),
        ("region", &line.region),
        ("native_id", &line.native_id),
    ] {
        if value.trim().is_empty() {
            return Err(err(format!("asset: {field} must not be empty")));
        }
    }
    if !(line.config.is_object() || line.config.is_null()) {
        return Err(err("asset: config must be a JSON object".to_string()));
    }
    let config = if line.config.is_null() {
        Value::Object(serde_json::Map::new())
    } else {
        line.config
    };
    let id = Asset::make_id(
        provider,
        &line.account,
        &line.region,
        &resource_type,
        &line.native_id,
    );
    Ok(Asset {
        id,
        provider,
        account: line.account,
        region: line.region,
        name: line
            .name
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| line.native_id.clone()),
        resource_type,
        native_id: line.native_id,
        tags: line.tags,
        config,
        first_seen: seen_at,
        last_seen: seen_at,
    })
}

/// Writes an inventory as a Rampart snapshot: a header, every asset, then every relationship
/// whose two ends are in the inventory (by native_id). The inverse of [`parse_snapshot`].
///
/// A snapshot names assets by native_id, so an inventory in which two assets share one (an
/// AWS Config or Azure file can give one id two resource types) is refused with
/// [`std::io::ErrorKind::InvalidData`] before anything is written, instead of writing a file
/// that [`parse_snapshot`] would reject.
pub fn write_snapshot(inv: &Inventory, out: &mut impl Write) -> std::io::Result<()> {
    let mut seen: HashMap<&str, &Asset> = HashMap::new();
    for asset in &inv.assets {
        if let Some(first) = seen.insert(asset.native_id.as_str(), asset) {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!(
                    "two assets share native_id {:?} ({} and {}): a Rampart snapshot needs \
                     unique native ids",
                    asset.native_id,
                    first.resource_type.as_str(),
                    asset.resource_type.as_str()
                ),
            ));
        }
    }
    let generated_at = inv
        .assets
        .iter()
        .map(|a| a.last_seen)
        .max()
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
    let header = Header {
        rampart_snapshot: VERSION,
        generated_at,
        source: Some("rampart".to_string()),
    };
    serde_json::to_writer(&mut *out, &header)?;
    out.write_all(b"\n")?;
    let mut native: HashMap<&str, &str> = HashMap::new();
    for asset in &inv.assets {
        native.insert(asset.id.as_str(), asset.native_id.as_str());
        let line = AssetLine {
            kind: "asset".to_string(),
            provider: asset.provider.as_str().to_string(),
            account: asset.account.clone(),
            region: asset.region.clone(),
            resource_type: asset.resource_type.as_str().to_string(),
            native_id: asset.native_id.clone(),
            name: (asset.name != asset.native_id).then(|| asset.name.clone()),
            tags: asset.tags.clone(),
            config: asset.config.clone(),
        };
        serde_json::to_writer(&mut *out, &line)?;
        out.write_all(b"\n")?;
    }
    for rel in &inv.relationships {
        let (Some(from), Some(to)) = (native.get(rel.from.as_str()), native.get(rel.to.as_str()))
        else {
            continue;
        };
        let line = RelationshipLine {
            kind: "relationship".to_string(),
            from: (*from).to_string(),
            to: (*to).to_string(),
            edge_type: rel.kind.clone(),
        };
        serde_json::to_writer(&mut *out, &line)?;
        out.write_all(b"\n")?;
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-01T09:00:00Z")
            .expect("time")
            .with_timezone(&Utc)
    }

    const HEADER: &str =
        r#"{"rampart_snapshot": 1, "generated_at": "2026-10-31T08:00:00Z", "source": "test"}"#;
    const BUCKET: &str = r#"{"kind": "asset", "provider": "aws", "account": "111122223333", "region": "eu-west-1", "type": "aws.s3.bucket", "native_id": "arn:aws:s3:::acme-logs", "name": "acme-logs", "tags": {"env": "prod"}, "config": {"publicAccessBlock": {"blockPublicAcls": true}}}"#;
    const INSTANCE: &str = r#"{"kind": "asset", "provider": "aws", "account": "111122223333", "region": "eu-west-1", "type": "aws.ec2.instance", "native_id": "arn:aws:ec2:eu-west-1:111122223333:instance/i-0abc"}"#;
    const SG: &str = r#"{"kind": "asset", "provider": "aws", "account": "111122223333", "region": "eu-west-1", "type": "aws.ec2.security_group", "native_id": "sg-0123", "config": {}}"#;
    const EDGE: &str = r#"{"kind": "relationship", "from": "arn:aws:ec2:eu-west-1:111122223333:instance/i-0abc", "to": "sg-0123", "type": "uses"}"#;

    fn doc(lines: &[&str]) -> String {
        let mut s = lines.join("\n");
        s.push('\n');
        s
    }

    fn parse(lines: &[&str]) -> Result<Inventory, ImportError> {
        parse_snapshot("demo.jsonl", &doc(lines), now())
    }

    fn err(lines: &[&str]) -> ImportError {
        parse(lines).expect_err("expected an error")
    }

    #[test]
    fn parses_a_valid_snapshot() {
        let inv = parse(&[HEADER, BUCKET, "", INSTANCE, SG, EDGE]).expect("valid");
        assert_eq!(inv.assets.len(), 3);
        let bucket = &inv.assets[0];
        assert_eq!(bucket.name, "acme-logs");
        assert_eq!(bucket.tags.get("env").map(String::as_str), Some("prod"));
        assert_eq!(
            bucket.id,
            Asset::make_id(
                Provider::Aws,
                "111122223333",
                "eu-west-1",
                &bucket.resource_type,
                "arn:aws:s3:::acme-logs"
            )
        );
        // generated_at wins over observed_at
        assert_eq!(bucket.first_seen.to_rfc3339(), "2026-10-31T08:00:00+00:00");
        assert_eq!(bucket.first_seen, bucket.last_seen);
        // name defaults to native_id, config to {}
        assert_eq!(inv.assets[1].name, inv.assets[1].native_id);
        assert!(inv.assets[1].config.is_object());
        assert_eq!(inv.relationships.len(), 1);
        assert_eq!(inv.relationships[0].from, inv.assets[1].id);
        assert_eq!(inv.relationships[0].to, inv.assets[2].id);
        assert_eq!(inv.relationships[0].kind, "uses");
    }

    #[test]
    fn observed_at_used_without_generated_at() {
        let inv = parse(&[r#"{"rampart_snapshot": 1}"#, BUCKET]).expect("valid");
        assert_eq!(inv.assets[0].first_seen, now());
    }

    #[test]
    fn crlf_lines_are_accepted() {
        let text = format!("{HEADER}\r\n{BUCKET}\r\n");
        let inv = parse_snapshot("demo.jsonl", &text, now()).expect("valid");
        assert_eq!(inv.assets.len(), 1);
    }

    #[test]
    fn truncated_line_names_its_line() {
        let cut = &BUCKET[..BUCKET.len() - 5];
        let e = err(&[HEADER, INSTANCE, "", cut]);
        assert_eq!(e.line, Some(4));
        assert!(
            e.message.starts_with("invalid JSON: EOF while parsing"),
            "{e}"
        );
        assert!(e.message.ends_with("(the line is cut off?)"), "{e}");
        assert!(
            e.to_string().starts_with("demo.jsonl:4: invalid JSON"),
            "{e}"
        );
    }

    #[test]
    fn file_cut_without_final_newline() {
        let text = format!("{HEADER}\n{BUCKET}\n{{\"kind\": \"asset\", \"provider\": \"aw");
        let e = parse_snapshot("demo.jsonl", &text, now()).expect_err("cut");
        assert_eq!(e.line, Some(3));
        assert!(e.message.contains("cut off"), "{e}");
    }

    #[test]
    fn garbage_json_is_reported_with_column() {
        let e = err(&[HEADER, "{\"kind\": asset}"]);
        assert_eq!(e.line, Some(2));
        assert!(e.message.contains("column"), "{e}");
    }

    #[test]
    fn unknown_kind() {
        let e = err(&[HEADER, BUCKET, &BUCKET.replace("\"asset\"", "\"assett\"")]);
        assert_eq!(e.line, Some(3));
        assert!(e.message.starts_with("unknown kind \"assett\""), "{e}");
    }

    #[test]
    fn missing_kind_and_non_object() {
        let e = err(&[HEADER, r#"{"provider": "aws"}"#]);
        assert!(e.message.contains("missing \"kind\""), "{e}");
        let e = err(&[HEADER, "[1, 2]"]);
        assert!(e.message.contains("JSON object"), "{e}");
        assert_eq!(e.line, Some(2));
    }

    #[test]
    fn missing_header() {
        let e = err(&[BUCKET]);
        assert_eq!(e.line, Some(1));
        assert!(e.message.starts_with("missing header"), "{e}");
        let e = parse_snapshot("demo.jsonl", "\n\n", now()).expect_err("empty");
        assert!(e.message.starts_with("missing header"), "{e}");
        assert_eq!(e.line, None);
    }

    #[test]
    fn bad_header() {
        let e = err(&[r#"{"rampart_snapshot": 2}"#]);
        assert!(e.message.contains("unsupported snapshot version 2"), "{e}");
        let e = err(&[r#"{"rampart_snapshot": 1, "generated": "x"}"#]);
        assert!(e.message.contains("unknown field `generated`"), "{e}");
        let e = err(&[r#"{"rampart_snapshot": 1, "generated_at": "yesterday"}"#]);
        assert!(e.message.contains("RFC 3339"), "{e}");
        let e = err(&[HEADER, HEADER]);
        assert!(e.message.contains("second header"), "{e}");
        assert_eq!(e.line, Some(2));
    }

    #[test]
    fn unknown_field_on_asset_line() {
        let e = err(&[HEADER, &BUCKET.replace("\"tags\"", "\"labels\"")]);
        assert_eq!(e.line, Some(2));
        assert!(e.message.contains("unknown field `labels`"), "{e}");
    }

    #[test]
    fn missing_field_on_asset_line() {
        let e = err(&[HEADER, r#"{"kind": "asset", "provider": "aws"}"#]);
        assert!(e.message.contains("missing field"), "{e}");
    }

    #[test]
    fn duplicate_native_id() {
        let e = err(&[HEADER, BUCKET, SG, BUCKET]);
        assert_eq!(e.line, Some(4));
        assert!(
            e.message.contains(
                "duplicate native_id \"arn:aws:s3:::acme-logs\" (first defined on line 2)"
            ),
            "{e}"
        );
    }

    #[test]
    fn relationship_to_unknown_native_id() {
        let e = err(&[HEADER, INSTANCE, &EDGE.replace("sg-0123", "sg-404")]);
        assert_eq!(e.line, Some(3));
        assert!(e.message.contains("\"sg-404\""), "{e}");
        // forward references are fine
        parse(&[HEADER, EDGE, INSTANCE, SG]).expect("forward reference");
    }

    #[test]
    fn relationship_type_must_be_snake_case() {
        let e = err(&[
            HEADER,
            INSTANCE,
            SG,
            &EDGE.replace("\"uses\"", "\"Uses It\""),
        ]);
        assert!(e.message.contains("snake case"), "{e}");
    }

    #[test]
    fn provider_type_mismatch() {
        let e = err(&[
            HEADER,
            &BUCKET.replace("\"provider\": \"aws\"", "\"provider\": \"gcp\""),
        ]);
        assert!(e.message.contains("does not match type"), "{e}");
        let e = err(&[
            HEADER,
            &BUCKET.replace("\"provider\": \"aws\"", "\"provider\": \"ibm\""),
        ]);
        assert!(e.message.contains("invalid provider"), "{e}");
    }

    #[test]
    fn invalid_resource_type() {
        for bad in ["aws", "AWS.S3.Bucket", "aws..bucket", "aws.s3.Bucket"] {
            let e = err(&[HEADER, &BUCKET.replace("aws.s3.bucket", bad)]);
            assert_eq!(e.line, Some(2));
            assert!(e.message.contains("invalid resource type"), "{bad}: {e}");
        }
    }

    #[test]
    fn config_must_be_object_and_ids_non_empty() {
        let e = err(&[
            HEADER,
            &BUCKET.replace(r#"{"publicAccessBlock": {"blockPublicAcls": true}}"#, "[1]"),
        ]);
        assert!(e.message.contains("config must be a JSON object"), "{e}");
        let e = err(&[HEADER, &BUCKET.replace("111122223333", "")]);
        assert!(e.message.contains("account must not be empty"), "{e}");
        let e = err(&[
            HEADER,
            &BUCKET.replace(r#"{"env": "prod"}"#, r#"{"env": 1}"#),
        ]);
        assert!(e.message.contains("invalid type"), "{e}");
    }

    #[test]
    fn round_trip() {
        let inv = parse(&[HEADER, BUCKET, INSTANCE, SG, EDGE]).expect("valid");
        let mut out = Vec::new();
        write_snapshot(&inv, &mut out).expect("write");
        let text = String::from_utf8(out).expect("utf8");
        assert_eq!(text.lines().count(), 5);
        let again = parse_snapshot("out.jsonl", &text, now()).expect("reparse");
        assert_eq!(again, inv);
    }

    #[test]
    fn write_skips_dangling_relationships() {
        let mut inv = parse(&[HEADER, INSTANCE, SG, EDGE]).expect("valid");
        inv.relationships.push(Relationship {
            from: "ast_nope".into(),
            to: inv.assets[0].id.clone(),
            kind: "uses".into(),
        });
        let mut out = Vec::new();
        write_snapshot(&inv, &mut out).expect("write");
        let text = String::from_utf8(out).expect("utf8");
        let again = parse_snapshot("out.jsonl", &text, now()).expect("reparse");
        assert_eq!(again.relationships.len(), 1);
    }

    /// Found by the `aws_config` and `azure` fuzz targets: one native id under two resource
    /// types imports as two assets, which the writer used to write as a snapshot that does not
    /// read back ("duplicate native_id"). It now refuses such an inventory and writes nothing.
    #[test]
    fn write_refuses_a_native_id_shared_by_two_assets() {
        let mut inv = parse(&[HEADER, INSTANCE, SG]).expect("valid");
        let mut twin = inv.assets[1].clone();
        twin.native_id = inv.assets[0].native_id.clone();
        twin.id = "ast_twin".into();
        inv.assets.push(twin);
        let mut out = Vec::new();
        let err = write_snapshot(&inv, &mut out).expect_err("must refuse");
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidData);
        assert!(err.to_string().contains("share native_id"), "{err}");
        assert!(out.is_empty(), "nothing is written");
    }
}
