//! Every AWS API operation the collector calls, as IAM actions (`service:Operation`).
//!
//! A test (`tests/operations.rs`) checks this list against the source (each `.operation()`
//! call of an SDK client must be listed, each listed operation must be called) and against
//! the onboarding templates in `deploy/aws/` (each must be allowed by SecurityAudit or by the
//! templates' extra statement).

/// (IAM action prefix, operation name as in the API reference).
pub const OPERATIONS: &[(&str, &str)] = &[];
