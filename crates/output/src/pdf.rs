//! A small PDF 1.4 writer for Rampart's reports: A4 pages, the two standard fonts Helvetica and
//! Helvetica-Bold (WinAnsi encoding, nothing embedded), wrapped text, filled rectangles and page
//! footers. Content streams are deflated. Enough for tabular reports; no images, no links.
//!
//! Layout works top-down in points from the top-left corner of the text area; the writer turns it
//! into PDF's bottom-up coordinates and starts a new page when the next block does not fit.

use std::fmt::Write as _;
use std::io::Write as _;

/// A4 portrait, in points.
pub const PAGE_WIDTH: f32 = 595.28;
pub const PAGE_HEIGHT: f32 = 841.89;
const MARGIN: f32 = 48.0;
const FOOTER_SPACE: f32 = 28.0;

/// The two fonts a report uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Font {
    Regular,
    Bold,
}

impl Font {
    fn resource(self) -> &'static str {
        match self {
            Font::Regular => "F1",
            Font::Bold => "F2",
        }
    }
}

/// An RGB colour, components 0–1.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rgb(pub f32, pub f32, pub f32);

pub const BLACK: Rgb = Rgb(0.0, 0.0, 0.0);
pub const GREY: Rgb = Rgb(0.38, 0.38, 0.42);

/// Advance widths (1/1000 em) of WinAnsi codes 32–126 in Helvetica (from the font's public
/// metrics). Other codes use 556, the width of a digit.
const HELVETICA: [u16; 95] = [
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278, 556, 556, 556,
    556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556, 1015, 667, 667, 722, 722, 667,
    611, 778, 722, 278, 500, 667, 556, 833, 722, 778, 667, 778, 722, 667, 611, 722, 667, 944, 667,
    667, 611, 278, 278, 278, 469, 556, 333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500,
    222, 833, 556, 556, 556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584,
];

/// The same for Helvetica-Bold.
const HELVETICA_BOLD: [u16; 95] = [
    278, 333, 474, 556, 556, 889, 722, 238, 333, 333, 389, 584, 278, 333, 278, 278, 556, 556, 556,
    556, 556, 556, 556, 556, 556, 556, 333, 333, 584, 584, 584, 611, 975, 722, 722, 722, 722, 667,
    611, 778, 722, 278, 556, 722, 611, 833, 722, 778, 667, 778, 722, 667, 611, 722, 667, 944, 667,
    667, 611, 333, 278, 333, 584, 556, 333, 556, 611, 556, 611, 556, 333, 611, 611, 278, 278, 556,
    278, 889, 611, 611, 611, 611, 389, 556, 333, 611, 556, 778, 556, 556, 500, 389, 280, 389, 584,
];

/// Maps a character to its WinAnsi (Windows-1252) code, `?` when it has none.
fn win_ansi(c: char) -> u8 {
    let code = c as u32;
    match code {
        0x20..=0x7e | 0xa0..=0xff => code as u8,
        _ => match c {
            '€' => 0x80,
            '‚' => 0x82,
            '„' => 0x84,
            '…' => 0x85,
            '‘' => 0x91,
            '’' => 0x92,
            '“' => 0x93,
            '”' => 0x94,
            '•' => 0x95,
            '–' => 0x96,
            '—' => 0x97,
            '™' => 0x99,
            '→' => b'>',
            '\t' => b' ',
            _ => b'?',
        },
    }
}

fn char_width(font: Font, code: u8) -> f32 {
    let table = match font {
        Font::Regular => &HELVETICA,
        Font::Bold => &HELVETICA_BOLD,
    };
    let w = match code {
        32..=126 => table[(code - 32) as usize],
        0x95 => 350,
        0x97 | 0x85 => 1000,
        0x96 => 556,
        _ => 556,
    };
    f32::from(w)
}

/// Width of `text` in points at `size`.
pub fn text_width(text: &str, font: Font, size: f32) -> f32 {
    text.chars()
        .map(|c| char_width(font, win_ansi(c)))
        .sum::<f32>()
        * size
        / 1000.0
}

/// Breaks `text` into lines no wider than `width` (words longer than a line are cut).
pub fn wrap(text: &str, font: Font, size: f32, width: f32) -> Vec<String> {
    let mut lines = Vec::new();
    for paragraph in text.split('\n') {
        let mut line = String::new();
        for word in paragraph.split_whitespace() {
            let candidate = if line.is_empty() {
                word.to_string()
            } else {
                format!("{line} {word}")
            };
            if text_width(&candidate, font, size) <= width {
                line = candidate;
                continue;
            }
            if !line.is_empty() {
                lines.push(std::mem::take(&mut line));
            }
            // A word wider than the line is cut into pieces that fit.
            let mut piece = String::new();
            for c in word.chars() {
                piece.push(c);
                if text_width(&piece, font, size) > width && piece.chars().count() > 1 {
                    piece.pop();
                    lines.push(std::mem::take(&mut piece));
                    piece.push(c);
                }
            }
            line = piece;
        }
        lines.push(line);
    }
    if lines.is_empty() {
        lines.push(String::new());
    }
    lines
}

