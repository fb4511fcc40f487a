//! Images: their size, read with memory limits, and a PNG thumbnail.

use std::{
    io,
    path::{Path, PathBuf},
};

use tokio::sync::Semaphore;

use super::{upload::unique_temp_name, MAX_IMAGE_ALLOC, MAX_IMAGE_SIDE, THUMB_MAX};

/// Memory all image decodes together may use, in MiB: each decode takes its
/// share (from the image's size, read from its header) before it starts, so
/// parallel uploads queue rather than add up.
pub(super) const DECODE_BUDGET_MIB: usize = 512;
static DECODES: Semaphore = Semaphore::const_new(DECODE_BUDGET_MIB);

/// [`analyse_image`] on a blocking thread, within the decode budget.
pub(super) async fn analyse(
    path: PathBuf,
    thumbs: PathBuf,
    thumb: PathBuf,
) -> Result<ImageInfo, String> {
    let header = path.clone();
    let (width, height) = tokio::task::spawn_blocking(move || {
        image::ImageReader::open(&header)
            .and_then(|r| r.with_guessed_format())
            .map_err(|e| e.to_string())?
            .into_dimensions()
            .map_err(describe_image_error)
    })
    .await
    .map_err(|e| e.to_string())??;
    // The decoded pixels, an RGBA copy and the thumbnail's work: about 8 bytes a pixel.
    let mib = (u64::from(width) * u64::from(height) * 8) >> 20;
    let share = mib.clamp(1, (MAX_IMAGE_ALLOC >> 20).min(DECODE_BUDGET_MIB as u64)) as u32;
    let _permit = DECODES
        .acquire_many(share)
        .await
        .map_err(|e| e.to_string())?;
    tokio::task::spawn_blocking(move || analyse_image(&path, &thumbs, &thumb))
        .await
        .map_err(|e| e.to_string())?
}

pub(super) struct ImageInfo {
    pub(super) width: u32,
    pub(super) height: u32,
    pub(super) has_thumb: bool,
}

/// Reads an image's size and writes its thumbnail (blocking). The error is a
/// reason for operators.
pub(super) fn analyse_image(path: &Path, thumbs: &Path, thumb: &Path) -> Result<ImageInfo, String> {
    let reader = || -> Result<image::ImageReader<io::BufReader<std::fs::File>>, String> {
        let mut r = image::ImageReader::open(path)
            .and_then(|r| r.with_guessed_format())
            .map_err(|e| e.to_string())?;
        // Limits make a decompression bomb fail cleanly instead of exhausting
        // memory; dimensions are checked from the header before allocating.
        let mut limits = image::Limits::default();
        limits.max_image_width = Some(MAX_IMAGE_SIDE);
        limits.max_image_height = Some(MAX_IMAGE_SIDE);
        limits.max_alloc = Some(MAX_IMAGE_ALLOC);
        r.limits(limits);
        Ok(r)
    };

    if thumb.exists() {
        // Decoded successfully before; the header is enough now.
        let (width, height) = reader()?.into_dimensions().map_err(describe_image_error)?;
        return Ok(ImageInfo {
            width,
            height,
            has_thumb: true,
        });
    }

    let img = reader()?.decode().map_err(describe_image_error)?;
    let (width, height) = (img.width(), img.height());
    let has_thumb = match write_thumbnail(&img, thumbs, thumb) {
        Ok(()) => true,
        Err(e) => {
            // The image itself is fine; a missing thumbnail only costs the UI
            // a preview, so the upload still succeeds.
            tracing::warn!(path = %thumb.display(), error = %e, "could not write thumbnail");
            false
        }
    };
    Ok(ImageInfo {
        width,
        height,
        has_thumb,
    })
}

pub(super) fn describe_image_error(e: image::ImageError) -> String {
    match e {
        image::ImageError::Limits(_) => {
            format!("it is too large to process (at most {MAX_IMAGE_SIDE}×{MAX_IMAGE_SIDE} pixels)")
        }
        other => other.to_string(),
    }
}

pub(super) fn write_thumbnail(
    img: &image::DynamicImage,
    thumbs: &Path,
    thumb: &Path,
) -> Result<(), String> {
    std::fs::create_dir_all(thumbs).map_err(|e| e.to_string())?;
    let small = if img.width() > THUMB_MAX || img.height() > THUMB_MAX {
        img.thumbnail(THUMB_MAX, THUMB_MAX)
    } else {
        img.clone()
    };
    // 8-bit RGB(A) is always encodable as PNG, whatever the source held.
    let small = if small.color().has_alpha() {
        image::DynamicImage::ImageRgba8(small.to_rgba8())
    } else {
        image::DynamicImage::ImageRgb8(small.to_rgb8())
    };
    // Written under a temp name and renamed, because an existing thumbnail is
    // trusted as complete and never regenerated.
    let tmp = thumbs.join(unique_temp_name(".png.part"));
    let result = small
        .save_with_format(&tmp, image::ImageFormat::Png)
        .map_err(|e| e.to_string())
        .and_then(|()| std::fs::rename(&tmp, thumb).map_err(|e| e.to_string()));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}
