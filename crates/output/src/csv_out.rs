//! CSV (RFC 4180): a header row, then one row per item except not-applicable ones.
//!
//! Spreadsheet programs execute a cell that starts with `=`, `+`, `-` or `@` as a formula, and
//! resource names, tags and reasons come from the customer's cloud, which an attacker may
//! control. Every cell that starts with one of those characters (or with a tab or carriage
//! return, which some programs skip before looking for a formula) is prefixed with a single
//! quote, as OWASP recommends for CSV injection.

use rampart_model::FindingStatus;

use crate::{OutputError, Report, item_finding_id, sorted_items};

/// The header row, in column order.
pub const CSV_HEADER: [&str; 12] = [
    "finding_id",
    "status",
    "severity",
    "control_id",
    "control_title",
    "provider",
    "account",
    "region",
    "resource_type",
    "resource_id",
    "resource_name",
    "reason",
];

/// Makes a cell safe to open in a spreadsheet: a value starting with a formula trigger gets a
/// leading `'`. Other values are returned unchanged.
pub fn guard_cell(value: &str) -> std::borrow::Cow<'_, str> {
    match value.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{value}").into(),
        _ => value.into(),
    }
}

pub(crate) fn write(report: &Report, out: &mut dyn std::io::Write) -> Result<(), OutputError> {
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(&mut *out);
    writer.write_record(CSV_HEADER)?;
    for item in sorted_items(report) {
        if item.status == FindingStatus::NotApplicable {
            continue;
        }
        let asset = item.asset;
        let control = item.control;
        let id = item_finding_id(report, item);
        let row = [
            id.as_str(),
            item.status.as_str(),
            control.severity.as_str(),
            &control.id,
            &control.title,
            asset.provider.as_str(),
            &asset.account,
            &asset.region,
            asset.resource_type.as_str(),
            &asset.native_id,
            &asset.name,
            item.reason,
        ];
        writer.write_record(row.iter().map(|cell| guard_cell(cell).into_owned()))?;
    }
    writer.flush()?;
    Ok(())
}
