//! The HTTP answers to Auth0's pushes (`POST /api/auth0/events`): statuses chosen for Auth0's
//! delivery rules (see `push::events`).

use super::ApiResponse;
use crate::push::events::{PushError, Receipt};

/// The status for a refused or failed delivery: only a database failure is a 5xx.
pub fn status(e: &PushError) -> u16 {
    match e {
        PushError::Method => 405,
        PushError::Closed(_) => 403,
        PushError::Unauthorized => 401,
        PushError::ContentType(_) => 415,
        PushError::TooLarge => 413,
        PushError::Unreadable | PushError::Malformed(_) => 400,
        PushError::Store(_) => 503,
    }
}

/// The answer to one delivery: 200 with the receipt, or the error's status and message.
pub fn response(result: &Result<Receipt, PushError>) -> ApiResponse {
    match result {
        Ok(receipt) => ApiResponse::json(200, super::json::body(&receipt.answer())),
        Err(e) => {
            let mut r = ApiResponse::json(status(e), super::json::error(&e.to_string()));
            match e {
                PushError::Unauthorized => r.headers.push((
                    "www-authenticate",
                    "Bearer realm=\"auth0-license-sync events\"".into(),
                )),
                PushError::Method => r.headers.push(("allow", "POST".into())),
                PushError::Store(_) => r.headers.push(("retry-after", "1".into())),
                _ => {}
            }
            r
        }
    }
}
