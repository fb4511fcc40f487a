//! Screenshots: a display answers the `screenshot` command with an image,
//! which is checked (PNG or JPEG, at most 768 KiB), stored under
//! `media/screens/<device>` (the latest only), and announced with a
//! `screenshot_taken` event; operators fetch it over REST.

use axum::{
    extract::State,
    http::header,
    response::{IntoResponse, Response},
};
use base64::Engine;
use futures::future::BoxFuture;

use crate::{
    error::AppError,
    model::EventBody,
    server::{
        core::{http::Path, now_ms, system, Core, CurrentUser},
        displays::Reports,
    },
};

/// The largest screenshot accepted, decoded.
const SCREENSHOT_MAX_BYTES: usize = 768 * 1024;

/// What the gateway hands up from the displays: screenshots are kept here.
pub struct Screenshots;

impl Reports for Screenshots {
    fn screenshot<'a>(
        &'a self,
        core: &'a Core,
        org_id: &'a str,
        device_id: &'a str,
        data_url: &'a str,
    ) -> BoxFuture<'a, Result<(), AppError>> {
        Box::pin(store(core, org_id, device_id, data_url))
    }
}

/// Checks and stores a screenshot a display sent (a data URL), replacing the
/// previous one, and tells operators with a `screenshot_taken` event.
pub async fn store(
    core: &Core,
    org_id: &str,
    device_id: &str,
    data_url: &str,
) -> Result<(), AppError> {
    let bytes = decode_data_url(data_url)?;
    let format = image::guess_format(&bytes)
        .map_err(|_| AppError::validation("A screenshot must be a PNG or JPEG image."))?;
    let mime = match format {
        image::ImageFormat::Png => "image/png",
        image::ImageFormat::Jpeg => "image/jpeg",
        _ => {
            return Err(AppError::validation(
                "A screenshot must be a PNG or JPEG image.",
            ))
        }
    };
    let (width, height) = image::ImageReader::with_format(std::io::Cursor::new(&bytes), format)
        .into_dimensions()
        .map_err(|_| AppError::validation("The screenshot image could not be read."))?;
    let dir = core.media_dir.join("screens");
    tokio::fs::create_dir_all(&dir)
        .await
        .map_err(|_| AppError::internal())?;
    // Written aside, then renamed: a reader never sees half a file.
    let tmp = dir.join(format!("{device_id}.tmp"));
    tokio::fs::write(&tmp, &bytes)
        .await
        .map_err(|_| AppError::internal())?;
    tokio::fs::rename(&tmp, dir.join(device_id))
        .await
        .map_err(|_| AppError::internal())?;
    let at = now_ms();
    let mut tx = system::begin(core, org_id).await?;
    sqlx::query(
        "INSERT INTO device_screenshots (device_id, org_id, at, mime, width, height) VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (device_id) DO UPDATE SET at = excluded.at, mime = excluded.mime, \
         width = excluded.width, height = excluded.height",
    )
    .bind(device_id)
    .bind(org_id)
    .bind(at)
    .bind(mime)
    .bind(i64::from(width))
    .bind(i64::from(height))
    .execute(&mut **tx)
    .await?;
    let body = EventBody::ScreenshotTaken {
        device_id: device_id.to_string(),
        at,
    };
    system::commit(core, org_id, tx, vec![body]).await
}

fn decode_data_url(data_url: &str) -> Result<Vec<u8>, AppError> {
    let b64 = data_url
        .strip_prefix("data:")
        .and_then(|rest| rest.split_once(";base64,"))
        .map(|(_, b64)| b64)
        .ok_or_else(|| {
            AppError::validation("A screenshot is sent as a data: URL with base64 content.")
        })?;
    if b64.len() > SCREENSHOT_MAX_BYTES / 3 * 4 + 4 {
        return Err(AppError::validation(format!(
            "A screenshot may be at most {} KiB.",
            SCREENSHOT_MAX_BYTES / 1024
        )));
    }
    base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .map_err(|_| AppError::validation("The screenshot's base64 content is not valid."))
}

/// The latest screenshot of a display (PNG or JPEG); 404 before the first.
#[utoipa::path(get, path = "/api/v1/devices/{id}/screenshot", tag = "health",
    params(("id" = String, Path)),
    responses((status = 200, description = "The image", content_type = "image/jpeg"), (status = 404, body = AppError)))]
pub(super) async fn screenshot(
    State(core): State<Core>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let mime: Option<String> = sqlx::query_scalar(
        "SELECT mime FROM device_screenshots WHERE org_id = $1 AND device_id = $2",
    )
    .bind(&user.org_id)
    .bind(&id)
    .fetch_optional(&core.db.pool)
    .await?;
    let none = || AppError::not_found("This display has sent no screenshot yet.");
    let mime = mime.ok_or_else(none)?;
    let bytes = tokio::fs::read(core.media_dir.join("screens").join(&id))
        .await
        .map_err(|_| none())?;
    Ok((
        [
            (header::CONTENT_TYPE, mime),
            (header::CACHE_CONTROL, "private, no-store".to_string()),
        ],
        bytes,
    )
        .into_response())
}
