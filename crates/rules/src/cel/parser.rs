//! Recursive-descent parser producing a positioned syntax tree.

use super::CelError;
use super::lexer::{Spanned, Tok, tokenize};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Rem,
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
    In,
    And,
    Or,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum UnOp {
    Not,
    Neg,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ExprKind {
    Null,
    Bool(bool),
    Int(i64),
    Uint(u64),
    Double(f64),
    Str(String),
    Ident(String),
    Select(Box<Expr>, String),
    Index(Box<Expr>, Box<Expr>),
    /// A function call, with receiver for method-style calls (`x.f(a)`).
    Call(Option<Box<Expr>>, String, Vec<Expr>),
    Unary(UnOp, Box<Expr>),
    Binary(BinOp, Box<Expr>, Box<Expr>),
    Cond(Box<Expr>, Box<Expr>, Box<Expr>),
    List(Vec<Expr>),
    Map(Vec<(Expr, Expr)>),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Expr {
    pub kind: ExprKind,
    /// Byte offset of the expression's first (or operator) token.
    pub pos: usize,
}

const RESERVED: &[&str] = &[
    "as",
    "break",
    "const",
    "continue",
    "else",
    "for",
    "function",
    "if",
    "import",
    "let",
    "loop",
    "package",
    "namespace",
    "return",
    "var",
    "void",
    "while",
];

/// Maximum nesting depth, so that hostile input cannot exhaust the stack.
const MAX_DEPTH: usize = 100;

pub(crate) fn parse(src: &str) -> Result<Expr, CelError> {
    let toks = tokenize(src)?;
    let mut p = Parser {
        src,
        toks,
        i: 0,
        depth: 0,
    };
    if matches!(p.peek(), Tok::Eof) {
        return Err(CelError::at(src, 0, "empty expression"));
    }
    let e = p.expr()?;
    if !matches!(p.peek(), Tok::Eof) {
        return Err(p.err_here(format!(
            "unexpected {} after a complete expression",
            p.peek().describe()
        )));
    }
    Ok(e)
}

struct Parser<'s> {
    src: &'s str,
    toks: Vec<Spanned>,
    i: usize,
    depth: usize,
}

impl Parser<'_> {
    fn peek(&self) -> &Tok {
        &self.toks[self.i.min(self.toks.len() - 1)].0
    }

    fn pos(&self) -> usize {
        self.toks[self.i.min(self.toks.len() - 1)].1
    }

    fn bump(&mut self) -> Spanned {
        let t = self.toks[self.i.min(self.toks.len() - 1)].clone();
        if self.i < self.toks.len() - 1 {
            self.i += 1;
        }
        t
    }

    fn err_here(&self, msg: impl Into<String>) -> CelError {
        CelError::at(self.src, self.pos(), msg)
    }

    fn expect(&mut self, want: &Tok, what: &str) -> Result<usize, CelError> {
        if self.peek() == want {
            Ok(self.bump().1)
        } else {
            Err(self.err_here(format!("expected {what}, found {}", self.peek().describe())))
        }
    }

    fn enter(&mut self) -> Result<(), CelError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.err_here("expression nested too deeply"));
        }
        Ok(())
    }

    fn expr(&mut self) -> Result<Expr, CelError> {
        self.enter()?;
        let cond = self.or()?;
        let out = if matches!(self.peek(), Tok::Question) {
            let pos = self.bump().1;
            let then = self.or()?;
            self.expect(&Tok::Colon, "`:` of the conditional operator")?;
            let other = self.expr()?;
            Expr {
                kind: ExprKind::Cond(Box::new(cond), Box::new(then), Box::new(other)),
                pos,
            }
        } else {
            cond
        };
        self.depth -= 1;
        Ok(out)
    }

    fn or(&mut self) -> Result<Expr, CelError> {
        let mut l = self.and()?;
        while matches!(self.peek(), Tok::OrOr) {
            let pos = self.bump().1;
            let r = self.and()?;
            l = bin(BinOp::Or, l, r, pos);
        }
        Ok(l)
    }

    fn and(&mut self) -> Result<Expr, CelError> {
        let mut l = self.relation()?;
        while matches!(self.peek(), Tok::AndAnd) {
            let pos = self.bump().1;
            let r = self.relation()?;
            l = bin(BinOp::And, l, r, pos);
        }
        Ok(l)
    }

    fn relation(&mut self) -> Result<Expr, CelError> {
        let mut l = self.addition()?;
        loop {
            let op = match self.peek() {
                Tok::Lt => BinOp::Lt,
                Tok::Le => BinOp::Le,
                Tok::Gt => BinOp::Gt,
                Tok::Ge => BinOp::Ge,
                Tok::EqEq => BinOp::Eq,
                Tok::Ne => BinOp::Ne,
                Tok::Ident(s) if s == "in" => BinOp::In,
                _ => return Ok(l),
            };
            let pos = self.bump().1;
            let r = self.addition()?;
            l = bin(op, l, r, pos);
        }
    }

    fn addition(&mut self) -> Result<Expr, CelError> {
        let mut l = self.multiplication()?;
        loop {
            let op = match self.peek() {
                Tok::Plus => BinOp::Add,
                Tok::Minus => BinOp::Sub,
                _ => return Ok(l),
            };
            let pos = self.bump().1;
            let r = self.multiplication()?;
            l = bin(op, l, r, pos);
        }
    }

    fn multiplication(&mut self) -> Result<Expr, CelError> {
        let mut l = self.unary()?;
        loop {
            let op = match self.peek() {
                Tok::Star => BinOp::Mul,
                Tok::Slash => BinOp::Div,
                Tok::Percent => BinOp::Rem,
                _ => return Ok(l),
            };
            let pos = self.bump().1;
            let r = self.unary()?;
            l = bin(op, l, r, pos);
        }
    }

    fn unary(&mut self) -> Result<Expr, CelError> {
        match self.peek() {
            Tok::Bang => {
                let pos = self.bump().1;
                self.enter()?;
                let e = self.unary()?;
                self.depth -= 1;
                Ok(Expr {
                    kind: ExprKind::Unary(UnOp::Not, Box::new(e)),
                    pos,
                })
            }
            Tok::Minus => {
                let pos = self.bump().1;
                // Fold negative numeric literals so that i64::MIN is expressible.
                match self.peek().clone() {
                    Tok::Int(v) if !self.followed_by_member() => {
                        self.bump();
                        return Ok(Expr {
                            kind: ExprKind::Int(-v),
                            pos,
                        });
                    }
                    Tok::Uint(v) if v == 1u64 << 63 && !self.followed_by_member() => {
                        self.bump();
                        return Ok(Expr {
                            kind: ExprKind::Int(i64::MIN),
                            pos,
                        });
                    }
                    Tok::Double(v) if !self.followed_by_member() => {
                        self.bump();
                        return Ok(Expr {
                            kind: ExprKind::Double(-v),
                            pos,
                        });
                    }
                    _ => {}
                }
                self.enter()?;
                let e = self.unary()?;
                self.depth -= 1;
                Ok(Expr {
                    kind: ExprKind::Unary(UnOp::Neg, Box::new(e)),
                    pos,
                })
            }
            _ => self.member(),
        }
    }

    fn followed_by_member(&self) -> bool {
        matches!(
            self.toks.get(self.i + 1).map(|t| &t.0),
            Some(Tok::Dot) | Some(Tok::LBracket)
        )
    }

    fn member(&mut self) -> Result<Expr, CelError> {
        let mut e = self.primary()?;
        loop {
            match self.peek() {
                Tok::Dot => {
                    let dot = self.bump().1;
                    if matches!(self.peek(), Tok::Question) {
                        return Err(self.err_here(
                            "optional field selection `.?` is not supported; use has()",
                        ));
                    }
                    let (name, npos) = self.ident("a field or method name after `.`")?;
                    if matches!(self.peek(), Tok::LParen) {
                        self.bump();
                        let args = self.args(Tok::RParen, "`)`")?;
                        e = Expr {
                            kind: ExprKind::Call(Some(Box::new(e)), name, args),
                            pos: npos,
                        };
                    } else {
                        e = Expr {
                            kind: ExprKind::Select(Box::new(e), name),
                            pos: dot,
                        };
                    }
                }
                Tok::LBracket => {
                    let pos = self.bump().1;
                    if matches!(self.peek(), Tok::Question) {
                        return Err(self.err_here("optional indexing `[?` is not supported"));
                    }
                    let idx = self.expr()?;
                    self.expect(&Tok::RBracket, "`]`")?;
                    e = Expr {
                        kind: ExprKind::Index(Box::new(e), Box::new(idx)),
                        pos,
                    };
                }
                Tok::LBrace if matches!(e.kind, ExprKind::Ident(_) | ExprKind::Select(..)) => {
                    return Err(self.err_here(
                        "message construction (`Type{...}`) is not supported: Rampart has no protobuf types",
                    ));
                }
                _ => return Ok(e),
            }
        }
    }

    fn ident(&mut self, what: &str) -> Result<(String, usize), CelError> {
        match self.peek().clone() {
            Tok::Ident(name) => {
                let pos = self.bump().1;
                Ok((name, pos))
            }
            other => Err(self.err_here(format!("expected {what}, found {}", other.describe()))),
        }
    }

    fn args(&mut self, close: Tok, what: &str) -> Result<Vec<Expr>, CelError> {
        let mut out = Vec::new();
        if *self.peek() == close {
            self.bump();
            return Ok(out);
        }
        loop {
            out.push(self.expr()?);
            match self.peek() {
                Tok::Comma => {
                    self.bump();
                    if *self.peek() == close {
                        self.bump();
                        return Ok(out);
                    }
                }
                t if *t == close => {
                    self.bump();
                    return Ok(out);
                }
                other => {
                    return Err(self.err_here(format!(
                        "expected `,` or {what}, found {}",
                        other.describe()
                    )));
                }
            }
        }
    }

    fn primary(&mut self) -> Result<Expr, CelError> {
        let (tok, pos) = self.bump();
        let kind = match tok {
            Tok::Int(v) => ExprKind::Int(v),
            Tok::Uint(v) => ExprKind::Uint(v),
            Tok::Double(v) => ExprKind::Double(v),
            Tok::Str(s) => ExprKind::Str(s),
            Tok::Bytes => {
                return Err(CelError::at(
                    self.src,
                    pos,
                    "bytes literals are not supported",
                ));
            }
            Tok::Ident(name) => match name.as_str() {
                "true" => ExprKind::Bool(true),
                "false" => ExprKind::Bool(false),
                "null" => ExprKind::Null,
                "in" => {
                    return Err(CelError::at(
                        self.src,
                        pos,
                        "`in` needs a value on its left",
                    ));
                }
                n if RESERVED.contains(&n) => {
                    return Err(CelError::at(
                        self.src,
                        pos,
                        format!("`{n}` is a reserved word in CEL"),
                    ));
                }
                _ => {
                    if matches!(self.peek(), Tok::LParen) {
                        self.bump();
                        let args = self.args(Tok::RParen, "`)`")?;
                        ExprKind::Call(None, name, args)
                    } else {
                        ExprKind::Ident(name)
                    }
                }
            },
            Tok::Dot => {
                return Err(CelError::at(
                    self.src,
                    pos,
                    "leading-dot (fully qualified) names are not supported",
                ));
            }
            Tok::LParen => {
                let e = self.expr()?;
                self.expect(&Tok::RParen, "`)`")?;
                return Ok(e);
            }
            Tok::LBracket => {
                self.enter()?;
                let items = self.args(Tok::RBracket, "`]`")?;
                self.depth -= 1;
                ExprKind::List(items)
            }
            Tok::LBrace => {
                self.enter()?;
                let mut entries = Vec::new();
                if matches!(self.peek(), Tok::RBrace) {
                    self.bump();
                } else {
                    loop {
                        if matches!(self.peek(), Tok::Question) {
                            return Err(self.err_here("optional map entries are not supported"));
                        }
                        let k = self.expr()?;
                        self.expect(&Tok::Colon, "`:` between map key and value")?;
                        let v = self.expr()?;
                        entries.push((k, v));
                        match self.peek() {
                            Tok::Comma => {
                                self.bump();
                                if matches!(self.peek(), Tok::RBrace) {
                                    self.bump();
                                    break;
                                }
                            }
                            Tok::RBrace => {
                                self.bump();
                                break;
                            }
                            other => {
                                return Err(self.err_here(format!(
                                    "expected `,` or `}}`, found {}",
                                    other.describe()
                                )));
                            }
                        }
                    }
                }
                self.depth -= 1;
                ExprKind::Map(entries)
            }
            Tok::Eof => {
                return Err(CelError::at(self.src, pos, "unexpected end of expression"));
            }
            other => {
                return Err(CelError::at(
                    self.src,
                    pos,
                    format!("unexpected {}", other.describe()),
                ));
            }
        };
        Ok(Expr { kind, pos })
    }
}

fn bin(op: BinOp, l: Expr, r: Expr, pos: usize) -> Expr {
    Expr {
        kind: ExprKind::Binary(op, Box::new(l), Box::new(r)),
        pos,
    }
}
