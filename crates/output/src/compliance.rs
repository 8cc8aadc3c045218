//! Compliance reports: one framework in one workspace, as a self-contained HTML page or a PDF.
//!
//! A report shows the framework's score, every requirement with its status and mapped controls,
//! for each failing control the assets it fails on (the first [`ComplianceReport::asset_limit`],
//! with the total), the exemptions that keep findings out of the score (reason, expiry, who) and
//! the manual requirements left to a person. The caller gathers the data (the server and the CLI
//! read it from the store); this module only renders it, deterministically.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use rampart_model::Severity;

use crate::OutputError;
use crate::pdf::{BLACK, Cell, Document, Font, GREY, Rgb};

/// A requirement's outcome (see `rampart_rules::score`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequirementStatus {
    Pass,
    Fail,
    NotAssessed,
    Manual,
}

impl RequirementStatus {
    /// Parses the status words of `rampart_rules::score::RequirementScore`.
    pub fn parse(s: &str) -> Option<RequirementStatus> {
        Some(match s {
            "pass" => RequirementStatus::Pass,
            "fail" => RequirementStatus::Fail,
            "not_assessed" => RequirementStatus::NotAssessed,
            "manual" => RequirementStatus::Manual,
            _ => return None,
        })
    }

    pub fn label(self) -> &'static str {
        match self {
            RequirementStatus::Pass => "pass",
            RequirementStatus::Fail => "fail",
            RequirementStatus::NotAssessed => "not assessed",
            RequirementStatus::Manual => "manual",
        }
    }

    /// The CSS class of its badge (`pass`, `fail`, `na`, `manual`).
    pub fn class(self) -> &'static str {
        match self {
            RequirementStatus::Pass => "pass",
            RequirementStatus::Fail => "fail",
            RequirementStatus::NotAssessed => "na",
            RequirementStatus::Manual => "manual",
        }
    }

    fn colour(self) -> Rgb {
        match self {
            RequirementStatus::Pass => Rgb(0.09, 0.5, 0.24),
            RequirementStatus::Fail => Rgb(0.75, 0.11, 0.11),
            RequirementStatus::NotAssessed => Rgb(0.45, 0.45, 0.5),
            RequirementStatus::Manual => Rgb(0.2, 0.35, 0.65),
        }
    }
}

/// An asset a control fails on.
#[derive(Debug, Clone, PartialEq)]
pub struct FailingAsset {
    pub asset_id: String,
    pub name: String,
    pub asset_type: String,
    pub reason: String,
}

/// A control mapped to a requirement, with its results in the workspace.
#[derive(Debug, Clone, PartialEq)]
pub struct ControlResult {
    pub id: String,
    pub title: String,
    pub severity: Severity,
    pub passing: u64,
    /// Failing (or erroring) findings not under an active exemption.
    pub failing: u64,
    pub exempted: u64,
    /// The first failing assets (at most the report's `asset_limit`).
    pub failing_assets: Vec<FailingAsset>,
}

/// One requirement of the framework.
#[derive(Debug, Clone, PartialEq)]
pub struct RequirementResult {
    pub id: String,
    pub title: String,
    pub status: RequirementStatus,
    pub controls: Vec<ControlResult>,
}

/// An active exemption of a finding of one of the framework's controls.
#[derive(Debug, Clone, PartialEq)]
pub struct ExemptionRow {
    pub control_id: String,
    pub asset_name: String,
    pub asset_type: String,
    pub reason: String,
    pub expires_at: DateTime<Utc>,
    /// Who recorded it (email or token name, as it was then).
    pub created_by: String,
}

/// Everything a compliance report shows.
#[derive(Debug, Clone, PartialEq)]
pub struct ComplianceReport {
    pub workspace: String,
    pub framework_id: String,
    pub framework_name: String,
    pub framework_version: String,
    pub generated_at: DateTime<Utc>,
    pub product_version: String,
    /// The newest scan the findings come from: id and time.
    pub latest_scan: Option<(String, DateTime<Utc>)>,
    pub percent: f64,
    pub passing: usize,
    pub failing: usize,
    pub not_assessed: usize,
    pub manual: usize,
    pub requirements: Vec<RequirementResult>,
    pub exemptions: Vec<ExemptionRow>,
    /// How many failing assets are listed per control at most.
    pub asset_limit: usize,
}

