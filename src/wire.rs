//! Low-level writing of wire bytes: a tiny sink abstraction and decimal formatting.

use bytes::BytesMut;

/// Somewhere encoded bytes go: a growable buffer, or a slice of exactly the right size.
pub(crate) trait Sink {
    fn put(&mut self, bytes: &[u8]);

    /// Writes `n` in decimal.
    #[inline]
    fn put_u64(&mut self, n: u64) {
        self.put(Decimal::new(n).as_bytes());
    }
}

impl Sink for BytesMut {
    #[inline]
    fn put(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
}

impl Sink for Vec<u8> {
    #[inline]
    fn put(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }

    #[inline]
    fn put_u64(&mut self, n: u64) {
        let len = u64_len(n);
        self.reserve(len);
        push_decimal(self, n, len);
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

    /// Numbers of up to 8 digits go in with one 8-byte store when the slice has room
    /// for it (the bytes past the digits are written over by what follows).
    #[inline]
    fn put_u64(&mut self, n: u64) {
        let len = u64_len(n);
        if n < 100_000_000 {
            let digits = (eight_digits(n as u32) >> ((8 - len) * 8)).to_le_bytes();
            if let Some(dst) = self.buf.get_mut(self.pos..self.pos + 8) {
                dst.copy_from_slice(&digits);
            } else {
                // Too close to the end for the whole word (the last field of a
                // header): copy just the digits.
                self.put(&digits[..len]);
                return;
            }
            self.pos += len;
            return;
        }
        self.put(Decimal::new(n).as_bytes());
    }
}

/// Number of decimal digits of `n`.
#[inline]
pub(crate) fn u64_len(n: u64) -> usize {
    n.checked_ilog10().map_or(1, |log| log as usize + 1)
}

/// "00" to "99": two digits per division when formatting.
const DIGIT_PAIRS: &[u8; 200] = b"\
0001020304050607080910111213141516171819\
2021222324252627282930313233343536373839\
4041424344454647484950515253545556575859\
6061626364656667686970717273747576777879\
8081828384858687888990919293949596979899";

/// A `u64` (or `i64`) in decimal, formatted on the stack.
pub(crate) struct Decimal {
    /// 20 digits at most, plus room for a minus sign.
    digits: [u8; 21],
    start: usize,
}

impl Decimal {
    #[inline]
    pub(crate) fn new(mut n: u64) -> Self {
        let mut digits = [0u8; 21];
        let mut i = digits.len();
        while n >= 100 {
            let pair = (n % 100) as usize * 2;
            n /= 100;
            i -= 2;
            digits[i..i + 2].copy_from_slice(&DIGIT_PAIRS[pair..pair + 2]);
        }
        if n >= 10 {
            let pair = n as usize * 2;
            i -= 2;
            digits[i..i + 2].copy_from_slice(&DIGIT_PAIRS[pair..pair + 2]);
        } else {
            i -= 1;
            digits[i] = b'0' + n as u8;
        }
        Decimal { digits, start: i }
    }

    /// `n` in decimal, with a leading `-` when negative.
    #[inline]
    pub(crate) fn signed(n: i64) -> Self {
        let mut d = Decimal::new(n.unsigned_abs());
        if n < 0 {
            // At most 20 digits were written, so there is room for the sign.
            d.start -= 1;
            d.digits[d.start] = b'-';
        }
        d
    }

