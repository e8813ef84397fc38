//! The emulator's list filter: a subset of AIP-160.
//!
//! ```text
//! expression := sequence { "AND" sequence }
//! sequence   := factor { factor }            (juxtaposition means AND)
//! factor     := term { "OR" term }           (OR binds tighter than AND)
//! term       := [ "NOT" | "-" ] simple
//! simple     := field ( "=" | "!=" ) value | "(" expression ")"
//! ```
//!
//! Fields: `done` (true/false), `name`, `metadata.state`, `metadata.type`,
//! `metadata.description`. Values are bare words or double-quoted strings;
//! in a value `*` stands for any text (`metadata.description="nightly-*"`).
//! What AIP-160 has beyond this — the `:` (has) operator, the comparisons
//! `<`, `<=`, `>`, `>=` (on times or anything else), functions — is refused
//! with an error that names it, never matched another way.

use crate::proto::earthengine::State;

/// What a filter looks at in one operation.
pub(crate) struct FilterView<'a> {
    pub(crate) done: bool,
    pub(crate) state: State,
    pub(crate) kind: &'a str,
    pub(crate) name: &'a str,
    pub(crate) description: &'a str,
}

/// A parsed filter.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Filter {
    All,
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
    Not(Box<Filter>),
    Compare {
        field: Field,
        equal: bool,
        value: String,
    },
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Field {
    Done,
    Name,
    State,
    Type,
    Description,
}

const FIELDS: &str = "done, name, metadata.state, metadata.type, metadata.description";

#[derive(Clone, Debug, PartialEq)]
enum Token {
    Word(String),
    Quoted(String),
    Equal,
    NotEqual,
    Has,
    Compare(&'static str),
    Open,
    Close,
    Minus,
}

impl Filter {
    /// Parses a filter; an empty or blank one matches everything.
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let tokens = tokenize(text)?;
        if tokens.is_empty() {
            return Ok(Self::All);
        }
        let mut parser = Parser {
            tokens,
            position: 0,
        };
        let filter = parser.expression()?;
        if let Some(extra) = parser.tokens.get(parser.position) {
            return Err(format!("unexpected {} at the end", describe(extra)));
        }
        Ok(filter)
    }

    pub(crate) fn matches(&self, view: &FilterView<'_>) -> bool {
        match self {
            Self::All => true,
            Self::And(a, b) => a.matches(view) && b.matches(view),
            Self::Or(a, b) => a.matches(view) || b.matches(view),
            Self::Not(inner) => !inner.matches(view),
            Self::Compare {
                field,
                equal,
                value,
            } => {
                let actual = match field {
                    Field::Done => view.done.to_string(),
                    Field::Name => view.name.to_owned(),
                    Field::State => view.state.as_str_name().to_owned(),
                    Field::Type => view.kind.to_owned(),
                    Field::Description => view.description.to_owned(),
                };
                stars_match(value, &actual) == *equal
            }
        }
    }
}

