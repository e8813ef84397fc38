//! The text and JSON forms of a [`Fault`]: one set of keys for both, read by
//! one serde [`Deserialize`] (the text form's `key=value` items go through
//! serde's map deserializer, the JSON form through `serde_json`) and written
//! by one [`Serialize`] and [`Display`](fmt::Display).

use std::collections::HashSet;
use std::fmt;
use std::time::Duration;

use serde::de::value::{Error as TextError, MapDeserializer};
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, Visitor};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{Fault, Selection};
use crate::duration::{self, format_duration};
use crate::proto::rpc::Code;
use crate::routes::Rpc;

/// Every key, in the order [`Fault`]'s text form writes them.
const KEYS: [&str; 10] = [
    "method",
    "every",
    "fraction",
    "seed",
    "code",
    "http",
    "retry_delay",
    "retry_after",
    "latency",
    "drop",
];

/// The most of a key or value quoted in a message.
const QUOTED_CHARS: usize = 64;

/// An example for messages.
const EXAMPLE: &str = "method=GetOperation,every=3,code=UNAVAILABLE";

impl Fault {
    /// Parses the text form of a fault: comma-separated `key=value` items,
    /// in any order, each key at most once, white space around items,
    /// keys and values ignored.
    ///
    /// | key | value |
    /// |-----|-------|
    /// | `method` | `GetOperation`, `ListOperations`, `CancelOperation`, `DeleteOperation` or `WaitOperation` (any case), or `*` for all (the default) |
    /// | `every` | `n` ≥ 1: calls n, 2n, 3n… of the method |
    /// | `fraction` | `p` from 0 to 1: each call with probability p |
    /// | `seed` | a whole number seeding `fraction`'s generator (default: the fault's id) |
    /// | `code` | a `google.rpc.Code` name (`UNAVAILABLE`, `resource_exhausted`…) or number, not OK |
    /// | `http` | the HTTP status over REST, 400 to 599 |
    /// | `retry_delay` | a duration sent as `google.rpc.RetryInfo` |
    /// | `retry_after` | a duration sent as `Retry-After` over REST, in seconds (rounded up) |
    /// | `latency` | a duration to wait before answering |
    /// | `drop` | `true` to cut the reply off (`drop` alone means `drop=true`) |
    ///
    /// Without `every` or `fraction` every call of the method is hit.
    /// Durations are numbers with units (`d`, `h`, `m`, `s`, `ms`, `us`,
    /// `ns`), one after the other, or a bare number of seconds: `500ms`,
    /// `1.5s`, `1m30s`, `2`. See
    /// [`Fault`] for what the keys do together.
    ///
    /// ```
    /// use eeops::emulator::Fault;
    ///
    /// for spec in [
    ///     "method=GetOperation,every=3,code=UNAVAILABLE",
    ///     "method=*,fraction=0.1,code=RESOURCE_EXHAUSTED,retry_delay=500ms",
    ///     "method=ListOperations,every=7,http=429,retry_after=2",
    ///     "method=*,latency=300ms",
    ///     "method=GetOperation,every=5,drop=true",
    /// ] {
    ///     assert!(Fault::parse(spec).is_ok(), "{spec}");
    /// }
    /// let refused = Fault::parse("method=GetOperation,evry=3");
    /// assert!(refused.is_err_and(|problem| problem.contains("evry")));
    /// ```
    ///
    /// # Errors
    ///
    /// A message naming the problem: an unknown or repeated key, an item
    /// that is not `key=value`, a value out of range, `every` together with
    /// `fraction`, or `drop=true` with an error (`code`, `http`,
    /// `retry_delay`, `retry_after`).
    pub fn parse(spec: &str) -> Result<Fault, String> {
        if spec.trim().is_empty() {
            return Err(format!(
                "the fault spec is empty: expected key=value items such as {EXAMPLE}"
            ));
        }
        let mut items = Vec::new();
        for item in spec.split(',') {
            let item = item.trim();
            let (key, value) = match item.split_once('=') {
                Some((key, value)) => (key.trim(), value.trim()),
                None if item.is_empty() => {
                    return Err(format!(
                        "empty item in the fault spec {}: items are separated by single commas",
                        quoted(spec)
                    ));
                }
                None if item == "drop" => ("drop", "true"),
                None => {
                    return Err(format!(
                        "{} in the fault spec is not key=value (such as {EXAMPLE})",
                        quoted(item)
                    ));
                }
            };
            items.push((key, value));
        }
        Fault::deserialize(MapDeserializer::<_, TextError>::new(items.into_iter()))
            .map_err(|e| e.to_string())
    }