    #[inline]
    pub(crate) fn as_bytes(&self) -> &[u8] {
        self.digits.get(self.start..).unwrap_or_default()
    }
}

/// Appends `n` in decimal to `buf`; `len` is its digit count, from [`u64_len`].
///
/// Ids of up to 8 digits (the common case) are formatted in one register and written
/// with one 8-byte store; longer ones go through [`Decimal`].
#[inline]
pub(crate) fn push_decimal(buf: &mut Vec<u8>, n: u64, len: usize) {
    debug_assert_eq!(len, u64_len(n));
    if n < 100_000_000 && buf.capacity() - buf.len() >= 8 {
        // Write all 8 bytes, then cut back to `len`: the room is already there, so
        // nothing reallocates.
        let start = buf.len();
        let digits = eight_digits(n as u32) >> ((8 - len.clamp(1, 8)) * 8);
        buf.extend_from_slice(&digits.to_le_bytes());
        buf.truncate(start + len);
    } else {
        buf.extend_from_slice(Decimal::new(n).as_bytes());
    }
}

/// The 8 decimal digits of `n < 10^8` as ASCII, most significant in the lowest byte
/// (so `to_le_bytes` is in reading order), leading zeros included. SIMD within a
/// register: each step splits every lane in two with a multiply-shift division that is
/// exact for the lane's range, and the lanes never carry into each other.
#[inline]
fn eight_digits(n: u32) -> u64 {
    debug_assert!(n < 100_000_000);
    // Two 32-bit lanes of 4 digits each: [n / 10^4, n % 10^4].
    let v = u64::from(n / 10_000) | (u64::from(n % 10_000) << 32);
    // Four 16-bit lanes of 2 digits: x / 100 is (x * 10486) >> 20 for x < 10^4.
    let hundreds = ((v * 10_486) >> 20) & 0x0000_007f_0000_007f;
    let v = hundreds | ((v - hundreds * 100) << 16);
    // Eight 8-bit lanes of 1 digit: x / 10 is (x * 103) >> 10 for x < 100.
    let tens = ((v * 103) >> 10) & 0x000f_000f_000f_000f;
    let v = tens | ((v - tens * 10) << 8);
    v | 0x3030_3030_3030_3030
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eight_digit_words_match_std_formatting() {
        let mut check = |n: u64| {
            let mut room = Vec::with_capacity(32);
            push_decimal(&mut room, n, u64_len(n));
            assert_eq!(room, n.to_string().as_bytes(), "{n}");
            let mut tight = Vec::new(); // no room for 8 bytes: the other path
            push_decimal(&mut tight, n, u64_len(n));
            assert_eq!(tight, n.to_string().as_bytes(), "{n}");
        };
        (0..200_000).for_each(&mut check);
        for digits in 1..=20u32 {
            let p = 10u64.saturating_pow(digits);
            for n in [p / 10, p - 1, p, p.saturating_add(1), p / 3, p / 7] {
                check(n);
            }
        }
        // A spread over the whole 8-digit range.
        (0..100_000_000u64).step_by(9_973).for_each(&mut check);
        check(u64::MAX);
    }

    fn write_u64<S: Sink>(sink: &mut S, n: u64) {
        sink.put_u64(n);
    }

    #[test]
    fn decimal_formatting_matches_std() {
        for n in [0u64, 1, 9, 10, 99, 100, 12345, u64::MAX, u64::MAX / 7] {
            let mut b = BytesMut::new();
            write_u64(&mut b, n);
            assert_eq!(&b[..], n.to_string().as_bytes());
            assert_eq!(u64_len(n), n.to_string().len());
        }
        let powers = (0..20).map(|e| 10u64.pow(e));
        let around_powers = powers.flat_map(|p| [p - 1, p, p + 1]);
        for n in (0..20_000u64).chain(around_powers) {
            let mut b = BytesMut::new();
            write_u64(&mut b, n);
            assert_eq!(&b[..], n.to_string().as_bytes());
            assert_eq!(u64_len(n), n.to_string().len());
        }
        for n in (0..20_000u64).chain([u64::MAX, u64::MAX / 7, 1 << 32, (1 << 32) - 1]) {
            let mut v = b"x".to_vec();
            push_decimal(&mut v, n, u64_len(n));
            assert_eq!(&v[1..], n.to_string().as_bytes());
        }
        for n in [0i64, -1, i64::MIN, i64::MAX, -12345] {
            assert_eq!(Decimal::signed(n).as_bytes(), n.to_string().as_bytes());
        }
        for n in (0..20_000u64).chain([u64::MAX, 99_999_999, 100_000_000]) {
            // A slice with room for the 8-byte store, and one without.
            let len = u64_len(n);
            for room in [len, len + 8] {
                let mut buf = vec![b'#'; room];
                let mut s = SliceSink::new(&mut buf);
                s.put_u64(n);
                assert_eq!(&buf[..len], n.to_string().as_bytes());
            }
            let mut v = Vec::new();
            v.put_u64(n);
            assert_eq!(v, n.to_string().as_bytes());
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
