//! The demo's short videos, made by the program with no download and no
//! system library: frames painted in RGB, turned into 4:2:0, encoded to AV1
//! with rav1e and muxed into WebM (Matroska) here, so every browser the
//! console supports plays them in a `<video>`.
//!
//! The files it makes are committed (`demo_media/`, read by `demo_day`), so
//! only `make demo-videos` compiles the encoder: `vizora demo-videos --out
//! src/server/tools/demo_media` writes them again, byte for byte the same.

use rav1e::prelude::*;

/// A clip to make: its size, rate and length, and how a frame looks.
pub struct Clip {
    pub width: usize,
    pub height: usize,
    pub fps: u64,
    pub frames: u64,
    /// Paints frame `n` into `rgb` (`width × height × 3` bytes).
    pub paint: fn(n: u64, clip: &Clip, rgb: &mut [u8]),
}

impl Clip {
    pub fn duration_ms(&self) -> u64 {
        self.frames * 1000 / self.fps
    }
}

/// Encodes `clip` to a WebM file.
pub fn encode(clip: &Clip) -> Result<Vec<u8>, String> {
    let (private, blocks) = frames(clip)?;
    Ok(mux(clip, &private, &blocks))
}

/// The encoded frames of `clip`, in order, and the track's CodecPrivate.
fn frames(clip: &Clip) -> Result<(Vec<u8>, Vec<Block>), String> {
    let enc = EncoderConfig {
        width: clip.width,
        height: clip.height,
        time_base: Rational::new(1, clip.fps),
        bit_depth: 8,
        chroma_sampling: ChromaSampling::Cs420,
        pixel_range: PixelRange::Limited,
        speed_settings: SpeedSettings::from_preset(10),
        low_latency: true,
        quantizer: 110,
        // A key frame every two seconds: a player that seeks or loops
        // never waits long for a picture.
        min_key_frame_interval: clip.fps,
        max_key_frame_interval: clip.fps * 2,
        ..EncoderConfig::default()
    };
    let failed = |e: EncoderStatus| format!("video encoder: {e}");
    let mut ctx: Context<u8> = Config::new()
        .with_encoder_config(enc)
        .new_context()
        .map_err(|e| format!("video encoder: {e}"))?;
    let mut rgb = vec![0u8; clip.width * clip.height * 3];
    let mut blocks = Vec::new();
    let mut next = 0u64;
    loop {
        match ctx.receive_packet() {
            Ok(p) => blocks.push(Block {
                frame: p.input_frameno,
                key: p.frame_type == FrameType::KEY,
                data: p.data,
            }),
            Err(EncoderStatus::Encoded) => {}
            Err(EncoderStatus::LimitReached) => break,
            Err(EncoderStatus::NeedMoreData) if next == clip.frames => ctx.flush(),
            Err(EncoderStatus::NeedMoreData) => {
                (clip.paint)(next, clip, &mut rgb);
                let mut frame = ctx.new_frame();
                let (y, u, v) = to_yuv420(&rgb, clip.width, clip.height);
                let cw = clip.width.div_ceil(2);
                frame.planes[0].copy_from_raw_u8(&y, clip.width, 1);
                frame.planes[1].copy_from_raw_u8(&u, cw, 1);
                frame.planes[2].copy_from_raw_u8(&v, cw, 1);
                ctx.send_frame(frame).map_err(failed)?;
                next += 1;
            }
            Err(e) => return Err(failed(e)),
        }
    }
    let first = blocks
        .first()
        .ok_or_else(|| "video encoder produced nothing".to_string())?;
    // AV1 in Matroska: the CodecPrivate is the av1C record followed by the
    // sequence header OBU.
    let mut private = ctx.container_sequence_header();
    private.extend_from_slice(
        obus(&first.data)
            .find(|o| o.kind == OBU_SEQUENCE_HEADER)
            .ok_or_else(|| "video encoder wrote no sequence header".to_string())?
            .bytes,
    );
    Ok((private, blocks))
}

