use actix_web::{get, put, web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::service::{self, Redated, SettingView};
use crate::auth::{Admin, Staff};
use crate::error::{AppResult, Problem};
use crate::AppState;

#[derive(Serialize, ToSchema)]
pub struct SettingsView {
    pub settings: Vec<SettingView>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SettingsChange {
    /// Setting key → new value (a whole number; the time zone as a string). Keys left
    /// out keep their value.
    #[schema(schema_with = change_schema, example = json!({"hold_days": 3, "payer_time_zone": "America/New_York"}))]
    pub settings: serde_json::Map<String, serde_json::Value>,
}

/// The document's schema of `settings`, built from the registry: each setting with its
/// type and range, at least one, no other key. What no schema states (one setting
/// against another, a time zone name that exists) is a 422 naming the setting.
fn change_schema() -> utoipa::openapi::schema::Object {
    use utoipa::openapi::schema::{AdditionalProperties, ObjectBuilder, Type};
    let mut object = ObjectBuilder::new()
        .description(Some("Setting key → new value. Keys left out keep their value."))
        .min_properties(Some(1))
        .additional_properties(Some(AdditionalProperties::FreeForm(false)));
    for def in super::registry::ALL {
        let property = match def.kind {
            super::registry::Kind::Int { min, max, unit, .. } => ObjectBuilder::new()
                .schema_type(Type::Integer)
                .minimum(Some(min))
                .maximum(Some(max))
                .description(Some(format!("{} ({unit})", def.description))),
            super::registry::Kind::TimeZone { .. } => ObjectBuilder::new()
                .schema_type(Type::String)
                .min_length(Some(1))
                .max_length(Some(64))
                .description(Some(def.description)),
        };
        object = object.property(def.key, property);
    }
    object.build()
}

#[derive(Serialize, ToSchema)]
pub struct SettingsUpdated {
    pub settings: Vec<SettingView>,
    /// Pending items the change re-dated.
    pub redated: Redated,
}

/// The business settings in force, with their ranges and seeds (admins).
#[utoipa::path(
    tag = "admin",
    responses((status = 200, body = SettingsView), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("bearer" = []))
)]
#[get("/admin/settings")]
pub async fn get_settings(admin: Staff<Admin>, state: web::Data<AppState>) -> AppResult<HttpResponse> {
    let _ = admin;
    let st = state.clone();
    let settings = state.db.read(move |c| service::view(c, &st)).await?;
    Ok(HttpResponse::Ok().json(SettingsView { settings }))
}

/// Change business settings (admins). Validated with the same ranges as at start (422
/// with one error per key), audited before and after, in force on every instance at
/// once; pending items are re-dated as each setting's `applies_to_pending` says.
#[utoipa::path(
    tag = "admin",
    request_body = SettingsChange,
    responses(
        (status = 200, body = SettingsUpdated),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 422, body = Problem)
    ),
    security(("bearer" = []))
)]
#[put("/admin/settings")]
pub async fn put_settings(
    admin: Staff<Admin>,
    state: web::Data<AppState>,
    body: web::Json<SettingsChange>,
) -> AppResult<HttpResponse> {
    let changes = body.into_inner().settings;
    let (settings, redated) = crate::blocking(move || service::update(&state, &admin.ctx, admin.id, changes)).await?;
    Ok(HttpResponse::Ok().json(SettingsUpdated { settings, redated }))
}

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(get_settings).service(put_settings);
}
