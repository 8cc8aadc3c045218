//! The terminal table: grouping order, summary, colour only on request.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use rampart_output::Format;

#[test]
fn failing_items_are_grouped_by_severity_critical_first() {
    let text = render(Format::Table, &fixture().report(), false);
    let position = |needle: &str| {
        text.find(needle)
            .unwrap_or_else(|| panic!("{needle:?} missing from:\n{text}"))
    };
    let critical = position(" CRITICAL  1 failing");
    let high = position(" HIGH  3 failing");
    let medium = position(" MEDIUM  1 failing");
    let low = position(" LOW  1 failing");
    let errors = position(" ERROR  1 could not be evaluated");
    assert!(
        critical < high && high < medium && medium < low && low < errors,
        "{text}"
    );
    assert!(
        !text.contains(" INFO "),
        "empty groups are left out:\n{text}"
    );

    // Within the high group: control id, then asset id order; the GCP control sorts last.
    let gcs = position("gcp-storage-bucket-uniform-access");
    let s3 = position("aws-s3-bucket-public-access-block");
    assert!(high < s3 && s3 < gcs && gcs < medium);

    // Passing and not-applicable items are not listed.
    assert!(!text.contains("acme-logs  ") || text.contains("Server access logging is off."));
    assert!(!text.contains("aws-s3-bucket-tags  acme-logs"));
}

#[test]
fn has_columns_and_a_summary_line() {
    let text = render(Format::Table, &fixture().report(), false);
    assert!(text.contains("CONTROL"));
    assert!(text.contains("RESOURCE"));
    assert!(text.contains("REGION"));
    assert!(text.contains("REASON"));
    assert!(text.contains("The root user has no MFA device."));
    let last = text.lines().last().unwrap();
    assert_eq!(
        last,
        "9 evaluated in workspace acme-prod: 6 fail, 1 pass, 1 error, 1 n.a."
    );
}

#[test]
fn no_ansi_without_color_and_no_escape_from_resource_names() {
    let plain = render(Format::Table, &fixture().report(), false);
    assert!(
        !plain.contains('\x1b'),
        "escape sequences in plain output:\n{plain:?}"
    );

    let colored = render(Format::Table, &fixture().report(), true);
    assert!(
        colored.contains("\x1b["),
        "colour requested but none emitted"
    );
    // The only escapes are our own SGR sequences: none from the evil resource name.
    assert!(!colored.contains("\x1b[2J"));
}

#[test]
fn a_clean_report_says_so() {
    let fixture = fixture();
    let mut report = fixture.report();
    report
        .items
        .retain(|i| i.status == rampart_model::FindingStatus::Pass);
    let text = render(Format::Table, &report, false);
    assert!(text.contains("No failing controls."), "{text}");
    assert_eq!(
        text.lines().last().unwrap(),
        "1 evaluated in workspace acme-prod: 0 fail, 1 pass, 0 error, 0 n.a."
    );
}
