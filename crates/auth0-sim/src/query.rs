//! The subset of Auth0's v3 user-search (Lucene) syntax that rosterd and the
//! SDKs use: `field:value`, `field:"quoted value"`, a trailing `*` prefix
//! wildcard, `_exists_:field`, `AND`/`OR`/`NOT` (also `&&`, `||`, `-`),
//! parentheses, and juxtaposition as AND.
//!
//! Matching follows the v3 engine: `email`, `name`, `given_name`,
//! `family_name`, `nickname` and `username` compare case-insensitively,
//! everything else (user ids, metadata) exactly; a dotted path walks into
//! objects and across arrays (`identities.connection`). Metadata values
//! compare by their text, so `app_metadata.employee_id:42` finds both `42`
//! and `"42"` (rosterd stores ids as numbers; a hand-made account may not).
//! Anything else — ranges, fuzzy `~`, boosts, bare terms without a field —
//! is refused with a 400 rather than answered wrongly.

use serde_json::Value;

use super::state::Doc;

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Query {
    Term {
        field: String,
        value: String,
        prefix: bool,
    },
    Exists(String),
    And(Box<Query>, Box<Query>),
    Or(Box<Query>, Box<Query>),
    Not(Box<Query>),
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Open,
    Close,
    And,
    Or,
    Not,
    Term(Query),
}

const CASE_INSENSITIVE: &[&str] = &[
    "email",
    "name",
    "given_name",
    "family_name",
    "nickname",
    "username",
];

pub(crate) fn parse(input: &str) -> Result<Query, String> {
    let tokens = tokenize(input)?;
    // And/Or nest one level per term, and matching recurses through them.
    if tokens.len() > MAX_TOKENS {
        return Err(format!(
            "query has more than {MAX_TOKENS} terms and operators"
        ));
    }
    let mut parser = Parser {
        tokens,
        pos: 0,
        depth: 0,
    };
    let query = parser.or()?;
    if parser.pos != parser.tokens.len() {
        return Err("unexpected ')'".into());
    }
    Ok(query)
}

fn tokenize(input: &str) -> Result<Vec<Token>, String> {
    let chars: Vec<char> = input.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '(' {
            tokens.push(Token::Open);
            i += 1;
        } else if c == ')' {
            tokens.push(Token::Close);
            i += 1;
        } else if c == '-' || c == '!' {
            tokens.push(Token::Not);
            i += 1;
        } else {
            // A word: an operator, or `field:value`.
            let start = i;
            let mut field = String::new();
            while i < chars.len() && !chars[i].is_whitespace() && !"():".contains(chars[i]) {
                if chars[i] == '\\' && i + 1 < chars.len() {
                    i += 1;
                }
                field.push(chars[i]);
                i += 1;
            }
            if i >= chars.len() || chars[i] != ':' {
                match field.as_str() {
                    "AND" | "&&" => tokens.push(Token::And),
                    "OR" | "||" => tokens.push(Token::Or),
                    "NOT" => tokens.push(Token::Not),
                    _ => {
                        let word: String = chars[start..i].iter().collect();
                        return Err(format!("'{word}' has no field (use field:value)"));
                    }
                }
                continue;
            }
            i += 1; // ':'
            let (value, quoted) = read_value(&chars, &mut i)?;
            if field == "_exists_" {
                tokens.push(Token::Term(Query::Exists(value)));
                continue;
            }
            if field.is_empty() || value.is_empty() {
                return Err("empty field or value".into());
            }
            let prefix = !quoted && value.ends_with('*');
            let value = if prefix {
                value.trim_end_matches('*').to_string()
            } else {
                value
            };
            if !quoted && (value.contains('*') || value.contains('?') || value.contains('~')) {
                return Err(format!("unsupported wildcard or fuzzy term in {field}"));
            }
            tokens.push(Token::Term(Query::Term {
                field,
                value,
                prefix,
            }));
        }
    }
    Ok(tokens)
}

fn read_value(chars: &[char], i: &mut usize) -> Result<(String, bool), String> {
    let mut value = String::new();
    match chars.get(*i) {
        Some('"') => {
            *i += 1;
            loop {
                match chars.get(*i) {
                    None => return Err("unterminated quoted value".into()),
                    Some('"') => {
                        *i += 1;
                        return Ok((value, true));
                    }
                    Some('\\') if *i + 1 < chars.len() => {
                        value.push(chars[*i + 1]);
                        *i += 2;
                    }
                    Some(c) => {
                        value.push(*c);
                        *i += 1;
                    }
                }
            }
        }
        Some('[') | Some('{') => Err("range queries are not supported".into()),
        Some('(') => Err("grouped values are not supported".into()),
        _ => {
            while *i < chars.len() && !chars[*i].is_whitespace() && !"()".contains(chars[*i]) {
                if chars[*i] == '\\' && *i + 1 < chars.len() {
                    *i += 1;
                }
                value.push(chars[*i]);
                *i += 1;
            }
            Ok((value, false))
        }
    }
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
    /// Nesting of `(` and `NOT`, bounded so no query can exhaust the stack.
    depth: usize,
}

