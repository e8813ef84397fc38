//! `--sort-by KEY` for listings: `created`, `updated`, `state`, `type`,
//! `eecu` or `description`, ascending; `~KEY` (or `--reverse`) descending.

use std::cmp::Ordering;

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

/// Sorts `operations` in place; ties keep the server's order.
pub(crate) fn sort(operations: &mut [Operation], by: SortBy) {
    let compare = |a: &Task, b: &Task| -> Ordering {
        match by.key {
            Key::Created => a.created().cmp(&b.created()),
            Key::Updated => a.updated().cmp(&b.updated()),
            Key::State => state_rank(a.state()).cmp(&state_rank(b.state())),
            Key::Type => a.kind().cmp(b.kind()),
            Key::Eecu => a.eecu_seconds().total_cmp(&b.eecu_seconds()),
            Key::Description => a
                .description()
                .to_lowercase()
                .cmp(&b.description().to_lowercase()),
        }
    };
    operations.sort_by(|a, b| {
        let order = compare(&Task::new(a), &Task::new(b));
        if by.descending {
            order.reverse()
        } else {
            order
        }
    });
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
