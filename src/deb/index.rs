//! One `Packages` index of an archive, fetched as apt fetches it: of the
//! compressions the Release lists, xz first, then gzip, then none, each tried
//! in turn while the archive does not have it; with `Acquire-By-Hash: yes`,
//! each from `by-hash/SHA256/<sha256>` beside it first (what a mirror keeps
//! while the plain path already holds its next version), then from the plain
//! path. Whatever path serves it, it must match the Release.

use super::packages::{self, DebPackage};
use super::release::{IndexFile, Release};
use crate::checksum::Checksum;
use crate::display::chain;
use crate::http::{Auth, HttpClient};
use crate::metadata::{self, Expected, Fetched, MetadataError};

/// Index files are tried in this order, as the Release lists them.
const COMPRESSIONS: [&str; 3] = [".xz", ".gz", ""];

/// Why an index could not be read: the file (as the Release names it) and what
/// went wrong.
pub struct IndexError {
    pub file: String,
    pub detail: String,
}

/// The packages of `index` (a path below `dir` without compression suffix).
pub async fn read(
    http: &HttpClient,
    dir: &str,
    release: &Release,
    index: &str,
) -> Result<Vec<DebPackage>, IndexError> {
    let listed: Vec<&IndexFile> = COMPRESSIONS
        .iter()
        .filter_map(|suffix| release.file(&format!("{index}{suffix}")))
        .collect();
    let Some(last) = listed.last() else {
        return Err(IndexError {
            file: index.to_string(),
            detail: "the Release lists it in no form (plain, .gz or .xz)".to_string(),
        });
    };
    for file in &listed {
        let fetched = match fetch(http, dir, file, release.by_hash).await {
            Ok(fetched) => fetched,
            Err(Missing::Yes(_)) if file.path != last.path => continue,
            Err(Missing::Yes(detail) | Missing::No(detail)) => {
                return Err(IndexError {
                    file: file.path.clone(),
                    detail,
                });
            }
        };
        let limit = http.limits.max_metadata_bytes;
        let parsed = fetched
            .parse_all(limit, |input, each| packages::read(input, each))
            .await;
        return parsed.map_err(|detail| IndexError {
            file: file.path.clone(),
            detail,
        });
    }
    unreachable!("the last listed form returns")
}

/// A failed fetch: whether the archive simply does not have the file (so the
/// next form the Release lists is tried), and what was wrong.
enum Missing {
    Yes(String),
    No(String),
}

/// `file` by hash first (with `by_hash`), then at its plain path.
async fn fetch(
    http: &HttpClient,
    dir: &str,
    file: &IndexFile,
    by_hash: bool,
) -> Result<Fetched, Missing> {
    let expected = Expected {
        size: Some(file.size),
        checksum: Some(Checksum::sha256(&file.sha256)),
    };
    let get = |path: String| {
        let expected = &expected;
        async move {
            let url = format!("{dir}/{path}");
            metadata::fetch(http, &url, &Auth::None, &file.path, expected).await
        }
    };
    let by_hash_failed = match by_hash {
        true => match get(by_hash_path(file)).await {
            Ok(fetched) => return Ok(fetched),
            Err(e) => Some(e),
        },
        false => None,
    };
    match get(file.path.clone()).await {
        Ok(fetched) => Ok(fetched),
        Err(plain) => {
            let missing = not_found(&plain) && by_hash_failed.as_ref().is_none_or(not_found);
            let detail = match &by_hash_failed {
                Some(hashed) => format!("{} (and by hash: {})", chain(&plain), chain(hashed)),
                None => chain(&plain),
            };
            Err(if missing {
                Missing::Yes(detail)
            } else {
                Missing::No(detail)
            })
        }
    }
}

fn not_found(error: &MetadataError) -> bool {
    matches!(error, MetadataError::Fetch { source, .. }
        if source.status() == Some(reqwest::StatusCode::NOT_FOUND))
}

/// Where `Acquire-By-Hash` keeps an index: `by-hash/SHA256/<sha256>` in
/// the index's own directory.
fn by_hash_path(file: &IndexFile) -> String {
    let name = format!("by-hash/SHA256/{}", file.sha256);
    match file.path.rsplit_once('/') {
        Some((directory, _)) => format!("{directory}/{name}"),
        None => name,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn by_hash_is_in_the_index_directory() {
        let file = |path: &str| IndexFile {
            path: path.into(),
            size: 1,
            sha256: "ab".into(),
        };
        assert_eq!(
            by_hash_path(&file("main/binary-amd64/Packages.xz")),
            "main/binary-amd64/by-hash/SHA256/ab"
        );
        assert_eq!(by_hash_path(&file("Packages")), "by-hash/SHA256/ab");
    }
}
