//! The client itself: two reqwest clients built in one place (timeouts, user
//! agent, the upload client without a read timeout), and the credentials a
//! request carries.

use super::{Limits, RetryPolicy, download};
use crate::secret::Secret;
use reqwest::{Method, RequestBuilder};
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

    pub fn request(&self, method: Method, url: &str, auth: &Auth) -> RequestBuilder {
        auth.apply(self.client.request(method, url))
    }

    /// A POST whose body may take long to send; the caller sets its deadline.
    pub fn upload_request(&self, url: &str, auth: &Auth) -> RequestBuilder {
        auth.apply(self.upload_client.request(Method::POST, url))
    }
}
