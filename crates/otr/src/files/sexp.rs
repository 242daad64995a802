//! gcrypt's S-expressions, as libotr's `otr.private_key` holds them: a pure parser and printer.
//!
//! The parser reads what `gcry_sexp_new` reads (libgcrypt's "advanced" syntax):
//!
//! * `(` and `)` open and close a list;
//! * a token: letters, digits and `-./_:*+=`, not starting with a digit;
//! * `"a quoted string"` with C escapes (`\n`, `\t`, `\"`, `\\`, `\123` octal, `\x41` hex, and
//!   a backslash before a line end, which continues the line);
//! * `#hex digits#` (whitespace between digits allowed);
//! * `|base64|`;
//! * `N:bytes`, a canonical length-prefixed atom;
//! * `[display hint]` before an atom (read and dropped: libotr never uses one).
//!
//! Positions in errors are 1-based line and column (columns count bytes).
//!
//! The printer writes the layout libgcrypt's `GCRYSEXP_FMT_ADVANCED` writes, so a file we
//! save looks like one libotr saved: tokens bare, printable ASCII strings quoted, anything
//! else (MPIs, UTF-8 names) as `#HEX#`.

use zeroize::{Zeroize, Zeroizing};

/// Nesting deeper than this is refused (a private key file needs 4 levels).
pub const MAX_DEPTH: usize = 32;

/// A line and column in the text (1-based; columns count bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pos {
    /// The line, from 1.
    pub line: usize,
    /// The column, from 1, in bytes.
    pub column: usize,
}

impl core::fmt::Display for Pos {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "line {}, column {}", self.line, self.column)
    }
}

/// A syntax error, with where it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{pos}: {message}")]
pub struct SexpError {
    /// Where.
    pub pos: Pos,
    /// What is wrong, for a person.
    pub message: String,
}

/// One S-expression. Atoms hold bytes (they may be secret: they are zeroized on drop).
#[derive(Clone, PartialEq, Eq)]
pub enum Sexp {
    /// An atom: its bytes and where it starts.
    Atom(Zeroizing<Vec<u8>>, Pos),
    /// A list: its elements and where its `(` is.
    List(Vec<Sexp>, Pos),
}

impl core::fmt::Debug for Sexp {
    /// Lists show their structure; atoms only their length (they may be key material).
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Atom(bytes, _) => write!(f, "<{} bytes>", bytes.len()),
            Self::List(items, _) => f.debug_list().entries(items).finish(),
        }
    }
}

impl Sexp {
    /// Where this expression starts.
    pub fn pos(&self) -> Pos {
        match self {
            Self::Atom(_, pos) | Self::List(_, pos) => *pos,
        }
    }

    /// The atom's bytes, if it is one.
    pub fn atom(&self) -> Option<&[u8]> {
        match self {
            Self::Atom(bytes, _) => Some(bytes),
            Self::List(..) => None,
        }
    }

    /// The list's items, if it is one.
    pub fn list(&self) -> Option<&[Sexp]> {
        match self {
            Self::Atom(..) => None,
            Self::List(items, _) => Some(items),
        }
    }

    /// A list's head token (`(name ...)` -> `name`), if it has one.
    pub fn head(&self) -> Option<&[u8]> {
        self.list()?.first()?.atom()
    }
}

/// Parses exactly one list (surrounding whitespace allowed, nothing else).
pub fn parse(text: &[u8]) -> Result<Sexp, SexpError> {
    let mut parser = Parser {
        text,
        at: 0,
        line: 1,
        line_start: 0,
    };
    parser.skip_space();
    if parser.at >= text.len() {
        return Err(parser.error("the file is empty: expected an S-expression"));
    }
    if parser.peek() != Some(b'(') {
        return Err(parser.error("expected '(' at the start (the file is one list)"));
    }
    let sexp = parser.expression(0)?;
    parser.skip_space();
    if parser.at < text.len() {
        return Err(parser.error("unexpected text after the closing parenthesis"));
    }
    Ok(sexp)
}

