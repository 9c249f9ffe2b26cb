//! Building requests, following redirects, checking responses.

use http::header::{self, HeaderMap, HeaderValue};
use http::uri::{Authority, PathAndQuery, Scheme};
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

/// Resolves a `Location` against the URI that sent it (absolute, scheme-relative,
/// absolute-path and relative-path references; a fragment is dropped).
pub(crate) fn resolve(base: &Uri, location: &HeaderValue) -> Option<Uri> {
    let text = location.to_str().ok()?.trim();
    let text = text.split('#').next().unwrap_or("");
    if text.is_empty() {
        return None;
    }
    let uri = if let Some(rest) = text.strip_prefix("//") {
        format!("{}://{rest}", base.scheme_str()?)
            .parse::<Uri>()
            .ok()?
    } else if text.starts_with('/') {
        with_path(base, text)?
    } else if let Ok(uri) = text.parse::<Uri>() {
        if uri.scheme().is_some() {
            uri
        } else {
            relative(base, text)?
        }
    } else {
        relative(base, text)?
    };
    is_absolute(&uri).then_some(uri)
}

fn relative(base: &Uri, text: &str) -> Option<Uri> {
    let path = base.path();
    let dir = &path[..path.rfind('/').map_or(0, |i| i + 1)];
    let dir = if dir.is_empty() { "/" } else { dir };
    with_path(base, &format!("{dir}{text}"))
}

fn with_path(base: &Uri, path_and_query: &str) -> Option<Uri> {
    let scheme: Scheme = base.scheme()?.clone();
    let authority: Authority = base.authority()?.clone();
    let pq: PathAndQuery = path_and_query.parse().ok()?;
    Uri::builder()
        .scheme(scheme)
        .authority(authority)
        .path_and_query(pq)
        .build()
        .ok()
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
