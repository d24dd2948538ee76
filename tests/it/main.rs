//! Integration tests: a real server over real sockets, real PostgreSQL, the real AWS SDK.

mod api;
mod auth;
mod browser;
mod bucket;
mod checksum;
mod cli;
mod clients;
mod common;
mod compat;
mod cors;
mod faults;
mod files;
mod fuzz;
mod hostile;
mod isolation;
mod list;
mod logs;
mod metrics;
mod multipart;
mod object;
mod ops;
mod presign;
mod process;
mod quota;
mod usage;
