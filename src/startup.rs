//! Wiring: state, routes, middleware, the server and its background workers.

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::{Server, Service};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::{web, App, HttpMessage, HttpRequest, HttpResponse, HttpServer};
use tracing::Instrument;
use utoipa::OpenApi;
use utoipa_actix_web::{scope, AppExt};

use crate::auth::tokens::JwtKeys;
use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::crypto::FieldCipher;
use crate::db::Db;
use crate::error::{self, AppError};
use crate::notifications::{mailer::Mailer, worker};
use crate::openapi::{ApiDoc, OpenApiJson, Routes};
use crate::storage::FileStore;
use crate::telemetry::{Access, Actor, RequestId};

/// Everything a handler, job or CLI command needs, built once at start.
pub struct AppState {
    pub db: Db,
    pub config: Arc<Config>,
    pub clock: Arc<dyn Clock>,
    pub jwt: JwtKeys,
    pub cipher: FieldCipher,
    pub files: Arc<dyn FileStore>,
    /// The background loops of this instance, for `/readyz`.
    pub workers: crate::health::Workers,
    pub metrics: crate::metrics::Metrics,
}

impl AppState {
    /// Connects to the database and applies pending migrations.
    pub fn init(config: Config, clock: Arc<dyn Clock>) -> anyhow::Result<Self> {
        register_capabilities();
        let db = Db::connect_with(&config.database, config.db_pool_size, config.sqlite_busy_timeout_ms)?;
        let applied = db.migrate()?;
        if !applied.is_empty() {
            tracing::info!(?applied, "migrations applied");
        }
        let cipher = config.keys.encryption.cipher();
        let files = config.file_store.open(cipher.clone())?;
        let mut jwt = JwtKeys::new(&config.keys.jwt_secret);
        if let Some(previous) = &config.keys.jwt_previous {
            jwt = jwt.with_previous(&previous.secret, previous.until.timestamp());
        }
        // The business settings' first values come from the environment (docs/settings.md).
        let seeded = db.tx_sync(|conn| crate::settings::service::seed(conn, clock.now(), &config.settings))?;
        if seeded > 0 {
            tracing::info!(seeded, "settings seeded from the environment");
        }
        Ok(Self {
            db,
            jwt,
            cipher,
            files,
            clock,
            workers: crate::health::Workers::new(&config),
            metrics: crate::metrics::Metrics::new(),
            config: Arc::new(config),
        })
    }

    /// The business settings in force (one small read; inside a transaction use
    /// `crate::settings::current` with its connection).
    pub fn settings(&self) -> crate::error::AppResult<crate::settings::Settings> {
        self.db.read_sync(|conn| crate::settings::current(conn, self))
    }

    pub fn with_system_clock(config: Config) -> anyhow::Result<Self> {
        Self::init(config, Arc::new(SystemClock))
    }
}

/// What capabilities provide to the modules below them, registered here so those
/// modules depend on none of them (no import circles): the readiness providers (in the
/// order their requirements are listed) and who may read a review item's file.
fn register_capabilities() {
    crate::readiness::register_provider(&crate::onboarding::readiness::Onboarding);
    crate::readiness::register_provider(&crate::credentials::readiness::Credentials);
    crate::readiness::register_provider(&crate::tax::readiness::Tax);
    crate::readiness::register_provider(&crate::payouts::readiness::Payouts);
    crate::readiness::register_provider(&crate::quality::readiness::Quality);
    crate::files::service::register_claimed_file_check(
        "work_authorization_documents",
        crate::onboarding::service::reviewer_holds_file,
    );
    crate::files::service::register_claimed_file_check("credentials", crate::credentials::service::reviewer_holds_file);
}

/// Registers every API route under `/api/v1`.
fn api(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.configure(crate::auth::routes::configure)
        .configure(crate::onboarding::routes::configure)
        .configure(crate::credentials::routes::configure)
        .configure(crate::tax::routes::configure)
        .configure(crate::readiness::routes::configure)
        .configure(crate::decisions::routes::configure)
        .configure(crate::files::routes::configure)
        .configure(crate::jobs::routes::configure)
        .configure(crate::audit::routes::configure)
        .configure(crate::notifications::routes::configure)
        .configure(crate::qualifications::routes::configure)
        .configure(crate::work::routes::configure)
        .configure(crate::quality::routes::configure)
        .configure(crate::ledger::routes::configure)
        .configure(crate::payouts::routes::configure)
        .configure(crate::settings::routes::configure)
        .service(crate::openapi::openapi_json)
        .service(crate::docs::reference);
}

/// The OpenAPI document as served: [`openapi_document`] completed by
/// [`crate::openapi::finish`].
pub fn served_openapi_document() -> serde_json::Value {
    crate::openapi::finish(openapi_document())
}