/// One encoded frame (a temporal unit).
struct Block {
    frame: u64,
    key: bool,
    data: Vec<u8>,
}

/// BT.601 limited range, chroma averaged over each 2×2 square.
fn to_yuv420(rgb: &[u8], w: usize, h: usize) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    let px = |x: usize, y: usize| {
        let i = (y.min(h - 1) * w + x.min(w - 1)) * 3;
        (
            f32::from(rgb[i]),
            f32::from(rgb[i + 1]),
            f32::from(rgb[i + 2]),
        )
    };
    let mut y_plane = Vec::with_capacity(w * h);
    for y in 0..h {
        for x in 0..w {
            let (r, g, b) = px(x, y);
            y_plane.push((16.0 + (65.481 * r + 128.553 * g + 24.966 * b) / 255.0).round() as u8);
        }
    }
    let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
    let (mut u_plane, mut v_plane) = (Vec::with_capacity(cw * ch), Vec::with_capacity(cw * ch));
    for cy in 0..ch {
        for cx in 0..cw {
            let (mut r, mut g, mut b) = (0.0, 0.0, 0.0);
            for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
                let p = px(cx * 2 + dx, cy * 2 + dy);
                r += p.0 / 4.0;
                g += p.1 / 4.0;
                b += p.2 / 4.0;
            }
            u_plane.push((128.0 + (-37.797 * r - 74.203 * g + 112.0 * b) / 255.0).round() as u8);
            v_plane.push((128.0 + (112.0 * r - 93.786 * g - 18.214 * b) / 255.0).round() as u8);
        }
    }
    (y_plane, u_plane, v_plane)
}

const OBU_SEQUENCE_HEADER: u8 = 1;
const OBU_TEMPORAL_DELIMITER: u8 = 2;

/// One OBU of a temporal unit: its type and all its bytes (header included).
struct Obu<'a> {
    kind: u8,
    bytes: &'a [u8],
}

/// The OBUs of `data`, each with its size field (rav1e always writes one).
fn obus(data: &[u8]) -> impl Iterator<Item = Obu<'_>> {
    let mut pos = 0;
    std::iter::from_fn(move || {
        let header = *data.get(pos)?;
        let ext = usize::from(header & 0x04 != 0);
        if header & 0x02 == 0 {
            return None;
        }
        let mut at = pos + 1 + ext;
        let (mut size, mut shift) = (0usize, 0);
        loop {
            let b = *data.get(at)?;
            at += 1;
            size |= usize::from(b & 0x7F) << shift;
            shift += 7;
            if b & 0x80 == 0 || shift > 56 {
                break;
            }
        }
        let end = at.checked_add(size).filter(|e| *e <= data.len())?;
        let obu = Obu {
            kind: (header >> 3) & 0x0F,
            bytes: &data[pos..end],
        };
        pos = end;
        Some(obu)
    })
}

