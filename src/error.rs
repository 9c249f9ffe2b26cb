//! Errors raised while building an event.

use std::fmt;

/// The part of an event an [`EventError`] is about.
///
/// ```
/// let err = ssewire::Event::new().try_event("a\nb").unwrap_err();
/// assert_eq!(err.field(), ssewire::Field::Event);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Field {
    /// The event type (`event:`).
    Event,
    /// The event id (`id:`).
    Id,
    /// The event data (`data:`).
    Data,
}

impl Field {
    /// The field's name as it appears on the wire (`"event"`, `"id"`, `"data"`).
    ///
    /// ```
    /// assert_eq!(ssewire::Field::Id.as_str(), "id");
    /// ```
    pub const fn as_str(self) -> &'static str {
        match self {
            Field::Event => "event",
            Field::Id => "id",
            Field::Data => "data",
        }
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A value that cannot be part of a valid event.
///
/// Building an [`Event`](crate::Event) validates every field, so an event that exists
/// can always be encoded; this error is what the fallible builders return instead. It
/// names the field and the byte offset (within the value the caller passed) of the
/// first offending byte.
///
/// ```
/// use ssewire::{Event, Field};
///
/// let err = Event::new().try_event("tick\nid: 666").unwrap_err();
/// assert_eq!(err.field(), Field::Event);
/// assert_eq!(err.offset(), 4);
/// assert_eq!(err.character(), Some('\n'));
/// assert_eq!(
///     err.to_string(),
///     "invalid event: line feed (U+000A) at byte 4 is not allowed"
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EventError {
    /// The value contains a character the field cannot carry: CR or LF in an event
    /// type, CR, LF or NUL in an id.
    #[error("invalid {field}: {} at byte {offset} is not allowed", CharName(*.character))]
    #[non_exhaustive]
    ForbiddenChar {
        /// The field.
        field: Field,
        /// The offending character.
        character: char,
        /// Its byte offset within the value.
        offset: usize,
    },
    /// The value is not valid UTF-8 (the event stream is always UTF-8).
    #[error("invalid {field}: not UTF-8 at byte {offset}")]
    #[non_exhaustive]
    InvalidUtf8 {
        /// The field.
        field: Field,
        /// Offset of the first byte that is not part of valid UTF-8.
        offset: usize,
    },
}

impl EventError {
    pub(crate) fn forbidden(field: Field, character: u8, offset: usize) -> Self {
        EventError::ForbiddenChar {
            field,
            character: char::from(character),
            offset,
        }
    }

    pub(crate) fn utf8(field: Field, err: std::str::Utf8Error) -> Self {
        EventError::InvalidUtf8 {
            field,
            offset: err.valid_up_to(),
        }
    }

    /// The field the error is about.
    ///
    /// ```
    /// let err = ssewire::EventId::new("a\0b").unwrap_err();
    /// assert_eq!(err.field(), ssewire::Field::Id);
    /// ```
    pub fn field(&self) -> Field {
        match self {
            EventError::ForbiddenChar { field, .. } | EventError::InvalidUtf8 { field, .. } => {
                *field
            }
        }
    }

    /// Byte offset of the offending byte within the value passed in.
    ///
    /// ```
    /// let err = ssewire::EventId::new("a\0b").unwrap_err();
    /// assert_eq!(err.offset(), 1);
    /// ```
    pub fn offset(&self) -> usize {
        match self {
            EventError::ForbiddenChar { offset, .. } | EventError::InvalidUtf8 { offset, .. } => {
                *offset
            }
        }
    }

    /// The offending character, when the error is about one.
    ///
    /// ```
    /// let err = ssewire::EventId::new("a\rb").unwrap_err();
    /// assert_eq!(err.character(), Some('\r'));
    /// ```
    pub fn character(&self) -> Option<char> {
        match self {
            EventError::ForbiddenChar { character, .. } => Some(*character),
            EventError::InvalidUtf8 { .. } => None,
        }
    }
}

/// Prints a character for an error message: control characters by name, others
/// quoted, each with its code point (`line feed (U+000A)`, `'x' (U+0078)`).
pub(crate) struct CharName(pub(crate) char);

impl fmt::Display for CharName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            '\n' => f.write_str("line feed (U+000A)"),
            '\r' => f.write_str("carriage return (U+000D)"),
            '\0' => f.write_str("NUL (U+0000)"),
            c => write!(f, "{c:?} (U+{:04X})", u32::from(c)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn character_names() {
        assert_eq!(CharName('\n').to_string(), "line feed (U+000A)");
        assert_eq!(CharName('\r').to_string(), "carriage return (U+000D)");
        assert_eq!(CharName('\0').to_string(), "NUL (U+0000)");
        assert_eq!(CharName('x').to_string(), "'x' (U+0078)");
        assert_eq!(CharName('\u{7f}').to_string(), "'\\u{7f}' (U+007F)");
    }
}
