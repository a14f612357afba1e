//! Metadata bodies parsed as they arrive: the body is read under the minimum
//! transfer rate and a size cap, and handed chunk by chunk (a few in flight)
//! to a parser on a blocking thread, so memory does not grow with the body.
//! A `file://` URL is parsed from disk under the same cap.

use super::{AttemptError, Auth, BodyReader, HttpClient, HttpError, error_body, local_path};
use bytes::Bytes;
use reqwest::Method;
use std::io::{BufRead, BufReader, Read};
use tokio::sync::mpsc;

/// Chunks in flight between the body and the parser.
const IN_FLIGHT: usize = 4;

/// A cap on a streamed body and the config key that sets it (for messages).
#[derive(Debug, Clone, Copy)]
pub struct StreamCap {
    pub bytes: u64,
    pub key: &'static str,
}

/// A parser of a whole body, run on a blocking thread (again per attempt).
pub type StreamParser<T, E> = fn(&mut dyn BufRead) -> Result<T, E>;

impl HttpClient {
    /// GET `url` and parse its body as it arrives with `parse`, retried as
    /// [`HttpClient::get_text`] is. `Ok(Err(_))` is the parser's verdict on a
    /// body that arrived whole; a body cut short or too slow is retried, one
    /// over `cap` is an error naming the cap.
    pub async fn get_streamed<T, E>(
        &self,
        url: &str,
        auth: &Auth,
        cap: StreamCap,
        parse: StreamParser<T, E>,
    ) -> Result<Result<T, E>, HttpError>
    where
        T: Send + 'static,
        E: Send + 'static,
    {
        if let Some(path) = local_path(url) {
            return self.parse_local(url, &path, cap, parse).await;
        }
        // The metadata deadline holds for the whole body, as for one read whole.
        self.with_retries(|| async {
            let deadline = self.limits.metadata_deadline;
            match tokio::time::timeout(deadline, self.stream_once(url, auth, cap, parse)).await {
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

    async fn stream_once<T, E>(
        &self,
        url: &str,
        auth: &Auth,
        cap: StreamCap,
        parse: StreamParser<T, E>,
    ) -> Result<Result<T, E>, AttemptError>
    where
        T: Send + 'static,
        E: Send + 'static,
    {
        let response = self.send_once(Method::GET, url, auth, |r| r).await?;
        let status = response.status();
        if !status.is_success() {
            let body = error_body(response).await;
            return Err(AttemptError::Final(HttpError::with_status(
                Method::GET,
                url,
                status,
                body,
            )));
        }
        if let Some(announced) = response.content_length().filter(|n| *n > cap.bytes) {
            return Err(too_large(url, cap, announced));
        }
        let (sender, receiver) = mpsc::channel(IN_FLIGHT);
        let parser = tokio::task::spawn_blocking(move || {
            parse(&mut BufReader::with_capacity(
                64 * 1024,
                ChannelReader::new(receiver),
            ))
        });
        let mut body = BodyReader::new(response.bytes_stream(), &self.limits);
        let mut seen = 0u64;
        loop {
            let chunk = match body.next_chunk().await {
                Ok(Some(chunk)) => chunk,
                Ok(None) => break,
                Err(e) => {
                    // The parser sees an error, not an end, and its verdict on
                    // a partial body does not count.
                    let _ = sender.send(Err(())).await;
                    drop(sender);
                    let _ = parser.await;
                    return Err(e.attempt(&Method::GET, url));
                }
            };
            seen += chunk.len() as u64;
            if seen > cap.bytes {
                let _ = sender.send(Err(())).await;
                drop(sender);
                let _ = parser.await;
                return Err(too_large(url, cap, seen));
            }
            if sender.send(Ok(chunk)).await.is_err() {
                break; // The parser stopped early: its verdict says why.
            }
        }
        drop(sender);
        parser.await.map_err(|e| {
            AttemptError::Final(HttpError::transport(
                Method::GET,
                url,
                format!("the parser of the body failed: {e}"),
            ))
        })
    }

    async fn parse_local<T, E>(
        &self,
        url: &str,
        path: &std::path::Path,
        cap: StreamCap,
        parse: StreamParser<T, E>,
    ) -> Result<Result<T, E>, HttpError>
    where
        T: Send + 'static,
        E: Send + 'static,
    {
        let fail = |reason: String| HttpError::transport(Method::GET, url, reason);
        let file = std::fs::File::open(path).map_err(|e| fail(format!("cannot open: {e}")))?;
        let size = file.metadata().map_err(|e| fail(e.to_string()))?.len();
        if size > cap.bytes {
            return Err(match too_large(url, cap, size) {
                AttemptError::Final(e) | AttemptError::Retry(e, _) => e,
            });
        }
        let limited = file.take(cap.bytes);
        tokio::task::spawn_blocking(move || parse(&mut BufReader::new(limited)))
            .await
            .map_err(|e| fail(format!("the parser of the file failed: {e}")))
    }
}

fn too_large(url: &str, cap: StreamCap, seen: u64) -> AttemptError {
    AttemptError::Final(HttpError::transport(
        Method::GET,
        url,
        format!(
            "the body is larger than the {} MiB limit (at least {seen} bytes; `{}`)",
            cap.bytes / (1024 * 1024),
            cap.key
        ),
    ))
}

/// The body's chunks as a blocking [`Read`]; `Err(())` means the body broke.
struct ChannelReader {
    receiver: mpsc::Receiver<Result<Bytes, ()>>,
    current: Bytes,
}

impl ChannelReader {
    fn new(receiver: mpsc::Receiver<Result<Bytes, ()>>) -> Self {
        Self {
            receiver,
            current: Bytes::new(),
        }
    }
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.current.is_empty() {
            match self.receiver.blocking_recv() {
                None => return Ok(0),
                Some(Ok(chunk)) => self.current = chunk,
                Some(Err(())) => return Err(std::io::Error::other("the body broke off")),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current.split_to(n));
        Ok(n)
    }
}
