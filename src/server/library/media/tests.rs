//! Media: sniffing, storing, probing and serving, against real bytes.

use super::{probe_mp4::*, probe_webm::*, serve::*, sniff::*, upload::*, *};
use std::io::Cursor;

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use futures::Stream;
use sha2::{Digest, Sha256};

// --- building inputs -------------------------------------------------

fn encode(img: &::image::DynamicImage, format: ::image::ImageFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, format).expect("encode");
    out.into_inner()
}

/// A noisy RGB image, so the PNG does not compress to almost nothing.
fn noisy_rgb(w: u32, h: u32) -> ::image::DynamicImage {
    let mut seed: u32 = 12345;
    let img = ::image::RgbImage::from_fn(w, h, |_, _| {
        seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
        let b = seed.to_be_bytes();
        ::image::Rgb([b[0], b[1], b[2]])
    });
    ::image::DynamicImage::ImageRgb8(img)
}

fn png(w: u32, h: u32) -> Vec<u8> {
    encode(&noisy_rgb(w, h), ::image::ImageFormat::Png)
}

fn chunks(data: &[u8], size: usize) -> impl Stream<Item = Result<bytes::Bytes, io::Error>> + Unpin {
    let parts: Vec<_> = data
        .chunks(size)
        .map(|c| Ok(bytes::Bytes::copy_from_slice(c)))
        .collect();
    futures::stream::iter(parts)
}

fn sha_hex(data: &[u8]) -> String {
    to_hex(&Sha256::digest(data))
}

fn mp4_box(kind: &[u8; 4], payload: &[u8]) -> Vec<u8> {
    let mut b = ((payload.len() + 8) as u32).to_be_bytes().to_vec();
    b.extend_from_slice(kind);
    b.extend_from_slice(payload);
    b
}

fn ftyp(brand: &[u8; 4]) -> Vec<u8> {
    let mut p = brand.to_vec();
    p.extend_from_slice(&0u32.to_be_bytes());
    p.extend_from_slice(b"isommp41");
    mp4_box(b"ftyp", &p)
}

fn mvhd_v0(timescale: u32, duration: u32) -> Vec<u8> {
    let mut p = vec![0, 0, 0, 0]; // version 0, flags
    p.extend_from_slice(&1u32.to_be_bytes()); // creation
    p.extend_from_slice(&2u32.to_be_bytes()); // modification
    p.extend_from_slice(&timescale.to_be_bytes());
    p.extend_from_slice(&duration.to_be_bytes());
    p.extend_from_slice(&[0u8; 80]); // rate, volume, matrix, ... next_track_ID
    mp4_box(b"mvhd", &p)
}

fn mvhd_v1(timescale: u32, duration: u64) -> Vec<u8> {
    let mut p = vec![1, 0, 0, 0];
    p.extend_from_slice(&1u64.to_be_bytes());
    p.extend_from_slice(&2u64.to_be_bytes());
    p.extend_from_slice(&timescale.to_be_bytes());
    p.extend_from_slice(&duration.to_be_bytes());
    p.extend_from_slice(&[0u8; 80]);
    mp4_box(b"mvhd", &p)
}

fn tkhd_v0(w: u32, h: u32) -> Vec<u8> {
    let mut p = vec![0u8; 4 + 20 + 8 + 8 + 36];
    p.extend_from_slice(&(w << 16).to_be_bytes());
    p.extend_from_slice(&(h << 16).to_be_bytes());
    assert_eq!(p.len(), 84);
    mp4_box(b"tkhd", &p)
}

fn mp4_file(mvhd: &[u8], mdat_first: bool) -> Vec<u8> {
    let audio = mp4_box(b"trak", &tkhd_v0(0, 0));
    let video = mp4_box(b"trak", &tkhd_v0(1920, 1080));
    let moov = mp4_box(b"moov", &[mvhd, &audio[..], &video[..]].concat());
    let mdat = mp4_box(b"mdat", &[0xAB; 500]);
    let mut f = ftyp(b"isom");
    if mdat_first {
        f.extend_from_slice(&mdat);
        f.extend_from_slice(&moov);
    } else {
        f.extend_from_slice(&moov);
        f.extend_from_slice(&mdat);
    }
    f
}

