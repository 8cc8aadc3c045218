//! Compliance reports (issue 10, point 4): the PDF is rendered to images with Poppler's
//! `pdftoppm` and read back with `pdftotext`; the HTML is checked for content and escaping.
//! Poppler comes from Debian's poppler-utils, installed by `scripts/test-deps`.

use std::path::{Path, PathBuf};
use std::process::Command;

use chrono::{TimeZone, Utc};
use rampart_model::Severity;
use rampart_output::compliance::{
    ComplianceReport, ControlResult, ExemptionRow, FailingAsset, ReportFormat, RequirementResult,
    RequirementStatus,
};

fn tool(var: &str, default: &str) -> PathBuf {
    let path = std::env::var_os(var)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(default));
    assert!(
        path.exists(),
        "{} not found ({var}): install Debian's poppler-utils (apt-get install -y poppler-utils) \
         or run scripts/test-deps",
        path.display()
    );
    path
}

/// A report with `requirements` requirements, every third failing on `assets` assets.
fn report(requirements: usize, assets: usize) -> ComplianceReport {
    let mut reqs = Vec::new();
    for i in 0..requirements {
        let status = match i % 3 {
            0 => RequirementStatus::Fail,
            1 => RequirementStatus::Pass,
            _ if i % 2 == 0 => RequirementStatus::Manual,
            _ => RequirementStatus::NotAssessed,
        };
        let failing = if status == RequirementStatus::Fail {
            assets as u64
        } else {
            0
        };
        let controls = if status == RequirementStatus::Manual {
            Vec::new()
        } else {
            vec![ControlResult {
                id: format!("aws-demo-control-{i}"),
                title: format!("Demo control number {i} checks something (with parentheses)"),
                severity: if i % 2 == 0 {
                    Severity::High
                } else {
                    Severity::Medium
                },
                passing: 3,
                failing,
                exempted: u64::from(i == 0),
                failing_assets: (0..assets.min(25))
                    .map(|a| FailingAsset {
                        asset_id: format!("arn:aws:s3:::bucket-{i}-{a}"),
                        name: format!("bucket-{i}-{a}"),
                        asset_type: "aws.s3.bucket".into(),
                        reason: "The bucket policy allows requests without TLS — café".into(),
                    })
                    .collect(),
            }]
        };
        reqs.push(RequirementResult {
            id: format!("{}.{}", i / 10 + 1, i % 10 + 1),
            title: format!("Requirement {i} <must> hold & be evidenced"),
            status,
            controls,
        });
    }
    let failing = reqs
        .iter()
        .filter(|r| r.status == RequirementStatus::Fail)
        .count();
    let passing = reqs
        .iter()
        .filter(|r| r.status == RequirementStatus::Pass)
        .count();
    ComplianceReport {
        workspace: "acme-prod".into(),
        framework_id: "cis-aws-3.0".into(),
        framework_name: "CIS Amazon Web Services Foundations Benchmark".into(),
        framework_version: "3.0.0".into(),
        generated_at: Utc
            .with_ymd_and_hms(2026, 11, 30, 9, 15, 0)
            .single()
            .expect("date"),
        product_version: "0.1.0".into(),
        latest_scan: Some((
            "scan_0123".into(),
            Utc.with_ymd_and_hms(2026, 11, 30, 3, 0, 0)
                .single()
                .expect("date"),
        )),
        percent: passing as f64 * 100.0 / (passing + failing) as f64,
        passing,
        failing,
        not_assessed: reqs
            .iter()
            .filter(|r| r.status == RequirementStatus::NotAssessed)
            .count(),
        manual: reqs
            .iter()
            .filter(|r| r.status == RequirementStatus::Manual)
            .count(),
        requirements: reqs,
        exemptions: vec![ExemptionRow {
            control_id: "aws-demo-control-0".into(),
            asset_name: "legacy-logs".into(),
            asset_type: "aws.s3.bucket".into(),
            reason: "Static website bucket, approved by the CISO until migration (RISK-42)".into(),
            expires_at: Utc
                .with_ymd_and_hms(2027, 1, 31, 0, 0, 0)
                .single()
                .expect("date"),
            created_by: "alice@example.com".into(),
        }],
        asset_limit: 25,
    }
}

fn pdf_text(pdf: &Path) -> String {
    let out = Command::new(tool("RAMPART_PDFTOTEXT", "/usr/bin/pdftotext"))
        .args(["-layout"])
        .arg(pdf)
        .arg("-")
        .output()
        .expect("run pdftotext");
    assert!(
        out.status.success(),
        "pdftotext failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 text")
}

/// A binary PPM (P6) image: width, height, RGB bytes.
fn read_ppm(path: &Path) -> (usize, usize, Vec<u8>) {
    let bytes = std::fs::read(path).expect("read ppm");
    let mut fields = Vec::new();
    let mut pos = 0;
    while fields.len() < 4 {
        while bytes[pos].is_ascii_whitespace() {
            pos += 1;
        }
        let start = pos;
        while !bytes[pos].is_ascii_whitespace() {
            pos += 1;
        }
        fields.push(String::from_utf8_lossy(&bytes[start..pos]).to_string());
    }
    assert_eq!(fields[0], "P6");
    let w: usize = fields[1].parse().expect("width");
    let h: usize = fields[2].parse().expect("height");
    (w, h, bytes[pos + 1..].to_vec())
}

