//! A clearsigned message (`InRelease`) split by hand, in one pass over its
//! lines: the armor header first (nothing may come before it), the signed
//! text as the signature covers it, and the signature block, after which
//! only whitespace may follow. rPGP's own cleartext reader rescans its
//! buffer per line and accepts data after the block; the crypto stays rPGP's.

const BEGIN_MESSAGE: &str = "-----BEGIN PGP SIGNED MESSAGE-----";
const BEGIN_SIGNATURE: &str = "-----BEGIN PGP SIGNATURE-----";
const END_SIGNATURE: &str = "-----END PGP SIGNATURE-----";
/// A signature block of a few signatures is a few KiB; more is not one.
const MAX_SIGNATURE_BLOCK: usize = 256 * 1024;

/// The parts of a clearsigned message.
pub struct Clearsigned<'a> {
    /// The text as signed: dash-escapes removed, trailing blanks trimmed,
    /// lines joined by `\r\n`, no line end after the last.
    pub signed: String,
    /// The armored signature block, its BEGIN and END lines included.
    pub signature: &'a str,
}

impl Clearsigned<'_> {
    /// The signed text with `\n` line ends, as the caller parses it.
    pub fn message(&self) -> String {
        self.signed.replace("\r\n", "\n")
    }
}

fn content(line: &str) -> &str {
    line.trim_end_matches('\n').trim_end_matches('\r')
}

/// Splits `text`; one-line errors that quote no content.
pub fn split(text: &str) -> Result<Clearsigned<'_>, String> {
    let mut lines = text.split_inclusive('\n');
    if lines.next().map(content) != Some(BEGIN_MESSAGE) {
        return Err(format!(
            "not a clearsigned message: its first line is not `{BEGIN_MESSAGE}`"
        ));
    }
    for line in lines.by_ref() {
        let line = content(line);
        if line.is_empty() {
            break;
        }
        if !line.starts_with("Hash: ") {
            return Err("not a clearsigned message: an armor header other than `Hash:`".into());
        }
    }
    let mut signed = String::with_capacity(text.len());
    let mut first = true;
    let mut offset = None;
    let mut at = text.len() - lines.clone().map(str::len).sum::<usize>();
    for line in lines.by_ref() {
        let start = at;
        at += line.len();
        let line = content(line);
        if line == BEGIN_SIGNATURE {
            offset = Some(start);
            break;
        }
        let line = match line.strip_prefix("- ") {
            Some(unescaped) => unescaped,
            None if line.starts_with('-') => {
                return Err("a line of the signed text starts with `-` unescaped".into());
            }
            None => line,
        };
        if !first {
            signed.push_str("\r\n");
        }
        first = false;
        signed.push_str(line.trim_end_matches([' ', '\t']));
    }
    let Some(start) = offset else {
        return Err(format!("no `{BEGIN_SIGNATURE}` line"));
    };
    let end = text[start..]
        .find(END_SIGNATURE)
        .filter(|&end| end <= MAX_SIGNATURE_BLOCK)
        .map(|end| start + end + END_SIGNATURE.len())
        .ok_or_else(|| format!("no `{END_SIGNATURE}` line within {MAX_SIGNATURE_BLOCK} bytes"))?;
    let rest = &text[end..];
    if let Some(at) = rest.find(|c: char| !c.is_ascii_whitespace()) {
        let line = text[..end].lines().count() + rest[..at].matches('\n').count();
        return Err(format!(
            "data follows the signature block ({} bytes from line {line}); nothing but whitespace may",
            rest.len() - at
        ));
    }
    Ok(Clearsigned {
        signed,
        signature: &text[start..end],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIGNATURE: &str = "-----BEGIN PGP SIGNATURE-----\n\nAAAA\n-----END PGP SIGNATURE-----\n";

    fn message(body: &str, after: &str) -> String {
        format!("{BEGIN_MESSAGE}\nHash: SHA256\n\n{body}{SIGNATURE}{after}")
    }

    #[test]
    fn the_signed_text_is_unescaped_trimmed_and_crlf_joined() {
        let text = message("Origin: x  \n- -dash\n\nlast\n", "\n \n");
        let split = split(&text).unwrap();
        assert_eq!(split.signed, "Origin: x\r\n-dash\r\n\r\nlast");
        assert_eq!(split.signature, SIGNATURE.trim_end());
        assert_eq!(split.message(), "Origin: x\n-dash\n\nlast");
    }

    #[test]
    fn data_before_or_after_is_refused_in_one_line() {
        let before = format!("junk\n{}", message("a\n", ""));
        assert!(split(&before).err().unwrap().contains("first line"));
        let after = message("a\n", "Origin: evil\n");
        let error = split(&after).err().unwrap();
        assert!(
            error.contains("data follows the signature block"),
            "{error}"
        );
        assert!(!error.contains('\n') && !error.contains("evil"), "{error}");
    }

    /// 64 MiB of short lines after the block and 64 MiB of signed text are
    /// each split in one pass: quadratic work on this would take hours.
    #[test]
    fn large_inputs_are_split_in_linear_time() {
        let tail = "Package: x\n".repeat(6 * 1024 * 1024);
        let started = std::time::Instant::now();
        let error = split(&message("a\n", &tail)).err().unwrap();
        assert!(error.starts_with("data follows"), "{error}");
        let body = "Package: x\n".repeat(6 * 1024 * 1024);
        let text = message(&body, "");
        let split = split(&text).unwrap();
        assert_eq!(split.signed.len(), body.len() + body.len() / 11 - 2);
        assert!(started.elapsed().as_secs() < 60, "{:?}", started.elapsed());
    }
}