    /// Reads the JSON form: an object with the keys of [`parse`]'s text
    /// form. `every`, `seed` and `http` are numbers, `fraction` a number,
    /// `drop` a boolean, `method` a string, `code` a name or a number,
    /// durations strings (`"500ms"`) or numbers of seconds; a string
    /// holding what the text form would is accepted for any of them.
    ///
    /// ```
    /// use eeops::emulator::Fault;
    ///
    /// # fn main() -> Result<(), String> {
    /// let json = serde_json::json!({"method": "ListOperations", "every": 7, "http": 429});
    /// let fault = Fault::from_json(&json)?;
    /// assert_eq!(fault, Fault::parse("method=ListOperations,every=7,http=429")?);
    /// assert_eq!(fault.to_json(), json);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// Those of [`parse`], and a message when the value is not an object or
    /// a key's value is null, an array or an object.
    ///
    /// [`parse`]: Fault::parse
    pub fn from_json(value: &Value) -> Result<Fault, String> {
        if !value.is_object() {
            return Err(format!(
                "a fault must be a JSON object such as {}, not {}",
                json!({"method": "GetOperation", "every": 3, "code": "UNAVAILABLE"}),
                kind(value)
            ));
        }
        Fault::deserialize(value).map_err(|e| e.to_string())
    }

    /// The JSON form (see [`from_json`](Fault::from_json)), without the
    /// keys left at their default.
    pub fn to_json(&self) -> Value {
        // Strings, whole numbers, a fraction from 0 to 1 and booleans: a
        // JSON value can hold each of them.
        serde_json::to_value(self).unwrap_or_default()
    }

    /// The fault's keys and values, in [`KEYS`] order, left out when at
    /// their default (`method` always there).
    fn items(&self) -> Vec<(&'static str, Item)> {
        let mut items = vec![(
            "method",
            Item::Text(
                self.method
                    .map_or_else(|| "*".to_owned(), |rpc| rpc.name().to_owned()),
            ),
        )];
        match self.selection {
            Selection::All => {}
            Selection::Every(n) => items.push(("every", Item::Whole(n))),
            Selection::Fraction(p) => items.push(("fraction", Item::Fraction(p))),
        }
        if let Some(seed) = self.seed {
            items.push(("seed", Item::Whole(seed)));
        }
        if let Some(code) = self.code {
            items.push(("code", Item::Text(code.as_str_name().to_owned())));
        }
        if let Some(status) = self.http_status {
            items.push(("http", Item::Whole(u64::from(status))));
        }
        for (key, duration) in [
            ("retry_delay", self.retry_delay),
            ("retry_after", self.retry_after),
            ("latency", self.latency),
        ] {
            if let Some(duration) = duration {
                items.push((key, Item::Text(format_duration(duration))));
            }
        }
        if self.drop {
            items.push(("drop", Item::Flag(true)));
        }
        items
    }
}

/// The text form, which [`Fault::parse`] reads back into an equal fault.
impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (key, value)) in self.items().into_iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{key}={value}")?;
        }
        Ok(())
    }
}

/// One value of a fault, as both forms write it.
enum Item {
    Text(String),
    Whole(u64),
    Fraction(f64),
    Flag(bool),
}

impl fmt::Display for Item {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Item::Text(text) => f.write_str(text),
            Item::Whole(n) => write!(f, "{n}"),
            Item::Fraction(p) => write!(f, "{p}"),
            Item::Flag(flag) => write!(f, "{flag}"),
        }
    }
}

impl Serialize for Item {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Item::Text(text) => serializer.serialize_str(text),
            Item::Whole(n) => serializer.serialize_u64(*n),
            Item::Fraction(p) => serializer.serialize_f64(*p),
            Item::Flag(flag) => serializer.serialize_bool(*flag),
        }
    }
}

/// The JSON form: strings, numbers and booleans, as
/// [`from_json`](Fault::from_json) reads them.
impl Serialize for Fault {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let items = self.items();
        let mut map = serializer.serialize_map(Some(items.len()))?;
        for (key, item) in &items {
            map.serialize_entry(key, item)?;
        }
        map.end()
    }
}

