//! CSV output: RFC 4180 round trip and the formula-injection guard.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use rampart_model::finding_id;
use rampart_output::{CSV_HEADER, Format, guard_cell};

fn rows() -> (csv::StringRecord, Vec<csv::StringRecord>) {
    let text = render(Format::Csv, &fixture().report(), false);
    let mut reader = csv::ReaderBuilder::new().from_reader(text.as_bytes());
    let header = reader.headers().unwrap().clone();
    let rows = reader.records().collect::<Result<Vec<_>, _>>().unwrap();
    (header, rows)
}

#[test]
fn header_is_fixed() {
    let (header, _) = rows();
    assert_eq!(header.iter().collect::<Vec<_>>(), CSV_HEADER);
    assert_eq!(
        CSV_HEADER.join(","),
        "finding_id,status,severity,control_id,control_title,provider,account,region,\
         resource_type,resource_id,resource_name,reason"
    );
}

#[test]
fn round_trips_every_applicable_item() {
    let fixture = fixture();
    let (_, rows) = rows();
    let applicable = fixture
        .outcomes
        .iter()
        .filter(|o| o.2 != rampart_model::FindingStatus::NotApplicable)
        .count();
    assert_eq!(rows.len(), applicable);

    let asset = &fixture.assets[A_BUCKET2];
    let row = rows
        .iter()
        .find(|r| &r[3] == "aws-s3-bucket-public-access-block" && &r[9] == "arn:aws:s3:::acme-site")
        .unwrap();
    assert_eq!(
        row.iter().collect::<Vec<_>>(),
        [
            finding_id(WORKSPACE, "aws-s3-bucket-public-access-block", &asset.id).as_str(),
            "fail",
            "high",
            "aws-s3-bucket-public-access-block",
            "Title of aws-s3-bucket-public-access-block",
            "aws",
            "123456789012",
            "eu-west-1",
            "aws.s3.bucket",
            "arn:aws:s3:::acme-site",
            "acme-site",
            "The bucket does not block public ACLs.",
        ]
    );
    // Sorted: critical first, low last.
    assert_eq!(&rows[0][2], "critical");
    assert_eq!(&rows[rows.len() - 1][2], "low");
}

#[test]
fn formula_cells_are_neutralised() {
    let (_, rows) = rows();
    let evil = rows
        .iter()
        .find(|r| &r[3] == "aws-s3-bucket-tags" && &r[9] == "arn:aws:s3:::evil")
        .unwrap();
    assert_eq!(&evil[10], "'=HYPERLINK(\"http://x\",\"y\")\x1b[2J");
    assert_eq!(&evil[11], "'-1 tags; @owner missing");
    for row in &rows {
        for cell in row {
            assert!(
                !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
                "unguarded cell {cell:?}"
            );
        }
    }
}

#[test]
fn guard_cell_only_touches_formula_triggers() {
    assert_eq!(guard_cell("=1+1"), "'=1+1");
    assert_eq!(guard_cell("+1"), "'+1");
    assert_eq!(guard_cell("-1"), "'-1");
    assert_eq!(guard_cell("@SUM(A1)"), "'@SUM(A1)");
    assert_eq!(guard_cell("\tx"), "'\tx");
    assert_eq!(guard_cell("a=b"), "a=b");
    assert_eq!(guard_cell(""), "");
    assert_eq!(guard_cell("arn:aws:s3:::x"), "arn:aws:s3:::x");
}

#[test]
fn quoting_follows_rfc_4180() {
    let text = render(Format::Csv, &fixture().report(), false);
    // Embedded quotes are doubled inside a quoted field, and records end with CRLF.
    assert!(
        text.contains("\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\x1b[2J\""),
        "{text}"
    );
    assert!(text.starts_with("finding_id,status,"));
    assert!(text.lines().count() > 1);
    assert!(text.split("\r\n").count() > 2, "records end with CRLF");
}

#[test]
fn deterministic() {
    let fixture = fixture();
    assert_eq!(
        render(Format::Csv, &fixture.report(), false),
        render(Format::Csv, &fixture.reversed_report(), false)
    );
}
