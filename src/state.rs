//! Earth Engine's task states by name: the one rule for reading and printing
//! them, used by [`TaskFilter`](crate::TaskFilter), the command line and
//! anyone holding a [`State`].
//!
//! ```
//! use eeops::earthengine::State;
//!
//! # fn main() -> eeops::Result<()> {
//! assert_eq!("running".parse::<State>()?, State::Running);
//! // The older names Earth Engine's tools still print.
//! assert_eq!("COMPLETED".parse::<State>()?, State::Succeeded);
//! assert_eq!(State::Cancelling.to_string(), "CANCELLING");
//! assert!("DONE".parse::<State>().is_err());
//! # Ok(()) }
//! ```
//!
//! Earth Engine can add states, so a `match` on a [`State`] outside this
//! crate needs an arm for the others:
//!
//! ```compile_fail
//! use eeops::earthengine::State;
//!
//! fn is_live(state: State) -> bool {
//!     match state {
//!         State::Pending | State::Running | State::Cancelling => true,
//!         State::Unspecified | State::Succeeded | State::Cancelled | State::Failed => false,
//!     }
//! }
//! ```

use std::fmt;
use std::str::FromStr;

use crate::error::Error;
use crate::proto::earthengine::State;
use crate::proto::rpc::Code;

/// The task states by name, with the older names Earth Engine's tools still
/// accept. `STATE_UNSPECIFIED` is missing on purpose: no task is in it.
const STATE_NAMES: [(&str, State); 9] = [
    ("PENDING", State::Pending),
    ("RUNNING", State::Running),
    ("CANCELLING", State::Cancelling),
    ("SUCCEEDED", State::Succeeded),
    ("CANCELLED", State::Cancelled),
    ("FAILED", State::Failed),
    ("READY", State::Pending),
    ("COMPLETED", State::Succeeded),
    ("CANCEL_REQUESTED", State::Cancelling),
];

impl State {
    /// True for the states a task never leaves.
    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Succeeded | Self::Cancelled | Self::Failed)
    }
}

/// The API's name: `PENDING`, `RUNNING`, `CANCELLING`, `SUCCEEDED`,
/// `CANCELLED`, `FAILED` (and `STATE_UNSPECIFIED`, which does not parse
/// back). Width and alignment flags apply.
impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str_name())
    }
}

/// A state by its name in any case, with surrounding spaces ignored:
/// PENDING, RUNNING, CANCELLING, SUCCEEDED, CANCELLED, FAILED, or the older
/// READY, COMPLETED and CANCEL_REQUESTED. Anything else, `STATE_UNSPECIFIED`
/// included, is INVALID_ARGUMENT listing the known names.
impl FromStr for State {
    type Err = Error;

    fn from_str(name: &str) -> Result<Self, Error> {
        let wanted = name.trim();
        STATE_NAMES
            .iter()
            .find(|(known, _)| known.eq_ignore_ascii_case(wanted))
            .map(|(_, state)| *state)
            .ok_or_else(|| {
                Error::new(
                    Code::InvalidArgument,
                    format!(
                        "unknown state {name:?}; states are PENDING, RUNNING, CANCELLING, \
                         SUCCEEDED, CANCELLED, FAILED (or the older READY, COMPLETED, \
                         CANCEL_REQUESTED)"
                    ),
                )
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_state_a_task_can_be_in_prints_and_parses_back() {
        for state in [
            State::Pending,
            State::Running,
            State::Cancelling,
            State::Succeeded,
            State::Cancelled,
            State::Failed,
        ] {
            assert_eq!(state.to_string().parse::<State>().ok(), Some(state));
            assert_eq!(state.to_string(), state.as_str_name());
        }
        assert_eq!(State::Unspecified.to_string(), "STATE_UNSPECIFIED");
        assert_eq!(format!("{:>9}|", State::Running), "  RUNNING|");
    }

    #[test]
    fn new_and_older_names_in_any_case() {
        for (name, state) in [
            ("running", State::Running),
            (" Pending ", State::Pending),
            ("READY", State::Pending),
            ("completed", State::Succeeded),
            ("Cancel_Requested", State::Cancelling),
            ("cancelled", State::Cancelled),
            ("FAILED", State::Failed),
        ] {
            assert_eq!(name.parse::<State>().ok(), Some(state), "{name}");
        }
    }

    #[test]
    fn unknown_names_say_which_are_known() {
        for bad in ["", "DONE", "STATE_UNSPECIFIED", "run", "RUNNING2"] {
            let error = bad.parse::<State>().expect_err(bad);
            assert_eq!(error.code(), Code::InvalidArgument);
            assert!(error.message().contains(&format!("{bad:?}")), "{error}");
            assert!(error.message().contains("CANCEL_REQUESTED"), "{error}");
        }
    }
}
