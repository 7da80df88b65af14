//! A reader for the subset of EDN (github.com/edn-format/edn) that Jepsen and Maelstrom
//! histories use, written here so that the checker needs no new crate.
//!
//! Read: `nil`, booleans, integers (an `N` suffix allowed), floats, strings with the usual
//! escapes, keywords, symbols, vectors, lists, maps, sets, tagged values (`#tag form`; the
//! tag is kept, so a Jepsen record such as `#jepsen.history.Op{...}` reads as its map),
//! `;` comments and `#_` discards. Not read: characters, ratios and regexes. Nesting is
//! limited to [`MAX_DEPTH`] so that hostile input cannot overflow the stack.

use std::fmt;

use super::error::InputError;

/// The deepest nesting of collections the reader accepts.
const MAX_DEPTH: usize = 64;

/// An EDN value.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Edn {
    Nil,
    Bool(bool),
    Integer(i64),
    Float(f64),
    String(String),
    /// Without its leading colon.
    Keyword(String),
    Symbol(String),
    Vector(Vec<Edn>),
    List(Vec<Edn>),
    Set(Vec<Edn>),
    /// Entries in the order written.
    Map(Vec<(Edn, Edn)>),
    Tagged(String, Box<Edn>),
}

impl Edn {
    /// The value of `keyword` in a map (a tagged map too).
    pub(crate) fn get(&self, keyword: &str) -> Option<&Edn> {
        match self {
            Edn::Map(entries) => {
                entries.iter().find(|(key, _)| key.as_keyword() == Some(keyword)).map(|(_, value)| value)
            }
            Edn::Tagged(_, inner) => inner.get(keyword),
            _ => None,
        }
    }

    pub(crate) fn as_keyword(&self) -> Option<&str> {
        match self {
            Edn::Keyword(name) => Some(name),
            _ => None,
        }
    }
}

/// Reads EDN forms one at a time from a text, counting lines.
pub(crate) struct Reader<'a> {
    text: &'a str,
    position: usize,
    line: usize,
}

impl<'a> Reader<'a> {
    /// A reader of `text`, whose first line is line `first_line` of the file.
    pub(crate) fn new(text: &'a str, first_line: usize) -> Self {
        Reader { text, position: 0, line: first_line }
    }

    /// The line the reader is on.
    pub(crate) fn line(&self) -> usize {
        self.line
    }

    /// Skips blanks, commas, comments and discarded forms; returns the next byte, if any.
    pub(crate) fn peek(&mut self) -> Result<Option<u8>, InputError> {
        self.skip_blank(0)
    }

    /// Consumes the byte `peek` returned.
    pub(crate) fn advance(&mut self) {
        self.position += 1;
    }

    /// Reads the next form.
    pub(crate) fn read(&mut self) -> Result<Edn, InputError> {
        self.read_at(0)
    }

    fn byte(&self) -> Option<u8> {
        self.text.as_bytes().get(self.position).copied()
    }

    fn error(&self, problem: impl Into<String>, allowed: impl Into<String>) -> InputError {
        InputError::at(self.line, problem, allowed)
    }

    fn skip_blank(&mut self, depth: usize) -> Result<Option<u8>, InputError> {
        loop {
            match self.byte() {
                Some(b'\n') => {
                    self.line += 1;
                    self.position += 1;
                }
                Some(b',') => self.position += 1,
                Some(byte) if byte.is_ascii_whitespace() => self.position += 1,
                Some(b';') => {
                    while self.byte().is_some_and(|byte| byte != b'\n') {
                        self.position += 1;
                    }
                }
                Some(b'#') if self.text.as_bytes().get(self.position + 1) == Some(&b'_') => {
                    self.position += 2;
                    self.read_at(depth + 1)?;
                }
                other => return Ok(other),
            }
        }
    }

