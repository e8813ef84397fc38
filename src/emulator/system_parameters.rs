//! Google's REST system parameters, which every method of Google's front
//! ends accepts beside its own fields, as the emulator honours them.
//!
//! | parameter (also with a leading `$`) | here |
//! |---|---|
//! | `alt=json`, `alt=json;enum-encoding=int` | JSON; with `enum-encoding=int`, enums as numbers |
//! | `prettyPrint=true\|false` | indented or compact JSON (compact unless asked) |
//! | `fields=...` | a partial response: `name,done`, `operations(name,metadata/state)`, `*` |
//! | `quotaUser`, `key`, `$.xgafv`, `access_token`, `oauth_token`, `upload_protocol`, `uploadType` | accepted, change nothing |
//! | `callback` | refused: JSONP is not served |
//!
//! The `X-Goog-FieldMask` header selects fields as `fields` does, with
//! `.` between the names of a path.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::error::{Detail, Error};
use crate::json::Enums;
use crate::proto::rpc::bad_request::FieldViolation;
use crate::proto::rpc::{BadRequest, Code};

/// Accepted and without effect here.
const IGNORED: [&str; 7] = [
    "quotaUser",
    "key",
    ".xgafv",
    "access_token",
    "oauth_token",
    "upload_protocol",
    "uploadType",
];

/// How a reply is written.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct SystemParameters {
    pub(crate) enums: Enums,
    pub(crate) pretty: bool,
    fields: Option<Selection>,
    seen: Vec<&'static str>,
}

impl SystemParameters {
    /// Takes one query parameter if it is a system parameter (true), or
    /// leaves it to the method (false).
    pub(crate) fn take(&mut self, key: &str, value: &str) -> Result<bool, Error> {
        let name = key.strip_prefix('$').unwrap_or(key);
        let canonical = match name {
            "alt" => "alt",
            "prettyPrint" => "prettyPrint",
            "fields" => "fields",
            "callback" => {
                return Err(invalid(
                    key,
                    format!(
                        "{key} asks for a JSONP reply, which this server does not give; \
                         call without it"
                    ),
                ));
            }
            other => match IGNORED.iter().find(|ignored| **ignored == other) {
                Some(_) => return Ok(true),
                None => return Ok(false),
            },
        };
        if self.seen.contains(&canonical) {
            return Err(invalid(
                key,
                format!("system parameter {canonical} is given more than once (last as {key})"),
            ));
        }
        self.seen.push(canonical);
        match canonical {
            "alt" => {
                self.enums = match value {
                    "json" => Enums::Names,
                    "json;enum-encoding=int" => Enums::Numbers,
                    other => {
                        return Err(invalid(
                            key,
                            format!(
                                "unsupported {key}={other:?}: this server answers json or \
                                 json;enum-encoding=int"
                            ),
                        ));
                    }
                }
            }
            "prettyPrint" => {
                self.pretty = match value {
                    "true" | "1" => true,
                    "false" | "0" => false,
                    other => {
                        return Err(invalid(
                            key,
                            format!("{key} must be true or false, not {other:?}"),
                        ));
                    }
                }
            }
            _ => {
                let selection = Selection::parse_fields(value)
                    .map_err(|why| invalid(key, format!("invalid {key} {value:?}: {why}")))?;
                self.select(selection)?;
            }
        }
        Ok(true)
    }

    /// Takes the `X-Goog-FieldMask` header's value.
    pub(crate) fn take_field_mask(&mut self, mask: &str) -> Result<(), Error> {
        let selection =
            Selection::parse_mask(mask).map_err(|why| invalid("X-Goog-FieldMask", why))?;
        self.select(selection)
    }

    fn select(&mut self, selection: Selection) -> Result<(), Error> {
        if self.fields.is_some() {
            return Err(invalid(
                "fields",
                "give the fields of the reply once: in fields or in X-Goog-FieldMask".to_owned(),
            ));
        }
        self.fields = Some(selection);
        Ok(())
    }

    /// The reply as text: only the selected fields, indented if asked.
    /// Written straight from `reply` unless fields are selected, which is
    /// done on a JSON tree.
    pub(crate) fn render<T: Serialize>(&self, reply: &T) -> String {
        let Some(selection) = &self.fields else {
            return self.print(reply);
        };
        let tree = serde_json::to_value(reply).unwrap_or(Value::Null);
        let kept = selection
            .apply(tree)
            .unwrap_or_else(|| Value::Object(Map::new()));
        self.print(&kept)
    }

    fn print<T: Serialize>(&self, reply: &T) -> String {
        let text = if self.pretty {
            serde_json::to_string_pretty(reply)
        } else {
            serde_json::to_string(reply)
        };
        // The replies written here (maps of strings, numbers and lists)
        // always serialize; `null` stands for one that would not.
        text.unwrap_or_else(|_| "null".to_owned())
    }
}

