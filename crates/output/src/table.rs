//! A terminal table for people: failing items grouped by severity (critical first), evaluation
//! errors, then one summary line.
//!
//! Text that comes from the cloud (names, reasons) is printed with control characters replaced,
//! so that a resource name cannot carry terminal escape sequences.

use std::io::Write;

use rampart_model::{FindingStatus, Severity};

use crate::{OutputError, Report, ReportItem, SEVERITIES_DESC, StatusCounts, sorted_items};

const MAX_CONTROL: usize = 48;
const MAX_RESOURCE: usize = 48;
const MAX_REGION: usize = 20;

const RESET: &str = "\x1b[0m";
const BOLD: &str = "\x1b[1m";
const DIM: &str = "\x1b[2m";
const RED: &str = "\x1b[31m";
const GREEN: &str = "\x1b[32m";
const MAGENTA: &str = "\x1b[35m";

fn severity_style(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "\x1b[1;97;41m",
        Severity::High => "\x1b[1;31m",
        Severity::Medium => "\x1b[1;33m",
        Severity::Low => "\x1b[1;36m",
        Severity::Info => "\x1b[1;2m",
    }
}

/// Replaces control characters (escape sequences, newlines) so the text stays on its line.
fn clean(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_string()
}

fn truncate(text: String, max: usize) -> String {
    if text.chars().count() <= max {
        return text;
    }
    let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

struct Row {
    control: String,
    resource: String,
    region: String,
    reason: String,
}

impl Row {
    fn of(item: &ReportItem<'_>) -> Row {
        let resource = if item.asset.name.trim().is_empty() {
            &item.asset.native_id
        } else {
            &item.asset.name
        };
        Row {
            control: truncate(clean(&item.control.id), MAX_CONTROL),
            resource: truncate(clean(resource), MAX_RESOURCE),
            region: truncate(clean(&item.asset.region), MAX_REGION),
            reason: clean(crate::item_message(item)),
        }
    }
}

struct Painter {
    color: bool,
}

impl Painter {
    fn paint(&self, style: &str, text: &str) -> String {
        if self.color {
            format!("{style}{text}{RESET}")
        } else {
            text.to_string()
        }
    }
}

struct Widths {
    control: usize,
    resource: usize,
    region: usize,
}

fn pad(text: &str, width: usize) -> String {
    let len = text.chars().count();
    format!("{text}{}", " ".repeat(width.saturating_sub(len)))
}

fn write_group(
    out: &mut dyn Write,
    painter: &Painter,
    heading: String,
    rows: &[&Row],
    widths: &Widths,
) -> Result<(), OutputError> {
    writeln!(out, "{heading}")?;
    let header = format!(
        "  {}  {}  {}  REASON",
        pad("CONTROL", widths.control),
        pad("RESOURCE", widths.resource),
        pad("REGION", widths.region)
    );
    writeln!(out, "{}", painter.paint(DIM, &header))?;
    for row in rows {
        writeln!(
            out,
            "  {}  {}  {}  {}",
            pad(&row.control, widths.control),
            pad(&row.resource, widths.resource),
            pad(&row.region, widths.region),
            row.reason
        )?;
    }
    writeln!(out)?;
    Ok(())
}

pub(crate) fn write(report: &Report, out: &mut dyn Write, color: bool) -> Result<(), OutputError> {
    let painter = Painter { color };
    let items = sorted_items(report);
    let counts = StatusCounts::of(&report.items);

    let failing: Vec<(Severity, Row)> = items
        .iter()
        .filter(|i| i.status == FindingStatus::Fail)
        .map(|i| (i.control.severity, Row::of(i)))
        .collect();
    let errors: Vec<Row> = items
        .iter()
        .filter(|i| i.status == FindingStatus::Error)
        .map(|i| Row::of(i))
        .collect();

    let all_rows = failing.iter().map(|(_, r)| r).chain(errors.iter());
    let mut widths = Widths {
        control: "CONTROL".len(),
        resource: "RESOURCE".len(),
        region: "REGION".len(),
    };
    for row in all_rows {
        widths.control = widths.control.max(row.control.chars().count());
        widths.resource = widths.resource.max(row.resource.chars().count());
        widths.region = widths.region.max(row.region.chars().count());
    }

    for severity in SEVERITIES_DESC {
        let rows: Vec<&Row> = failing
            .iter()
            .filter(|(s, _)| *s == severity)
            .map(|(_, r)| r)
            .collect();
        if rows.is_empty() {
            continue;
        }
        let label = severity.as_str().to_ascii_uppercase();
        let heading = format!(
            "{} {} failing",
            painter.paint(severity_style(severity), &format!(" {label} ")),
            rows.len()
        );
        write_group(out, &painter, heading, &rows, &widths)?;
    }
    if !errors.is_empty() {
        let heading = format!(
            "{} {} could not be evaluated",
            painter.paint(&format!("{BOLD}{MAGENTA}"), " ERROR "),
            errors.len()
        );
        let rows: Vec<&Row> = errors.iter().collect();
        write_group(out, &painter, heading, &rows, &widths)?;
    }
    if failing.is_empty() && errors.is_empty() {
        writeln!(out, "No failing controls.")?;
    }

    let count = |n: u64, style: &str, word: &str| {
        let text = format!("{n} {word}");
        if n > 0 {
            painter.paint(style, &text)
        } else {
            text
        }
    };
    writeln!(
        out,
        "{} evaluated in workspace {}: {}, {}, {}, {}",
        counts.total(),
        clean(report.workspace),
        count(counts.fail, &format!("{BOLD}{RED}"), "fail"),
        count(counts.pass, GREEN, "pass"),
        count(counts.error, MAGENTA, "error"),
        count(counts.not_applicable, DIM, "n.a."),
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_are_neutralised_and_long_text_cut() {
        assert_eq!(clean("evil\x1b[2Jname\n"), "evil [2Jname");
        assert_eq!(truncate("abcdef".to_string(), 4), "abc…");
        assert_eq!(truncate("abc".to_string(), 4), "abc");
    }
}
