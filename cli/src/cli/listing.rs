//! What the project's commands act on when they are given no names: the
//! parent to list, and the operations still live.

use eeops::TaskFilter;
use eeops::earthengine::State;
use eeops::longrunning::Operation;

use super::{CliError, Context};

/// The largest page Earth Engine serves; larger requests get this many.
pub(crate) const LARGEST_PAGE: i32 = 1000;

/// The parent `list` and `--all` work on.
pub(crate) fn parent(ctx: &Context, explicit: Option<&String>) -> Result<String, CliError> {
    match explicit {
        Some(parent) => Ok(parent.clone()),
        None => Ok(format!("projects/{}", ctx.project()?)),
    }
}

/// The operations of the project `cancel --all`, `wait --all` and `watch
/// --all` act on: every one not done and, when `states` are given, in one
/// of them. Each is judged by its own state as listed, never by what the
/// server made of a filter.
pub(crate) async fn live_operations(
    ctx: &Context,
    states: &[State],
) -> Result<Vec<Operation>, CliError> {
    let filter = TaskFilter::new().with_states(states.iter().copied());
    let all = ctx
        .client
        .list(parent(ctx, None)?)
        .set_page_size(LARGEST_PAGE)
        .with_task_filter(filter)
        .operations()
        .try_collect()
        .await?;
    Ok(all
        .into_iter()
        .filter(|op| !op.done && !op.state().is_terminal())
        .collect())
}
