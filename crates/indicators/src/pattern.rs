//! The subset of STIX 2.1 patterning the scanner can evaluate.
//!
//! Observation expressions (`[ … ]`) may be joined by `OR`, `AND` and `FOLLOWEDBY`; the
//! last two both mean "all of them were seen in the same report", since a report has no
//! event order. Qualifiers (`WITHIN`, `START … STOP`, `REPEATS`) are parsed and ignored.
//! Inside an observation, comparisons are joined by `OR`/`AND` with parentheses.

use std::collections::HashMap;

use crate::observable::{Atom, HashAlgo, Observable};

/// Patterns longer than this are refused rather than parsed.
pub const MAX_PATTERN_BYTES: usize = 256 * 1024;
/// Deepest nesting of brackets and parentheses accepted.
pub const MAX_NESTING: usize = 32;

/// Why a pattern was not loaded.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PatternError {
    #[error("syntax error at byte {at}: {what}")]
    Syntax { at: usize, what: &'static str },
    #[error("pattern longer than {MAX_PATTERN_BYTES} bytes")]
    TooLong,
    #[error("pattern nested deeper than {MAX_NESTING} levels")]
    TooDeep,
    #[error("unsupported object path `{0}`")]
    UnsupportedPath(String),
    #[error("unsupported operator `{op}` on `{path}`")]
    UnsupportedOperator { path: String, op: String },
    #[error("invalid value `{value}` for `{observable}`: {why}")]
    InvalidValue {
        observable: Observable,
        value: String,
        why: &'static str,
    },
}

/// A boolean combination of atoms, by index into [`Pattern::atoms`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Expr {
    Atom(u32),
    And(Vec<Expr>),
    Or(Vec<Expr>),
}

impl Expr {
    pub fn eval(&self, hit: &impl Fn(u32) -> bool) -> bool {
        match self {
            Self::Atom(i) => hit(*i),
            Self::And(all) => all.iter().all(|e| e.eval(hit)),
            Self::Or(any) => any.iter().any(|e| e.eval(hit)),
        }
    }

    fn join(self, other: Expr, and: bool) -> Expr {
        match (self, and) {
            (Self::And(mut all), true) => {
                all.push(other);
                Self::And(all)
            }
            (Self::Or(mut any), false) => {
                any.push(other);
                Self::Or(any)
            }
            (first, true) => Self::And(vec![first, other]),
            (first, false) => Self::Or(vec![first, other]),
        }
    }
}

/// A compiled pattern: distinct atoms and the expression over them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Pattern {
    pub expr: Expr,
    pub atoms: Vec<Atom>,
}

pub(crate) fn compile(source: &str) -> Result<Pattern, PatternError> {
    if source.len() > MAX_PATTERN_BYTES {
        return Err(PatternError::TooLong);
    }
    let tokens = lex(source)?;
    let mut parser = Parser {
        tokens,
        pos: 0,
        end: source.len(),
        depth: 0,
        atoms: HashMap::new(),
    };
    let expr = parser.observations()?;
    if let Some(token) = parser.tokens.get(parser.pos) {
        return Err(PatternError::Syntax {
            at: token.at,
            what: "unexpected token after the pattern",
        });
    }
    let mut atoms: Vec<(Atom, u32)> = parser.atoms.into_iter().collect();
    atoms.sort_by_key(|(_, i)| *i);
    Ok(Pattern {
        expr,
        atoms: atoms.into_iter().map(|(a, _)| a).collect(),
    })
}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    LBracket,
    RBracket,
    LParen,
    RParen,
    Comma,
    Colon,
    Dot,
    Star,
    Op(&'static str),
    Str(String),
    /// `t'…'`, `b'…'`, `h'…'`: recognised, never usable as a value here.
    Typed(char),
    Num,
    Word(String),
}

#[derive(Debug)]
struct Token {
    tok: Tok,
    at: usize,
}

