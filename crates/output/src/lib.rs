//! Rampart's export formats.
//!
//! One entry point, [`write`], renders a [`Report`] (the evaluated items of one workspace) in one
//! of the [`Format`]s:
//!
//! | format | what | which items |
//! | --- | --- | --- |
//! | `table` | for people, in a terminal | failing items grouped by severity, errors, a summary line |
//! | `json` | Rampart's own JSON document | every item except not-applicable, plus a summary |
//! | `ocsf` | JSON array of OCSF 1.3.0 Detection Finding records | every item except not-applicable |
//! | `sarif` | SARIF 2.1.0 log, one run | failing items as results, errors as notifications |
//! | `csv` | RFC 4180, one header row | every item except not-applicable |
//!
//! Every format sorts its items the same way — severity (critical first), then control id, then
//! asset id — so that the same report always renders to the same bytes. The finding id in every
//! format is [`rampart_model::finding_id`] of workspace, control and asset: stable across scans.
//!
//! Field-by-field mappings and the reasons behind them are in `docs/output-formats.md`.
//!
//! ```
//! use rampart_output::{Format, Report};
//!
//! let report = Report {
//!     workspace: "acme",
//!     generated_at: chrono::Utc::now(),
//!     product_version: "0.1.0",
//!     items: Vec::new(),
//! };
//! let mut out = Vec::new();
//! rampart_output::write("table".parse::<Format>()?, &report, &mut out, false)?;
//! let text = String::from_utf8(out)?;
//! assert!(text.ends_with("0 evaluated in workspace acme: 0 fail, 0 pass, 0 error, 0 n.a.\n"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Architecture invariant: this crate does no I/O of its own beyond writing to the `out` it is
//! given, and knows nothing about storage or evaluation.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use rampart_model::{Asset, Control, FindingStatus, Severity};

pub mod compliance;
mod csv_out;
mod json_out;
mod ocsf;
pub use ocsf::{OCSF_VERSION, record_json as ocsf_record_json};
mod pdf;
mod sarif;
mod table;

pub use csv_out::{CSV_HEADER, guard_cell};
pub use sarif::{FINGERPRINT_KEY, SARIF_SCHEMA_URI, sarif_level, security_severity};

/// Product name written into OCSF metadata, SARIF's tool driver and the JSON document.
pub const PRODUCT_NAME: &str = "Rampart";

/// An export format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    Table,
    Json,
    Ocsf,
    Sarif,
    Csv,
}

impl Format {
    pub const ALL: [Format; 5] = [
        Format::Table,
        Format::Json,
        Format::Ocsf,
        Format::Sarif,
        Format::Csv,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Format::Table => "table",
            Format::Json => "json",
            Format::Ocsf => "ocsf",
            Format::Sarif => "sarif",
            Format::Csv => "csv",
        }
    }

    /// Conventional file extension (without the dot) for a file of this format.
    pub fn file_extension(self) -> &'static str {
        match self {
            Format::Table => "txt",
            Format::Json => "json",
            Format::Ocsf => "ocsf.json",
            Format::Sarif => "sarif",
            Format::Csv => "csv",
        }
    }

    /// Media type to use when serving this format over HTTP.
    pub fn media_type(self) -> &'static str {
        match self {
            Format::Table => "text/plain; charset=utf-8",
            Format::Json | Format::Ocsf => "application/json",
            Format::Sarif => "application/sarif+json",
            Format::Csv => "text/csv; charset=utf-8; header=present",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Format {
    type Err = OutputError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let lower = s.trim().to_ascii_lowercase();
        Format::ALL
            .into_iter()
            .find(|f| f.as_str() == lower)
            .ok_or_else(|| OutputError::UnknownFormat(s.to_string()))
    }
}

/// One evaluated (control, asset) pair.
#[derive(Debug, Clone, Copy)]
pub struct ReportItem<'a> {
    pub control: &'a Control,
    pub asset: &'a Asset,
    pub status: FindingStatus,
    /// The control's failure reason, the evaluation error, or empty on pass.
    pub reason: &'a str,
}

