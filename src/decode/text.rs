//! Decoded text: slices of the input or `String`s the decoder assembled, always valid
//! UTF-8; short labels kept inline; and the rule that decides when a decoded value may
//! stay a slice of (or keep) a larger buffer.

use std::sync::Arc;

use bytes::Bytes;

/// A buffer up to this size (about one network read) may be shared by the values cut
/// from it; see [`may_share`].
const SHARED_BUFFER_MAX: usize = 64 * 1024;

/// Event types and ids up to this length are stored inline (a UUID fits).
const LABEL_INLINE: usize = 22;

/// Whether a value of `len` bytes may be kept as a slice of a buffer of `buffer`
/// bytes instead of being copied out: when the buffer is small (at most one network
/// read, 64 KiB) or the value is at least half of it.
///
/// This is what keeps a kept event from holding memory it does not need: whatever an
/// event keeps is its own bytes, or a buffer of at most 64 KiB, or a buffer at most
/// twice the size of its own bytes. A 1-byte event cut from (or assembled after) a
/// multi-MiB line is copied out and never pins that line.
#[inline]
pub(super) fn may_share(len: usize, buffer: usize) -> bool {
    buffer <= SHARED_BUFFER_MAX || len >= buffer / 2
}

/// `src[start..end]`: a slice of `src` (no copy) when [`may_share`] allows it, else
/// a copy.
#[inline]
pub(super) fn cut(src: &Bytes, start: usize, end: usize) -> Bytes {
    if may_share(end - start, src.len()) {
        src.slice(start..end)
    } else {
        Bytes::copy_from_slice(&src[start..end])
    }
}

/// A buffer the decoder built, as `Bytes` that keep no more memory than
/// [`may_share`] allows: as it is (no copy), or copied out when it has far more room
/// than content (a buffer sized for an earlier, larger line).
#[inline]
pub(super) fn freeze_vec(buf: Vec<u8>) -> Bytes {
    if may_share(buf.len(), buf.capacity()) {
        Bytes::from(buf)
    } else {
        Bytes::copy_from_slice(&buf)
    }
}

/// `bytes` as `&str` if they are UTF-8. With feature `simdutf8`, a SIMD check (AVX2
/// or SSE4.2 picked at run time, NEON on aarch64), safe code like `std`'s.
#[cfg(feature = "simdutf8")]
#[inline]
pub(super) fn utf8(bytes: &[u8]) -> Option<&str> {
    // Short text is checked faster without the SIMD set-up.
    if bytes.len() < 64 {
        return std::str::from_utf8(bytes).ok();
    }
    simdutf8::basic::from_utf8(bytes).ok()
}

#[cfg(not(feature = "simdutf8"))]
#[inline]
pub(super) fn utf8(bytes: &[u8]) -> Option<&str> {
    std::str::from_utf8(bytes).ok()
}

/// Text that is always valid UTF-8, in one of two forms:
///
/// - `Shared`: bytes known to be valid UTF-8 (checked, or known to be ASCII) and
///   checked again by [`Text::as_str`] to hand out a `&str` without `unsafe`: a slice
///   of the input (no copy; the common one-line value in one chunk, short), or ASCII
///   data of several lines with feature `simdutf8` (see [`Text::assembled`]);
/// - `Owned`: text the decoder assembled itself (a line that spans chunks, data of
///   several lines), validated once when it became a `String`, so that
///   [`Text::as_str`] costs nothing however long it is. `start` skips what precedes
///   the value in the buffer (`data: `, always ASCII, so `start` is a char boundary).
///   In an `Arc`, so that cloning an event shares its data as `Bytes` do, instead of
///   copying it (one small allocation per assembled value).
///
/// Both keep no more memory than [`may_share`] allows (see [`Text::owned`]).
#[derive(Clone)]
pub(super) enum Text {
    Shared(Bytes),
    Owned { text: Arc<String>, start: usize },
}

impl Default for Text {
    fn default() -> Self {
        Text::Shared(Bytes::new())
    }
}