struct Parser<'a> {
    text: &'a [u8],
    at: usize,
    line: usize,
    line_start: usize,
}

/// Characters a token may hold besides letters and digits.
const TOKEN_SPECIALS: &[u8] = b"-./_:*+=";

fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || TOKEN_SPECIALS.contains(&b)
}

impl Parser<'_> {
    fn pos(&self) -> Pos {
        Pos {
            line: self.line,
            column: self.at - self.line_start + 1,
        }
    }

    fn error(&self, message: impl Into<String>) -> SexpError {
        self.error_at(self.pos(), message)
    }

    fn error_at(&self, pos: Pos, message: impl Into<String>) -> SexpError {
        SexpError {
            pos,
            message: message.into(),
        }
    }

    fn peek(&self) -> Option<u8> {
        self.text.get(self.at).copied()
    }

    /// Moves past one byte, counting lines.
    fn bump(&mut self) -> Option<u8> {
        let b = self.peek()?;
        self.at += 1;
        if b == b'\n' {
            self.line += 1;
            self.line_start = self.at;
        }
        Some(b)
    }

    fn skip_space(&mut self) {
        while self.peek().is_some_and(|b| b.is_ascii_whitespace()) {
            self.bump();
        }
    }

    /// One expression: a list or an atom (optionally after a display hint).
    fn expression(&mut self, depth: usize) -> Result<Sexp, SexpError> {
        let pos = self.pos();
        match self.peek() {
            Some(b'(') => self.list(depth),
            Some(b')') => Err(self.error("unexpected ')': there is no list to close")),
            Some(b'[') => {
                self.hint()?;
                self.skip_space();
                match self.peek() {
                    Some(b'(' | b')' | b'[') | None => {
                        Err(self.error_at(pos, "a display hint must be followed by an atom"))
                    }
                    Some(_) => self.atom(),
                }
            }
            None => Err(self.error("the file ends too early (truncated?)")),
            Some(_) => self.atom(),
        }
    }

    fn list(&mut self, depth: usize) -> Result<Sexp, SexpError> {
        let pos = self.pos();
        if depth >= MAX_DEPTH {
            return Err(self.error(format!("lists nested more than {MAX_DEPTH} deep")));
        }
        self.bump();
        let mut items = Vec::new();
        loop {
            self.skip_space();
            match self.peek() {
                None => {
                    return Err(self.error(format!(
                        "the file ends before the list opened at {pos} is closed \
                         (truncated, or a missing ')')"
                    )))
                }
                Some(b')') => {
                    self.bump();
                    return Ok(Sexp::List(items, pos));
                }
                Some(_) => items.push(self.expression(depth + 1)?),
            }
        }
    }

    /// `[...]`: a display hint, read and dropped.
    fn hint(&mut self) -> Result<(), SexpError> {
        let pos = self.pos();
        self.bump();
        self.skip_space();
        let inner = self.atom()?;
        drop(inner);
        self.skip_space();
        if self.peek() != Some(b']') {
            return Err(self.error_at(pos, "a display hint '[' is not closed by ']'"));
        }
        self.bump();
        Ok(())
    }

    fn atom(&mut self) -> Result<Sexp, SexpError> {
        let pos = self.pos();
        let bytes = match self.peek() {
            Some(b'"') => self.quoted()?,
            Some(b'#') => self.hex()?,
            Some(b'|') => self.base64()?,
            Some(b) if b.is_ascii_digit() => self.length_prefixed()?,
            Some(b) if is_token_byte(b) => {
                let start = self.at;
                while self.peek().is_some_and(is_token_byte) {
                    self.bump();
                }
                Zeroizing::new(self.text[start..self.at].to_vec())
            }
            Some(b) => {
                return Err(self.error(format!(
                    "unexpected character {:?} (expected a token, \"string\", #hex#, |base64| \
                     or a parenthesis)",
                    char::from(b)
                )))
            }
            None => return Err(self.error("the file ends too early (truncated?)")),
        };
        Ok(Sexp::Atom(bytes, pos))
    }

    /// `N:bytes`.
    fn length_prefixed(&mut self) -> Result<Zeroizing<Vec<u8>>, SexpError> {
        let pos = self.pos();
        let mut len: usize = 0;
        while let Some(b) = self.peek().filter(u8::is_ascii_digit) {
            self.bump();
            len = len.saturating_mul(10).saturating_add(usize::from(b - b'0'));
        }
        if self.peek() != Some(b':') {
            return Err(self.error_at(
                pos,
                "a token may not start with a digit (expected a length prefix like 4:1024)",
            ));
        }
        self.bump();
        if self.text.len() - self.at < len {
            return Err(self.error_at(pos, "the file ends inside a length-prefixed atom"));
        }
        let mut out = Zeroizing::new(Vec::with_capacity(len));
        for _ in 0..len {
            if let Some(b) = self.bump() {
                out.push(b);
            }
        }
        Ok(out)
    }

    /// `"..."` with C escapes.
    fn quoted(&mut self) -> Result<Zeroizing<Vec<u8>>, SexpError> {
        let pos = self.pos();
        self.bump();
        let mut out = Zeroizing::new(Vec::new());
        loop {
            let Some(b) = self.bump() else {
                return Err(self.error_at(pos, "the string opened here is not closed by '\"'"));
            };
            match b {
                b'"' => return Ok(out),
                b'\\' => {
                    let escape_pos = self.pos();
                    let Some(e) = self.bump() else {
                        return Err(self.error_at(pos, "the string opened here is not closed"));
                    };
                    match e {
                        b'b' => out.push(0x08),
                        b't' => out.push(b'\t'),
                        b'v' => out.push(0x0b),
                        b'n' => out.push(b'\n'),
                        b'f' => out.push(0x0c),
                        b'r' => out.push(b'\r'),
                        b'"' | b'\'' | b'\\' => out.push(e),
                        b'\n' => {
                            if self.peek() == Some(b'\r') {
                                self.bump();
                            }
                        }
                        b'\r' => {
                            if self.peek() == Some(b'\n') {
                                self.bump();
                            }
                        }
                        b'0'..=b'7' => {
                            let mut value = u32::from(e - b'0');
                            for _ in 0..2 {
                                match self.peek() {
                                    Some(d @ b'0'..=b'7') => {
                                        self.bump();
                                        value = value * 8 + u32::from(d - b'0');
                                    }
                                    _ => {
                                        return Err(self.error_at(
                                            escape_pos,
                                            "an octal escape needs three digits",
                                        ))
                                    }
                                }
                            }
                            let byte = u8::try_from(value).map_err(|_| {
                                self.error_at(escape_pos, "an octal escape above \\377")
                            })?;
                            out.push(byte);
                        }
                        b'x' => {
                            let hi = self.bump().and_then(hex_value);
                            let lo = self.bump().and_then(hex_value);
                            match (hi, lo) {
                                (Some(hi), Some(lo)) => out.push(hi << 4 | lo),
                                _ => {
                                    return Err(self.error_at(
                                        escape_pos,
                                        "\\x must be followed by two hex digits",
                                    ))
                                }
                            }
                        }
                        other => {
                            return Err(self.error_at(
                                escape_pos,
                                format!("unknown escape \\{}", char::from(other).escape_default()),
                            ))
                        }
                    }
                }
                other => out.push(other),
            }
        }
    }

    /// `#hex#`, whitespace allowed between digits.
    fn hex(&mut self) -> Result<Zeroizing<Vec<u8>>, SexpError> {
        let pos = self.pos();
        self.bump();
        let mut digits = Zeroizing::new(Vec::new());
        loop {
            let here = self.pos();
            match self.bump() {
                None => {
                    return Err(self.error_at(
                        pos,
                        "the hex string opened here is not closed by '#' (truncated?)",
                    ))
                }
                Some(b'#') => break,
                Some(b) if b.is_ascii_whitespace() => {}
                Some(b) => match hex_value(b) {
                    Some(v) => digits.push(v),
                    None => {
                        return Err(self.error_at(
                            here,
                            format!(
                                "{:?} is not a hex digit (in the hex string opened at {pos})",
                                char::from(b)
                            ),
                        ))
                    }
                },
            }
        }
        if digits.len() % 2 != 0 {
            return Err(self.error_at(pos, "a hex string has an odd number of digits"));
        }
        Ok(Zeroizing::new(
            digits.chunks_exact(2).map(|d| d[0] << 4 | d[1]).collect(),
        ))
    }

    /// `|base64|`, whitespace allowed.
    fn base64(&mut self) -> Result<Zeroizing<Vec<u8>>, SexpError> {
        let pos = self.pos();
        self.bump();
        let mut sextets = Zeroizing::new(Vec::new());
        let mut padding = 0usize;
        loop {
            let here = self.pos();
            match self.bump() {
                None => {
                    return Err(
                        self.error_at(pos, "the base64 string opened here is not closed by '|'")
                    )
                }
                Some(b'|') => break,
                Some(b) if b.is_ascii_whitespace() => {}
                Some(b'=') => padding += 1,
                Some(b) => match base64_value(b) {
                    Some(v) if padding == 0 => sextets.push(v),
                    _ => {
                        return Err(self.error_at(
                            here,
                            format!("{:?} is not valid here in base64", char::from(b)),
                        ))
                    }
                },
            }
        }
        let n = sextets.len();
        if n % 4 == 1 || padding > 2 || (padding > 0 && (n + padding) & 3 != 0) {
            return Err(self.error_at(pos, "base64 string of an impossible length"));
        }
        let mut out = Zeroizing::new(Vec::with_capacity(sextets.len() * 3 / 4));
        for chunk in sextets.chunks(4) {
            let mut acc: u32 = 0;
            for (i, &v) in chunk.iter().enumerate() {
                acc |= u32::from(v) << (18 - 6 * i);
            }
            let bytes = acc.to_be_bytes();
            out.extend_from_slice(&bytes[1..chunk.len()]);
            acc.zeroize();
        }
        Ok(out)
    }
}