/// Which members of a reply to keep: each name with what to keep of it
/// (`None`: all of it). `*` stands for every member.
#[derive(Clone, Debug, Default, PartialEq)]
struct Selection {
    members: Vec<(String, Option<Selection>)>,
}

impl Selection {
    /// `fields`: `a,b/c,d(e,f/g),*`.
    fn parse_fields(text: &str) -> Result<Self, String> {
        let chars: Vec<char> = text.chars().collect();
        let mut at = 0;
        let selection = Self::list(&chars, &mut at, 0)?;
        match chars.get(at) {
            None => Ok(selection),
            Some(c) => Err(format!("unexpected {c:?} at position {at}")),
        }
    }

    /// `X-Goog-FieldMask`: `a,b.c`.
    fn parse_mask(text: &str) -> Result<Self, String> {
        let mut selection = Self::default();
        for path in text.split(',').map(str::trim) {
            let names: Vec<&str> = path.split('.').collect();
            if names.iter().any(|name| !valid_name(name)) {
                return Err(format!(
                    "{path:?} in X-Goog-FieldMask {text:?} is not a field path"
                ));
            }
            selection.add(&names, None);
        }
        Ok(selection)
    }

    fn list(chars: &[char], at: &mut usize, depth: usize) -> Result<Self, String> {
        let mut selection = Self::default();
        loop {
            let mut path = Vec::new();
            loop {
                let start = *at;
                while chars
                    .get(*at)
                    .is_some_and(|c| !matches!(c, ',' | '/' | '(' | ')'))
                {
                    *at += 1;
                }
                let name: String = chars[start..*at]
                    .iter()
                    .collect::<String>()
                    .trim()
                    .to_owned();
                if !valid_name(&name) {
                    return Err(format!("expected a field name at position {start}"));
                }
                path.push(name);
                if chars.get(*at) == Some(&'/') {
                    *at += 1;
                } else {
                    break;
                }
            }
            let inner = if chars.get(*at) == Some(&'(') {
                *at += 1;
                let inner = Self::list(chars, at, depth + 1)?;
                if chars.get(*at) != Some(&')') {
                    return Err(format!("missing ')' at position {at}"));
                }
                *at += 1;
                Some(inner)
            } else {
                None
            };
            let names: Vec<&str> = path.iter().map(String::as_str).collect();
            selection.add(&names, inner);
            match chars.get(*at) {
                Some(',') => *at += 1,
                Some(')') if depth > 0 => return Ok(selection),
                None if depth == 0 => return Ok(selection),
                None => return Err("missing ')' at the end".to_owned()),
                Some(c) => return Err(format!("unexpected {c:?} at position {at}")),
            }
        }
    }

    /// Adds a path, ending in `leaf`, merging with what is there.
    fn add(&mut self, path: &[&str], leaf: Option<Selection>) {
        let Some((first, rest)) = path.split_first() else {
            return;
        };
        let name = lower_camel(first);
        let index = match self.members.iter().position(|(known, _)| *known == name) {
            Some(index) => index,
            None => {
                self.members.push((name, Some(Self::default())));
                self.members.len() - 1
            }
        };
        let slot = &mut self.members[index].1;
        if rest.is_empty() {
            match (slot.as_mut(), leaf) {
                // Already all of it, or now all of it.
                (None, _) | (_, None) => *slot = None,
                (Some(existing), Some(more)) if existing.members.is_empty() => {
                    *existing = more;
                }
                (Some(existing), Some(more)) => existing.members.extend(more.members),
            }
        } else if let Some(inner) = slot.as_mut() {
            inner.add(rest, leaf);
        }
    }

    /// Keeps the selected members of objects (of every element of an
    /// array); an `Any`'s `@type` stays with any part of it. A scalar has no
    /// members to select: None.
    fn apply(&self, value: Value) -> Option<Value> {
        match value {
            Value::Array(items) => Some(Value::Array(
                items.into_iter().filter_map(|v| self.apply(v)).collect(),
            )),
            Value::Object(mut object) => {
                let mut kept = Map::new();
                if let Some(type_url) = object.get("@type") {
                    kept.insert("@type".to_owned(), type_url.clone());
                }
                for (name, inner) in &self.members {
                    let chosen: Vec<String> = if name == "*" {
                        object.keys().cloned().collect()
                    } else {
                        vec![name.clone()]
                    };
                    for key in chosen {
                        let Some(member) = object.remove(&key) else {
                            continue;
                        };
                        let member = match inner {
                            Some(selection) => selection.apply(member),
                            None => Some(member),
                        };
                        if let Some(member) = member {
                            kept.insert(key, member);
                        }
                    }
                }
                Some(Value::Object(kept))
            }
            _ => None,
        }
    }
}

