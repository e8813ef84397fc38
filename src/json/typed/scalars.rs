//! Scalar fields in their proto3 JSON forms: integers as numbers or strings
//! (in any notation with an integral value), doubles also as "NaN" and
//! "Infinity", enums by name or number, timestamps in RFC 3339.

use std::fmt;

use serde::Deserializer;
use serde::de::{self, Visitor};

use super::context::Context;

/// An integer within `min..=max`, from a JSON number or string.
pub(super) fn integer<'de, D: Deserializer<'de>>(
    reader: D,
    min: i64,
    max: i64,
) -> Result<i64, D::Error> {
    reader.deserialize_any(Integer { min, max })
}

pub(super) fn int32<'de, D: Deserializer<'de>>(reader: D) -> Result<i32, D::Error> {
    let value = integer(reader, i32::MIN.into(), i32::MAX.into())?;
    i32::try_from(value).map_err(de::Error::custom)
}

pub(super) fn int64<'de, D: Deserializer<'de>>(reader: D) -> Result<i64, D::Error> {
    integer(reader, i64::MIN, i64::MAX)
}

struct Integer {
    min: i64,
    max: i64,
}

impl Integer {
    fn check<E: de::Error>(&self, value: i64) -> Result<i64, E> {
        if (self.min..=self.max).contains(&value) {
            Ok(value)
        } else {
            Err(E::custom(format!(
                "{value} is out of range {}..={}",
                self.min, self.max
            )))
        }
    }

    fn integral<E: de::Error>(&self, value: f64) -> Result<i64, E> {
        // 2^63 is the first double past i64::MAX.
        const LIMIT: f64 = 9_223_372_036_854_775_808.0;
        if value.fract() != 0.0 || !(-LIMIT..LIMIT).contains(&value) {
            return Err(E::custom(format!("{value} is not an integer in range")));
        }
        self.check(value as i64)
    }
}

impl Visitor<'_> for Integer {
    type Value = i64;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an integer (a number or a string)")
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<i64, E> {
        self.check(value)
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<i64, E> {
        let value =
            i64::try_from(value).map_err(|_| E::custom(format!("{value} is out of range")))?;
        self.check(value)
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<i64, E> {
        self.integral(value)
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<i64, E> {
        if let Ok(value) = text.parse::<i64>() {
            return self.check(value);
        }
        match decimal(text) {
            Some(value) => self.integral(value),
            None => Err(E::custom(format!("{text:?} is not an integer"))),
        }
    }
}

/// A number written in JSON's notation (no "inf", "nan" or spaces, which
/// Rust's parser would also take).
fn decimal(text: &str) -> Option<f64> {
    let plain = !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E'));
    plain.then(|| text.parse().ok()).flatten()
}

/// A double, from a JSON number or string ("NaN", "Infinity", "-Infinity"
/// or a number).
pub(super) fn double<'de, D: Deserializer<'de>>(reader: D) -> Result<f64, D::Error> {
    reader.deserialize_any(Double)
}

struct Double;

impl Visitor<'_> for Double {
    type Value = f64;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a number (or \"NaN\", \"Infinity\", \"-Infinity\")")
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<f64, E> {
        Ok(value as f64)
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<f64, E> {
        Ok(value as f64)
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<f64, E> {
        Ok(value)
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<f64, E> {
        match text {
            "NaN" => Ok(f64::NAN),
            "Infinity" => Ok(f64::INFINITY),
            "-Infinity" => Ok(f64::NEG_INFINITY),
            _ => decimal(text)
                .filter(|value| value.is_finite())
                .ok_or_else(|| E::custom(format!("{text:?} is not a number"))),
        }
    }
}

/// An enum's number, from its value's name or a number; a name this crate
/// does not know is the default value when lenient.
pub(super) fn enumeration<'de, D: Deserializer<'de>>(
    reader: D,
    context: &Context,
    type_name: &'static str,
    from_name: fn(&str) -> Option<i32>,
) -> Result<i32, D::Error> {
    reader.deserialize_any(Enumeration {
        lenient: context.lenient(),
        type_name,
        from_name,
    })
}

struct Enumeration {
    lenient: bool,
    type_name: &'static str,
    from_name: fn(&str) -> Option<i32>,
}

impl Visitor<'_> for Enumeration {
    type Value = i32;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a value of {} (a name or a number)", self.type_name)
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<i32, E> {
        i32::try_from(value).map_err(|_| E::custom(format!("{value} is not an enum number")))
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<i32, E> {
        i32::try_from(value).map_err(|_| E::custom(format!("{value} is not an enum number")))
    }

    fn visit_str<E: de::Error>(self, name: &str) -> Result<i32, E> {
        match (self.from_name)(name) {
            Some(number) => Ok(number),
            None if self.lenient => Ok(0),
            None => Err(E::custom(format!(
                "{name:?} is not a value of {}",
                self.type_name
            ))),
        }
    }
}

/// A timestamp in its proto3 JSON form.
pub(super) fn timestamp<'de, D: Deserializer<'de>>(
    reader: D,
) -> Result<prost_types::Timestamp, D::Error> {
    reader.deserialize_str(Timestamp)
}

struct Timestamp;

impl Visitor<'_> for Timestamp {
    type Value = prost_types::Timestamp;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a timestamp string")
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<prost_types::Timestamp, E> {
        super::timestamp::parse(text).map_err(E::custom)
    }
}
