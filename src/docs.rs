//! Pages for integrators: the landing page, the API reference (Redoc, served with its
//! bundle from the binary: no CDN), the problem pages every problem `type` resolves to,
//! and a favicon so browsers stop asking for a missing one.

use actix_web::http::header;
use actix_web::{get, web, HttpResponse};
use utoipa_redoc::Redoc;

use crate::error::{AppError, AppResult, ProblemCode};

/// Redoc 2.5.0's standalone bundle (MIT; assets/redoc/LICENSE), served at
/// `/assets/redoc.standalone.js`.
const REDOC_JS: &[u8] = include_bytes!("../assets/redoc/redoc.standalone.js");

const REDOC_HTML: &str = r#"<!DOCTYPE html>
<html lang="en">
  <head>
    <title>Gatehouse API reference</title>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <style>body { margin: 0; padding: 0; }</style>
  </head>
  <body>
    <div id="redoc-container"></div>
    <script src="/assets/redoc.standalone.js"></script>
    <script>
      Redoc.init($spec, $config, document.getElementById("redoc-container"));
    </script>
  </body>
</html>
"#;

fn html(body: String) -> HttpResponse {
    HttpResponse::Ok().content_type("text/html; charset=utf-8").body(body)
}

fn page(title: &str, content: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title>\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <style>body{{font-family:system-ui,sans-serif;max-width:48rem;margin:2rem auto;padding:0 1rem;line-height:1.5}}\
         code{{background:#f2f2f2;padding:0 .2em}}</style></head><body>{content}</body></html>\n"
    )
}

/// The landing page: where the reference, the document and the console are.
#[get("/")]
pub async fn index() -> HttpResponse {
    html(page(
        "Gatehouse",
        "<h1>Gatehouse</h1><p>The back office of a marketplace paying US independent contractors.</p><ul>\
         <li><a href=\"/api/v1/docs\">API reference</a> (the API is under <code>/api/v1</code>)</li>\
         <li><a href=\"/api/v1/openapi.json\">OpenAPI document</a></li>\
         <li><a href=\"/problems\">Problem codes</a> of error responses</li>\
         <li><a href=\"/console\">Operations console</a> (staff)</li>\
         <li><a href=\"/healthz\">/healthz</a>, <a href=\"/readyz\">/readyz</a>, <a href=\"/metrics\">/metrics</a></li></ul>",
    ))
}

/// The API reference (Redoc), a page for people; `/api/v1/openapi.json` is the document.
#[utoipa::path(
    tag = "meta",
    operation_id = "api_reference",
    responses((status = 200, description = "the API reference page", content_type = "text/html"))
)]
#[get("/docs")]
pub async fn reference() -> HttpResponse {
    html(Redoc::new("/api/v1/openapi.json").custom_html(REDOC_HTML).to_html())
}

#[get("/assets/redoc.standalone.js")]
pub async fn redoc_bundle() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/javascript; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=86400"))
        .body(REDOC_JS)
}

/// Every problem code and what it means.
#[get("/problems")]
pub async fn problems() -> HttpResponse {
    let items: String = ProblemCode::ALL
        .iter()
        .map(|c| format!("<li><a href=\"{}\"><code>{}</code></a>: {}</li>", c.type_uri(), c, c.explanation().trim()))
        .collect();
    html(page(
        "Problem codes",
        &format!(
            "<h1>Problem codes</h1><p>Every error of the <a href=\"/api/v1/docs\">Gatehouse API</a> is an RFC 9457 \
             problem document (<code>application/problem+json</code>) whose <code>code</code> is one of these and whose \
             <code>type</code> is this page's link for it.</p><ul>{items}</ul>"
        ),
    ))
}

/// The page a problem's `type` (`/problems/{code}`) resolves to.
#[get("/problems/{code}")]
pub async fn problem(code: web::Path<String>) -> AppResult<HttpResponse> {
    let code = ProblemCode::parse(&code).ok_or(AppError::NotFound)?;
    Ok(html(page(
        &format!("Problem: {code}"),
        &format!(
            "<h1><code>{code}</code></h1><p>{}</p><p>A problem document carries this code in <code>code</code>, a \
             human <code>detail</code> about the request at hand, and, for field errors, <code>errors</code> \
             (<code>field</code>, <code>code</code>, <code>message</code>). Quote the response's \
             <code>X-Request-Id</code> when asking about one.</p><p><a href=\"/problems\">All problem codes</a> · \
             <a href=\"/api/v1/docs\">API reference</a></p>",
            code.explanation().trim()
        ),
    )))
}

/// Browsers ask for it on every console page: answer without a body, cached a day.
#[get("/favicon.ico")]
pub async fn favicon() -> HttpResponse {
    HttpResponse::NoContent().insert_header((header::CACHE_CONTROL, "public, max-age=86400")).finish()
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(index)
        .service(redoc_bundle)
        .service(problems)
        .service(problem)
        .service(favicon)
        .service(crate::metrics::metrics);
}
