//! Content negotiation: does a request's `Accept` header allow an event stream?

use http::header::{HeaderMap, ACCEPT};

/// Whether a request's `Accept` headers allow a `text/event-stream` response.
///
/// Use it to answer `406 Not Acceptable` (or serve something else) to a client that
/// does not want an event stream. A browser's `EventSource` sends
/// `Accept: text/event-stream`; `curl` and `fetch` send `*/*`.
///
/// The rules (RFC 9110, section 12.5.1):
/// - No `Accept` header means any type is acceptable: `true`. So does an `Accept`
///   header without a single well-formed media range in it (empty, or garbage), which
///   the RFC lets a server disregard.
/// - Otherwise the most specific range that matches decides: `text/event-stream`
///   over `text/*` over `*/*`. It allows the stream unless its weight is zero
///   (`q=0`, `q=0.0`, `q=0.00` or `q=0.000`). No matching range: `false`.
/// - Several `Accept` headers are read as one list; a range given twice with the same
///   specificity allows the stream if either allows it.
/// - Type names are compared without regard to case; parameters other than `q` are
///   ignored (so `text/event-stream;charset=utf-8` matches); commas and semicolons in
///   quoted parameter values are handled. A `q` value that is not a number is treated
///   as non-zero.
///
/// ```
/// use http::{header::ACCEPT, HeaderMap, HeaderValue};
/// use ssewire::accepts_event_stream;
///
/// let accept = |value: &'static str| {
///     let mut headers = HeaderMap::new();
///     headers.insert(ACCEPT, HeaderValue::from_static(value));
///     accepts_event_stream(&headers)
/// };
/// assert!(accepts_event_stream(&HeaderMap::new()));
/// assert!(accept("text/event-stream"));
/// assert!(accept("*/*"));
/// assert!(accept("text/html, text/*;q=0.1"));
/// assert!(!accept("application/json"));
/// assert!(!accept("text/event-stream;q=0, */*"));
/// assert!(accept("text/event-stream, */*;q=0"));
/// ```
pub fn accepts_event_stream(headers: &HeaderMap) -> bool {
    // The most specific matching range seen so far, and whether it (or another range
    // as specific) allows the stream.
    let mut best: Option<(Specificity, bool)> = None;
    let mut saw_range = false;
    for value in headers.get_all(ACCEPT) {
        for element in split_outside_quotes(value.as_bytes(), b',') {
            let Some(range) = MediaRange::parse(element) else {
                continue;
            };
            saw_range = true;
            let Some(specificity) = range.matches_event_stream() else {
                continue;
            };
            let allows = !range.zero_weight;
            best = match best {
                Some((s, a)) if s > specificity => Some((s, a)),
                Some((s, a)) if s == specificity => Some((s, a || allows)),
                _ => Some((specificity, allows)),
            };
        }
    }
    if !saw_range {
        return true;
    }
    best.is_some_and(|(_, allows)| allows)
}

/// How closely a media range matches `text/event-stream`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Specificity {
    AnyType,
    AnyTextSubtype,
    Exact,
}

#[derive(Debug)]
struct MediaRange<'a> {
    main: &'a [u8],
    sub: &'a [u8],
    zero_weight: bool,
}

impl<'a> MediaRange<'a> {
    /// Parses one list element, `type/subtype *( OWS ";" OWS param )`; `None` if it
    /// is not a well-formed media range.
    fn parse(element: &'a [u8]) -> Option<Self> {
        let mut parts = split_outside_quotes(element, b';');
        let range = trim(parts.next()?);
        let slash = range.iter().position(|&b| b == b'/')?;
        let (main, sub) = (&range[..slash], &range[slash + 1..]);
        if !is_token(main) || !is_token(sub) {
            return None;
        }
        let mut zero_weight = false;
        for param in parts {
            let param = trim(param);
            let Some(eq) = param.iter().position(|&b| b == b'=') else {
                continue;
            };
            if trim(&param[..eq]).eq_ignore_ascii_case(b"q") {
                zero_weight = is_zero_weight(trim(&param[eq + 1..]));
            }
        }
        Some(MediaRange {
            main,
            sub,
            zero_weight,
        })
    }

