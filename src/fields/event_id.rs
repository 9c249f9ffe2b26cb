//! The value of the `id` field.

use std::fmt;

use super::text::{check, Text};
use crate::error::{EventError, Field};
use crate::scan::find_forbidden;
use crate::wire::{u64_len, Decimal, Sink};

#[derive(Clone)]
enum IdRepr {
    Unsigned(u64),
    Signed(i64),
    Text(Text),
}

/// The id of an event (the `id:` field): text without CR, LF or NUL, or a number.
///
/// The client remembers the last id it saw and sends it back in the `Last-Event-ID`
/// header when it reconnects, so a server can resume where the client left off.
/// Numbers are written in decimal without allocating. The empty id,
/// [`EventId::empty()`], is meaningful: it tells the client to forget its last id
/// (an event with no id leaves the client's last id as it was).
///
/// ```
/// use ssewire::{Event, EventId};
///
/// let numbered = Event::new().id(42u64).data("x");
/// assert_eq!(numbered.encode().as_ref(), b"id: 42\ndata: x\n\n");
/// let named = Event::new().id(EventId::new("order-7f3a")?).data("x");
/// assert_eq!(named.event_id().map(|id| id.to_string()), Some("order-7f3a".into()));
/// let reset = Event::new().id(EventId::empty()).data("x");
/// assert_eq!(reset.encode().as_ref(), b"id: \ndata: x\n\n");
/// # Ok::<(), ssewire::EventError>(())
/// ```
#[derive(Clone)]
pub struct EventId(IdRepr);

impl EventId {
    /// The empty id, which resets the client's last event id.
    ///
    /// ```
    /// assert!(ssewire::EventId::empty().is_empty());
    /// ```
    pub const fn empty() -> Self {
        EventId(IdRepr::Text(Text::Static("")))
    }

    /// An id from a string literal, checked at compile time when used in a `const`.
    ///
    /// # Panics
    ///
    /// If `id` contains CR, LF or NUL. In a `const` item that is a compile error,
    /// which is the intended use; for runtime strings use [`EventId::new`]:
    ///
    /// ```compile_fail
    /// const BAD: ssewire::EventId = ssewire::EventId::from_static("a\0b");
    /// ```
    ///
    /// ```
    /// const FIRST: ssewire::EventId = ssewire::EventId::from_static("first");
    /// assert_eq!(FIRST.to_string(), "first");
    /// ```
    pub const fn from_static(id: &'static str) -> Self {
        assert!(
            find_forbidden(id.as_bytes(), true).is_none(),
            "an SSE event id cannot contain CR, LF or NUL"
        );
        EventId(IdRepr::Text(Text::Static(id)))
    }

    /// An id from a number, written in decimal.
    ///
    /// ```
    /// assert_eq!(ssewire::EventId::from_u64(7).to_string(), "7");
    /// ```
    pub const fn from_u64(id: u64) -> Self {
        EventId(IdRepr::Unsigned(id))
    }

    /// Checks `id` and makes it an event id. A `String` is taken without copying.
    ///
    /// # Errors
    ///
    /// [`EventError::ForbiddenChar`] with [`Field::Id`] if `id` contains CR, LF or
    /// NUL (a client would ignore an id with NUL, and CR or LF would end the line).
    ///
    /// ```
    /// use ssewire::EventId;
    /// assert_eq!(EventId::new("abc")?.to_string(), "abc");
    /// assert_eq!(EventId::new("a\nb").unwrap_err().offset(), 1);
    /// # Ok::<(), ssewire::EventError>(())
    /// ```
    pub fn new(id: impl Into<String>) -> Result<Self, EventError> {
        let id = id.into();
        check(Field::Id, &id, true)?;
        Ok(EventId(IdRepr::Text(Text::Owned(id))))
    }

    /// Whether this is the empty id (which resets the client's last event id).
    ///
    /// ```
    /// assert!(!ssewire::EventId::from_u64(0).is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        matches!(&self.0, IdRepr::Text(t) if t.as_str().is_empty())
    }

    /// The id as a number, if its wire text is one: made from a non-negative number,
    /// or text that is a `u64` written in canonical decimal (digits only, no sign, no
    /// leading zero). So an id read from a `Last-Event-ID` header gives the number a
    /// server wrote, and never one it did not write (`"0160"` and `"+160"` are not 160:
    /// ids are equal only when their wire text is).
    ///
    /// ```
    /// use ssewire::EventId;
    /// assert_eq!(EventId::from(9u32).as_u64(), Some(9));
    /// assert_eq!(EventId::new("41")?.as_u64(), Some(41));
    /// assert_eq!(EventId::new("041")?.as_u64(), None);
    /// assert_eq!(EventId::new("+41")?.as_u64(), None);
    /// assert_eq!(EventId::from(-1i64).as_u64(), None);
    /// # Ok::<(), ssewire::EventError>(())
    /// ```
    pub fn as_u64(&self) -> Option<u64> {
        match &self.0 {
            IdRepr::Unsigned(n) => Some(*n),
            IdRepr::Signed(n) => u64::try_from(*n).ok(),
            IdRepr::Text(t) => {
                let text = t.as_str();
                let canonical = !text.is_empty()
                    && text.bytes().all(|b| b.is_ascii_digit())
                    && (text == "0" || !text.starts_with('0'));
                if canonical {
                    text.parse().ok()
                } else {
                    None
                }
            }
        }
    }

    /// The id as text, if it was made from text.
    ///
    /// ```
    /// assert_eq!(ssewire::EventId::from_static("a").as_text(), Some("a"));
    /// ```
    pub fn as_text(&self) -> Option<&str> {
        match &self.0 {
            IdRepr::Text(t) => Some(t.as_str()),
            _ => None,
        }
    }

    pub(crate) fn write<S: Sink>(&self, sink: &mut S) {
        match &self.0 {
            IdRepr::Unsigned(n) => sink.put_u64(*n),
            IdRepr::Signed(n) if *n >= 0 => sink.put_u64(n.unsigned_abs()),
            IdRepr::Signed(n) => sink.put(Decimal::signed(*n).as_bytes()),
            IdRepr::Text(t) => sink.put(t.as_str().as_bytes()),
        }
    }

    pub(crate) fn encoded_len(&self) -> usize {
        match &self.0 {
            IdRepr::Unsigned(n) => u64_len(*n),
            IdRepr::Signed(n) => u64_len(n.unsigned_abs()) + usize::from(n.is_negative()),
            IdRepr::Text(t) => t.as_str().len(),
        }
    }

    /// Calls `f` with the id's wire text; numbers are formatted on the stack, so
    /// this never allocates.
    #[inline]
    fn with_wire_bytes<R>(&self, f: impl FnOnce(&[u8]) -> R) -> R {
        match &self.0 {
            IdRepr::Text(t) => f(t.as_str().as_bytes()),
            IdRepr::Unsigned(n) => f(Decimal::new(*n).as_bytes()),
            IdRepr::Signed(n) => f(Decimal::signed(*n).as_bytes()),
        }
    }
}