/// The formats a compliance report comes in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportFormat {
    Html,
    Pdf,
}

impl ReportFormat {
    pub fn parse(s: &str) -> Result<ReportFormat, OutputError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "html" => Ok(ReportFormat::Html),
            "pdf" => Ok(ReportFormat::Pdf),
            _ => Err(OutputError::UnknownReportFormat(s.to_string())),
        }
    }

    pub fn media_type(self) -> &'static str {
        match self {
            ReportFormat::Html => "text/html; charset=utf-8",
            ReportFormat::Pdf => "application/pdf",
        }
    }

    pub fn file_extension(self) -> &'static str {
        match self {
            ReportFormat::Html => "html",
            ReportFormat::Pdf => "pdf",
        }
    }
}

impl ComplianceReport {
    /// The report in `format`.
    pub fn render(&self, format: ReportFormat) -> Vec<u8> {
        match format {
            ReportFormat::Html => self.html().into_bytes(),
            ReportFormat::Pdf => self.pdf(),
        }
    }

    /// A file name such as `rampart-acme-cis-aws-3.0-20261130.pdf`.
    pub fn file_name(&self, format: ReportFormat) -> String {
        let clean = |s: &str| -> String {
            s.chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                        c
                    } else {
                        '-'
                    }
                })
                .collect()
        };
        format!(
            "rampart-{}-{}-{}.{}",
            clean(&self.workspace),
            clean(&self.framework_id),
            self.generated_at.format("%Y%m%d"),
            format.file_extension()
        )
    }

    fn title(&self) -> String {
        format!(
            "{} {} — compliance report",
            self.framework_name, self.framework_version
        )
    }

    fn scan_line(&self) -> String {
        match &self.latest_scan {
            Some((id, at)) => format!(
                "Findings of scan {id} ({}).",
                at.format("%Y-%m-%d %H:%M UTC")
            ),
            None => "No scan has been recorded in this workspace yet.".to_string(),
        }
    }

    fn failing_requirements(&self) -> impl Iterator<Item = &RequirementResult> {
        self.requirements
            .iter()
            .filter(|r| r.status == RequirementStatus::Fail)
    }

    /// A self-contained HTML page (one style element, no script, no external resource).
    pub fn html(&self) -> String {
        let mut h = String::with_capacity(16 * 1024);
        let title = self.title();
        let _ = write!(
            h,
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
             <meta name=\"generator\" content=\"Rampart {}\">\n\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
             <title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<main>\n",
            esc(&self.product_version),
            esc(&title)
        );
        let _ = write!(
            h,
            "<h1>{}</h1>\n<p class=\"meta\">Workspace <strong>{}</strong> · generated {} · {}</p>\n",
            esc(&title),
            esc(&self.workspace),
            self.generated_at.format("%Y-%m-%d %H:%M UTC"),
            esc(&self.scan_line())
        );
        let _ = write!(
            h,
            "<section aria-labelledby=\"summary\"><h2 id=\"summary\">Summary</h2>\n\
             <p class=\"score\"><span class=\"percent\">{:.1}&nbsp;%</span> of scored requirements pass</p>\n\
             <meter min=\"0\" max=\"100\" value=\"{:.1}\" aria-label=\"score\">{:.1} %</meter>\n\
             <table class=\"counts\"><tr><th scope=\"row\">passing</th><td>{}</td></tr>\
             <tr><th scope=\"row\">failing</th><td>{}</td></tr>\
             <tr><th scope=\"row\">not assessed</th><td>{}</td></tr>\
             <tr><th scope=\"row\">manual (not scored)</th><td>{}</td></tr>\
             <tr><th scope=\"row\">active exemptions</th><td>{}</td></tr></table>\n</section>\n",
            self.percent,
            self.percent.clamp(0.0, 100.0),
            self.percent,
            self.passing,
            self.failing,
            self.not_assessed,
            self.manual,
            self.exemptions.len()
        );
        h.push_str(
            "<section aria-labelledby=\"reqs\"><h2 id=\"reqs\">Requirements</h2>\n\
             <table class=\"reqs\"><thead><tr><th scope=\"col\">Requirement</th><th scope=\"col\">Title</th>\
             <th scope=\"col\">Status</th><th scope=\"col\">Controls</th></tr></thead><tbody>\n",
        );
        for req in &self.requirements {
            let controls = req
                .controls
                .iter()
                .map(|c| {
                    if c.failing > 0 {
                        format!("<code>{}</code>&nbsp;({} failing)", esc(&c.id), c.failing)
                    } else {
                        format!("<code>{}</code>", esc(&c.id))
                    }
                })
                .collect::<Vec<_>>()
                .join("<br>");
            let _ = writeln!(
                h,
                "<tr><td>{}</td><td>{}</td><td><span class=\"st {}\">{}</span></td><td>{}</td></tr>",
                esc(&req.id),
                esc(&req.title),
                req.status.class(),
                req.status.label(),
                if controls.is_empty() {
                    "—".to_string()
                } else {
                    controls
                }
            );
        }
        h.push_str("</tbody></table>\n</section>\n");

        h.push_str(
            "<section aria-labelledby=\"failing\"><h2 id=\"failing\">Failing requirements</h2>\n",
        );
        let mut any = false;
        for req in self.failing_requirements() {
            any = true;
            let _ = writeln!(h, "<h3>{} {}</h3>", esc(&req.id), esc(&req.title));
            for c in req.controls.iter().filter(|c| c.failing > 0) {
                let _ = writeln!(
                    h,
                    "<h4><code>{}</code> {} <span class=\"sev {}\">{}</span></h4>\n<p>Fails on {} asset(s){}; passes on {}; {} exempted.</p>",
                    esc(&c.id),
                    esc(&c.title),
                    c.severity.as_str(),
                    c.severity.as_str(),
                    c.failing,
                    if (c.failing as usize) > c.failing_assets.len() {
                        format!(", the first {} listed", c.failing_assets.len())
                    } else {
                        String::new()
                    },
                    c.passing,
                    c.exempted
                );
                h.push_str("<table class=\"assets\"><thead><tr><th scope=\"col\">Asset</th><th scope=\"col\">Type</th><th scope=\"col\">Why</th></tr></thead><tbody>\n");
                for a in &c.failing_assets {
                    let _ = writeln!(
                        h,
                        "<tr><td>{}<br><code class=\"id\">{}</code></td><td><code>{}</code></td><td>{}</td></tr>",
                        esc(&a.name),
                        esc(&a.asset_id),
                        esc(&a.asset_type),
                        esc(&a.reason)
                    );
                }
                h.push_str("</tbody></table>\n");
            }
        }
        if !any {
            h.push_str("<p>No requirement fails.</p>\n");
        }
        h.push_str("</section>\n");

        h.push_str("<section aria-labelledby=\"exempt\"><h2 id=\"exempt\">Exemptions</h2>\n");
        if self.exemptions.is_empty() {
            h.push_str("<p>No active exemption applies to this framework's controls.</p>\n");
        } else {
            h.push_str("<table class=\"exemptions\"><thead><tr><th scope=\"col\">Control</th><th scope=\"col\">Asset</th><th scope=\"col\">Reason</th><th scope=\"col\">Expires</th><th scope=\"col\">By</th></tr></thead><tbody>\n");
            for e in &self.exemptions {
                let _ = writeln!(
                    h,
                    "<tr><td><code>{}</code></td><td>{} <code>{}</code></td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    esc(&e.control_id),
                    esc(&e.asset_name),
                    esc(&e.asset_type),
                    esc(&e.reason),
                    e.expires_at.format("%Y-%m-%d"),
                    esc(&e.created_by)
                );
            }
            h.push_str("</tbody></table>\n");
        }
        h.push_str("</section>\n");

        let manual: Vec<&RequirementResult> = self
            .requirements
            .iter()
            .filter(|r| r.status == RequirementStatus::Manual)
            .collect();
        h.push_str(
            "<section aria-labelledby=\"manual\"><h2 id=\"manual\">Manual requirements</h2>\n",
        );
        if manual.is_empty() {
            h.push_str("<p>Every requirement of this framework is assessed automatically.</p>\n");
        } else {
            h.push_str(
                "<p>These need a person's review and evidence; they are not scored.</p>\n<ul>\n",
            );
            for r in manual {
                let _ = writeln!(
                    h,
                    "<li><strong>{}</strong> {}</li>",
                    esc(&r.id),
                    esc(&r.title)
                );
            }
            h.push_str("</ul>\n");
        }
        h.push_str("</section>\n</main>\n</body>\n</html>\n");
        h
    }

    /// The report as a PDF document (A4).
    pub fn pdf(&self) -> Vec<u8> {
        let title = self.title();
        let mut doc = Document::new(format!("Rampart · {} · {}", self.workspace, title));
        doc.paragraph(&title, Font::Bold, 18.0, BLACK);
        doc.space(4.0);
        doc.paragraph(
            &format!(
                "Workspace {} · generated {} · Rampart {}",
                self.workspace,
                self.generated_at.format("%Y-%m-%d %H:%M UTC"),
                self.product_version
            ),
            Font::Regular,
            9.0,
            GREY,
        );
        doc.paragraph(&self.scan_line(), Font::Regular, 9.0, GREY);

        doc.heading("Summary", 13.0, 60.0);
        doc.paragraph(
            &format!("{:.1} % of scored requirements pass", self.percent),
            Font::Bold,
            12.0,
            BLACK,
        );
        doc.bar(
            (self.percent / 100.0) as f32,
            Rgb(0.09, 0.5, 0.24),
            Rgb(0.85, 0.86, 0.88),
        );
        doc.table(
            &[
                ("Passing", 0.2),
                ("Failing", 0.2),
                ("Not assessed", 0.2),
                ("Manual", 0.2),
                ("Exemptions", 0.2),
            ],
            &[vec![
                Cell::plain(self.passing.to_string()),
                Cell::plain(self.failing.to_string()),
                Cell::plain(self.not_assessed.to_string()),
                Cell::plain(self.manual.to_string()),
                Cell::plain(self.exemptions.len().to_string()),
            ]],
            9.0,
        );

        doc.heading("Requirements", 13.0, 40.0);
        let rows: Vec<Vec<Cell>> = self
            .requirements
            .iter()
            .map(|r| {
                let controls = r
                    .controls
                    .iter()
                    .map(|c| {
                        if c.failing > 0 {
                            format!("{} ({} failing)", c.id, c.failing)
                        } else {
                            c.id.clone()
                        }
                    })
                    .collect::<Vec<_>>()
                    .join("\n");
                vec![
                    Cell::bold(r.id.clone()),
                    Cell::plain(r.title.clone()),
                    Cell::badge(r.status.label(), r.status.colour()),
                    Cell::plain(if controls.is_empty() {
                        "—".to_string()
                    } else {
                        controls
                    }),
                ]
            })
            .collect();
        doc.table(
            &[
                ("Requirement", 0.13),
                ("Title", 0.42),
                ("Status", 0.12),
                ("Controls", 0.33),
            ],
            &rows,
            8.0,
        );

        doc.heading("Failing requirements", 13.0, 40.0);
        let mut any = false;
        for req in self.failing_requirements() {
            any = true;
            doc.heading(&format!("{} {}", req.id, req.title), 11.0, 40.0);
            for c in req.controls.iter().filter(|c| c.failing > 0) {
                doc.paragraph(
                    &format!("{} — {} [{}]", c.id, c.title, c.severity.as_str()),
                    Font::Bold,
                    9.0,
                    BLACK,
                );
                let listed = if (c.failing as usize) > c.failing_assets.len() {
                    format!(", the first {} listed", c.failing_assets.len())
                } else {
                    String::new()
                };
                doc.paragraph(
                    &format!(
                        "Fails on {} asset(s){listed}; passes on {}; {} exempted.",
                        c.failing, c.passing, c.exempted
                    ),
                    Font::Regular,
                    8.5,
                    GREY,
                );
                let rows: Vec<Vec<Cell>> = c
                    .failing_assets
                    .iter()
                    .map(|a| {
                        vec![
                            Cell::plain(format!("{}\n{}", a.name, a.asset_id)),
                            Cell::plain(a.asset_type.clone()),
                            Cell::plain(a.reason.clone()),
                        ]
                    })
                    .collect();
                doc.table(&[("Asset", 0.38), ("Type", 0.2), ("Why", 0.42)], &rows, 7.5);
            }
        }
        if !any {
            doc.paragraph("No requirement fails.", Font::Regular, 9.0, BLACK);
        }

        doc.heading("Exemptions", 13.0, 40.0);
        if self.exemptions.is_empty() {
            doc.paragraph(
                "No active exemption applies to this framework's controls.",
                Font::Regular,
                9.0,
                BLACK,
            );
        } else {
            let rows: Vec<Vec<Cell>> = self
                .exemptions
                .iter()
                .map(|e| {
                    vec![
                        Cell::plain(e.control_id.clone()),
                        Cell::plain(format!("{}\n{}", e.asset_name, e.asset_type)),
                        Cell::plain(e.reason.clone()),
                        Cell::plain(e.expires_at.format("%Y-%m-%d").to_string()),
                        Cell::plain(e.created_by.clone()),
                    ]
                })
                .collect();
            doc.table(
                &[
                    ("Control", 0.22),
                    ("Asset", 0.22),
                    ("Reason", 0.3),
                    ("Expires", 0.11),
                    ("By", 0.15),
                ],
                &rows,
                7.5,
            );
        }

        doc.heading("Manual requirements", 13.0, 30.0);
        let manual: Vec<Vec<Cell>> = self
            .requirements
            .iter()
            .filter(|r| r.status == RequirementStatus::Manual)
            .map(|r| vec![Cell::bold(r.id.clone()), Cell::plain(r.title.clone())])
            .collect();
        if manual.is_empty() {
            doc.paragraph(
                "Every requirement of this framework is assessed automatically.",
                Font::Regular,
                9.0,
                BLACK,
            );
        } else {
            doc.paragraph(
                "These need a person's review and evidence; they are not scored.",
                Font::Regular,
                9.0,
                GREY,
            );
            doc.table(&[("Requirement", 0.15), ("Title", 0.85)], &manual, 8.0);
        }
        doc.finish()
    }
}

