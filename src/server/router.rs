//! The whole HTTP surface: each domain's routes merged, the pages, the
//! OpenAPI document made of each domain's part, and the gate in front.

use axum::{
    extract::{DefaultBodyLimit, State},
    http::StatusCode,
    middleware,
    response::IntoResponse,
    routing::{any, get},
    Json, Router,
};
use leptos_axum::{generate_route_list, LeptosRoutes};
use tower_http::{
    request_id::{MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer},
    trace::TraceLayer,
};
use utoipa::{
    openapi::security::{ApiKey, ApiKeyValue, Http, HttpAuthScheme, SecurityScheme},
    Modify, OpenApi,
};

use super::{
    analytics, auth, compress, core, devices, displays, headers, health, library, schedules,
    state::AppState,
};
use crate::app::{shell, App};

use super::core::http::MAX_JSON_BODY;

pub fn router(state: AppState) -> Router {
    let routes = generate_route_list(App);
    let options = state.leptos_options.clone();
    let https = state.core.settings.https();
    Router::new()
        .merge(core::stream::routes())
        .merge(auth::routes())
        .merge(library::routes())
        .merge(devices::routes())
        .merge(schedules::routes())
        .merge(analytics::routes())
        .merge(displays::routes())
        .merge(health::routes())
        .route("/api/v1/openapi.json", get(openapi))
        // Under /api/ an unknown path is a JSON 404, never the console's page.
        .route("/api/{*rest}", any(core::http::api_not_found))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(core::metrics::handler))
        .leptos_routes_with_context(&state, routes, headers::provide_request_nonce, move || {
            shell(options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler_with_context::<
            AppState,
            _,
        >(headers::provide_request_nonce, shell))
        .layer(DefaultBodyLimit::max(MAX_JSON_BODY))
        .layer(middleware::from_fn(core::http::api_method_not_allowed))
        .layer(middleware::from_fn_with_state(
            state.core.clone(),
            auth::gate::gate,
        ))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(request_span)
                .on_response(log_slow),
        )
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(RequestIds))
        .layer(middleware::from_fn(compress::compress))
        .layer(middleware::from_fn(move |req, next| {
            headers::headers(https, req, next)
        }))
        .with_state(state)
}

/// Each request's id: the caller's `x-request-id` if it sent one, else a new
/// one; answered in the same header, and on every log line the request makes.
#[derive(Clone, Copy)]
struct RequestIds;

impl MakeRequestId for RequestIds {
    fn make_request_id<B>(&mut self, _: &axum::http::Request<B>) -> Option<RequestId> {
        axum::http::HeaderValue::from_str(&core::new_id())
            .ok()
            .map(RequestId::new)
    }
}

fn request_span<B>(req: &axum::http::Request<B>) -> tracing::Span {
    let id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-");
    tracing::info_span!("request", id, method = %req.method(), path = %req.uri().path())
}

/// A request that took over a second is worth a line of its own.
fn log_slow<B>(res: &axum::http::Response<B>, latency: std::time::Duration, _span: &tracing::Span) {
    if latency >= std::time::Duration::from_secs(1) {
        tracing::warn!(
            status = res.status().as_u16(),
            ms = latency.as_millis() as u64,
            "slow request"
        );
    }
}

async fn readyz(State(core): State<core::Core>) -> impl IntoResponse {
    match sqlx::query("SELECT 1").execute(&core.db.pool).await {
        Ok(_) => (StatusCode::OK, "ready"),
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "database unavailable"),
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Vizora API",
        description = "Manage a fleet of digital-signage displays. Every change is idempotent \
                       (Idempotency-Key) and versioned (If-Match); every change is also pushed \
                       on the event stream (GET /api/v1/stream, WebSocket) and the long-poll \
                       GET /api/v1/events."
    ),
    paths(core::stream::apply_op, core::stream::poll_handler),
    modifiers(&BearerAuth),
    security(("bearer" = []), ("session" = [])),
    tags((name = "changes", description = "The op path and the event log"))
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        if let Some(components) = openapi.components.as_mut() {
            components.add_security_scheme(
                "bearer",
                SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
            );
            components.add_security_scheme(
                "session",
                SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(auth::SESSION_COOKIE))),
            );
        }
    }
}

/// The OpenAPI document: the base, then each domain's part, then what every
/// operation shares (`core::apidoc`).
pub fn openapi_doc() -> serde_json::Value {
    let mut doc = ApiDoc::openapi();
    doc.merge(devices::DevicesDoc::openapi());
    doc.merge(displays::DisplaysDoc::openapi());
    doc.merge(library::LibraryDoc::openapi());
    doc.merge(health::HealthDoc::openapi());
    doc.merge(auth::AccountsDoc::openapi());
    doc.merge(schedules::SchedulesDoc::openapi());
    doc.merge(analytics::AnalyticsDoc::openapi());
    let mut rules = devices::doc_rules();
    rules.extend(library::doc_rules());
    rules.extend(auth::doc_rules());
    rules.extend(schedules::doc_rules());
    core::apidoc::finish(doc, &rules)
}

async fn openapi() -> Json<serde_json::Value> {
    Json(openapi_doc())
}
