//! Decoded text: `Bytes` that are always valid UTF-8, short labels kept inline, and
//! the rule that decides when a decoded value may stay a slice of a larger buffer.

use bytes::{Bytes, BytesMut};

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

/// A buffer the decoder built, as `Bytes` that keep no more memory than [`may_share`]
/// allows: frozen as it is (no copy), or copied out when it has far more room than
/// content (a buffer sized for an earlier, larger line or event).
#[inline]
pub(super) fn freeze(buf: BytesMut) -> Bytes {
    if may_share(buf.len(), buf.capacity()) {
        buf.freeze()
    } else {
        Bytes::copy_from_slice(&buf)
    }
}

/// [`freeze`] for a `Vec` (the data of a multi-line event, which a `Vec` appends to
/// with fewer checks than a `BytesMut`).
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
fn utf8(bytes: &[u8]) -> Option<&str> {
    // Short text is checked faster without the SIMD set-up.
    if bytes.len() < 64 {
        return std::str::from_utf8(bytes).ok();
    }
    simdutf8::basic::from_utf8(bytes).ok()
}

#[cfg(not(feature = "simdutf8"))]
#[inline]
fn utf8(bytes: &[u8]) -> Option<&str> {
    std::str::from_utf8(bytes).ok()
}

/// `Bytes` that always hold valid UTF-8.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub(super) struct Text(Bytes);

impl Text {
    /// Decodes `bytes` as UTF-8, replacing invalid sequences with U+FFFD (as the
    /// WHATWG "UTF-8 decode" does); valid input is kept without a copy. `ascii` tells
    /// that the bytes are already known to be ASCII, which skips the check.
    pub(super) fn from_checked(bytes: Bytes, ascii: bool) -> Text {
        if ascii || utf8(&bytes).is_some() {
            Text(bytes)
        } else {
            Text(Bytes::from(String::from_utf8_lossy(&bytes).into_owned()))
        }
    }

    #[inline]
    pub(super) fn as_str(&self) -> &str {
        // Valid by construction; the check is what keeps the crate free of `unsafe`.
        utf8(&self.0).unwrap_or_default()
    }

    pub(super) fn as_bytes(&self) -> &Bytes {
        &self.0
    }

    pub(super) fn into_bytes(self) -> Bytes {
        self.0
    }
}

/// Short text (an event type, an id), valid UTF-8: inline when short, so that copying
/// it into every event needs neither an allocation nor a reference count.
#[derive(Clone)]
pub(super) enum Label {
    Inline { len: u8, buf: [u8; LABEL_INLINE] },
    Shared(Text),
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
        Label::Shared(Text::from_checked(cut(src, start, end), ascii))
    }

    pub(super) fn from_string(s: String) -> Label {
        let bytes = Bytes::from(s);
        Label::new(&bytes, 0, bytes.len(), false)
    }

    #[inline]
    pub(super) fn as_bytes(&self) -> &[u8] {
        match self {
            Label::Inline { len, buf } => &buf[..usize::from(*len)],
            Label::Shared(text) => text.as_bytes(),
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

        let mut roomy = BytesMut::with_capacity(1 << 20);
        roomy.extend_from_slice(b"abc");
        let frozen = freeze(roomy);
        assert_eq!(&frozen[..], b"abc");
        // Copied out: converting it back reuses nothing larger than its own bytes.
        assert!(Vec::from(frozen).capacity() < 1024);
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
