//! The emulator's answers in the two styles OBS has: the Perl backend's
//! (`text/xml`, no caching, connection closed) and the Rails API's (with its
//! `X-Opensuse-Errorcode`), each sent with an exact Content-Length.

use crate::obs::xml;
use axum::body::{Body, Bytes};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::Response;

/// A finished answer; turned into a response with an exact Content-Length.
pub(super) struct Reply {
    pub(super) status: StatusCode,
    pub(super) headers: Vec<(HeaderName, String)>,
    pub(super) body: Bytes,
}

impl Reply {
    /// Perl backend style: `text/xml`, no caching, connection closed.
    pub(super) fn backend(status: StatusCode, body: String) -> Self {
        Self {
            status,
            headers: vec![
                (header::CONTENT_TYPE, "text/xml".into()),
                (header::CACHE_CONTROL, "no-cache".into()),
                (header::CONNECTION, "close".into()),
            ],
            body: body.into(),
        }
    }

    /// Backend error with numeric code; `details` repeats the status and summary
    /// except for parameter errors, as observed.
    pub(super) fn backend_error(status: StatusCode, summary: &str, with_details: bool) -> Self {
        let code = status.as_u16().to_string();
        let details = with_details.then(|| format!("{code} {summary}"));
        Self::backend(
            status,
            xml::status_document(&code, summary, details.as_deref()),
        )
    }

    pub(super) fn rails(status: StatusCode, body: String) -> Self {
        Self {
            status,
            headers: vec![(
                header::CONTENT_TYPE,
                "application/xml; charset=utf-8".into(),
            )],
            body: body.into(),
        }
    }

    pub(super) fn rails_error(status: StatusCode, code: &str, summary: &str) -> Self {
        let mut reply = Self::rails(status, xml::status_document(code, summary, None));
        reply.headers.push((
            HeaderName::from_static("x-opensuse-errorcode"),
            code.to_string(),
        ));
        reply
    }

    pub(super) fn into_response(self, head_only: bool) -> Response {
        let length = self.body.len();
        let body = if head_only {
            Body::empty()
        } else {
            Body::from(self.body)
        };
        let mut response = Response::new(body);
        *response.status_mut() = self.status;
        let headers = response.headers_mut();
        for (name, value) in self.headers {
            if let Ok(value) = HeaderValue::from_str(&value) {
                headers.append(name, value);
            }
        }
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
        response
    }
}