// Matroska element IDs (with their marker bits, as written).
const EBML: u32 = 0x1A45_DFA3;
const EBML_VERSION: u32 = 0x4286;
const EBML_READ_VERSION: u32 = 0x42F7;
const EBML_MAX_ID_LENGTH: u32 = 0x42F2;
const EBML_MAX_SIZE_LENGTH: u32 = 0x42F3;
const DOC_TYPE: u32 = 0x4282;
const DOC_TYPE_VERSION: u32 = 0x4287;
const DOC_TYPE_READ_VERSION: u32 = 0x4285;
const SEGMENT: u32 = 0x1853_8067;
const INFO: u32 = 0x1549_A966;
const TIMECODE_SCALE: u32 = 0x2A_D7B1;
const DURATION: u32 = 0x4489;
const MUXING_APP: u32 = 0x4D80;
const WRITING_APP: u32 = 0x5741;
const TRACKS: u32 = 0x1654_AE6B;
const TRACK_ENTRY: u32 = 0xAE;
const TRACK_NUMBER: u32 = 0xD7;
const TRACK_UID: u32 = 0x73C5;
const TRACK_TYPE: u32 = 0x83;
const FLAG_LACING: u32 = 0x9C;
const CODEC_ID: u32 = 0x86;
const CODEC_PRIVATE: u32 = 0x63A2;
const DEFAULT_DURATION: u32 = 0x23_E383;
const VIDEO: u32 = 0xE0;
const PIXEL_WIDTH: u32 = 0xB0;
const PIXEL_HEIGHT: u32 = 0xBA;
const CLUSTER: u32 = 0x1F43_B675;
const TIMECODE: u32 = 0xE7;
const SIMPLE_BLOCK: u32 = 0xA3;
const CUES: u32 = 0x1C53_BB6B;
const CUE_POINT: u32 = 0xBB;
const CUE_TIME: u32 = 0xB3;
const CUE_TRACK_POSITIONS: u32 = 0xB7;
const CUE_TRACK: u32 = 0xF7;
const CUE_CLUSTER_POSITION: u32 = 0xF1;

/// An element: its ID, its size in the fewest bytes (a reader sniffing the
/// header's first bytes finds the DocType) and the body.
fn element(out: &mut Vec<u8>, id: u32, body: &[u8]) {
    let id = id.to_be_bytes();
    let skip = id.iter().take_while(|b| **b == 0).count();
    out.extend_from_slice(&id[skip..]);
    let n = body.len() as u64;
    // A size of `len` bytes holds 7 × len bits, all ones being reserved.
    let len = (1..=8u32).find(|l| n < (1u64 << (7 * l)) - 1).unwrap_or(8);
    let marked = n | (1u64 << (7 * len));
    out.extend_from_slice(&marked.to_be_bytes()[(8 - len as usize)..]);
    out.extend_from_slice(body);
}

fn uint(out: &mut Vec<u8>, id: u32, v: u64) {
    let b = v.to_be_bytes();
    let skip = b.iter().take_while(|b| **b == 0).count().min(7);
    element(out, id, &b[skip..]);
}

fn nest(out: &mut Vec<u8>, id: u32, fill: impl FnOnce(&mut Vec<u8>)) {
    let mut body = Vec::new();
    fill(&mut body);
    element(out, id, &body);
}