/// An EBML element with a 1-byte size when it fits, else an 8-byte one.
fn el(id: u32, payload: &[u8]) -> Vec<u8> {
    let mut b: Vec<u8> = id
        .to_be_bytes()
        .into_iter()
        .skip_while(|&x| x == 0)
        .collect();
    if payload.len() < 127 {
        b.push(0x80 | payload.len() as u8);
    } else {
        b.push(0x01);
        b.extend_from_slice(&(payload.len() as u64).to_be_bytes()[1..]);
    }
    b.extend_from_slice(payload);
    b
}

fn ebml_header(doc: &str) -> Vec<u8> {
    let body = [
        el(0x4286, &[1]),
        el(0x42F7, &[1]),
        el(0x42F2, &[4]),
        el(0x42F3, &[8]),
        el(0x4282, doc.as_bytes()),
        el(0x4287, &[4]),
        el(0x4285, &[2]),
    ]
    .concat();
    el(EBML_HEADER, &body)
}

fn webm_file(duration: &[u8], scale: Option<u32>, unknown_segment: bool) -> Vec<u8> {
    let mut info = Vec::new();
    if let Some(s) = scale {
        info.extend(el(TIMECODE_SCALE, &s.to_be_bytes()));
    }
    info.extend(el(0x4D80, b"test muxer"));
    info.extend(el(DURATION, duration));
    let video = el(
        TRACK_VIDEO,
        &[
            el(PIXEL_WIDTH, &[0x05, 0x00]),
            el(PIXEL_HEIGHT, &[0x02, 0xD0]),
        ]
        .concat(),
    );
    let audio_track = el(TRACK_ENTRY, &[el(0xD7, &[1]), el(0x83, &[2])].concat());
    let video_track = el(
        TRACK_ENTRY,
        &[el(0xD7, &[2]), el(0x83, &[1]), video].concat(),
    );
    let segment_body = [
        el(0x114D_9B74, &[0u8; 20]), // SeekHead (contents irrelevant here)
        el(0xEC, &[0u8; 200]),       // Void, with an 8-byte size
        el(INFO, &info),
        el(TRACKS, &[audio_track, video_track].concat()),
        el(CLUSTER, &[0u8; 300]),
    ]
    .concat();
    let mut f = ebml_header("webm");
    if unknown_segment {
        f.extend_from_slice(&SEGMENT.to_be_bytes());
        f.push(0xFF); // 1-byte size, all ones: unknown
        f.extend_from_slice(&segment_body);
    } else {
        f.extend(el(SEGMENT, &segment_body));
    }
    f
}

fn tmp_entries(media: &Path) -> usize {
    std::fs::read_dir(media.join("tmp")).map_or(0, |d| d.count())
}

