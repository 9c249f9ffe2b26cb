//! Writing event data piece by piece, for serializers and `write!`.

use std::{fmt, io};

use crate::error::{EventError, Field};
use crate::event::Event;

/// Writes an event's data in pieces, without building an intermediate `String`.
///
/// Made by [`Event::data_writer`]. It implements [`std::fmt::Write`] (for `write!`)
/// and [`std::io::Write`] (for serializers such as `serde_json::to_writer`). Line
/// breaks in the text start new `data:` lines, including a CRLF split between two
/// writes. All pieces written through one writer form one piece of data; writing
/// nothing still adds empty data.
///
/// ```
/// use std::fmt::Write;
///
/// let mut event = ssewire::Event::new();
/// {
///     let mut data = event.data_writer();
///     write!(data, "{} + {}\r", 1, 2)?;
///     write!(data, "\n= {}", 3)?;
/// }
/// assert_eq!(event.encode().as_ref(), b"data: 1 + 2\ndata: = 3\n\n");
/// # Ok::<(), std::fmt::Error>(())
/// ```
pub struct DataWriter<'a> {
    event: &'a mut Event,
}

impl Event {
    /// A writer that adds data to this event (see [`DataWriter`]).
    ///
    /// ```
    /// use std::io::Write;
    /// let mut event = ssewire::Event::new();
    /// event.data_writer().write_all(b"{\"a\":1}")?;
    /// assert_eq!(event.encode().as_ref(), b"data: {\"a\":1}\n\n");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn data_writer(&mut self) -> DataWriter<'_> {
        self.open_data_line();
        DataWriter { event: self }
    }
}

/// Never fails.
///
/// ```
/// use std::fmt::Write;
/// let mut event = ssewire::Event::new();
/// event.data_writer().write_str("a\nb")?;
/// assert_eq!(event.encode().as_ref(), b"data: a\ndata: b\n\n");
/// # Ok::<(), std::fmt::Error>(())
/// ```
impl fmt::Write for DataWriter<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.event.write_open_data(s.as_bytes());
        Ok(())
    }
}

/// Each write must be UTF-8 on its own, except that it may stop inside a character;
/// then only the complete characters are taken (a short write). The rest of that
/// character must come in the same buffer: `write_all` retries with only the cut
/// character, which fails. A write that starts inside a character, or holds only part
/// of one, or invalid UTF-8, fails with [`io::ErrorKind::InvalidData`] and adds
/// nothing. So `io::copy` from a reader whose reads may cut a character (a file, a
/// socket) can fail on valid text: read it into a `String` first, or give the pieces
/// as `&str` through [`fmt::Write`].
impl io::Write for DataWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let text = match std::str::from_utf8(buf) {
            Ok(text) => text,
            Err(e) if e.error_len().is_none() && e.valid_up_to() > 0 => {
                // A character cut at the end: take what is complete.
                std::str::from_utf8(&buf[..e.valid_up_to()]).map_err(invalid)?
            }
            Err(e) => return Err(invalid(e)),
        };
        self.event.write_open_data(text.as_bytes());
        Ok(text.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn invalid(e: std::str::Utf8Error) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, EventError::utf8(Field::Data, e))
}

impl fmt::Debug for DataWriter<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DataWriter").finish_non_exhaustive()
    }
}
