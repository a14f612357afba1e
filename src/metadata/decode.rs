//! Metadata files decompressed as a stream, by the suffix of their name
//! (gzip, bzip2, zstd, xz or plain), each decoder reading through a small
//! buffer and its output counted against a cap: a bomb is refused as soon as
//! it passes the cap, whatever it would unpack to, and no decoder may allocate
//! what a header asks for without bound.

use super::MetadataError;
use std::io::{BufRead, BufReader, Read};

/// The most memory the xz decoder may use: its dictionary is what a file's
/// header declares, and xz's largest preset (`-9`, a 64 MiB dictionary) needs
/// 65 MiB to decode. A header asking for more is refused, never allocated.
pub const XZ_MEMORY_LIMIT: u64 = 72 * 1024 * 1024;

/// `input` decompressed by the suffix of `name`; reading past `limit`
/// decompressed bytes is an error, never a silent cut.
pub fn open(
    input: impl BufRead + Send + 'static,
    name: &str,
    limit: u64,
) -> Result<Box<dyn BufRead + Send>, MetadataError> {
    let read = |detail: String| MetadataError::Read {
        name: name.to_string(),
        detail,
    };
    let suffix = name.trim_end_matches('/');
    let inner: Box<dyn Read + Send> = if suffix.ends_with(".gz") {
        Box::new(flate2::bufread::MultiGzDecoder::new(input))
    } else if suffix.ends_with(".bz2") {
        Box::new(bzip2::bufread::MultiBzDecoder::new(input))
    } else if suffix.ends_with(".zst") {
        Box::new(ruzstd::decoding::StreamingDecoder::new(input).map_err(|e| read(e.to_string()))?)
    } else if suffix.ends_with(".xz") {
        let stream = liblzma::stream::Stream::new_stream_decoder(
            XZ_MEMORY_LIMIT,
            liblzma::stream::CONCATENATED,
        )
        .map_err(|e| read(format!("no xz decoder: {e}")))?;
        Box::new(XzMemoryLimit(liblzma::bufread::XzDecoder::new_stream(
            input, stream,
        )))
    } else {
        Box::new(input)
    };
    Ok(Box::new(BufReader::new(Capped {
        inner,
        left: limit,
        limit,
        name: name.to_string(),
    })))
}

/// liblzma's decoder, whose "memory limit reached" is said in the file's
/// terms: what its header asks for.
struct XzMemoryLimit<R>(liblzma::bufread::XzDecoder<R>);

impl<R: BufRead> Read for XzMemoryLimit<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.0.read(buf).map_err(|e| {
            let over = e
                .get_ref()
                .and_then(|inner| inner.downcast_ref::<liblzma::stream::Error>())
                .is_some_and(|inner| matches!(inner, liblzma::stream::Error::MemLimit));
            if over {
                std::io::Error::other(format!(
                    "its xz header asks for more than {} MiB of memory to decode; refused",
                    XZ_MEMORY_LIMIT >> 20
                ))
            } else {
                std::io::Error::new(e.kind(), format!("not valid xz: {e}"))
            }
        })
    }
}

/// A reader that fails (rather than ends) once `limit` bytes have been read.
struct Capped {
    inner: Box<dyn Read + Send>,
    left: u64,
    limit: u64,
    name: String,
}

impl Read for Capped {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n as u64 > self.left {
            return Err(std::io::Error::other(format!(
                "`{}` decompresses to more than {} bytes; refused",
                self.name, self.limit
            )));
        }
        self.left -= n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn all(bytes: Vec<u8>, name: &str, limit: u64) -> std::io::Result<Vec<u8>> {
        let mut out = Vec::new();
        open(std::io::Cursor::new(bytes), name, limit)
            .unwrap()
            .read_to_end(&mut out)?;
        Ok(out)
    }

    #[test]
    fn xz_streams_concatenated_and_is_capped_on_its_output() {
        let mut xz = liblzma::write::XzEncoder::new(Vec::new(), 6);
        xz.write_all(b"Package: a\n\n").unwrap();
        let one = xz.finish().unwrap();
        let two = [one.clone(), one].concat();
        assert_eq!(all(two.clone(), "Packages.xz", 100).unwrap().len(), 24);
        let err = all(two, "Packages.xz", 20).unwrap_err();
        assert_eq!(
            err.to_string(),
            "`Packages.xz` decompresses to more than 20 bytes; refused"
        );
    }

    #[test]
    fn garbage_as_xz_is_named_as_such() {
        let err = all(b"not xz at all".to_vec(), "Packages.xz", 100).unwrap_err();
        assert!(err.to_string().starts_with("not valid xz"), "{err}");
    }
}
