use leptos::prelude::*;

use crate::{
    error::AppError,
    model::{ActivityPage, AnalyticsQuery, AnalyticsView},
};

/// Every report the Analytics page shows for `query`, read in one snapshot
/// with the stream position it is at.
#[server(endpoint = "analytics/view")]
pub async fn fetch_analytics(query: AnalyticsQuery) -> Result<AnalyticsView, AppError> {
    use super::ssr::*;
    respond(
        async {
            let user = current_user()?;
            let now = crate::server::core::now_ms();
            crate::server::analytics::page::view(&state()?.core.db, &user.org_id, query, now).await
        }
        .await,
    )
}

/// What the activity list asks for: a page of operators' changes older than
/// `before` (a previous page's `next`), by person, entity kind and local day.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct ActivityArgs {
    pub before: Option<i64>,
    pub actor: Option<String>,
    pub entity: Option<String>,
    /// First and last local day (inclusive) in `tz`.
    pub first: Option<chrono::NaiveDate>,
    pub last: Option<chrono::NaiveDate>,
    pub tz: String,
    pub limit: i64,
}

/// Who changed what, newest first, a page at a time.
#[server(endpoint = "analytics/activity")]
pub async fn fetch_activity(args: ActivityArgs) -> Result<ActivityPage, AppError> {
    use super::ssr::*;
    respond(
        async {
            use crate::{model::day_start, model::zone, server::analytics::activity};
            let user = current_user()?;
            let tz = zone(&args.tz);
            let after = |d: chrono::NaiveDate| d.succ_opt().map(|n| day_start(tz, n));
            let filter = activity::ActivityFilter {
                before: args.before,
                actor: args.actor.filter(|a| !a.is_empty()),
                entity: args.entity.filter(|e| !e.is_empty()),
                from: args.first.map(|d| day_start(tz, d)),
                to: args.last.and_then(after),
            };
            let limit = args.limit.clamp(1, 200);
            activity::list(&state()?.core.db, &user.org_id, &filter, limit).await
        }
        .await,
    )
}