    fn read_at(&mut self, depth: usize) -> Result<Edn, InputError> {
        if depth > MAX_DEPTH {
            return Err(self.error(format!("nested deeper than {MAX_DEPTH} levels"), "a flatter value"));
        }
        let Some(byte) = self.skip_blank(depth)? else {
            return Err(self.error("the input ends where a value should be", "a value"));
        };
        match byte {
            b'[' => self.read_collection(b']', depth).map(Edn::Vector),
            b'(' => self.read_collection(b')', depth).map(Edn::List),
            b'{' => self.read_map(depth),
            b'"' => self.read_string().map(Edn::String),
            b'#' => self.read_dispatch(depth),
            b']' | b')' | b'}' => Err(self.error(format!("unexpected `{}`", byte as char), "a value")),
            b'\\' => Err(self.error("character literals are not read", "strings instead")),
            _ => self.read_token(),
        }
    }

    /// Reads the elements of a collection whose opening byte is at the reader.
    fn read_collection(&mut self, close: u8, depth: usize) -> Result<Vec<Edn>, InputError> {
        let opened = self.line;
        self.position += 1;
        let mut elements = Vec::new();
        loop {
            match self.skip_blank(depth)? {
                None => {
                    let problem = format!("`{}` opened on line {opened} is never closed", opening(close));
                    return Err(self.error(problem, format!("a closing `{}`", close as char)));
                }
                Some(byte) if byte == close => {
                    self.position += 1;
                    return Ok(elements);
                }
                Some(_) => elements.push(self.read_at(depth + 1)?),
            }
        }
    }

    fn read_map(&mut self, depth: usize) -> Result<Edn, InputError> {
        let line = self.line;
        let mut forms = self.read_collection(b'}', depth)?.into_iter();
        let mut entries = Vec::new();
        while let Some(key) = forms.next() {
            let Some(value) = forms.next() else {
                let problem = format!("the map opened on line {line} has a key without a value");
                return Err(self.error(problem, "key value pairs"));
            };
            entries.push((key, value));
        }
        Ok(Edn::Map(entries))
    }

    fn read_string(&mut self) -> Result<String, InputError> {
        let opened = self.line;
        self.position += 1;
        let mut text = String::new();
        loop {
            let start = self.position;
            while self.byte().is_some_and(|byte| byte != b'"' && byte != b'\\') {
                if self.byte() == Some(b'\n') {
                    self.line += 1;
                }
                self.position += 1;
            }
            text.push_str(self.text.get(start..self.position).unwrap_or_default());
            match self.byte() {
                Some(b'"') => {
                    self.position += 1;
                    return Ok(text);
                }
                Some(_) => text.push(self.read_escape()?),
                None => {
                    let problem = format!("the string opened on line {opened} is never closed");
                    return Err(self.error(problem, "a closing `\"`"));
                }
            }
        }
    }

    /// Reads an escape whose backslash is at the reader.
    fn read_escape(&mut self) -> Result<char, InputError> {
        let escaped = self.text.as_bytes().get(self.position + 1).copied();
        self.position += 2;
        match escaped {
            Some(b'n') => Ok('\n'),
            Some(b't') => Ok('\t'),
            Some(b'r') => Ok('\r'),
            Some(b'b') => Ok('\u{8}'),
            Some(b'f') => Ok('\u{c}'),
            Some(byte @ (b'"' | b'\\' | b'/')) => Ok(byte as char),
            Some(b'u') => self.read_unicode_escape(),
            _ => Err(self.error("unknown escape in a string", "\\n \\t \\r \\b \\f \\\" \\\\ \\/ \\uXXXX")),
        }
    }

    fn read_unicode_escape(&mut self) -> Result<char, InputError> {
        let digits = self.text.get(self.position..self.position + 4);
        let code = digits.and_then(|digits| u32::from_str_radix(digits, 16).ok());
        match code.and_then(char::from_u32) {
            Some(character) => {
                self.position += 4;
                Ok(character)
            }
            None => Err(self.error("bad \\u escape in a string", "\\u and four hex digits")),
        }
    }

