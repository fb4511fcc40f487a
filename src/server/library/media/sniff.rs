//! Deciding a file's type from its first bytes, never from its name.

use super::{MediaKind, SNIFF_BYTES};

/// Decides the media kind from a file's first bytes ([`SNIFF_BYTES`] are
/// enough; fewer is fine for short files).
///
/// On refusal the error names what the bytes look like, phrased to follow
/// "This file is …", e.g. `"a PDF document"`, `"plain text"`,
/// `"unrecognised binary data"`.
pub fn sniff(head: &[u8]) -> Result<MediaKind, String> {
    let head = &head[..head.len().min(SNIFF_BYTES)];
    let refuse = |what: &str| Err(what.to_string());

    if head.is_empty() {
        return refuse("an empty file");
    }

    // Accepted kinds: unambiguous magic numbers.
    if head.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Ok(MediaKind::Png);
    }
    if head.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Ok(MediaKind::Jpeg);
    }
    if head.starts_with(b"GIF87a") || head.starts_with(b"GIF89a") {
        return Ok(MediaKind::Gif);
    }
    if head.starts_with(b"RIFF") {
        return match head.get(8..12) {
            Some(b"WEBP") => Ok(MediaKind::Webp),
            Some(b"WAVE") => refuse("a WAV audio file"),
            Some(b"AVI ") => refuse("an AVI video"),
            _ => refuse("a RIFF file (not WebP)"),
        };
    }
    if head.get(4..8) == Some(b"ftyp") {
        return sniff_iso_bmff(head);
    }
    if head.starts_with(&[0x1A, 0x45, 0xDF, 0xA3]) {
        return match ebml_doc_type(head) {
            Some(doc) if doc == b"webm" => Ok(MediaKind::Webm),
            Some(doc) if doc == b"matroska" => refuse("a Matroska video"),
            _ => refuse("an EBML document (not WebM)"),
        };
    }

    // Refused kinds with magic numbers strong enough to test before the text
    // check (some of them, like PDF, start with printable ASCII).
    const STRONG: &[(&[u8], &str)] = &[
        (b"%PDF-", "a PDF document"),
        (b"PK\x03\x04", "a ZIP archive"),
        (b"PK\x05\x06", "a ZIP archive"),
        (b"PK\x07\x08", "a ZIP archive"),
        (&[0x1F, 0x8B], "a gzip archive"),
        (&[0xFD, b'7', b'z', b'X', b'Z', 0x00], "an xz archive"),
        (&[0x28, 0xB5, 0x2F, 0xFD], "a Zstandard archive"),
        (b"7z\xBC\xAF\x27\x1C", "a 7-Zip archive"),
        (b"Rar!\x1A\x07", "a RAR archive"),
        (b"II*\0", "a TIFF image"),
        (b"MM\0*", "a TIFF image"),
        (b"8BPS", "a Photoshop image"),
        (&[0xFF, 0x0A], "a JPEG XL image"),
        (b"\0\0\0\x0cJXL \r\n\x87\n", "a JPEG XL image"),
        (b"\0\0\0\x0cjP  \r\n\x87\n", "a JPEG 2000 image"),
        (b"OggS", "an Ogg media file"),
        (b"fLaC", "a FLAC audio file"),
        (b"ID3", "an MP3 audio file"),
        (b"\x7fELF", "an ELF executable"),
        (b"\0asm", "a WebAssembly module"),
        (b"SQLite format 3\0", "an SQLite database"),
        (&[0xFF, 0xFE], "UTF-16 text"),
        (&[0xFE, 0xFF], "UTF-16 text"),
    ];
    if let Some((_, what)) = STRONG.iter().find(|(magic, _)| head.starts_with(magic)) {
        return refuse(what);
    }

    if let Some(text) = as_text(head) {
        return refuse(describe_text(text));
    }

    // Short magic numbers: only trusted once the bytes are known not to be text
    // (a text file may well start with "BM" or "MZ").
    if head.starts_with(b"BM") {
        return refuse("a BMP image");
    }
    if head.starts_with(&[0, 0, 1, 0]) {
        return refuse("an icon (ICO) file");
    }
    if head.starts_with(&[0, 0, 2, 0]) {
        return refuse("a cursor (CUR) file");
    }
    if head.starts_with(b"MZ") {
        return refuse("a Windows executable");
    }
    if head.starts_with(b"BZh") {
        return refuse("a bzip2 archive");
    }
    if head.len() >= 2 && head[0] == 0xFF && head[1] & 0xE0 == 0xE0 {
        // An MPEG audio frame sync; ADTS (AAC) sets layer bits to 00.
        return if head[1] & 0x06 == 0 {
            refuse("an AAC audio file")
        } else {
            refuse("an MP3 audio file")
        };
    }
    refuse("unrecognised binary data")
}

/// Brands (major or compatible) of ISO BMFF files that browsers play as MP4.
pub(super) const MP4_BRANDS: &[&[u8; 4]] = &[
    b"isom", b"iso2", b"iso3", b"iso4", b"iso5", b"iso6", b"iso7", b"iso8", b"iso9", b"mp41",
    b"mp42", b"mp71", b"avc1", b"dash", b"M4V ", b"M4VH", b"M4VP", b"mp4v", b"msnv", b"MSNV",
    b"XAVC", b"cmfc", b"cmf2", b"mmp4", b"f4v ", b"NDAS",
];