const STYLE: &str = "body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;color:#1b1d22;margin:0;background:#fff}\
main{max-width:1100px;margin:0 auto;padding:24px}\
h1{font-size:1.6em;margin:0 0 .3em}h2{margin-top:1.6em;border-bottom:1px solid #d5d8de;padding-bottom:.2em}\
.meta{color:#555a66}.percent{font-size:2em;font-weight:700}\
meter{width:100%;max-width:480px;height:14px}\
table{border-collapse:collapse;width:100%;margin:.5em 0 1em}th,td{text-align:left;vertical-align:top;padding:4px 8px;border-bottom:1px solid #e2e4e9}\
thead th{background:#eceef2}table.counts{width:auto}\
.st,.sev{display:inline-block;padding:0 6px;border-radius:4px;color:#fff;font-weight:600;font-size:.85em}\
.st.pass{background:#17803d}.st.fail{background:#bf1c1c}.st.na{background:#6b6d78}.st.manual{background:#3359a6}\
.sev.critical{background:#7a0c0c}.sev.high{background:#bf1c1c}.sev.medium{background:#a35a00}.sev.low{background:#3359a6}.sev.info{background:#6b6d78}\
code{font-size:.9em}.id{color:#555a66}\
@media print{main{padding:0}a{color:inherit}}";

/// Escapes text for HTML element content and attribute values.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// The one style element of the HTML report, e.g. to allow it by hash in a Content-Security-Policy.
pub fn html_style() -> &'static str {
    STYLE
}