/// PDF string literal of `text` in WinAnsi, with `(`, `)` and `\` escaped.
fn literal(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('(');
    for c in text.chars() {
        let code = win_ansi(c);
        match code {
            b'(' | b')' | b'\\' => {
                out.push('\\');
                out.push(code as char);
            }
            0x20..=0x7e => out.push(code as char),
            _ => {
                let _ = write!(out, "\\{code:03o}");
            }
        }
    }
    out.push(')');
    out
}

/// A cell of a table row.
#[derive(Debug, Clone)]
pub struct Cell {
    pub text: String,
    pub font: Font,
    pub color: Rgb,
    /// Background fill, e.g. a status badge.
    pub fill: Option<Rgb>,
}

impl Cell {
    pub fn plain(text: impl Into<String>) -> Cell {
        Cell {
            text: text.into(),
            font: Font::Regular,
            color: BLACK,
            fill: None,
        }
    }

    pub fn bold(text: impl Into<String>) -> Cell {
        Cell {
            font: Font::Bold,
            ..Cell::plain(text)
        }
    }

    pub fn badge(text: impl Into<String>, fill: Rgb) -> Cell {
        Cell {
            fill: Some(fill),
            color: Rgb(1.0, 1.0, 1.0),
            font: Font::Bold,
            ..Cell::plain(text)
        }
    }
}

/// A document being laid out.
pub struct Document {
    title: String,
    pages: Vec<String>,
    /// Distance from the top of the text area to the next line's top, in points.
    cursor: f32,
}

impl Document {
    pub fn new(title: impl Into<String>) -> Document {
        Document {
            title: title.into(),
            pages: vec![String::new()],
            cursor: 0.0,
        }
    }

    /// Width available to text.
    pub fn width(&self) -> f32 {
        PAGE_WIDTH - 2.0 * MARGIN
    }

    fn usable_height() -> f32 {
        PAGE_HEIGHT - 2.0 * MARGIN - FOOTER_SPACE
    }

    fn page(&mut self) -> &mut String {
        if self.pages.is_empty() {
            self.pages.push(String::new());
        }
        let last = self.pages.len() - 1;
        &mut self.pages[last]
    }

    /// Starts a new page.
    pub fn new_page(&mut self) {
        self.pages.push(String::new());
        self.cursor = 0.0;
    }

    /// Makes sure `height` points fit on the current page, starting a new one otherwise.
    pub fn ensure(&mut self, height: f32) {
        if self.cursor > 0.0 && self.cursor + height > Self::usable_height() {
            self.new_page();
        }
    }

    /// Vertical space.
    pub fn space(&mut self, points: f32) {
        self.cursor += points;
        if self.cursor > Self::usable_height() {
            self.new_page();
        }
    }

    fn y_of(&self, top: f32) -> f32 {
        PAGE_HEIGHT - MARGIN - top
    }

    fn text_at(&mut self, x: f32, top: f32, text: &str, font: Font, size: f32, color: Rgb) {
        let y = self.y_of(top) - size * 0.8;
        let lit = literal(text);
        let page = self.page();
        let _ = writeln!(
            page,
            "BT /{} {size:.2} Tf {:.3} {:.3} {:.3} rg {:.2} {:.2} Td {lit} Tj ET",
            font.resource(),
            color.0,
            color.1,
            color.2,
            MARGIN + x,
            y
        );
    }

    fn rect(&mut self, x: f32, top: f32, width: f32, height: f32, fill: Rgb) {
        let y = self.y_of(top) - height;
        let page = self.page();
        let _ = writeln!(
            page,
            "{:.3} {:.3} {:.3} rg {:.2} {:.2} {:.2} {:.2} re f",
            fill.0,
            fill.1,
            fill.2,
            MARGIN + x,
            y,
            width,
            height
        );
    }

    fn hline(&mut self, top: f32, color: Rgb) {
        let y = self.y_of(top);
        let page = self.page();
        let _ = writeln!(
            page,
            "{:.3} {:.3} {:.3} RG 0.5 w {:.2} {y:.2} m {:.2} {y:.2} l S",
            color.0,
            color.1,
            color.2,
            MARGIN,
            PAGE_WIDTH - MARGIN
        );
    }

