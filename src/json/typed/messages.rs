//! Messages read member by member into their generated types.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};

use super::context::{Context, Segment};
use super::scalars::{double, enumeration, int32, int64, timestamp};
use super::unique::UniqueValue;
use crate::proto::earthengine::{
    OperationMetadata, OperationNotification, OperationStage, Severity, State,
};
use crate::proto::longrunning::{ListOperationsResponse, Operation, operation};
use crate::proto::rpc::Status;

/// Something read from a JSON value.
pub(super) trait Read: Sized {
    fn read<'de, D: Deserializer<'de>>(reader: D, context: &Context) -> Result<Self, D::Error>;
}

/// A message read from a JSON object, one member at a time.
pub(super) trait Fields: Default {
    /// The message's full proto name.
    const NAME: &'static str;

    /// The field a member's key names (by JSON or proto name), numbered
    /// from 0 in the order of the fields, below 64.
    fn index(key: &str) -> Option<u32>;

    /// Reads the field `index` from a value that is not `null`.
    fn read_field<'de, D: Deserializer<'de>>(
        &mut self,
        index: u32,
        reader: D,
        context: &Context,
    ) -> Result<(), D::Error>;
}

/// `T` read as a serde seed.
pub(super) struct Seed<'c, T> {
    context: &'c Context,
    read: PhantomData<fn() -> T>,
}

impl<'c, T> Seed<'c, T> {
    pub(super) fn new(context: &'c Context) -> Self {
        Self {
            context,
            read: PhantomData,
        }
    }
}

impl<'de, T: Read> DeserializeSeed<'de> for Seed<'_, T> {
    type Value = T;

    fn deserialize<D: Deserializer<'de>>(self, reader: D) -> Result<T, D::Error> {
        T::read(reader, self.context)
    }
}

impl Read for String {
    fn read<'de, D: Deserializer<'de>>(reader: D, _: &Context) -> Result<Self, D::Error> {
        String::deserialize(reader)
    }
}

impl<M: Fields> Read for M {
    fn read<'de, D: Deserializer<'de>>(reader: D, context: &Context) -> Result<Self, D::Error> {
        reader.deserialize_map(MessageVisitor::<M> {
            context,
            message: PhantomData,
        })
    }
}

struct MessageVisitor<'c, M> {
    context: &'c Context,
    message: PhantomData<fn() -> M>,
}

impl<'de, M: Fields> Visitor<'de> for MessageVisitor<'_, M> {
    type Value = M;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a JSON object for {}", M::NAME)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut members: A) -> Result<M, A::Error> {
        let mut message = M::default();
        read_members(&mut members, &mut message, false, self.context)?;
        Ok(message)
    }
}

/// A member's key, borrowed from the text unless it has escapes.
pub(super) struct Key<'de>(pub(super) Cow<'de, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(reader: D) -> Result<Self, D::Error> {
        reader.deserialize_str(KeyVisitor)
    }
}

struct KeyVisitor;

impl<'de> Visitor<'de> for KeyVisitor {
    type Value = Key<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a key")
    }

    fn visit_borrowed_str<E: de::Error>(self, key: &'de str) -> Result<Key<'de>, E> {
        Ok(Key(Cow::Borrowed(key)))
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<Key<'de>, E> {
        Ok(Key(Cow::Owned(key.to_owned())))
    }

    fn visit_string<E: de::Error>(self, key: String) -> Result<Key<'de>, E> {
        Ok(Key(Cow::Owned(key)))
    }
}

/// The rules for an object's keys, kept member by member: a field may be
/// given by its JSON or its proto name but only once, an unknown key only
/// once, and an unknown key only when lenient.
#[derive(Debug, Default)]
pub(super) struct Keys {
    seen: u64,
    unknown: Vec<String>,
}

/// What a key is, once admitted.
pub(super) enum Member {
    /// A field of the message, numbered as [`Fields::index`] numbers it.
    Field(u32),
    /// A key the message does not know, to be skipped.
    Unknown,
}

impl Keys {
    /// Admits `key` as the next member of an `M`, or says why not. Inside
    /// an `Any` (whose `@type` was read already) another `@type` is a key
    /// given twice.
    #[inline]
    pub(super) fn admit<M: Fields>(
        &mut self,
        key: &str,
        in_any: bool,
        lenient: bool,
    ) -> Result<Member, String> {
        match M::index(key) {
            Some(index) => {
                let bit = 1_u64 << index;
                if self.seen & bit != 0 {
                    return Err(format!("duplicate key {key:?} (its field is given twice)"));
                }
                self.seen |= bit;
                Ok(Member::Field(index))
            }
            None if (in_any && key == "@type") || self.unknown.iter().any(|k| k == key) => {
                Err(format!("duplicate key {key:?}"))
            }
            None if lenient => {
                self.unknown.push(key.to_owned());
                Ok(Member::Unknown)
            }
            None => Err(format!("unknown field {key:?} in {}", M::NAME)),
        }
    }
}

