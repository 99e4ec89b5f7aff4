//! Facts extracted from OpenAPI documents (operations, parameters, responses).

/// Everything the OpenAPI front-end extracted from the scanned documents.
#[derive(Debug, Default)]
pub struct OpenApiModel {}
