//! HTTP calls to an OBS API: project meta, the per-project `_result` binary lists,
//! per-package lists with md5, and downloads. Errors name the project and what was
//! asked; OBS `<status>` bodies are turned into readable messages.

use super::result_xml::read_result_list;
use super::xml::{self, BinaryList, ProjectMeta, ResultList, Status};
use crate::config::ObsProject;
use crate::display::ShownUrl;
use crate::http::{Auth, HttpClient, HttpError, StreamCap};
use crate::model::ObsOrigin;
use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};
use reqwest::StatusCode;

/// Characters escaped in a path segment. `:` stays as is: osc sends it that way and
/// every OBS accepts it.
const SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'+')
    .add(b'/')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}')
    .add(b'\\');

/// A query value also escapes the query's own separators.
const QUERY_VALUE: &AsciiSet = &SEGMENT.add(b'&').add(b'=').add(b';');

pub fn segment(s: &str) -> String {
    utf8_percent_encode(s, SEGMENT).to_string()
}

#[derive(Debug, thiserror::Error)]
pub enum ObsError {
    #[error("OBS refused {what} of project `{project}` ({status}{}): {summary}", code.as_ref().map(|c| format!(", `{c}`")).unwrap_or_default())]
    Api {
        project: String,
        what: String,
        status: StatusCode,
        code: Option<String>,
        summary: String,
        hint: Option<String>,
    },
    #[error("cannot read {what} of OBS project `{project}`")]
    Http {
        project: String,
        what: String,
        #[source]
        source: HttpError,
    },
    #[error(
        "OBS answered {what} of project `{project}` with a document pkgsync cannot read ({url}): {message}"
    )]
    Malformed {
        project: String,
        what: String,
        url: ShownUrl,
        message: String,
    },
}

impl ObsError {
    pub fn hint(&self) -> Option<&str> {
        match self {
            Self::Api { hint, .. } => hint.as_deref(),
            _ => None,
        }
    }

    /// The backend's 404 for a `package=` filter naming a package the project lacks
    /// (Rails may answer `unknown_package` instead).
    pub fn is_unknown_package(&self) -> bool {
        matches!(
            self,
            Self::Api { status, code, summary, .. }
                if *status == StatusCode::NOT_FOUND
                    && (code.as_deref() == Some("unknown_package")
                        || summary.starts_with("unknown package"))
        )
    }
}

#[derive(Debug, Clone)]
pub struct ObsClient {
    http: HttpClient,
    base: String,
}

/// Query filters for one `_result` request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResultQuery {
    pub repositories: Vec<String>,
    pub archs: Vec<String>,
    /// Exact package names; `multibuild=1&locallink=1` are added with them.
    pub packages: Vec<String>,
}

impl ObsClient {
    pub fn new(http: HttpClient, base: &str) -> Self {
        Self {
            http,
            base: base.trim_end_matches('/').to_string(),
        }
    }

    /// Without credentials, the anonymous `/public` routes public instances serve.
    fn url(&self, project: &ObsProject, path: &str) -> (String, Auth) {
        match &project.credentials {
            Some(c) => (
                format!("{}{path}", self.base),
                Auth::Basic {
                    user: c.user.clone(),
                    password: c.password.clone(),
                },
            ),
            None => (format!("{}/public{path}", self.base), Auth::None),
        }
    }

    async fn get_xml<T: xml::Document>(
        &self,
        project: &ObsProject,
        path: &str,
        what: &str,
    ) -> Result<T, ObsError> {
        let (url, auth) = self.url(project, path);
        let body = match self.http.get_text(&url, &auth).await {
            Ok((_, body)) => body,
            Err(HttpError::Status { status, body, .. }) => {
                return Err(api_error(project, what, status, &body));
            }
            Err(source) => {
                return Err(ObsError::Http {
                    project: project.name.clone(),
                    what: what.to_string(),
                    source,
                });
            }
        };
        xml::parse(&body).map_err(|e| ObsError::Malformed {
            project: project.name.clone(),
            what: what.to_string(),
            url: ShownUrl::new(&url),
            message: e.to_string(),
        })
    }

    pub async fn project_meta(&self, project: &ObsProject) -> Result<ProjectMeta, ObsError> {
        let path = format!("/source/{}/_meta", segment(&project.name));
        let meta: ProjectMeta = self.get_xml(project, &path, "the meta").await?;
        if meta.name != project.name {
            return Err(ObsError::Malformed {
                project: project.name.clone(),
                what: "the meta".into(),
                url: ShownUrl::new(&self.url(project, &path).0),
                message: format!("it describes project `{}`", meta.name),
            });
        }
        Ok(meta)
    }

