//! What the `.event(..)` and `.id(..)` setters take: values that are valid by
//! construction, with a compiler error that points at the fallible setters for
//! anything else.

use crate::fields::{EventId, EventType};

mod sealed {
    /// Only this crate implements the setter traits.
    #[allow(unreachable_pub)] // public in a private module: the sealed-trait pattern
    pub trait Sealed {}
}

/// A value [`Event::event`](crate::Event::event) takes: an [`EventType`], which is
/// valid by construction.
///
/// Text is not accepted, because it may hold a line break: check it with
/// [`Event::try_event`](crate::Event::try_event) (or [`EventType::new`]), or make a
/// literal a `const` with [`EventType::from_static`].
///
/// ```compile_fail,E0277
/// // error: `&str` is not an event type ... use `.try_event(..)?` for runtime text
/// let _event = ssewire::Event::new().event("tick");
/// ```
///
/// ```
/// use ssewire::{Event, EventType};
/// const TICK: EventType = EventType::from_static("tick");
/// let event = Event::new().event(TICK).try_event(String::from("tock"))?;
/// assert_eq!(event.encode().as_ref(), b"event: tock\n\n");
/// # Ok::<(), ssewire::EventError>(())
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an event type: `.event(..)` takes an `EventType`",
    label = "text may hold a line break, so it must be checked first",
    note = "use `.try_event(..)?` for runtime text, or `EventType::from_static(\"tick\")` for a literal"
)]
pub trait IntoEventType: sealed::Sealed {
    #[doc(hidden)]
    fn into_event_type(self) -> EventType;
}

impl sealed::Sealed for EventType {}
impl IntoEventType for EventType {
    #[inline(always)]
    fn into_event_type(self) -> EventType {
        self
    }
}

/// A value [`Event::id`](crate::Event::id) takes: an [`EventId`] or an integer,
/// which are valid by construction.
///
/// Text is not accepted, because it may hold a line break or NUL: check it with
/// [`Event::try_id`](crate::Event::try_id) (or [`EventId::new`]), or make a literal
/// a `const` with [`EventId::from_static`]. Numbers need no `to_string()`.
///
/// ```compile_fail,E0277
/// // error: `String` is not an event id ... use `.try_id(..)?` for runtime text
/// let n = 7;
/// let _event = ssewire::Event::new().id(n.to_string());
/// ```
///
/// ```
/// use ssewire::{Event, EventId};
/// let n = 7u64;
/// let event = Event::new().id(n).data("x");
/// assert_eq!(event.encode().as_ref(), b"id: 7\ndata: x\n\n");
/// let event = Event::new().id(EventId::from_static("a")).try_id(format!("b{n}"))?;
/// assert_eq!(event.event_id().map(|id| id.to_string()), Some("b7".into()));
/// # Ok::<(), ssewire::EventError>(())
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an event id: `.id(..)` takes an `EventId` or an integer",
    label = "text may hold a line break or NUL, so it must be checked first",
    note = "use `.try_id(..)?` for runtime text, `.id(n)` for a number (no `to_string()`), or `EventId::from_static(\"a1\")` for a literal"
)]
pub trait IntoEventId: sealed::Sealed {
    #[doc(hidden)]
    fn into_event_id(self) -> EventId;
}

impl sealed::Sealed for EventId {}
impl IntoEventId for EventId {
    #[inline(always)]
    fn into_event_id(self) -> EventId {
        self
    }
}

macro_rules! id_from_integer {
    ($($t:ty),*) => {$(
        impl sealed::Sealed for $t {}
        impl IntoEventId for $t {
            #[inline(always)]
            fn into_event_id(self) -> EventId {
                EventId::from(self)
            }
        }
    )*};
}
id_from_integer!(u8, u16, u32, u64, usize, i8, i16, i32, i64, isize);
