//! Recorded HTTP answers served again: a directory with a `responses.tsv`
//! (`file`, `status`, `content_type`, `request` as `METHOD /path?query`) and
//! the bodies it names, as `tests/obs-backend/capture-fixtures.sh` writes them.
//! A request is answered only by the body recorded for exactly its method,
//! path and query; any other is answered 404 and kept, so that a test can fail
//! naming it ([`Replay::unknown`]) rather than on the client's error.
//!
//! Plain HTTP/1.1 on a tokio listener, one request per connection: the bodies
//! must go out verbatim, and nothing here may shape them as a server
//! framework would (no compression, no added charset).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// One recorded answer.
#[derive(Debug, Clone)]
struct Recorded {
    status: u16,
    content_type: String,
    body: Vec<u8>,
}

#[derive(Debug, Default)]
struct Seen {
    served: Vec<String>,
    unknown: Vec<String>,
}

pub struct Replay {
    url: String,
    seen: Arc<Mutex<Seen>>,
    /// Runs the server; dropping it ends the accept loop and open connections.
    _runtime: tokio::runtime::Runtime,
}

impl Replay {
    /// Serves the recording in `dir` on `127.0.0.1:<ephemeral port>`.
    pub fn start(dir: &Path) -> Self {
        let answers = Arc::new(load(dir));
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let listener = runtime.block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Seen::default()));
        let state = seen.clone();
        runtime.spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(answer(stream, answers.clone(), state.clone()));
            }
        });
        Self {
            url,
            seen,
            _runtime: runtime,
        }
    }

    /// e.g. `http://127.0.0.1:41234` (no trailing slash).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The recorded requests answered, in order (`GET /path?query`).
    pub fn served(&self) -> Vec<String> {
        self.seen.lock().unwrap().served.clone()
    }

    /// Requests the recording has no answer for, in order.
    pub fn unknown(&self) -> Vec<String> {
        self.seen.lock().unwrap().unknown.clone()
    }
}

/// `responses.tsv` keyed by its `request` column; a row naming a missing file,
/// or a request twice, fails here.
fn load(dir: &Path) -> BTreeMap<String, Recorded> {
    let index = dir.join("responses.tsv");
    let text =
        std::fs::read_to_string(&index).unwrap_or_else(|e| panic!("{}: {e}", index.display()));
    let mut answers = BTreeMap::new();
    for (n, line) in text.lines().enumerate().skip(1) {
        let fields: Vec<&str> = line.split('\t').collect();
        let [file, status, content_type, request] = fields[..] else {
            panic!("{}:{}: not 4 tab-separated fields", index.display(), n + 1);
        };
        let body = std::fs::read(dir.join(file))
            .unwrap_or_else(|e| panic!("{}:{}: `{file}`: {e}", index.display(), n + 1));
        let recorded = Recorded {
            status: status.parse().unwrap(),
            content_type: content_type.to_string(),
            body,
        };
        let earlier = answers.insert(request.to_string(), recorded);
        assert!(earlier.is_none(), "`{request}` recorded twice");
    }
    answers
}

async fn answer(
    mut stream: TcpStream,
    answers: Arc<BTreeMap<String, Recorded>>,
    seen: Arc<Mutex<Seen>>,
) {
    let Some(request) = request_line(&mut stream).await else {
        return;
    };
    let recorded = answers.get(&request).cloned();
    let Recorded {
        status,
        content_type,
        body,
    } = match recorded {
        Some(recorded) => {
            seen.lock().unwrap().served.push(request);
            recorded
        }
        None => {
            let body = format!("not in the recording: {request}\n").into_bytes();
            seen.lock().unwrap().unknown.push(request);
            Recorded {
                status: 404,
                content_type: "text/plain".into(),
                body,
            }
        }
    };
    let reason = reqwest::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Recorded");
    let head = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\n\
Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(head.as_bytes()).await;
    let _ = stream.write_all(&body).await;
    let _ = stream.shutdown().await;
}

/// `METHOD /target` of the request on `stream`, once its head is read whole
/// (GETs carry no body); `None` for a connection closed or not HTTP.
async fn request_line(stream: &mut TcpStream) -> Option<String> {
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buf).await.ok()?;
        if n == 0 || head.len() > 64 * 1024 {
            return None;
        }
        head.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8_lossy(&head);
    let mut words = text.lines().next()?.split(' ');
    let (method, target) = (words.next()?, words.next()?);
    Some(format!("{method} {target}"))
}