fn media_files(media: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(media)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().unwrap().is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

// --- sniffing --------------------------------------------------------

#[test]
fn sniff_accepts_supported_kinds() {
    let img = noisy_rgb(8, 8);
    assert_eq!(
        sniff(&encode(&img, ::image::ImageFormat::Png)),
        Ok(MediaKind::Png)
    );
    assert_eq!(
        sniff(&encode(&img, ::image::ImageFormat::Jpeg)),
        Ok(MediaKind::Jpeg)
    );
    assert_eq!(
        sniff(&encode(&img, ::image::ImageFormat::Gif)),
        Ok(MediaKind::Gif)
    );
    assert_eq!(
        sniff(&encode(&img, ::image::ImageFormat::WebP)),
        Ok(MediaKind::Webp)
    );
    assert_eq!(
        sniff(&mp4_file(&mvhd_v0(1000, 1), false)),
        Ok(MediaKind::Mp4)
    );
    for brand in [b"mp42", b"iso5", b"avc1", b"dash", b"M4V "] {
        assert_eq!(sniff(&ftyp(brand)), Ok(MediaKind::Mp4), "{brand:?}");
    }
    // Unknown major brand, MP4 compatible brand.
    assert_eq!(sniff(&ftyp(b"ABCD")), Ok(MediaKind::Mp4));
    assert_eq!(sniff(&webm_file(&[0; 8], None, false)), Ok(MediaKind::Webm));
}

#[test]
fn sniff_names_refused_kinds() {
    let mut riff_wave = b"RIFF\x24\0\0\0WAVEfmt ".to_vec();
    riff_wave.extend_from_slice(&[0x10, 0, 0, 0]);
    let mut elf = b"\x7fELF\x02\x01\x01\0".to_vec();
    elf.extend_from_slice(&[0; 8]);
    let mut heic = mp4_box(b"ftyp", b"heic\0\0\0\0mif1heic");
    heic.extend_from_slice(&[0; 8]);
    let mkv = ebml_header("matroska");
    let mut bmp = b"BM\x36\x00\x0c\x00\0\0\0\0\x36\0\0\0".to_vec();
    bmp.extend_from_slice(&[0x28, 0, 0, 0]);

    let cases: Vec<(Vec<u8>, &str)> = vec![
        (vec![], "empty"),
        (b"hello world".to_vec(), "plain text"),
        ("héllo wörld ünïcode".as_bytes().to_vec(), "plain text"),
        (
            b"<!DOCTYPE html><html><body>hi</body></html>".to_vec(),
            "HTML document",
        ),
        (
            b"<?xml version=\"1.0\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\">".to_vec(),
            "SVG image",
        ),
        (b"<svg width=\"10\"></svg>".to_vec(), "SVG image"),
        (b"{\"a\": [1, 2, 3]}".to_vec(), "JSON"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n".to_vec(), "PDF document"),
        (b"PK\x03\x04\x14\0\0\0\x08\0".to_vec(), "ZIP archive"),
        (vec![0x1F, 0x8B, 0x08, 0, 0, 0, 0, 0], "gzip"),
        (bmp, "BMP image"),
        (b"II*\0\x08\0\0\0".to_vec(), "TIFF image"),
        (b"MM\0*\0\0\0\x08".to_vec(), "TIFF image"),
        (vec![0, 0, 1, 0, 1, 0, 16, 16, 0, 0], "icon"),
        (mp4_box(b"ftyp", b"avif\0\0\0\0avifmif1miaf"), "AVIF image"),
        (heic, "HEIC"),
        (mp4_box(b"ftyp", b"qt  \0\0\x02\0qt  "), "QuickTime movie"),
        (mkv, "Matroska video"),
        (b"OggS\0\x02\0\0\0\0\0\0\0\0".to_vec(), "Ogg"),
        (b"ID3\x04\0\0\0\0\0\x23".to_vec(), "MP3"),
        (vec![0xFF, 0xFB, 0x90, 0x64, 0, 0, 0, 0], "MP3"),
        (riff_wave, "WAV audio"),
        (b"RIFF\x24\0\0\0AVI LIST".to_vec(), "AVI video"),
        (elf, "ELF executable"),
        (
            vec![0x00, 0x01, 0x02, 0x03, 0xFE, 0x80, 0x00],
            "unrecognised binary data",
        ),
    ];
    for (bytes, expected) in cases {
        let got = sniff(&bytes).expect_err("should be refused");
        assert!(
            got.contains(expected),
            "{bytes:?}: got {got:?}, want {expected:?}"
        );
    }
}

#[test]
fn sniff_text_tolerates_cut_character() {
    // 63 ASCII bytes then the first half of a 2-byte character.
    let mut b = vec![b'a'; 63];
    b.extend_from_slice("é".as_bytes());
    assert_eq!(sniff(&b[..SNIFF_BYTES]), Err("plain text".into()));
}

#[test]
fn kinds_and_file_names() {
    for k in MediaKind::ALL {
        assert_eq!(MediaKind::from_ext(k.ext()), Some(k));
        let sha = "ab".repeat(32);
        assert_eq!(parse_file_name(&file_name(&sha, k)), Some((sha, k)));
    }
    assert!(MediaKind::Webm.is_video() && !MediaKind::Gif.is_video());
    assert_eq!(MediaKind::from_ext("JPEG"), Some(MediaKind::Jpeg));
    assert_eq!(MediaKind::Jpeg.mime(), "image/jpeg");
    let sha = "0f".repeat(32);
    assert_eq!(parse_file_name(&format!("{sha}.jpeg")), None); // not canonical
    assert_eq!(parse_file_name(&format!("{}.png", "AB".repeat(32))), None);
    assert_eq!(parse_file_name(&format!("{}.png", &sha[..63])), None);
    assert_eq!(parse_file_name("../etc/passwd.png"), None);
    assert_eq!(parse_file_name(&format!("{sha}.png.png")), None);
    assert_eq!(parse_file_name(&format!("{sha}.exe")), None);
}

#[test]
fn error_messages() {
    assert_eq!(UploadError::Empty.to_string(), "The file is empty.");
    assert_eq!(
        UploadError::TooLarge {
            limit: 500 * 1024 * 1024
        }
        .to_string(),
        "The file is larger than the 500 MB limit."
    );
    assert_eq!(
        UploadError::Unsupported {
            found: "plain text".into()
        }
        .to_string(),
        "This file is plain text; only PNG, JPEG, WebP, GIF, MP4 and WebM can be uploaded."
    );
    assert_eq!(human_size(1000), "1000 bytes");
    assert_eq!(human_size(3 << 29), "1.5 GB");
}

// --- storing ---------------------------------------------------------

#[tokio::test]
async fn stores_png_with_thumbnail_once() {
    let dir = tempfile::tempdir().unwrap();
    let media = dir.path();
    let data = png(800, 400);

    let stored = store_stream(media, chunks(&data, 1000), 10 << 20)
        .await
        .unwrap();
    assert_eq!(stored.sha256, sha_hex(&data));
    assert_eq!(stored.kind, MediaKind::Png);
    assert_eq!(stored.size, data.len() as u64);
    assert_eq!((stored.width, stored.height), (Some(800), Some(400)));
    assert_eq!(stored.duration_ms, None);
    assert!(stored.has_thumb);

    let name = file_name(&stored.sha256, MediaKind::Png);
    assert_eq!(std::fs::read(media.join(&name)).unwrap(), data);
    let thumb = ::image::open(media.join("thumbs").join(thumb_file_name(&stored.sha256))).unwrap();
    assert!(thumb.width() <= THUMB_MAX && thumb.height() <= THUMB_MAX);
    assert_eq!((thumb.width(), thumb.height()), (320, 160));

    // The same bytes again (in other chunk sizes): one file, same answer.
    let again = store_stream(media, chunks(&data, 7), 10 << 20)
        .await
        .unwrap();
    assert_eq!(again, stored);
    assert_eq!(media_files(media), vec![name]);
    assert_eq!(tmp_entries(media), 0);
    assert_eq!(std::fs::read_dir(media.join("thumbs")).unwrap().count(), 1);

    remove(media, &stored.sha256, MediaKind::Png).await;
    assert!(media_files(media).is_empty());
    assert_eq!(std::fs::read_dir(media.join("thumbs")).unwrap().count(), 0);
    remove(media, &stored.sha256, MediaKind::Png).await; // missing: fine
}

#[tokio::test]
async fn stores_small_jpeg_gif_webp() {
    let dir = tempfile::tempdir().unwrap();
    let img = noisy_rgb(40, 30);
    for (format, kind) in [
        (::image::ImageFormat::Jpeg, MediaKind::Jpeg),
        (::image::ImageFormat::Gif, MediaKind::Gif),
        (::image::ImageFormat::WebP, MediaKind::Webp),
    ] {
        let data = encode(&img, format);
        let stored = store_stream(dir.path(), chunks(&data, 16), 1 << 20)
            .await
            .unwrap();
        assert_eq!(stored.kind, kind);
        assert_eq!((stored.width, stored.height), (Some(40), Some(30)));
        assert!(stored.has_thumb);
        assert!(dir.path().join(file_name(&stored.sha256, kind)).exists());
    }
}

#[tokio::test]
async fn refuses_text_named_png() {
    let dir = tempfile::tempdir().unwrap();
    let err = store_stream(dir.path(), chunks(b"hello world", 4), 1000)
        .await
        .unwrap_err();
    assert!(matches!(err, UploadError::Unsupported { .. }));
    assert!(err.to_string().contains("text"), "{err}");
    assert_eq!(err.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(tmp_entries(dir.path()), 0);
    assert!(media_files(dir.path()).is_empty());
}

#[tokio::test]
async fn refuses_early_before_reading_everything() {
    // A PDF followed by a stream error: refused on the sniff, so the
    // error after it is never reached.
    let dir = tempfile::tempdir().unwrap();
    let mut parts: Vec<Result<bytes::Bytes, String>> = vec![Ok(bytes::Bytes::from(format!(
        "%PDF-1.4\n{}",
        "x".repeat(100)
    )))];
    parts.push(Err("connection reset".into()));
    let err = store_stream(dir.path(), futures::stream::iter(parts), 1 << 20)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("PDF document"), "{err}");
    assert_eq!(tmp_entries(dir.path()), 0);
}

#[tokio::test]
async fn stream_error_is_io_and_cleans_up() {
    let dir = tempfile::tempdir().unwrap();
    let data = png(20, 20);
    let parts: Vec<Result<bytes::Bytes, String>> = vec![
        Ok(bytes::Bytes::copy_from_slice(&data[..100])),
        Err("connection reset".into()),
    ];
    let err = store_stream(dir.path(), futures::stream::iter(parts), 1 << 20)
        .await
        .unwrap_err();
    assert!(matches!(&err, UploadError::Io(e) if e.to_string() == "connection reset"));
    assert_eq!(tmp_entries(dir.path()), 0);
    assert!(media_files(dir.path()).is_empty());
}

#[tokio::test]
async fn empty_stream() {
    let dir = tempfile::tempdir().unwrap();
    let err = store_stream(dir.path(), chunks(b"", 1), 1000)
        .await
        .unwrap_err();
    assert!(matches!(err, UploadError::Empty));
    assert_eq!(tmp_entries(dir.path()), 0);
}

#[tokio::test]
async fn too_large() {
    let dir = tempfile::tempdir().unwrap();
    let data = png(64, 64);
    assert!(data.len() >= 5000);
    let err = store_stream(dir.path(), chunks(&data[..5000], 256), 1000)
        .await
        .unwrap_err();
    assert!(matches!(err, UploadError::TooLarge { limit: 1000 }));
    assert_eq!(
        err.to_string(),
        "The file is larger than the 1000 bytes limit."
    );
    assert_eq!(tmp_entries(dir.path()), 0);
    assert!(media_files(dir.path()).is_empty());
}

#[tokio::test]
async fn corrupt_image_is_removed() {
    let dir = tempfile::tempdir().unwrap();
    let mut data = png(32, 32);
    data.truncate(100); // valid signature, broken data
    let err = store_stream(dir.path(), chunks(&data, 50), 1 << 20)
        .await
        .unwrap_err();
    assert!(matches!(err, UploadError::Corrupt(_)));
    assert!(
        err.to_string()
            .starts_with("The image could not be decoded: "),
        "{err}"
    );
    assert!(media_files(dir.path()).is_empty());
    assert_eq!(tmp_entries(dir.path()), 0);
}

#[tokio::test]
async fn oversized_image_is_refused_not_decoded() {
    let dir = tempfile::tempdir().unwrap();
    let wide = ::image::DynamicImage::ImageLuma8(::image::GrayImage::new(MAX_IMAGE_SIDE + 1, 1));
    let data = encode(&wide, ::image::ImageFormat::Png);
    let err = store_stream(dir.path(), chunks(&data, 4096), 1 << 20)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("too large"), "{err}");
    assert!(media_files(dir.path()).is_empty());
}

#[tokio::test]
async fn stores_mp4_with_duration() {
    let dir = tempfile::tempdir().unwrap();
    let data = mp4_file(&mvhd_v0(600, 9000), true);
    let stored = store_stream(dir.path(), chunks(&data, 33), 1 << 20)
        .await
        .unwrap();
    assert_eq!(stored.kind, MediaKind::Mp4);
    assert_eq!(stored.duration_ms, Some(15_000));
    assert_eq!((stored.width, stored.height), (Some(1920), Some(1080)));
    assert!(!stored.has_thumb);
    assert!(dir
        .path()
        .join(file_name(&stored.sha256, MediaKind::Mp4))
        .exists());
    assert!(!dir.path().join("thumbs").exists());
}

#[tokio::test]
async fn stores_webm_with_duration() {
    let dir = tempfile::tempdir().unwrap();
    let data = webm_file(&12_345.0f64.to_be_bytes(), None, false);
    let stored = store_stream(dir.path(), chunks(&data, 10), 1 << 20)
        .await
        .unwrap();
    assert_eq!(stored.kind, MediaKind::Webm);
    assert_eq!(stored.duration_ms, Some(12_345));
    assert_eq!((stored.width, stored.height), (Some(1280), Some(720)));
}

// --- video probing -----------------------------------------------------

fn mp4_info(data: &[u8]) -> VideoInfo {
    probe_mp4(&mut Cursor::new(data), data.len() as u64).unwrap()
}

fn webm_info(data: &[u8]) -> VideoInfo {
    probe_webm(&mut Cursor::new(data), data.len() as u64).unwrap()
}

#[test]
fn mp4_mvhd_versions() {
    assert_eq!(
        mp4_info(&mp4_file(&mvhd_v0(1000, 2500), false)).duration_ms,
        Some(2500)
    );
    assert_eq!(
        mp4_info(&mp4_file(&mvhd_v0(90_000, 270_000), true)).duration_ms,
        Some(3000)
    );
    // 64-bit duration larger than u32.
    let v1 = mp4_file(&mvhd_v1(48_000, 48_000 * 100_000), true);
    assert_eq!(mp4_info(&v1).duration_ms, Some(100_000_000));
    // Unknown duration, or no timescale: not known, not an error.
    assert_eq!(
        mp4_info(&mp4_file(&mvhd_v0(1000, u32::MAX), false)).duration_ms,
        None
    );
    assert_eq!(mp4_info(&mp4_file(&mvhd_v0(0, 5), false)).duration_ms, None);
    // No moov at all.
    assert_eq!(mp4_info(&ftyp(b"isom")), VideoInfo::default());
}

#[test]
fn mp4_largesize_and_size_zero() {
    // mdat with a 64-bit largesize header before moov.
    let mut f = ftyp(b"mp42");
    let payload = [0u8; 40];
    f.extend_from_slice(&1u32.to_be_bytes());
    f.extend_from_slice(b"mdat");
    f.extend_from_slice(&(16 + payload.len() as u64).to_be_bytes());
    f.extend_from_slice(&payload);
    // moov as the last box with size 0 ("to end of file").
    let moov = mp4_box(b"moov", &mvhd_v0(1000, 4321));
    f.extend_from_slice(&0u32.to_be_bytes());
    f.extend_from_slice(&moov[4..]);
    assert_eq!(mp4_info(&f).duration_ms, Some(4321));

    // mdat of size 0 at the end hides nothing, and moov before it counts.
    let mut g = ftyp(b"isom");
    g.extend(mp4_box(b"moov", &mvhd_v1(10, 25)));
    g.extend_from_slice(&[0, 0, 0, 0]);
    g.extend_from_slice(b"mdat");
    g.extend_from_slice(&[1; 30]);
    assert_eq!(mp4_info(&g).duration_ms, Some(2500));

    // A box claiming more than the file holds is an error, not a panic.
    let mut bad = ftyp(b"isom");
    bad.extend_from_slice(&1000u32.to_be_bytes());
    bad.extend_from_slice(b"free");
    assert!(probe_mp4(&mut Cursor::new(&bad), bad.len() as u64).is_err());
}

#[test]
fn mp4_fragmented_uses_mehd() {
    let mut mehd = vec![0, 0, 0, 0];
    mehd.extend_from_slice(&7_000u32.to_be_bytes());
    let mvex = mp4_box(b"mvex", &mp4_box(b"mehd", &mehd));
    let moov = mp4_box(b"moov", &[mvhd_v0(1000, 0), mvex].concat());
    let f = [ftyp(b"iso6"), moov].concat();
    assert_eq!(mp4_info(&f).duration_ms, Some(7000));
}

#[test]
fn webm_durations() {
    // 8-byte float, default scale (1 ms ticks).
    let f = webm_file(&61_500.0f64.to_be_bytes(), None, false);
    assert_eq!(webm_info(&f).duration_ms, Some(61_500));
    // 4-byte float with an explicit scale of 100 µs per tick.
    let f = webm_file(&25_000.0f32.to_be_bytes(), Some(100_000), false);
    let info = webm_info(&f);
    assert_eq!(info.duration_ms, Some(2500));
    assert_eq!((info.width, info.height), (Some(1280), Some(720)));
    // Unknown-size Segment (live recording).
    let f = webm_file(&1_000.0f64.to_be_bytes(), None, true);
    assert_eq!(webm_info(&f).duration_ms, Some(1000));
    // No usable Duration: unknown.
    let f = webm_file(&[1, 2], None, false);
    assert_eq!(webm_info(&f).duration_ms, None);
}

#[test]
fn webm_without_info_before_unknown_cluster() {
    let mut f = ebml_header("webm");
    f.extend_from_slice(&SEGMENT.to_be_bytes());
    f.push(0xFF);
    f.extend_from_slice(&CLUSTER.to_be_bytes());
    f.push(0xFF);
    f.extend_from_slice(&[0u8; 50]);
    assert_eq!(webm_info(&f), VideoInfo::default());
}

#[tokio::test]
async fn clear_temp_removes_leftovers() {
    let dir = tempfile::tempdir().unwrap();
    clear_temp(dir.path()).await; // no tmp dir yet: fine
    std::fs::create_dir_all(dir.path().join("tmp")).unwrap();
    std::fs::write(dir.path().join("tmp").join("1-2-3.part"), b"partial").unwrap();
    clear_temp(dir.path()).await;
    assert_eq!(tmp_entries(dir.path()), 0);
}

#[test]
fn truncated_inputs_never_panic() {
    let inputs = [
        mp4_file(&mvhd_v1(1000, 5000), true),
        webm_file(&5.0f32.to_be_bytes(), Some(1000), true),
        webm_file(&5.0f64.to_be_bytes(), None, false),
    ];
    for data in &inputs {
        for n in 0..=data.len() {
            let part = &data[..n];
            let _ = sniff(part);
            let _ = probe_mp4(&mut Cursor::new(part), n as u64);
            let _ = probe_webm(&mut Cursor::new(part), n as u64);
        }
        // Flipped bytes, too.
        for i in 0..data.len() {
            let mut bad = data.clone();
            bad[i] ^= 0xFF;
            let _ = sniff(&bad);
            let _ = probe_mp4(&mut Cursor::new(&bad), bad.len() as u64);
            let _ = probe_webm(&mut Cursor::new(&bad), bad.len() as u64);
        }
    }
}

// --- serving -----------------------------------------------------------

async fn serve(
    data: &[u8],
    req: &[(header::HeaderName, &str)],
) -> (StatusCode, HeaderMap, Vec<u8>) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.mp4");
    std::fs::write(&path, data).unwrap();
    let mut headers = HeaderMap::new();
    for (name, value) in req {
        headers.insert(name.clone(), HeaderValue::from_str(value).unwrap());
    }
    let res = serve_file(&path, "abc123", "video/mp4", &headers).await;
    let status = res.status();
    let h = res.headers().clone();
    let body = axum::body::to_bytes(res.into_body(), usize::MAX)
        .await
        .unwrap();
    (status, h, body.to_vec())
}