/// The WebM file: header, info, one video track, a cluster per key frame and
/// the cues that point at them.
fn mux(clip: &Clip, private: &[u8], blocks: &[Block]) -> Vec<u8> {
    let ms = |frame: u64| frame * 1000 / clip.fps;
    let mut out = Vec::new();
    nest(&mut out, EBML, |e| {
        uint(e, EBML_VERSION, 1);
        uint(e, EBML_READ_VERSION, 1);
        uint(e, EBML_MAX_ID_LENGTH, 4);
        uint(e, EBML_MAX_SIZE_LENGTH, 8);
        element(e, DOC_TYPE, b"webm");
        uint(e, DOC_TYPE_VERSION, 4);
        uint(e, DOC_TYPE_READ_VERSION, 2);
    });
    let mut segment = Vec::new();
    nest(&mut segment, INFO, |e| {
        uint(e, TIMECODE_SCALE, 1_000_000);
        element(e, DURATION, &(clip.duration_ms() as f64).to_be_bytes());
        element(e, MUXING_APP, b"vizora");
        element(e, WRITING_APP, b"vizora");
    });
    nest(&mut segment, TRACKS, |e| {
        nest(e, TRACK_ENTRY, |t| {
            uint(t, TRACK_NUMBER, 1);
            uint(t, TRACK_UID, 1);
            uint(t, TRACK_TYPE, 1);
            uint(t, FLAG_LACING, 0);
            element(t, CODEC_ID, b"V_AV1");
            element(t, CODEC_PRIVATE, private);
            uint(t, DEFAULT_DURATION, 1_000_000_000 / clip.fps);
            nest(t, VIDEO, |v| {
                uint(v, PIXEL_WIDTH, clip.width as u64);
                uint(v, PIXEL_HEIGHT, clip.height as u64);
            });
        });
    });
    let mut cues = Vec::new();
    let mut i = 0;
    while i < blocks.len() {
        let start = ms(blocks[i].frame);
        cues.push((start, segment.len() as u64));
        let mut cluster = Vec::new();
        uint(&mut cluster, TIMECODE, start);
        loop {
            let b = &blocks[i];
            // Matroska drops the temporal delimiter; the block is the rest.
            let data: Vec<u8> = obus(&b.data)
                .filter(|o| o.kind != OBU_TEMPORAL_DELIMITER)
                .flat_map(|o| o.bytes.iter().copied())
                .collect();
            let mut block = vec![0x81];
            block.extend_from_slice(&((ms(b.frame) - start) as i16).to_be_bytes());
            block.push(if b.key { 0x80 } else { 0 });
            block.extend_from_slice(&data);
            element(&mut cluster, SIMPLE_BLOCK, &block);
            i += 1;
            if i == blocks.len() || blocks[i].key || ms(blocks[i].frame) - start > 30_000 {
                break;
            }
        }
        element(&mut segment, CLUSTER, &cluster);
    }
    nest(&mut segment, CUES, |e| {
        for (time, at) in cues {
            nest(e, CUE_POINT, |p| {
                uint(p, CUE_TIME, time);
                nest(p, CUE_TRACK_POSITIONS, |t| {
                    uint(t, CUE_TRACK, 1);
                    uint(t, CUE_CLUSTER_POSITION, at);
                });
            });
        }
    });
    element(&mut out, SEGMENT, &segment);
    out
}

/// Encodes every clip into `dir` under its file name.
pub fn write_all(dir: &std::path::Path) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for (file, name, clip) in clips() {
        let bytes = encode(&clip)?;
        let path = dir.join(file);
        std::fs::write(&path, &bytes).map_err(|e| format!("{}: {e}", path.display()))?;
        println!("{name}: {} ({} bytes)", path.display(), bytes.len());
    }
    Ok(())
}

/// The demo's clips: the file, the name in the library and how it is made.
pub fn clips() -> [(&'static str, &'static str, Clip); 2] {
    [
        (
            "sunrise.webm",
            "Morning · sunrise",
            Clip {
                width: 640,
                height: 360,
                fps: 15,
                frames: 90,
                paint: sunrise,
            },
        ),
        (
            "city.webm",
            "Evening · city lights",
            Clip {
                width: 640,
                height: 360,
                fps: 15,
                frames: 90,
                paint: city,
            },
        ),
    ]
}

fn mix(a: [f32; 3], b: [f32; 3], t: f32) -> [f32; 3] {
    [
        a[0] + (b[0] - a[0]) * t,
        a[1] + (b[1] - a[1]) * t,
        a[2] + (b[2] - a[2]) * t,
    ]
}

fn put(rgb: &mut [u8], i: usize, c: [f32; 3]) {
    for k in 0..3 {
        rgb[i * 3 + k] = c[k].clamp(0.0, 255.0) as u8;
    }
}

/// A sky that warms from night blue to morning gold as the sun rises.
fn sunrise(n: u64, clip: &Clip, rgb: &mut [u8]) {
    let t = n as f32 / clip.frames.max(1) as f32;
    let (w, h) = (clip.width as f32, clip.height as f32);
    let sun = (w * 0.5, h * (1.05 - 0.6 * t), h * 0.12);
    for y in 0..clip.height {
        for x in 0..clip.width {
            let v = y as f32 / h;
            let top = mix([20.0, 30.0, 90.0], [90.0, 160.0, 230.0], t);
            let bottom = mix([90.0, 40.0, 70.0], [250.0, 180.0, 90.0], t);
            let mut c = mix(top, bottom, v);
            let (dx, dy) = (x as f32 - sun.0, y as f32 - sun.1);
            let d = (dx * dx + dy * dy).sqrt();
            if d < sun.2 {
                c = [255.0, 230.0, 150.0];
            } else if d < sun.2 * 2.0 {
                c = mix([255.0, 210.0, 140.0], c, (d - sun.2) / sun.2);
            }
            if v > 0.8 {
                c = mix(c, [30.0, 50.0, 30.0], 0.85);
            }
            put(rgb, y * clip.width + x, c);
        }
    }
}

