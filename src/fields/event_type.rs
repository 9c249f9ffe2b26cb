//! The value of the `event` field.

use std::fmt;

use super::text::{check, Text};
use crate::error::{EventError, Field};
use crate::scan::find_forbidden;

/// The type of an event (the `event:` field): any text without CR or LF.
///
/// Browsers deliver an event to the `addEventListener(type, ...)` listeners of its
/// type; an event without a type is a `message`.
///
/// Names known at compile time are best made once, in a `const`; names that come from
/// runtime input go through [`EventType::new`], which checks them:
///
/// ```
/// use ssewire::{Event, EventType};
///
/// const TICK: EventType = EventType::from_static("tick");
/// let event = Event::new().event(TICK).data("12:00");
/// assert_eq!(event.encode().as_ref(), b"event: tick\ndata: 12:00\n\n");
///
/// let user_supplied = String::from("user-joined");
/// let joined = EventType::new(user_supplied)?;
/// assert_eq!(joined.as_str(), "user-joined");
/// # Ok::<(), ssewire::EventError>(())
/// ```
#[derive(Clone)]
pub struct EventType(Text);

impl EventType {
    /// An event type from a string literal, checked at compile time when used in a
    /// `const`.
    ///
    /// # Panics
    ///
    /// If `name` contains CR or LF. In a `const` item that is a compile error, which is
    /// the intended use; for runtime strings use [`EventType::new`]:
    ///
    /// ```compile_fail
    /// const BAD: ssewire::EventType = ssewire::EventType::from_static("two\nlines");
    /// ```
    ///
    /// ```
    /// const UPDATE: ssewire::EventType = ssewire::EventType::from_static("update");
    /// assert_eq!(UPDATE.as_str(), "update");
    /// ```
    pub const fn from_static(name: &'static str) -> Self {
        assert!(
            find_forbidden(name.as_bytes(), false).is_none(),
            "an SSE event type cannot contain CR or LF"
        );
        EventType(Text::Static(name))
    }

    /// Checks `name` and makes it an event type. A `String` is taken without copying.
    ///
    /// # Errors
    ///
    /// [`EventError::ForbiddenChar`] with [`Field::Event`] if `name` contains CR or LF.
    ///
    /// ```
    /// use ssewire::EventType;
    /// assert!(EventType::new("ok").is_ok());
    /// let err = EventType::new("bad\r").unwrap_err();
    /// assert_eq!((err.offset(), err.character()), (3, Some('\r')));
    /// ```
    pub fn new(name: impl Into<String>) -> Result<Self, EventError> {
        let name = name.into();
        check(Field::Event, &name, false)?;
        Ok(EventType(Text::Owned(name)))
    }

    /// The type as text.
    ///
    /// ```
    /// assert_eq!(ssewire::EventType::from_static("x").as_str(), "x");
    /// ```
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    pub(crate) fn encoded_len(&self) -> usize {
        self.as_str().len()
    }
}

impl TryFrom<String> for EventType {
    type Error = EventError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        EventType::new(value)
    }
}

impl TryFrom<&str> for EventType {
    type Error = EventError;
    fn try_from(value: &str) -> Result<Self, Self::Error> {
        EventType::new(value)
    }
}

impl std::str::FromStr for EventType {
    type Err = EventError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        EventType::new(s)
    }
}

impl AsRef<str> for EventType {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl PartialEq for EventType {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}
impl Eq for EventType {}

impl std::hash::Hash for EventType {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl PartialEq<str> for EventType {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for EventType {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl fmt::Debug for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