fn hv(h: &HeaderMap, name: header::HeaderName) -> &str {
    h.get(name).map_or("", |v| v.to_str().unwrap())
}

fn data100() -> Vec<u8> {
    (0..100u8).collect()
}

#[tokio::test]
async fn serve_full() {
    let data = data100();
    let (status, h, body) = serve(&data, &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, data);
    assert_eq!(hv(&h, header::ETAG), "\"abc123\"");
    assert_eq!(
        hv(&h, header::CACHE_CONTROL),
        "public, max-age=31536000, immutable"
    );
    assert_eq!(hv(&h, header::ACCEPT_RANGES), "bytes");
    assert_eq!(hv(&h, header::CONTENT_TYPE), "video/mp4");
    assert_eq!(hv(&h, header::CONTENT_LENGTH), "100");
    assert_eq!(hv(&h, header::X_CONTENT_TYPE_OPTIONS), "nosniff");
}

#[tokio::test]
async fn serve_ranges() {
    let data = data100();
    let cases = [
        ("bytes=0-9", 0..10),
        ("bytes=10-", 10..100),
        ("bytes=-5", 95..100),
        ("bytes=90-500", 90..100),
        ("bytes=-500", 0..100),
    ];
    for (range, want) in cases {
        let (status, h, body) = serve(&data, &[(header::RANGE, range)]).await;
        assert_eq!(status, StatusCode::PARTIAL_CONTENT, "{range}");
        assert_eq!(body, &data[want.clone()], "{range}");
        assert_eq!(
            hv(&h, header::CONTENT_RANGE),
            format!("bytes {}-{}/100", want.start, want.end - 1)
        );
        assert_eq!(hv(&h, header::CONTENT_LENGTH), want.len().to_string());
        assert_eq!(hv(&h, header::ETAG), "\"abc123\"");
    }
}