fn lex(src: &str) -> Result<Vec<Token>, PatternError> {
    let mut tokens = Vec::new();
    let mut chars = src.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        let syntax = |what| PatternError::Syntax { at, what };
        let tok = match c {
            c if c.is_whitespace() => continue,
            '[' => Tok::LBracket,
            ']' => Tok::RBracket,
            '(' => Tok::LParen,
            ')' => Tok::RParen,
            ',' => Tok::Comma,
            ':' => Tok::Colon,
            '.' => Tok::Dot,
            '*' => Tok::Star,
            '=' => Tok::Op("="),
            '!' | '<' | '>' => {
                let two = chars.next_if(|(_, n)| *n == '=').is_some();
                match (c, two) {
                    ('!', true) => Tok::Op("!="),
                    ('<', true) => Tok::Op("<="),
                    ('>', true) => Tok::Op(">="),
                    ('<', false) => Tok::Op("<"),
                    ('>', false) => Tok::Op(">"),
                    _ => return Err(syntax("expected `!=`")),
                }
            }
            '\'' => Tok::Str(string(&mut chars).ok_or(syntax("unterminated string or bad escape"))?),
            '-' | '0'..='9' => {
                while chars.next_if(|(_, n)| n.is_ascii_digit() || *n == '.').is_some() {}
                Tok::Num
            }
            c if c.is_ascii_alphabetic() || c == '_' => {
                let mut word = String::from(c);
                while let Some((_, n)) =
                    chars.next_if(|(_, n)| n.is_ascii_alphanumeric() || "_-".contains(*n))
                {
                    word.push(n);
                }
                if matches!(word.as_str(), "t" | "b" | "h") && chars.next_if(|(_, n)| *n == '\'').is_some() {
                    string(&mut chars).ok_or(syntax("unterminated string or bad escape"))?;
                    Tok::Typed(c)
                } else {
                    Tok::Word(word)
                }
            }
            _ => return Err(syntax("unexpected character")),
        };
        tokens.push(Token { tok, at });
    }
    Ok(tokens)
}

/// Reads a string literal after its opening quote. STIX allows only `\'` and `\\`.
fn string(chars: &mut std::iter::Peekable<std::str::CharIndices<'_>>) -> Option<String> {
    let mut out = String::new();
    loop {
        match chars.next()?.1 {
            '\'' => return Some(out),
            '\\' => match chars.next()?.1 {
                c @ ('\'' | '\\') => out.push(c),
                _ => return None,
            },
            c => out.push(c),
        }
    }
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
    /// Byte offset reported for errors at the end of the input.
    end: usize,
    depth: usize,
    atoms: HashMap<Atom, u32>,
}

