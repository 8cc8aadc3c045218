//! IAM policy documents: decoding (AWS Config stores them URL-encoded or as JSON strings) and
//! Rampart's normal form (docs/asset-types.md, "Policy documents").
//!
//! Normal form: `Statement` is always a list; `Action`, `NotAction`, `Resource`, `NotResource`
//! are always lists of strings; each `Principal` map value is a list of strings (`"*"` stays
//! `"*"`); each condition value is a list of strings (`true` becomes `"true"`).

use serde_json::{Map, Value};

/// Decodes a policy document given as a string: URL-encoded JSON (AWS Config IAM items) or
/// plain JSON (S3 bucket policies). Returns the normalised document.
pub fn decode_document(text: &str) -> Result<Value, String> {
    let trimmed = text.trim();
    let json_text = if trimmed.starts_with('{') {
        trimmed.to_string()
    } else {
        percent_encoding::percent_decode_str(&trimmed.replace('+', " "))
            .decode_utf8()
            .map_err(|e| format!("policy document is not valid URL-encoded UTF-8: {e}"))?
            .into_owned()
    };
    let value: Value = serde_json::from_str(&json_text)
        .map_err(|e| format!("policy document is not valid JSON: {e}"))?;
    Ok(normalise_document(value))
}

/// Decodes `value` in place when it is a string holding a document; normalises it when it is
/// already an object. Leaves anything else alone.
pub fn decode_in_place(value: &mut Value) -> Result<(), String> {
    match value {
        Value::String(s) => {
            *value = decode_document(s)?;
            Ok(())
        }
        Value::Object(_) => {
            *value = normalise_document(value.take());
            Ok(())
        }
        _ => Ok(()),
    }
}

fn string_list(value: Value) -> Value {
    match value {
        Value::Array(items) => Value::Array(items.into_iter().map(scalar_to_string).collect()),
        Value::Null => Value::Array(Vec::new()),
        other => Value::Array(vec![scalar_to_string(other)]),
    }
}

fn scalar_to_string(value: Value) -> Value {
    match value {
        Value::Bool(b) => Value::String(b.to_string()),
        Value::Number(n) => Value::String(n.to_string()),
        other => other,
    }
}

/// Brings a parsed policy document into Rampart's normal form.
pub fn normalise_document(doc: Value) -> Value {
    let Value::Object(mut map) = doc else {
        return doc;
    };
    if let Some(statement) = map.remove("Statement") {
        let list = match statement {
            Value::Array(items) => items,
            other => vec![other],
        };
        map.insert(
            "Statement".to_string(),
            Value::Array(list.into_iter().map(normalise_statement).collect()),
        );
    }
    Value::Object(map)
}

fn normalise_statement(statement: Value) -> Value {
    let Value::Object(map) = statement else {
        return statement;
    };
    let mut out = Map::new();
    for (key, value) in map {
        let value = match key.as_str() {
            "Action" | "NotAction" | "Resource" | "NotResource" => string_list(value),
            "Principal" | "NotPrincipal" => match value {
                Value::Object(p) => {
                    Value::Object(p.into_iter().map(|(k, v)| (k, string_list(v))).collect())
                }
                other => other,
            },
            "Condition" => match value {
                Value::Object(ops) => Value::Object(
                    ops.into_iter()
                        .map(|(op, keys)| {
                            let keys = match keys {
                                Value::Object(k) => Value::Object(
                                    k.into_iter().map(|(k, v)| (k, string_list(v))).collect(),
                                ),
                                other => other,
                            };
                            (op, keys)
                        })
                        .collect(),
                ),
                other => other,
            },
            _ => value,
        };
        out.insert(key, value);
    }
    Value::Object(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn decodes_url_encoded_documents() {
        let encoded = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%7B%22Effect%22%3A%22Allow%22%2C%22Action%22%3A%22%2A%22%2C%22Resource%22%3A%22%2A%22%7D%7D";
        let doc = decode_document(encoded).expect("decode");
        assert_eq!(
            doc,
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["*"], "Resource": ["*"]}]})
        );
    }

    #[test]
    fn plain_json_documents_and_conditions() {
        let text = r#"{"Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":["arn:aws:s3:::b","arn:aws:s3:::b/*"],"Condition":{"Bool":{"aws:SecureTransport":false}}},{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::1:root"},"Action":"s3:GetObject","Resource":"*"}]}"#;
        let doc = decode_document(text).expect("decode");
        assert_eq!(doc["Statement"][0]["Principal"], json!("*"));
        assert_eq!(doc["Statement"][0]["Action"], json!(["s3:*"]));
        assert_eq!(
            doc["Statement"][0]["Condition"]["Bool"]["aws:SecureTransport"],
            json!(["false"])
        );
        assert_eq!(
            doc["Statement"][1]["Principal"]["AWS"],
            json!(["arn:aws:iam::1:root"])
        );
    }

    #[test]
    fn invalid_documents() {
        assert!(decode_document("%7Bnot json").is_err());
        assert!(decode_document("%FF%FE").is_err());
    }

    #[test]
    fn in_place() {
        let mut v = json!("{\"Statement\": {\"Effect\": \"Allow\"}}");
        decode_in_place(&mut v).expect("decode");
        assert_eq!(v, json!({"Statement": [{"Effect": "Allow"}]}));
        let mut n = json!(null);
        decode_in_place(&mut n).expect("null ok");
        assert_eq!(n, json!(null));
    }
}
