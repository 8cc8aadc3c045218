//! Conversions from SDK values to normalised JSON.

use aws_smithy_types::DateTime as SdkTime;
use aws_smithy_types::date_time::Format;
use serde_json::Value;

/// RFC 3339 string of an SDK time, or null.
pub fn ts(t: Option<&SdkTime>) -> Value {
    t.and_then(|t| t.fmt(Format::DateTime).ok())
        .map(Value::String)
        .unwrap_or(Value::Null)
}

/// A string, or null.
pub fn s(v: Option<&str>) -> Value {
    v.map(|s| Value::String(s.to_string()))
        .unwrap_or(Value::Null)
}

/// An SDK enum as its wire string, or null.
pub fn e<T: AsRef<str>>(v: Option<&T>) -> Value {
    v.map(|x| Value::String(x.as_ref().to_string()))
        .unwrap_or(Value::Null)
}

pub fn b(v: Option<bool>) -> Value {
    v.map(Value::Bool).unwrap_or(Value::Null)
}

pub fn i(v: Option<i32>) -> Value {
    v.map(Value::from).unwrap_or(Value::Null)
}

/// A list of strings.
pub fn strs<S: AsRef<str>>(v: &[S]) -> Value {
    Value::Array(
        v.iter()
            .map(|x| Value::String(x.as_ref().to_string()))
            .collect(),
    )
}

/// Parses a policy document (plain or URL-encoded JSON) into Rampart's normal form.
pub fn document(text: Option<&str>) -> Value {
    match text {
        Some(t) => rampart_import::policy::decode_document(t).unwrap_or(Value::Null),
        None => Value::Null,
    }
}

/// Removes null values from objects, recursively (optional fields are absent, never null).
pub fn strip_nulls(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, strip_nulls(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.into_iter().map(strip_nulls).collect()),
        other => other,
    }
}

/// The whole chain of an error's sources on one line (the SDK's top-level message alone is
/// often just "service error").
pub fn error_message(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}

/// The service's error code of a failed call (`NoSuchEntity`, `AccessDenied`...).
pub fn code<E, R>(e: &aws_sdk_sts::error::SdkError<E, R>) -> Option<&str>
where
    E: aws_sdk_sts::error::ProvideErrorMetadata,
{
    e.as_service_error().and_then(|s| s.code())
}

/// Tags of the common `[{Key, Value}]` shape.
pub fn tags<T>(
    list: &[T],
    k: impl Fn(&T) -> Option<&str>,
    v: impl Fn(&T) -> Option<&str>,
) -> Vec<(String, String)> {
    list.iter()
        .filter_map(|t| Some((k(t)?.to_string(), v(t).unwrap_or("").to_string())))
        .collect()
}
