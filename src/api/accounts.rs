use leptos::prelude::*;

use crate::{error::AppError, model::AccountsSnapshot};

/// The accounts the operator may see and the sessions they may end. Account
/// changes themselves go through `apply_op`, sent at once and never kept in
/// the outbox (some carry a password).
#[server(endpoint = "accounts/snapshot")]
pub async fn fetch_accounts() -> Result<AccountsSnapshot, AppError> {
    use super::ssr::*;
    respond(
        async {
            crate::server::auth::accounts::snapshot(&state()?.core.db, &current_user()?).await
        }
        .await,
    )
}