fn hex_value(b: u8) -> Option<u8> {
    char::from(b)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

fn base64_value(b: u8) -> Option<u8> {
    match b {
        b'A'..=b'Z' => Some(b - b'A'),
        b'a'..=b'z' => Some(b - b'a' + 26),
        b'0'..=b'9' => Some(b - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    }
}

/// How an atom is printed.
fn write_atom(out: &mut String, bytes: &[u8]) {
    let token =
        !bytes.is_empty() && !bytes[0].is_ascii_digit() && bytes.iter().all(|&b| is_token_byte(b));
    let printable = bytes.iter().all(|&b| (0x20..0x7f).contains(&b));
    if token {
        out.extend(bytes.iter().map(|&b| char::from(b)));
    } else if printable {
        out.push('"');
        for &b in bytes {
            if b == b'"' || b == b'\\' {
                out.push('\\');
            }
            out.push(char::from(b));
        }
        out.push('"');
    } else {
        write_hex_atom(out, bytes);
    }
}

/// `#HEX#`, uppercase as libgcrypt writes.
pub fn write_hex_atom(out: &mut String, bytes: &[u8]) {
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    out.push('#');
    for &b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out.push('#');
}

/// Prints `sexp` as libgcrypt's advanced format does, starting at nesting `depth` (a list
/// below the top starts on a new line indented by its depth; a list's closing parenthesis
/// goes on its own line when the list held lists).
pub fn print(out: &mut String, sexp: &Sexp, depth: usize) {
    match sexp {
        Sexp::Atom(bytes, _) => write_atom(out, bytes),
        Sexp::List(items, _) => {
            out.push('(');
            let mut nested = false;
            for (i, item) in items.iter().enumerate() {
                match item {
                    Sexp::Atom(bytes, _) => {
                        if i > 0 {
                            out.push(' ');
                        }
                        write_atom(out, bytes);
                    }
                    Sexp::List(..) => {
                        if i > 0 && !nested {
                            out.push(' ');
                        }
                        nested = true;
                        out.push('\n');
                        out.push_str(&" ".repeat(depth + 1));
                        print(out, item, depth + 1);
                    }
                }
            }
            if nested {
                out.push('\n');
                out.push_str(&" ".repeat(depth));
            }
            out.push(')');
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    fn atom(s: &Sexp) -> Vec<u8> {
        s.atom().unwrap().to_vec()
    }

    #[test]
    fn every_atom_syntax() {
        let text = br#"(a "q\"\\\n\101\x41" #00 fF# |YWJj| |YWI=| 3:a)b [hint] x
          "con\
tinued")"#;
        let s = parse(text).unwrap();
        let items = s.list().unwrap();
        assert_eq!(atom(&items[0]), b"a");
        assert_eq!(atom(&items[1]), b"q\"\\\nAA");
        assert_eq!(atom(&items[2]), [0x00, 0xff]);
        assert_eq!(atom(&items[3]), b"abc");
        assert_eq!(atom(&items[4]), b"ab");
        assert_eq!(atom(&items[5]), b"a)b");
        assert_eq!(atom(&items[6]), b"x");
        assert_eq!(atom(&items[7]), b"continued");
        assert_eq!(items.len(), 8);
        assert_eq!(
            items[6].pos(),
            Pos {
                line: 1,
                column: 57
            }
        );
    }

    #[test]
    fn errors_have_positions() {
        let cases: &[(&[u8], usize, usize, &str)] = &[
            (b"", 1, 1, "empty"),
            (b"(a (b)", 1, 7, "is closed"),
            (b"(a))", 1, 4, "after the closing"),
            (b"(a\n #0g#)", 2, 4, "not a hex digit"),
            (b"(a #0#)", 1, 4, "odd number"),
            (b"(a \"abc)", 1, 4, "not closed"),
            (b"(a 12)", 1, 4, "digit"),
            (b"(a 9:ab)", 1, 4, "inside a length-prefixed"),
            (b"(a {b})", 1, 4, "unexpected character"),
            (b"(a |YW$|)", 1, 7, "base64"),
            (b"(a \"\\q\")", 1, 6, "unknown escape"),
            (b"(a #00", 1, 4, "not closed"),
            (b")", 1, 1, "expected '('"),
            (b"(a) )", 1, 5, "after the closing"),
        ];
        for &(text, line, column, needle) in cases {
            let e = parse(text).unwrap_err();
            assert_eq!(
                (e.pos.line, e.pos.column),
                (line, column),
                "{:?}: {e}",
                String::from_utf8_lossy(text)
            );
            assert!(e.message.contains(needle), "{e}");
        }
    }

    #[test]
    fn deep_nesting_is_refused() {
        let text = "(".repeat(10_000);
        assert!(parse(text.as_bytes())
            .unwrap_err()
            .message
            .contains("nested"));
    }

    #[test]
    fn print_parse_round_trip() {
        let text = b"(privkeys (account (name \"a b@c\") (protocol prpl-irc) (private-key (dsa (p #00FF#) (x #01#)))) (account (name #C3A9#) (protocol \"1x\") (private-key (dsa (p #7F#)))))";
        let s = parse(text).unwrap();
        let mut out = String::new();
        print(&mut out, &s, 0);
        let again = parse(out.as_bytes()).unwrap();
        let mut out2 = String::new();
        print(&mut out2, &again, 0);
        assert_eq!(out, out2);
        assert!(out.contains("(name \"a b@c\")"), "{out}");
        assert!(out.contains("(protocol prpl-irc)"), "{out}");
        assert!(out.contains("(name #C3A9#)"), "{out}");
        assert!(out.contains("(protocol \"1x\")"), "{out}");
        assert!(out.contains("(p #00FF#)"), "{out}");
    }
}