impl Text {
    /// Decodes `bytes` as UTF-8, replacing invalid sequences with U+FFFD (as the
    /// WHATWG "UTF-8 decode" does); valid input is kept without a copy. `ascii` tells
    /// that the bytes are already known to be ASCII, which skips the check.
    pub(super) fn from_checked(bytes: Bytes, ascii: bool) -> Text {
        if ascii || utf8(&bytes).is_some() {
            Text::Shared(bytes)
        } else {
            Text::owned(String::from_utf8_lossy(&bytes).into_owned(), 0)
        }
    }

    /// `text[start..]` (`start` must be a char boundary, else the text is empty),
    /// kept as it is when [`may_share`] allows it for the buffer's capacity, else
    /// copied out: a value never keeps a buffer sized for a much larger line.
    pub(super) fn owned(text: String, start: usize) -> Text {
        let Some(value) = text.get(start..) else {
            debug_assert!(false, "a value starts at a char boundary");
            return Text::default();
        };
        if may_share(value.len(), text.capacity()) {
            Text::Owned {
                text: Arc::new(text),
                start,
            }
        } else {
            Text::Owned {
                text: Arc::new(value.to_owned()),
                start: 0,
            }
        }
    }

    /// A buffer of bytes the decoder assembled (the data of several lines) as text,
    /// invalid sequences replaced with U+FFFD, without a copy (unless [`may_share`]
    /// does not allow its capacity). `ascii`: the bytes are known to be ASCII.
    ///
    /// Without feature `simdutf8`, checked once here, by `String::from_utf8`, and
    /// [`Text::as_str`] then costs nothing. With it, a SIMD check is about twice as
    /// fast as `String::from_utf8`'s, so that ASCII (known, not checked here) stays
    /// bytes, checked by [`Text::as_str`]: cheaper for the usual one `data()` per
    /// event (multi-line workload of benches/decode.rs).
    pub(super) fn assembled(buf: Vec<u8>, ascii: bool) -> Text {
        if cfg!(feature = "simdutf8") && ascii {
            return Text::Shared(freeze_vec(buf));
        }
        match String::from_utf8(buf) {
            Ok(text) => Text::owned(text, 0),
            Err(e) => Text::owned(String::from_utf8_lossy(e.as_bytes()).into_owned(), 0),
        }
    }

    #[inline]
    pub(super) fn as_str(&self) -> &str {
        match self {
            // Valid by construction; the check is what keeps the crate free of `unsafe`.
            Text::Shared(bytes) => utf8(bytes).unwrap_or_default(),
            Text::Owned { text, start } => text.get(*start..).unwrap_or_default(),
        }
    }

    #[inline]
    pub(super) fn as_bytes(&self) -> &[u8] {
        match self {
            Text::Shared(bytes) => bytes,
            Text::Owned { text, start } => text.as_bytes().get(*start..).unwrap_or_default(),
        }
    }

    /// The text as `Bytes`, without a copy (`Bytes::from(String)` takes the
    /// allocation over) unless a clone of the event still shares it.
    pub(super) fn into_bytes(self) -> Bytes {
        match self {
            Text::Shared(bytes) => bytes,
            Text::Owned { text, start } => match Arc::try_unwrap(text) {
                Ok(text) => {
                    let bytes = Bytes::from(text);
                    bytes.slice(start.min(bytes.len())..)
                }
                Err(shared) => {
                    Bytes::copy_from_slice(shared.as_bytes().get(start..).unwrap_or_default())
                }
            },
        }
    }
}

/// By value, whatever the form.
impl PartialEq for Text {
    fn eq(&self, other: &Self) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for Text {}

/// Short text (an event type, an id), valid UTF-8: inline when short, so that copying
/// it into every event needs neither an allocation nor a reference count.
#[derive(Clone)]
pub(super) enum Label {
    Inline {
        len: u8,
        buf: [u8; LABEL_INLINE],
    },
    /// Valid UTF-8 (checked again by [`Label::as_str`]: labels are short).
    Shared(Bytes),
}

impl Label {
    pub(super) const EMPTY: Label = Label::Inline {
        len: 0,
        buf: [0; LABEL_INLINE],
    };

