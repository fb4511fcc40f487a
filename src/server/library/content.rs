//! The content library on the server: reads scoped to one organization, and
//! the validated writes the change path calls inside its transaction. The bytes
//! of uploads live in `server::media`; a row here refers to them by sha256.

use sqlx::{any::AnyRow, Any, Row, Transaction};

use crate::{
    error::AppError,
    model::{
        validate_content_name, validate_reload, validate_tags, validate_url, validate_window,
        Content, ContentKind, ContentPatch, EventBody, MediaInfo,
    },
    server::core::{change::check_version, ids::validate_id, now_ms, Db},
};

const COLUMNS: &str = "id, name, kind, mime, sha256, size, width, height, duration_ms, url, \
                       reload_seconds, tags, valid_from, valid_until, created_at, version";

fn content_from_row(row: &AnyRow) -> Result<Content, AppError> {
    let tags: String = row.get("tags");
    let kind: String = row.get("kind");
    Ok(Content {
        id: row.get("id"),
        name: row.get("name"),
        kind: ContentKind::parse(&kind).ok_or_else(AppError::internal)?,
        mime: row.get("mime"),
        sha256: row.get("sha256"),
        size: row.get("size"),
        width: row.get("width"),
        height: row.get("height"),
        duration_ms: row.get("duration_ms"),
        url: row.get("url"),
        reload_seconds: row.get("reload_seconds"),
        tags: serde_json::from_str(&tags).unwrap_or_default(),
        valid_from: row.get("valid_from"),
        valid_until: row.get("valid_until"),
        created_at: row.get("created_at"),
        version: row.get("version"),
    })
}

/// The whole library, newest first.
pub async fn list(db: &Db, org_id: &str) -> Result<Vec<Content>, AppError> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM content WHERE org_id = $1 ORDER BY created_at DESC, id"
    ))
    .bind(org_id)
    .fetch_all(&db.pool)
    .await?;
    rows.iter().map(content_from_row).collect()
}

pub async fn get(db: &Db, org_id: &str, id: &str) -> Result<Option<Content>, AppError> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM content WHERE org_id = $1 AND id = $2"
    ))
    .bind(org_id)
    .bind(id)
    .fetch_optional(&db.pool)
    .await?;
    row.as_ref().map(content_from_row).transpose()
}

/// The items with these ids (a playlist's), in one query.
pub async fn get_many(db: &Db, org_id: &str, ids: &[&str]) -> Result<Vec<Content>, AppError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let marks: Vec<String> = (0..ids.len()).map(|i| format!("${}", i + 2)).collect();
    let sql = format!(
        "SELECT {COLUMNS} FROM content WHERE org_id = $1 AND id IN ({})",
        marks.join(", ")
    );
    let mut query = sqlx::query(&sql).bind(org_id);
    for id in ids {
        query = query.bind(*id);
    }
    let rows = query.fetch_all(&db.pool).await?;
    rows.iter().map(content_from_row).collect()
}

pub(super) async fn find(
    tx: &mut Transaction<'_, Any>,
    org_id: &str,
    id: &str,
) -> Result<Option<Content>, AppError> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM content WHERE org_id = $1 AND id = $2"
    ))
    .bind(org_id)
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?;
    row.as_ref().map(content_from_row).transpose()
}

/// Bytes the organization's media take, each stored file once (as the
/// Content page counts them).
pub async fn bytes_used(db: &Db, org_id: &str) -> Result<i64, AppError> {
    let used: i64 = sqlx::query_scalar(
        "SELECT CAST(COALESCE(SUM(size), 0) AS BIGINT) FROM \
         (SELECT DISTINCT sha256, size FROM content WHERE org_id = $1 AND sha256 IS NOT NULL) AS files",
    )
    .bind(org_id)
    .fetch_one(&db.pool)
    .await?;
    Ok(used)
}

/// Whether any row of any organization still refers to these bytes.
pub async fn sha_in_use(db: &Db, sha256: &str) -> Result<bool, AppError> {
    let row = sqlx::query("SELECT id FROM content WHERE sha256 = $1 LIMIT 1")
        .bind(sha256)
        .fetch_optional(&db.pool)
        .await?;
    Ok(row.is_some())
}

fn gone() -> AppError {
    AppError::not_found("This item is no longer in the library; someone may have deleted it.")
}

