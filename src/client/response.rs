//! How [`EventSource`] reads a response's head: open the stream, stop on 204, follow a
//! redirect, retry a server error, or read an error body.

use std::time::SystemTime;

use bytes::BytesMut;
use http::{StatusCode, Uri};

use super::backoff;
use super::error::{Error, ResponseError, RetryCause};
use super::item::{Item, Open, ReadyState};
use super::request;
use super::source::{EventSource, State};
use super::transport::BodyStream;
use std::task::Poll;

impl EventSource {
    pub(super) fn on_response(
        &mut self,
        response: http::Response<BodyStream>,
        uri: Uri,
        redirects: usize,
        drop_credentials: bool,
        last_event_id: String,
    ) -> Option<Poll<Option<Result<Item, Error>>>> {
        let (parts, body) = response.into_parts();
        let status = parts.status;
        if status == StatusCode::OK && request::is_event_stream(&parts.headers) {
            let now = self.timer.now();
            self.stats.connects += 1;
            self.ready = ReadyState::Open;
            self.decoder.reset();
            self.state = State::Streaming {
                body,
                opened: now,
                last_byte: now,
                idle: None,
                events: 0,
            };
            return Some(Poll::Ready(Some(Ok(Item::Open(Open {
                uri,
                headers: parts.headers,
                last_event_id,
                redirects,
            })))));
        }
        if status == StatusCode::NO_CONTENT {
            self.close();
            return Some(Poll::Ready(None));
        }
        if request::is_redirect(status) {
            let location = parts.headers.get(http::header::LOCATION);
            let Some(next) = location.and_then(|l| request::resolve(&uri, l)) else {
                return Some(self.fail(Error::InvalidRedirect {
                    status,
                    location: location.cloned(),
                }));
            };
            if redirects >= self.config.max_redirects() {
                return Some(self.fail(Error::TooManyRedirects {
                    limit: self.config.max_redirects(),
                }));
            }
            let drop_credentials = drop_credentials || !request::same_origin(&uri, &next);
            self.connect(next, redirects + 1, drop_credentials);
            return None;
        }
        if self.config.retry_server_errors()
            && (status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS)
        {
            let retry_after = backoff::retry_after(&parts.headers, SystemTime::now());
            return Some(self.retry(
                RetryCause::Status {
                    status,
                    retry_after,
                },
                false,
            ));
        }
        self.state = State::ErrorBody {
            error: Box::new(ResponseError {
                uri,
                status,
                headers: parts.headers,
                body: bytes::Bytes::new(),
            }),
            body,
            buf: BytesMut::new(),
            last_byte: self.timer.now(),
            idle: None,
        };
        None
    }
}