macro_rules! id_from_unsigned {
    ($($t:ty),*) => {$(
        impl From<$t> for EventId {
            fn from(id: $t) -> Self {
                EventId(IdRepr::Unsigned(id as u64))
            }
        }
    )*};
}
id_from_unsigned!(u8, u16, u32, u64, usize);

macro_rules! id_from_signed {
    ($($t:ty),*) => {$(
        impl From<$t> for EventId {
            fn from(id: $t) -> Self {
                EventId(IdRepr::Signed(id as i64))
            }
        }
    )*};
}
id_from_signed!(i8, i16, i32, i64, isize);

impl TryFrom<String> for EventId {
    type Error = EventError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        EventId::new(value)
    }
}

impl TryFrom<&str> for EventId {
    type Error = EventError;
    fn try_from(value: &str) -> Result<Self, Self::Error> {
        EventId::new(value)
    }
}

impl std::str::FromStr for EventId {
    type Err = EventError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        EventId::new(s)
    }
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            IdRepr::Unsigned(n) => fmt::Display::fmt(n, f),
            IdRepr::Signed(n) => fmt::Display::fmt(n, f),
            IdRepr::Text(t) => f.write_str(t.as_str()),
        }
    }
}

impl fmt::Debug for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            IdRepr::Text(t) => fmt::Debug::fmt(t.as_str(), f),
            _ => fmt::Display::fmt(self, f),
        }
    }
}

/// Ids compare by their wire text, the text a client sees and sends back:
/// `EventId::from(123u64)` equals `EventId::new("123")`, but `"0160"` and `"+160"`
/// are not `160`. Comparing never allocates.
///
/// ```
/// use ssewire::EventId;
/// assert_eq!(EventId::from(123u64), EventId::new("123")?);
/// assert_ne!(EventId::new("0160")?, EventId::from(160u64));
/// assert_eq!(EventId::from(-5i32), EventId::new("-5")?);
/// # Ok::<(), ssewire::EventError>(())
/// ```
impl PartialEq for EventId {
    fn eq(&self, other: &Self) -> bool {
        match (&self.0, &other.0) {
            (IdRepr::Text(a), IdRepr::Text(b)) => a.as_str() == b.as_str(),
            (IdRepr::Unsigned(a), IdRepr::Unsigned(b)) => a == b,
            (IdRepr::Signed(a), IdRepr::Signed(b)) => a == b,
            _ => self.with_wire_bytes(|a| other.with_wire_bytes(|b| a == b)),
        }
    }
}
impl Eq for EventId {}

/// Hashes the wire text, as `str` does (so equal ids hash alike whatever they were
/// made from), without allocating.
impl std::hash::Hash for EventId {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.with_wire_bytes(|bytes| {
            state.write(bytes);
            state.write_u8(0xff);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::{BuildHasher, RandomState};

    fn id(text: &str) -> EventId {
        EventId::new(text).unwrap()
    }

    #[test]
    fn ids_are_equal_iff_their_wire_text_is() {
        let hasher = RandomState::new();
        let equal = [
            (EventId::from(123u64), id("123")),
            (EventId::from(123i64), id("123")),
            (EventId::from(123u8), EventId::from(123i32)),
            (EventId::from(-7i64), id("-7")),
            (EventId::from(0u64), id("0")),
            (EventId::from(u64::MAX), id(&u64::MAX.to_string())),
            (EventId::from(i64::MIN), id(&i64::MIN.to_string())),
            (EventId::empty(), id("")),
            (EventId::from_static("a"), id("a")),
        ];
        for (a, b) in &equal {
            assert_eq!(a, b);
            assert_eq!(b, a);
            assert_eq!(hasher.hash_one(a), hasher.hash_one(b), "{a:?} {b:?}");
            // The same hash as the wire text itself.
            assert_eq!(hasher.hash_one(a), hasher.hash_one(a.to_string().as_str()));
        }
        let different = [
            (id("0160"), EventId::from(160u64)),
            (id("+160"), EventId::from(160u64)),
            (id(" 160"), EventId::from(160u64)),
            (id("160 "), EventId::from(160i64)),
            (EventId::from(-1i64), EventId::from(1u64)),
            (EventId::empty(), EventId::from(0u64)),
            (id("12"), EventId::from(123u64)),
        ];
        for (a, b) in &different {
            assert_ne!(a, b);
            assert_ne!(b, a);
        }
    }
}