const MAX_DEPTH: usize = 32;
const MAX_TOKENS: usize = 1024;

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn or(&mut self) -> Result<Query, String> {
        let mut left = self.and()?;
        while self.peek() == Some(&Token::Or) {
            self.pos += 1;
            let right = self.and()?;
            left = Query::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Query, String> {
        let mut left = self.unary()?;
        loop {
            match self.peek() {
                Some(Token::And) => self.pos += 1,
                Some(Token::Open | Token::Not | Token::Term(_)) => {}
                _ => return Ok(left),
            }
            let right = self.unary()?;
            left = Query::And(Box::new(left), Box::new(right));
        }
    }

    fn unary(&mut self) -> Result<Query, String> {
        let token = self.peek().cloned();
        self.pos += 1;
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err("query nested too deeply".into());
        }
        let parsed = self.unary_inner(token);
        self.depth -= 1;
        parsed
    }

    fn unary_inner(&mut self, token: Option<Token>) -> Result<Query, String> {
        match token {
            Some(Token::Not) => Ok(Query::Not(Box::new(self.unary()?))),
            Some(Token::Open) => {
                let inner = self.or()?;
                if self.peek() != Some(&Token::Close) {
                    return Err("missing ')'".into());
                }
                self.pos += 1;
                Ok(inner)
            }
            Some(Token::Term(q)) => Ok(q),
            _ => Err("incomplete query".into()),
        }
    }
}

impl Query {
    pub(crate) fn matches(&self, doc: &Doc) -> bool {
        match self {
            Query::And(a, b) => a.matches(doc) && b.matches(doc),
            Query::Or(a, b) => a.matches(doc) || b.matches(doc),
            Query::Not(q) => !q.matches(doc),
            Query::Exists(field) => resolve(doc, field).iter().any(|v| !v.is_null()),
            Query::Term {
                field,
                value,
                prefix,
            } => {
                let fold = CASE_INSENSITIVE.contains(&field.as_str());
                let wanted = if fold {
                    value.to_lowercase()
                } else {
                    value.clone()
                };
                resolve(doc, field).iter().any(|v| {
                    let Some(text) = scalar_text(v) else {
                        return false;
                    };
                    let text = if fold { text.to_lowercase() } else { text };
                    if *prefix {
                        text.starts_with(&wanted)
                    } else {
                        text == wanted
                    }
                })
            }
        }
    }
}

/// The values at a dotted path, walking across arrays.
pub(crate) fn resolve<'a>(doc: &'a Doc, path: &str) -> Vec<&'a Value> {
    let mut segments = path.split('.');
    let Some(first) = segments.next() else {
        return Vec::new();
    };
    let mut current: Vec<&Value> = doc.get(first).into_iter().collect();
    for segment in segments {
        let mut next = Vec::new();
        for value in current {
            match value {
                Value::Object(map) => next.extend(map.get(segment)),
                Value::Array(items) => next.extend(items.iter().filter_map(|i| i.get(segment))),
                _ => {}
            }
        }
        current = next;
    }
    current
        .into_iter()
        .flat_map(|v| match v {
            Value::Array(items) => items.iter().collect(),
            other => vec![other],
        })
        .collect()
}

fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc() -> Doc {
        json!({
            "user_id": "auth0|abc",
            "email": "jane.doe@example.com",
            "blocked": true,
            "identities": [{"connection": "Username-Password-Authentication"}],
            "app_metadata": {"employee_id": 42, "created_by": "productivity_system", "tags": ["a", "b"]}
        })
        .as_object()
        .cloned()
        .unwrap_or_default()
    }

    fn hit(q: &str) -> bool {
        parse(q)
            .unwrap_or_else(|e| panic!("{q}: {e}"))
            .matches(&doc())
    }

    #[test]
    fn the_fields_rosterd_searches() {
        assert!(hit(r#"email:"JANE.DOE@example.com""#));
        assert!(hit("app_metadata.employee_id:42"));
        assert!(hit(r#"app_metadata.employee_id:"42""#));
        assert!(!hit("app_metadata.employee_id:4"));
        assert!(hit(r#"app_metadata.created_by:"productivity_system""#));
        assert!(!hit(r#"app_metadata.created_by:"Productivity_System""#));
        assert!(hit("blocked:true"));
        assert!(!hit("blocked:false"));
        assert!(hit(
            r#"identities.connection:"Username-Password-Authentication""#
        ));
        assert!(hit("app_metadata.tags:b"));
        assert!(hit("user_id:auth0\\|abc"));
        assert!(hit("email:jane*"));
        assert!(hit("_exists_:app_metadata.employee_id"));
    }

    #[test]
    fn operators_and_grouping() {
        assert!(hit("blocked:true AND app_metadata.employee_id:42"));
        assert!(hit("blocked:true app_metadata.employee_id:42"));
        assert!(!hit("blocked:false AND app_metadata.employee_id:42"));
        assert!(hit("blocked:false OR app_metadata.employee_id:42"));
        assert!(hit("NOT blocked:false"));
        assert!(hit("-blocked:false"));
        assert!(hit(
            "(blocked:false OR email:jane.doe@example.com) AND _exists_:email"
        ));
    }

    #[test]
    fn refuses_what_it_does_not_understand() {
        for q in [
            "jane",
            "created_at:[2020 TO 2021]",
            "email:\"open",
            "(blocked:true",
            "email:j?ne",
            "",
        ] {
            assert!(parse(q).is_err(), "{q} should be refused");
        }
        // No input can exhaust the stack, in parsing or in matching.
        let deep = format!("{}blocked:true{}", "(".repeat(100_000), ")".repeat(100_000));
        assert!(parse(&deep).is_err());
        assert!(parse(&"NOT ".repeat(100_000)).is_err());
        assert!(parse(&"blocked:true ".repeat(100_000)).is_err());
        assert!(parse(&"blocked:true ".repeat(200)).is_ok());
    }
}