#[tokio::test]
async fn serve_unsatisfiable_and_malformed() {
    let data = data100();
    for range in ["bytes=100-", "bytes=200-300", "bytes=-0"] {
        let (status, h, body) = serve(&data, &[(header::RANGE, range)]).await;
        assert_eq!(status, StatusCode::RANGE_NOT_SATISFIABLE, "{range}");
        assert_eq!(hv(&h, header::CONTENT_RANGE), "bytes */100");
        assert!(body.is_empty());
    }
    for range in [
        "bytes=9-3",
        "bytes=abc",
        "items=0-5",
        "bytes=+1-2",
        "bytes=0-1,5-6",
    ] {
        let (status, _, body) = serve(&data, &[(header::RANGE, range)]).await;
        assert_eq!(status, StatusCode::OK, "{range}");
        assert_eq!(body, data);
    }
}

#[tokio::test]
async fn serve_conditional() {
    let data = data100();
    for inm in ["\"abc123\"", "*", "\"x\", W/\"abc123\"", "W/\"abc123\""] {
        let (status, h, body) = serve(&data, &[(header::IF_NONE_MATCH, inm)]).await;
        assert_eq!(status, StatusCode::NOT_MODIFIED, "{inm}");
        assert!(body.is_empty());
        assert_eq!(hv(&h, header::ETAG), "\"abc123\"");
        assert!(h.contains_key(header::CACHE_CONTROL));
    }
    let (status, _, _) = serve(&data, &[(header::IF_NONE_MATCH, "\"other\"")]).await;
    assert_eq!(status, StatusCode::OK);

    // If-Range: matching tag honours the range, anything else gets it all.
    let (status, _, body) = serve(
        &data,
        &[
            (header::RANGE, "bytes=0-9"),
            (header::IF_RANGE, "\"abc123\""),
        ],
    )
    .await;
    assert_eq!((status, body.len()), (StatusCode::PARTIAL_CONTENT, 10));
    for if_range in ["\"old\"", "W/\"abc123\"", "Wed, 21 Oct 2015 07:28:00 GMT"] {
        let (status, _, body) = serve(
            &data,
            &[(header::RANGE, "bytes=0-9"), (header::IF_RANGE, if_range)],
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{if_range}");
        assert_eq!(body, data);
    }
}

#[tokio::test]
async fn serve_missing_and_empty() {
    let dir = tempfile::tempdir().unwrap();
    let res = serve_file(
        &dir.path().join("nope"),
        "x",
        "image/png",
        &HeaderMap::new(),
    )
    .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);

    let (status, h, body) = serve(&[], &[(header::RANGE, "bytes=0-")]).await;
    assert_eq!(status, StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(hv(&h, header::CONTENT_RANGE), "bytes */0");
    assert!(body.is_empty());
}