/// Everything an export needs: the evaluated items of one workspace at one point in time.
#[derive(Debug, Clone)]
pub struct Report<'a> {
    /// Workspace identifier; part of every finding id.
    pub workspace: &'a str,
    pub generated_at: DateTime<Utc>,
    /// Rampart's version, written into OCSF metadata and the SARIF tool driver.
    pub product_version: &'a str,
    pub items: Vec<ReportItem<'a>>,
}

/// Errors raised while rendering a report.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error("unknown output format {0:?}: expected one of table, json, ocsf, sarif, csv")]
    UnknownFormat(String),
    #[error("unknown report format {0:?}: expected html or pdf")]
    UnknownReportFormat(String),
    #[error("writing output: {0}")]
    Io(#[from] std::io::Error),
    #[error("encoding JSON output: {0}")]
    Json(#[from] serde_json::Error),
    #[error("writing CSV output: {0}")]
    Csv(#[from] csv::Error),
}

/// Renders `report` in `format` to `out`. `color` adds ANSI colours to the table format and is
/// ignored by the machine-readable formats.
pub fn write(
    format: Format,
    report: &Report,
    out: &mut dyn std::io::Write,
    color: bool,
) -> Result<(), OutputError> {
    match format {
        Format::Table => table::write(report, out, color),
        Format::Json => json_out::write(report, out),
        Format::Ocsf => ocsf::write(report, out),
        Format::Sarif => sarif::write(report, out),
        Format::Csv => csv_out::write(report, out),
    }?;
    out.flush()?;
    Ok(())
}

/// Counts of items per status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StatusCounts {
    pub pass: u64,
    pub fail: u64,
    pub error: u64,
    pub not_applicable: u64,
}

impl StatusCounts {
    pub fn of(items: &[ReportItem<'_>]) -> Self {
        let mut counts = StatusCounts::default();
        for item in items {
            match item.status {
                FindingStatus::Pass => counts.pass += 1,
                FindingStatus::Fail => counts.fail += 1,
                FindingStatus::Error => counts.error += 1,
                FindingStatus::NotApplicable => counts.not_applicable += 1,
            }
        }
        counts
    }

    pub fn total(&self) -> u64 {
        self.pass + self.fail + self.error + self.not_applicable
    }
}

/// The items in the one order every format uses: severity descending, control id, asset id
/// (then status, so that even duplicate pairs come out in a fixed order).
pub(crate) fn sorted_items<'r, 'a>(report: &'r Report<'a>) -> Vec<&'r ReportItem<'a>> {
    let mut items: Vec<&ReportItem<'a>> = report.items.iter().collect();
    items.sort_by(|a, b| {
        b.control
            .severity
            .cmp(&a.control.severity)
            .then_with(|| a.control.id.cmp(&b.control.id))
            .then_with(|| a.asset.id.cmp(&b.asset.id))
            .then_with(|| a.status.cmp(&b.status))
    });
    items
}

/// The finding id of one item in this report.
pub(crate) fn item_finding_id(report: &Report<'_>, item: &ReportItem<'_>) -> String {
    rampart_model::finding_id(report.workspace, &item.control.id, &item.asset.id)
}

/// Text describing an item's outcome: its reason, or the control title when there is none.
pub(crate) fn item_message<'a>(item: &ReportItem<'a>) -> &'a str {
    if item.reason.trim().is_empty() {
        &item.control.title
    } else {
        item.reason
    }
}

/// Severities from most to least severe (same as [`Severity::ALL`]).
pub(crate) const SEVERITIES_DESC: [Severity; 5] = Severity::ALL;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_round_trips_through_strings() {
        for f in Format::ALL {
            assert_eq!(f.as_str().parse::<Format>().ok(), Some(f));
            assert_eq!(f.to_string(), f.as_str());
        }
        assert_eq!("SARIF".parse::<Format>().ok(), Some(Format::Sarif));
        assert!(matches!(
            "xml".parse::<Format>(),
            Err(OutputError::UnknownFormat(s)) if s == "xml"
        ));
    }
}
