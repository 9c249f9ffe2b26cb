//! Low-level writing of wire bytes: a tiny sink abstraction and decimal formatting.

use bytes::BytesMut;

/// Somewhere encoded bytes go: a growable buffer, or a slice of exactly the right size.
pub(crate) trait Sink {
    fn put(&mut self, bytes: &[u8]);
}

impl Sink for BytesMut {
    #[inline]
    fn put(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
}

/// Writes into a slice whose length the caller computed exactly beforehand.
pub(crate) struct SliceSink<'a> {
    buf: &'a mut [u8],
    pos: usize,
}

impl<'a> SliceSink<'a> {
    pub(crate) fn new(buf: &'a mut [u8]) -> Self {
        SliceSink { buf, pos: 0 }
    }

    /// Whether exactly the whole slice was written.
    pub(crate) fn is_full(&self) -> bool {
        self.pos == self.buf.len()
    }
}

impl Sink for SliceSink<'_> {
    #[inline]
    fn put(&mut self, bytes: &[u8]) {
        // Lengths are computed by the same code that writes, so this never truncates;
        // `get_mut` keeps a miscount from ever becoming a panic.
        let end = self.pos + bytes.len();
        if let Some(dst) = self.buf.get_mut(self.pos..end) {
            dst.copy_from_slice(bytes);
            self.pos = end;
        }
    }
}

/// Number of decimal digits of `n`.
#[inline]
pub(crate) fn u64_len(mut n: u64) -> usize {
    let mut len = 1;
    while n >= 10 {
        n /= 10;
        len += 1;
    }
    len
}

#[inline]
pub(crate) fn write_u64<S: Sink>(sink: &mut S, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    sink.put(&digits[i..]);
}

#[inline]
pub(crate) fn write_i64<S: Sink>(sink: &mut S, n: i64) {
    if n < 0 {
        sink.put(b"-");
    }
    write_u64(sink, n.unsigned_abs());
}

/// Decimal digits of a `u128` (retry times are whole milliseconds of a `Duration`).
pub(crate) fn u128_len(n: u128) -> usize {
    match u64::try_from(n) {
        Ok(small) => u64_len(small),
        Err(_) => n.to_string().len(),
    }
}

pub(crate) fn write_u128<S: Sink>(sink: &mut S, n: u128) {
    match u64::try_from(n) {
        Ok(small) => write_u64(sink, small),
        Err(_) => sink.put(n.to_string().as_bytes()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_formatting_matches_std() {
        for n in [0u64, 1, 9, 10, 99, 100, 12345, u64::MAX, u64::MAX / 7] {
            let mut b = BytesMut::new();
            write_u64(&mut b, n);
            assert_eq!(&b[..], n.to_string().as_bytes());
            assert_eq!(u64_len(n), n.to_string().len());
        }
        for n in [0i64, -1, i64::MIN, i64::MAX, -12345] {
            let mut b = BytesMut::new();
            write_i64(&mut b, n);
            assert_eq!(&b[..], n.to_string().as_bytes());
        }
        for n in [0u128, u128::from(u64::MAX) + 1, u128::MAX] {
            let mut b = BytesMut::new();
            write_u128(&mut b, n);
            assert_eq!(&b[..], n.to_string().as_bytes());
            assert_eq!(u128_len(n), n.to_string().len());
        }
    }

    #[test]
    fn slice_sink_never_overruns() {
        let mut buf = [0u8; 3];
        let mut s = SliceSink::new(&mut buf);
        s.put(b"ab");
        s.put(b"cd");
        assert!(!s.is_full());
        assert_eq!(&buf, b"ab\0");
    }
}
