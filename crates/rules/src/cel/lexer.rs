//! Tokenizer for CEL source text.

use super::CelError;

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    Ident(String),
    Int(i64),
    Uint(u64),
    Double(f64),
    Str(String),
    Bytes,
    LParen,
    RParen,
    LBracket,
    RBracket,
    LBrace,
    RBrace,
    Dot,
    Comma,
    Colon,
    Question,
    Plus,
    Minus,
    Star,
    Slash,
    Percent,
    Bang,
    Lt,
    Le,
    Gt,
    Ge,
    EqEq,
    Ne,
    AndAnd,
    OrOr,
    Eof,
}

impl Tok {
    pub(crate) fn describe(&self) -> String {
        match self {
            Tok::Ident(s) => format!("identifier `{s}`"),
            Tok::Int(i) => format!("integer {i}"),
            Tok::Uint(u) => format!("unsigned integer {u}u"),
            Tok::Double(d) => format!("number {d}"),
            Tok::Str(_) => "string literal".into(),
            Tok::Bytes => "bytes literal".into(),
            Tok::Eof => "end of expression".into(),
            other => format!("`{}`", punct(other)),
        }
    }
}

fn punct(t: &Tok) -> &'static str {
    match t {
        Tok::LParen => "(",
        Tok::RParen => ")",
        Tok::LBracket => "[",
        Tok::RBracket => "]",
        Tok::LBrace => "{",
        Tok::RBrace => "}",
        Tok::Dot => ".",
        Tok::Comma => ",",
        Tok::Colon => ":",
        Tok::Question => "?",
        Tok::Plus => "+",
        Tok::Minus => "-",
        Tok::Star => "*",
        Tok::Slash => "/",
        Tok::Percent => "%",
        Tok::Bang => "!",
        Tok::Lt => "<",
        Tok::Le => "<=",
        Tok::Gt => ">",
        Tok::Ge => ">=",
        Tok::EqEq => "==",
        Tok::Ne => "!=",
        Tok::AndAnd => "&&",
        Tok::OrOr => "||",
        _ => "?",
    }
}

/// A token and the byte offset where it starts.
pub(crate) type Spanned = (Tok, usize);