/// Reads the remaining members of an object into `message`.
pub(super) fn read_members<'de, M: Fields, A: MapAccess<'de>>(
    members: &mut A,
    message: &mut M,
    in_any: bool,
    context: &Context,
) -> Result<(), A::Error> {
    let mut keys = Keys::default();
    while let Some(Key(key)) = members.next_key()? {
        match keys.admit::<M>(&key, in_any, context.lenient()) {
            Ok(Member::Field(index)) => {
                members
                    .next_value_seed(FieldSeed {
                        message: &mut *message,
                        index,
                        context,
                    })
                    .map_err(|e| context.within(Segment::Key(key.into_owned()), e))?;
            }
            // Skipped, but still refused if it has a key twice.
            Ok(Member::Unknown) => {
                members
                    .next_value_seed(UniqueValue)
                    .map_err(|e| context.within(Segment::Key(key.into_owned()), e))?;
            }
            Err(why) => return Err(context.error(why)),
        }
    }
    Ok(())
}

/// One field's value: `null` leaves the field at its default.
struct FieldSeed<'a, 'c, M> {
    message: &'a mut M,
    index: u32,
    context: &'c Context,
}

impl<'de, M: Fields> DeserializeSeed<'de> for FieldSeed<'_, '_, M> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, reader: D) -> Result<(), D::Error> {
        reader.deserialize_option(self)
    }
}

impl<'de, M: Fields> Visitor<'de> for FieldSeed<'_, '_, M> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a field of {}", M::NAME)
    }

    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_some<D: Deserializer<'de>>(self, reader: D) -> Result<(), D::Error> {
        self.message.read_field(self.index, reader, self.context)
    }
}

/// A repeated field from a JSON array.
pub(super) fn repeated<'de, T: Read, D: Deserializer<'de>>(
    reader: D,
    context: &Context,
) -> Result<Vec<T>, D::Error> {
    reader.deserialize_seq(List::<T> {
        context,
        item: PhantomData,
    })
}

struct List<'c, T> {
    context: &'c Context,
    item: PhantomData<fn() -> T>,
}

impl<'de, T: Read> Visitor<'de> for List<'_, T> {
    type Value = Vec<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON array")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut items: A) -> Result<Vec<T>, A::Error> {
        let mut list = Vec::with_capacity(items.size_hint().unwrap_or(0));
        while let Some(item) = items
            .next_element_seed(Seed::<T>::new(self.context))
            .map_err(|e| self.context.within(Segment::Index(list.len()), e))?
        {
            list.push(item);
        }
        Ok(list)
    }
}

impl Fields for Operation {
    const NAME: &'static str = "google.longrunning.Operation";

    fn index(key: &str) -> Option<u32> {
        match key {
            "name" => Some(0),
            "metadata" => Some(1),
            "done" => Some(2),
            "error" => Some(3),
            "response" => Some(4),
            _ => None,
        }
    }

    fn read_field<'de, D: Deserializer<'de>>(
        &mut self,
        index: u32,
        reader: D,
        context: &Context,
    ) -> Result<(), D::Error> {
        let result = match index {
            0 => {
                self.name = String::deserialize(reader)?;
                return Ok(());
            }
            1 => {
                self.metadata = Some(prost_types::Any::read(reader, context)?);
                return Ok(());
            }
            2 => {
                self.done = bool::deserialize(reader)?;
                return Ok(());
            }
            3 => operation::Result::Error(Status::read(reader, context)?),
            _ => operation::Result::Response(prost_types::Any::read(reader, context)?),
        };
        if self.result.is_some() {
            return Err(context.error(
                "error and response are members of one oneof (result); only one may be set"
                    .to_owned(),
            ));
        }
        self.result = Some(result);
        Ok(())
    }
}

/// `google.protobuf.Empty`.
impl Fields for () {
    const NAME: &'static str = "google.protobuf.Empty";

    fn index(_: &str) -> Option<u32> {
        None
    }

    fn read_field<'de, D: Deserializer<'de>>(
        &mut self,
        _: u32,
        _: D,
        _: &Context,
    ) -> Result<(), D::Error> {
        Ok(())
    }
}

impl Fields for Status {
    const NAME: &'static str = "google.rpc.Status";

    fn index(key: &str) -> Option<u32> {
        match key {
            "code" => Some(0),
            "message" => Some(1),
            "details" => Some(2),
            _ => None,
        }
    }

    fn read_field<'de, D: Deserializer<'de>>(
        &mut self,
        index: u32,
        reader: D,
        context: &Context,
    ) -> Result<(), D::Error> {
        match index {
            0 => self.code = int32(reader)?,
            1 => self.message = String::deserialize(reader)?,
            _ => self.details = repeated(reader, context)?,
        }
        Ok(())
    }
}

