//! The client itself: two reqwest clients built in one place (timeouts, user
//! agent, the upload client without a read timeout), the credentials a
//! request carries, and those a published repository's host gets
//! (`RepositoryAuth`), which go to that scheme, host and port only.

use super::{Limits, RetryPolicy, download};
use crate::secret::Secret;
use reqwest::header::HeaderValue;
use reqwest::{Method, RequestBuilder, Response};
use std::sync::Arc;
use std::time::Duration;

/// Credentials for one request.
#[derive(Debug, Clone)]
pub enum Auth {
    None,
    Basic {
        user: String,
        password: Secret,
    },
    /// Packagecloud style: the token as user name, an empty password.
    Token(Secret),
}

impl Auth {
    fn apply(&self, request: RequestBuilder) -> RequestBuilder {
        match self {
            Auth::None => request,
            Auth::Basic { user, password } => request.basic_auth(user, Some(password.expose())),
            Auth::Token(token) => request.basic_auth(token.expose(), Some("")),
        }
    }
}

/// What a published repository's host is sent (its entry's `auth:` block).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RepositoryAuth {
    pub credential: Option<Credential>,
    /// A TLS client certificate and its key, PEM, in one buffer.
    pub identity: Option<Secret>,
    /// Further CA certificates (PEM) the host's certificate may chain to.
    pub ca_bundle: Option<Vec<u8>>,
}

/// A credential sent in a request's headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    Basic {
        user: String,
        password: Secret,
    },
    /// `Authorization: Bearer …` is a header of this kind.
    Header {
        name: String,
        value: Secret,
    },
}

impl Credential {
    fn apply(&self, request: RequestBuilder) -> RequestBuilder {
        match self {
            Credential::Basic { user, password } => {
                request.basic_auth(user, Some(password.expose()))
            }
            Credential::Header { name, value } => match HeaderValue::from_str(value.expose()) {
                Ok(mut value) => {
                    value.set_sensitive(true);
                    request.header(name.as_str(), value)
                }
                // Checked when the config was read; never sent half-formed.
                Err(_) => request,
            },
        }
    }
}

impl RepositoryAuth {
    /// Whether its parts can be used: a header name and value, the
    /// certificate with its key, the CA bundle. Messages hold no value.
    pub fn check(&self) -> Result<(), String> {
        if let Some(Credential::Header { name, value }) = &self.credential {
            reqwest::header::HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| format!("`{name}` is not a header name"))?;
            HeaderValue::from_str(value.expose())
                .map_err(|_| format!("the value for `{name}` is not a valid header value"))?;
        }
        self.client(Duration::from_secs(1), Some("https://checked:443"))
            .map(|_| ())
    }

    /// A client with this repository's certificate and CAs; `origin`: follow
    /// redirects on that origin only (the others are answered as they are).
    fn client(&self, timeout: Duration, origin: Option<&str>) -> Result<reqwest::Client, String> {
        let mut builder = client_builder().read_timeout(timeout);
        if let Some(bundle) = &self.ca_bundle {
            let certificates = reqwest::Certificate::from_pem_bundle(bundle).map_err(|_| {
                "the CA bundle holds no PEM certificate that can be read".to_string()
            })?;
            if certificates.is_empty() {
                return Err("the CA bundle holds no PEM certificate".to_string());
            }
            for certificate in certificates {
                builder = builder.add_root_certificate(certificate);
            }
        }
        if let Some(home) = origin {
            if let Some(pem) = &self.identity {
                let identity = reqwest::Identity::from_pem(pem.expose().as_bytes()).map_err(|_| {
                    "the client certificate and key are not a PEM certificate with its private key"
                        .to_string()
                })?;
                builder = builder.identity(identity);
            }
            let home = home.to_string();
            builder = builder.redirect(reqwest::redirect::Policy::custom(move |attempt| {
                if self::origin(attempt.url().as_str()).as_deref() != Some(home.as_str()) {
                    attempt.stop()
                } else if attempt.previous().len() >= 10 {
                    attempt.error("more than 10 redirects")
                } else {
                    attempt.follow()
                }
            }));
        }
        builder
            .build()
            .map_err(|e| format!("the TLS settings cannot be used: {}", source_of(&e)))
    }
}

/// `scheme://host:port` of an http(s) URL (the scheme's port when none is
/// given): what a repository's credentials are bound to.
pub fn origin(url: &str) -> Option<String> {
    let parsed = url::Url::parse(url).ok()?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return None;
    }
    Some(format!(
        "{}://{}:{}",
        parsed.scheme(),
        parsed.host_str()?,
        parsed.port_or_known_default()?
    ))
}

