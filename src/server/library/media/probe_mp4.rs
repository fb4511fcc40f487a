//! MP4 (ISO BMFF): duration and frame size from `moov/mvhd` and `tkhd`.

use std::io::{self, Read, Seek};

use super::{invalid, read_at, VideoInfo, MAX_ENTRIES};

/// An ISO BMFF box: its type and payload range.
#[derive(Debug, Clone, Copy)]
pub(super) struct Mp4Box {
    kind: [u8; 4],
    start: u64,
    end: u64,
}

pub(super) fn read_box<R: Read + Seek>(r: &mut R, pos: u64, parent_end: u64) -> io::Result<Mp4Box> {
    let mut h = [0u8; 8];
    read_at(r, pos, &mut h)?;
    let kind = [h[4], h[5], h[6], h[7]];
    let (header_len, size) = match u32::from_be_bytes([h[0], h[1], h[2], h[3]]) {
        // A 64-bit "largesize" follows the type (boxes over 4 GB, e.g. mdat).
        1 => {
            let mut l = [0u8; 8];
            r.read_exact(&mut l)?;
            (16, u64::from_be_bytes(l))
        }
        // Size 0: the box runs to the end of its parent (the file, at top level).
        0 => (8, parent_end - pos),
        n => (8, u64::from(n)),
    };
    let end = pos
        .checked_add(size)
        .filter(|&end| size >= header_len && end <= parent_end)
        .ok_or_else(|| invalid("MP4 box size out of range"))?;
    Ok(Mp4Box {
        kind,
        start: pos + header_len,
        end,
    })
}

/// The first child box of type `kind` within `start..end`.
pub(super) fn find_box<R: Read + Seek>(
    r: &mut R,
    start: u64,
    end: u64,
    kind: &[u8; 4],
) -> io::Result<Option<Mp4Box>> {
    let mut pos = start;
    for _ in 0..MAX_ENTRIES {
        if pos + 8 > end {
            return Ok(None);
        }
        let b = read_box(r, pos, end)?;
        if &b.kind == kind {
            return Ok(Some(b));
        }
        pos = b.end;
    }
    Ok(None)
}

/// Up to `max` bytes of a box's payload.
pub(super) fn box_payload<R: Read + Seek>(r: &mut R, b: &Mp4Box, max: u64) -> io::Result<Vec<u8>> {
    let mut buf = vec![0u8; (b.end - b.start).min(max) as usize];
    read_at(r, b.start, &mut buf)?;
    Ok(buf)
}

pub(super) fn be_u32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

pub(super) fn be_u64(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_be_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

/// Reads duration (moov/mvhd, or moov/mvex/mehd for fragmented files) and the
/// first visual track's size (moov/trak/tkhd), seeking past everything else.
pub(super) fn probe_mp4<R: Read + Seek>(r: &mut R, len: u64) -> io::Result<VideoInfo> {
    let mut info = VideoInfo::default();
    // `moov` may come after a multi-gigabyte `mdat`; walking skips it by size.
    let Some(moov) = find_box(r, 0, len, b"moov")? else {
        return Ok(info);
    };

    let mut timescale = None;
    if let Some(mvhd) = find_box(r, moov.start, moov.end, b"mvhd")? {
        let p = box_payload(r, &mvhd, 32)?;
        // version 0: creation(4) modification(4) timescale(4) duration(4);
        // version 1: creation(8) modification(8) timescale(4) duration(8).
        let (ts, dur) = match p.first() {
            Some(1) => (be_u32(&p, 20), be_u64(&p, 24).filter(|&d| d != u64::MAX)),
            Some(0) => (
                be_u32(&p, 12),
                be_u32(&p, 16).filter(|&d| d != u32::MAX).map(u64::from),
            ),
            _ => (None, None),
        };
        timescale = ts.filter(|&t| t > 0);
        info.duration_ms = timescale.zip(dur).and_then(|(t, d)| ticks_to_ms(d, t));
    }

    // Fragmented MP4 leaves mvhd's duration at 0 and may give it in mehd.
    if matches!(info.duration_ms, None | Some(0)) {
        if let Some(mvex) = find_box(r, moov.start, moov.end, b"mvex")? {
            if let Some(mehd) = find_box(r, mvex.start, mvex.end, b"mehd")? {
                let p = box_payload(r, &mehd, 12)?;
                let dur = match p.first() {
                    Some(1) => be_u64(&p, 4),
                    Some(0) => be_u32(&p, 4).map(u64::from),
                    _ => None,
                };
                if let Some(ms) = timescale.zip(dur).and_then(|(t, d)| ticks_to_ms(d, t)) {
                    info.duration_ms = Some(ms);
                }
            }
        }
    }
    if info.duration_ms == Some(0) {
        info.duration_ms = None;
    }

    // Audio tracks have width and height 0 in tkhd; the first non-zero one is
    // the picture. (A rotation matrix is ignored.)
    let mut pos = moov.start;
    for _ in 0..MAX_ENTRIES {
        if pos + 8 > moov.end {
            break;
        }
        let b = read_box(r, pos, moov.end)?;
        pos = b.end;
        if &b.kind != b"trak" {
            continue;
        }
        let Some(tkhd) = find_box(r, b.start, b.end, b"tkhd")? else {
            continue;
        };
        let p = box_payload(r, &tkhd, 96)?;
        // Width and height (16.16 fixed point) are the last 8 bytes:
        // at 76/80 for version 0, 88/92 for version 1.
        let at = if p.first() == Some(&1) { 88 } else { 76 };
        if let (Some(w), Some(h)) = (be_u32(&p, at), be_u32(&p, at + 4)) {
            let (w, h) = (w >> 16, h >> 16);
            if w > 0 && h > 0 {
                info.width = Some(w);
                info.height = Some(h);
                break;
            }
        }
    }
    Ok(info)
}

pub(super) fn ticks_to_ms(ticks: u64, timescale: u32) -> Option<i64> {
    let ms = (u128::from(ticks) * 1000 + u128::from(timescale) / 2) / u128::from(timescale);
    i64::try_from(ms).ok()
}

// WebM (Matroska) element IDs used below.
