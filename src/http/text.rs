//! Metadata bodies read whole as text, under the size limit, the deadline and
//! the minimum transfer rate; `file://` URLs read from disk under the same bounds.

use super::{AttemptError, Auth, BodyReader, HttpClient, HttpError, error_body, local_path};
use reqwest::{Method, Response};

impl HttpClient {
    /// GET a whole metadata body as text, retrying also when the body is cut
    /// short or too slow. Non-success statuses become [`HttpError::Status`]; a
    /// body over [`super::Limits::max_metadata_bytes`] or past
    /// [`super::Limits::metadata_deadline`] is an error that names the limit.
    pub async fn get_text(
        &self,
        url: &str,
        auth: &Auth,
    ) -> Result<(reqwest::header::HeaderMap, String), HttpError> {
        if let Some(path) = local_path(url) {
            let text = self.read_local_text(url, &path).await?;
            return Ok((reqwest::header::HeaderMap::new(), text));
        }
        self.with_retries(|| async {
            let deadline = self.limits.metadata_deadline;
            match tokio::time::timeout(deadline, self.get_text_once(url, auth)).await {
                Ok(result) => result,
                Err(_) => Err(AttemptError::Final(HttpError::transport(
                    Method::GET,
                    url,
                    format!(
                        "no complete answer within the {} s deadline for metadata (`limits.request_timeout_secs`)",
                        deadline.as_secs_f64()
                    ),
                ))),
            }
        })
        .await
    }

    async fn get_text_once(
        &self,
        url: &str,
        auth: &Auth,
    ) -> Result<(reqwest::header::HeaderMap, String), AttemptError> {
        let response = self.send_once(Method::GET, url, auth, |r| r).await?;
        let status = response.status();
        let headers = response.headers().clone();
        if !status.is_success() {
            let body = error_body(response).await;
            return Err(AttemptError::Final(HttpError::with_status(
                Method::GET,
                url,
                status,
                body,
            )));
        }
        let text = self.metadata_body(response, &Method::GET, url).await?;
        Ok((headers, text))
    }

    /// A metadata answer's body as text, under [`super::Limits::max_metadata_bytes`] and
    /// the minimum transfer rate.
    pub async fn metadata_body(
        &self,
        response: Response,
        method: &Method,
        url: &str,
    ) -> Result<String, AttemptError> {
        let limit = self.limits.max_metadata_bytes;
        let too_large = |seen: u64| {
            AttemptError::Final(HttpError::transport(
                method.clone(),
                url,
                format!(
                    "the body is larger than the {} MiB limit for metadata (at least {seen} bytes; `limits.max_metadata_mib`)",
                    limit / (1024 * 1024)
                ),
            ))
        };
        let announced = response.content_length().unwrap_or(0);
        if announced > limit {
            return Err(too_large(announced));
        }
        let mut body = Vec::with_capacity(announced as usize);
        let mut reader = BodyReader::new(response.bytes_stream(), &self.limits);
        while let Some(chunk) = reader
            .next_chunk()
            .await
            .map_err(|e| e.attempt(method, url))?
        {
            if body.len() as u64 + chunk.len() as u64 > limit {
                return Err(too_large(body.len() as u64 + chunk.len() as u64));
            }
            body.extend_from_slice(&chunk);
        }
        String::from_utf8(body).map_err(|_| {
            AttemptError::Final(HttpError::transport(
                method.clone(),
                url,
                "the body is not UTF-8 text",
            ))
        })
    }
}
