//! The one error of the decoder: a limit was crossed.

/// A limit of a [`Decoder`](crate::Decoder) was crossed.
///
/// The decoder reports it once, drops the event it was reading (up to its blank line,
/// without buffering it) and goes on with the next event, so a caller may either stop
/// or carry on. Both variants are produced: a line longer than
/// [`max_line_size`](crate::Decoder::max_line_size), an event larger than
/// [`max_event_size`](crate::Decoder::max_event_size).
///
/// ```
/// use ssewire::{DecodeError, Decoder};
///
/// let mut decoder = Decoder::new().with_max_event_size(8);
/// decoder.feed("data: 0123456789\n\ndata: ok\n\n");
/// let err = decoder.next_event().unwrap_err();
/// assert!(matches!(err, DecodeError::EventTooLarge { limit: 8, offset: 0, .. }));
/// assert_eq!(err.to_string(), "event too large: more than 8 bytes of data and type, at the line starting at byte 0");
/// assert_eq!(decoder.next_event()?.unwrap().data(), "ok");
/// # Ok::<(), ssewire::DecodeError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// A line (not counting its line end) is longer than
    /// [`Decoder::max_line_size`](crate::Decoder::max_line_size).
    #[error("line too long: more than {limit} bytes, in the line starting at byte {offset}")]
    #[non_exhaustive]
    LineTooLong {
        /// The limit, in bytes.
        limit: usize,
        /// Offset in the stream of the line's first byte.
        offset: u64,
    },
    /// The data and type of one event together are larger than
    /// [`Decoder::max_event_size`](crate::Decoder::max_event_size).
    #[error("event too large: more than {limit} bytes of data and type, at the line starting at byte {offset}")]
    #[non_exhaustive]
    EventTooLarge {
        /// The limit, in bytes.
        limit: usize,
        /// Offset in the stream of the first byte of the line that crossed it.
        offset: u64,
    },
}

impl DecodeError {
    /// The limit that was crossed, in bytes.
    ///
    /// ```
    /// let mut decoder = ssewire::Decoder::new().with_max_line_size(4);
    /// decoder.feed(": a long comment\n");
    /// assert_eq!(decoder.next_event().unwrap_err().limit(), 4);
    /// ```
    pub fn limit(&self) -> usize {
        match self {
            DecodeError::LineTooLong { limit, .. } | DecodeError::EventTooLarge { limit, .. } => {
                *limit
            }
        }
    }

    /// Offset in the stream (counted from the start of the stream, or from the last
    /// [`Decoder::reset`](crate::Decoder::reset)) of the first byte of the line at
    /// which the limit was crossed.
    ///
    /// ```
    /// let mut decoder = ssewire::Decoder::new().with_max_line_size(8);
    /// decoder.feed("data: a\n\n: a long comment\n");
    /// assert!(decoder.next_event().unwrap().is_some());
    /// assert_eq!(decoder.next_event().unwrap_err().offset(), 9);
    /// ```
    pub fn offset(&self) -> u64 {
        match self {
            DecodeError::LineTooLong { offset, .. } | DecodeError::EventTooLarge { offset, .. } => {
                *offset
            }
        }
    }
}
