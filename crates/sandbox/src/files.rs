//! A static file server over a directory, as the web server of a published
//! repository (download.opensuse.org, a vendor's mirror) serves it: `GET` of
//! files, 404 for anything else, with the emulators' request log and fault plan.

use crate::faults::Flavor;
use crate::server::{self, Endpoint};
use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode, header};
use axum::response::Response;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

#[derive(Debug)]
pub struct FileServer {
    endpoint: Endpoint,
}

impl FileServer {
    /// Serves `root` on `127.0.0.1:<ephemeral port>`.
    pub async fn start(root: impl Into<PathBuf>) -> anyhow::Result<Self> {
        let (listener, url) = server::bind().await?;
        let router = Router::new()
            .fallback(serve)
            .with_state(Arc::new(root.into()));
        Ok(Self {
            endpoint: Endpoint::serve(listener, url, router, Flavor::Packagecloud),
        })
    }

    server::endpoint_controls!();
}

async fn serve(State(root): State<Arc<PathBuf>>, request: Request) -> Response {
    let status = |code: StatusCode| {
        Response::builder()
            .status(code)
            .body(Body::from(format!("{code}\n")))
            .expect("a plain response builds")
    };
    if request.method() != Method::GET {
        return status(StatusCode::METHOD_NOT_ALLOWED);
    }
    let path = percent_encoding::percent_decode_str(request.uri().path()).decode_utf8_lossy();
    let relative = Path::new(path.trim_start_matches('/'));
    if relative
        .components()
        .any(|c| !matches!(c, Component::Normal(_)))
    {
        return status(StatusCode::NOT_FOUND);
    }
    match tokio::fs::read(root.join(relative)).await {
        Ok(bytes) => Response::builder()
            .header(header::CONTENT_TYPE, "application/octet-stream")
            .header(header::CONTENT_LENGTH, bytes.len())
            .body(Body::from(bytes))
            .expect("a file response builds"),
        Err(_) => status(StatusCode::NOT_FOUND),
    }
}
