//! A request's query string, checked as the backend checks it: unknown
//! parameters first, then booleans, with its exact 400 texts.

use super::Reply;
use axum::http::StatusCode;
use std::collections::BTreeSet;

/// The query as `(key, value)` pairs; a bare key has the value `""`.
pub(super) struct Query {
    pairs: Vec<(String, String)>,
}

impl Query {
    pub(super) fn parse(raw: Option<&str>) -> Self {
        let pairs = raw
            .map(|q| {
                url::form_urlencoded::parse(q.as_bytes())
                    .into_owned()
                    .collect()
            })
            .unwrap_or_default();
        Self { pairs }
    }

    pub(super) fn all(&self, key: &str) -> Vec<&str> {
        self.pairs
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    pub(super) fn first(&self, key: &str) -> Option<&str> {
        self.all(key).into_iter().next()
    }

    /// A boolean already validated by `check`: bare or `1` is true.
    pub(super) fn flag(&self, key: &str) -> bool {
        self.first(key).is_some_and(|v| v.is_empty() || v == "1")
    }

    /// The backend's parameter checks: unknown keys first, then booleans.
    pub(super) fn check(&self, allowed: &[&str], booleans: &[&str]) -> Result<(), Reply> {
        let unknown: BTreeSet<&str> = self
            .pairs
            .iter()
            .map(|(k, _)| k.as_str())
            .filter(|k| !allowed.contains(k))
            .collect();
        if !unknown.is_empty() {
            let names: Vec<String> = unknown.iter().map(|k| format!("'{k}'")).collect();
            let summary = format!("unknown parameter {}", names.join(", "));
            return Err(Reply::backend_error(
                StatusCode::BAD_REQUEST,
                &summary,
                false,
            ));
        }
        let bad_bool = self
            .pairs
            .iter()
            .any(|(k, v)| booleans.contains(&k.as_str()) && !matches!(v.as_str(), "" | "0" | "1"));
        if bad_bool {
            return Err(Reply::backend_error(
                StatusCode::BAD_REQUEST,
                "not boolean",
                false,
            ));
        }
        Ok(())
    }
}