pub(crate) fn tokenize(src: &str) -> Result<Vec<Spanned>, CelError> {
    let bytes = src.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        if c == b'/' && bytes.get(i + 1) == Some(&b'/') {
            while i < bytes.len() && bytes[i] != b'\n' {
                i += 1;
            }
            continue;
        }
        let start = i;
        // String and bytes literals, with optional r/R (raw) and b/B (bytes) prefixes.
        if c == b'"' || c == b'\'' || is_string_prefix(bytes, i) {
            let mut raw = false;
            let mut is_bytes = false;
            while i < bytes.len() && bytes[i] != b'"' && bytes[i] != b'\'' {
                match bytes[i] {
                    b'r' | b'R' => raw = true,
                    b'b' | b'B' => is_bytes = true,
                    _ => {}
                }
                i += 1;
            }
            let (text, next) = lex_string(src, i, raw)?;
            i = next;
            if is_bytes {
                out.push((Tok::Bytes, start));
            } else {
                out.push((Tok::Str(text), start));
            }
            continue;
        }
        if c.is_ascii_alphabetic() || c == b'_' {
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                i += 1;
            }
            out.push((Tok::Ident(src[start..i].to_string()), start));
            continue;
        }
        if c.is_ascii_digit() || (c == b'.' && bytes.get(i + 1).is_some_and(u8::is_ascii_digit)) {
            let (tok, next) = lex_number(src, i)?;
            out.push((tok, start));
            i = next;
            continue;
        }
        // Compared as bytes: `src[i..i + 2]` would panic when a multi-byte character follows
        // a one-byte operator (`"a" ==Ԋ`); found by the `cel` fuzz target.
        let two: &[u8] = bytes.get(i..i + 2).unwrap_or(&[]);
        let (tok, len) = match two {
            b"<=" => (Tok::Le, 2),
            b">=" => (Tok::Ge, 2),
            b"==" => (Tok::EqEq, 2),
            b"!=" => (Tok::Ne, 2),
            b"&&" => (Tok::AndAnd, 2),
            b"||" => (Tok::OrOr, 2),
            _ => match c {
                b'(' => (Tok::LParen, 1),
                b')' => (Tok::RParen, 1),
                b'[' => (Tok::LBracket, 1),
                b']' => (Tok::RBracket, 1),
                b'{' => (Tok::LBrace, 1),
                b'}' => (Tok::RBrace, 1),
                b'.' => (Tok::Dot, 1),
                b',' => (Tok::Comma, 1),
                b':' => (Tok::Colon, 1),
                b'?' => (Tok::Question, 1),
                b'+' => (Tok::Plus, 1),
                b'-' => (Tok::Minus, 1),
                b'*' => (Tok::Star, 1),
                b'/' => (Tok::Slash, 1),
                b'%' => (Tok::Percent, 1),
                b'!' => (Tok::Bang, 1),
                b'<' => (Tok::Lt, 1),
                b'>' => (Tok::Gt, 1),
                b'=' => {
                    return Err(CelError::at(
                        src,
                        i,
                        "unexpected `=`: use `==` to compare values",
                    ));
                }
                b'&' => return Err(CelError::at(src, i, "unexpected `&`: use `&&`")),
                b'|' => return Err(CelError::at(src, i, "unexpected `|`: use `||`")),
                _ => {
                    let ch = src[i..].chars().next().unwrap_or('?');
                    return Err(CelError::at(src, i, format!("unexpected character {ch:?}")));
                }
            },
        };
        out.push((tok, start));
        i += len;
    }
    // The end is reported just after the last non-blank character, not after trailing space.
    out.push((Tok::Eof, src.trim_end().len()));
    Ok(out)
}

fn is_string_prefix(bytes: &[u8], i: usize) -> bool {
    // r"..", b"..", rb"..", br".." (either case)
    let is_prefix = |b: u8| matches!(b, b'r' | b'R' | b'b' | b'B');
    let quote = |b: Option<&u8>| matches!(b, Some(b'"') | Some(b'\''));
    if i > 0 && (bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_') {
        return false;
    }
    if is_prefix(bytes[i]) {
        if quote(bytes.get(i + 1)) {
            return true;
        }
        if bytes.get(i + 1).is_some_and(|b| is_prefix(*b)) && quote(bytes.get(i + 2)) {
            return true;
        }
    }
    false
}

fn lex_string(src: &str, start: usize, raw: bool) -> Result<(String, usize), CelError> {
    let bytes = src.as_bytes();
    let q = bytes[start];
    let triple = bytes.get(start + 1) == Some(&q) && bytes.get(start + 2) == Some(&q);
    let mut i = if triple { start + 3 } else { start + 1 };
    let mut out = String::new();
    loop {
        if i >= bytes.len() {
            return Err(CelError::at(src, start, "unterminated string literal"));
        }
        let c = bytes[i];
        if triple {
            if c == q && bytes.get(i + 1) == Some(&q) && bytes.get(i + 2) == Some(&q) {
                return Ok((out, i + 3));
            }
        } else if c == q {
            return Ok((out, i + 1));
        } else if c == b'\n' {
            return Err(CelError::at(
                src,
                start,
                "unterminated string literal (newline inside a single-quoted string)",
            ));
        }
        if c == b'\\' && !raw {
            let (ch, next) = lex_escape(src, i)?;
            out.push(ch);
            i = next;
            continue;
        }
        let ch = src[i..].chars().next().unwrap_or('\u{fffd}');
        out.push(ch);
        i += ch.len_utf8();
    }
}