    /// The label for `src[start..end]`; `ascii` tells that it is known to be ASCII.
    /// A long label is a slice of `src` only when [`may_share`] allows it, so that a
    /// long-lived last event ID never pins a large network buffer in memory.
    pub(super) fn new(src: &Bytes, start: usize, end: usize, ascii: bool) -> Label {
        let bytes = &src[start..end];
        if bytes.len() <= LABEL_INLINE && (ascii || utf8(bytes).is_some()) {
            // A copy of fixed size (a few vector moves, where a copy of the label's own
            // length is a call to `memcpy`) when the buffer goes on past the label, as
            // it does in a chunk: the bytes after the label are never read.
            let buf = match src.get(start..start + LABEL_INLINE) {
                Some(window) => window.try_into().unwrap_or([0; LABEL_INLINE]),
                None => {
                    let mut buf = [0; LABEL_INLINE];
                    buf[..bytes.len()].copy_from_slice(bytes);
                    buf
                }
            };
            return Label::Inline {
                len: bytes.len() as u8,
                buf,
            };
        }
        Label::Shared(Text::from_checked(cut(src, start, end), ascii).into_bytes())
    }

    /// The label for `text[start..]` (`start` a char boundary), text the decoder
    /// assembled (a line that spans chunks) or was given: inline when short, else
    /// kept as it is (see [`Text::owned`]).
    pub(super) fn from_owned(text: String, start: usize) -> Label {
        let value = text.as_bytes().get(start..).unwrap_or_default();
        if value.len() <= LABEL_INLINE {
            let mut buf = [0; LABEL_INLINE];
            buf[..value.len()].copy_from_slice(value);
            return Label::Inline {
                len: value.len() as u8,
                buf,
            };
        }
        Label::Shared(Text::owned(text, start).into_bytes())
    }

    pub(super) fn from_string(s: String) -> Label {
        Label::from_owned(s, 0)
    }

    #[inline]
    pub(super) fn as_bytes(&self) -> &[u8] {
        match self {
            Label::Inline { len, buf } => &buf[..usize::from(*len)],
            Label::Shared(bytes) => bytes,
        }
    }

    #[inline]
    pub(super) fn is_empty(&self) -> bool {
        self.as_bytes().is_empty()
    }

    #[inline]
    pub(super) fn as_str(&self) -> &str {
        // Valid by construction (see `Text::as_str`).
        utf8(self.as_bytes()).unwrap_or_default()
    }
}

impl PartialEq for Label {
    fn eq(&self, other: &Self) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for Label {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sharing_rule() {
        assert!(may_share(1, SHARED_BUFFER_MAX));
        assert!(!may_share(1, SHARED_BUFFER_MAX + 1));
        assert!(may_share(1 << 20, 2 << 20));
        assert!(!may_share((1 << 20) - 1, 2 << 20));
    }

    #[test]
    fn small_values_are_copied_out_of_large_buffers() {
        let big = Bytes::from(vec![b'x'; 1 << 20]);
        assert_ne!(cut(&big, 0, 10).as_ptr(), big.as_ptr());
        assert_eq!(cut(&big, 0, big.len() - 1).as_ptr(), big.as_ptr());
        let small = Bytes::from(vec![b'x'; 100]);
        assert_eq!(cut(&small, 1, 10).as_ptr(), small[1..].as_ptr());

        let mut roomy = String::with_capacity(1 << 20);
        roomy.push_str("data: abc");
        let text = Text::owned(roomy, 6);
        assert_eq!(text.as_str(), "abc");
        // Copied out: it keeps nothing larger than its own bytes.
        assert!(matches!(&text, Text::Owned { text, start: 0 } if text.capacity() < 1024));
        assert!(Vec::from(text.into_bytes()).capacity() < 1024);
    }

    #[test]
    fn labels_inline_or_shared() {
        let src = Bytes::from_static("id: ééé".as_bytes());
        let label = Label::new(&src, 4, src.len(), false);
        assert!(matches!(label, Label::Inline { .. }));
        assert_eq!(label.as_str(), "ééé");
        let long = "x".repeat(100);
        let label = Label::from_string(long.clone());
        assert!(matches!(label, Label::Shared(_)));
        assert_eq!(label.as_str(), long);
        assert_eq!(Label::EMPTY.as_str(), "");
    }
}
