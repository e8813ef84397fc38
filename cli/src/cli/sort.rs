//! `--sort-by KEY` for listings: `created`, `updated`, `state`, `type`,
//! `eecu` or `description`, ascending; `~KEY` (or `--reverse`) descending.

use std::cmp::Ordering;
use std::time::SystemTime;

use eeops::earthengine::State;
use eeops::longrunning::Operation;

use super::task::Task;

/// What to sort by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Key {
    Created,
    Updated,
    State,
    Type,
    Eecu,
    Description,
}

/// A sort key and its direction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct SortBy {
    pub(crate) key: Key,
    pub(crate) descending: bool,
}

/// Parses `created`, `~eecu`, ...
pub(crate) fn parse_sort_by(text: &str) -> Result<SortBy, String> {
    let trimmed = text.trim();
    let (descending, name) = match trimmed.strip_prefix('~') {
        Some(rest) => (true, rest),
        None => (false, trimmed),
    };
    let key = match name.to_ascii_lowercase().as_str() {
        "created" | "create_time" => Key::Created,
        "updated" | "update_time" => Key::Updated,
        "state" => Key::State,
        "type" => Key::Type,
        "eecu" => Key::Eecu,
        "description" => Key::Description,
        _ => {
            return Err(format!(
                "cannot sort by {text:?}: use created, updated, state, type, eecu or \
                 description (~KEY for descending)"
            ));
        }
    };
    Ok(SortBy { key, descending })
}

/// Live work first, then how it ended.
fn state_rank(state: State) -> u8 {
    match state {
        State::Running => 0,
        State::Pending => 1,
        State::Cancelling => 2,
        State::Failed => 3,
        State::Cancelled => 4,
        State::Succeeded => 5,
        // Unspecified, or a state added later.
        _ => 6,
    }
}

/// The value an operation is sorted on, read once from it: a listing keeps
/// this and the operation's rendered row, not the operation.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum SortValue {
    Time(Option<SystemTime>),
    Rank(u8),
    Text(String),
    Number(f64),
}

impl SortValue {
    /// `operation`'s value for `key`.
    pub(crate) fn of(operation: &Operation, key: Key) -> Self {
        let task = Task::new(operation);
        match key {
            Key::Created => Self::Time(task.created()),
            Key::Updated => Self::Time(task.updated()),
            Key::State => Self::Rank(state_rank(task.state())),
            Key::Type => Self::Text(task.kind().to_owned()),
            Key::Eecu => Self::Number(task.eecu_seconds()),
            Key::Description => Self::Text(task.description().to_lowercase()),
        }
    }

    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (Self::Time(a), Self::Time(b)) => a.cmp(b),
            (Self::Rank(a), Self::Rank(b)) => a.cmp(b),
            (Self::Text(a), Self::Text(b)) => a.cmp(b),
            (Self::Number(a), Self::Number(b)) => a.total_cmp(b),
            // Values of one key are all of one kind.
            _ => Ordering::Equal,
        }
    }
}

/// Sorts `items` by their values in `by`'s direction; ties keep the
/// server's order.
pub(crate) fn sort_by_value<T>(items: &mut [(SortValue, T)], by: SortBy) {
    items.sort_by(|(a, _), (b, _)| {
        let order = a.cmp(b);
        if by.descending {
            order.reverse()
        } else {
            order
        }
    });
}

/// Sorts `operations` in place; ties keep the server's order.
#[cfg(test)]
fn sort(operations: &mut Vec<Operation>, by: SortBy) {
    let mut keyed: Vec<(SortValue, Operation)> = operations
        .drain(..)
        .map(|op| (SortValue::of(&op, by.key), op))
        .collect();
    sort_by_value(&mut keyed, by);
    operations.extend(keyed.into_iter().map(|(_, op)| op));
}

#[cfg(test)]
mod tests {
    use super::*;
    use eeops::earthengine::OperationMetadata;

    fn op(id: &str, description: &str, eecu: f64) -> Operation {
        let metadata = OperationMetadata {
            description: description.into(),
            batch_eecu_usage_seconds: eecu,
            ..Default::default()
        };
        Operation {
            name: format!("projects/p/operations/{id}"),
            metadata: Some(prost_types::Any {
                type_url: eeops::EARTH_ENGINE_METADATA_TYPE_URLS[0].into(),
                value: prost::Message::encode_to_vec(&metadata),
            }),
            ..Default::default()
        }
    }

    fn ids(ops: &[Operation]) -> String {
        ops.iter().map(Operation::id).collect()
    }

    #[test]
    fn keys_and_directions() {
        let mut ops = vec![
            op("a", "Beta", 5.0),
            op("b", "alpha", 9.0),
            op("c", "gamma", 1.0),
        ];
        sort(
            &mut ops,
            parse_sort_by("description").unwrap_or_else(|e| panic!("{e}")),
        );
        assert_eq!(ids(&ops), "bac");
        sort(
            &mut ops,
            parse_sort_by("~eecu").unwrap_or_else(|e| panic!("{e}")),
        );
        assert_eq!(ids(&ops), "bac");
        sort(
            &mut ops,
            parse_sort_by("eecu").unwrap_or_else(|e| panic!("{e}")),
        );
        assert_eq!(ids(&ops), "cab");
        assert!(parse_sort_by("size").is_err());
    }
}
