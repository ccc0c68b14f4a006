//! Reads a multipart form into text fields and file parts, enforcing size limits while
//! streaming so an oversized upload is refused before it is held in memory.

use std::collections::HashMap;

use actix_multipart::Multipart;
use futures_util::TryStreamExt;

use crate::error::{AppError, AppResult, ProblemCode};

pub struct Upload {
    pub bytes: Vec<u8>,
}

#[derive(Default)]
pub struct Form {
    pub text: HashMap<String, String>,
    pub files: HashMap<String, Upload>,
}

impl Form {
    pub fn text(&self, name: &str) -> Option<&str> {
        self.text.get(name).map(|s| s.trim()).filter(|s| !s.is_empty())
    }
}

const MAX_TEXT_FIELD: usize = 4096;
const MAX_PARTS: usize = 32;

pub async fn read_form(mut payload: Multipart, max_file_bytes: usize) -> AppResult<Form> {
    let mut form = Form::default();
    let mut parts = 0;
    while let Some(mut field) =
        payload.try_next().await.map_err(|e| AppError::invalid(ProblemCode::MalformedMultipart, format!("{e}")))?
    {
        parts += 1;
        if parts > MAX_PARTS {
            return Err(AppError::invalid(ProblemCode::MalformedMultipart, "too many parts"));
        }
        let name = field.name().unwrap_or_default().to_string();
        let is_file = field.content_disposition().and_then(|cd| cd.get_filename()).is_some();
        let limit = if is_file { max_file_bytes } else { MAX_TEXT_FIELD };
        let mut bytes = Vec::new();
        while let Some(chunk) =
            field.try_next().await.map_err(|e| AppError::invalid(ProblemCode::MalformedMultipart, format!("{e}")))?
        {
            if bytes.len() + chunk.len() > limit {
                return Err(if is_file {
                    AppError::PayloadTooLarge
                } else {
                    AppError::field(&name, "length", "text field too long")
                });
            }
            bytes.extend_from_slice(&chunk);
        }
        if is_file {
            form.files.insert(name, Upload { bytes });
        } else {
            let text = String::from_utf8(bytes)
                .map_err(|_| AppError::field(&name, "encoding", "text fields must be UTF-8"))?;
            // No text field accepts U+0000 (crate::wire, "No NUL in text").
            if text.contains('\0') {
                return Err(AppError::field(&name, "nul_character", "text may not contain the NUL character (U+0000)"));
            }
            form.text.insert(name, text);
        }
    }
    Ok(form)
}