fn valid_name(name: &str) -> bool {
    name == "*"
        || (!name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '@'))
}

/// `snake_case` names as the JSON names they stand for.
fn lower_camel(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut upper = false;
    for c in name.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

fn invalid(parameter: &str, message: String) -> Error {
    Error::new(Code::InvalidArgument, message.clone()).with_detail(Detail::BadRequest(BadRequest {
        field_violations: vec![FieldViolation {
            field: parameter.to_owned(),
            description: message,
            reason: String::new(),
            localized_message: None,
        }],
    }))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn reply() -> Value {
        json!({
            "operations": [
                {"name": "a", "done": true, "metadata": {"@type": "t", "state": "SUCCEEDED", "progress": 1}},
                {"name": "b", "metadata": {"@type": "t", "state": "RUNNING", "createTime": "x"}},
            ],
            "nextPageToken": "n",
        })
    }

    fn selected(fields: &str) -> Value {
        let mut parameters = SystemParameters::default();
        assert_eq!(
            parameters.take("fields", fields).ok(),
            Some(true),
            "{fields}"
        );
        serde_json::from_str(&parameters.render(&reply())).expect("JSON")
    }

    #[test]
    fn partial_responses_keep_what_is_selected() {
        assert_eq!(selected("nextPageToken"), json!({"nextPageToken": "n"}));
        assert_eq!(
            selected("operations/name"),
            json!({"operations": [{"name": "a"}, {"name": "b"}]})
        );
        assert_eq!(
            selected("operations(name,metadata/state),next_page_token"),
            json!({
                "operations": [
                    {"name": "a", "metadata": {"@type": "t", "state": "SUCCEEDED"}},
                    {"name": "b", "metadata": {"@type": "t", "state": "RUNNING"}},
                ],
                "nextPageToken": "n",
            })
        );
        assert_eq!(selected("*"), reply());
        assert_eq!(
            selected("operations/*/state"),
            json!({"operations": [{"metadata": {"@type": "t", "state": "SUCCEEDED"}}, {"metadata": {"@type": "t", "state": "RUNNING"}}]})
        );
        assert_eq!(
            selected("operations/name,operations"),
            json!({"operations": reply()["operations"]})
        );
        let mut mask = SystemParameters::default();
        mask.take_field_mask("operations.name, next_page_token")
            .expect("a mask");
        assert_eq!(
            serde_json::from_str::<Value>(&mask.render(&reply())).expect("JSON"),
            json!({"operations": [{"name": "a"}, {"name": "b"}], "nextPageToken": "n"})
        );
    }

    #[test]
    fn system_parameters_under_both_spellings() {
        let mut parameters = SystemParameters::default();
        for (key, value) in [
            ("$alt", "json;enum-encoding=int"),
            ("prettyPrint", "false"),
            ("quotaUser", "me"),
            ("$key", "k"),
            ("$.xgafv", "2"),
        ] {
            assert_eq!(parameters.take(key, value).ok(), Some(true), "{key}");
        }
        assert_eq!(parameters.enums, Enums::Numbers);
        assert!(!parameters.pretty);
        assert_eq!(parameters.take("filter", "x").ok(), Some(false));
        let mut pretty = SystemParameters::default();
        pretty.take("$prettyPrint", "true").expect("pretty");
        assert_eq!(pretty.render(&json!({"a": 1})), "{\n  \"a\": 1\n}");
    }

    #[test]
    fn bad_system_parameters_are_named() {
        for (key, value, named) in [
            ("$callback", "f", "JSONP"),
            ("callback", "f", "JSONP"),
            ("alt", "proto", "unsupported alt"),
            ("$alt", "media", "unsupported $alt"),
            ("prettyPrint", "yes", "true or false"),
            ("fields", "a(b", "missing ')'"),
            ("fields", "a)b", "unexpected"),
            ("fields", "a,,b", "field name"),
            ("fields", "", "field name"),
        ] {
            let error = SystemParameters::default().take(key, value).expect_err(key);
            assert_eq!(error.code(), Code::InvalidArgument);
            assert!(error.message().contains(named), "{key}={value}: {error}");
        }
        let mut twice = SystemParameters::default();
        twice.take("alt", "json").expect("once");
        assert!(twice.take("$alt", "json").is_err());
        let mut both = SystemParameters::default();
        both.take("fields", "name").expect("fields");
        assert!(both.take_field_mask("done").is_err());
        assert!(SystemParameters::default().take_field_mask("a..b").is_err());
    }
}
