//! The OpenAPI front-end: Swagger 2.0 and OpenAPI 3.0/3.1 documents, YAML or JSON, parsed
//! with positions kept for what findings need.

use idemgate_rules::model::FileError;
use idemgate_rules::{Context, Model};

use crate::config::OpenApiSettings;
use crate::source::SourceFile;

/// Cheap check before a full parse: does the document's root have an `openapi` or
/// `swagger` key?
pub fn sniff(text: &str) -> bool {
    let _ = text;
    false
}

/// One parsed OpenAPI document.
#[derive(Debug, Default)]
pub struct Document {}

/// Parses a document; `Ok(None)` when the file is not an OpenAPI document.
pub fn parse(file: &SourceFile, settings: &OpenApiSettings) -> Result<Option<Document>, FileError> {
    let _ = (file, settings);
    Ok(None)
}

/// Fills `model.openapi` and `model.exemptions` from the parsed documents.
pub fn link(docs: Vec<Document>, ctx: &Context, model: &mut Model) {
    let _ = (docs, ctx, model);
}