/// Whether `text` equals `pattern`, each `*` in which stands for any text
/// (AIP-160's wildcard for string equality).
fn stars_match(pattern: &str, text: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or_default();
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    let middle: Vec<&str> = parts.collect();
    let Some((last, between)) = middle.split_last() else {
        return rest.is_empty();
    };
    for part in between {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

fn describe(token: &Token) -> String {
    match token {
        Token::Word(word) => format!("{word:?}"),
        Token::Quoted(text) => format!("\"{text}\""),
        Token::Equal => "'='".into(),
        Token::NotEqual => "'!='".into(),
        Token::Has => "':'".into(),
        Token::Compare(operator) => format!("'{operator}'"),
        Token::Open => "'('".into(),
        Token::Close => "')'".into(),
        Token::Minus => "'-'".into(),
    }
}

fn tokenize(text: &str) -> Result<Vec<Token>, String> {
    let mut tokens = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        match c {
            c if c.is_whitespace() => {}
            '(' => tokens.push(Token::Open),
            ')' => tokens.push(Token::Close),
            '=' => tokens.push(Token::Equal),
            ':' => tokens.push(Token::Has),
            '<' | '>' => {
                let or_equal = chars.next_if(|&(_, next)| next == '=').is_some();
                tokens.push(Token::Compare(match (c, or_equal) {
                    ('<', false) => "<",
                    ('<', true) => "<=",
                    ('>', false) => ">",
                    _ => ">=",
                }));
            }
            '-' if tokens
                .last()
                .is_none_or(|t| !matches!(t, Token::Equal | Token::NotEqual | Token::Has)) =>
            {
                tokens.push(Token::Minus);
            }
            '!' => match chars.next() {
                Some((_, '=')) => tokens.push(Token::NotEqual),
                _ => return Err(format!("'!' at position {at} must be followed by '='")),
            },
            '"' => {
                let mut value = String::new();
                loop {
                    match chars.next() {
                        Some((_, '"')) => break,
                        Some((_, '\\')) => match chars.next() {
                            Some((_, escaped)) => value.push(escaped),
                            None => return Err("unterminated string at the end".into()),
                        },
                        Some((_, other)) => value.push(other),
                        None => {
                            return Err(format!("unterminated string starting at position {at}"));
                        }
                    }
                }
                tokens.push(Token::Quoted(value));
            }
            _ => {
                let mut word = String::from(c);
                while let Some(&(_, next)) = chars.peek() {
                    if next.is_whitespace() || "()=!:<>\"".contains(next) {
                        break;
                    }
                    word.push(next);
                    chars.next();
                }
                tokens.push(Token::Word(word));
            }
        }
    }
    Ok(tokens)
}

struct Parser {
    tokens: Vec<Token>,
    position: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.position)
    }

    fn next(&mut self) -> Option<Token> {
        let token = self.tokens.get(self.position).cloned();
        self.position += 1;
        token
    }

    fn peek_keyword(&self, keyword: &str) -> bool {
        matches!(self.peek(), Some(Token::Word(word)) if word == keyword)
    }

    fn expression(&mut self) -> Result<Filter, String> {
        let mut left = self.sequence()?;
        while self.peek_keyword("AND") {
            self.position += 1;
            let right = self.sequence()?;
            left = Filter::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn sequence(&mut self) -> Result<Filter, String> {
        let mut left = self.factor()?;
        while let Some(token) = self.peek() {
            if matches!(token, Token::Close) || self.peek_keyword("AND") {
                break;
            }
            let right = self.factor()?;
            left = Filter::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn factor(&mut self) -> Result<Filter, String> {
        let mut left = self.term()?;
        while self.peek_keyword("OR") {
            self.position += 1;
            let right = self.term()?;
            left = Filter::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn term(&mut self) -> Result<Filter, String> {
        if self.peek_keyword("NOT") || matches!(self.peek(), Some(Token::Minus)) {
            self.position += 1;
            return Ok(Filter::Not(Box::new(self.simple()?)));
        }
        self.simple()
    }

    fn simple(&mut self) -> Result<Filter, String> {
        match self.next() {
            Some(Token::Open) => {
                let inner = self.expression()?;
                match self.next() {
                    Some(Token::Close) => Ok(inner),
                    Some(other) => Err(format!("expected ')' but found {}", describe(&other))),
                    None => Err("missing ')' at the end".into()),
                }
            }
            Some(Token::Word(name)) if !matches!(name.as_str(), "AND" | "OR" | "NOT") => {
                let field = field(&name)?;
                let equal = match self.next() {
                    Some(Token::Equal) => true,
                    Some(Token::NotEqual) => false,
                    Some(Token::Has) => {
                        return Err(format!(
                            "the ':' (has) operator after {name:?} is not supported by this \
                             server; use '=' or '!='"
                        ));
                    }
                    Some(Token::Compare(operator)) => {
                        return Err(format!(
                            "the comparison '{operator}' after {name:?} is not supported by this \
                             server (no field here is ordered, times included); use '=' or '!='"
                        ));
                    }
                    Some(Token::Open) => {
                        return Err(format!(
                            "functions such as {name}(...) are not supported by this server"
                        ));
                    }
                    Some(other) => {
                        return Err(format!(
                            "expected '=' or '!=' after {name:?} but found {}",
                            describe(&other)
                        ));
                    }
                    None => return Err(format!("expected '=' or '!=' after {name:?}")),
                };
                let value = match self.next() {
                    Some(Token::Word(value) | Token::Quoted(value)) => value,
                    Some(other) => {
                        return Err(format!(
                            "expected a value after {name:?} but found {}",
                            describe(&other)
                        ));
                    }
                    None => return Err(format!("missing value after {name:?}")),
                };
                Ok(Filter::Compare {
                    field,
                    equal,
                    value: check_value(field, value)?,
                })
            }
            Some(other) => Err(format!(
                "expected a field name or '(' but found {}",
                describe(&other)
            )),
            None => Err("the filter ends where a condition was expected".into()),
        }
    }
}

fn field(name: &str) -> Result<Field, String> {
    match name {
        "done" => Ok(Field::Done),
        "name" => Ok(Field::Name),
        "metadata.state" => Ok(Field::State),
        "metadata.type" => Ok(Field::Type),
        "metadata.description" => Ok(Field::Description),
        other => Err(format!(
            "unknown field {other:?}; filterable fields are {FIELDS}"
        )),
    }
}

fn check_value(field: Field, value: String) -> Result<String, String> {
    match field {
        Field::Done if value != "true" && value != "false" => {
            Err(format!("done must be true or false, not {value:?}"))
        }
        Field::State => {
            let upper = value.to_ascii_uppercase();
            if State::from_str_name(&upper).is_some() {
                Ok(upper)
            } else {
                Err(format!(
                    "unknown state {value:?}; states are PENDING, RUNNING, CANCELLING, SUCCEEDED, CANCELLED, FAILED"
                ))
            }
        }
        _ => Ok(value),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(done: bool, state: State, kind: &str) -> FilterView<'_> {
        FilterView {
            done,
            state,
            kind,
            name: "projects/p/operations/X",
            description: "d e",
        }
    }

    #[test]
    fn equality_and_boolean_operators() {
        let running = view(false, State::Running, "EXPORT_IMAGE");
        let failed = view(true, State::Failed, "INGEST_TABLE");
        let cases = [
            ("", true, true),
            ("done=false", true, false),
            ("done = true", false, true),
            ("metadata.state=RUNNING", true, false),
            ("metadata.state=\"running\"", true, false),
            (
                "metadata.state=RUNNING OR metadata.state=FAILED",
                true,
                true,
            ),
            ("metadata.type=EXPORT_IMAGE AND done=false", true, false),
            ("metadata.type=INGEST_TABLE done=true", false, true),
            ("NOT done=true", true, false),
            ("-done=true", true, false),
            ("metadata.state!=RUNNING", false, true),
            (
                "(metadata.state=PENDING OR metadata.state=RUNNING) AND metadata.type=EXPORT_IMAGE",
                true,
                false,
            ),
            ("metadata.description=\"d e\"", true, true),
            ("metadata.type=EXPORT_*", true, false),
            ("metadata.type=\"*_TABLE\"", false, true),
            ("metadata.type!=*IMAGE", false, true),
            ("name=projects/p/*/X", true, true),
        ];
        for (text, want_running, want_failed) in cases {
            let filter = Filter::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(filter.matches(&running), want_running, "{text} on running");
            assert_eq!(filter.matches(&failed), want_failed, "{text} on failed");
        }
    }

    #[test]
    fn stars_stand_for_any_text() {
        for (pattern, text, expected) in [
            ("*", "", true),
            ("a*", "abc", true),
            ("*c", "abc", true),
            ("a*c", "ac", true),
            ("a*b*c", "aXbYc", true),
            ("a*b*c", "aXcYb", false),
            ("ab*ba", "aba", false),
            ("abc", "abc", true),
            ("abc", "abcd", false),
        ] {
            assert_eq!(stars_match(pattern, text), expected, "{pattern} {text}");
        }
    }

    #[test]
    fn or_binds_tighter_than_and() {
        let filter = Filter::parse("done=true AND metadata.type=A OR metadata.type=B");
        let expected = Filter::parse("done=true AND (metadata.type=A OR metadata.type=B)");
        assert_eq!(filter, expected);
    }

    #[test]
    fn errors_name_the_problem() {
        for (text, needle) in [
            ("state=RUNNING", "unknown field \"state\""),
            ("done=maybe", "true or false"),
            ("metadata.state=DONE", "unknown state"),
            ("done=", "missing value"),
            ("(done=true", "missing ')'"),
            ("done=true)", "unexpected ')'"),
            ("metadata.type=\"open", "unterminated"),
            ("done ! true", "followed by '='"),
            ("AND", "expected a field name"),
            ("metadata.type:EXPORT_IMAGE", "':' (has) operator"),
            ("metadata.state>RUNNING", "comparison '>'"),
            (
                "metadata.createTime >= \"2024-01-01T00:00:00Z\"",
                "unknown field",
            ),
            ("done<=true", "comparison '<='"),
            ("name < \"x\"", "comparison '<'"),
            ("metadata.description>=a", "comparison '>='"),
            ("done(true)", "functions"),
        ] {
            let error = Filter::parse(text).expect_err(text);
            assert!(error.contains(needle), "{text}: {error}");
        }
    }
}
