//! WebM (Matroska): duration and frame size from `Segment/Info` and `Tracks`.

use std::io::{self, Read, Seek, SeekFrom};

use super::{invalid, read_at, sniff::ebml_size_value, VideoInfo, MAX_ENTRIES};

pub(super) const EBML_HEADER: u32 = 0x1A45_DFA3;
pub(super) const SEGMENT: u32 = 0x1853_8067;
pub(super) const INFO: u32 = 0x1549_A966;
pub(super) const TIMECODE_SCALE: u32 = 0x2A_D7B1;
pub(super) const DURATION: u32 = 0x4489;
pub(super) const TRACKS: u32 = 0x1654_AE6B;
pub(super) const TRACK_ENTRY: u32 = 0xAE;
pub(super) const TRACK_VIDEO: u32 = 0xE0;
pub(super) const PIXEL_WIDTH: u32 = 0xB0;
pub(super) const PIXEL_HEIGHT: u32 = 0xBA;
pub(super) const CLUSTER: u32 = 0x1F43_B675;

/// An EBML element: its ID and data range (`end` is None for unknown size).
#[derive(Debug, Clone, Copy)]
pub(super) struct Element {
    id: u32,
    start: u64,
    end: Option<u64>,
}

pub(super) fn read_element<R: Read + Seek>(r: &mut R, pos: u64) -> io::Result<Element> {
    r.seek(SeekFrom::Start(pos))?;
    let mut byte = [0u8; 1];

    r.read_exact(&mut byte)?;
    let id_len = byte[0].leading_zeros() as usize + 1;
    if id_len > 4 {
        return Err(invalid("bad EBML element ID"));
    }
    let mut id = u32::from(byte[0]);
    for _ in 1..id_len {
        r.read_exact(&mut byte)?;
        id = id << 8 | u32::from(byte[0]);
    }

    r.read_exact(&mut byte)?;
    let size_len = byte[0].leading_zeros() as usize + 1;
    if size_len > 8 {
        return Err(invalid("bad EBML element size"));
    }
    let mut size = u64::from(byte[0]) & (0xFF >> size_len);
    for _ in 1..size_len {
        r.read_exact(&mut byte)?;
        size = size << 8 | u64::from(byte[0]);
    }

    let start = pos + (id_len + size_len) as u64;
    let end = match ebml_size_value(size, size_len) {
        Some(s) => Some(
            start
                .checked_add(s)
                .ok_or_else(|| invalid("EBML size overflow"))?,
        ),
        None => None,
    };
    Ok(Element { id, start, end })
}

/// The children of an element in `start..end`, calling `visit` on each. An
/// unknown-size child ends the walk after its visit, as its end can't be known
/// without parsing it; `visit` returns false to stop early.
pub(super) fn walk_elements<R, F>(r: &mut R, start: u64, end: u64, mut visit: F) -> io::Result<()>
where
    R: Read + Seek,
    F: FnMut(&mut R, Element, u64) -> io::Result<bool>,
{
    let mut pos = start;
    for _ in 0..MAX_ENTRIES {
        if pos >= end {
            break;
        }
        let el = read_element(r, pos)?;
        if el.start > end {
            break;
        }
        // Clamp to the parent: a truncated file must not send us past it.
        let el_end = el.end.map_or(end, |e| e.min(end));
        if !visit(r, el, el_end)? || el.end.is_none() {
            break;
        }
        pos = el_end;
    }
    Ok(())
}

pub(super) fn read_payload<R: Read + Seek>(r: &mut R, start: u64, end: u64) -> io::Result<Vec<u8>> {
    let mut buf = vec![0u8; end.saturating_sub(start) as usize];
    read_at(r, start, &mut buf)?;
    Ok(buf)
}

/// An EBML unsigned integer (0–8 bytes, big-endian).
pub(super) fn read_uint<R: Read + Seek>(
    r: &mut R,
    start: u64,
    end: u64,
) -> io::Result<Option<u64>> {
    if end - start > 8 {
        return Ok(None);
    }
    let b = read_payload(r, start, end)?;
    Ok(Some(b.iter().fold(0u64, |acc, &x| acc << 8 | u64::from(x))))
}

