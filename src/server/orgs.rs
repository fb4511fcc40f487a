//! Organizations (tenants): a new one comes with its default alert rules.

use super::{
    core::{new_id, now_ms, Db, ExecuteWrite},
    health::rules,
};

pub async fn create_organization(db: &Db, name: &str) -> Result<String, sqlx::Error> {
    let id = new_id();
    sqlx::query("INSERT INTO organizations (id, name, epoch, last_seq, created_at) VALUES ($1, $2, $3, 0, $4)")
        .bind(&id)
        .bind(name)
        .bind(new_id())
        .bind(now_ms())
        .execute_write(db)
        .await?;
    rules::create_default_rules(db, &id).await?;
    Ok(id)
}

/// The named organization, or the first one: `(id, name)`.
pub async fn find(db: &Db, name: Option<&str>) -> Result<(String, String), String> {
    let row: Option<(String, String)> = match name {
        Some(name) => {
            sqlx::query_as("SELECT id, name FROM organizations WHERE name = $1")
                .bind(name)
                .fetch_optional(&db.pool)
                .await
        }
        None => {
            sqlx::query_as("SELECT id, name FROM organizations ORDER BY created_at, id LIMIT 1")
                .fetch_optional(&db.pool)
                .await
        }
    }
    .map_err(|e| e.to_string())?;
    row.ok_or_else(|| match name {
        Some(name) => format!("no organization named '{name}'"),
        None => "no organization yet: run `vizora serve` once to create one".into(),
    })
}
