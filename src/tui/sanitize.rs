//! The sanitizer, as the TUI's panes name it: the one definition is `crate::sanitize`, shared
//! with the headless commands.

pub use crate::sanitize::*;