    /// A wrapped paragraph across the text width.
    pub fn paragraph(&mut self, text: &str, font: Font, size: f32, color: Rgb) {
        let leading = size * 1.3;
        for line in wrap(text, font, size, self.width()) {
            self.ensure(leading);
            let top = self.cursor;
            self.text_at(0.0, top, &line, font, size, color);
            self.cursor += leading;
        }
    }

    /// A heading, kept on the same page as at least `keep_with` points that follow it.
    pub fn heading(&mut self, text: &str, size: f32, keep_with: f32) {
        self.ensure(size * 1.6 + keep_with);
        self.cursor += size * 0.4;
        self.paragraph(text, Font::Bold, size, BLACK);
        self.cursor += size * 0.2;
    }

    /// A filled horizontal bar of `fraction` (0–1) of the text width, e.g. a score.
    pub fn bar(&mut self, fraction: f32, fill: Rgb, track: Rgb) {
        let height = 10.0;
        self.ensure(height + 6.0);
        let top = self.cursor;
        let width = self.width();
        self.rect(0.0, top, width, height, track);
        self.rect(0.0, top, width * fraction.clamp(0.0, 1.0), height, fill);
        self.cursor += height + 6.0;
    }

    /// A table: column widths as fractions of the text width, a bold header row repeated on
    /// every page the table spans, cells wrapped within their column.
    pub fn table(&mut self, columns: &[(&str, f32)], rows: &[Vec<Cell>], size: f32) {
        let total = self.width();
        let widths: Vec<f32> = columns.iter().map(|(_, f)| f * total).collect();
        let pad = 3.0;
        let leading = size * 1.25;
        let header: Vec<Cell> = columns.iter().map(|(t, _)| Cell::bold(*t)).collect();
        let layout = |row: &[Cell]| -> Vec<Vec<String>> {
            row.iter()
                .zip(&widths)
                .map(|(cell, w)| wrap(&cell.text, cell.font, size, w - 2.0 * pad))
                .collect()
        };
        let header_lines = layout(&header);
        let header_height = row_height(&header_lines, leading, pad);
        self.ensure(header_height * 2.0 + leading);
        self.draw_row(&header, &header_lines, &widths, size, leading, pad, true);
        for row in rows {
            let lines = layout(row);
            let height = row_height(&lines, leading, pad);
            if self.cursor + height > Self::usable_height() {
                self.new_page();
                self.draw_row(&header, &header_lines, &widths, size, leading, pad, true);
            }
            self.draw_row(row, &lines, &widths, size, leading, pad, false);
        }
        self.cursor += 6.0;
    }

    #[allow(clippy::too_many_arguments)]
    fn draw_row(
        &mut self,
        row: &[Cell],
        lines: &[Vec<String>],
        widths: &[f32],
        size: f32,
        leading: f32,
        pad: f32,
        header: bool,
    ) {
        let height = row_height(lines, leading, pad);
        let top = self.cursor;
        if header {
            let width = self.width();
            self.rect(0.0, top, width, height, Rgb(0.92, 0.93, 0.95));
        }
        let mut x = 0.0;
        for ((cell, cell_lines), width) in row.iter().zip(lines).zip(widths) {
            if let Some(fill) = cell.fill {
                let text_w = cell_lines
                    .iter()
                    .map(|l| text_width(l, cell.font, size))
                    .fold(0.0, f32::max);
                let badge_h = cell_lines.len() as f32 * leading;
                self.rect(x + pad - 1.5, top + pad - 1.0, text_w + 3.0, badge_h, fill);
            }
            for (i, line) in cell_lines.iter().enumerate() {
                self.text_at(
                    x + pad,
                    top + pad + i as f32 * leading,
                    line,
                    cell.font,
                    size,
                    cell.color,
                );
            }
            x += width;
        }
        self.cursor += height;
        let cursor = self.cursor;
        self.hline(cursor, Rgb(0.8, 0.8, 0.84));
    }

    /// The finished PDF: every page gets a footer with the title and "page N of M".
    pub fn finish(mut self) -> Vec<u8> {
        if self.pages.last().is_some_and(String::is_empty) && self.pages.len() > 1 {
            self.pages.pop();
        }
        let count = self.pages.len();
        let title = self.title.clone();
        for (i, page) in self.pages.iter_mut().enumerate() {
            let label = format!("page {} of {count}", i + 1);
            let size = 8.0;
            let y = MARGIN - 14.0;
            let label_x = PAGE_WIDTH - MARGIN - text_width(&label, Font::Regular, size);
            let _ = writeln!(
                page,
                "BT /F1 {size} Tf {g:.3} {g:.3} {g:.3} rg {MARGIN:.2} {y:.2} Td {} Tj ET",
                literal(&title),
                g = GREY.0
            );
            let _ = writeln!(
                page,
                "BT /F1 {size} Tf {g:.3} {g:.3} {g:.3} rg {label_x:.2} {y:.2} Td {} Tj ET",
                literal(&label),
                g = GREY.0
            );
        }
        serialize(&self.title, &self.pages)
    }
}

