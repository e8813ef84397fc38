//! `google.protobuf.Any`: Earth Engine's metadata is read straight into its
//! type (and encoded, as an `Any` holds bytes); every other type goes to the
//! descriptor-driven reader, which keeps an unknown type's JSON.

use std::fmt;

use prost::Message;
use serde::Deserializer;
use serde::de::{MapAccess, Visitor};
use serde_json::{Map, Value};

use super::context::{Context, Segment};
use super::messages::{Key, Read, read_members};
use super::unique::{UniqueValue, insert_once};
use crate::json::parse::parse_any;
use crate::proto::EARTH_ENGINE_METADATA_TYPE_URLS;
use crate::proto::earthengine::OperationMetadata;

const TYPE: &str = "@type";
/// How the type URL of `google.protobuf.Empty` ends: what most finished
/// operations carry as their response, read and written without the
/// descriptor pool.
pub(super) const EMPTY: &str = "/google.protobuf.Empty";

impl Read for prost_types::Any {
    fn read<'de, D: Deserializer<'de>>(reader: D, context: &Context) -> Result<Self, D::Error> {
        reader.deserialize_map(AnyVisitor { context })
    }
}

struct AnyVisitor<'c> {
    context: &'c Context,
}

fn is_earth_engine(type_url: &str) -> bool {
    EARTH_ENGINE_METADATA_TYPE_URLS.contains(&type_url)
}

impl<'de> Visitor<'de> for AnyVisitor<'_> {
    type Value = prost_types::Any;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object for google.protobuf.Any")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut members: A) -> Result<Self::Value, A::Error> {
        let context = self.context;
        let Some(Key(first)) = members.next_key()? else {
            // The default (empty) Any, as proto3 printers write it.
            return Ok(prost_types::Any::default());
        };
        let mut object = Map::new();
        if first == TYPE {
            // The usual order: the type first, so the rest is read as it.
            let type_url: String = members
                .next_value()
                .map_err(|e| context.within(Segment::Key(TYPE.to_owned()), e))?;
            if type_url.ends_with(EMPTY) {
                // What most finished operations carry as their response.
                read_members(&mut members, &mut (), true, context)?;
                return Ok(prost_types::Any {
                    type_url,
                    value: Vec::new(),
                });
            }
            if is_earth_engine(&type_url) {
                let mut metadata = OperationMetadata::default();
                read_members(&mut members, &mut metadata, true, context)?;
                return Ok(prost_types::Any {
                    type_url,
                    value: metadata.encode_to_vec(),
                });
            }
            object.insert(TYPE.to_owned(), Value::String(type_url));
        } else {
            let value = members
                .next_value_seed(UniqueValue)
                .map_err(|e| context.within(Segment::Key(first.to_string()), e))?;
            object.insert(first.into_owned(), value);
        }
        while let Some(key) = members.next_key::<String>()? {
            let value = members
                .next_value_seed(UniqueValue)
                .map_err(|e| context.within(Segment::Key(key.clone()), e))?;
            insert_once(&mut object, key, value).map_err(|e| context.here(e))?;
        }
        match object.get(TYPE) {
            Some(Value::String(type_url)) if is_earth_engine(type_url) => {
                let type_url = type_url.clone();
                object.remove(TYPE);
                let metadata = OperationMetadata::read(Value::Object(object), context)
                    .map_err(serde::de::Error::custom)?;
                Ok(prost_types::Any {
                    type_url,
                    value: metadata.encode_to_vec(),
                })
            }
            _ => parse_any(&Value::Object(object), context.mode(), "")
                .map_err(|failure| context.adopt(failure)),
        }
    }
}
