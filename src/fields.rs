//! Validated values for the `event` and `id` fields.

mod event_id;
mod event_type;
mod text;

pub use self::event_id::EventId;
pub use self::event_type::EventType;