async fn insert(tx: &mut Transaction<'_, Any>, org_id: &str, c: &Content) -> Result<(), AppError> {
    let taken = sqlx::query("SELECT id FROM content WHERE id = $1")
        .bind(&c.id)
        .fetch_optional(&mut **tx)
        .await?;
    if taken.is_some() {
        return Err(AppError::conflict("An item with this id already exists."));
    }
    sqlx::query(
        "INSERT INTO content (id, org_id, name, kind, mime, sha256, size, width, height, duration_ms, \
         url, reload_seconds, tags, valid_from, valid_until, version, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $17)",
    )
    .bind(&c.id)
    .bind(org_id)
    .bind(&c.name)
    .bind(c.kind.as_str())
    .bind(&c.mime)
    .bind(&c.sha256)
    .bind(c.size)
    .bind(c.width)
    .bind(c.height)
    .bind(c.duration_ms)
    .bind(&c.url)
    .bind(c.reload_seconds)
    .bind(serde_json::to_string(&c.tags).unwrap_or_else(|_| "[]".into()))
    .bind(c.valid_from)
    .bind(c.valid_until)
    .bind(c.version)
    .bind(c.created_at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn create_web_page(
    tx: &mut Transaction<'_, Any>,
    org_id: &str,
    id: &str,
    name: &str,
    url: &str,
    reload_seconds: i64,
    tags: &[String],
) -> Result<EventBody, AppError> {
    validate_id(id, "A content id")?;
    let content = Content {
        id: id.to_string(),
        name: validate_content_name(name).map_err(AppError::validation)?,
        kind: ContentKind::Web,
        mime: None,
        sha256: None,
        size: None,
        width: None,
        height: None,
        duration_ms: None,
        url: Some(validate_url(url).map_err(AppError::validation)?),
        reload_seconds: Some(validate_reload(reload_seconds).map_err(AppError::validation)?),
        tags: validate_tags(tags).map_err(AppError::validation)?,
        valid_from: None,
        valid_until: None,
        created_at: now_ms(),
        version: 1,
    };
    insert(tx, org_id, &content).await?;
    Ok(EventBody::ContentUpserted { content })
}

/// A stored upload becomes a library item (the server makes this op itself).
pub async fn add_media(
    tx: &mut Transaction<'_, Any>,
    org_id: &str,
    id: &str,
    name: &str,
    media: &MediaInfo,
) -> Result<EventBody, AppError> {
    validate_id(id, "A content id")?;
    let content = Content {
        id: id.to_string(),
        name: validate_content_name(name).map_err(AppError::validation)?,
        kind: media.kind,
        mime: Some(media.mime.clone()),
        sha256: Some(media.sha256.clone()),
        size: Some(media.size),
        width: media.width,
        height: media.height,
        duration_ms: media.duration_ms,
        url: None,
        reload_seconds: None,
        tags: Vec::new(),
        valid_from: None,
        valid_until: None,
        created_at: now_ms(),
        version: 1,
    };
    insert(tx, org_id, &content).await?;
    Ok(EventBody::ContentUpserted { content })
}

pub async fn update(
    tx: &mut Transaction<'_, Any>,
    org_id: &str,
    id: &str,
    base_version: Option<i64>,
    patch: &ContentPatch,
) -> Result<EventBody, AppError> {
    let current = find(tx, org_id, id).await?.ok_or_else(gone)?;
    check_version(
        &current,
        current.version,
        &current.name,
        "an item",
        base_version,
    )?;
    if patch.fields().is_empty() {
        return Err(AppError::validation("The change sets no field."));
    }
    let mut patch = patch.clone();
    if let Some(name) = &patch.name {
        patch.name = Some(validate_content_name(name).map_err(AppError::validation)?);
    }
    if let Some(tags) = &patch.tags {
        patch.tags = Some(validate_tags(tags).map_err(AppError::validation)?);
    }
    if patch.url.is_some() || patch.reload_seconds.is_some() {
        if current.kind != ContentKind::Web {
            return Err(AppError::validation(
                "Only web pages have a URL and a reload interval.",
            ));
        }
        if let Some(url) = &patch.url {
            patch.url = Some(validate_url(url).map_err(AppError::validation)?);
        }
        if let Some(r) = patch.reload_seconds {
            validate_reload(r).map_err(AppError::validation)?;
        }
    }
    let mut content = current;
    patch.apply_to(&mut content);
    validate_window(content.valid_from, content.valid_until).map_err(AppError::validation)?;
    content.version += 1;
    sqlx::query(
        "UPDATE content SET name = $1, tags = $2, valid_from = $3, valid_until = $4, url = $5, \
         reload_seconds = $6, version = $7, updated_at = $8 WHERE org_id = $9 AND id = $10",
    )
    .bind(&content.name)
    .bind(serde_json::to_string(&content.tags).unwrap_or_else(|_| "[]".into()))
    .bind(content.valid_from)
    .bind(content.valid_until)
    .bind(&content.url)
    .bind(content.reload_seconds)
    .bind(content.version)
    .bind(now_ms())
    .bind(org_id)
    .bind(id)
    .execute(&mut **tx)
    .await?;
    Ok(EventBody::ContentUpserted { content })
}

/// Refused while a playlist uses the item, naming the playlists.
pub async fn delete(
    tx: &mut Transaction<'_, Any>,
    org_id: &str,
    id: &str,
    base_version: Option<i64>,
) -> Result<EventBody, AppError> {
    let current = find(tx, org_id, id).await?.ok_or_else(gone)?;
    check_version(
        &current,
        current.version,
        &current.name,
        "an item",
        base_version,
    )?;
    let used_in = super::playlists::names_using(tx, org_id, id).await?;
    if !used_in.is_empty() {
        return Err(AppError::validation(format!(
            "“{}” is used in {}: {}. Remove it there first.",
            current.name,
            if used_in.len() == 1 {
                "a playlist"
            } else {
                "playlists"
            },
            used_in
                .iter()
                .map(|n| format!("“{n}”"))
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    sqlx::query("DELETE FROM content WHERE org_id = $1 AND id = $2")
        .bind(org_id)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(EventBody::ContentDeleted {
        content_id: id.to_string(),
        version: current.version + 1,
    })
}
