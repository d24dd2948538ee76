//! Work that is not a request: the background loops every instance runs (instance leases
//! and the reservation sweep, the daily usage roll-up) and the maintenance commands
//! (`godrive gc`, `godrive usage reconcile`).

pub mod gc;
pub mod lease;
pub mod reconcile;
pub mod rollup;