    /// Every built binary of the project in one request.
    pub async fn results(
        &self,
        project: &ObsProject,
        query: &ResultQuery,
    ) -> Result<ResultList, ObsError> {
        let mut path = format!(
            "/build/{}/_result?view=binarylist&view=status",
            segment(&project.name)
        );
        let mut add = |key: &str, values: &[String]| {
            for v in values {
                path.push_str(&format!("&{key}={}", utf8_percent_encode(v, QUERY_VALUE)));
            }
        };
        add("repository", &query.repositories);
        add("arch", &query.archs);
        add("package", &query.packages);
        if !query.packages.is_empty() {
            path.push_str("&multibuild=1&locallink=1");
        }
        self.get_result_list(project, &path).await
    }

    /// A `_result`, parsed as it arrives: it may be larger than any body
    /// pkgsync holds (`limits.max_result_mib` bounds it instead).
    async fn get_result_list(
        &self,
        project: &ObsProject,
        path: &str,
    ) -> Result<ResultList, ObsError> {
        let what = "the build results";
        let (url, auth) = self.url(project, path);
        let cap = StreamCap {
            bytes: self.http.limits.max_result_bytes,
            key: "limits.max_result_mib",
        };
        match self
            .http
            .get_streamed(&url, &auth, cap, read_result_list)
            .await
        {
            Ok(Ok(list)) => Ok(list),
            Ok(Err(e)) => Err(ObsError::Malformed {
                project: project.name.clone(),
                what: what.to_string(),
                url: ShownUrl::new(&url),
                message: e.to_string(),
            }),
            Err(HttpError::Status { status, body, .. }) => {
                Err(api_error(project, what, status, &body))
            }
            Err(source) => Err(ObsError::Http {
                project: project.name.clone(),
                what: what.to_string(),
                source,
            }),
        }
    }

    /// One package's binary list with md5 checksums.
    pub async fn binaries_with_md5(
        &self,
        project: &ObsProject,
        repository: &str,
        arch: &str,
        package: &str,
    ) -> Result<BinaryList, ObsError> {
        let path = format!(
            "/build/{}/{}/{}/{}?withmd5=1",
            segment(&project.name),
            segment(repository),
            segment(arch),
            segment(package)
        );
        self.get_xml(
            project,
            &path,
            &format!("the binaries of `{repository}/{arch}/{package}`"),
        )
        .await
    }

    /// URL and credentials to download one file.
    pub fn download_request(&self, project: &ObsProject, origin: &ObsOrigin) -> (String, Auth) {
        let path = format!(
            "/build/{}/{}/{}/{}/{}",
            segment(&origin.project),
            segment(&origin.repository),
            segment(&origin.arch),
            segment(&origin.package),
            segment(&origin.filename)
        );
        self.url(project, &path)
    }
}

fn api_error(project: &ObsProject, what: &str, status: StatusCode, body: &str) -> ObsError {
    let parsed: Option<Status> = xml::parse(body).ok();
    let code = parsed.as_ref().and_then(|s| s.code.clone());
    let summary = parsed
        .and_then(|s| s.summary)
        .unwrap_or_else(|| body.trim().chars().take(200).collect());
    let hint = match status {
        StatusCode::UNAUTHORIZED => Some(match &project.credentials {
            None => "this OBS wants a login: set `OBS_USER` and `OBS_PASSWORD`, or `auth` in the config".to_string(),
            Some(c) => format!(
                "OBS rejected the password of user `{}`; check `OBS_USER`/`OBS_PASSWORD` or the `auth` of this project in the config",
                c.user
            ),
        }),
        StatusCode::FORBIDDEN => Some(match &project.credentials {
            None => "the project does not let anonymous users download its binaries (its `binarydownload` flag); give credentials of an account that may".to_string(),
            Some(c) => format!(
                "user `{}` may read the project but not download its binaries (its `binarydownload` flag)",
                c.user
            ),
        }),
        StatusCode::NOT_FOUND if is_missing_project(code.as_deref(), &summary) => Some(
            "check the project name in `obsprojects` and `obs.url`; OBS also answers this way for a project hidden from this account".to_string(),
        ),
        _ => None,
    };
    ObsError::Api {
        project: project.name.clone(),
        what: what.to_string(),
        status,
        code,
        summary,
        hint,
    }
}

/// Rails' `unknown_project`, or the backend's `project '<p>' does not exist`.
fn is_missing_project(code: Option<&str>, summary: &str) -> bool {
    code == Some("unknown_project")
        || (summary.starts_with("project '") && summary.ends_with("' does not exist"))
}