fn lex_escape(src: &str, i: usize) -> Result<(char, usize), CelError> {
    let bytes = src.as_bytes();
    let Some(&e) = bytes.get(i + 1) else {
        return Err(CelError::at(src, i, "unterminated escape sequence"));
    };
    let simple = match e {
        b'n' => Some('\n'),
        b't' => Some('\t'),
        b'r' => Some('\r'),
        b'a' => Some('\u{07}'),
        b'b' => Some('\u{08}'),
        b'f' => Some('\u{0c}'),
        b'v' => Some('\u{0b}'),
        b'\\' => Some('\\'),
        b'\'' => Some('\''),
        b'"' => Some('"'),
        b'`' => Some('`'),
        b'?' => Some('?'),
        _ => None,
    };
    if let Some(ch) = simple {
        return Ok((ch, i + 2));
    }
    let (digits, radix, skip) = match e {
        b'x' | b'X' => (2, 16, 2),
        b'u' => (4, 16, 2),
        b'U' => (8, 16, 2),
        b'0'..=b'3' => (3, 8, 1),
        _ => {
            return Err(CelError::at(
                src,
                i,
                format!("invalid escape sequence \\{}", e as char),
            ));
        }
    };
    let from = i + skip;
    let to = from + digits;
    let text = src
        .get(from..to)
        .ok_or_else(|| CelError::at(src, i, "truncated escape sequence"))?;
    let code = u32::from_str_radix(text, radix)
        .map_err(|_| CelError::at(src, i, format!("invalid escape sequence {text:?}")))?;
    let ch = char::from_u32(code)
        .ok_or_else(|| CelError::at(src, i, format!("escape \\{text} is not a valid character")))?;
    Ok((ch, to))
}

fn lex_number(src: &str, start: usize) -> Result<(Tok, usize), CelError> {
    let bytes = src.as_bytes();
    let mut i = start;
    if bytes[i] == b'0' && matches!(bytes.get(i + 1), Some(b'x') | Some(b'X')) {
        i += 2;
        let digits_start = i;
        while i < bytes.len() && bytes[i].is_ascii_hexdigit() {
            i += 1;
        }
        let text = &src[digits_start..i];
        if matches!(bytes.get(i), Some(b'u') | Some(b'U')) {
            let v = u64::from_str_radix(text, 16)
                .map_err(|_| CelError::at(src, start, "hexadecimal literal out of range"))?;
            return Ok((Tok::Uint(v), i + 1));
        }
        let v = i64::from_str_radix(text, 16)
            .map_err(|_| CelError::at(src, start, "hexadecimal literal out of range"))?;
        return Ok((Tok::Int(v), i));
    }
    let mut is_double = false;
    while i < bytes.len() && bytes[i].is_ascii_digit() {
        i += 1;
    }
    if i < bytes.len() && bytes[i] == b'.' && bytes.get(i + 1).is_some_and(u8::is_ascii_digit) {
        is_double = true;
        i += 1;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
    }
    if i < bytes.len() && (bytes[i] == b'e' || bytes[i] == b'E') {
        let mut j = i + 1;
        if j < bytes.len() && (bytes[j] == b'+' || bytes[j] == b'-') {
            j += 1;
        }
        if j < bytes.len() && bytes[j].is_ascii_digit() {
            is_double = true;
            i = j;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
        }
    }
    let text = &src[start..i];
    if is_double {
        let v: f64 = text
            .parse()
            .map_err(|_| CelError::at(src, start, format!("invalid number {text:?}")))?;
        return Ok((Tok::Double(v), i));
    }
    if matches!(bytes.get(i), Some(b'u') | Some(b'U')) {
        let v: u64 = text
            .parse()
            .map_err(|_| CelError::at(src, start, "unsigned integer literal out of range"))?;
        return Ok((Tok::Uint(v), i + 1));
    }
    // A literal of exactly 2^63 is only valid after unary minus; the parser handles that case.
    match text.parse::<i64>() {
        Ok(v) => Ok((Tok::Int(v), i)),
        Err(_) if text == "9223372036854775808" => Ok((Tok::Uint(1u64 << 63), i)),
        Err(_) => Err(CelError::at(src, start, "integer literal out of range")),
    }
}