enum Literal {
    Str(String),
    Other,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.tokens.get(self.pos).map(|t| &t.tok)
    }

    fn at(&self) -> usize {
        self.tokens.get(self.pos).map_or(self.end, |t| t.at)
    }

    fn syntax(&self, what: &'static str) -> PatternError {
        PatternError::Syntax { at: self.at(), what }
    }

    fn eat(&mut self, tok: &Tok) -> bool {
        let found = self.peek() == Some(tok);
        if found {
            self.pos += 1;
        }
        found
    }

    fn expect(&mut self, tok: &Tok, what: &'static str) -> Result<(), PatternError> {
        if self.eat(tok) {
            Ok(())
        } else {
            Err(self.syntax(what))
        }
    }

    /// Keywords are upper case in the grammar; lower case is accepted too.
    fn eat_keyword(&mut self, keyword: &str) -> bool {
        let found = matches!(self.peek(), Some(Tok::Word(w)) if w.eq_ignore_ascii_case(keyword));
        if found {
            self.pos += 1;
        }
        found
    }

    fn expect_keyword(&mut self, keyword: &str, what: &'static str) -> Result<(), PatternError> {
        if self.eat_keyword(keyword) {
            Ok(())
        } else {
            Err(self.syntax(what))
        }
    }

    fn nest(&mut self) -> Result<(), PatternError> {
        self.depth += 1;
        if self.depth > MAX_NESTING {
            Err(PatternError::TooDeep)
        } else {
            Ok(())
        }
    }

    /// observations := or ( FOLLOWEDBY or )*
    fn observations(&mut self) -> Result<Expr, PatternError> {
        let mut expr = self.observation_or()?;
        while self.eat_keyword("FOLLOWEDBY") {
            expr = expr.join(self.observation_or()?, true);
        }
        Ok(expr)
    }

    fn observation_or(&mut self) -> Result<Expr, PatternError> {
        let mut expr = self.observation_and()?;
        while self.eat_keyword("OR") {
            expr = expr.join(self.observation_and()?, false);
        }
        Ok(expr)
    }

    fn observation_and(&mut self) -> Result<Expr, PatternError> {
        let mut expr = self.qualified_observation()?;
        while self.eat_keyword("AND") {
            expr = expr.join(self.qualified_observation()?, true);
        }
        Ok(expr)
    }

    fn qualified_observation(&mut self) -> Result<Expr, PatternError> {
        self.nest()?;
        let expr = if self.eat(&Tok::LBracket) {
            let expr = self.comparison_or()?;
            self.expect(&Tok::RBracket, "expected `]`")?;
            expr
        } else if self.eat(&Tok::LParen) {
            let expr = self.observations()?;
            self.expect(&Tok::RParen, "expected `)`")?;
            expr
        } else {
            return Err(self.syntax("expected `[` or `(`"));
        };
        self.depth -= 1;
        self.qualifiers()?;
        Ok(expr)
    }

    fn qualifiers(&mut self) -> Result<(), PatternError> {
        loop {
            if self.eat_keyword("WITHIN") {
                self.expect(&Tok::Num, "expected a number of seconds")?;
                self.expect_keyword("SECONDS", "expected `SECONDS`")?;
            } else if self.eat_keyword("START") {
                self.expect(&Tok::Typed('t'), "expected a timestamp")?;
                self.expect_keyword("STOP", "expected `STOP`")?;
                self.expect(&Tok::Typed('t'), "expected a timestamp")?;
            } else if self.eat_keyword("REPEATS") {
                self.expect(&Tok::Num, "expected a count")?;
                self.expect_keyword("TIMES", "expected `TIMES`")?;
            } else {
                return Ok(());
            }
        }
    }

    fn comparison_or(&mut self) -> Result<Expr, PatternError> {
        let mut expr = self.comparison_and()?;
        while self.eat_keyword("OR") {
            expr = expr.join(self.comparison_and()?, false);
        }
        Ok(expr)
    }

    fn comparison_and(&mut self) -> Result<Expr, PatternError> {
        let mut expr = self.comparison()?;
        while self.eat_keyword("AND") {
            expr = expr.join(self.comparison()?, true);
        }
        Ok(expr)
    }

    fn comparison(&mut self) -> Result<Expr, PatternError> {
        if self.eat(&Tok::LParen) {
            self.nest()?;
            let expr = self.comparison_or()?;
            self.expect(&Tok::RParen, "expected `)`")?;
            self.depth -= 1;
            return Ok(expr);
        }
        if self.eat_keyword("EXISTS") {
            let path = self.object_path()?;
            return Err(PatternError::UnsupportedOperator {
                path,
                op: "EXISTS".into(),
            });
        }
        let path = self.object_path()?;
        let negated = self.eat_keyword("NOT");
        let op = match self.peek() {
            Some(Tok::Op(op)) => op.to_string(),
            Some(Tok::Word(w)) => w.to_ascii_uppercase(),
            _ => return Err(self.syntax("expected an operator")),
        };
        self.pos += 1;
        let values = match op.as_str() {
            "IN" => self.set_literal()?,
            "=" | "!=" | "<" | "<=" | ">" | ">=" | "LIKE" | "MATCHES" | "ISSUBSET" | "ISSUPERSET" => {
                vec![self.literal()?]
            }
            _ => return Err(self.syntax("expected an operator")),
        };
        if negated {
            return Err(PatternError::UnsupportedOperator {
                path,
                op: format!("NOT {op}"),
            });
        }
        let observable = observable(&path)?;
        let unsupported = || PatternError::UnsupportedOperator {
            path: path.clone(),
            op: op.clone(),
        };
        let mut expr: Option<Expr> = None;
        for value in values {
            let Literal::Str(value) = value else {
                return Err(PatternError::InvalidValue {
                    observable,
                    value: "(non-string literal)".into(),
                    why: "only string values are supported",
                });
            };
            let value = match op.as_str() {
                "=" | "IN" => value,
                "LIKE" => like(observable, &value).ok_or_else(unsupported)?,
                "ISSUBSET" if observable == Observable::Ipv4Addr => value,
                _ => return Err(unsupported()),
            };
            let atom = Atom::new(observable, &value).map_err(|why| PatternError::InvalidValue {
                observable,
                value,
                why,
            })?;
            let next = self.atoms.len() as u32;
            let index = *self.atoms.entry(atom).or_insert(next);
            expr = Some(match expr {
                None => Expr::Atom(index),
                Some(e) => e.join(Expr::Atom(index), false),
            });
        }
        expr.ok_or_else(|| self.syntax("empty set"))
    }

    /// type ':' component ( '.' component | '[' index ']' )*, rendered back as text.
    fn object_path(&mut self) -> Result<String, PatternError> {
        let Some(Tok::Word(object)) = self.peek().cloned() else {
            return Err(self.syntax("expected an object path"));
        };
        self.pos += 1;
        self.expect(&Tok::Colon, "expected `:`")?;
        let mut path = format!("{object}:");
        self.path_component(&mut path)?;
        loop {
            if self.eat(&Tok::Dot) {
                path.push('.');
                self.path_component(&mut path)?;
            } else if self.eat(&Tok::LBracket) {
                if !(self.eat(&Tok::Num) || self.eat(&Tok::Star)) {
                    return Err(self.syntax("expected a list index"));
                }
                self.expect(&Tok::RBracket, "expected `]`")?;
                path.push_str("[]");
            } else {
                return Ok(path);
            }
        }
    }

    fn path_component(&mut self, path: &mut String) -> Result<(), PatternError> {
        match self.peek() {
            Some(Tok::Word(w)) => path.push_str(w),
            Some(Tok::Str(s)) => {
                path.push('\'');
                path.push_str(s);
                path.push('\'');
            }
            _ => return Err(self.syntax("expected a property name")),
        }
        self.pos += 1;
        Ok(())
    }

    fn literal(&mut self) -> Result<Literal, PatternError> {
        let literal = match self.peek() {
            Some(Tok::Str(s)) => Literal::Str(s.clone()),
            Some(Tok::Num | Tok::Typed(_)) => Literal::Other,
            Some(Tok::Word(w)) if w == "true" || w == "false" => Literal::Other,
            _ => return Err(self.syntax("expected a literal")),
        };
        self.pos += 1;
        Ok(literal)
    }

    fn set_literal(&mut self) -> Result<Vec<Literal>, PatternError> {
        self.expect(&Tok::LParen, "expected `(`")?;
        let mut values = vec![self.literal()?];
        while self.eat(&Tok::Comma) {
            values.push(self.literal()?);
        }
        self.expect(&Tok::RParen, "expected `)`")?;
        Ok(values)
    }
}

