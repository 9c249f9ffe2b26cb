//! Building requests, following redirects, checking responses.

use http::header::{self, HeaderMap, HeaderValue};
use http::{Request, StatusCode, Uri};

/// Whether `uri` can be requested: `http` or `https` with a host.
pub(crate) fn is_absolute(uri: &Uri) -> bool {
    matches!(uri.scheme_str(), Some("http" | "https")) && uri.host().is_some()
}

/// The request for one attempt.
pub(crate) fn build(
    uri: &Uri,
    extra: &HeaderMap,
    drop_credentials: bool,
    last_event_id: &str,
) -> Request<()> {
    let mut request = Request::new(());
    *request.uri_mut() = uri.clone();
    let headers = request.headers_mut();
    headers.insert(
        header::ACCEPT,
        HeaderValue::from_static("text/event-stream"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    for (name, value) in extra {
        if drop_credentials && is_credential(name) {
            continue;
        }
        headers.insert(name.clone(), value.clone());
    }
    if !last_event_id.is_empty() {
        // The id's raw bytes, as browsers send them; an id with bytes a header cannot
        // carry (control characters) is not sent.
        if let Ok(value) = HeaderValue::from_bytes(last_event_id.as_bytes()) {
            headers.insert("last-event-id", value);
        }
    }
    request
}

fn is_credential(name: &header::HeaderName) -> bool {
    name == header::AUTHORIZATION || name == header::COOKIE || name == header::PROXY_AUTHORIZATION
}

pub(crate) fn is_redirect(status: StatusCode) -> bool {
    matches!(status.as_u16(), 301 | 302 | 303 | 307 | 308)
}

/// `text/event-stream`, any case, parameters ignored.
pub(crate) fn is_event_stream(headers: &HeaderMap) -> bool {
    let Some(value) = headers.get(header::CONTENT_TYPE) else {
        return false;
    };
    let essence = value.as_bytes().split(|&b| b == b';').next().unwrap_or(b"");
    essence
        .trim_ascii()
        .eq_ignore_ascii_case(b"text/event-stream")
}

/// Scheme, host and port (default ports filled in).
pub(crate) fn same_origin(a: &Uri, b: &Uri) -> bool {
    fn port(uri: &Uri) -> Option<u16> {
        uri.port_u16().or(match uri.scheme_str() {
            Some("http") => Some(80),
            Some("https") => Some(443),
            _ => None,
        })
    }
    a.scheme() == b.scheme()
        && a.host().map(str::to_ascii_lowercase) == b.host().map(str::to_ascii_lowercase)
        && port(a) == port(b)
}

/// Resolves a `Location` against the URI that sent it, as RFC 3986 §5.2 does: absolute
/// (`https://h/p`), scheme-relative (`//h/p`), absolute-path (`/p`), relative-path (`p`,
/// `./p`, `../p`) and query-only (`?q`, the base path kept) references, dot segments
/// removed (never above the root). A fragment is dropped. `None` for an empty or
/// fragment-only reference, a result that is not `http`/`https` with a host, or one that
/// does not parse. The parse is strict: `http:g` is an absolute reference with no host.
pub(crate) fn resolve(base: &Uri, location: &HeaderValue) -> Option<Uri> {
    let text = location.to_str().ok()?.trim();
    let text = text.split('#').next().unwrap_or("");
    if text.is_empty() {
        return None;
    }
    let r = Reference::parse(text);
    let mut target = String::with_capacity(text.len() + base.path().len() + 32);
    if let Some(scheme) = r.scheme {
        target.push_str(scheme);
        target.push(':');
        if let Some(authority) = r.authority {
            target.push_str("//");
            target.push_str(authority);
        }
        push_without_dots(&mut target, r.path);
        push_query(&mut target, r.query);
    } else {
        target.push_str(base.scheme_str()?);
        target.push_str("://");
        if let Some(authority) = r.authority {
            target.push_str(authority);
            push_without_dots(&mut target, r.path);
            push_query(&mut target, r.query);
        } else {
            target.push_str(base.authority()?.as_str());
            if r.path.is_empty() {
                // `?q`: the base path stays, only the query changes.
                target.push_str(base.path());
                push_query(&mut target, r.query.or(base.query()));
            } else {
                if r.path.starts_with('/') {
                    push_without_dots(&mut target, r.path);
                } else {
                    push_without_dots(&mut target, &merge(base, r.path));
                }
                push_query(&mut target, r.query);
            }
        }
    }
    let uri = target.parse::<Uri>().ok()?;
    is_absolute(&uri).then_some(uri)
}

/// A reference split as RFC 3986 Appendix B does (the fragment is already gone).
struct Reference<'a> {
    scheme: Option<&'a str>,
    authority: Option<&'a str>,
    path: &'a str,
    query: Option<&'a str>,
}

impl<'a> Reference<'a> {
    fn parse(text: &'a str) -> Self {
        // A scheme is whatever comes before the first `:`, if no `/` or `?` comes first;
        // one that is not `http`/`https` fails later, in `is_absolute`.
        let (scheme, rest) = match text.find([':', '/', '?']) {
            Some(i) if i > 0 && text.as_bytes().get(i) == Some(&b':') => {
                let (scheme, rest) = text.split_at(i);
                (Some(scheme), rest.get(1..).unwrap_or(""))
            }
            _ => (None, text),
        };
        let (authority, rest) = match rest.strip_prefix("//") {
            Some(after) => {
                let end = after.find(['/', '?']).unwrap_or(after.len());
                let (authority, rest) = after.split_at(end);
                (Some(authority), rest)
            }
            None => (None, rest),
        };
        let (path, query) = match rest.split_once('?') {
            Some((path, query)) => (path, Some(query)),
            None => (rest, None),
        };
        Reference {
            scheme,
            authority,
            path,
            query,
        }
    }
}

/// RFC 3986 §5.2.3: a relative path joined to the base path's directory.
fn merge(base: &Uri, path: &str) -> String {
    let base_path = base.path();
    let dir = match base_path.rfind('/') {
        Some(i) => base_path.split_at(i + 1).0,
        // An absolute base always has a path starting with `/` (`http::Uri` gives `/` for
        // an empty one); this is the RFC's empty-path case anyway.
        None => "/",
    };
    let mut merged = String::with_capacity(dir.len() + path.len());
    merged.push_str(dir);
    merged.push_str(path);
    merged
}

/// RFC 3986 §5.2.4, appended to `out` (which holds the scheme and authority, so the
/// path's own start is remembered: a `..` never removes anything before it).
fn push_without_dots(out: &mut String, path: &str) {
    let root = out.len();
    let mut input = path;
    while !input.is_empty() {
        if let Some(rest) = input
            .strip_prefix("../")
            .or_else(|| input.strip_prefix("./"))
        {
            // A: a leading `../` or `./` (only in a reference with a scheme and no
            // authority) is dropped.
            input = rest;
        } else if input.starts_with("/./") || input == "/." {
            // B: `/./` and a final `/.` become `/`.
            input = input.get(2..).filter(|s| !s.is_empty()).unwrap_or("/");
        } else if input.starts_with("/../") || input == "/.." {
            // C: as B, and the last output segment goes; above the root there is none.
            input = input.get(3..).filter(|s| !s.is_empty()).unwrap_or("/");
            let last = out.get(root..).and_then(|p| p.rfind('/')).unwrap_or(0);
            out.truncate(root + last);
        } else if input == "." || input == ".." {
            // D: a lone `.` or `..` goes.
            input = "";
        } else {
            // E: the first segment (with its leading `/`) moves to the output.
            let start = usize::from(input.starts_with('/'));
            let end = input
                .get(start..)
                .and_then(|s| s.find('/'))
                .map_or(input.len(), |i| i + start);
            let (segment, rest) = input.split_at(end);
            out.push_str(segment);
            input = rest;
        }
    }
}

fn push_query(out: &mut String, query: Option<&str>) {
    if let Some(query) = query {
        out.push('?');
        out.push_str(query);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(base: &str, location: &'static str) -> Option<String> {
        resolve(&base.parse().unwrap(), &HeaderValue::from_static(location)).map(|u| u.to_string())
    }

    #[test]
    fn resolves_locations() {
        let base = "http://a.test:8080/x/y?q=1";
        assert_eq!(r(base, "https://b.test/z").unwrap(), "https://b.test/z");
        assert_eq!(r(base, "//c.test/z").unwrap(), "http://c.test/z");
        assert_eq!(r(base, "/z?k").unwrap(), "http://a.test:8080/z?k");
        assert_eq!(r(base, "z").unwrap(), "http://a.test:8080/x/z");
        assert_eq!(r(base, "/z#frag").unwrap(), "http://a.test:8080/z");
        assert_eq!(r(base, "ftp://x/y"), None);
        assert_eq!(r(base, ""), None);
    }

    #[test]
    fn rfc3986_examples() {
        // RFC 3986 §5.4; `g:h` (another scheme) and the empty and fragment-only
        // references (`None` here) are left out.
        let base = "http://a/b/c/d;p?q";
        let normal = [
            ("g", "http://a/b/c/g"),
            ("./g", "http://a/b/c/g"),
            ("g/", "http://a/b/c/g/"),
            ("/g", "http://a/g"),
            // The RFC's `http://g`: `http::Uri` prints an empty path as `/`.
            ("//g", "http://g/"),
            ("?y", "http://a/b/c/d;p?y"),
            ("g?y", "http://a/b/c/g?y"),
            ("g#s", "http://a/b/c/g"),
            ("g?y#s", "http://a/b/c/g?y"),
            (";x", "http://a/b/c/;x"),
            ("g;x", "http://a/b/c/g;x"),
            ("g;x?y#s", "http://a/b/c/g;x?y"),
            (".", "http://a/b/c/"),
            ("./", "http://a/b/c/"),
            ("..", "http://a/b/"),
            ("../", "http://a/b/"),
            ("../g", "http://a/b/g"),
            ("../..", "http://a/"),
            ("../../", "http://a/"),
            ("../../g", "http://a/g"),
        ];
        let abnormal = [
            ("../../../g", "http://a/g"),
            ("../../../../g", "http://a/g"),
            ("/./g", "http://a/g"),
            ("/../g", "http://a/g"),
            ("g.", "http://a/b/c/g."),
            (".g", "http://a/b/c/.g"),
            ("g..", "http://a/b/c/g.."),
            ("..g", "http://a/b/c/..g"),
            ("./../g", "http://a/b/g"),
            ("./g/.", "http://a/b/c/g/"),
            ("g/./h", "http://a/b/c/g/h"),
            ("g/../h", "http://a/b/c/h"),
            ("g;x=1/./y", "http://a/b/c/g;x=1/y"),
            ("g;x=1/../y", "http://a/b/c/y"),
            ("g?y/./x", "http://a/b/c/g?y/./x"),
            ("g?y/../x", "http://a/b/c/g?y/../x"),
            ("g#s/./x", "http://a/b/c/g"),
            ("g#s/../x", "http://a/b/c/g"),
        ];
        for (location, expected) in normal.into_iter().chain(abnormal) {
            assert_eq!(r(base, location).as_deref(), Some(expected), "{location}");
        }
        // A strict parser reads `http:g` as an absolute URI with no host.
        assert_eq!(r(base, "http:g"), None);
        assert_eq!(r(base, "#s"), None);
        // An absolute URI's path loses its dot segments too.
        assert_eq!(
            r(base, "HTTPS://h.test/x/./y/../z?k").as_deref(),
            Some("https://h.test/x/z?k")
        );

        let base = "http://a.test/x/events?v=1";
        assert_eq!(
            r(base, "?v=2").as_deref(),
            Some("http://a.test/x/events?v=2")
        );
        assert_eq!(r(base, "../b/c").as_deref(), Some("http://a.test/b/c"));
        assert_eq!(r(base, "./c").as_deref(), Some("http://a.test/x/c"));
    }

    #[test]
    fn odd_locations_do_not_panic() {
        let base: Uri = "http://a/b/c/d;p?q".parse().unwrap();
        let s = |location: &str| {
            resolve(&base, &HeaderValue::from_str(location).unwrap()).map(|u| u.to_string())
        };
        assert_eq!(s("/../../..").as_deref(), Some("http://a/"));
        assert_eq!(s("/..").as_deref(), Some("http://a/"));
        assert_eq!(s("/.").as_deref(), Some("http://a/"));
        assert_eq!(s("?").as_deref(), Some("http://a/b/c/d;p?"));
        assert_eq!(s("//"), None);
        assert_eq!(s("///"), None);
        assert_eq!(s("//h/../.."), Some("http://h/".into()));
        // Only literal dots are dot segments (§5.2.4); `%2e` is passed on as it is.
        assert_eq!(s("/%2e%2e/").as_deref(), Some("http://a/%2e%2e/"));
        for odd in [
            "http:", "http://", "http:?", ":", "::", ":/", "a:", "?#", " ", "\t",
        ] {
            s(odd);
        }
        assert_eq!(
            resolve(&base, &HeaderValue::from_bytes(b"/\xff").unwrap()),
            None
        );

        let deep = "/a".repeat(20_000);
        let up = "/..".repeat(20_005);
        assert_eq!(s(&format!("{deep}{up}/z")).as_deref(), Some("http://a/z"));
        assert_eq!(s(&"../".repeat(40_000)).as_deref(), Some("http://a/"));
        assert_eq!(s(&deep).map(|u| u.len()), Some(8 + deep.len()));

        // Every location of up to 4 characters from an alphabet of separators: no panic,
        // and a result is absolute and resolves to itself.
        let alphabet = ['/', '.', '?', '#', ':', '%', 'a'];
        let mut location = String::new();
        let mut indices = Vec::new();
        loop {
            location.clear();
            location.extend(indices.iter().map(|&i: &usize| alphabet[i]));
            if let Some(uri) = s(&location) {
                let parsed: Uri = uri.parse().unwrap();
                assert!(is_absolute(&parsed), "{location:?} -> {uri}");
                assert_eq!(s(&uri).as_deref(), Some(uri.as_str()), "{location:?}");
            }
            // The next combination, shortest first.
            match indices.iter().rposition(|&i| i + 1 < alphabet.len()) {
                Some(p) => {
                    indices[p] += 1;
                    indices.iter_mut().skip(p + 1).for_each(|i| *i = 0);
                }
                None if indices.len() < 4 => indices = vec![0; indices.len() + 1],
                None => break,
            }
        }
    }

    #[test]
    fn origins_and_content_types() {
        let u = |s: &str| s.parse::<Uri>().unwrap();
        assert!(same_origin(&u("http://A.test/x"), &u("http://a.test:80/y")));
        assert!(!same_origin(&u("http://a.test/"), &u("https://a.test/")));
        assert!(!same_origin(&u("http://a.test/"), &u("http://a.test:81/")));
        let mut h = HeaderMap::new();
        assert!(!is_event_stream(&h));
        h.insert(
            "content-type",
            HeaderValue::from_static("Text/Event-Stream; charset=utf-8"),
        );
        assert!(is_event_stream(&h));
        h.insert(
            "content-type",
            HeaderValue::from_static("text/event-streamx"),
        );
        assert!(!is_event_stream(&h));
    }

    #[test]
    fn last_event_id_only_when_not_empty() {
        let uri: Uri = "http://a.test/".parse().unwrap();
        let req = build(&uri, &HeaderMap::new(), false, "");
        assert!(req.headers().get("last-event-id").is_none());
        assert_eq!(req.headers()["accept"], "text/event-stream");
        assert_eq!(req.headers()["cache-control"], "no-cache");
        let req = build(&uri, &HeaderMap::new(), false, "42");
        assert_eq!(req.headers()["last-event-id"], "42");
    }
}