    fn read_dispatch(&mut self, depth: usize) -> Result<Edn, InputError> {
        self.position += 1;
        match self.byte() {
            Some(b'{') => self.read_collection(b'}', depth).map(Edn::Set),
            Some(byte) if byte.is_ascii_alphabetic() => {
                let tag = self.take_token().to_string();
                Ok(Edn::Tagged(tag, Box::new(self.read_at(depth + 1)?)))
            }
            _ => Err(self.error("unknown `#` form", "#{...} sets, #_ discards or #tag values")),
        }
    }

    fn read_token(&mut self) -> Result<Edn, InputError> {
        let token = self.take_token();
        match token {
            "nil" => return Ok(Edn::Nil),
            "true" => return Ok(Edn::Bool(true)),
            "false" => return Ok(Edn::Bool(false)),
            _ => {}
        }
        if let Some(name) = token.strip_prefix(':') {
            return match name {
                "" => Err(self.error("a lone `:`", "a keyword such as :read")),
                _ => Ok(Edn::Keyword(name.to_string())),
            };
        }
        if is_number(token) {
            return self.number(token);
        }
        Ok(Edn::Symbol(token.to_string()))
    }

    fn number(&self, token: &str) -> Result<Edn, InputError> {
        let integer = token.strip_suffix('N').unwrap_or(token);
        if let Ok(value) = integer.parse::<i64>() {
            return Ok(Edn::Integer(value));
        }
        let float = token.strip_suffix('M').unwrap_or(token);
        match float.parse::<f64>() {
            Ok(value) if token.contains(['.', 'e', 'E']) => Ok(Edn::Float(value)),
            _ => Err(self.error(format!("`{token}` is not a number this reader takes"), "64-bit integers or decimals")),
        }
    }

    /// Takes the bytes up to the next delimiter.
    fn take_token(&mut self) -> &'a str {
        let start = self.position;
        while self.byte().is_some_and(|byte| !is_delimiter(byte)) {
            self.position += 1;
        }
        self.text.get(start..self.position).unwrap_or_default()
    }
}

fn is_delimiter(byte: u8) -> bool {
    byte.is_ascii_whitespace() || b",()[]{}\";".contains(&byte)
}

fn is_number(token: &str) -> bool {
    let unsigned = token.strip_prefix(['+', '-']).unwrap_or(token);
    unsigned.starts_with(|c: char| c.is_ascii_digit())
}

fn opening(close: u8) -> char {
    match close {
        b']' => '[',
        b')' => '(',
        _ => '{',
    }
}

impl fmt::Display for Edn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Edn::Nil => f.write_str("nil"),
            Edn::Bool(value) => write!(f, "{value}"),
            Edn::Integer(value) => write!(f, "{value}"),
            Edn::Float(value) => write!(f, "{value:?}"),
            Edn::String(text) => write!(f, "{text:?}"),
            Edn::Keyword(name) => write!(f, ":{name}"),
            Edn::Symbol(name) => f.write_str(name),
            Edn::Vector(elements) => write_sequence(f, "[", elements, "]"),
            Edn::List(elements) => write_sequence(f, "(", elements, ")"),
            Edn::Set(elements) => write_sequence(f, "#{", elements, "}"),
            Edn::Map(entries) => {
                f.write_str("{")?;
                for (index, (key, value)) in entries.iter().enumerate() {
                    let separator = if index == 0 { "" } else { ", " };
                    write!(f, "{separator}{key} {value}")?;
                }
                f.write_str("}")
            }
            Edn::Tagged(tag, inner) => write!(f, "#{tag} {inner}"),
        }
    }
}

fn write_sequence(f: &mut fmt::Formatter<'_>, open: &str, elements: &[Edn], close: &str) -> fmt::Result {
    f.write_str(open)?;
    for (index, element) in elements.iter().enumerate() {
        let separator = if index == 0 { "" } else { " " };
        write!(f, "{separator}{element}")?;
    }
    f.write_str(close)
}
