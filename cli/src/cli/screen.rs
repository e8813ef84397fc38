//! Where output goes: a terminal of some width, with or without colours, or
//! a pipe or file, where values are printed whole and uncoloured.

use std::io::IsTerminal;

use eeops::earthengine::State;

use super::text::{one_line, width, wrap};

/// The narrowest width layouts are computed for.
const MIN_WIDTH: usize = 40;
/// The width of a terminal whose size cannot be read.
const FALLBACK_WIDTH: usize = 80;

/// How one output stream (stdout or stderr) shows text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Screen {
    /// Columns to fit in; `None` off a terminal, where nothing is cut.
    pub(crate) width: Option<usize>,
    /// Whether states are coloured.
    pub(crate) color: bool,
}

impl Screen {
    /// Standard output.
    pub(crate) fn stdout() -> Self {
        Self::of(
            std::io::stdout().is_terminal(),
            terminal_size::terminal_size(),
        )
    }

    /// Standard error (progress bars, notes).
    pub(crate) fn stderr() -> Self {
        Self::of(
            std::io::stderr().is_terminal(),
            terminal_size::terminal_size_of(std::io::stderr()),
        )
    }

    /// Nothing is cut and nothing coloured (files, pipes).
    pub(crate) const PLAIN: Self = Self {
        width: None,
        color: false,
    };

    fn of(terminal: bool, size: Option<(terminal_size::Width, terminal_size::Height)>) -> Self {
        if !terminal {
            return Self::PLAIN;
        }
        // $COLUMNS first: it is what the user set, and what a terminal
        // multiplexer may report more accurately than the ioctl.
        let width = std::env::var("COLUMNS")
            .ok()
            .and_then(|columns| columns.trim().parse().ok())
            .or_else(|| size.map(|(width, _)| usize::from(width.0)))
            .unwrap_or(FALLBACK_WIDTH)
            .max(MIN_WIDTH);
        Self {
            width: Some(width),
            color: colors_allowed(),
        }
    }

    /// `text` after `mark`, wrapped at word boundaries to the screen with
    /// later lines aligned under the first; one line off a terminal.
    pub(crate) fn indented(self, mark: &str, text: &str) -> String {
        let indent = " ".repeat(width(mark));
        let lines = match self.width {
            Some(total) => wrap(text, total.saturating_sub(width(mark)).max(20)),
            None => vec![one_line(text)],
        };
        let mut out = String::new();
        for (i, part) in lines.iter().enumerate() {
            out.push_str(if i == 0 { mark } else { &indent });
            out.push_str(part);
            out.push('\n');
        }
        out
    }

    /// `text` (already padded) in the colour of `state`.
    pub(crate) fn state(self, state: State, text: &str) -> String {
        if !self.color {
            return text.to_owned();
        }
        let code = match state {
            State::Succeeded => "32",
            State::Failed => "31",
            State::Cancelled | State::Cancelling => "33",
            State::Running => "36",
            // Pending, unspecified, or a state added later.
            _ => "2",
        };
        format!("\x1b[{code}m{text}\x1b[0m")
    }
}

/// Colours unless `NO_COLOR` is set to anything non-empty or the terminal
/// is `dumb` (see no-color.org).
fn colors_allowed() -> bool {
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|value| !value.is_empty());
    let dumb = std::env::var("TERM").is_ok_and(|term| term == "dumb");
    !no_color && !dumb
}
