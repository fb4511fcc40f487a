use leptos::prelude::*;

use crate::{
    error::AppError,
    model::{AlertsSnapshot, DeviceDetail, DisplayCommand},
};

/// The alert rules, open alerts and those resolved in the last day (Health,
/// Settings, Overview), with the stream position they were read at.
#[server(endpoint = "health/alerts")]
pub async fn fetch_alerts() -> Result<AlertsSnapshot, AppError> {
    use super::ssr::*;
    respond(
        async {
            let user = current_user()?;
            crate::server::health::alerts::snapshot(&state()?.core, &user.org_id).await
        }
        .await,
    )
}

/// The display detail view: live heartbeat state, metric history, latest
/// proof of play and screenshot time.
#[server(endpoint = "health/device")]
pub async fn fetch_device_detail(device_id: String) -> Result<DeviceDetail, AppError> {
    use super::ssr::*;
    respond(
        async {
            let user = current_user()?;
            let state = state()?;
            crate::server::health::detail(&state.core, &state.gateway, &user.org_id, &device_id, 24)
                .await
        }
        .await,
    )
}

/// Sends a command (reload, screenshot) to a connected display.
#[server(endpoint = "health/command")]
pub async fn send_display_command(
    device_id: String,
    command: DisplayCommand,
) -> Result<String, AppError> {
    use super::ssr::*;
    respond(
        async {
            let user = current_user()?;
            let state = state()?;
            crate::server::health::command(&state.core, &state.gateway, &user, &device_id, command)
                .await
        }
        .await,
    )
}