fn observable(path: &str) -> Result<Observable, PatternError> {
    let (object, property) = path.split_once(':').unwrap_or((path, ""));
    let observable = match (object, property) {
        ("domain-name", "value") => Some(Observable::DomainName),
        ("url", "value") => Some(Observable::Url),
        ("ipv4-addr", "value") => Some(Observable::Ipv4Addr),
        ("email-addr", "value") => Some(Observable::EmailAddr),
        ("process", "name") => Some(Observable::ProcessName),
        ("file", property) => property
            .strip_prefix("hashes.")
            .map(|name| name.trim_matches('\''))
            .and_then(HashAlgo::from_stix_name)
            .map(Observable::FileHash),
        _ => None,
    };
    observable.ok_or_else(|| PatternError::UnsupportedPath(path.to_owned()))
}

/// The few `LIKE` forms with an exact equivalent: no wildcard at all, `%.name` on a domain
/// (which this scanner also matches on the name itself) and a trailing `%` on a URL (URLs
/// already match as prefixes).
fn like(observable: Observable, value: &str) -> Option<String> {
    let wild = |s: &str| s.contains(['%', '_']);
    let plain = match observable {
        Observable::DomainName => value.strip_prefix("%.").unwrap_or(value),
        Observable::Url => value.strip_suffix('%').unwrap_or(value),
        _ => value,
    };
    // `_` is a wildcard in LIKE but common in names; accept it only where it cannot
    // match anything but itself, i.e. never.
    (!wild(plain)).then(|| plain.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn atoms(src: &str) -> Vec<(Observable, String)> {
        compile(src)
            .unwrap()
            .atoms
            .into_iter()
            .map(|a| (a.observable(), a.value))
            .collect()
    }

    #[test]
    fn keywords_and_nesting() {
        let p = compile("[domain-name:value = 'a.example' AND (url:value = 'http://b.example/x' OR email-addr:value = 'c@d.example')]").unwrap();
        assert_eq!(
            p.expr,
            Expr::And(vec![Expr::Atom(0), Expr::Or(vec![Expr::Atom(1), Expr::Atom(2)])])
        );
        let p = compile("[process:name = 'x'] followedby [process:name = 'y'] within 10 seconds").unwrap();
        assert_eq!(p.expr, Expr::And(vec![Expr::Atom(0), Expr::Atom(1)]));
    }

    #[test]
    fn duplicate_values_share_one_atom() {
        let p = compile("[domain-name:value = 'a.example'] OR [domain-name:value = 'A.example']").unwrap();
        assert_eq!(p.atoms.len(), 1);
        assert_eq!(p.expr, Expr::Or(vec![Expr::Atom(0), Expr::Atom(0)]));
    }

    #[test]
    fn escapes_in_strings() {
        assert_eq!(
            atoms(r"[process:name = 'it\'s\\x']"),
            vec![(Observable::ProcessName, r"it's\x".into())]
        );
        assert!(matches!(
            compile(r"[process:name = 'a\n']"),
            Err(PatternError::Syntax { .. })
        ));
    }

    #[test]
    fn like_forms() {
        assert_eq!(
            atoms("[domain-name:value LIKE '%.evil.example']"),
            vec![(Observable::DomainName, "evil.example".into())]
        );
        assert!(matches!(
            compile("[domain-name:value LIKE 'ev%l.example']"),
            Err(PatternError::UnsupportedOperator { .. })
        ));
    }

    #[test]
    fn deep_nesting_is_refused_without_overflow() {
        let src = format!("{}[process:name = 'x']{}", "(".repeat(10_000), ")".repeat(10_000));
        assert_eq!(compile(&src), Err(PatternError::TooDeep));
        let src = format!("[{}process:name = 'x'{}]", "(".repeat(10_000), ")".repeat(10_000));
        assert_eq!(compile(&src), Err(PatternError::TooDeep));
    }
}
