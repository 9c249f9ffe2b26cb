//! Text that is either a literal or owned, and the check of a field's text.

use crate::error::{EventError, Field};
use crate::scan::find_forbidden;

/// Text that is either a `'static` literal or owned.
#[derive(Clone)]
pub(super) enum Text {
    Static(&'static str),
    Owned(String),
}

impl Text {
    pub(super) fn as_str(&self) -> &str {
        match self {
            Text::Static(s) => s,
            Text::Owned(s) => s,
        }
    }
}

pub(super) fn check(field: Field, s: &str, nul: bool) -> Result<(), EventError> {
    match find_forbidden(s.as_bytes(), nul) {
        Some(i) => Err(EventError::forbidden(field, s.as_bytes()[i], i)),
        None => Ok(()),
    }
}
