use leptos::prelude::*;

use crate::{
    error::AppError,
    model::{ApiToken, CreatedToken, Role},
};

/// The organization's API tokens (admins only).
#[server(endpoint = "tokens/list")]
pub async fn list_tokens() -> Result<Vec<ApiToken>, AppError> {
    use super::ssr::*;
    respond(
        async { crate::server::auth::tokens::list(&state()?.core.db, &current_user()?).await }
            .await,
    )
}

/// Makes a token; the answer is the only time its secret is shown.
#[server(endpoint = "tokens/create")]
pub async fn create_token(name: String, role: Role) -> Result<CreatedToken, AppError> {
    use super::ssr::*;
    respond(
        async {
            crate::server::auth::tokens::create(&state()?.core.db, &current_user()?, &name, role)
                .await
        }
        .await,
    )
}

/// Revokes a token at once: its next request is refused.
#[server(endpoint = "tokens/revoke")]
pub async fn revoke_token(id: String) -> Result<(), AppError> {
    use super::ssr::*;
    use crate::model::{Change, Op};
    respond(
        async {
            let op = Op {
                op_id: crate::server::core::new_id(),
                base_version: None,
                change: Change::RevokeToken { token_id: id },
            };
            crate::server::core::change::apply(&state()?.core, &current_user()?, op).await?;
            Ok(())
        }
        .await,
    )
}