    fn matches_event_stream(&self) -> Option<Specificity> {
        match (self.main, self.sub) {
            (b"*", b"*") => Some(Specificity::AnyType),
            (main, b"*") if main.eq_ignore_ascii_case(b"text") => Some(Specificity::AnyTextSubtype),
            (main, sub)
                if main.eq_ignore_ascii_case(b"text")
                    && sub.eq_ignore_ascii_case(b"event-stream") =>
            {
                Some(Specificity::Exact)
            }
            _ => None,
        }
    }
}

/// `0`, `0.`, `0.0`, `0.00` or `0.000`.
fn is_zero_weight(q: &[u8]) -> bool {
    match q {
        [b'0'] => true,
        [b'0', b'.', zeros @ ..] => zeros.len() <= 3 && zeros.iter().all(|&b| b == b'0'),
        _ => false,
    }
}

/// An RFC 9110 token: one or more of the characters allowed in a type name.
fn is_token(s: &[u8]) -> bool {
    !s.is_empty()
        && s.iter()
            .all(|&b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

fn trim(s: &[u8]) -> &[u8] {
    let is_ows = |b: &u8| *b == b' ' || *b == b'\t';
    let start = s.iter().position(|b| !is_ows(b)).unwrap_or(s.len());
    let end = s.iter().rposition(|b| !is_ows(b)).map_or(start, |i| i + 1);
    &s[start..end]
}

/// Splits `s` at each `sep` that is not inside a quoted string (`"..."`, with `\`
/// escapes).
fn split_outside_quotes(s: &[u8], sep: u8) -> impl Iterator<Item = &[u8]> {
    let mut rest = Some(s);
    std::iter::from_fn(move || {
        let s = rest?;
        let mut in_quotes = false;
        let mut escaped = false;
        for (i, &b) in s.iter().enumerate() {
            if escaped {
                escaped = false;
            } else if in_quotes {
                match b {
                    b'\\' => escaped = true,
                    b'"' => in_quotes = false,
                    _ => {}
                }
            } else if b == b'"' {
                in_quotes = true;
            } else if b == sep {
                rest = Some(&s[i + 1..]);
                return Some(&s[..i]);
            }
        }
        rest = None;
        Some(s)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn accept(values: &[&'static str]) -> bool {
        let mut headers = HeaderMap::new();
        for v in values {
            headers.append(ACCEPT, HeaderValue::from_static(v));
        }
        accepts_event_stream(&headers)
    }

    #[test]
    fn missing_or_empty_accept_accepts() {
        assert!(accept(&[]));
        assert!(accept(&[""]));
        assert!(accept(&["  ,  , "]));
    }

    #[test]
    fn malformed_only_accept_is_disregarded() {
        assert!(accept(&["garbage"]));
        assert!(accept(&["text/, /plain, te xt/html"]));
        assert!(accept(&[";q=0"]));
    }

    #[test]
    fn exact_wildcards_and_case() {
        assert!(accept(&["text/event-stream"]));
        assert!(accept(&["TEXT/Event-Stream"]));
        assert!(accept(&["*/*"]));
        assert!(accept(&["text/*"]));
        assert!(accept(&["Text/*"]));
        assert!(!accept(&["text/plain"]));
        assert!(!accept(&["application/*"]));
        assert!(!accept(&["*/event-stream"]));
        assert!(!accept(&["text/event-streams"]));
        assert!(!accept(&["text/event-stream+json"]));
    }

    #[test]
    fn lists_and_whitespace() {
        assert!(accept(&[
            "text/html,application/xhtml+xml,text/event-stream"
        ]));
        assert!(accept(&["text/html , \t text/event-stream \t"]));
        assert!(accept(&["text/html", "text/event-stream"]));
        assert!(!accept(&["text/html", "application/json"]));
        // A malformed element among good ones is skipped.
        assert!(!accept(&["garbage, application/json"]));
        assert!(accept(&["garbage, text/event-stream"]));
    }

    #[test]
    fn parameters_are_ignored_except_q() {
        assert!(accept(&["text/event-stream;charset=utf-8"]));
        assert!(accept(&["text/event-stream ; charset=\"utf-8\" ; q=0.5"]));
        assert!(accept(&["text/event-stream;Q=1"]));
        assert!(accept(&["text/event-stream;level"]));
    }

    #[test]
    fn zero_weights() {
        for q in ["0", "0.", "0.0", "0.00", "0.000"] {
            let value: &'static str = Box::leak(format!("text/event-stream;q={q}").into());
            assert!(!accept(&[value]), "{value}");
        }
        assert!(!accept(&["text/event-stream; Q = 0"]));
        for q in ["0.001", "0.5", "1", "1.000", "0.0000", "abc", "-1", ""] {
            let value: &'static str = Box::leak(format!("text/event-stream;q={q}").into());
            assert!(accept(&[value]), "{value}");
        }
        // The last q parameter counts.
        assert!(accept(&["text/event-stream;q=0;q=1"]));
        assert!(!accept(&["text/event-stream;q=1;q=0"]));
    }

    #[test]
    fn most_specific_range_decides() {
        assert!(!accept(&["text/event-stream;q=0, */*"]));
        assert!(!accept(&["text/event-stream;q=0, text/*"]));
        assert!(!accept(&["text/*;q=0, */*"]));
        assert!(accept(&["text/*;q=0, text/event-stream"]));
        assert!(accept(&["*/*;q=0, text/event-stream;q=0.1"]));
        assert!(accept(&["*/*;q=0, text/*"]));
        assert!(!accept(&["*/*;q=0"]));
        assert!(!accept(&["text/*;q=0"]));
        // Order does not matter.
        assert!(!accept(&["*/*, text/event-stream;q=0"]));
        assert!(!accept(&["*/*", "text/event-stream;q=0"]));
    }

    #[test]
    fn same_specificity_allows_if_either_does() {
        assert!(accept(&["text/event-stream;q=0, text/event-stream"]));
        assert!(accept(&["text/event-stream, text/event-stream;q=0"]));
        assert!(!accept(&["text/event-stream;q=0, TEXT/EVENT-STREAM;q=0.0"]));
    }

    #[test]
    fn quoted_commas_and_semicolons() {
        assert!(accept(&["text/html;x=\"a,b\", text/event-stream"]));
        // The `;q=0` is inside quotes, so it is not a weight.
        assert!(accept(&["text/event-stream;x=\"y;q=0\""]));
        // An escaped quote does not end the string.
        assert!(!accept(&["text/html;x=\"a\\\",text/event-stream\""]));
        assert!(accept(&["text/html;x=\"a\\\\\",text/event-stream"]));
    }

    #[test]
    fn non_ascii_bytes_do_not_match() {
        let mut headers = HeaderMap::new();
        headers.insert(
            ACCEPT,
            HeaderValue::from_bytes(b"t\xe9xt/event-stream").unwrap(),
        );
        // Not a token, so disregarded: no well-formed range at all.
        assert!(accepts_event_stream(&headers));
        headers.append(ACCEPT, HeaderValue::from_static("application/json"));
        assert!(!accepts_event_stream(&headers));
    }

    #[test]
    fn helpers() {
        assert_eq!(trim(b" \t a b \t"), b"a b");
        assert_eq!(trim(b"   "), b"");
        assert_eq!(trim(b""), b"");
        let parts: Vec<&[u8]> = split_outside_quotes(b"a,\"b,c\",d", b',').collect();
        assert_eq!(parts, [&b"a"[..], b"\"b,c\"", b"d"]);
        let parts: Vec<&[u8]> = split_outside_quotes(b"", b',').collect();
        assert_eq!(parts, [&b""[..]]);
        assert!(is_token(b"event-stream"));
        assert!(!is_token(b""));
        assert!(!is_token(b"a b"));
    }
}