/// Lit windows on a dark skyline, blinking, with a band scrolling along it.
fn city(n: u64, clip: &Clip, rgb: &mut [u8]) {
    let (w, h) = (clip.width, clip.height);
    for y in 0..h {
        for x in 0..w {
            let col = x / 40;
            let roof = h / 3 + (col * 7919 % 5) * h / 12;
            let mut c = mix([10.0, 10.0, 40.0], [60.0, 30.0, 90.0], y as f32 / h as f32);
            if y >= roof {
                c = [25.0, 25.0, 35.0];
                let (wx, wy) = (x % 40, (y - roof) % 24);
                let lit = !(col as u64 * 31 + (y / 24) as u64 * 17 + n / 8).is_multiple_of(3);
                if (8..32).contains(&wx) && (6..16).contains(&wy) && lit {
                    c = [250.0, 210.0, 110.0];
                }
            }
            let band = (x as u64 + n * 8) % (w as u64) < (w as u64) / 3;
            if (h - 40..h - 16).contains(&y) {
                c = if band {
                    [240.0, 150.0, 90.0]
                } else {
                    [70.0, 40.0, 60.0]
                };
            }
            put(rgb, y * w + x, c);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gradient(n: u64, clip: &Clip, rgb: &mut [u8]) {
        for (i, px) in rgb.chunks_mut(3).enumerate() {
            px[0] = (i % clip.width * 4) as u8;
            px[1] = (n * 40) as u8;
            px[2] = 128;
        }
    }

    fn tiny() -> Clip {
        Clip {
            width: 64,
            height: 48,
            fps: 10,
            frames: 12,
            paint: gradient,
        }
    }

    #[test]
    fn every_frame_is_encoded_in_order_from_a_key_frame() {
        let (private, blocks) = frames(&tiny()).unwrap();
        assert_eq!(blocks.len(), 12);
        assert!(blocks[0].key);
        assert!(blocks.iter().enumerate().all(|(i, b)| b.frame == i as u64));
        // av1C (marker and version 1), then a sequence header OBU.
        assert_eq!(private[0], 0x81);
        assert_eq!((private[4] >> 3) & 0x0F, OBU_SEQUENCE_HEADER);
    }

    #[tokio::test]
    async fn a_clip_is_stored_like_an_upload_with_its_size_and_length() {
        let bytes = bytes::Bytes::from(encode(&tiny()).unwrap());
        let dir = tempfile::tempdir().unwrap();
        let chunks = futures::stream::iter([Ok::<_, std::io::Error>(bytes)]);
        let stored =
            crate::server::library::media::store_stream(dir.path(), Box::pin(chunks), u64::MAX)
                .await
                .unwrap();
        assert_eq!(stored.kind, crate::server::library::media::MediaKind::Webm);
        assert_eq!((stored.width, stored.height), (Some(64), Some(48)));
        assert_eq!(stored.duration_ms, Some(1200));
    }

    #[test]
    fn the_committed_videos_are_what_the_encoder_makes() {
        let committed = crate::server::tools::demo_day::VIDEOS;
        for ((file, name, clip), (committed_name, bytes)) in clips().into_iter().zip(committed) {
            assert_eq!(name, committed_name);
            assert!(
                encode(&clip).unwrap() == bytes,
                "{file} differs: run make demo-videos"
            );
        }
    }
}
