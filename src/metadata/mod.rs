//! Repository metadata files (rpm-md's `primary`, Debian's `Packages`): fetched
//! to a temporary file under the HTTP client's bounds, verified against the size
//! and checksum the index that names them gives, and opened decompressed
//! (gzip, zstd, xz, bzip2 or plain, by the name's suffix) with a cap on the
//! decompressed size, so that neither a large file nor a decompression bomb
//! grows memory. Parsers read them as a stream.

use crate::checksum::Checksum;
use crate::http::{Auth, FileRequest, HttpClient, HttpError};
use std::io::{BufRead, BufReader};

mod decode;

#[derive(Debug, thiserror::Error)]
pub enum MetadataError {
    #[error("cannot fetch `{name}`")]
    Fetch {
        name: String,
        #[source]
        source: HttpError,
    },
    #[error("`{name}` does not match its index: {detail}")]
    Mismatch { name: String, detail: String },
    #[error("cannot read `{name}`: {detail}")]
    Read { name: String, detail: String },
}

/// What the index says a metadata file must be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expected {
    pub size: Option<u64>,
    pub checksum: Option<Checksum>,
}

/// A fetched, verified metadata file on disk (removed when dropped).
pub struct Fetched {
    file: tempfile::NamedTempFile,
    name: String,
}

/// Fetches `url` (shown as `name`) into a temporary file, at most the client's
/// metadata limit, and checks it against `expected`.
pub async fn fetch(
    http: &HttpClient,
    url: &str,
    auth: &Auth,
    name: &str,
    expected: &Expected,
) -> Result<Fetched, MetadataError> {
    let file = tempfile::NamedTempFile::new().map_err(|e| MetadataError::Read {
        name: name.to_string(),
        detail: format!("no temporary file: {e}"),
    })?;
    let limit = match expected.size {
        Some(size) => size.min(http.limits.max_metadata_bytes),
        None => http.limits.max_metadata_bytes,
    };
    let also: Vec<_> = expected.checksum.iter().map(|c| c.algorithm).collect();
    let request = FileRequest {
        url,
        auth,
        listed_size: limit,
        also: &also,
        avoid: None,
    };
    let got = http
        .download_to_file(&request, file.path(), &|_| {})
        .await
        .map_err(|source| MetadataError::Fetch {
            name: name.to_string(),
            source,
        })?
        .digests;
    let mismatch = |detail: String| MetadataError::Mismatch {
        name: name.to_string(),
        detail,
    };
    if let Some(size) = expected.size
        && got.size != size
    {
        return Err(mismatch(format!("{} bytes, listed {size}", got.size)));
    }
    got.check(expected.checksum.as_slice()).map_err(mismatch)?;
    Ok(Fetched {
        file,
        name: name.to_string(),
    })
}

impl Fetched {
    /// The decompressed content as a stream, by the suffix of `name`; reading
    /// past `limit` decompressed bytes is an error, never a silent cut.
    pub fn open(&self, limit: u64) -> Result<Box<dyn BufRead + Send>, MetadataError> {
        let file = std::fs::File::open(self.file.path()).map_err(|e| MetadataError::Read {
            name: self.name.clone(),
            detail: e.to_string(),
        })?;
        decode::open(BufReader::new(file), &self.name, limit)
    }
}

/// A streaming parser of a metadata file: calls `each` per entry, returns how
/// many it read.
pub type Parser<T, E> =
    fn(Box<dyn BufRead + Send>, &mut dyn FnMut(T) -> Result<(), E>) -> Result<usize, E>;

impl Fetched {
    /// Every entry `read` parses from the decompressed file (capped at
    /// `limit`), parsed on a blocking thread; the error as one line.
    pub async fn parse_all<T, E>(self, limit: u64, read: Parser<T, E>) -> Result<Vec<T>, String>
    where
        T: Send + 'static,
        E: std::error::Error + 'static,
    {
        tokio::task::spawn_blocking(move || {
            let input = self.open(limit).map_err(|e| crate::display::chain(&e))?;
            let mut entries = Vec::new();
            read(input, &mut |entry| {
                entries.push(entry);
                Ok(())
            })
            .map_err(|e| crate::display::chain(&e))?;
            Ok(entries)
        })
        .await
        .expect("parsing does not panic")
    }
}