/// Decides on an ISO BMFF file (`ftyp` at offset 4) by its brands.
pub(super) fn sniff_iso_bmff(head: &[u8]) -> Result<MediaKind, String> {
    let Some(major) = head.get(8..12) else {
        return Err("a truncated ISO media file".into());
    };
    let what = match major {
        b"qt  " => "a QuickTime movie",
        b"avif" | b"avis" => "an AVIF image",
        b"heic" | b"heix" | b"heim" | b"heis" | b"hevc" | b"hevx" | b"mif1" | b"msf1" | b"heif" => {
            "a HEIC/HEIF image"
        }
        b"M4A " | b"M4B " | b"M4P " => "an MPEG-4 audio file",
        b"crx " => "a Canon raw image",
        b"jp2 " => "a JPEG 2000 image",
        m if m.starts_with(b"3gp") || m.starts_with(b"3g2") => "a 3GP video",
        m if MP4_BRANDS.iter().any(|b| b.as_slice() == m) => return Ok(MediaKind::Mp4),
        m => {
            // Some cameras use their own major brand but list a standard MP4
            // brand as compatible; those files play as MP4.
            let box_end = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as usize;
            let compat = head.get(16..box_end.min(head.len())).unwrap_or(&[]);
            if compat
                .chunks_exact(4)
                .any(|c| MP4_BRANDS.iter().any(|b| b.as_slice() == c))
            {
                return Ok(MediaKind::Mp4);
            }
            return Err(format!(
                "an ISO media file of brand '{}'",
                String::from_utf8_lossy(m).trim()
            ));
        }
    };
    Err(what.into())
}

/// The DocType of an EBML header at the start of `head`, if it can be seen.
pub(super) fn ebml_doc_type(head: &[u8]) -> Option<&[u8]> {
    // Parse the header's children properly; a DocType further than `head`
    // reaches falls back to a plain search below.
    let parsed = (|| {
        let mut pos = 4;
        let (size, n) = vint_size(&head[pos..])?;
        pos += n;
        let end = size.map_or(head.len(), |s| {
            (pos as u64 + s).min(head.len() as u64) as usize
        });
        while pos < end {
            let (id, n) = vint_id(&head[pos..])?;
            pos += n;
            let (size, n) = vint_size(&head[pos..])?;
            pos += n;
            let size = size? as usize;
            if id == 0x4282 {
                return head.get(pos..pos + size);
            }
            pos += size;
        }
        None
    })();
    parsed.or_else(|| {
        [b"webm".as_slice(), b"matroska".as_slice()]
            .into_iter()
            .find(|needle| head.windows(needle.len()).any(|w| w == *needle))
    })
}

/// Reads an EBML element ID (marker bit kept) from a slice: (id, length).
pub(super) fn vint_id(b: &[u8]) -> Option<(u32, usize)> {
    let first = *b.first()?;
    let len = first.leading_zeros() as usize + 1;
    if len > 4 || b.len() < len {
        return None;
    }
    Some((
        b[..len].iter().fold(0u32, |acc, &x| acc << 8 | x as u32),
        len,
    ))
}

/// Reads an EBML size from a slice: (size or None for "unknown", length).
pub(super) fn vint_size(b: &[u8]) -> Option<(Option<u64>, usize)> {
    let first = *b.first()?;
    let len = first.leading_zeros() as usize + 1;
    if len > 8 || b.len() < len {
        return None;
    }
    let mut v = (first as u64) & (0xFF >> len);
    for &x in &b[1..len] {
        v = v << 8 | x as u64;
    }
    Some((ebml_size_value(v, len), len))
}

/// All value bits set means "unknown size" (used for live streams).
pub(super) fn ebml_size_value(v: u64, len: usize) -> Option<u64> {
    if v == (1u64 << (7 * len)) - 1 {
        None
    } else {
        Some(v)
    }
}

/// The head as text, if it looks like text: valid UTF-8 (a character cut off
/// at the end is allowed), no NUL and no control characters beyond whitespace.
pub(super) fn as_text(head: &[u8]) -> Option<&str> {
    let text = match std::str::from_utf8(head) {
        Ok(s) => s,
        Err(e) if e.error_len().is_none() => std::str::from_utf8(&head[..e.valid_up_to()]).ok()?,
        Err(_) => return None,
    };
    let printable = text
        .chars()
        .all(|c| !c.is_control() || matches!(c, '\t' | '\n' | '\r' | '\x0c' | '\x1b'));
    (printable && !text.is_empty()).then_some(text)
}

pub(super) fn describe_text(text: &str) -> &'static str {
    let t = text.trim_start_matches('\u{feff}').trim_start();
    let lower = t.to_ascii_lowercase();
    if lower.starts_with("<!doctype html")
        || lower.starts_with("<html")
        || lower.contains("<head")
        || lower.contains("<body")
    {
        "an HTML document"
    } else if lower.contains("<svg") || lower.starts_with("<!doctype svg") {
        "an SVG image"
    } else if lower.starts_with("<?xml") {
        "an XML document"
    } else if t.starts_with('{') || t.starts_with('[') {
        "JSON text"
    } else {
        "plain text"
    }
}