/// Anything no route answered: a known path asked with another method is 405 with
/// `Allow`; `/api/v1` itself leads to the reference; the rest is 404.
async fn fallback(req: HttpRequest, routes: web::Data<Routes>) -> Result<HttpResponse, AppError> {
    let path = req.path();
    if path == "/api/v1" || path == "/api/v1/" {
        return Ok(HttpResponse::Found().insert_header((header::LOCATION, "/api/v1/docs")).finish());
    }
    match routes.allowed(path) {
        Some(allow) => Err(AppError::MethodNotAllowed(allow)),
        None => Err(AppError::NotFound),
    }
}

/// The OpenAPI document of exactly the routes [`api`] serves.
pub fn openapi_document() -> utoipa::openapi::OpenApi {
    let (_, doc) = App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .service(crate::health::healthz)
        .service(crate::health::readyz)
        .service(scope("/api/v1").configure(api))
        .split_for_parts();
    doc
}

pub struct Application {
    port: u16,
    server: Server,
    pub state: web::Data<AppState>,
}

/// Hands the heap memory freed so far back to the operating system. Building each
/// worker's routes builds (and drops) the OpenAPI description of every operation, and
/// glibc keeps what a thread freed in that thread's arena: 41 MiB of a fresh server's
/// 79 MiB resident were such freed memory (measured with `malloc_trim` called from gdb:
/// 79 → 38 MiB). `malloc_trim` releases it in every arena; elsewhere this does nothing.
fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free pages of the allocator's own arenas to the
    // kernel; it takes no pointer and is thread-safe (it locks each arena).
    unsafe {
        libc::malloc_trim(0);
    }
}

impl Application {
    /// Binds the listener and starts the outbox worker; `run` then serves.
    pub fn build(state: AppState, listener: TcpListener) -> anyhow::Result<Self> {
        let port = listener.local_addr()?.port();
        let state = web::Data::new(state);
        let mailer = Arc::new(Mailer::from_config(&state.config.mail, &state.config.data_dir)?);
        worker::spawn(state.clone().into_inner(), mailer);
        crate::jobs::spawn(state.clone().into_inner());
        let served = served_openapi_document();
        let routes = web::Data::new(Routes::of(&served));
        let doc = web::Data::new(OpenApiJson(serde_json::to_string(&served)?));
        let data = state.clone();
        let max_json = state.config.max_json_bytes;
        let server = HttpServer::new(move || {
            // The factory runs on each worker thread: its handlers' `blocking` calls are
            // admitted by this database's permits.
            data.db.admit_on_this_thread();
            let (app, _) = App::new()
                .into_utoipa_app()
                .service(crate::health::healthz)
                .service(crate::health::readyz)
                .service(scope("/api/v1").configure(api))
                .split_for_parts();
            let app = app
                .configure(crate::console::configure)
                .configure(crate::console::links::configure)
                .configure(crate::docs::configure)
                .app_data(data.clone())
                .app_data(routes.clone())
                .app_data(doc.clone())
                .app_data(web::JsonConfig::default().limit(max_json).error_handler(error::json_error))
                .app_data(web::PayloadConfig::default().limit(max_json))
                .app_data(web::QueryConfig::default().error_handler(error::query_error))
                .app_data(web::PathConfig::default().error_handler(error::path_error))
                .default_service(web::to(fallback))
                // Inside the access log below, so a refused request is logged like any answer.
                .wrap(actix_web::middleware::from_fn(crate::wire::refuse_nul))
                .wrap_fn(|req, srv| {
                    let started = std::time::Instant::now();
                    let request_id =
                        RequestId::from_header(req.headers().get("x-request-id").and_then(|v| v.to_str().ok()));
                    req.extensions_mut().insert(request_id.clone());
                    let method = req.method().to_string();
                    let span = tracing::info_span!("request", request_id = %request_id.0);
                    let fut = srv.call(req).instrument(span);
                    async move {
                        let mut res = fut.await?;
                        let route = res.request().match_pattern().unwrap_or_else(|| "unmatched".into());
                        let actor_id = res.request().extensions().get::<Actor>().map(|a| a.0);
                        let status = res.status().as_u16();
                        let duration = started.elapsed();
                        if let Some(state) = res.request().app_data::<web::Data<AppState>>() {
                            state.metrics.observe_request(&method, &route, status, duration);
                        }
                        Access {
                            method: &method,
                            route: &route,
                            status,
                            duration,
                            request_id: &request_id.0,
                            actor_id,
                        }
                        .log();
                        let headers = res.headers_mut();
                        if let Ok(id) = HeaderValue::from_str(&request_id.0) {
                            headers.insert(HeaderName::from_static("x-request-id"), id);
                        }
                        // Every answer may carry personal data: no cache keeps it, and no
                        // browser guesses a type other than the one sent. (A response
                        // that chose its own caching, the console stylesheet, keeps it.)
                        if !headers.contains_key(header::CACHE_CONTROL) {
                            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
                        }
                        headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
                        Ok(res)
                    }
                });
            release_freed_memory();
            app
        })
        .listen(listener)?
        .run();
        Ok(Self { port, server, state })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    pub async fn run(self) -> std::io::Result<()> {
        self.server.await
    }
}