impl Fields for ListOperationsResponse {
    const NAME: &'static str = "google.longrunning.ListOperationsResponse";

    fn index(key: &str) -> Option<u32> {
        match key {
            "operations" => Some(0),
            "nextPageToken" | "next_page_token" => Some(1),
            "unreachable" => Some(2),
            _ => None,
        }
    }

    fn read_field<'de, D: Deserializer<'de>>(
        &mut self,
        index: u32,
        reader: D,
        context: &Context,
    ) -> Result<(), D::Error> {
        match index {
            0 => self.operations = repeated(reader, context)?,
            1 => self.next_page_token = String::deserialize(reader)?,
            _ => self.unreachable = repeated(reader, context)?,
        }
        Ok(())
    }
}

fn state_number(name: &str) -> Option<i32> {
    State::from_str_name(name).map(|state| state as i32)
}

fn severity_number(name: &str) -> Option<i32> {
    Severity::from_str_name(name).map(|severity| severity as i32)
}

impl Fields for OperationMetadata {
    const NAME: &'static str = "google.earthengine.v1.OperationMetadata";

    fn index(key: &str) -> Option<u32> {
        match key {
            "state" => Some(0),
            "description" => Some(1),
            "type" => Some(2),
            "priority" => Some(3),
            "createTime" | "create_time" => Some(4),
            "updateTime" | "update_time" => Some(5),
            "startTime" | "start_time" => Some(6),
            "endTime" | "end_time" => Some(7),
            "progress" => Some(8),
            "stages" => Some(9),
            "attempt" => Some(10),
            "scriptUri" | "script_uri" => Some(11),
            "destinationUris" | "destination_uris" => Some(12),
            "notifications" => Some(13),
            "batchEecuUsageSeconds" | "batch_eecu_usage_seconds" => Some(14),
            _ => None,
        }
    }

    fn read_field<'de, D: Deserializer<'de>>(
        &mut self,
        index: u32,
        reader: D,
        context: &Context,
    ) -> Result<(), D::Error> {
        match index {
            0 => {
                self.state = enumeration(
                    reader,
                    context,
                    "google.earthengine.v1.OperationMetadata.State",
                    state_number,
                )?
            }
            1 => self.description = String::deserialize(reader)?,
            2 => self.r#type = String::deserialize(reader)?,
            3 => self.priority = int32(reader)?,
            4 => self.create_time = Some(timestamp(reader)?),
            5 => self.update_time = Some(timestamp(reader)?),
            6 => self.start_time = Some(timestamp(reader)?),
            7 => self.end_time = Some(timestamp(reader)?),
            8 => self.progress = double(reader)?,
            9 => self.stages = repeated(reader, context)?,
            10 => self.attempt = int32(reader)?,
            11 => self.script_uri = String::deserialize(reader)?,
            12 => self.destination_uris = repeated(reader, context)?,
            13 => self.notifications = repeated(reader, context)?,
            _ => self.batch_eecu_usage_seconds = double(reader)?,
        }
        Ok(())
    }
}

impl Fields for OperationStage {
    const NAME: &'static str = "google.earthengine.v1.OperationStage";

    fn index(key: &str) -> Option<u32> {
        match key {
            "displayName" | "display_name" => Some(0),
            "completeWorkUnits" | "complete_work_units" => Some(1),
            "totalWorkUnits" | "total_work_units" => Some(2),
            "description" => Some(3),
            _ => None,
        }
    }

    fn read_field<'de, D: Deserializer<'de>>(
        &mut self,
        index: u32,
        reader: D,
        _: &Context,
    ) -> Result<(), D::Error> {
        match index {
            0 => self.display_name = String::deserialize(reader)?,
            1 => self.complete_work_units = int32(reader)?,
            2 => self.total_work_units = int64(reader)?,
            _ => self.description = String::deserialize(reader)?,
        }
        Ok(())
    }
}

impl Fields for OperationNotification {
    const NAME: &'static str = "google.earthengine.v1.OperationNotification";

    fn index(key: &str) -> Option<u32> {
        match key {
            "severity" => Some(0),
            "topic" => Some(1),
            "detail" => Some(2),
            _ => None,
        }
    }

    fn read_field<'de, D: Deserializer<'de>>(
        &mut self,
        index: u32,
        reader: D,
        context: &Context,
    ) -> Result<(), D::Error> {
        match index {
            0 => {
                self.severity = enumeration(
                    reader,
                    context,
                    "google.earthengine.v1.OperationNotification.Severity",
                    severity_number,
                )?
            }
            1 => self.topic = String::deserialize(reader)?,
            _ => self.detail = String::deserialize(reader)?,
        }
        Ok(())
    }
}