fn row_height(lines: &[Vec<String>], leading: f32, pad: f32) -> f32 {
    let n = lines.iter().map(Vec::len).max().unwrap_or(1).max(1);
    n as f32 * leading + 2.0 * pad
}

fn deflate(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    // Writing into a Vec cannot fail.
    let _ = enc.write_all(data);
    enc.finish().unwrap_or_default()
}

/// Objects: 1 catalog, 2 page tree, 3 and 4 fonts, 5 info, then (page, content) pairs.
fn serialize(title: &str, pages: &[String]) -> Vec<u8> {
    let mut out: Vec<u8> = Vec::new();
    let mut offsets: Vec<usize> = Vec::new();
    out.extend_from_slice(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n");
    let first_page = 6;
    let kids: Vec<String> = (0..pages.len())
        .map(|i| format!("{} 0 R", first_page + 2 * i))
        .collect();
    let mut objects: Vec<Vec<u8>> = vec![
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        format!(
            "<< /Type /Pages /Kids [{}] /Count {} >>",
            kids.join(" "),
            pages.len()
        )
        .into_bytes(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"
            .to_vec(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>"
            .to_vec(),
        format!("<< /Title {} /Producer (Rampart) >>", literal(title)).into_bytes(),
    ];
    for (i, content) in pages.iter().enumerate() {
        let content_obj = first_page + 2 * i + 1;
        objects.push(
            format!(
                "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {PAGE_WIDTH} {PAGE_HEIGHT}] \
                 /Resources << /Font << /F1 3 0 R /F2 4 0 R >> >> /Contents {content_obj} 0 R >>"
            )
            .into_bytes(),
        );
        let data = deflate(content.as_bytes());
        let mut stream = format!(
            "<< /Length {} /Filter /FlateDecode >>\nstream\n",
            data.len()
        )
        .into_bytes();
        stream.extend_from_slice(&data);
        stream.extend_from_slice(b"\nendstream");
        objects.push(stream);
    }
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
        out.extend_from_slice(body);
        out.extend_from_slice(b"\nendobj\n");
    }
    let xref = out.len();
    let mut table = format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1);
    for off in offsets {
        let _ = writeln!(table, "{off:010} 00000 n ");
    }
    let _ = write!(
        table,
        "trailer\n<< /Size {} /Root 1 0 R /Info 5 0 R >>\nstartxref\n{xref}\n%%EOF\n",
        objects.len() + 1
    );
    out.extend_from_slice(table.as_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapping_respects_the_width_and_keeps_every_word() {
        let text =
            "Every IAM user with a console password has multi-factor authentication turned on";
        let lines = wrap(text, Font::Regular, 10.0, 120.0);
        assert!(lines.len() > 1);
        for line in &lines {
            assert!(text_width(line, Font::Regular, 10.0) <= 120.0, "{line}");
        }
        assert_eq!(lines.join(" "), text);
    }

    #[test]
    fn long_words_are_cut() {
        let word = "arn:aws:iam::111122223333:role/a-very-long-role-name-that-never-ends";
        let lines = wrap(word, Font::Regular, 10.0, 80.0);
        assert!(lines.len() > 2);
        assert_eq!(lines.concat(), word);
    }

    #[test]
    fn literals_escape_delimiters_and_encode_win_ansi() {
        assert_eq!(literal("a(b)\\c"), "(a\\(b\\)\\\\c)");
        assert_eq!(literal("é – ✓"), "(\\351 \\226 ?)");
    }

    #[test]
    fn the_xref_table_points_at_every_object() {
        let mut doc = Document::new("t");
        doc.paragraph("hello", Font::Regular, 10.0, BLACK);
        let pdf = doc.finish();
        let find = |needle: &[u8]| {
            pdf.windows(needle.len())
                .rposition(|w| w == needle)
                .expect("needle")
        };
        let tail = &pdf[find(b"startxref\n") + 10..];
        let start: usize = std::str::from_utf8(tail)
            .expect("ascii tail")
            .lines()
            .next()
            .and_then(|s| s.parse().ok())
            .expect("startxref");
        let table = std::str::from_utf8(&pdf[start..]).expect("ascii xref");
        assert!(table.starts_with("xref\n"));
        let entries: Vec<&str> = table.lines().skip(3).take(7).collect();
        assert_eq!(entries.len(), 7);
        for (i, entry) in entries.iter().enumerate() {
            let off: usize = entry[..10].parse().expect("offset");
            assert!(
                pdf[off..].starts_with(format!("{} 0 obj", i + 1).as_bytes()),
                "object {} at {off}",
                i + 1
            );
        }
    }
}