/// Either form: a map of the keys of [`Fault::parse`], each value a string,
/// a number or a boolean holding what the text form would.
impl<'de> Deserialize<'de> for Fault {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(FaultVisitor)
    }
}

/// Reads a fault's keys and values, refusing unknown and repeated keys.
struct FaultVisitor;

impl<'de> Visitor<'de> for FaultVisitor {
    type Value = Fault;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a fault such as {EXAMPLE}")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Fault, A::Error> {
        let mut fault = Fault::on_any();
        let mut seen: HashSet<&'static str> = HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            let Some(known) = KEYS.iter().copied().find(|known| *known == key) else {
                return Err(de::Error::custom(format!(
                    "unknown fault key {}; the keys are {}",
                    quoted(&key),
                    KEYS.join(", ")
                )));
            };
            if !seen.insert(known) {
                return Err(de::Error::custom(format!(
                    "fault key {known} is given more than once"
                )));
            }
            let value = map.next_value_seed(Text(known))?;
            set(&mut fault, known, &value).map_err(de::Error::custom)?;
        }
        check_combination(&seen, &fault).map_err(de::Error::custom)?;
        Ok(fault)
    }
}

/// One value as text: a string (trimmed), a number or a boolean.
struct Text(&'static str);

impl Text {
    fn refuse<E: de::Error>(&self, kind: &str) -> Result<String, E> {
        Err(E::custom(format!(
            "fault field {} must be a string, a number or a boolean, not {kind}",
            quoted(self.0)
        )))
    }
}

impl<'de> DeserializeSeed<'de> for Text {
    type Value = String;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<String, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Text {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "fault field {} as a string, a number or a boolean",
            self.0
        )
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<String, E> {
        Ok(text.trim().to_owned())
    }

    fn visit_u64<E: de::Error>(self, n: u64) -> Result<String, E> {
        Ok(n.to_string())
    }

    fn visit_i64<E: de::Error>(self, n: i64) -> Result<String, E> {
        Ok(n.to_string())
    }

    fn visit_f64<E: de::Error>(self, n: f64) -> Result<String, E> {
        Ok(n.to_string())
    }

    fn visit_bool<E: de::Error>(self, flag: bool) -> Result<String, E> {
        Ok(flag.to_string())
    }

    fn visit_unit<E: de::Error>(self) -> Result<String, E> {
        self.refuse("null")
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, _: A) -> Result<String, A::Error> {
        self.refuse("an array")
    }

    fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<String, A::Error> {
        self.refuse("an object")
    }
}

/// Sets the key `known` of `fault` from its value in text form.
fn set(fault: &mut Fault, known: &str, value: &str) -> Result<(), String> {
    match known {
        "method" => fault.method = parse_method(value)?,
        "every" => match value.parse::<u64>() {
            Ok(n) if n >= 1 => fault.selection = Selection::Every(n),
            _ => {
                return Err(format!(
                    "every must be a whole number of at least 1, not {}",
                    quoted(value)
                ));
            }
        },
        "fraction" => match value.parse::<f64>() {
            Ok(p) if (0.0..=1.0).contains(&p) => fault.selection = Selection::Fraction(p),
            _ => {
                return Err(format!(
                    "fraction must be a number from 0 to 1, not {}",
                    quoted(value)
                ));
            }
        },
        "seed" => {
            fault.seed = Some(value.parse::<u64>().map_err(|_| {
                format!(
                    "seed must be a whole number from 0 to {}, not {}",
                    u64::MAX,
                    quoted(value)
                )
            })?);
        }
        "code" => fault.code = Some(parse_code(value)?),
        "http" => match value.parse::<u16>() {
            Ok(status) if (400..=599).contains(&status) => fault.http_status = Some(status),
            _ => {
                return Err(format!(
                    "http must be an HTTP error status from 400 to 599, not {}",
                    quoted(value)
                ));
            }
        },
        "retry_delay" => fault.retry_delay = Some(parse_duration(known, value)?),
        "retry_after" => fault.retry_after = Some(parse_duration(known, value)?),
        "latency" => fault.latency = Some(parse_duration(known, value)?),
        _ => {
            fault.drop = match value.to_ascii_lowercase().as_str() {
                "true" => true,
                "false" => false,
                _ => {
                    return Err(format!("drop must be true or false, not {}", quoted(value)));
                }
            };
        }
    }
    Ok(())
}

/// The rules between keys: `every` or `fraction`, and no error with `drop`.
fn check_combination(seen: &HashSet<&'static str>, fault: &Fault) -> Result<(), String> {
    if seen.contains("every") && seen.contains("fraction") {
        return Err(
            "every and fraction cannot be combined: a fault hits every Nth call or a fraction of them"
                .to_owned(),
        );
    }
    if fault.drop {
        let errors: Vec<&str> = ["code", "http", "retry_delay", "retry_after"]
            .into_iter()
            .filter(|key| seen.contains(key))
            .collect();
        if !errors.is_empty() {
            return Err(format!(
                "drop=true cuts the reply off and sends no error, so it cannot be combined with {}",
                errors.join(", ")
            ));
        }
    }
    Ok(())
}

/// `*` or an RPC name, in any case.
fn parse_method(value: &str) -> Result<Option<Rpc>, String> {
    if value == "*" {
        return Ok(None);
    }
    Rpc::ALL
        .into_iter()
        .find(|rpc| rpc.name().eq_ignore_ascii_case(value))
        .map(Some)
        .ok_or_else(|| {
            let names: Vec<&str> = Rpc::ALL.iter().map(|rpc| rpc.name()).collect();
            format!(
                "unknown method {}: expected one of {} or * for all",
                quoted(value),
                names.join(", ")
            )
        })
}

/// A `google.rpc.Code` name in any case, or its number; never OK.
fn parse_code(value: &str) -> Result<Code, String> {
    let code = match value.parse::<i32>() {
        Ok(number) => Code::try_from(number).ok(),
        Err(_) => Code::from_str_name(&value.to_ascii_uppercase()),
    };
    match code {
        Some(Code::Ok) => Err(
            "code OK is not an error: leave code out for a fault that only \
                               adds latency"
                .to_owned(),
        ),
        Some(code) => Ok(code),
        None => Err(format!(
            "unknown code {}: expected a google.rpc.Code name such as UNAVAILABLE, \
             RESOURCE_EXHAUSTED or INTERNAL, or its number from 1 to 16",
            quoted(value)
        )),
    }
}

/// A duration in the grammar of [`crate::duration`].
fn parse_duration(key: &str, value: &str) -> Result<Duration, String> {
    duration::parse_duration(value).map_err(|reason| {
        format!(
            "{key} must be a duration such as 500ms, 1.5s or 2 (seconds), not {}: {reason}",
            quoted(value)
        )
    })
}

/// A key or value for a message: debug-quoted, and cut after
/// [`QUOTED_CHARS`] characters.
fn quoted(text: &str) -> String {
    match text.char_indices().nth(QUOTED_CHARS) {
        Some((cut, _)) => format!("{:?}…", &text[..cut]),
        None => format!("{text:?}"),
    }
}

/// What kind of JSON value this is, for messages.
fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLES: [&str; 5] = [
        "method=GetOperation,every=3,code=UNAVAILABLE",
        "method=*,fraction=0.1,code=RESOURCE_EXHAUSTED,retry_delay=500ms",
        "method=ListOperations,every=7,http=429,retry_after=2s",
        "method=*,latency=300ms",
        "method=GetOperation,every=5,drop=true",
    ];

    #[test]
    fn examples_round_trip_through_text_and_json() {
        for spec in EXAMPLES {
            let fault = Fault::parse(spec).expect(spec);
            assert_eq!(fault.to_string(), spec);
            assert_eq!(
                Fault::from_json(&fault.to_json()).as_ref(),
                Ok(&fault),
                "{spec}"
            );
        }
    }

    #[test]
    fn the_parsed_values_are_the_built_ones() {
        let parsed = Fault::parse(" method = getoperation , every=3, code=unavailable ")
            .expect("a valid spec");
        assert_eq!(
            parsed,
            Fault::on(Rpc::GetOperation)
                .every(3)
                .with_code(Code::Unavailable)
        );
        assert_eq!(
            Fault::parse("method=ListOperations,every=7,http=429,retry_after=2"),
            Ok(Fault::on(Rpc::ListOperations)
                .every(7)
                .with_http_status(429)
                .with_retry_after(Duration::from_secs(2)))
        );
        assert_eq!(
            Fault::parse("fraction=0.25,seed=9,code=14,latency=1.5s"),
            Ok(Fault::on_any()
                .fraction(0.25)
                .with_seed(9)
                .with_code(Code::Unavailable)
                .with_latency(Duration::from_millis(1500)))
        );
        assert_eq!(
            Fault::parse("method=WaitOperation,drop"),
            Ok(Fault::on(Rpc::WaitOperation).dropping_connection())
        );
    }

    #[test]
    fn durations_take_the_shared_grammar_and_name_the_key() {
        assert_eq!(
            Fault::parse("latency=1m30s").map(|fault| fault.latency()),
            Ok(Some(Duration::from_secs(90)))
        );
        assert_eq!(
            Fault::parse("latency=250us").map(|fault| fault.latency()),
            Ok(Some(Duration::from_micros(250)))
        );
        let error = parse_duration("latency", "5x").expect_err("an unknown unit");
        assert!(error.starts_with("latency must be"), "{error}");
        assert!(error.contains("unknown unit \"x\""), "{error}");
    }

    #[test]
    fn bad_specs_are_refused_with_the_problem_named() {
        for (spec, named) in [
            ("", "empty"),
            ("   ", "empty"),
            ("method=GetOperation,,every=3", "empty item"),
            ("method=GetOperation,", "empty item"),
            ("every", "not key=value"),
            ("evry=3", "evry"),
            ("method=Get", "Get"),
            (
                "method=GetOperation,method=ListOperations",
                "more than once",
            ),
            ("every=0", "every"),
            ("every=-2", "every"),
            ("every=three", "three"),
            ("fraction=1.5", "fraction"),
            ("fraction=NaN", "fraction"),
            ("every=2,fraction=0.5", "cannot be combined"),
            ("code=OK", "OK is not an error"),
            ("code=0", "OK is not an error"),
            ("code=17", "unknown code"),
            ("code=NOPE", "NOPE"),
            ("http=200", "http"),
            ("http=600", "http"),
            ("http=429x", "429x"),
            ("seed=-1", "seed"),
            ("latency=soon", "latency"),
            ("retry_delay=5 parsecs", "retry_delay"),
            ("drop=maybe", "drop"),
            ("drop=true,code=INTERNAL", "cannot be combined with code"),
            ("drop,http=503,retry_after=1", "http, retry_after"),
        ] {
            let error = Fault::parse(spec).expect_err(spec);
            assert!(error.contains(named), "{spec:?}: {error}");
        }
        let long = format!("x{}=1", "y".repeat(10_000));
        assert!(Fault::parse(&long).expect_err("long key").len() < 300);
    }

    #[test]
    fn json_of_the_wrong_shape_is_refused() {
        for (value, named) in [
            (json!([]), "JSON object"),
            (json!("method=*"), "JSON object"),
            (json!({"method": null}), "method"),
            (json!({"every": [3]}), "every"),
            (json!({"every": 2.5}), "every"),
            (json!({"latency": -1}), "latency"),
            (json!({"colour": "red"}), "colour"),
        ] {
            let error = Fault::from_json(&value).expect_err(&value.to_string());
            assert!(error.contains(named), "{value}: {error}");
        }
        let lenient = json!({"every": "3", "drop": "true", "latency": 0.25});
        let fault = Fault::from_json(&lenient).expect("strings and numbers");
        assert_eq!(
            fault,
            Fault::on_any()
                .every(3)
                .with_latency(Duration::from_millis(250))
                .dropping_connection()
        );
        // Fault is serde's: JSON text reads straight into it, and a key given
        // twice, which a JSON object value would have merged, is refused.
        let streamed: Result<Fault, _> = serde_json::from_str(r#"{"every": 3, "drop": true}"#);
        assert_eq!(
            streamed.map_err(|e| e.to_string()),
            Ok(Fault::on_any().every(3).dropping_connection())
        );
        let twice = serde_json::from_str::<Fault>(r#"{"every": 3, "every": 4}"#)
            .expect_err("a repeated key");
        assert!(twice.to_string().contains("more than once"), "{twice}");
        let coded = Fault::from_json(&json!({"code": 8})).expect("a numeric code");
        assert_eq!(coded.code(), Some(Code::ResourceExhausted));
    }
}