/// Reads WebM duration (Segment/Info) and video size (Segment/Tracks),
/// skipping SeekHead, Void, Cues and the like by their sizes.
pub(super) fn probe_webm<R: Read + Seek>(r: &mut R, len: u64) -> io::Result<VideoInfo> {
    let header = read_element(r, 0)?;
    let Some(mut pos) = header.end.filter(|_| header.id == EBML_HEADER) else {
        return Err(invalid("no EBML header"));
    };

    // Find the Segment among the top-level elements (Void may precede it).
    let mut segment = None;
    for _ in 0..MAX_ENTRIES {
        if pos >= len {
            break;
        }
        let el = read_element(r, pos)?;
        if el.id == SEGMENT {
            segment = Some(el);
            break;
        }
        match el.end {
            Some(end) => pos = end,
            None => break,
        }
    }
    let Some(segment) = segment else {
        return Ok(VideoInfo::default());
    };
    // A live-recorded Segment has unknown size: it runs to the end of file.
    let seg_end = segment.end.map_or(len, |e| e.min(len));

    let mut info = VideoInfo::default();
    let mut seen_info = false;
    let mut seen_tracks = false;
    walk_elements(r, segment.start, seg_end, |r, el, end| {
        match el.id {
            INFO => {
                seen_info = true;
                info.duration_ms = webm_duration(r, el.start, end)?;
            }
            TRACKS => {
                seen_tracks = true;
                if let Some((w, h)) = webm_video_size(r, el.start, end)? {
                    info.width = Some(w);
                    info.height = Some(h);
                }
            }
            // Clusters hold the media: once Info is known, nothing after
            // them is worth seeking through.
            CLUSTER if seen_info => return Ok(false),
            _ => {}
        }
        Ok(!(seen_info && seen_tracks))
    })?;
    Ok(info)
}

/// Duration in ms from Info's TimecodeScale (ns per tick, default 1 ms) and
/// Duration (float, in ticks).
pub(super) fn webm_duration<R: Read + Seek>(
    r: &mut R,
    start: u64,
    end: u64,
) -> io::Result<Option<i64>> {
    let mut scale: u64 = 1_000_000;
    let mut ticks: Option<f64> = None;
    walk_elements(r, start, end, |r, el, el_end| {
        match el.id {
            TIMECODE_SCALE => {
                if let Some(s) = read_uint(r, el.start, el_end)?.filter(|&s| s > 0) {
                    scale = s;
                }
            }
            DURATION => {
                let b = read_payload(r, el.start, el_end.min(el.start + 8))?;
                ticks = match b.len() {
                    4 => Some(f64::from(f32::from_be_bytes([b[0], b[1], b[2], b[3]]))),
                    8 => Some(f64::from_be_bytes(b.try_into().expect("8 bytes"))),
                    _ => None,
                };
            }
            _ => {}
        }
        Ok(true)
    })?;
    let ms = ticks.map(|t| (t * scale as f64 / 1_000_000.0).round());
    Ok(ms
        .filter(|ms| ms.is_finite() && *ms > 0.0 && *ms < i64::MAX as f64)
        .map(|ms| ms as i64))
}

/// PixelWidth/PixelHeight of the first track that has a Video element.
pub(super) fn webm_video_size<R: Read + Seek>(
    r: &mut R,
    start: u64,
    end: u64,
) -> io::Result<Option<(u32, u32)>> {
    let mut found = None;
    walk_elements(r, start, end, |r, entry, entry_end| {
        if entry.id == TRACK_ENTRY {
            walk_elements(r, entry.start, entry_end, |r, el, el_end| {
                if el.id == TRACK_VIDEO {
                    let (mut w, mut h) = (None, None);
                    walk_elements(r, el.start, el_end, |r, px, px_end| {
                        match px.id {
                            PIXEL_WIDTH => w = read_uint(r, px.start, px_end)?,
                            PIXEL_HEIGHT => h = read_uint(r, px.start, px_end)?,
                            _ => {}
                        }
                        Ok(true)
                    })?;
                    if let (Some(w), Some(h)) = (w, h) {
                        found = u32::try_from(w).ok().zip(u32::try_from(h).ok());
                    }
                }
                Ok(found.is_none())
            })?;
        }
        Ok(found.is_none())
    })?;
    Ok(found.filter(|&(w, h)| w > 0 && h > 0))
}
