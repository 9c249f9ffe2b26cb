//! The event model: a builder that can only produce valid events.

mod builder;
mod header;
mod into_field;
mod lines;
mod with_data;

pub use self::builder::Event;
pub use self::into_field::{IntoEventId, IntoEventType};
pub use self::with_data::WithData;