/// The innermost reason of a client's build error (reqwest's own text says
/// only "builder error").
fn source_of(error: &(dyn std::error::Error + 'static)) -> String {
    let mut inner = error;
    while let Some(next) = inner.source() {
        inner = next;
    }
    inner.to_string()
}

/// One repository host's credentials and the clients that carry them.
#[derive(Debug)]
struct Scoped {
    origin: String,
    credential: Option<Credential>,
    /// With the certificate; redirects followed on the origin only.
    client: reqwest::Client,
    /// Without any credential, for a redirect off the origin.
    anonymous: reqwest::Client,
}

const DEFAULT_READ_TIMEOUT: Duration = Duration::from_secs(120);

fn client_builder() -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .user_agent(concat!("pkgsync/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(Duration::from_secs(15))
}

#[derive(Debug, Clone)]
pub struct HttpClient {
    client: reqwest::Client,
    /// For uploads: no read timeout. reqwest's read timeout runs from the start
    /// of a request until the answer's head, so it would also cut off sending a
    /// large body; uploads are bounded by their own deadline instead.
    upload_client: reqwest::Client,
    read_timeout: Duration,
    pub retry: RetryPolicy,
    pub limits: Limits,
    /// The proxies of the environment, to name them in errors.
    pub proxies: super::Proxies,
    /// Published repositories' hosts and what they are sent.
    scoped: Vec<Arc<Scoped>>,
}

impl HttpClient {
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    pub fn new(retry: RetryPolicy) -> Self {
        Self {
            client: client_builder()
                .read_timeout(DEFAULT_READ_TIMEOUT)
                .build()
                .expect("the TLS backend initialises"),
            upload_client: client_builder()
                .build()
                .expect("the TLS backend initialises"),
            read_timeout: DEFAULT_READ_TIMEOUT,
            retry,
            limits: Limits::default(),
            proxies: super::Proxies::default(),
            scoped: Vec::new(),
        }
    }

    /// Names these proxies in the errors of requests that go through them.
    pub fn with_proxies(mut self, proxies: super::Proxies) -> Self {
        self.proxies = proxies;
        self
    }

    /// How long a request (other than an upload) may wait for its answer's
    /// head and between reads; tests shorten it.
    pub fn with_read_timeout(mut self, timeout: Duration) -> Self {
        self.client = client_builder()
            .read_timeout(timeout)
            .build()
            .expect("the TLS backend initialises");
        self.read_timeout = timeout;
        self
    }

    /// This client, except that a redirect to `mirror` (`host:port`) is not
    /// followed but answered as it is: for fetching a file once more from its
    /// origin after that mirror sent other bytes.
    pub(super) fn avoiding(&self, mirror: &str) -> Self {
        let mirror = mirror.to_string();
        let policy = reqwest::redirect::Policy::custom(move |attempt| {
            if download::authority(attempt.url().as_str()).as_deref() == Some(mirror.as_str()) {
                attempt.stop()
            } else if attempt.previous().len() >= 10 {
                attempt.error("more than 10 redirects")
            } else {
                attempt.follow()
            }
        });
        let mut avoiding = self.clone();
        avoiding.client = client_builder()
            .read_timeout(self.read_timeout)
            .redirect(policy)
            .build()
            .expect("the TLS backend initialises");
        avoiding
    }

    /// This client, sending `auth` to requests without credentials of their
    /// own whose scheme, host and port are `url`'s. One host, one `auth`:
    /// the config refuses two (`config::repository_auth`).
    pub fn with_repository(mut self, url: &str, auth: &RepositoryAuth) -> Result<Self, String> {
        let origin = origin(url).ok_or_else(|| "not an http(s) URL".to_string())?;
        if self.scoped.iter().any(|s| s.origin == origin) {
            return Ok(self);
        }
        self.scoped.push(Arc::new(Scoped {
            client: auth.client(self.read_timeout, Some(&origin))?,
            anonymous: auth.client(self.read_timeout, None)?,
            credential: auth.credential.clone(),
            origin,
        }));
        Ok(self)
    }

    fn scope(&self, url: &str, auth: &Auth) -> Option<&Scoped> {
        if !matches!(auth, Auth::None) || self.scoped.is_empty() {
            return None;
        }
        let origin = origin(url)?;
        self.scoped
            .iter()
            .find(|s| s.origin == origin)
            .map(|s| &**s)
    }

    pub fn request(&self, method: Method, url: &str, auth: &Auth) -> RequestBuilder {
        match self.scope(url, auth) {
            Some(scoped) => {
                let request = scoped.client.request(method, url);
                match &scoped.credential {
                    Some(credential) => credential.apply(request),
                    None => request,
                }
            }
            None => auth.apply(self.client.request(method, url)),
        }
    }

    /// Sends a request; a repository host's redirect to another origin is
    /// followed without its credentials.
    pub(super) async fn dispatch(
        &self,
        method: Method,
        url: &str,
        auth: &Auth,
        customise: impl Fn(RequestBuilder) -> RequestBuilder,
    ) -> reqwest::Result<Response> {
        let response = customise(self.request(method.clone(), url, auth))
            .send()
            .await?;
        let Some(scoped) = self.scope(url, auth) else {
            return Ok(response);
        };
        if !response.status().is_redirection() {
            return Ok(response);
        }
        let next = response
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|l| l.to_str().ok())
            .and_then(|l| response.url().join(l).ok());
        match next {
            Some(next) if origin(next.as_str()).as_deref() != Some(&scoped.origin) => {
                customise(scoped.anonymous.request(method, next))
                    .send()
                    .await
            }
            _ => Ok(response),
        }
    }

    /// A POST whose body may take long to send; the caller sets its deadline.
    pub fn upload_request(&self, url: &str, auth: &Auth) -> RequestBuilder {
        auth.apply(self.upload_client.request(Method::POST, url))
    }
}