#[test]
fn the_pdf_report_renders_to_pages_with_the_requirements_failures_and_exemptions() {
    let dir = tempfile::tempdir().expect("tempdir");
    let report = report(60, 40);
    let bytes = report.render(ReportFormat::Pdf);
    assert!(bytes.starts_with(b"%PDF-1.4"));
    let pdf = dir.path().join(report.file_name(ReportFormat::Pdf));
    assert_eq!(
        pdf.file_name().and_then(|n| n.to_str()),
        Some("rampart-acme-prod-cis-aws-3.0-20261130.pdf")
    );
    std::fs::write(&pdf, &bytes).expect("write pdf");

    // Every page renders (pdftoppm fails on a broken file) at A4 proportions, and is not blank.
    let prefix = dir.path().join("page");
    let out = Command::new(tool("RAMPART_PDFTOPPM", "/usr/bin/pdftoppm"))
        .args(["-r", "40"])
        .arg(&pdf)
        .arg(&prefix)
        .output()
        .expect("run pdftoppm");
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "pdftoppm: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut pages: Vec<PathBuf> = std::fs::read_dir(dir.path())
        .expect("list")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "ppm"))
        .collect();
    pages.sort();
    assert!(
        pages.len() >= 5,
        "60 requirements with 20 failing controls on 25 listed assets each need many pages, got {}",
        pages.len()
    );
    let mut red_pixels = 0usize;
    for page in &pages {
        let (w, h, rgb) = read_ppm(page);
        let ratio = h as f64 / w as f64;
        assert!(
            (ratio - 1.414).abs() < 0.01,
            "{} is not A4: {w}×{h}",
            page.display()
        );
        let inked = rgb.chunks(3).filter(|p| p.iter().any(|&c| c < 200)).count();
        assert!(inked * 200 > w * h, "{} is (nearly) blank", page.display());
        red_pixels += rgb
            .chunks(3)
            .filter(|p| p[0] > 150 && p[1] < 80 && p[2] < 80)
            .count();
    }
    assert!(red_pixels > 0, "the failing status badges are drawn in red");

    let text = pdf_text(&pdf);
    assert!(text.contains("CIS Amazon Web Services Foundations Benchmark 3.0.0"));
    assert!(text.contains("Workspace acme-prod"), "{text}");
    assert!(text.contains(&format!(
        "{:.1} % of scored requirements pass",
        report.percent
    )));
    for req in &report.requirements {
        assert!(text.contains(&req.id), "requirement {} missing", req.id);
    }
    assert!(
        text.contains("bucket-0-24"),
        "the 25th failing asset is listed"
    );
    assert!(
        !text.contains("bucket-0-25"),
        "only asset_limit assets are listed"
    );
    assert!(text.contains("Fails on 40 asset(s), the first 25 listed"));
    assert!(text.contains("RISK-42") && text.contains("alice@example.com"));
    assert!(text.contains("café"), "WinAnsi characters survive");
    assert!(text.contains(&format!("page 1 of {}", pages.len())));
    assert!(text.contains(&format!("page {} of {}", pages.len(), pages.len())));
    assert!(text.contains("Manual requirements"));
}

#[test]
fn a_small_report_fits_on_few_pages_and_says_when_nothing_fails() {
    let mut report = report(2, 0);
    for r in &mut report.requirements {
        r.status = RequirementStatus::Pass;
    }
    report.exemptions.clear();
    let dir = tempfile::tempdir().expect("tempdir");
    let pdf = dir.path().join("r.pdf");
    std::fs::write(&pdf, report.render(ReportFormat::Pdf)).expect("write");
    let text = pdf_text(&pdf);
    assert!(text.contains("No requirement fails."));
    assert!(text.contains("No active exemption applies"));
    assert!(text.contains("page 1 of 1"), "{text}");
}

#[test]
fn the_html_report_is_self_contained_escaped_and_complete() {
    let report = report(12, 3);
    let html = String::from_utf8(report.render(ReportFormat::Html)).expect("utf-8");
    assert!(html.starts_with("<!DOCTYPE html>"));
    // No script, no external resource: it can be mailed or archived as one file.
    assert!(!html.contains("<script"));
    assert!(!html.contains("src=") && !html.contains("href="));
    // ASVS 5.3.3: text from the inventory is escaped.
    assert!(html.contains("Requirement 0 &lt;must&gt; hold &amp; be evidenced"));
    assert!(!html.contains("<must>"));
    assert!(html.contains("<span class=\"st fail\">fail</span>"));
    assert!(html.contains("Fails on 3 asset(s); passes on 3; 1 exempted."));
    assert!(html.contains("RISK-42"));
    assert!(html.contains(&format!(
        "<style>{}</style>",
        rampart_output::compliance::html_style()
    )));
    for req in &report.requirements {
        assert!(html.contains(&format!("<td>{}</td>", req.id)));
    }
}

#[test]
fn unknown_report_formats_are_named_in_the_error() {
    let err = ReportFormat::parse("docx").expect_err("docx is not a report format");
    assert_eq!(
        err.to_string(),
        "unknown report format \"docx\": expected html or pdf"
    );
    assert_eq!(
        ReportFormat::parse(" PDF ").expect("pdf"),
        ReportFormat::Pdf
    );
}
